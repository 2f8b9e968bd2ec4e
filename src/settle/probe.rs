//! After a confirmation request (a resume), the job asks the bond's default gateway for its
//! MAC through the bond, a few times over [`TRIES`] x [`INTERVAL`]: an answer means the
//! active slave carries traffic. Driven by the job's poll loop (its socket and deadline),
//! never blocking it; what follows is decided by [`crate::plan::traffic`].

use std::net::Ipv4Addr;
use std::os::fd::{AsFd, BorrowedFd};
use std::time::{Duration, Instant};

use anyhow::Result;

use super::readiness::Readiness;
use crate::config::Bond;
use crate::dhcp::builtin::arp::ArpSocket;
use crate::kernel::Kernel;
use crate::plan::traffic::{self, Probe};

/// Requests sent, one every [`INTERVAL`]; the verdict comes one interval after the last:
/// 2.4 s in all, long enough for a gateway busy after its own wake-up, short enough that a
/// person on a dead dock is back online within seconds.
const TRIES: u32 = 4;
const INTERVAL: Duration = Duration::from_millis(600);

/// A probe under way.
pub struct GatewayProbe {
    sock: ArpSocket,
    slave: String,
    gateway: Ipv4Addr,
    sender: Ipv4Addr,
    sent: u32,
    next: Instant,
    ends: Instant,
}

/// How a request to check began.
pub enum Begun {
    Probing(GatewayProbe),
    /// Already decided without asking anyone.
    Done(Probe),
}

/// Begins a probe of the active slave `r` shows, if the bond is ready (otherwise the usual
/// failover and settling are under way: None, nothing to check).
pub fn begin(k: &mut Kernel, bond: &Bond, r: &Readiness, now: Instant) -> Result<Option<Begun>> {
    let (Some(index), Some(mac), Some(slave)) = (r.index, r.mac, r.active.clone()) else {
        return Ok(None);
    };
    if !r.ready {
        return Ok(None);
    }
    let Some(gateway) = k.default_gateway_v4(index)? else {
        return Ok(Some(Begun::Done(Probe::NoGateway)));
    };
    let sender = traffic::probe_sender(&k.addresses(index)?, &bond.addresses, gateway);
    let sock = ArpSocket::open(index, mac)?;
    crate::debug!(
        "{}: asking {gateway} for its MAC through {slave}, from {sender}",
        bond.name
    );
    Ok(Some(Begun::Probing(GatewayProbe {
        sock,
        slave,
        gateway,
        sender,
        sent: 0,
        next: now,
        ends: now + INTERVAL * TRIES,
    })))
}

impl GatewayProbe {
    /// Reads answers and sends the tries due; the result once the gateway answered or the
    /// last try went unanswered.
    pub fn turn(&mut self, now: Instant) -> Result<Option<Probe>> {
        let (slave, gateway) = (self.slave.clone(), self.gateway);
        if self.sock.heard_from(gateway)? {
            return Ok(Some(Probe::Answered { slave, gateway }));
        }
        if now >= self.ends {
            return Ok(Some(Probe::Unanswered { slave, gateway }));
        }
        if self.sent < TRIES && now >= self.next {
            self.sock.request(self.sender, gateway)?;
            self.sent += 1;
            self.next = now + INTERVAL;
        }
        Ok(None)
    }

    /// When the job must wake at the latest: the next try, or the verdict.
    pub fn deadline(&self) -> Instant {
        if self.sent < TRIES {
            self.next
        } else {
            self.ends
        }
    }
}

impl AsFd for GatewayProbe {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.sock.as_fd()
    }
}
