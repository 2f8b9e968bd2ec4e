//! The bond job's DHCP client, behind one interface: whatever speaks DHCP for the bond (an
//! external client run as the job's child, see [`super::external`], or the built-in one
//! inside the job, see [`super::inproc`]) is started, kept,
//! re-acquired and stopped through [`Supervisor`], and the job's poll loop waits on its file
//! descriptors and its next deadline as well as on link events.

use std::os::fd::BorrowedFd;
use std::time::Instant;

use anyhow::Result;

use super::external::{self, External};
use super::inproc::{self, Inproc};
use crate::config::Bond;
use crate::kernel::Kernel;
use crate::net::Mac;
use crate::service::Job;
use crate::state;

/// What the bond settled on: the interface and hardware address a DHCP client speaks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettledOn {
    /// The master's ifindex: a master deleted and made again is another interface.
    pub index: u32,
    pub mac: Mac,
    /// The active slave (bonds only), for the log.
    pub active: Option<String>,
}

/// What a [`Supervisor`] did when the bond settled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DhcpAction {
    /// No DHCP configured.
    Nothing,
    Started,
    /// Runs with the current MAC: left alone (its lease and timers are right).
    Kept,
    /// Started again for the new MAC, without a release: the address stays meanwhile.
    Reacquired,
}

impl DhcpAction {
    /// As `hotbond status` shows it.
    pub fn as_str(self) -> &'static str {
        match self {
            DhcpAction::Nothing => "none",
            DhcpAction::Started => "started",
            DhcpAction::Kept => "kept",
            DhcpAction::Reacquired => "reacquired",
        }
    }
}

/// Whether the job goes on after a [`Supervisor::turn`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    Running,
    /// The client ended on purpose (a release by `hotbond down`) while the bond exists: the
    /// job's work is over, and it ends cleanly so that it is not started again.
    Done,
}

/// What to do with the client once settled, from what it was started on. Pure, for tests.
pub fn decide(running_on: Option<&SettledOn>, now: &SettledOn) -> DhcpAction {
    match running_on {
        None => DhcpAction::Started,
        Some(r) if r.mac == now.mac => DhcpAction::Kept,
        Some(_) => DhcpAction::Reacquired,
    }
}

/// The DHCP client of one bond, as its job drives it. The job calls, in a loop: [`turn`]
/// after every wake (first), then [`bond_is`] with what it sees of the bond, then
/// [`settled`] once the bond has settled (under the bond's lock if [`settles_under_lock`]);
/// then it sleeps until a link event, one of [`wait_fds`] is readable, or [`deadline`]
/// passes.
///
/// [`turn`]: Supervisor::turn
/// [`bond_is`]: Supervisor::bond_is
/// [`settled`]: Supervisor::settled
/// [`settles_under_lock`]: Supervisor::settles_under_lock
/// [`wait_fds`]: Supervisor::wait_fds
/// [`deadline`]: Supervisor::deadline
pub trait Supervisor {
    /// The bond settled on `on`: start a client, keep the one that speaks for this MAC, or
    /// re-acquire (a MAC change) without releasing. Records the client for `hotbond status`.
    fn settled(&mut self, on: &SettledOn) -> Result<DhcpAction>;

    /// Confirm the lease with the server now (SIGUSR1 from `hotbond sleep post`: the laptop
    /// woke, maybe on another network). Nothing while no client speaks for the bond.
    fn confirm(&mut self) -> Result<()>;

    /// The master's ifindex now, None when it does not exist. A client speaking for another
    /// interface (the master deleted, maybe made again) stops, without a release.
    fn bond_is(&mut self, index: Option<u32>);

    /// The job ends on request (SIGTERM, from `hotbond down`): the built-in client releases
    /// its lease and unconfigures it; an external client, released by `down` through its own
    /// command, is stopped if it still runs (without a release of its own).
    fn end(&mut self, k: &mut Kernel) -> Result<()>;

    /// The MAC an external client runs with, whose leases the job reads from the kernel
    /// for the event hooks (its script runs in another process); None while none runs,
    /// and for the built-in client, which tells the hooks itself.
    fn lease_watched(&self) -> Option<Mac> {
        None
    }

