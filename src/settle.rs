//! The bond's job (`hotbond-settle BOND`), which replaces the classic recipe's `sleep 8` and
//! its DHCP client unit.
//!
//! One per bond, from the bond's first event until it is removed or taken down. It sleeps on
//! rtnetlink link events until the bond has an active slave that is operationally up (for
//! Wi-Fi: authorised by the supplicant, not merely associated), the bond carries that slave's
//! MAC, and nothing changed for a short debounce window. Then it makes sure exactly one DHCP
//! client runs on the bond with that MAC: the client is its child. It keeps watching: a
//! failover that changes the bond's MAC (a cable pulled raises no udev event at all) makes it
//! restart the client, without a release, once the new MAC has settled. Doing this in one
//! process keeps process starts, which are what a re-acquisition costs, off that path.

use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::config::{Bond, Config, Kind};
use crate::dhcp::{self, Client};
use crate::kernel::{self, Kernel, Link, LinkEvents};
use crate::lock;
use crate::net::Mac;
use crate::service::{self, Job};
use crate::state::{self, BondRecord, DhcpRecord};

/// The master's ifindex (a bond deleted and made again is another interface), the active
/// slave and the MAC: what must not change during the debounce window.
type Fingerprint = (Option<u32>, Option<String>, Option<Mac>);

/// Is the master ready for DHCP? Pure, for tests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Readiness {
    pub ready: bool,
    /// The master's ifindex, when it exists.
    pub index: Option<u32>,
    pub active: Option<String>,
    pub mac: Option<Mac>,
    pub reason: String,
}

impl Readiness {
    fn not(reason: String) -> Readiness {
        Readiness {
            ready: false,
            index: None,
            active: None,
            mac: None,
            reason,
        }
    }

    /// What must stay the same for the debounce window.
    fn fingerprint(&self) -> Fingerprint {
        (self.index, self.active.clone(), self.mac)
    }
}

pub fn assess(kind: &Kind, master: Option<&Link>, active: Option<&Link>) -> Readiness {
    Readiness {
        index: master.map(|m| m.index),
        ..assess_master(kind, master, active)
    }
}

fn assess_master(kind: &Kind, master: Option<&Link>, active: Option<&Link>) -> Readiness {
    let Some(m) = master else {
        return Readiness::not("the master does not exist".into());
    };
    if !m.up {
        return Readiness::not(format!("{} is down", m.name));
    }
    if matches!(kind, Kind::Bridge) {
        return if m.oper_up() {
            Readiness {
                ready: true,
                index: None,
                active: None,
                mac: m.mac,
                reason: format!("{} is up", m.name),
            }
        } else {
            Readiness::not(format!("{} has no forwarding port", m.name))
        };
    }
    let Some(a) = active else {
        return Readiness::not(format!("{} has no active slave", m.name));
    };
    if !a.oper_up() {
        return Readiness {
            reason: format!(
                "active slave {} is {} (not authorised/up yet)",
                a.name, a.oper
            ),
            ..Readiness::not(String::new())
        };
    }
    if a.mac != m.mac || m.mac.is_none() {
        return Readiness::not(format!("{} does not carry {}'s MAC yet", m.name, a.name));
    }
    Readiness {
        ready: true,
        index: None,
        active: Some(a.name.clone()),
        mac: m.mac,
        reason: format!(
            "active slave {} is up and {} carries its MAC",
            a.name, m.name
        ),
    }
}

/// What to do with the DHCP client once settled. Pure, for tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DhcpDecision {
    /// No DHCP configured.
    Nothing,
    Start,
    /// Runs with the current MAC: leave it alone (its lease and timers are right).
    Keep,
    Reacquire,
}

pub fn decide_dhcp(
    configured: bool,
    running: bool,
    started_mac: Option<&str>,
    mac: &str,
) -> DhcpDecision {
    if !configured {
        DhcpDecision::Nothing
    } else if !running {
        DhcpDecision::Start
    } else if started_mac == Some(mac) {
        DhcpDecision::Keep
    } else {
        DhcpDecision::Reacquire
    }
}

