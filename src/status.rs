//! `hotbond status`: what a person needs to see at a glance, and the same as JSON.

use std::fmt::Write as _;
use std::net::Ipv4Addr;

use anyhow::Result;
use serde::Serialize;

use crate::config::{Bond, Config, Kind};
use crate::dhcp::builtin::State;
use crate::kernel::{self, BondMode, FailOverMac, Kernel, OperState, Rfkill};
use crate::state::{self, BondRecord};
use crate::supplicant;

#[derive(Debug, Serialize)]
pub struct SlaveStatus {
    pub name: String,
    pub active: bool,
    pub oper: OperState,
    pub carrier: bool,
    pub mac: Option<String>,
    /// wpa_supplicant's `wpa_state`, when one runs on this slave.
    pub supplicant: Option<String>,
    /// The rfkill switches of its radio (None: no radio, or no switch).
    pub radio: Option<Rfkill>,
    /// Set down by the bond's job: it passed no traffic after a resume.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub set_aside: Option<SetAside>,
}

/// Why and since when a slave is out of service, while it is still down.
#[derive(Debug, Serialize)]
pub struct SetAside {
    pub reason: String,
    pub since_s: u64,
}

impl SetAside {
    /// The record of `slave`, if it is still down as the job left it.
    fn of(slave: &str, up: bool, now_ms: u64) -> Option<SetAside> {
        let r = state::read_aside(slave).filter(|_| !up)?;
        Some(SetAside {
            reason: r.reason,
            since_s: now_ms.saturating_sub(r.since_unix_ms) / 1000,
        })
    }
}

/// A NIC of the bond, present, that cannot join because its radio is switched off.
#[derive(Debug, Serialize)]
pub struct BlockedNic {
    pub name: String,
    pub radio: Rfkill,
}

#[derive(Debug, Serialize)]
pub struct DhcpStatus {
    pub client: String,
    pub running: bool,
    pub pid: Option<i32>,
    /// The bond MAC the client was started with (or last re-read).
    pub started_with_mac: String,
    /// False means the client speaks for a MAC the bond no longer has.
    pub mac_current: bool,
    /// The built-in client's state and lease (absent for the external clients).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub builtin: Option<BuiltinStatus>,
}

/// Where the built-in client stands; times left in seconds from now.
#[derive(Debug, Serialize)]
pub struct BuiltinStatus {
    /// RFC 2131's name: "BOUND", "RENEWING", "REBINDING", "REBOOTING", "SELECTING", ...
    pub state: State,
    pub address: Option<String>,
    pub server: Option<Ipv4Addr>,
    /// The MAC the lease was granted to.
    pub lease_mac: Option<String>,
    pub lease_left_s: Option<u64>,
    pub t1_left_s: Option<u64>,
    pub t2_left_s: Option<u64>,
}