    /// Whether [`Supervisor::settled`] must run under the bond's lock. An external client is
    /// a process to start or signal, which must not interleave with a hook or `hotbond down`
    /// (a client started for a bond being taken down would outlive it). The built-in client
    /// only sends packets, which nothing done under the lock is confused by: it acts at
    /// once, even while an unplug's hook holds the lock to forget the slave.
    fn settles_under_lock(&self) -> bool {
        true
    }

    /// What the job's poll must also wake on: a child's pidfd, a DHCP socket.
    fn wait_fds(&self) -> Vec<BorrowedFd<'_>>;

    /// When the job must wake at the latest for [`Supervisor::turn`] (a timer), if ever.
    fn deadline(&self) -> Option<Instant>;

    /// After any wake: reap the child, read packets, run timers. Reads the master from `k`
    /// itself, after reaping, so that an exit is judged against the bond as it is then.
    /// An error fails the job.
    fn turn(&mut self, k: &mut Kernel, now: Instant) -> Result<Progress>;
}

/// The supervisor the bond's configuration asks for. First stops a client an earlier job of
/// this bond left running: there must be one client, and it is this job's.
pub fn start(bond: &Bond) -> Result<Box<dyn Supervisor>> {
    external::stop_stray_client(bond.name.as_str());
    if super::runs_builtin(&bond.dhcp.client) {
        return Ok(Box::new(Inproc::new(bond)?));
    }
    Ok(match External::new(bond)? {
        Some(e) => Box::new(e),
        None => Box::new(Off),
    })
}

/// `dhcp.client = "none"`: the bond is configured statically or by someone else.
struct Off;

impl Supervisor for Off {
    fn settled(&mut self, _on: &SettledOn) -> Result<DhcpAction> {
        Ok(DhcpAction::Nothing)
    }
    fn confirm(&mut self) -> Result<()> {
        Ok(())
    }
    fn bond_is(&mut self, _index: Option<u32>) {}
    fn end(&mut self, _k: &mut Kernel) -> Result<()> {
        Ok(())
    }
    fn wait_fds(&self) -> Vec<BorrowedFd<'_>> {
        Vec::new()
    }
    fn deadline(&self) -> Option<Instant> {
        None
    }
    fn turn(&mut self, _k: &mut Kernel, _now: Instant) -> Result<Progress> {
        Ok(Progress::Running)
    }
}

/// Releases the bond's lease and ends its job, for `hotbond down`, from outside the job: an
/// external client releases through its own command (and exits), then the job is asked to
/// end (SIGTERM): the built-in client releases then, and the job tells the hooks
/// (`lease-lost`, `bond-down`) and waits for them before it exits, which `down` waits for
/// ([`crate::ending::end_job`]). With `client = "none"` there is nothing to release: the job ends
/// all the same.
pub fn release(bond: &Bond) -> Result<()> {
    let recorded = state::read_dhcp(bond.name.as_str()).map(|r| r.client);
    let builtin = match &recorded {
        Some(c) => c == inproc::NAME,
        None => super::runs_builtin(&bond.dhcp.client),
    };
    let released = if builtin {
        Ok(())
    } else {
        external::release(bond)
    };
    let ended = crate::ending::end_job(&Job::Settle(bond.name.clone()))?;
    if builtin && ended.is_none() {
        inproc::forget(bond);
    }
    released
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on(index: u32, mac: u8) -> SettledOn {
        SettledOn {
            index,
            mac: Mac([2, 0, 0, 0, 0, mac]),
            active: None,
        }
    }

    #[test]
    fn decisions() {
        use DhcpAction::*;
        assert_eq!(decide(None, &on(1, 1)), Started);
        assert_eq!(decide(Some(&on(1, 1)), &on(1, 1)), Kept);
        assert_eq!(decide(Some(&on(1, 1)), &on(1, 2)), Reacquired);
        let mut off = Off;
        assert_eq!(off.settled(&on(1, 1)).unwrap(), Nothing);
    }
}
