//! The settle job (`hotbond-settle BOND`), which replaces the classic recipe's `sleep 8`.
//!
//! It sleeps on rtnetlink link events until the bond has an active slave that is
//! operationally up (for Wi-Fi: authorised by the supplicant, not merely associated), the
//! bond carries that slave's MAC, and nothing changed for a short debounce window. Then it
//! makes sure exactly one DHCP client runs on the bond with the current MAC.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::config::{Bond, Config, Kind};
use crate::dhcp;
use crate::kernel::{self, fmt_mac, Kernel, Link, LinkEvents};
use crate::lock;
use crate::service::{self, Job};
use crate::state::{self, BondRecord, DhcpRecord};

/// The active slave and the MAC: what must not change during the debounce window.
type Fingerprint = (Option<String>, Option<[u8; 6]>);

/// Is the master ready for DHCP? Pure, for tests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Readiness {
    pub ready: bool,
    pub active: Option<String>,
    pub mac: Option<[u8; 6]>,
    pub reason: String,
}

impl Readiness {
    fn not(reason: String) -> Readiness {
        Readiness {
            ready: false,
            active: None,
            mac: None,
            reason,
        }
    }

    /// What must stay the same for the debounce window.
    fn fingerprint(&self) -> Fingerprint {
        (self.active.clone(), self.mac)
    }
}

pub fn assess(kind: &Kind, master: Option<&Link>, active: Option<&Link>) -> Readiness {
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

/// The job's main loop. Returns when the bond is settled and DHCP is right, or on timeout.
pub fn run(bond_name: &str) -> Result<()> {
    crate::ifname::IfName::new(bond_name)?;
    let cfg = Config::load()?;
    let bond = cfg
        .bond(bond_name)
        .with_context(|| format!("{bond_name} is not a configured bond"))?
        .clone();
    // Debounce: long enough to coalesce one failover's burst of link events, short enough
    // to be invisible next to DHCP itself.
    let debounce = env_ms("HOTBOND_SETTLE_DEBOUNCE_MS", 20);
    let timeout = env_ms("HOTBOND_SETTLE_TIMEOUT_MS", 60_000);
    let mut events = LinkEvents::subscribe()?;
    let mut k = Kernel::open()?;
    let deadline = Instant::now() + timeout;
    let mut generation = state::generation(bond_name);
    let mut stable: Option<(Instant, Fingerprint)> = None;
    let mut recorded_wait = false;
    loop {
        let r = observe(&mut k, &bond)?;
        let now = Instant::now();
        if !r.ready {
            stable = None;
            if !recorded_wait {
                // So `hotbond status` can say what the job is waiting for.
                record(&bond, &r, "waiting", None)?;
                recorded_wait = true;
            }
            if now >= deadline {
                crate::info!("{bond_name}: not settled after {:?}: {}", timeout, r.reason);
                record(&bond, &r, "none", None)?;
                return Ok(());
            }
            crate::debug!("{bond_name}: waiting: {}", r.reason);
            events.wait(deadline)?;
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
            events.wait(since + debounce)?;
            continue;
        }
        // Settled. Act under the bond's lock so no hook interleaves with the DHCP change.
        let _guard = lock::lock_bond(bond_name)?;
        let again = observe(&mut k, &bond)?;
        if again.fingerprint() != r.fingerprint() || !again.ready {
            stable = None;
            continue;
        }
        let action = dhcp_step(&bond, &r)?;
        let overhead = since.elapsed().as_millis() as u64;
        record(&bond, &r, action, Some(overhead))?;
        crate::info!(
            "{bond_name}: settled on {} ({}), DHCP {action}, {overhead} ms after the last change",
            r.active.as_deref().unwrap_or(bond_name),
            r.mac.map(|m| fmt_mac(&m)).unwrap_or_default()
        );
        // A hook asked again while we worked: look again rather than miss its event.
        let g = state::generation(bond_name);
        if g == generation {
            return Ok(());
        }
        generation = g;
        stable = None;
    }
}

fn dhcp_step(bond: &Bond, r: &Readiness) -> Result<&'static str> {
    let name = bond.name.as_str();
    let mac = r.mac.map(|m| fmt_mac(&m)).unwrap_or_default();
    let client = dhcp::client_for(&bond.dhcp.client)?;
    let job = Job::Dhcp(name.to_string());
    let rec = state::read_dhcp(name);
    let running = client.is_some() && rec.as_ref().and_then(|d| d.live_pid()).is_some();
    let started_mac = rec.as_ref().map(|d| d.mac.clone());
    match decide_dhcp(client.is_some(), running, started_mac.as_deref(), &mac) {
        DhcpDecision::Nothing => Ok("none"),
        DhcpDecision::Keep => Ok("kept"),
        DhcpDecision::Start => {
            service::start(&job)?;
            Ok("started")
        }
        DhcpDecision::Reacquire => {
            // Every client reads the MAC when it starts (a renewal by signal keeps the old
            // one): restart it without releasing. With the stable client identifier the
            // server hands back the same address. Not waiting: the new client records its
            // MAC itself when it starts.
            service::restart_nowait(&job)?;
            crate::info!(
                "{name}: DHCP client was started with {}, bond now has {mac}: re-acquiring",
                started_mac.as_deref().unwrap_or("?")
            );
            Ok("reacquired")
        }
    }
}

