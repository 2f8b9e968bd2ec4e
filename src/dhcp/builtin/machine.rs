//! The RFC 2131 client state machine, without I/O: it is fed the time, received datagrams,
//! timer expiry, link changes and a release request, and answers with [`Effect`]s for the
//! driver to carry out. Given the same seed and inputs it does the same thing, which is
//! what its tests rely on.
//!
//! hotbond's twist: the bond's MAC changes on failover. The machine then keeps the
//! address, never releases, and asks for the same address again from the new MAC in one
//! round trip (INIT-REBOOT, in `machine_reboot.rs`), so connections survive.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::Ipv4Addr;
use std::time::Duration;

use super::codec::{self, Kind, Reply, ReplyKind, Request};
use super::lease::{BootTime, Lease};
use super::rng::Rng;
use crate::net::Mac;

/// Which interface and hardware address the client speaks from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Link {
    pub ifindex: u32,
    pub mac: Mac,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// The interface's name, for the log.
    pub name: String,
    /// Option 61; None sends none (the server then knows us by chaddr).
    pub client_id: Option<Vec<u8>>,
    /// Option 12.
    pub hostname: Option<String>,
    /// Option 57, at least 576.
    pub max_message_size: u16,
    /// The first retransmission interval (RFC 2131: 4 s); later ones double up to
    /// `max_retransmit` (RFC 2131: 64 s).
    pub first_retransmit: Duration,
    pub max_retransmit: Duration,
    /// Renew no later than this after each ACK, whatever T1 the server sent.
    pub renew_after: Option<Duration>,
}

impl Config {
    pub fn new(name: &str) -> Config {
        Config {
            name: name.to_string(),
            client_id: None,
            hostname: None,
            max_message_size: 1500,
            first_retransmit: Duration::from_secs(4),
            max_retransmit: MAX_RETRANSMIT,
            renew_after: None,
        }
    }
}

/// RFC 2131 figure 5's states; recorded (and shown by `hotbond status --json`) by their RFC names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING-KEBAB-CASE")]
pub enum State {
    Init,
    Selecting,
    Requesting,
    InitReboot,
    Rebooting,
    Bound,
    Renewing,
    Rebinding,
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::Init => "INIT",
            State::Selecting => "SELECTING",
            State::Requesting => "REQUESTING",
            State::InitReboot => "INIT-REBOOT",
            State::Rebooting => "REBOOTING",
            State::Bound => "BOUND",
            State::Renewing => "RENEWING",
            State::Rebinding => "REBINDING",
        })
    }
}

/// Where a message goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Destination {
    /// 0.0.0.0:68 -> 255.255.255.255:67 through the packet socket (we may have no address).
    Broadcast,
    /// From our leased address:68 to the server's :67 through a UDP socket.
    Unicast { from: Ipv4Addr, server: Ipv4Addr },
}

/// Which socket must be open to hear the replies of the current exchange.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Listen {
    /// The packet socket on `ifindex`, filtered for `xid`.
    Packet { ifindex: u32, xid: u32 },
    /// A UDP socket bound to `address`:68 on `ifindex` to send and hear unicast, and the
    /// packet socket too: servers broadcast a NAK (RFC 2131 4.3.2), which a socket bound
    /// to a unicast address never sees.
    Udp {
        ifindex: u32,
        address: Ipv4Addr,
        xid: u32,
    },
    /// Nothing to hear (BOUND, stopped).
    Nothing,
}

/// What the driver must do, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    Listen(Listen),
    Send {
        payload: Vec<u8>,
        to: Destination,
    },
    /// Configure a new address with the lease's lifetimes, routes and DNS.
    Apply(Lease),
    /// The applied address stays; its lifetimes (and options) are refreshed.
    Renew(Lease),
    /// Unconfigure this lease's address, routes and DNS.
    Remove(Lease),
    /// Remember the lease for the next start (INIT-REBOOT).
    Persist(Lease),
}

/// How many REQUESTs an exchange sends before giving up on it.
const REQUEST_ATTEMPTS: u32 = 4;
const REBOOT_ATTEMPTS: u32 = 3;
const MAX_RETRANSMIT: Duration = Duration::from_secs(64);
/// RFC 2131 4.4.5: retransmit a RENEW/REBIND at half the time left, but not more often.
const MIN_RENEW_RETRY: Duration = Duration::from_secs(60);
const FIRST_NAK_DELAY: Duration = Duration::from_secs(1);
const MAX_NAK_DELAY: Duration = Duration::from_secs(30 * 60);

