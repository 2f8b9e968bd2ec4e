//! Decisions: given an event and what was observed of the kernel, which actions to take.
//! Pure: no I/O here, so every decision is unit-tested without a kernel.

use std::fmt;

use serde::Serialize;

use crate::config::{Bond, Config, Kind, Supplicant};
use crate::kernel::Link;
use crate::net::{DeviceFacts, IpNet, Route};

/// What happened, as the hooks report it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// udev `add` of a network interface (or `hotbond replay`).
    Add(String),
    /// udev `remove`: the device is already gone.
    Remove(String),
    /// wpa_supplicant authorised the link (`wpa_cli -a` CONNECTED).
    Connected(String),
    /// wpa_supplicant lost the link (`wpa_cli -a` DISCONNECTED).
    Disconnected(String),
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Add(i) => write!(f, "add {i}"),
            Event::Remove(i) => write!(f, "remove {i}"),
            Event::Connected(i) => write!(f, "{i} CONNECTED"),
            Event::Disconnected(i) => write!(f, "{i} DISCONNECTED"),
        }
    }
}

impl Event {
    pub fn iface(&self) -> &str {
        match self {
            Event::Add(i) | Event::Remove(i) | Event::Connected(i) | Event::Disconnected(i) => i,
        }
    }
}

/// The state of a bond (or bridge) master as observed before planning.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MasterState {
    pub link: Link,
    /// `bonding/mode` first word ("active-backup"), None for a bridge.
    pub mode: Option<String>,
    /// `bonding/fail_over_mac` first word ("active").
    pub fail_over_mac: Option<String>,
    pub primary: Option<String>,
    pub slaves: Vec<String>,
    pub addresses: Vec<IpNet>,
}

/// Everything the planner needs to know about the world.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Observed {
    /// The interface the event is about, if it exists now.
    pub iface: Option<Link>,
    pub facts: Option<DeviceFacts>,
    /// The master the interface belongs to per configuration, if it exists now.
    pub master: Option<MasterState>,
    /// Which bond the interface was enslaved to by a previous hook (for `remove`).
    pub recorded_bond: Option<String>,
    pub bonding_loaded: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    LoadBonding,
    CreateBond {
        bond: String,
    },
    /// A bond that exists with the wrong options and no slaves (e.g. made by `modprobe bonding`).
    SetBondOptions {
        bond: String,
    },
    CreateBridge {
        bridge: String,
    },
    SetPrimary {
        bond: String,
        primary: String,
    },
    LinkUp {
        iface: String,
    },
    /// down, flush addresses, set master, up: the seed's slave unit, as one undoable step.
    Enslave {
        iface: String,
        master: String,
    },
    AddAddress {
        iface: String,
        address: IpNet,
    },
    ReplaceRoute {
        iface: String,
        route: Route,
    },
    RecordSlave {
        iface: String,
        bond: String,
    },
    ForgetSlave {
        iface: String,
    },
    StartSupplicant {
        iface: String,
        supplicant: Supplicant,
    },
    StopSupplicant {
        iface: String,
    },
    /// Make sure the bond's job runs (it waits for the MAC to settle and runs DHCP).
    Settle {
        bond: String,
    },
    /// The master is gone: its settle job and DHCP client have nothing left to do.
    StopBondJobs {
        bond: String,
    },
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::LoadBonding => write!(f, "load the bonding driver"),
            Action::CreateBond { bond } => write!(
                f,
                "create bond {bond} (active-backup, fail_over_mac=active)"
            ),
            Action::SetBondOptions { bond } => write!(f, "set options of empty bond {bond}"),
            Action::CreateBridge { bridge } => write!(f, "create bridge {bridge}"),
            Action::SetPrimary { bond, primary } => write!(f, "set primary of {bond} to {primary}"),
            Action::LinkUp { iface } => write!(f, "set {iface} up"),
            Action::Enslave { iface, master } => {
                write!(f, "enslave {iface} to {master} (down, flush, master, up)")
            }
            Action::AddAddress { iface, address } => write!(f, "add address {address} to {iface}"),
            Action::ReplaceRoute { iface, route } => write!(f, "replace route {route} dev {iface}"),
            Action::RecordSlave { iface, bond } => write!(f, "record {iface} as a slave of {bond}"),
            Action::ForgetSlave { iface } => write!(f, "forget slave record of {iface}"),
            Action::StartSupplicant { iface, .. } => write!(f, "start wpa_supplicant on {iface}"),
            Action::StopSupplicant { iface } => write!(f, "stop wpa_supplicant on {iface}"),
            Action::Settle { bond } => write!(f, "make sure the job of {bond} runs (settle, DHCP)"),
            Action::StopBondJobs { bond } => {
                write!(f, "stop the settle job and DHCP client of {bond}")
            }
        }
    }
}

