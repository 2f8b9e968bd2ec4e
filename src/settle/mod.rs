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
//! path. When the active slave loses its carrier, the job hands the bond to a ready slave
//! itself ([`carrier`]) instead of waiting for the driver's next link monitor tick.

mod aside;
mod carrier;
pub mod confirm;
pub mod lease_watch;
pub mod machine;
mod probe;
pub mod readiness;
pub mod signal;
mod statics;

use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use nix::sys::signal::Signal;

use crate::config::{Bond, Config};
use crate::dhcp::supervise::{self, DhcpAction, Progress, SettledOn, Supervisor};
use crate::kernel::{Kernel, LinkEvents, Wake};
use crate::net::IfName;
use crate::service::{self, Job};
use crate::state::{self, BondRecord};
use crate::{dispatch, lock};

use lease_watch::LeaseWatch;
pub use machine::{Machine, Seen, State, Step, Windows};
pub use readiness::{assess, readiness, Fingerprint, Readiness};
use signal::JobSignal;

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
    let mut job = BondJob::start(bond_name)?;
    loop {
        if job.dhcp_turn()? == Progress::Done {
            return job.end();
        }
        job.probe_turn();
        let step = job.look_and_step()?;
        job.watch_lease();
        let deadline = earliest(wait_until(&step), job.dhcp.deadline());
        let deadline = earliest(deadline, job.probe.as_ref().map(|p| p.deadline()));
        job.sleep(earliest(deadline, job.lease.deadline()))?;
    }
}

/// Until when the machine's `step` lets the job sleep, if it sets a limit.
fn wait_until(step: &Step) -> Option<Instant> {
    match step {
        Step::WaitUntil(t) => Some(*t),
        _ => None,
    }
}

fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// What the job holds from one wake to the next.
struct BondJob {
    bond: Bond,
    /// SIGUSR1: confirm the lease now.
    confirm: JobSignal,
    /// SIGTERM, from `hotbond down`: end (the built-in client releases first).
    end: JobSignal,
    events: LinkEvents,
    k: Kernel,
    dhcp: Box<dyn Supervisor>,
    machine: Machine,
    /// An external client's lease, for the event hooks.
    lease: LeaseWatch,
    /// What ended the last sleep.
    wake: Wake,
    /// The last look at the bond.
    r: Readiness,
    /// The bond's record, written once the job has nothing more urgent to do.
    due: Option<BondRecord>,
    /// After a confirmation request: is the active slave passing traffic?
    probe: Option<probe::GatewayProbe>,
}

impl BondJob {
    fn start(bond_name: &str) -> Result<BondJob> {
        let t0 = Instant::now();
        let bond = configured_bond(bond_name)?;
        let confirm = JobSignal::open(Signal::SIGUSR1)?;
        let end = JobSignal::open(Signal::SIGTERM)?;
        let job = Job::Settle(bond.name.clone());
        service::write_own_pid_file(&job)?;
        crate::ending::forget(&job);
        // Subscribe before the first look, so no change falls between the two.
        let events = LinkEvents::subscribe()?;
        let k = Kernel::open()?;
        let dhcp = supervise::start(&bond)?;
        // After the client set up its signals: the hooks' thread blocks them all, so that none
        // meant for the job is taken by it, but only once it runs.
        dispatch::start(bond_name);
        let windows = Windows {
            look: env_ms("HOTBOND_SETTLE_DEBOUNCE_MS", 20),
            event: env_ms("HOTBOND_SETTLE_EVENT_DEBOUNCE_MS", 0),
        };
        let machine = Machine::new(bond_name, windows);
        // The job's own start-up, which a bond's first plug waits for.
        crate::debug!("{bond_name}: job set up in {} ms", t0.elapsed().as_millis());
        Ok(BondJob {
            bond,
            confirm,
            end,
            events,
            k,
            dhcp,
            machine,
            lease: LeaseWatch::default(),
            // The first look checks the static configuration too, as if all of it had gone.
            wake: Wake {
                overrun: true,
                ..Wake::default()
            },
            r: Readiness::not(String::new()),
            due: None,
            probe: None,
        })
    }

    /// Lets the DHCP client handle what woke the job (the end or a confirmation asked for,
    /// its packets, its timers).
    fn dhcp_turn(&mut self) -> Result<Progress> {
        if self.end.requested() {
            crate::info!("{}: asked to end", self.bond.name);
            self.dhcp.end(&mut self.k)?;
            return Ok(Progress::Done);
        }
        if self.confirm.requested() {
            self.dhcp.confirm()?;
            self.begin_probe();
        }
        self.dhcp.turn(&mut self.k, Instant::now())
    }

