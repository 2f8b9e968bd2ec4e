//! Event hooks: the administrator's executables in `/etc/hotbond/hooks.d` (see
//! [`crate::paths::hooks_dir`]) are told when the bond came up, failed over, got or lost a
//! lease, or went down, so that VPNs, firewalls and time sync can follow the link.
//!
//! The bond's job is the one place that sees all of these, in order: [`settled`] and
//! [`bond_is`] from its loop ([`crate::settle`]), [`leased`] and [`lease_lost`] from the
//! built-in DHCP client inside it ([`crate::dhcp::inproc`]), [`observed()`] from the job's
//! look at an external client's lease in the kernel ([`crate::settle::lease_watch`]),
//! [`job_ends`] when it ends. Which event each change is, is decided in [`event`], which
//! address and gateway are an external client's lease in [`mod@observed`] (both pure); the
//! hooks run in [`runner`]'s thread. Outside a job (a command, a test) there is nothing to tell, and
//! every call here is a no-op.

pub mod event;
pub mod observed;
pub mod runner;

use std::sync::Mutex;

use crate::dhcp::builtin::Lease;
use crate::dhcp::supervise::SettledOn;
use crate::net::{IfName, Mac};
use crate::service::Job;
use event::{Announced, Change, LeaseFacts};
use runner::{Delivery, Runner};

struct Dispatcher {
    bond: String,
    announced: Announced,
    runner: Runner,
}

/// The job's dispatcher: one bond per job, so one per process.
static JOB: Mutex<Option<Dispatcher>> = Mutex::new(None);

/// Starts the hooks' thread for the bond's job. Called after the job set up its signal
/// handling, which the thread follows.
pub fn start(bond: &str) {
    let runner = Runner::spawn(bond, crate::paths::hooks_dir(), runner::limit_from_env());
    if let Ok(mut j) = JOB.lock() {
        *j = Some(Dispatcher {
            bond: bond.to_string(),
            announced: Announced::default(),
            runner,
        });
    }
}

fn note(change: Change) {
    let Ok(mut j) = JOB.lock() else { return };
    let Some(d) = j.as_mut() else { return };
    let (next, out) = d.announced.next(&change);
    d.announced = next;
    for a in out {
        crate::debug!("{}: hooks: {}", d.bond, a.event);
        d.runner.send(Delivery {
            event: a.event.to_string(),
            env: a.env(&d.bond),
        });
    }
}

/// The bond settled on `on` (its DHCP client was just told).
pub fn settled(on: &SettledOn) {
    note(Change::Settled(on.clone()));
}

/// The bond's ifindex as the job sees it now; None when the bond does not exist.
pub fn bond_is(index: Option<u32>) {
    note(Change::BondIs(index));
}

/// The built-in client put (or renewed) `lease`, granted to `mac`, on the bond.
pub fn leased(lease: &Lease, mac: Mac) {
    note(Change::Leased(LeaseFacts::of(lease, mac)));
}

/// The lease is gone: expired, refused, or released.
pub fn lease_lost() {
    note(Change::LeaseLost);
}

/// An external client's lease as the kernel shows it now; None when the bond has no lease
/// address.
pub fn observed(lease: Option<LeaseFacts>) {
    note(Change::Observed(lease));
}

/// The job ends on purpose (`hotbond down`): announces what that ends and lets the hooks
/// run to their end before the process does, having said how long that may take at most,
/// which `down` waits for ([`crate::ending`]).
pub fn job_ends() {
    note(Change::JobEnds);
    let d = JOB.lock().ok().and_then(|mut j| j.take());
    if let Some(d) = d {
        if let Ok(bond) = IfName::new(&d.bond) {
            crate::ending::promise(&Job::Settle(bond), d.runner.longest_left());
        }
        d.runner.finish();
    }
}