fn record(bond: &Bond, r: &Readiness, action: &str, overhead: Option<u64>) -> Result<()> {
    state::write_bond(&BondRecord {
        bond: bond.name.to_string(),
        settled: r.ready,
        active_slave: r.active.clone(),
        mac: r.mac.map(|m| fmt_mac(&m)),
        reason: r.reason.clone(),
        dhcp_action: action.to_string(),
        settle_overhead_ms: overhead,
        updated_unix_ms: state::now_ms(),
    })
}

/// `hotbond exec-dhcp BOND`: the DHCP job. Runs the client as its child and watches the
/// bond's link events while it runs: a failover that changes the bond's MAC without any
/// device coming or going (a cable pulled, a cable back in) raises no udev event, so this is
/// where hotbond learns of it. It then asks for the settle job, which restarts this job with
/// the new MAC once it has settled.
pub fn exec_dhcp(bond_name: &str) -> Result<()> {
    service::write_own_pid_file()?;
    crate::ifname::IfName::new(bond_name)?;
    let cfg = Config::load()?;
    let bond = cfg
        .bond(bond_name)
        .with_context(|| format!("{bond_name} is not a configured bond"))?;
    let client = dhcp::client_for(&bond.dhcp.client)?
        .with_context(|| format!("{bond_name} has no DHCP client configured"))?;
    let opts = dhcp::options(bond)?;
    let argv = client.command(&opts)?;
    // Subscribe before reading the MAC, so no change falls between the two.
    let mut events = LinkEvents::subscribe()?;
    let mut k = Kernel::open()?;
    let link = k
        .link(bond_name)?
        .with_context(|| format!("{bond_name} does not exist"))?;
    let started_mac = link.mac;
    crate::info!("{bond_name}: run {}", argv.join(" "));
    let mut child = std::process::Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(std::process::Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start {}", argv[0]))?;
    state::write_dhcp(
        bond_name,
        &DhcpRecord {
            client: client.name().to_string(),
            mac: started_mac.map(|m| fmt_mac(&m)).unwrap_or_default(),
            pid: Some(child.id() as i32),
            updated_unix_ms: state::now_ms(),
        },
    )?;
    let mut asked_for: Option<[u8; 6]> = None;
    loop {
        if let Some(st) = child.try_wait()? {
            use std::os::unix::process::ExitStatusExt;
            // Told to stop (a release by `hotbond down` sends SIGTERM, dhcpcd exits 0): the
            // job ends cleanly, so systemd does not start it again and take a new lease.
            if st.success() || st.signal() == Some(libc::SIGTERM) {
                crate::info!("{bond_name}: {} ended ({st})", argv[0]);
                return Ok(());
            }
            anyhow::bail!("{} exited ({st})", argv[0]);
        }
        // Wakes on a link event or when the client exits (its pidfd), never on a timer.
        events.wait_or_exit(child.id() as i32)?;
        let mac = match k.link(bond_name)? {
            Some(l) => l.mac,
            None => continue,
        };
        if mac != started_mac && mac != asked_for {
            crate::info!(
                "{bond_name}: MAC changed to {} under the running DHCP client: asking for the settle job",
                mac.map(|m| fmt_mac(&m)).unwrap_or_default()
            );
            state::bump_generation(bond_name)?;
            service::restart_nowait(&Job::Settle(bond_name.to_string()))?;
            asked_for = mac;
        }
    }
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
    let pid = rec.live_pid();
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
            mac: Some([2, 0, 0, 0, 0, mac]),
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
    fn dhcp_decisions() {
        use DhcpDecision::*;
        assert_eq!(decide_dhcp(false, false, None, "a"), Nothing);
        assert_eq!(decide_dhcp(true, false, Some("a"), "a"), Start);
        assert_eq!(decide_dhcp(true, true, Some("a"), "a"), Keep);
        assert_eq!(decide_dhcp(true, true, Some("a"), "b"), Reacquire);
        assert_eq!(decide_dhcp(true, true, None, "b"), Reacquire);
    }
}