    /// After a resume: starts checking that the active slave carries traffic (a dock's NIC
    /// may wake with carrier and pass nothing). A failure to check is logged, never fatal:
    /// the bond goes on as it is.
    fn begin_probe(&mut self) {
        let name = self.bond.name.as_str();
        match probe::begin(&mut self.k, &self.bond, &self.r, Instant::now()) {
            Ok(Some(probe::Begun::Probing(p))) => self.probe = Some(p),
            Ok(Some(probe::Begun::Done(result))) => self.conclude(&result),
            Ok(None) => crate::debug!("{name}: not settled: no active slave to check"),
            Err(e) => crate::warn!("{name}: cannot check the active slave: {e:#}"),
        }
    }

    /// Lets a probe under way read its answers and send its tries; acts on its result.
    fn probe_turn(&mut self) {
        let Some(p) = self.probe.as_mut() else {
            return;
        };
        match p.turn(Instant::now()) {
            Ok(None) => {}
            Ok(Some(result)) => {
                self.probe = None;
                self.conclude(&result);
            }
            Err(e) => {
                self.probe = None;
                crate::warn!("{}: cannot check the active slave: {e:#}", self.bond.name);
            }
        }
    }

    fn conclude(&mut self, result: &crate::plan::traffic::Probe) {
        if let Err(e) = aside::conclude(&mut self.k, &self.bond, result) {
            crate::warn!("{}: {e:#}", self.bond.name);
        }
    }

    /// The DHCP client is done.
    fn end(&mut self) -> Result<()> {
        if let Some(rec) = self.due.take() {
            state::write_bond(&rec)?;
        }
        // The job's work is over: it ends cleanly so that systemd does not start it
        // again and take a new lease.
        dispatch::job_ends();
        Ok(())
    }

    /// Looks at the bond again if a link changed, and lets the machine (and, once the bond
    /// settled, the DHCP client) act on it.
    fn look_and_step(&mut self) -> Result<Step> {
        // What is read here changes only with a link event (a failover is one too): a wake
        // without one (a timer, a DHCP packet) leaves the last look true.
        let mut handed_over = None;
        if self.wake.links_changed() {
            self.r = readiness(&mut self.k, &self.bond)
                .with_context(|| format!("{}: cannot read its state", self.bond.name))?;
            // Not ready, maybe for a carrier lost: a switch must come before the request.
            if carrier::before_acting(&self.bond, &self.r) {
                handed_over = self.act_on_carrier()?;
            }
        }
        let index = self.r.index;
        self.dhcp.bond_is(index);
        dispatch::bond_is(index);
        if self.dhcp.lease_watched().is_some() {
            self.lease.heard(&self.wake, index, Instant::now());
        }
        if let Some(i) = index.filter(|i| self.wake.removed_from(*i)) {
            statics::restore(&mut self.k, &self.bond, i);
        }
        let seen = if self.wake.links_changed() && !self.wake.overrun {
            Seen::LinkEvent
        } else {
            Seen::Look
        };
        let before = self.machine.state().clone();
        let step = match self.machine.step(&self.r, seen, Instant::now()) {
            Step::Act(on) => self.act(&on)?,
            step => step,
        };
        match self.machine.state() {
            // So `hotbond status` can say what the job is waiting for.
            State::Waiting { reason } if *self.machine.state() != before => {
                self.due = Some(bond_record(
                    &self.bond,
                    &Readiness::not(reason.clone()),
                    "waiting",
                    None,
                ));
            }
            _ => {}
        }
        // Ready on another slave than the primary: the request has gone, the primary may
        // come back (its own request follows the switch).
        if handed_over.is_none()
            && self.wake.links_changed()
            && carrier::after_acting(&self.bond, &self.r)
        {
            handed_over = self.act_on_carrier()?;
        }
        if let Some(line) = handed_over {
            crate::info!("{line}");
        }
        Ok(step)
    }

    /// A slave's carrier came or went: hands the bond to another slave now, or makes the
    /// driver look at its links, if the plan says so ([`carrier`]). After a hand-over it
    /// looks again, so that the DHCP client asks from the new slave in this same turn (the
    /// driver's own switch, after a look, comes as events). Returns the line to log. A
    /// refusal is logged at debug level: the driver switches by itself at its next tick.
    fn act_on_carrier(&mut self) -> Result<Option<String>> {
        let Some(index) = self.r.index else {
            return Ok(None);
        };
        match carrier::act_on_carrier(&mut self.k, &self.bond, index) {
            Ok(Some(carrier::Acted::HandedOver(line))) => {
                self.r = readiness(&mut self.k, &self.bond)
                    .with_context(|| format!("{}: cannot read its state", self.bond.name))?;
                Ok(Some(line))
            }
            Ok(Some(carrier::Acted::AskedToLook(line))) => Ok(Some(line)),
            Ok(None) => Ok(None),
            Err(e) => {
                crate::debug!("{}: {e:#}", self.bond.name);
                Ok(None)
            }
        }
    }

