//! "Confirm the lease now": SIGUSR1 to the bond's job, sent by `hotbond sleep post` once
//! the laptop has woken up, perhaps on another network or after its lease ran out. The job
//! reads it through a signalfd in its poll loop ([`super::signal`]) and has its DHCP client ask the server
//! ([`crate::dhcp::supervise::Supervisor::confirm`]).

use anyhow::Result;
use nix::sys::signal::Signal;

use crate::net::IfName;
use crate::service::{self, Job};

/// What became of a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Asked {
    /// The job (this pid) was signalled.
    Job(i32),
    /// No job runs; one that starts asks for its lease anyway.
    NoJob,
    /// The job running does not read SIGUSR1 (it was started by an earlier hotbond), which
    /// would end it: left alone, it renews on its own timers.
    OldJob(i32),
}

/// Asks the bond's job to confirm its lease.
pub fn request(bond: &IfName) -> Result<Asked> {
    let job = Job::Settle(bond.clone());
    let Some(pid) = service::running_pid(&job) else {
        return Ok(Asked::NoJob);
    };
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    if !blocked(&status, Signal::SIGUSR1) {
        return Ok(Asked::OldJob(pid));
    }
    Ok(match service::signal_job(&job, Signal::SIGUSR1)? {
        Some(pid) => Asked::Job(pid),
        None => Asked::NoJob,
    })
}

/// Whether /proc/PID/status (`status`) says `sig` is blocked (SigBlk, a hex mask whose bit
/// N-1 is signal N).
fn blocked(status: &str, sig: Signal) -> bool {
    status
        .lines()
        .find_map(|l| l.strip_prefix("SigBlk:"))
        .and_then(|m| u64::from_str_radix(m.trim(), 16).ok())
        .is_some_and(|m| m & (1 << (sig as i32 - 1)) != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_job_that_blocks_sigusr1_is_sent_it() {
        let status = |blk: &str| format!("Name:\thotbond-settle\nSigPnd:\t0\nSigBlk:\t{blk}\n");
        assert!(blocked(&status("0000000000004200"), Signal::SIGUSR1));
        assert!(!blocked(&status("0000000000004000"), Signal::SIGUSR1));
        assert!(blocked(&status("0000000000004000"), Signal::SIGTERM));
        assert!(!blocked("", Signal::SIGUSR1));
        assert!(!blocked(&status("zz"), Signal::SIGUSR1));
        // This very test process, once it blocks SIGUSR1.
        let _fd = super::super::signal::JobSignal::open(Signal::SIGUSR1).unwrap();
        let own = std::fs::read_to_string("/proc/thread-self/status").unwrap();
        assert!(blocked(&own, Signal::SIGUSR1), "{own}");
    }
}
