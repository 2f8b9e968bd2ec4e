//! hotbond's own DHCPv4 client, run inside the bond's job instead of a child process:
//! [`machine`] decides (RFC 2131, no I/O), [`codec`] reads and writes the messages,
//! [`socket`] moves them, and [`Builtin`] ties the three together for a poll loop. What
//! touches the kernel's configuration (addresses, routes) or the disk is handed back to
//! the caller as [`Action`]s.

pub mod arp;
pub mod codec;
pub mod lease;
pub mod machine;
mod rng;
pub mod socket;

use std::os::fd::{AsFd, BorrowedFd};

use anyhow::{Context, Result};

pub use lease::{BootTime, Lease, Route};
pub use machine::{Config, Destination, Effect, Link, Listen, Machine, State};
use socket::{PacketSocket, UdpUnicast};

/// What the caller must do for the client: the rest of the machine's effects (sockets,
/// sending) the driver does itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Add the address with the lease's lifetimes, its routes and DNS.
    Apply(Lease),
    /// Same address: replace its lifetimes (never delete and re-add: connections would
    /// notice), refresh routes and DNS if they changed.
    Renew(Lease),
    /// Remove the address, its routes and DNS.
    Remove(Lease),
    /// Store the lease for the next start.
    Persist(Lease),
}

/// The client with its sockets, for the bond's job to drive: poll [`Builtin::fds`] for
/// reading with a timeout up to [`Builtin::deadline`], then call [`Builtin::turn`].
pub struct Builtin {
    machine: Machine,
    name: String,
    /// The socket the machine wants open, opened lazily (and again after a failure).
    want: Listen,
    packet: Option<PacketSocket>,
    udp: Option<UdpUnicast>,
    /// A packet socket no longer wanted (the lease is bound). Closing it waits for an RCU
    /// grace period in the kernel (15-20 ms under emulation), so it is closed only once the
    /// lease's address is on: see [`Builtin::close_retired`].
    retired: Option<PacketSocket>,
}

impl Builtin {
    /// A client that has not started yet; transaction ids and jitter from the kernel's RNG.
    pub fn new(config: Config) -> Builtin {
        let mut seed = [0u8; 8];
        // SAFETY: seed is writable for its whole length, which is passed.
        let n = unsafe { libc::getrandom(seed.as_mut_ptr().cast(), seed.len(), 0) };
        if n != seed.len() as isize {
            // Any value works, as long as two runs differ.
            seed = (boot_time().0.as_nanos() as u64 ^ u64::from(std::process::id())).to_le_bytes();
        }
        Builtin {
            name: config.name.clone(),
            machine: Machine::new(config, u64::from_le_bytes(seed)),
            want: Listen::Nothing,
            packet: None,
            udp: None,
            retired: None,
        }
    }

    /// Starts on `link`, asking again for `remembered` if it has not expired yet.
    pub fn start(&mut self, link: Link, remembered: Option<Lease>) -> Vec<Action> {
        let fx = self.machine.start(boot_time(), link, remembered);
        self.carry_out(fx)
    }

    /// The bond's MAC or ifindex changed: keep the address, ask again from the new MAC.
    pub fn link_changed(&mut self, link: Link) -> Vec<Action> {
        let fx = self.machine.link_changed(boot_time(), link);
        if !fx.is_empty() {
            // Fresh sockets for the new MAC or interface: nothing queued for the old one
            // is read, and nothing of the old device is kept.
            self.packet = None;
            self.udp = None;
        }
        self.carry_out(fx)
    }

    /// Confirms the lease with the server now (after a resume), see [`Machine::confirm`].
    pub fn confirm(&mut self) -> Vec<Action> {
        let fx = self.machine.confirm(boot_time());
        if !fx.is_empty() {
            // Fresh sockets: nothing queued before the sleep is read as an answer.
            self.packet = None;
            self.udp = None;
        }
        self.carry_out(fx)
    }

    /// Releases the lease (RELEASE to the server) and stops; for `hotbond down`, never
    /// for a failover.
    pub fn release(&mut self) -> Vec<Action> {
        let fx = self.machine.release();
        self.carry_out(fx)
    }

    /// Reads what arrived and runs the timers that are due.
    pub fn turn(&mut self) -> Vec<Action> {
        let mut actions = Vec::new();
        for payload in self.received() {
            let fx = self.machine.receive(boot_time(), &payload);
            actions.extend(self.carry_out(fx));
        }
        let fx = self.machine.timeout(boot_time());
        actions.extend(self.carry_out(fx));
        actions
    }

