//! Decisions: given an event and what was observed of the kernel, which actions to take.
//! Pure: no I/O here, so every decision is unit-tested without a kernel.

use std::fmt;

use serde::Serialize;

use crate::config::{Bond, Config, DeviceFacts, IpNet, Kind, Route, Supplicant};
use crate::kernel::Link;

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
    /// Ask for the settle/DHCP job on the bond (it decides, once the MAC has settled).
    Settle {
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
            Action::Settle { bond } => write!(f, "ask for the settle/DHCP job on {bond}"),
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
                let mut actions = match &obs.master {
                    Some(m) => {
                        let mut a = Vec::new();
                        if !m.link.up {
                            a.push(Action::LinkUp {
                                iface: bname.clone(),
                            });
                        }
                        a.extend(static_config(bond, &m.addresses));
                        a
                    }
                    None => Vec::new(),
                };
                if obs.master.is_none() {
                    return Plan::nothing(format!(
                        "{iface}: gone again before it could be configured"
                    ));
                }
                actions.push(Action::Settle { bond: bname });
                Plan {
                    reason: format!("{iface} appeared: apply its static configuration"),
                    actions,
                }
            }
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
