//! Per-bond serialisation: udev runs events for different devices in parallel, and two hooks
//! must never interleave "down, flush, master, up" on the same bond.

use std::fs::File;

use anyhow::{Context, Result};
use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

use crate::{paths, statefs};

pub struct BondLock {
    _lock: Flock<File>,
}

/// Blocks until this process holds the bond's lock; released on drop (or when the process dies).
pub fn lock_bond(bond: &str) -> Result<BondLock> {
    take(&format!("{bond}.lock"), true)?.context("the bond's lock was not taken")
}

/// The bond's lock if nobody holds it, None (at once) if someone does.
pub fn try_lock_bond(bond: &str) -> Result<Option<BondLock>> {
    take(&format!("{bond}.lock"), false)
}

/// Held by a hook from before it takes the bond's lock until systemd has accepted the start
/// of the bond's job, which can take hundreds of milliseconds: the bond's lock is given
/// back before that, so that the job is not kept from acting, while whoever stops the job
/// (`hotbond down`, another hook) takes this one first and so comes after that start.
pub fn lock_job_start(bond: &str) -> Result<BondLock> {
    take(&format!("{bond}.start.lock"), true)?.context("the job's start lock was not taken")
}

/// The lock `file`; with `wait` false None at once when someone else holds it.
fn take(file: &str, wait: bool) -> Result<Option<BondLock>> {
    let dir = paths::run_dir();
    paths::ensure_dir(&dir)?;
    let path = dir.join(file);
    let f = statefs::open_lock(&path)?;
    let how = if wait {
        FlockArg::LockExclusive
    } else {
        FlockArg::LockExclusiveNonblock
    };
    match Flock::lock(f, how) {
        Ok(lock) => Ok(Some(BondLock { _lock: lock })),
        Err((_, Errno::EWOULDBLOCK)) if !wait => Ok(None),
        Err((_, e)) => Err(e).with_context(|| format!("cannot lock {}", path.display())),
    }
}