/// The outcome of planning: actions in order, and why (one line for the log).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub reason: String,
    pub actions: Vec<Action>,
}

impl Plan {
    fn nothing(reason: impl Into<String>) -> Plan {
        Plan {
            reason: reason.into(),
            actions: Vec::new(),
        }
    }
}

/// The bond an event's interface belongs to: by configuration, or (the device being gone)
/// by the record a previous hook left.
pub fn bond_of<'a>(event: &Event, cfg: &'a Config, obs: &Observed) -> Option<&'a Bond> {
    if let Some(b) = cfg.bond(event.iface()) {
        return Some(b);
    }
    if let Some(facts) = &obs.facts {
        if let Some((b, _)) = cfg.bond_for(facts) {
            return Some(b);
        }
    }
    obs.recorded_bond.as_deref().and_then(|b| cfg.bond(b))
}

/// Static addresses and routes of a master that are not there yet.
fn static_config(bond: &Bond, have: &[IpNet]) -> Vec<Action> {
    let mut out: Vec<Action> = bond
        .addresses
        .iter()
        .filter(|a| !have.contains(a))
        .map(|a| Action::AddAddress {
            iface: bond.name.to_string(),
            address: a.clone(),
        })
        .collect();
    // Routes need their gateway reachable: after the addresses, as the seed orders them.
    out.extend(bond.routes.iter().map(|r| Action::ReplaceRoute {
        iface: bond.name.to_string(),
        route: r.clone(),
    }));
    out
}

/// Actions that make the master exist, configured, and up.
fn ensure_master(bond: &Bond, obs: &Observed) -> Vec<Action> {
    let name = bond.name.to_string();
    let mut out = Vec::new();
    match (&bond.kind, &obs.master) {
        (Kind::Bond, None) => {
            if !obs.bonding_loaded {
                out.push(Action::LoadBonding);
            }
            out.push(Action::CreateBond { bond: name.clone() });
            if let Some(p) = &bond.primary {
                out.push(Action::SetPrimary {
                    bond: name.clone(),
                    primary: p.to_string(),
                });
            }
            out.push(Action::LinkUp { iface: name });
            out.extend(static_config(bond, &[]));
        }
        (Kind::Bridge, None) => {
            out.push(Action::CreateBridge {
                bridge: name.clone(),
            });
            out.push(Action::LinkUp { iface: name });
            out.extend(static_config(bond, &[]));
        }
        (Kind::Bond, Some(m)) => {
            let right_mode = m.mode.as_deref() == Some("active-backup")
                && m.fail_over_mac.as_deref() == Some("active");
            if !right_mode && m.slaves.is_empty() {
                out.push(Action::SetBondOptions { bond: name.clone() });
            }
            if let Some(p) = &bond.primary {
                if m.primary.as_deref() != Some(p.as_str()) {
                    out.push(Action::SetPrimary {
                        bond: name.clone(),
                        primary: p.to_string(),
                    });
                }
            }
            if !m.link.up {
                out.push(Action::LinkUp { iface: name });
            }
        }
        (Kind::Bridge, Some(m)) => {
            if !m.link.up {
                out.push(Action::LinkUp { iface: name });
            }
        }
    }
    out
}

