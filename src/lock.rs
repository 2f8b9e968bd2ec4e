//! Per-bond serialisation: udev runs events for different devices in parallel, and two hooks
//! must never interleave "down, flush, master, up" on the same bond.

use std::fs::File;

use anyhow::{Context, Result};
use nix::fcntl::{Flock, FlockArg};

use crate::{paths, statefs};

pub struct BondLock {
    _lock: Flock<File>,
}

/// Blocks until this process holds the bond's lock; released on drop (or when the process dies).
pub fn lock_bond(bond: &str) -> Result<BondLock> {
    let dir = paths::run_dir();
    paths::ensure_dir(&dir)?;
    let path = dir.join(format!("{bond}.lock"));
    let f = statefs::open_lock(&path)?;
    let lock = Flock::lock(f, FlockArg::LockExclusive)
        .map_err(|(_, e)| e)
        .with_context(|| format!("cannot lock {}", path.display()))?;
    Ok(BondLock { _lock: lock })
}