/// The master's readiness now, as the settle job sees it.
pub fn observe(k: &mut Kernel, bond: &Bond) -> Result<Readiness> {
    let name = bond.name.as_str();
    let master = k.link(name)?;
    let active = match (&bond.kind, &master) {
        (Kind::Bond, Some(_)) => match kernel::bond_active_slave(name) {
            Some(a) => k.link(&a)?,
            None => None,
        },
        _ => None,
    };
    Ok(assess(&bond.kind, master.as_ref(), active.as_ref()))
}

fn env_ms(name: &str, default: u64) -> Duration {
    Duration::from_millis(
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default),
    )
}

/// The DHCP client this job runs, and the bond (ifindex, MAC) it was started on.
struct Running {
    child: Child,
    index: Option<u32>,
    mac: String,
    /// How to stop it without unconfiguring the address (see `Client::restart_signal`).
    stop: Signal,
}

/// A job that fails takes its client with it: a client nobody watches would keep speaking
/// for a MAC the bond may no longer have.
impl Drop for Running {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = kill(Pid::from_raw(self.child.id() as i32), self.stop);
        }
    }
}

/// The job's main loop. Returns when the DHCP client ends by itself while its bond exists (a
/// release by `hotbond down`); otherwise runs until it is stopped.
pub fn run(bond_name: &str) -> Result<()> {
    crate::net::IfName::new(bond_name)?;
    service::write_own_pid_file(&Job::Settle(bond_name.to_string()))?;
    let cfg = Config::load()?;
    let bond = cfg
        .bond(bond_name)
        .with_context(|| format!("{bond_name} is not a configured bond"))?
        .clone();
    let client = dhcp::client_for(&bond.dhcp.client)?;
    let argv = match &client {
        Some(c) => c.command(&dhcp::options(&bond)?)?,
        None => Vec::new(),
    };
    let stop = client
        .as_ref()
        .map(|c| c.restart_signal())
        .unwrap_or(Signal::SIGKILL);
    // Debounce: long enough to coalesce one failover's burst of link events, short enough
    // to be invisible next to DHCP itself.
    let debounce = env_ms("HOTBOND_SETTLE_DEBOUNCE_MS", 20);
    // Subscribe before the first look, so no change falls between the two.
    let mut events = LinkEvents::subscribe()?;
    let mut k = Kernel::open()?;
    stop_stray_client(bond_name);
    let mut running: Option<Running> = None;
    // When the current fingerprint was first seen, and whether it has been acted on.
    let mut stable: Option<(Instant, Fingerprint)> = None;
    let mut decided: Option<Fingerprint> = None;
    let mut last_reason = String::new();
    let program = argv.first().cloned().unwrap_or_default();
    loop {
        if let Some(r) = running.as_mut() {
            let exited = r
                .child
                .try_wait()
                .with_context(|| format!("{bond_name}: cannot wait for {program}"))?;
            if let Some(st) = exited {
                running = None;
                if k.link(bond_name)?.is_none() {
                    // Its bond is gone: wait for the next one.
                    crate::info!("{bond_name}: {program} ended ({st}) with its bond");
                } else if st.success() || st.signal() == Some(libc::SIGTERM) {
                    // Told to stop (a release by `hotbond down` sends SIGTERM, dhcpcd exits
                    // 0): the job's work is over, and it ends cleanly so that systemd does
                    // not start it again and take a new lease.
                    crate::info!("{bond_name}: {program} ended ({st})");
                    return Ok(());
                } else {
                    anyhow::bail!("{bond_name}: {program} exited ({st})");
                }
            }
        }
        let r = observe(&mut k, &bond)
            .with_context(|| format!("{bond_name}: cannot read its state"))?;
        if let Some(old) = running.take_if(|x| x.index != r.index) {
            // The bond was deleted (and maybe made again, a new interface): the client
            // speaks for an interface that is gone.
            crate::info!("{bond_name}: the bond is gone or new: stopping its DHCP client");
            stop_client(old);
        }
        let child_pid = running.as_ref().map(|r| r.child.id() as i32);
        let now = Instant::now();
        if !r.ready {
            stable = None;
            decided = None;
            if r.reason != last_reason {
                // So `hotbond status` can say what the job is waiting for.
                crate::debug!("{bond_name}: waiting: {}", r.reason);
                record(&bond, &r, "waiting", None)?;
                last_reason = r.reason.clone();
            }
            events.wait_until(None, child_pid)?;
            continue;
        }
        if decided.as_ref() == Some(&r.fingerprint()) {
            // Acted on already; sleep until something changes.
            events.wait_until(None, child_pid)?;
            continue;
        }
        let since = match &stable {
            Some((t, fp)) if *fp == r.fingerprint() => *t,
            _ => {
                stable = Some((now, r.fingerprint()));
                now
            }
        };
        if now < since + debounce {
            events.wait_until(Some(since + debounce), child_pid)?;
            continue;
        }
        // Settled. Act under the bond's lock so no hook (or `hotbond down`) interleaves.
        let _guard = lock::lock_bond(bond_name)?;
        let again = observe(&mut k, &bond)?;
        if again.fingerprint() != r.fingerprint() || !again.ready {
            stable = None;
            continue;
        }
        let mac = r.mac.map(|m| m.to_string()).unwrap_or_default();
        let started_mac = running.as_ref().map(|x| x.mac.clone());
        let action = match decide_dhcp(
            client.is_some(),
            running.is_some(),
            started_mac.as_deref(),
            &mac,
        ) {
            DhcpDecision::Nothing => "none",
            DhcpDecision::Keep => "kept",
            DhcpDecision::Start => {
                running = Some(spawn_client(bond_name, client.as_deref(), &argv, &r, stop)?);
                "started"
            }
            DhcpDecision::Reacquire => {
                // Every client reads the MAC when it starts (a renewal by signal keeps the
                // old one): restart it without releasing (a signal that runs no deconfigure
                // step: the address stays). With the stable client identifier the server hands back
                // the same address.
                if let Some(old) = running.take() {
                    stop_client(old);
                }
                running = Some(spawn_client(bond_name, client.as_deref(), &argv, &r, stop)?);
                crate::info!(
                    "{bond_name}: DHCP client was started with {}, bond now has {mac}: re-acquiring",
                    started_mac.as_deref().unwrap_or("?")
                );
                "reacquired"
            }
        };
        let overhead = since.elapsed().as_millis() as u64;
        record(&bond, &r, action, Some(overhead))?;
        last_reason.clear();
        decided = Some(r.fingerprint());
        crate::info!(
            "{bond_name}: settled on {} ({mac}), DHCP {action}, {overhead} ms after the last change",
            r.active.as_deref().unwrap_or(bond_name),
        );
    }
}

