//! Asking for the address held again in one round trip (INIT-REBOOT, RFC 2131 3.2): after
//! the bond's MAC changed on failover, and on request after a resume, when the laptop may
//! have woken on another network. The address stays configured meanwhile.

use std::net::Ipv4Addr;

use super::{BootTime, Effect, Link, Machine, State, FIRST_NAK_DELAY};

impl Machine {
    /// The interface's MAC or ifindex changed (failover, the bond made again). Never
    /// releases: the address stays, and the same address is asked for from the new MAC.
    pub fn link_changed(&mut self, now: BootTime, link: Link) -> Vec<Effect> {
        if self.link == Some(link) {
            return Vec::new();
        }
        let started = self.link.is_some();
        self.link = Some(link);
        let mut fx = Vec::new();
        if !started {
            return fx;
        }
        let held = self
            .applied
            .as_ref()
            .or(self.remembered.as_ref())
            .filter(|l| l.expires() > now)
            .map(|l| l.address);
        match held {
            Some(a) => self.init_reboot(now, a, &mut fx),
            // Stopped after a release: stay stopped.
            None if self.state == State::Init && self.deadline.is_none() => {}
            None => self.discover(now, &mut fx),
        }
        fx
    }

    /// Asks the server now whether the lease still holds (after a resume the laptop may be on
    /// another network): INIT-REBOOT for the address held, a new xid, one round trip; a NAK
    /// then unconfigures it and a DISCOVER follows at once. A lease that ran out meanwhile
    /// is removed and the client starts over. Never started, or stopped by a release: nothing.
    pub fn confirm(&mut self, now: BootTime) -> Vec<Effect> {
        let mut fx = Vec::new();
        if self.link.is_none() || (self.state == State::Init && self.deadline.is_none()) {
            return fx;
        }
        self.expire(now, &mut fx);
        self.nak_delay = FIRST_NAK_DELAY;
        let held = self.applied.as_ref().or(self.remembered.as_ref());
        match held.filter(|l| l.expires() > now).map(|l| l.address) {
            Some(a) => self.init_reboot(now, a, &mut fx),
            None => self.discover(now, &mut fx),
        }
        fx
    }

    /// The address is held, but the server last acknowledged it for another MAC (a failover
    /// it has not answered yet): it would hand the address to nobody, or renew it for the old
    /// slave, so the client must keep asking from the new MAC rather than wait for T1.
    pub(super) fn lease_moved(&self) -> bool {
        self.applied.is_some() && self.acked_for != self.link.map(|l| l.mac)
    }

    /// REBOOTING after a MAC change went unanswered (the server may be down): the address
    /// stays, and the REQUEST is sent again at the capped interval until an answer or expiry.
    pub(super) fn keep_asking(&mut self, now: BootTime, first: bool, fx: &mut Vec<Effect>) {
        if first {
            crate::info!(
                "{}: dhcp: no answer in {} yet: keeping the address, asking again from {}",
                self.config.name,
                self.state,
                self.link.map_or(String::new(), |l| l.mac.to_string())
            );
        }
        self.retransmit(now, fx);
    }

    /// INIT-REBOOT: a new exchange asking for `address` again, broadcast, in REBOOTING.
    pub(super) fn init_reboot(&mut self, now: BootTime, address: Ipv4Addr, fx: &mut Vec<Effect>) {
        self.set_state(State::InitReboot);
        self.begin(now, State::Rebooting, Some(address), fx);
    }
}