/// One message exchange: its transaction id, when it began (for `secs`), how often it was
/// sent, and whom it asked.
#[derive(Clone, Debug)]
struct Exchange {
    xid: u32,
    started: BootTime,
    /// Messages sent so far.
    attempts: u32,
    interval: Duration,
    /// REQUESTING: the OFFER taken; its server must be the one to answer.
    offer: Option<Lease>,
    /// The address asked for (option 50).
    requested: Option<Ipv4Addr>,
}

pub struct Machine {
    config: Config,
    rng: Rng,
    link: Option<Link>,
    state: State,
    exchange: Option<Exchange>,
    /// The lease whose address is on the interface.
    applied: Option<Lease>,
    /// The MAC the server last acknowledged `applied` for: after a failover the server still
    /// binds the address to the old MAC until it answers from the new one.
    acked_for: Option<Mac>,
    /// A lease from an earlier run, to ask for again (not applied).
    remembered: Option<Lease>,
    deadline: Option<BootTime>,
    nak_delay: Duration,
}

impl Machine {
    pub fn new(config: Config, seed: u64) -> Machine {
        Machine {
            config,
            rng: Rng(seed),
            link: None,
            state: State::Init,
            exchange: None,
            applied: None,
            acked_for: None,
            remembered: None,
            deadline: None,
            nak_delay: FIRST_NAK_DELAY,
        }
    }

    pub fn state(&self) -> State {
        self.state
    }
    /// The lease whose address is configured, if any.
    pub fn lease(&self) -> Option<&Lease> {
        self.applied.as_ref()
    }
    /// When [`Machine::timeout`] wants to be called next; None: only on other inputs.
    pub fn deadline(&self) -> Option<BootTime> {
        self.deadline
    }
    pub fn link(&self) -> Option<Link> {
        self.link
    }
    /// The transaction id replies must carry now.
    pub fn xid(&self) -> Option<u32> {
        self.exchange.as_ref().map(|e| e.xid)
    }

    /// Starts acquiring on `link`: INIT-REBOOT for a remembered lease that has not yet
    /// expired, otherwise DISCOVER. No random start delay (RFC 2131 allows, not requires).
    pub fn start(&mut self, now: BootTime, link: Link, remembered: Option<Lease>) -> Vec<Effect> {
        self.link = Some(link);
        self.remembered = remembered;
        let mut fx = Vec::new();
        match self.remembered.as_ref().filter(|l| l.expires() > now) {
            Some(l) => {
                let a = l.address;
                self.init_reboot(now, a, &mut fx);
            }
            None => self.discover(now, &mut fx),
        }
        fx
    }

    /// Sends a RELEASE for the applied lease (if any), unconfigures it and stops.
    pub fn release(&mut self) -> Vec<Effect> {
        let mut fx = Vec::new();
        if let (Some(l), Some(link)) = (self.applied.take(), self.link) {
            let xid = self.rng.next_u32();
            let req = Request {
                kind: Kind::Release,
                xid,
                secs: 0,
                ciaddr: l.address,
                requested: None,
                server: Some(l.server),
                ..self.request_base(link)
            };
            if let Some(payload) = self.encode(&req) {
                fx.push(Effect::Send {
                    payload,
                    to: Destination::Unicast {
                        from: l.address,
                        server: l.server,
                    },
                });
            }
            fx.push(Effect::Remove(l));
        }
        self.remembered = None;
        self.exchange = None;
        self.deadline = None;
        self.set_state(State::Init);
        fx.push(Effect::Listen(Listen::Nothing));
        fx
    }

    /// A datagram arrived on one of our sockets (the UDP payload).
    pub fn receive(&mut self, now: BootTime, payload: &[u8]) -> Vec<Effect> {
        let reply = match codec::parse(payload) {
            Ok(r) => r,
            Err(why) => {
                crate::debug!("{}: dhcp: dropped a datagram: {why:?}", self.config.name);
                return Vec::new();
            }
        };
        if let Some(why) = self.foreign(&reply) {
            crate::debug!(
                "{}: dhcp: ignored a {:?} in {}: {why}",
                self.config.name,
                reply.kind,
                self.state
            );
            return Vec::new();
        }
        let mut fx = Vec::new();
        match (self.state, reply.kind) {
            (State::Selecting, ReplyKind::Offer) => self.take_offer(now, &reply, &mut fx),
            (_, ReplyKind::Ack) => self.take_ack(now, &reply, &mut fx),
            (_, ReplyKind::Nak) => self.take_nak(now, &reply, &mut fx),
            _ => {}
        }
        fx
    }