/// The decision for one event.
pub fn plan(event: &Event, cfg: &Config, obs: &Observed) -> Plan {
    let iface = event.iface();
    let Some(bond) = bond_of(event, cfg, obs) else {
        return Plan::nothing(format!("{iface}: not part of any configured bond, ignored"));
    };
    let bname = bond.name.to_string();

    // Events about the master itself.
    if bond.name.as_str() == iface {
        return match event {
            Event::Add(_) => {
                let Some(m) = &obs.master else {
                    return Plan::nothing(format!(
                        "{iface}: gone again before it could be configured"
                    ));
                };
                let mut actions = Vec::new();
                if !m.link.up {
                    actions.push(Action::LinkUp {
                        iface: bname.clone(),
                    });
                }
                actions.extend(static_config(bond, &m.addresses));
                actions.push(Action::Settle { bond: bname });
                Plan {
                    reason: format!("{iface} appeared: apply its static configuration"),
                    actions,
                }
            }
            Event::Remove(_) => Plan {
                reason: format!("{iface} is gone"),
                actions: vec![Action::StopBondJobs { bond: bname }],
            },
            _ => Plan::nothing(format!("{iface}: the master itself, nothing to do")),
        };
    }

    match event {
        Event::Remove(_) => {
            let mut actions = vec![
                Action::StopSupplicant {
                    iface: iface.into(),
                },
                Action::ForgetSlave {
                    iface: iface.into(),
                },
            ];
            if obs.master.is_some() {
                actions.push(Action::Settle {
                    bond: bname.clone(),
                });
            }
            Plan {
                reason: format!("{iface} removed from {bname}: the active slave may have changed"),
                actions,
            }
        }
        // No bond (taken down meanwhile): nothing to wait for, and no job to start.
        Event::Disconnected(_) if obs.master.is_none() => Plan::nothing(format!(
            "{iface} lost its association; {bname} does not exist"
        )),
        Event::Disconnected(_) => Plan {
            reason: format!("{iface} lost its association: {bname} may fail over"),
            actions: vec![Action::Settle { bond: bname }],
        },
        Event::Add(_) | Event::Connected(_) => {
            let Some(link) = &obs.iface else {
                return Plan::nothing(format!(
                    "{iface}: no such interface (gone already?), nothing to do"
                ));
            };
            let mut actions = ensure_master(bond, obs);
            let master_index = obs.master.as_ref().map(|m| m.link.index);
            let enslaved_here = master_index.is_some() && link.master == master_index;
            if link.master.is_some() && !enslaved_here {
                return Plan::nothing(format!(
                    "{iface}: already enslaved to another master, left alone"
                ));
            }
            if !enslaved_here {
                actions.push(Action::Enslave {
                    iface: iface.into(),
                    master: bname.clone(),
                });
            } else if !link.up {
                actions.push(Action::LinkUp {
                    iface: iface.into(),
                });
            }
            actions.push(Action::RecordSlave {
                iface: iface.into(),
                bond: bname.clone(),
            });
            if matches!(event, Event::Add(_)) {
                if let Some(s) = supplicant_for(bond, obs) {
                    actions.push(Action::StartSupplicant {
                        iface: iface.into(),
                        supplicant: s,
                    });
                }
            }
            actions.push(Action::Settle {
                bond: bname.clone(),
            });
            let why = if matches!(event, Event::Connected(_)) {
                format!("{iface} authorised: make sure it is a slave of {bname}")
            } else if enslaved_here {
                format!("{iface} is already a slave of {bname}")
            } else {
                format!("{iface} belongs to {bname}")
            };
            Plan {
                reason: why,
                actions,
            }
        }
    }
}

/// The supplicant settings for the event's interface: its rule's, or the bond's default for
/// wireless devices.
fn supplicant_for(bond: &Bond, obs: &Observed) -> Option<Supplicant> {
    bond.supplicant_for(obs.facts.as_ref()?).cloned()
}

/// `hotbond up BOND`: the master, its options, its static configuration, then the settle job.
pub fn plan_up(bond: &Bond, obs: &Observed) -> Plan {
    let mut actions = ensure_master(bond, obs);
    if let Some(m) = &obs.master {
        actions.extend(static_config(bond, &m.addresses));
    }
    actions.push(Action::Settle {
        bond: bond.name.to_string(),
    });
    Plan {
        reason: format!("bring {} up", bond.name),
        actions,
    }
}

#[cfg(test)]
mod tests {
    //! The decisions, one scenario each: an event, a configuration and what was observed of
    //! the kernel in, the ordered actions out. No kernel, no files.

    use super::*;
    use crate::net::Mac;
    use std::path::{Path, PathBuf};

    /// A laptop's bond (wired primary, wireless with its own supplicant, a NIC by MAC) and
    /// the seed's bridge master variant.
    const TOML: &str = r#"
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

    const BOND_INDEX: u32 = 10;

    fn cfg() -> Config {
        Config::from_toml_str(TOML, Path::new("test.toml")).expect("test config parses")
    }

