//! "Confirm the lease now": SIGUSR1 to the bond's job, sent by `hotbond sleep post` once
//! the laptop has woken up, perhaps on another network or after its lease ran out. The job
//! reads it through a signalfd in its poll loop and has its DHCP client ask the server
//! ([`crate::dhcp::supervise::Supervisor::confirm`]).

use std::os::fd::{AsFd, BorrowedFd};

use anyhow::{Context, Result};
use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};

use crate::net::IfName;
use crate::service::{self, Job};

/// The job's end of the request.
pub struct ConfirmSignal(SignalFd);

impl ConfirmSignal {
    /// Blocks SIGUSR1 and opens its descriptor. Done before the job records its pid: a
    /// signal sent to a recorded job must never meet the default action, which ends it.
    pub fn open() -> Result<ConfirmSignal> {
        let mut set = SigSet::empty();
        set.add(Signal::SIGUSR1);
        nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), None)
            .context("cannot block SIGUSR1")?;
        SignalFd::with_flags(&set, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
            .map(ConfirmSignal)
            .context("cannot open a signalfd for SIGUSR1")
    }

    /// Whether a request came since the last look; several queued ones count as one.
    pub fn requested(&mut self) -> bool {
        let mut seen = false;
        while let Ok(Some(_)) = self.0.read_signal() {
            seen = true;
        }
        seen
    }
}

impl AsFd for ConfirmSignal {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

/// Asks the bond's job to confirm its lease. The pid signalled, or None when no job runs
/// (one that starts later asks for its lease anyway).
pub fn request(bond: &IfName) -> Result<Option<i32>> {
    service::signal_job(&Job::Settle(bond.clone()), Signal::SIGUSR1)
}