    /// The deadline passed: retransmit, move on to RENEWING/REBINDING, or expire.
    pub fn timeout(&mut self, now: BootTime) -> Vec<Effect> {
        let mut fx = Vec::new();
        if self.deadline.is_none_or(|d| now < d) {
            return fx;
        }
        if self.expire(now, &mut fx) {
            self.discover(now, &mut fx);
            return fx;
        }
        match self.state {
            State::Init => self.discover(now, &mut fx),
            State::Selecting => self.retransmit(now, &mut fx),
            State::Requesting | State::InitReboot | State::Rebooting => {
                let limit = if self.state == State::Requesting {
                    REQUEST_ATTEMPTS
                } else {
                    REBOOT_ATTEMPTS
                };
                let attempts = self.exchange.as_ref().map_or(u32::MAX, |e| e.attempts);
                if attempts < limit {
                    self.retransmit(now, &mut fx);
                } else if self.state == State::Rebooting && self.lease_moved() {
                    self.keep_asking(now, attempts == limit, &mut fx);
                } else {
                    self.give_up(now, &mut fx);
                }
            }
            State::Bound | State::Renewing | State::Rebinding => self.lease_timer(now, &mut fx),
        }
        fx
    }

    /// Removes the applied lease if it has run out; true if it did.
    fn expire(&mut self, now: BootTime, fx: &mut Vec<Effect>) -> bool {
        let Some(l) = self.applied.take_if(|l| now >= l.expires()) else {
            return false;
        };
        crate::info!("{}: dhcp: lease on {} expired", self.config.name, l.address);
        // Expired, but still the address to hint at in the DISCOVER.
        self.remembered = Some(l.clone());
        fx.push(Effect::Remove(l));
        true
    }