    /// The bond settled on `on`, as the last look shows: lets the DHCP client act, under the
    /// bond's lock when the client needs it, so that no hook (or `hotbond down`)
    /// interleaves. Under the lock, if it had to be waited for or the kernel has announced a
    /// change since, the bond is read once more and the client acts only if nothing changed.
    /// The client sends first; the record is written later.
    fn act(&mut self, on: &SettledOn) -> Result<Step> {
        let (_guard, look_again) = self.hold_lock()?;
        let again = if look_again {
            let again = readiness(&mut self.k, &self.bond)?;
            match self.machine.step(&again, Seen::Look, Instant::now()) {
                Step::Act(now) if now == *on => {}
                // Changed since: the machine starts over with what is there now.
                step => return Ok(step),
            }
            again
        } else {
            self.r.clone()
        };
        let action: DhcpAction = self.dhcp.settled(on)?;
        dispatch::settled(on);
        let overhead = self.machine.acted(action, Instant::now());
        self.due = Some(bond_record(
            &self.bond,
            &again,
            action.as_str(),
            Some(overhead),
        ));
        Ok(Step::Wait)
    }

    /// The bond's lock if the DHCP client acts under it, and whether the bond must be read
    /// again before it acts under it: a change announced since the last look, or a wait for
    /// the lock.
    fn hold_lock(&self) -> Result<(Option<lock::BondLock>, bool)> {
        let name = self.bond.name.as_str();
        // Without the lock the last look stands: a change announced since is the next
        // wake's, which asks again if it changed the MAC. The request goes out first.
        if !self.dhcp.settles_under_lock() {
            return Ok((None, false));
        }
        Ok(match lock::try_lock_bond(name)? {
            Some(g) => (Some(g), self.events.pending()?),
            None => (Some(lock::lock_bond(name)?), true),
        })
    }

    /// Reads an external client's lease from the kernel for the hooks, once a change to
    /// the bond's IPv4 addresses or routes has settled. A failure costs the hooks a lease
    /// event, not the job.
    fn watch_lease(&mut self) {
        let client = self.dhcp.lease_watched();
        let now = Instant::now();
        if let Err(e) = self
            .lease
            .look(&mut self.k, &self.bond, self.r.index, client, now)
        {
            crate::warn!("{}: cannot read its lease: {e:#}", self.bond.name);
        }
    }

    /// Sleeps until a link event, the DHCP client's descriptors or a request (end, confirm)
    /// wake the job, or `deadline` passes; writes a due record first when nothing waits.
    fn sleep(&mut self, deadline: Option<Instant>) -> Result<()> {
        let mut fds = self.dhcp.wait_fds();
        fds.push(self.confirm.as_fd());
        fds.push(self.end.as_fd());
        fds.extend(self.probe.as_ref().map(|p| p.as_fd()));
        let now = Instant::now();
        self.wake = match self.due.take() {
            None => self.events.wait(deadline, &fds)?,
            // The DHCP client has packets to send now (a failover's request): they go
            // before the record, which waits for the next idle moment.
            Some(rec) if deadline.is_some_and(|d| d <= now) => {
                self.due = Some(rec);
                self.events.wait(Some(now), &fds)?
            }
            // A DHCP reply or a link event already waiting comes first: the packets the
            // client sends next are on the way to the address, the record is not.
            Some(rec) => {
                let now = self.events.wait(Some(Instant::now()), &fds)?;
                if now.anything() {
                    self.due = Some(rec);
                    now
                } else {
                    state::write_bond(&rec)?;
                    self.events.wait(deadline, &fds)?
                }
            }
        };
        Ok(())
    }
}

fn bond_record(bond: &Bond, r: &Readiness, action: &str, overhead: Option<u64>) -> BondRecord {
    BondRecord {
        bond: bond.name.to_string(),
        settled: r.ready,
        active_slave: r.active.clone(),
        mac: r.mac.map(|m| m.to_string()),
        reason: r.reason.clone(),
        dhcp_action: action.to_string(),
        settle_overhead_ms: overhead,
        updated_unix_ms: state::now_ms(),
    }
}
