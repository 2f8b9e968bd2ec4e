//! A bond job's end on `hotbond down`, with the time its hooks need: `down` asks the job to
//! end (SIGTERM) and waits until it has; the job, once it knows what its hooks still have
//! to run (`lease-lost`, `bond-down`, and any event before them still queued), records by
//! when it will be done at the latest ([`promise`]), and `down` waits that long instead of
//! a fixed few seconds, so that no hook is cut short by the job being stopped under it.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Result;
use nix::sys::signal::Signal;

use crate::process::{pid_alive, wait_gone};
use crate::service::{self, Job};
use crate::{state, statefs};

/// How long `down` waits for a job that has not (yet) said how long it needs: time to
/// release the lease and get to its hooks.
const FIRST: Duration = Duration::from_secs(5);
/// Beyond the job's own bound: its exit after the last hook.
const MARGIN: Duration = Duration::from_secs(1);
/// How often `down` reads the job's bound again while it waits.
const REREAD: Duration = Duration::from_millis(250);

fn path(job: &Job) -> PathBuf {
    job.pid_file().with_extension("ends")
}

/// The job says it ends within `left` from now (called by the job).
pub fn promise(job: &Job, left: Duration) {
    let by = state::now_ms().saturating_add(left.as_millis() as u64);
    if let Err(e) = statefs::write_file(&path(job), format!("{by}\n").as_bytes(), 0o600) {
        crate::warn!("{e:#}");
    }
}

/// Forgets what an earlier job said.
pub fn forget(job: &Job) {
    let _ = std::fs::remove_file(path(job));
}

/// By when the job said it ends, as an instant of this process.
fn promised(job: &Job) -> Option<Instant> {
    let by: u64 = statefs::read_to_string(&path(job))?.trim().parse().ok()?;
    let left = by.saturating_sub(state::now_ms());
    Some(Instant::now() + Duration::from_millis(left))
}

/// Asks the job to end (SIGTERM) and waits until it has: [`FIRST`] at least, and as long
/// as it said its hooks may take (plus [`MARGIN`]). Returns the job's pid, None when no
/// job ran. A job still running then is left to the caller to stop.
pub fn end_job(job: &Job) -> Result<Option<i32>> {
    let Some(pid) = service::signal_job(job, Signal::SIGTERM)? else {
        return Ok(None);
    };
    let start = Instant::now();
    loop {
        let until = promised(job)
            .map(|p| p + MARGIN)
            .map_or(start + FIRST, |p| p.max(start + FIRST));
        let now = Instant::now();
        if !pid_alive(pid) || now >= until {
            break;
        }
        wait_gone(pid, (until - now).min(REREAD));
    }
    if pid_alive(pid) {
        crate::warn!(
            "{job} ({pid}) has not ended within {} s: stopping it",
            start.elapsed().as_secs()
        );
    }
    forget(job);
    Ok(Some(pid))
}