impl BuiltinStatus {
    fn from_record(r: state::BuiltinRecord, now_ms: u64) -> BuiltinStatus {
        let left = |at: Option<u64>| at.map(|t| t.saturating_sub(now_ms) / 1000);
        BuiltinStatus {
            state: r.state,
            address: r.address,
            server: r.server,
            lease_mac: r.lease_mac,
            lease_left_s: left(r.expires_unix_ms),
            t1_left_s: left(r.renew_unix_ms),
            t2_left_s: left(r.rebind_unix_ms),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct BondStatus {
    pub bond: String,
    pub kind: Kind,
    pub exists: bool,
    #[serde(serialize_with = "display")]
    pub mode: Option<BondMode>,
    #[serde(serialize_with = "display")]
    pub fail_over_mac: Option<FailOverMac>,
    /// The primary as the kernel reports it: only while that interface is a slave.
    pub primary: Option<String>,
    /// The primary the configuration names (the kernel keeps it by name while it is absent).
    pub configured_primary: Option<String>,
    pub active_slave: Option<String>,
    pub mac: Option<String>,
    pub oper: Option<OperState>,
    pub addresses: Vec<String>,
    pub slaves: Vec<SlaveStatus>,
    /// NICs of this bond that are present but not slaves, their radio switched off.
    pub blocked: Vec<BlockedNic>,
    pub dhcp: Option<DhcpStatus>,
    pub settled: bool,
    pub settle: Option<BondRecord>,
}

/// A kernel value in JSON as it reads in sysfs ("active-backup").
fn display<T: std::fmt::Display, S: serde::Serializer>(
    v: &Option<T>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => s.collect_str(v),
        None => s.serialize_none(),
    }
}

pub fn bond_status(k: &mut Kernel, cfg: &Config, bond: &Bond) -> Result<BondStatus> {
    let name = bond.name.as_str();
    let link = k.link(name)?;
    let is_bond = matches!(bond.kind, Kind::Bond);
    let active = is_bond.then(|| kernel::bond_active_slave(name)).flatten();
    let slaves = match link {
        Some(_) => slaves_status(k, cfg, bond, active.as_deref())?,
        None => Vec::new(),
    };
    let blocked = match link {
        Some(_) => blocked_nics(k, cfg, bond, &slaves)?,
        None => Vec::new(),
    };
    let mac = link.as_ref().and_then(|l| l.mac).map(|m| m.to_string());
    let addresses = match &link {
        Some(l) => k
            .addresses(l.index)?
            .iter()
            .map(|a| a.to_string())
            .collect(),
        None => Vec::new(),
    };
    let dhcp = dhcp_status(name, mac.as_ref());
    let settle = state::read_bond(name);
    // Settled means: the job's last word was "settled" on what is still there, and the
    // master is ready now (a bridge that lost its ports since is not).
    let now = crate::settle::readiness(k, bond)?;
    let settled = now.ready
        && settle.as_ref().is_some_and(|r| {
            r.settled && r.mac == mac && r.active_slave == active.clone().filter(|_| is_bond)
        });
    Ok(BondStatus {
        bond: name.to_string(),
        kind: bond.kind.clone(),
        exists: link.is_some(),
        mode: is_bond.then(|| kernel::bond_mode(name)).flatten(),
        fail_over_mac: is_bond.then(|| kernel::bond_fail_over_mac(name)).flatten(),
        primary: is_bond.then(|| kernel::bond_primary(name)).flatten(),
        configured_primary: bond.primary.as_ref().map(|p| p.to_string()),
        oper: link.as_ref().map(|l| l.oper),
        active_slave: active,
        mac,
        addresses,
        slaves,
        blocked,
        dhcp,
        settled,
        settle,
    })
}

/// Wi-Fi NICs present that the configuration puts in `bond`, not enslaved, radio off.
fn blocked_nics(
    k: &mut Kernel,
    cfg: &Config,
    bond: &Bond,
    slaves: &[SlaveStatus],
) -> Result<Vec<BlockedNic>> {
    let mut out = Vec::new();
    for l in k.links()? {
        if slaves.iter().any(|s| s.name == l.name) {
            continue;
        }
        let facts = kernel::device_facts(&l.name, l.mac);
        let ours = cfg
            .bond_for(&facts)
            .is_some_and(|(b, _)| b.name == bond.name);
        match kernel::radio_rfkill(&l.name) {
            Some(radio) if ours && radio.blocked() => out.push(BlockedNic {
                name: l.name,
                radio,
            }),
            _ => {}
        }
    }
    Ok(out)
}

/// The master's slaves (a bond) or ports (a bridge) as they are now.
fn slaves_status(
    k: &mut Kernel,
    cfg: &Config,
    bond: &Bond,
    active: Option<&str>,
) -> Result<Vec<SlaveStatus>> {
    let name = bond.name.as_str();
    let names = match bond.kind {
        Kind::Bond => kernel::bond_slaves(name),
        Kind::Bridge => kernel::lower_links(name),
    };
    let mut slaves = Vec::new();
    for s in names {
        let Some(l) = k.link(&s)? else { continue };
        let facts = kernel::device_facts(&s, l.mac);
        let sup = cfg
            .bond_for(&facts)
            .and_then(|(b, _)| b.supplicant_for(&facts).cloned())
            .and_then(|sp| supplicant::status(&supplicant::ctrl_dir(&sp), &s).ok())
            .and_then(|st| st.get("wpa_state").cloned());
        slaves.push(SlaveStatus {
            active: active == Some(s.as_str()),
            oper: l.oper,
            carrier: l.carrier,
            mac: l.mac.map(|m| m.to_string()),
            supplicant: sup,
            radio: kernel::radio_rfkill(&s),
            set_aside: SetAside::of(&s, l.up, state::now_ms()),
            name: s,
        });
    }
    Ok(slaves)
}

fn dhcp_status(bond: &str, mac: Option<&String>) -> Option<DhcpStatus> {
    state::read_dhcp(bond).map(|d| {
        let pid = d.seems_live_pid();
        DhcpStatus {
            builtin: d
                .builtin
                .map(|b| BuiltinStatus::from_record(b, state::now_ms())),
            running: pid.is_some(),
            pid,
            mac_current: Some(&d.mac) == mac,
            started_with_mac: d.mac,
            client: d.client,
        }
    })
}

pub fn render(s: &BondStatus) -> String {
    let mut o = String::new();
    if !s.exists {
        let _ = writeln!(
            o,
            "{}: does not exist (no configured interface present yet)",
            s.bond
        );
        return o;
    }
    render_master(&mut o, s);
    render_slaves(&mut o, s);
    render_dhcp(&mut o, s.dhcp.as_ref());
    let _ = writeln!(
        o,
        "  settled: {}{}",
        if s.settled { "yes" } else { "no" },
        s.settle
            .as_ref()
            .map(|r| format!(" ({}; DHCP {})", r.reason, r.dhcp_action))
            .unwrap_or_default()
    );
    o
}

/// One line per slave (`*` the active one), then the NICs kept out by their radio switch.
fn render_slaves(o: &mut String, s: &BondStatus) {
    for sl in &s.slaves {
        let radio = sl.radio.filter(Rfkill::blocked);
        let _ = writeln!(
            o,
            "  {} {:<10} {:<8} MAC {}{}{}",
            if sl.active { "*" } else { " " },
            sl.name,
            sl.oper,
            sl.mac.as_deref().unwrap_or("-"),
            sl.supplicant
                .as_deref()
                .map(|w| format!("  wpa: {w}"))
                .unwrap_or_default(),
            radio.map(|r| format!("  radio {r}")).unwrap_or_default()
        );
        if let Some(a) = &sl.set_aside {
            let _ = writeln!(
                o,
                "    {:<10} set aside (down) {} s ago: {}; replug it or run `hotbond replay {}`",
                "", a.since_s, a.reason, sl.name
            );
        }
    }
    for b in &s.blocked {
        let _ = writeln!(
            o,
            "    {:<10} radio {}: joins once switched on",
            b.name, b.radio
        );
    }
}

/// The master's own lines: kind, mode, MAC, state; slaves and primary; addresses.
fn render_master(o: &mut String, s: &BondStatus) {
    let kind = match s.kind {
        Kind::Bond => "bond",
        Kind::Bridge => "bridge",
    };
    let _ = writeln!(
        o,
        "{}: {kind} {}, MAC {}, {}",
        s.bond,
        s.mode.map(|m| m.to_string()).unwrap_or_default(),
        s.mac.as_deref().unwrap_or("-"),
        s.oper.map(|o| o.to_string()).as_deref().unwrap_or("?")
    );
    if s.mode.is_some() {
        let primary = match (&s.primary, &s.configured_primary) {
            (Some(p), _) => p.clone(),
            (None, Some(c)) => format!("{c} (not present)"),
            (None, None) => "(none)".into(),
        };
        let _ = writeln!(
            o,
            "  active slave: {}   primary: {primary}   fail_over_mac: {}",
            s.active_slave.as_deref().unwrap_or("(none)"),
            s.fail_over_mac
                .map(|f| f.to_string())
                .as_deref()
                .unwrap_or("?")
        );
    }
    let addresses = if s.addresses.is_empty() {
        "(none)".to_string()
    } else {
        s.addresses.join(" ")
    };
    let _ = writeln!(o, "  addresses: {addresses}");
}

fn render_dhcp(o: &mut String, d: Option<&DhcpStatus>) {
    let Some(d) = d else {
        let _ = writeln!(o, "  dhcp: not started");
        return;
    };
    let _ = writeln!(
        o,
        "  dhcp: {} {} (pid {}), started with MAC {}{}",
        d.client,
        if d.running { "running" } else { "not running" },
        d.pid.map(|p| p.to_string()).unwrap_or_else(|| "-".into()),
        d.started_with_mac,
        if d.mac_current {
            ""
        } else {
            "  <- not the bond's MAC now"
        }
    );
    if let Some(b) = &d.builtin {
        let secs = |s: Option<u64>| s.map_or_else(|| "-".to_string(), |s| format!("{s} s"));
        let _ = writeln!(
            o,
            "  lease: {} {} from {} for MAC {}, expires in {}, T1 in {}, T2 in {}",
            b.state,
            b.address.as_deref().unwrap_or("(none)"),
            b.server.map_or_else(|| "-".to_string(), |s| s.to_string()),
            b.lease_mac.as_deref().unwrap_or("-"),
            secs(b.lease_left_s),
            secs(b.t1_left_s),
            secs(b.t2_left_s),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_shows_what_a_person_checks_first() {
        let s = BondStatus {
            bond: "bond0".into(),
            kind: Kind::Bond,
            exists: true,
            mode: Some(BondMode::ActiveBackup),
            fail_over_mac: Some(FailOverMac::Active),
            primary: None,
            configured_primary: Some("eth1".into()),
            active_slave: Some("wlan0".into()),
            mac: Some("02:00:00:00:06:00".into()),
            oper: Some(OperState::Up),
            addresses: vec!["192.0.2.127/24".into()],
            slaves: vec![SlaveStatus {
                name: "wlan0".into(),
                active: true,
                oper: OperState::Up,
                carrier: true,
                mac: Some("02:00:00:00:06:00".into()),
                supplicant: Some("COMPLETED".into()),
                radio: Some(Rfkill::default()),
                set_aside: None,
            }],
            blocked: Vec::new(),
            dhcp: Some(DhcpStatus {
                client: "dhclient".into(),
                running: true,
                pid: Some(42),
                started_with_mac: "02:00:00:00:01:00".into(),
                mac_current: false,
                builtin: Some(BuiltinStatus {
                    state: State::Renewing,
                    address: Some("192.0.2.127/24".into()),
                    server: Some(Ipv4Addr::new(192, 0, 2, 1)),
                    lease_mac: Some("02:00:00:00:01:00".into()),
                    lease_left_s: Some(100),
                    t1_left_s: Some(0),
                    t2_left_s: Some(50),
                }),
            }),
            settled: false,
            settle: None,
        };
        let out = render(&s);
        assert!(
            out.contains("active slave: wlan0   primary: eth1 (not present)"),
            "{out}"
        );
        assert!(out.contains("addresses: 192.0.2.127/24"), "{out}");
        assert!(out.contains("* wlan0"), "{out}");
        assert!(out.contains("wpa: COMPLETED"), "{out}");
        assert!(out.contains("<- not the bond's MAC now"), "{out}");
        assert!(out.contains("settled: no"), "{out}");
        assert!(
            out.contains("lease: RENEWING 192.0.2.127/24 from 192.0.2.1 for MAC 02:00:00:00:01:00, expires in 100 s"),
            "{out}"
        );
    }

    #[test]
    fn render_says_which_radio_is_switched_off() {
        let off = Rfkill {
            soft: true,
            hard: false,
        };
        let s = BondStatus {
            bond: "bond0".into(),
            kind: Kind::Bond,
            exists: true,
            mode: Some(BondMode::ActiveBackup),
            fail_over_mac: Some(FailOverMac::Active),
            primary: Some("eth1".into()),
            configured_primary: Some("eth1".into()),
            active_slave: Some("eth1".into()),
            mac: Some("02:ee:00:00:00:01".into()),
            oper: Some(OperState::Up),
            addresses: Vec::new(),
            slaves: vec![
                SlaveStatus {
                    name: "eth1".into(),
                    active: true,
                    oper: OperState::Up,
                    carrier: true,
                    mac: Some("02:ee:00:00:00:01".into()),
                    supplicant: None,
                    radio: None,
                    set_aside: Some(SetAside {
                        reason: "eth1 passes no traffic after resume (gateway 192.0.2.1 did \
                                 not answer ARP); failing over to wlan0"
                            .into(),
                        since_s: 7,
                    }),
                },
                SlaveStatus {
                    name: "wlan0".into(),
                    active: false,
                    oper: OperState::Down,
                    carrier: false,
                    mac: Some("02:00:00:00:01:00".into()),
                    supplicant: Some("INTERFACE_DISABLED".into()),
                    radio: Some(off),
                    set_aside: None,
                },
            ],
            blocked: vec![BlockedNic {
                name: "wlan1".into(),
                radio: Rfkill {
                    soft: false,
                    hard: true,
                },
            }],
            dhcp: None,
            settled: true,
            settle: None,
        };
        let out = render(&s);
        let line = |name: &str| {
            out.lines()
                .find(|l| l.split_whitespace().any(|w| w == name))
                .unwrap_or_default()
                .to_string()
        };
        assert!(
            line("wlan0").ends_with("radio blocked by rfkill (soft)"),
            "{out}"
        );
        assert!(!line("eth1").contains("radio"), "{out}");
        assert!(
            out.contains(
                "set aside (down) 7 s ago: eth1 passes no traffic after resume \
                          (gateway 192.0.2.1 did not answer ARP); failing over to wlan0; \
                          replug it or run `hotbond replay eth1`"
            ),
            "{out}"
        );
        assert!(
            line("wlan1")
                .ends_with("radio blocked by rfkill (hard switch): joins once switched on"),
            "{out}"
        );
    }
}
