//! Shared test fixtures: a laptop's configuration, observed kernel states, and constructors
//! so that expected plans read like the plan.

use std::path::Path;

use super::{plan, Action, Event, MasterState, Observed, Plan};
use crate::config::Config;
use crate::kernel::{BondMode, FailOverMac, Link, OperState};
use crate::net::IfName;
use crate::net::{DeviceFacts, IpNet, Mac, Route};
use crate::service::Job;

/// A laptop's bond (wired primary, wireless with its own supplicant, a NIC by MAC) and
/// the seed's bridge master variant.
pub const TOML: &str = r#"
[[bond]]
name = "bond0"
primary = "enp3s0"
addresses = ["192.168.0.2/24", "fd00::2/64"]
routes = ["default via 192.168.0.1", "10.0.0.0/8 via 192.168.0.254 metric 50"]
[[bond.slave]]
name = "enp*"
[[bond.slave]]
name = "wlp*"
supplicant = { config = "/etc/wpa_supplicant/wlan.conf", driver = "nl80211,wext" }
[[bond.slave]]
mac = "68:a3:c4:ac:63:d1"
[[bond.slave]]
name = "wlx*"

[[bond]]
name = "br0"
kind = "bridge"
addresses = ["10.1.0.1/24"]
routes = ["10.2.0.0/16 via 10.1.0.254"]
[[bond.slave]]
name = "enx*"
"#;

pub const BOND_INDEX: u32 = 10;

pub fn cfg() -> Config {
    Config::from_toml_str(TOML, Path::new("test.toml")).expect("test config parses")
}

pub fn env_cfg(text: &str) -> Config {
    Config::from_env_str(text, Path::new("network.conf")).expect("env config parses")
}

/// An interface name, valid by construction in these tests.
pub fn i(s: &str) -> IfName {
    IfName::new(s).unwrap()
}

pub fn n(s: &str) -> IpNet {
    s.parse().unwrap()
}

pub fn r(s: &str) -> Route {
    s.parse().unwrap()
}

pub fn link(index: u32, name: &str, up: bool, master: Option<u32>) -> Link {
    Link {
        index,
        name: name.into(),
        mac: Some(Mac([2, 0, 0, 0, 0, index as u8])),
        up,
        oper: if up { OperState::Up } else { OperState::Down },
        carrier: up,
        master,
        kind: None,
    }
}

pub fn facts(name: &str, physical: bool, wireless: bool) -> DeviceFacts {
    DeviceFacts {
        name: name.into(),
        mac: Some(Mac([2, 0, 0, 0, 0, 1])),
        bus: None,
        physical,
        wireless,
    }
}

/// A bond as hotbond creates it: active-backup, fail_over_mac=active, primary set, up.
pub fn good_bond(slaves: &[&str], addresses: &[&str]) -> MasterState {
    MasterState {
        link: Link {
            kind: Some("bond".into()),
            ..link(BOND_INDEX, "bond0", true, None)
        },
        mode: Some(BondMode::ActiveBackup),
        fail_over_mac: Some(FailOverMac::Active),
        primary: Some("enp3s0".into()),
        slaves: slaves.iter().map(|s| i(s)).collect(),
        addresses: addresses.iter().map(|a| n(a)).collect(),
    }
}

pub fn bridge(up: bool, addresses: &[&str]) -> MasterState {
    MasterState {
        link: Link {
            kind: Some("bridge".into()),
            ..link(BOND_INDEX, "br0", up, None)
        },
        mode: None,
        fail_over_mac: None,
        primary: None,
        slaves: Vec::new(),
        addresses: addresses.iter().map(|a| n(a)).collect(),
    }
}

/// An interface that exists now, with its facts, and the master's state.
pub fn present(
    iface: Link,
    physical: bool,
    wireless: bool,
    master: Option<MasterState>,
    bonding_loaded: bool,
) -> Observed {
    Observed {
        facts: Some(facts(&iface.name, physical, wireless)),
        iface: Some(iface),
        master,
        recorded_bond: None,
        bonding_loaded,
        radio: None,
        supplicant_running: false,
    }
}

/// The plan's actions and the job it asks for.
pub fn decide(event: Event, cfg: &Config, obs: &Observed) -> (Vec<Action>, Option<Job>) {
    let p = plan(&event, cfg, obs);
    (p.actions, p.ensure_job)
}

pub fn actions(event: Event, cfg: &Config, obs: &Observed) -> Vec<Action> {
    plan(&event, cfg, obs).actions
}

/// Nothing to do at all: no actions, no job.
pub fn nothing() -> (Vec<Action>, Option<Job>) {
    (Vec::new(), None)
}

pub fn plan_of(p: Plan) -> (Vec<Action>, Option<Job>) {
    (p.actions, p.ensure_job)
}

pub fn add(s: &str) -> Event {
    Event::Add(i(s))
}

pub fn settle(b: &str) -> Option<Job> {
    Some(Job::Settle(i(b)))
}

pub fn create_bond(b: &str) -> Action {
    Action::CreateBond {
        name: i(b),
        options: Default::default(),
    }
}
pub fn primary(b: &str, p: &str) -> Action {
    Action::SetPrimary {
        bond: i(b),
        primary: i(p),
    }
}
/// The default `ipv6 = "stable"`, set on a master before it goes up.
pub fn ipv6(b: &str) -> Action {
    Action::SetIpv6 {
        bond: i(b),
        mode: crate::net::Ipv6Mode::Stable,
    }
}
pub fn up(s: &str) -> Action {
    Action::LinkUp { iface: i(s) }
}
pub fn addr(s: &str, a: &str) -> Action {
    Action::AddAddress {
        iface: i(s),
        address: n(a),
    }
}
pub fn route(s: &str, rt: &str) -> Action {
    Action::ReplaceRoute {
        iface: i(s),
        route: r(rt),
    }
}
pub fn enslave(s: &str, m: &str) -> Action {
    Action::Enslave {
        iface: i(s),
        master: i(m),
    }
}
pub fn record(s: &str, b: &str) -> Action {
    Action::RecordSlave {
        iface: i(s),
        bond: i(b),
    }
}
pub fn bond0_static() -> Vec<Action> {
    vec![
        addr("bond0", "192.168.0.2/24"),
        addr("bond0", "fd00::2/64"),
        route("bond0", "default via 192.168.0.1"),
        route("bond0", "10.0.0.0/8 via 192.168.0.254 metric 50"),
    ]
}