/// Starts the DHCP client as the job's child and records it (`hotbond status`, `down`).
fn spawn_client(
    bond_name: &str,
    client: Option<&dyn Client>,
    argv: &[String],
    on: &Readiness,
    stop: Signal,
) -> Result<Running> {
    let name = client.map(|c| c.name()).unwrap_or_default();
    let mac = on.mac.map(|m| m.to_string()).unwrap_or_default();
    let Some(program) = argv.first() else {
        anyhow::bail!("{bond_name}: no DHCP client command");
    };
    crate::info!("{bond_name}: run {}", argv.join(" "));
    let child = Command::new(program)
        .args(&argv[1..])
        .stdin(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start {program}"))?;
    state::write_dhcp(
        bond_name,
        &DhcpRecord {
            client: name.to_string(),
            mac: mac.clone(),
            pid: Some(child.id() as i32),
            updated_unix_ms: state::now_ms(),
        },
    )?;
    Ok(Running {
        child,
        index: on.index,
        mac,
        stop,
    })
}

/// Stops the client with its stop signal and reaps it; SIGKILL if it has not gone within 5 s.
fn stop_client(mut old: Running) {
    let pid = Pid::from_raw(old.child.id() as i32);
    let _ = kill(pid, old.stop);
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if !matches!(old.child.try_wait(), Ok(None)) {
            return;
        }
        service::wait_gone(pid.as_raw(), deadline - Instant::now());
    }
    let _ = old.child.kill();
    let _ = old.child.wait();
}

