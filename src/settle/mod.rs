//! The bond's job (`hotbond-settle BOND`), which replaces the classic recipe's `sleep 8` and
//! its DHCP client unit.
//!
//! One per bond, from the bond's first event until it is removed or taken down. It sleeps on
//! rtnetlink link events until the bond has an active slave that is operationally up (for
//! Wi-Fi: authorised by the supplicant, not merely associated), the bond carries that slave's
//! MAC, and nothing changed for a short debounce window ([`machine`]). Then it makes sure
//! exactly one DHCP client speaks for the bond with that MAC ([`crate::dhcp::supervise`]). It
//! keeps watching: a failover that changes the bond's MAC (a cable pulled raises no udev
//! event at all) makes it re-acquire, without a release, once the new MAC has settled. Doing
//! this in one process keeps process starts, which are what a re-acquisition costs, off that
//! path.

pub mod confirm;
pub mod machine;
pub mod readiness;
mod statics;

use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::config::{Bond, Config};
use crate::dhcp::supervise::{self, DhcpAction, Progress, SettledOn, Supervisor};
use crate::kernel::{Kernel, LinkEvents, Wake};
use crate::net::IfName;
use crate::service::{self, Job};
use crate::state::{self, BondRecord};
use crate::{dispatch, lock};

pub use machine::{Machine, State, Step};
pub use readiness::{assess, readiness, Fingerprint, Readiness};

fn env_ms(name: &str, default: u64) -> Duration {
    Duration::from_millis(
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default),
    )
}

/// The bond a job is asked to run for: a valid interface name that the configuration names.
/// Checked before the job records itself, so that a mistaken start leaves nothing behind.
fn configured_bond(bond_name: &str) -> Result<Bond> {
    IfName::new(bond_name)?;
    let cfg = Config::load()?;
    cfg.bond(bond_name)
        .with_context(|| format!("{bond_name} is not a configured bond"))
        .cloned()
}

/// The job's main loop. Returns when the DHCP client ends by itself while its bond exists (a
/// release by `hotbond down`); otherwise runs until it is stopped.
pub fn run(bond_name: &str) -> Result<()> {
    let bond = configured_bond(bond_name)?;
    let mut confirm = confirm::ConfirmSignal::open()?;
    service::write_own_pid_file(&Job::Settle(bond.name.clone()))?;
    // Subscribe before the first look, so no change falls between the two.
    let mut events = LinkEvents::subscribe()?;
    let mut k = Kernel::open()?;
    let mut dhcp = supervise::start(&bond)?;
    // After the client set up its signals: the hooks' thread blocks them all, so that none
    // meant for the job is taken by it, but only once it runs.
    dispatch::start(bond_name);
    let mut machine = Machine::new(bond_name, env_ms("HOTBOND_SETTLE_DEBOUNCE_MS", 20));
    // The first look checks the static configuration too, as if all of it had gone.
    let mut wake = Wake {
        overrun: true,
        ..Wake::default()
    };
    loop {
        if confirm.requested() {
            dhcp.confirm()?;
        }
        if dhcp.turn(&mut k, Instant::now())? == Progress::Done {
            // The job's work is over: it ends cleanly so that systemd does not start it
            // again and take a new lease.
            dispatch::job_ends();
            return Ok(());
        }
        let r = readiness(&mut k, &bond)
            .with_context(|| format!("{bond_name}: cannot read its state"))?;
        dhcp.bond_is(r.index);
        dispatch::bond_is(r.index);
        if let Some(i) = r.index.filter(|i| wake.removed_from(*i)) {
            statics::restore(&mut k, &bond, i);
        }
        let before = machine.state().clone();
        let step = match machine.step(&r, Instant::now()) {
            Step::Act(on) => act(&mut k, &bond, &mut machine, dhcp.as_mut(), &on)?,
            step => step,
        };
        match machine.state() {
            // So `hotbond status` can say what the job is waiting for.
            State::Waiting { reason } if *machine.state() != before => {
                record(&bond, &Readiness::not(reason.clone()), "waiting", None)?;
            }
            _ => {}
        }
        let deadline = match step {
            Step::WaitUntil(t) => Some(t),
            _ => None,
        };
        let deadline = earliest(deadline, dhcp.deadline());
        let mut fds = dhcp.wait_fds();
        fds.push(confirm.as_fd());
        wake = events.wait(deadline, &fds)?;
    }
}

fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The bond settled: under the bond's lock, so that no hook (or `hotbond down`)
/// interleaves, looks once more and, if nothing changed, lets the DHCP client act.
fn act(
    k: &mut Kernel,
    bond: &Bond,
    machine: &mut Machine,
    dhcp: &mut dyn Supervisor,
    on: &SettledOn,
) -> Result<Step> {
    let _guard = lock::lock_bond(bond.name.as_str())?;
    let again = readiness(k, bond)?;
    match machine.step(&again, Instant::now()) {
        Step::Act(now) if now == *on => {}
        // Changed since: the machine starts over with what is there now.
        step => return Ok(step),
    }
    let action: DhcpAction = dhcp.settled(on)?;
    dispatch::settled(on);
    let overhead = machine.acted(action, Instant::now());
    record(bond, &again, action.as_str(), Some(overhead))?;
    Ok(Step::Wait)
}

fn record(bond: &Bond, r: &Readiness, action: &str, overhead: Option<u64>) -> Result<()> {
    state::write_bond(&BondRecord {
        bond: bond.name.to_string(),
        settled: r.ready,
        active_slave: r.active.clone(),
        mac: r.mac.map(|m| m.to_string()),
        reason: r.reason.clone(),
        dhcp_action: action.to_string(),
        settle_overhead_ms: overhead,
        updated_unix_ms: state::now_ms(),
    })
}
