//! `hotbond status`: what a person needs to see at a glance, and the same as JSON.

use std::fmt::Write as _;

use anyhow::Result;
use serde::Serialize;

use crate::config::{Bond, Config, Kind};
use crate::kernel::{self, BondMode, FailOverMac, Kernel, OperState};
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
    let active = if is_bond {
        kernel::bond_active_slave(name)
    } else {
        None
    };
    let mut slaves = Vec::new();
    if link.is_some() {
        let names = if is_bond {
            kernel::bond_slaves(name)
        } else {
            kernel::lower_links(name)
        };
        for s in names {
            let Some(l) = k.link(&s)? else { continue };
            let facts = kernel::device_facts(&s, l.mac);
            let sup = cfg
                .bond_for(&facts)
                .and_then(|(b, _)| b.supplicant_for(&facts).cloned())
                .and_then(|sp| supplicant::status(&supplicant::ctrl_dir(&sp), &s).ok())
                .and_then(|st| st.get("wpa_state").cloned());
            slaves.push(SlaveStatus {
                active: active.as_deref() == Some(s.as_str()),
                oper: l.oper,
                carrier: l.carrier,
                mac: l.mac.map(|m| m.to_string()),
                supplicant: sup,
                name: s,
            });
        }
    }
    let mac = link.as_ref().and_then(|l| l.mac).map(|m| m.to_string());
    let addresses = match &link {
        Some(l) => k
            .addresses(l.index)?
            .iter()
            .map(|a| a.to_string())
            .collect(),
        None => Vec::new(),
    };
    let dhcp = state::read_dhcp(name).map(|d| {
        let pid = d.live_pid(name);
        DhcpStatus {
            running: pid.is_some(),
            pid,
            mac_current: Some(&d.mac) == mac.as_ref(),
            started_with_mac: d.mac,
            client: d.client,
        }
    });
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
        mode: if is_bond {
            kernel::bond_mode(name)
        } else {
            None
        },
        fail_over_mac: if is_bond {
            kernel::bond_fail_over_mac(name)
        } else {
            None
        },
        primary: if is_bond {
            kernel::bond_primary(name)
        } else {
            None
        },
        configured_primary: bond.primary.as_ref().map(|p| p.to_string()),
        oper: link.as_ref().map(|l| l.oper),
        active_slave: active,
        mac,
        addresses,
        slaves,
        dhcp,
        settled,
        settle,
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
    let _ = writeln!(
        o,
        "{}: {} {}, MAC {}, {}",
        s.bond,
        match s.kind {
            Kind::Bond => "bond",
            Kind::Bridge => "bridge",
        },
        s.mode.map(|m| m.to_string()).unwrap_or_default(),
        s.mac.as_deref().unwrap_or("-"),
        s.oper.map(|o| o.to_string()).as_deref().unwrap_or("?")
    );
    if s.mode.is_some() {
        let _ = writeln!(
            o,
            "  active slave: {}   primary: {}   fail_over_mac: {}",
            s.active_slave.as_deref().unwrap_or("(none)"),
            match (&s.primary, &s.configured_primary) {
                (Some(p), _) => p.clone(),
                (None, Some(c)) => format!("{c} (not present)"),
                (None, None) => "(none)".into(),
            },
            s.fail_over_mac
                .map(|f| f.to_string())
                .as_deref()
                .unwrap_or("?")
        );
    }
    let _ = writeln!(
        o,
        "  addresses: {}",
        if s.addresses.is_empty() {
            "(none)".to_string()
        } else {
            s.addresses.join(" ")
        }
    );
    for sl in &s.slaves {
        let _ = writeln!(
            o,
            "  {} {:<10} {:<8} MAC {}{}",
            if sl.active { "*" } else { " " },
            sl.name,
            sl.oper,
            sl.mac.as_deref().unwrap_or("-"),
            sl.supplicant
                .as_deref()
                .map(|w| format!("  wpa: {w}"))
                .unwrap_or_default()
        );
    }
    match &s.dhcp {
        Some(d) => {
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
        }
        None => {
            let _ = writeln!(o, "  dhcp: not started");
        }
    }
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