/// A client recorded by an earlier job that is still running (that job died without its
/// process group, e.g. killed alone): this job starts its own, and there must be one.
fn stop_stray_client(bond_name: &str) {
    let Some(rec) = state::read_dhcp(bond_name) else {
        return;
    };
    if let Some(pid) = rec.live_pid(bond_name) {
        crate::info!("{bond_name}: stopping the DHCP client an earlier job left ({pid})");
        let sig = dhcp::client_by_name(&rec.client)
            .map(|c| c.restart_signal())
            .unwrap_or(Signal::SIGKILL);
        let _ = kill(Pid::from_raw(pid), sig);
        service::wait_gone(pid, Duration::from_secs(5));
        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
    }
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

/// Releases the lease (for `hotbond down`): the client must be running for most clients.
pub fn release_dhcp(bond: &Bond) -> Result<()> {
    let name = bond.name.as_str();
    let Some(rec) = state::read_dhcp(name) else {
        return Ok(());
    };
    let Some(client) = dhcp::client_by_name(&rec.client) else {
        return Ok(());
    };
    let opts = dhcp::options(bond)?;
    let pid = rec.live_pid(name);
    if pid.is_none() {
        crate::info!("{name}: no DHCP client running, nothing to release");
        return Ok(());
    }
    crate::info!("{name}: releasing the {} lease", rec.client);
    client.release(&opts, pid)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(name: &str, mac: u8, oper: &str) -> Link {
        Link {
            index: 1,
            name: name.into(),
            mac: Some(Mac([2, 0, 0, 0, 0, mac])),
            up: true,
            oper: oper.into(),
            carrier: oper == "up",
            master: None,
            kind: None,
        }
    }

    #[test]
    fn not_ready_without_active_slave() {
        let r = assess(&Kind::Bond, Some(&link("bond0", 1, "down")), None);
        assert!(!r.ready);
        assert!(r.reason.contains("no active slave"));
    }

    #[test]
    fn wifi_associated_but_not_authorised_is_not_ready() {
        let r = assess(
            &Kind::Bond,
            Some(&link("bond0", 7, "up")),
            Some(&link("wlan0", 7, "dormant")),
        );
        assert!(!r.ready, "{r:?}");
    }

    #[test]
    fn mac_must_match_the_active_slave() {
        let r = assess(
            &Kind::Bond,
            Some(&link("bond0", 1, "up")),
            Some(&link("wlan0", 7, "up")),
        );
        assert!(!r.ready);
        let r = assess(
            &Kind::Bond,
            Some(&link("bond0", 7, "up")),
            Some(&link("wlan0", 7, "up")),
        );
        assert!(r.ready);
        assert_eq!(r.active.as_deref(), Some("wlan0"));
    }

    #[test]
    fn a_bond_made_again_is_a_new_fingerprint() {
        // Same slave, same MAC, but another interface: its client must be a new one.
        let mut first = link("bond0", 7, "up");
        first.index = 4;
        let mut again = first.clone();
        again.index = 9;
        let wlan = link("wlan0", 7, "up");
        let a = assess(&Kind::Bond, Some(&first), Some(&wlan));
        let b = assess(&Kind::Bond, Some(&again), Some(&wlan));
        assert!(a.ready && b.ready);
        assert_eq!(a.index, Some(4));
        assert_ne!(a.fingerprint(), b.fingerprint());
    }

    #[test]
    fn dhcp_decisions() {
        use DhcpDecision::*;
        assert_eq!(decide_dhcp(false, false, None, "a"), Nothing);
        assert_eq!(decide_dhcp(true, false, Some("a"), "a"), Start);
        assert_eq!(decide_dhcp(true, true, Some("a"), "a"), Keep);
        assert_eq!(decide_dhcp(true, true, Some("a"), "b"), Reacquire);
        assert_eq!(decide_dhcp(true, true, None, "b"), Reacquire);
    }
}