    /// The descriptors to poll for reading.
    pub fn fds(&self) -> Vec<BorrowedFd<'_>> {
        let p = self.packet.as_ref().map(|s| s.as_fd());
        let u = self.udp.as_ref().map(|s| s.as_fd());
        p.into_iter().chain(u).collect()
    }

    /// When [`Builtin::turn`] must run at the latest (on the boot-time clock).
    pub fn deadline(&self) -> Option<BootTime> {
        self.machine.deadline()
    }

    pub fn state(&self) -> State {
        self.machine.state()
    }

    /// The lease whose address is configured.
    pub fn lease(&self) -> Option<&Lease> {
        self.machine.lease()
    }

    /// Every datagram waiting on the open sockets. A socket that fails is closed (and
    /// opened again for the next send).
    fn received(&mut self) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        loop {
            match self.packet.as_ref().map(|s| s.recv()) {
                Some(Ok(Some(p))) => out.push(p),
                Some(Err(e)) => {
                    crate::warn!("{}: dhcp: {e:#}", self.name);
                    self.packet = None;
                }
                _ => break,
            }
        }
        loop {
            match self.udp.as_ref().map(|s| s.recv()) {
                Some(Ok(Some(p))) => out.push(p),
                Some(Err(e)) => {
                    crate::warn!("{}: dhcp: {e:#}", self.name);
                    self.udp = None;
                }
                _ => break,
            }
        }
        out
    }

    /// Does the socket work of `fx` and returns the rest. A failed send is logged, not
    /// fatal: the machine's retransmission tries again.
    fn carry_out(&mut self, fx: Vec<Effect>) -> Vec<Action> {
        let mut actions = Vec::new();
        for e in fx {
            match e {
                Effect::Listen(l) => {
                    self.want = l;
                    if let Err(e) = self.listen() {
                        crate::warn!("{}: dhcp: {e:#}", self.name);
                    }
                }
                Effect::Send { payload, to } => {
                    if let Err(e) = self.send(&payload, to) {
                        crate::warn!("{}: dhcp: {e:#}", self.name);
                    }
                }
                Effect::Apply(l) => actions.push(Action::Apply(l)),
                Effect::Renew(l) => actions.push(Action::Renew(l)),
                Effect::Remove(l) => actions.push(Action::Remove(l)),
                Effect::Persist(l) => actions.push(Action::Persist(l)),
            }
        }
        actions
    }

    /// Closes the packet socket the client no longer wants; the job calls it once it has
    /// carried out the turn's actions.
    pub fn close_retired(&mut self) {
        self.retired = None;
    }

    /// Makes the open sockets match what the machine wants: the packet socket on the
    /// right interface and filtered for the right xid, with or without the UDP one, or
    /// neither.
    fn listen(&mut self) -> Result<()> {
        match self.want {
            Listen::Nothing => {
                if let Some(p) = self.packet.take() {
                    self.retired = Some(p);
                }
                self.udp = None;
            }
            Listen::Packet { ifindex, xid } => {
                self.udp = None;
                self.packet_for(ifindex, xid)?;
            }
            Listen::Udp {
                ifindex,
                address,
                xid,
            } => {
                if self.udp.as_ref().is_none_or(|u| u.address != address) {
                    self.udp = None;
                    self.udp = Some(UdpUnicast::open(ifindex, address)?);
                }
                self.packet_for(ifindex, xid)?;
            }
        }
        Ok(())
    }

    /// The packet socket on `ifindex`, filtered for `xid`.
    fn packet_for(&mut self, ifindex: u32, xid: u32) -> Result<()> {
        match self.packet.as_ref() {
            Some(p) if p.ifindex() == ifindex => p.set_xid(xid),
            _ => {
                self.packet = None;
                self.packet = Some(PacketSocket::open(ifindex, xid)?);
                Ok(())
            }
        }
    }

    fn send(&mut self, payload: &[u8], to: Destination) -> Result<()> {
        match to {
            Destination::Broadcast => {
                if self.packet.is_none() {
                    self.listen()?;
                }
                self.packet
                    .as_ref()
                    .context("no packet socket to broadcast on")?
                    .send(payload)
            }
            Destination::Unicast { from, server } => {
                // A RELEASE from BOUND: no socket is open then.
                let temporary;
                let sock = match self.udp.as_ref().filter(|u| u.address == from) {
                    Some(u) => u,
                    None => {
                        let ifindex = self.machine.link().map_or(0, |l| l.ifindex);
                        temporary = UdpUnicast::open(ifindex, from)?;
                        &temporary
                    }
                };
                sock.send(server, payload)
            }
        }
    }
}

/// Now on CLOCK_BOOTTIME, which counts suspended time too (unlike CLOCK_MONOTONIC), so
/// lease ages stay true across a laptop's sleep.
pub fn boot_time() -> BootTime {
    use nix::time::{clock_gettime, ClockId};
    let ts = clock_gettime(ClockId::CLOCK_BOOTTIME)
        .or_else(|_| clock_gettime(ClockId::CLOCK_MONOTONIC))
        .unwrap_or_else(|_| nix::sys::time::TimeSpec::new(0, 0));
    BootTime(std::time::Duration::from(ts))
}