    fn env_cfg(text: &str) -> Config {
        Config::from_env_str(text, Path::new("network.conf")).expect("env config parses")
    }

    fn n(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    fn r(s: &str) -> Route {
        s.parse().unwrap()
    }

    fn link(index: u32, name: &str, up: bool, master: Option<u32>) -> Link {
        Link {
            index,
            name: name.into(),
            mac: Some(Mac([2, 0, 0, 0, 0, index as u8])),
            up,
            oper: if up { "up" } else { "down" }.into(),
            carrier: up,
            master,
            kind: None,
        }
    }

    fn facts(name: &str, physical: bool, wireless: bool) -> DeviceFacts {
        DeviceFacts {
            name: name.into(),
            mac: Some(Mac([2, 0, 0, 0, 0, 1])),
            bus: None,
            physical,
            wireless,
        }
    }

    /// A bond as hotbond creates it: active-backup, fail_over_mac=active, primary set, up.
    fn good_bond(slaves: &[&str], addresses: &[&str]) -> MasterState {
        MasterState {
            link: Link {
                kind: Some("bond".into()),
                ..link(BOND_INDEX, "bond0", true, None)
            },
            mode: Some("active-backup".into()),
            fail_over_mac: Some("active".into()),
            primary: Some("enp3s0".into()),
            slaves: slaves.iter().map(|s| s.to_string()).collect(),
            addresses: addresses.iter().map(|a| n(a)).collect(),
        }
    }

    fn bridge(up: bool, addresses: &[&str]) -> MasterState {
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
    fn present(
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
        }
    }

    fn actions(event: Event, cfg: &Config, obs: &Observed) -> Vec<Action> {
        plan(&event, cfg, obs).actions
    }

    fn add(i: &str) -> Event {
        Event::Add(i.into())
    }

    // Action constructors, so the expected lists read like the plan.
    fn create_bond(b: &str) -> Action {
        Action::CreateBond { bond: b.into() }
    }
    fn primary(b: &str, p: &str) -> Action {
        Action::SetPrimary {
            bond: b.into(),
            primary: p.into(),
        }
    }
    fn up(i: &str) -> Action {
        Action::LinkUp { iface: i.into() }
    }
    fn addr(i: &str, a: &str) -> Action {
        Action::AddAddress {
            iface: i.into(),
            address: n(a),
        }
    }
    fn route(i: &str, rt: &str) -> Action {
        Action::ReplaceRoute {
            iface: i.into(),
            route: r(rt),
        }
    }
    fn enslave(i: &str, m: &str) -> Action {
        Action::Enslave {
            iface: i.into(),
            master: m.into(),
        }
    }
    fn record(i: &str, b: &str) -> Action {
        Action::RecordSlave {
            iface: i.into(),
            bond: b.into(),
        }
    }
    fn settle(b: &str) -> Action {
        Action::Settle { bond: b.into() }
    }
    fn bond0_static() -> Vec<Action> {
        vec![
            addr("bond0", "192.168.0.2/24"),
            addr("bond0", "fd00::2/64"),
            route("bond0", "default via 192.168.0.1"),
            route("bond0", "10.0.0.0/8 via 192.168.0.254 metric 50"),
        ]
    }

    #[test]
    fn add_wired_without_bond_builds_everything_in_order() {
        let obs = present(link(3, "enp3s0", false, None), true, false, None, false);
        let mut want = vec![
            Action::LoadBonding,
            create_bond("bond0"),
            primary("bond0", "enp3s0"),
            up("bond0"),
        ];
        want.extend(bond0_static());
        want.extend([
            enslave("enp3s0", "bond0"),
            record("enp3s0", "bond0"),
            settle("bond0"),
        ]);
        assert_eq!(actions(add("enp3s0"), &cfg(), &obs), want);

        // The driver already loaded: no LoadBonding, the rest the same.
        let obs = Observed {
            bonding_loaded: true,
            ..obs
        };
        assert_eq!(actions(add("enp3s0"), &cfg(), &obs), want[1..].to_vec());
    }

    #[test]
    fn primary_is_set_by_name_even_when_another_slave_comes_first() {
        // The wireless NIC is plugged first: the primary is still the wired one, by name.
        let obs = present(link(4, "wlx001122", true, None), true, true, None, true);
        let got = actions(add("wlx001122"), &cfg(), &obs);
        assert_eq!(
            got[..3],
            [
                create_bond("bond0"),
                primary("bond0", "enp3s0"),
                up("bond0")
            ]
        );
        assert!(got.contains(&enslave("wlx001122", "bond0")));
        // A wireless device whose rule names no supplicant, in a TOML config without
        // auto_supplicant, gets none.
        assert!(
            !got.iter()
                .any(|a| matches!(a, Action::StartSupplicant { .. })),
            "{got:?}"
        );
    }

    #[test]
    fn add_wireless_starts_the_rules_supplicant() {
        let obs = present(
            link(5, "wlp2s0", true, None),
            true,
            true,
            Some(good_bond(&["enp3s0"], &["192.168.0.2/24", "fd00::2/64"])),
            true,
        );
        assert_eq!(
            actions(add("wlp2s0"), &cfg(), &obs),
            vec![
                enslave("wlp2s0", "bond0"),
                record("wlp2s0", "bond0"),
                Action::StartSupplicant {
                    iface: "wlp2s0".into(),
                    supplicant: Supplicant {
                        config: PathBuf::from("/etc/wpa_supplicant/wlan.conf"),
                        driver: "nl80211,wext".into(),
                    },
                },
                settle("bond0"),
            ]
        );
    }

    #[test]
    fn env_file_config_uses_the_seeds_supplicant_for_wireless_slaves() {
        let cfg = env_cfg("bond0PRIMARY='enp3s0'\nbond0ADDRS='192.168.0.2/24'\n");
        // Wireless, matched by the catch-all "any physical" rule: the seed's supplicant.
        let obs = present(link(5, "wlan0", true, None), true, true, None, true);
        let got = actions(add("wlan0"), &cfg, &obs);
        assert_eq!(
            got,
            vec![
                create_bond("bond0"),
                primary("bond0", "enp3s0"),
                up("bond0"),
                addr("bond0", "192.168.0.2/24"),
                enslave("wlan0", "bond0"),
                record("wlan0", "bond0"),
                Action::StartSupplicant {
                    iface: "wlan0".into(),
                    supplicant: Supplicant::classic_default(),
                },
                settle("bond0"),
            ]
        );
        // Wired: no supplicant.
        let obs = present(link(3, "enp3s0", true, None), true, false, None, true);
        let got = actions(add("enp3s0"), &cfg, &obs);
        assert!(got.contains(&enslave("enp3s0", "bond0")));
        assert!(!got
            .iter()
            .any(|a| matches!(a, Action::StartSupplicant { .. })));
        // A virtual device (veth, VLAN) is not "any physical": left alone.
        let obs = present(link(7, "veth0", true, None), false, false, None, true);
        assert_eq!(actions(add("veth0"), &cfg, &obs), vec![]);
    }

    #[test]
    fn add_of_an_already_enslaved_nic_is_idempotent() {
        let m = good_bond(&["enp3s0"], &["192.168.0.2/24", "fd00::2/64"]);
        let obs = present(
            link(3, "enp3s0", true, Some(BOND_INDEX)),
            true,
            false,
            Some(m.clone()),
            true,
        );
        assert_eq!(
            actions(add("enp3s0"), &cfg(), &obs),
            vec![record("enp3s0", "bond0"), settle("bond0")]
        );
        // Enslaved but set down by someone: just up again, no re-enslave.
        let obs = present(
            link(3, "enp3s0", false, Some(BOND_INDEX)),
            true,
            false,
            Some(m),
            true,
        );
        assert_eq!(
            actions(add("enp3s0"), &cfg(), &obs),
            vec![up("enp3s0"), record("enp3s0", "bond0"), settle("bond0")]
        );
    }

    #[test]
    fn add_of_an_interface_enslaved_elsewhere_is_left_alone() {
        // Another master (index 99) than the configured bond (index 10).
        let obs = present(
            link(3, "enp3s0", true, Some(99)),
            true,
            false,
            Some(good_bond(&[], &[])),
            true,
        );
        assert_eq!(actions(add("enp3s0"), &cfg(), &obs), vec![]);
        // And when the configured bond does not even exist: nothing is created for it.
        let obs = present(link(3, "enp3s0", true, Some(99)), true, false, None, false);
        assert_eq!(actions(add("enp3s0"), &cfg(), &obs), vec![]);
    }

    #[test]
    fn unconfigured_interfaces_get_no_actions() {
        let cfg = cfg();
        let obs = present(link(6, "eth7", true, None), true, false, None, false);
        assert_eq!(actions(add("eth7"), &cfg, &obs), vec![]);
        for ev in [
            Event::Remove("eth7".into()),
            Event::Connected("eth7".into()),
            Event::Disconnected("eth7".into()),
        ] {
            assert_eq!(actions(ev, &cfg, &obs), vec![], "eth7");
        }
        // The configured MAC, but on a virtual device (a VLAN on top of it): not a slave.
        let mut f = facts("eth7.5", false, false);
        f.mac = Some(Mac([0x68, 0xa3, 0xc4, 0xac, 0x63, 0xd1]));
        let obs = Observed {
            iface: Some(link(8, "eth7.5", true, None)),
            facts: Some(f.clone()),
            ..Default::default()
        };
        assert_eq!(actions(add("eth7.5"), &cfg, &obs), vec![]);
        // The same MAC on the physical device: it joins bond0.
        f.name = "eth8".into();
        f.physical = true;
        let obs = Observed {
            iface: Some(link(9, "eth8", true, None)),
            facts: Some(f),
            ..Default::default()
        };
        assert!(actions(add("eth8"), &cfg, &obs).contains(&enslave("eth8", "bond0")));
    }

    #[test]
    fn add_of_a_vanished_interface_does_nothing() {
        let obs = Observed {
            master: Some(good_bond(&[], &[])),
            bonding_loaded: true,
            recorded_bond: Some("bond0".into()),
            ..Default::default()
        };
        assert_eq!(actions(add("enp3s0"), &cfg(), &obs), vec![]);
        assert_eq!(
            actions(Event::Connected("enp3s0".into()), &cfg(), &obs),
            vec![]
        );
    }

    #[test]
    fn remove_stops_the_supplicant_and_settles_from_the_slave_record() {
        let stop = Action::StopSupplicant {
            iface: "wlp2s0".into(),
        };
        let forget = Action::ForgetSlave {
            iface: "wlp2s0".into(),
        };
        // The device is gone (no link, no facts): the record says which bond it was in.
        let obs = Observed {
            recorded_bond: Some("bond0".into()),
            master: Some(good_bond(&["enp3s0"], &[])),
            bonding_loaded: true,
            ..Default::default()
        };
        assert_eq!(
            actions(Event::Remove("wlp2s0".into()), &cfg(), &obs),
            vec![stop.clone(), forget.clone(), settle("bond0")]
        );
        // The bond is gone too: nothing to settle.
        let obs = Observed {
            master: None,
            ..obs
        };
        assert_eq!(
            actions(Event::Remove("wlp2s0".into()), &cfg(), &obs),
            vec![stop, forget]
        );
        // Never enslaved by hotbond (no record, no facts): nothing.
        assert_eq!(
            actions(Event::Remove("wlp2s0".into()), &cfg(), &Observed::default()),
            vec![]
        );
        // A record naming a bond that is no longer configured: nothing.
        let obs = Observed {
            recorded_bond: Some("bond9".into()),
            ..Default::default()
        };
        assert_eq!(
            actions(Event::Remove("wlp2s0".into()), &cfg(), &obs),
            vec![]
        );
    }

    #[test]
    fn connected_enslaves_without_starting_a_supplicant() {
        // The supplicant reports CONNECTED: it is running, so never StartSupplicant.
        let m = good_bond(&["enp3s0", "wlp2s0"], &["192.168.0.2/24", "fd00::2/64"]);
        let obs = present(
            link(5, "wlp2s0", true, Some(BOND_INDEX)),
            true,
            true,
            Some(m.clone()),
            true,
        );
        assert_eq!(
            actions(Event::Connected("wlp2s0".into()), &cfg(), &obs),
            vec![record("wlp2s0", "bond0"), settle("bond0")]
        );
        // Not (or no longer) enslaved: enslave it, still no supplicant.
        let obs = present(link(5, "wlp2s0", true, None), true, true, Some(m), true);
        assert_eq!(
            actions(Event::Connected("wlp2s0".into()), &cfg(), &obs),
            vec![
                enslave("wlp2s0", "bond0"),
                record("wlp2s0", "bond0"),
                settle("bond0")
            ]
        );
    }

    #[test]
    fn disconnected_only_asks_for_the_settle_job() {
        let obs = present(
            link(5, "wlp2s0", true, Some(BOND_INDEX)),
            true,
            true,
            Some(good_bond(&["wlp2s0"], &[])),
            true,
        );
        assert_eq!(
            actions(Event::Disconnected("wlp2s0".into()), &cfg(), &obs),
            vec![settle("bond0")]
        );
    }

    #[test]
    fn disconnected_after_the_bond_is_gone_starts_nothing() {
        // `hotbond down` stops the supplicant after deleting nothing yet, but its last
        // DISCONNECTED may run after the bond is gone: it must not start the bond's job again.
        let obs = present(link(5, "wlp2s0", true, None), true, true, None, true);
        assert_eq!(
            actions(Event::Disconnected("wlp2s0".into()), &cfg(), &obs),
            vec![]
        );
    }

    #[test]
    fn add_of_the_bond_itself_adds_only_missing_static_configuration() {
        let obs = Observed {
            iface: Some(link(BOND_INDEX, "bond0", true, None)),
            master: Some(good_bond(&[], &["192.168.0.2/24"])),
            bonding_loaded: true,
            ..Default::default()
        };
        assert_eq!(
            actions(add("bond0"), &cfg(), &obs),
            vec![
                addr("bond0", "fd00::2/64"),
                route("bond0", "default via 192.168.0.1"),
                route("bond0", "10.0.0.0/8 via 192.168.0.254 metric 50"),
                settle("bond0"),
            ]
        );
        // Down: up first, then everything missing.
        let mut m = good_bond(&[], &[]);
        m.link.up = false;
        let obs = Observed {
            master: Some(m),
            ..obs
        };
        let mut want = vec![up("bond0")];
        want.extend(bond0_static());
        want.push(settle("bond0"));
        assert_eq!(actions(add("bond0"), &cfg(), &obs), want);
        // Gone again before we looked: nothing.
        let obs = Observed {
            master: None,
            ..obs
        };
        assert_eq!(actions(add("bond0"), &cfg(), &obs), vec![]);
        // Its removal stops its jobs; other events about the master itself: nothing.
        let obs = Observed {
            master: Some(good_bond(&[], &[])),
            ..obs
        };
        assert_eq!(
            actions(Event::Remove("bond0".into()), &cfg(), &obs),
            vec![Action::StopBondJobs {
                bond: "bond0".into()
            }]
        );
        assert_eq!(
            actions(Event::Disconnected("bond0".into()), &cfg(), &obs),
            vec![]
        );
    }

    #[test]
    fn existing_empty_bond_with_wrong_mode_gets_its_options() {
        // What `modprobe bonding` makes by itself: balance-rr, fail_over_mac none, down.
        let wrong = MasterState {
            mode: Some("balance-rr".into()),
            fail_over_mac: Some("none".into()),
            primary: None,
            ..good_bond(&[], &[])
        };
        let mut wrong_down = wrong.clone();
        wrong_down.link.up = false;
        let obs = present(
            link(3, "enp3s0", true, None),
            true,
            false,
            Some(wrong_down),
            true,
        );
        assert_eq!(
            actions(add("enp3s0"), &cfg(), &obs),
            vec![
                Action::SetBondOptions {
                    bond: "bond0".into()
                },
                primary("bond0", "enp3s0"),
                up("bond0"),
                enslave("enp3s0", "bond0"),
                record("enp3s0", "bond0"),
                settle("bond0"),
            ]
        );
        // Right mode but fail_over_mac wrong: options too.
        let fom = MasterState {
            fail_over_mac: Some("none".into()),
            ..good_bond(&[], &[])
        };
        let obs = present(link(3, "enp3s0", true, None), true, false, Some(fom), true);
        assert_eq!(
            actions(add("enp3s0"), &cfg(), &obs)[0],
            Action::SetBondOptions {
                bond: "bond0".into()
            }
        );
        // With slaves the kernel refuses a mode change: not attempted.
        let busy = MasterState {
            slaves: vec!["wlp2s0".into()],
            ..wrong
        };
        let obs = present(link(3, "enp3s0", true, None), true, false, Some(busy), true);
        let got = actions(add("enp3s0"), &cfg(), &obs);
        assert!(
            !got.iter()
                .any(|a| matches!(a, Action::SetBondOptions { .. })),
            "{got:?}"
        );
        // A bond as hotbond makes it: neither options nor primary again.
        let obs = present(
            link(3, "enp3s0", true, None),
            true,
            false,
            Some(good_bond(&["wlp2s0"], &[])),
            true,
        );
        assert_eq!(
            actions(add("enp3s0"), &cfg(), &obs),
            vec![
                enslave("enp3s0", "bond0"),
                record("enp3s0", "bond0"),
                settle("bond0")
            ]
        );
    }

    #[test]
    fn bridge_kind_creates_a_bridge_and_never_a_primary() {
        let obs = present(link(4, "enx0011", false, None), true, false, None, false);
        assert_eq!(
            actions(add("enx0011"), &cfg(), &obs),
            vec![
                Action::CreateBridge {
                    bridge: "br0".into()
                },
                up("br0"),
                addr("br0", "10.1.0.1/24"),
                route("br0", "10.2.0.0/16 via 10.1.0.254"),
                enslave("enx0011", "br0"),
                record("enx0011", "br0"),
                settle("br0"),
            ]
        );
        // An existing bridge that is down: up, then enslave; no bonding actions at all.
        let obs = present(
            link(4, "enx0011", true, None),
            true,
            false,
            Some(bridge(false, &["10.1.0.1/24"])),
            false,
        );
        assert_eq!(
            actions(add("enx0011"), &cfg(), &obs),
            vec![
                up("br0"),
                enslave("enx0011", "br0"),
                record("enx0011", "br0"),
                settle("br0")
            ]
        );
        // The seed's env file: a master named *br* is a bridge, PRIMARY only orders rules.
        let cfg = env_cfg("br0PRIMARY='veth0'\nbr0ADDRS='10.1.0.1/24'\n");
        let obs = present(link(4, "veth0", true, None), false, false, None, false);
        assert_eq!(
            actions(add("veth0"), &cfg, &obs),
            vec![
                Action::CreateBridge {
                    bridge: "br0".into()
                },
                up("br0"),
                addr("br0", "10.1.0.1/24"),
                enslave("veth0", "br0"),
                record("veth0", "br0"),
                settle("br0"),
            ]
        );
    }

    #[test]
    fn plan_up_brings_back_the_master_and_its_static_configuration() {
        let cfg = cfg();
        let bond = cfg.bond("bond0").unwrap();
        let obs = Observed {
            bonding_loaded: false,
            ..Default::default()
        };
        let mut want = vec![
            Action::LoadBonding,
            create_bond("bond0"),
            primary("bond0", "enp3s0"),
            up("bond0"),
        ];
        want.extend(bond0_static());
        want.push(settle("bond0"));
        assert_eq!(plan_up(bond, &obs).actions, want);

        // It exists, as hotbond makes it, with one of its addresses: only what is missing.
        let obs = Observed {
            master: Some(good_bond(&["enp3s0"], &["fd00::2/64"])),
            bonding_loaded: true,
            ..Default::default()
        };
        assert_eq!(
            plan_up(bond, &obs).actions,
            vec![
                addr("bond0", "192.168.0.2/24"),
                route("bond0", "default via 192.168.0.1"),
                route("bond0", "10.0.0.0/8 via 192.168.0.254 metric 50"),
                settle("bond0"),
            ]
        );

        let br = cfg.bond("br0").unwrap();
        assert_eq!(
            plan_up(br, &Observed::default()).actions,
            vec![
                Action::CreateBridge {
                    bridge: "br0".into()
                },
                up("br0"),
                addr("br0", "10.1.0.1/24"),
                route("br0", "10.2.0.0/16 via 10.1.0.254"),
                settle("br0"),
            ]
        );
    }

    #[test]
    fn every_plan_has_a_reason() {
        let cfg = cfg();
        let obs = present(link(3, "enp3s0", true, None), true, false, None, true);
        for ev in [
            add("enp3s0"),
            Event::Remove("enp3s0".into()),
            Event::Connected("enp3s0".into()),
            Event::Disconnected("enp3s0".into()),
            add("eth9"),
        ] {
            let p = plan(&ev, &cfg, &obs);
            assert!(!p.reason.is_empty(), "{ev}");
            assert!(p.reason.contains(ev.iface()), "{ev}: {}", p.reason);
        }
    }
}
