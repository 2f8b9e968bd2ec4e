//! The signals the bond's job takes requests by: SIGUSR1 (confirm the lease, from `hotbond
//! sleep post`, see [`super::confirm`]) and SIGTERM (end, from `hotbond down`). Each is read
//! through a signalfd in the job's poll loop rather than by a handler, so that a request
//! waits in the descriptor until the loop gets to it.

use std::os::fd::{AsFd, BorrowedFd};

use anyhow::{Context, Result};
use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};

/// The job's end of one kind of request.
pub struct JobSignal(SignalFd);

impl JobSignal {
    /// Blocks `sig` and opens its descriptor. Done before the job records its pid: a signal
    /// sent to a recorded job must never meet the default action, which ends it.
    pub fn open(sig: Signal) -> Result<JobSignal> {
        let mut set = SigSet::empty();
        set.add(sig);
        nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), None)
            .with_context(|| format!("cannot block {sig}"))?;
        SignalFd::with_flags(&set, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
            .map(JobSignal)
            .with_context(|| format!("cannot open a signalfd for {sig}"))
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

impl AsFd for JobSignal {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}