    /// Why a reply is not for the exchange under way, if it is not.
    fn foreign(&self, r: &Reply) -> Option<&'static str> {
        let Some(ex) = self.exchange.as_ref() else {
            return Some("no exchange under way");
        };
        if r.xid != ex.xid {
            return Some("another transaction id");
        }
        if self.link.map(|l| l.mac.0) != Some(r.chaddr) {
            return Some("another hardware address");
        }
        // ACK and NAK must come from the server asked; a REBOOTING or REBINDING client asked
        // every server.
        let asked = match self.state {
            State::Requesting => ex.offer.as_ref().map(|o| o.server),
            State::Renewing => self.applied.as_ref().map(|l| l.server),
            _ => None,
        };
        match (asked, r.server) {
            (Some(a), Some(s)) if a != s => Some("another server"),
            (Some(_), None) => Some("no server identifier"),
            _ => None,
        }
    }

    fn take_offer(&mut self, now: BootTime, r: &Reply, fx: &mut Vec<Effect>) {
        let Some(offer) = Lease::from_reply(&r.message, now, false, None) else {
            crate::debug!("{}: dhcp: ignored an unusable OFFER", self.config.name);
            return;
        };
        let Some(ex) = self.exchange.as_mut() else {
            return;
        };
        // The REQUEST keeps the OFFER's xid (RFC 2131 4.4.1) and its `secs` clock.
        ex.requested = Some(offer.address);
        ex.offer = Some(offer);
        ex.attempts = 0;
        ex.interval = self.config.first_retransmit;
        self.set_state(State::Requesting);
        self.send_current(now, fx);
    }

    fn take_ack(&mut self, now: BootTime, r: &Reply, fx: &mut Vec<Effect>) {
        if !matches!(
            self.state,
            State::Requesting | State::Rebooting | State::Renewing | State::Rebinding
        ) {
            return;
        }
        let Some(lease) = Lease::from_reply(&r.message, now, true, self.config.renew_after) else {
            crate::warn!(
                "{}: dhcp: ignored an ACK without an address, server or lease time",
                self.config.name
            );
            return;
        };
        let asked = self.exchange.as_ref().and_then(|e| e.requested);
        if asked.is_some_and(|a| a != lease.address) {
            crate::warn!(
                "{}: dhcp: ignored an ACK for {} when {} was asked for",
                self.config.name,
                lease.address,
                asked.unwrap_or(Ipv4Addr::UNSPECIFIED)
            );
            return;
        }
        match self.applied.take() {
            Some(old) if old.address == lease.address && old.prefix_len == lease.prefix_len => {
                fx.push(Effect::Renew(lease.clone()));
            }
            Some(old) => {
                fx.push(Effect::Remove(old));
                fx.push(Effect::Apply(lease.clone()));
            }
            None => fx.push(Effect::Apply(lease.clone())),
        }
        fx.push(Effect::Persist(lease.clone()));
        self.applied = Some(lease);
        self.acked_for = self.link.map(|l| l.mac);
        self.remembered = None;
        self.exchange = None;
        self.nak_delay = FIRST_NAK_DELAY;
        self.set_state(State::Bound);
        fx.push(Effect::Listen(Listen::Nothing));
        self.deadline = self.applied.as_ref().map(|l| l.renew_at());
    }

    /// The server refuses: unconfigure, and start over (at once after an INIT-REBOOT,
    /// whose NAK only says "not that address here"; else after a growing delay so a
    /// confused server is not hammered).
    fn take_nak(&mut self, now: BootTime, r: &Reply, fx: &mut Vec<Effect>) {
        if matches!(self.state, State::Selecting | State::Bound | State::Init) {
            return;
        }
        crate::info!(
            "{}: dhcp: NAK from {} in {}{}",
            self.config.name,
            r.server
                .map_or("an unnamed server".into(), |s| s.to_string()),
            self.state,
            r.text.as_ref().map_or(String::new(), |t| format!(": {t}"))
        );
        let after_reboot = self.state == State::Rebooting;
        if let Some(l) = self.applied.take() {
            fx.push(Effect::Remove(l));
        }
        self.remembered = None;
        self.exchange = None;
        if after_reboot {
            self.discover(now, fx);
        } else {
            self.set_state(State::Init);
            fx.push(Effect::Listen(Listen::Nothing));
            self.deadline = Some(now + self.nak_delay);
            self.nak_delay = (self.nak_delay * 2).min(MAX_NAK_DELAY);
        }
    }

    /// Retransmissions ran out (REQUESTING, REBOOTING). An address still held stays until
    /// its lease runs out, and is renewed on the usual timers; otherwise start over.
    fn give_up(&mut self, now: BootTime, fx: &mut Vec<Effect>) {
        crate::info!("{}: dhcp: no answer in {}", self.config.name, self.state);
        self.exchange = None;
        match self.applied.clone() {
            Some(l) => {
                self.set_state(State::Bound);
                fx.push(Effect::Listen(Listen::Nothing));
                self.deadline = Some(l.renew_at().max(now));
                self.lease_timer(now, fx);
            }
            None => self.discover(now, fx),
        }
    }

    /// BOUND/RENEWING/REBINDING at their deadline: move on or retransmit.
    fn lease_timer(&mut self, now: BootTime, fx: &mut Vec<Effect>) {
        let Some(l) = self.applied.clone() else {
            return self.discover(now, fx);
        };
        let (state, until) = if now >= l.rebind_at() {
            (State::Rebinding, l.expires())
        } else if now >= l.renew_at() {
            (State::Renewing, l.rebind_at())
        } else {
            self.deadline = Some(l.renew_at());
            return;
        };
        if self.state != state || self.exchange.is_none() {
            self.begin(now, state, Some(l.address), fx);
        } else {
            self.send_current(now, fx);
        }
        // RFC 2131 4.4.5: half the time left, at least a minute, never past the next step.
        let wait = (until.since(now) / 2).max(MIN_RENEW_RETRY);
        self.deadline = Some((now + wait).min(until));
    }

    fn discover(&mut self, now: BootTime, fx: &mut Vec<Effect>) {
        let hint = self
            .applied
            .as_ref()
            .or(self.remembered.as_ref())
            .map(|l| l.address);
        self.set_state(State::Init);
        self.begin(now, State::Selecting, hint, fx);
    }

    /// Starts a new exchange (new xid) in `state` and sends its first message.
    fn begin(
        &mut self,
        now: BootTime,
        state: State,
        requested: Option<Ipv4Addr>,
        fx: &mut Vec<Effect>,
    ) {
        let Some(link) = self.link else { return };
        let ex = Exchange {
            xid: self.rng.next_u32(),
            started: now,
            attempts: 0,
            interval: self.config.first_retransmit,
            offer: None,
            requested,
        };
        let listen = match (state, self.applied.as_ref()) {
            (State::Renewing, Some(l)) => Listen::Udp {
                ifindex: link.ifindex,
                address: l.address,
                xid: ex.xid,
            },
            _ => Listen::Packet {
                ifindex: link.ifindex,
                xid: ex.xid,
            },
        };
        self.exchange = Some(ex);
        self.set_state(state);
        fx.push(Effect::Listen(listen));
        self.send_current(now, fx);
    }

    fn retransmit(&mut self, now: BootTime, fx: &mut Vec<Effect>) {
        if let Some(ex) = self.exchange.as_mut() {
            ex.interval = (ex.interval * 2).min(self.config.max_retransmit);
        }
        self.send_current(now, fx);
    }

    /// Sends the current exchange's message and sets the retransmission deadline
    /// (the interval +-1 s, RFC 2131 4.1). RENEWING/REBINDING set their own deadline.
    fn send_current(&mut self, now: BootTime, fx: &mut Vec<Effect>) {
        let Some(link) = self.link else { return };
        let Some(ex) = self.exchange.as_mut() else {
            return;
        };
        ex.attempts += 1;
        let ex = ex.clone();
        let held = self.applied.as_ref().map(|l| l.address);
        let (kind, ciaddr, server, to) = match self.state {
            State::Selecting => (Kind::Discover, None, None, Destination::Broadcast),
            State::Requesting => (
                Kind::Request,
                None,
                ex.offer.as_ref().map(|o| o.server),
                Destination::Broadcast,
            ),
            State::Renewing => {
                let Some(l) = self.applied.as_ref() else {
                    return;
                };
                let to = Destination::Unicast {
                    from: l.address,
                    server: l.server,
                };
                (Kind::Request, held, None, to)
            }
            State::Rebinding => (Kind::Request, held, None, Destination::Broadcast),
            _ => (Kind::Request, None, None, Destination::Broadcast),
        };
        // RENEWING/REBINDING name the address in ciaddr, not in option 50 (RFC 2131 table 5).
        let requested = if ciaddr.is_some() { None } else { ex.requested };
        let secs = now
            .since(ex.started)
            .as_secs()
            .clamp(1, u64::from(u16::MAX)) as u16;
        let req = Request {
            kind,
            xid: ex.xid,
            secs,
            ciaddr: ciaddr.unwrap_or(Ipv4Addr::UNSPECIFIED),
            requested,
            server,
            ..self.request_base(link)
        };
        if let Some(payload) = self.encode(&req) {
            fx.push(Effect::Send { payload, to });
        }
        let jitter = self.jitter(ex.interval);
        let mut deadline = now + jitter;
        if let Some(l) = self.applied.as_ref() {
            deadline = deadline.min(l.expires());
        }
        self.deadline = Some(deadline);
    }

    fn request_base(&self, link: Link) -> Request<'_> {
        Request {
            kind: Kind::Request,
            xid: 0,
            secs: 1,
            chaddr: link.mac.0,
            ciaddr: Ipv4Addr::UNSPECIFIED,
            requested: None,
            server: None,
            client_id: self.config.client_id.as_deref(),
            hostname: self.config.hostname.as_deref(),
            max_message_size: self.config.max_message_size,
        }
    }

    fn encode(&self, req: &Request<'_>) -> Option<Vec<u8>> {
        match req.encode() {
            Ok(p) => Some(p),
            Err(e) => {
                crate::warn!("{}: dhcp: {e:#}", self.config.name);
                None
            }
        }
    }

    /// `interval` +-1 s (+-a quarter of it when it is shorter than 4 s).
    fn jitter(&mut self, interval: Duration) -> Duration {
        let span = Duration::from_secs(1).min(interval / 4);
        let r = self.rng.next_u32();
        let offset = span.mul_f64(f64::from(r) / f64::from(u32::MAX) * 2.0);
        (interval + offset).saturating_sub(span)
    }

    /// The one place the state changes, so that every transition is logged.
    fn set_state(&mut self, next: State) {
        if next == self.state {
            return;
        }
        let detail = match (next, self.applied.as_ref()) {
            (State::Bound, Some(l)) => format!(
                " ({}/{} from {}, lease {} s)",
                l.address,
                l.prefix_len,
                l.server,
                l.lease_time.as_secs()
            ),
            _ => String::new(),
        };
        crate::info!(
            "{}: dhcp: {} -> {}{detail}",
            self.config.name,
            self.state,
            next
        );
        self.state = next;
    }
}

/// The same address asked for again: after a MAC change and on confirm.
#[path = "machine_reboot.rs"]
mod reboot;

#[cfg(test)]
#[path = "machine_tests.rs"]
mod tests;
