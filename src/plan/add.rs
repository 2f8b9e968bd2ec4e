//! The hotplug path: udev add/remove, wpa_cli CONNECTED/DISCONNECTED, and `hotbond up`.

use super::{Action, Event, Observed, Plan, Stop};
use crate::config::{Bond, Config, Kind};
use crate::kernel::{BondMode, FailOverMac};
use crate::net::IfName;
use crate::net::{IpNet, Ipv6Mode};
use crate::service::Job;

/// The bond an event's interface belongs to: by configuration, or (the device being gone)
/// by the record a previous hook left.
pub fn bond_of<'a>(event: &Event, cfg: &'a Config, obs: &Observed) -> Option<&'a Bond> {
    if let Some(b) = cfg.bond(event.iface().as_str()) {
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
            iface: bond.name.clone(),
            address: a.clone(),
        })
        .collect();
    // Routes need their gateway reachable: after the addresses, as the seed orders them.
    out.extend(bond.routes.iter().map(|r| Action::ReplaceRoute {
        iface: bond.name.clone(),
        route: r.clone(),
    }));
    out
}

/// What brings a master up: its IPv6 settings first (they die with the device, so a master
/// that goes up is one made since they were last set, and going up makes its first IPv6
/// addresses), then up.
fn master_up(bond: &Bond) -> Vec<Action> {
    let mut out = Vec::new();
    if bond.ipv6 != Ipv6Mode::Kernel {
        out.push(Action::SetIpv6 {
            bond: bond.name.clone(),
            mode: bond.ipv6,
        });
    }
    out.push(Action::LinkUp {
        iface: bond.name.clone(),
    });
    out
}

/// Actions that make the master exist, configured, and up.
fn ensure_master(bond: &Bond, obs: &Observed) -> Vec<Action> {
    let name = &bond.name;
    let set_primary = |p: &IfName| Action::SetPrimary {
        bond: name.clone(),
        primary: p.clone(),
    };
    let up = || master_up(bond);
    let mut out = Vec::new();
    match (&bond.kind, &obs.master) {
        (Kind::Bond, None) => {
            if !obs.bonding_loaded {
                out.push(Action::LoadBonding);
            }
            out.push(Action::CreateBond {
                name: name.clone(),
                options: bond.options,
            });
            out.extend(bond.primary.iter().map(set_primary));
            out.extend(up());
            out.extend(static_config(bond, &[]));
        }
        (Kind::Bridge, None) => {
            out.push(Action::CreateBridge { name: name.clone() });
            out.extend(up());
            out.extend(static_config(bond, &[]));
        }
        (Kind::Bond, Some(m)) => {
            let right_mode = m.mode == Some(BondMode::ActiveBackup)
                && m.fail_over_mac == Some(FailOverMac::Active);
            if !right_mode && m.slaves.is_empty() {
                out.push(Action::SetBondOptions {
                    name: name.clone(),
                    options: bond.options,
                });
            }
            if let Some(p) = &bond.primary {
                if m.primary.as_deref() != Some(p.as_str()) {
                    out.push(set_primary(p));
                }
            }
            if !m.link.up {
                out.extend(up());
            }
        }
        (Kind::Bridge, Some(m)) => {
            if !m.link.up {
                out.extend(up());
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
    if bond.name == *iface {
        return master_event(event, bond, obs);
    }
    let bname = &bond.name;
    match event {
        Event::Remove(_) => Plan {
            reason: format!("{iface} removed from {bname}: the active slave may have changed"),
            ensure_job: obs.master.as_ref().map(|_| Job::Settle(bname.clone())),
            actions: removed(iface, obs),
        },
        // No bond (taken down meanwhile): nothing to wait for, and no job to start.
        Event::Disconnected(_) if obs.master.is_none() => Plan::nothing(format!(
            "{iface} lost its association; {bname} does not exist"
        )),
        Event::Disconnected(_) => Plan {
            reason: format!("{iface} lost its association: {bname} may fail over"),
            ensure_job: Some(Job::Settle(bname.clone())),
            actions: Vec::new(),
        },
        // Switched off: the kernel set the NIC down, the bond fails over by itself, and the
        // supplicant waits; nothing is taken down, so switching on finds it all in place.
        Event::RadioChanged(_) if obs.radio_blocked() => Plan {
            reason: format!(
                "{iface}: radio {}: left as it is until it is switched on",
                obs.radio.unwrap_or_default()
            ),
            ensure_job: obs.master.as_ref().map(|_| Job::Settle(bname.clone())),
            actions: Vec::new(),
        },
        Event::Add(_) | Event::Connected(_) | Event::RadioChanged(_) => join(event, bond, obs),
    }
}

/// What a slave that is gone leaves to clean up: its supplicant, if one runs for it (a wired
/// NIC usually has none), and its record.
fn removed(iface: &IfName, obs: &Observed) -> Vec<Action> {
    let stop = obs.supplicant_running.then(|| Action::StopSupplicant {
        iface: iface.clone(),
        stop: Stop::Ask,
    });
    let forget = Action::ForgetSlave {
        iface: iface.clone(),
    };
    stop.into_iter().chain([forget]).collect()
}

/// Events about the master itself.
fn master_event(event: &Event, bond: &Bond, obs: &Observed) -> Plan {
    let iface = &bond.name;
    match event {
        Event::Add(_) => {
            let Some(m) = &obs.master else {
                return Plan::nothing(format!("{iface}: gone again before it could be configured"));
            };
            let mut actions = Vec::new();
            if !m.link.up {
                actions.extend(master_up(bond));
            }
            actions.extend(static_config(bond, &m.addresses));
            Plan {
                reason: format!("{iface} appeared: apply its static configuration"),
                ensure_job: Some(Job::Settle(iface.clone())),
                actions,
            }
        }
        Event::Remove(_) => Plan {
            reason: format!("{iface} is gone"),
            ensure_job: None,
            actions: vec![Action::StopBondJob {
                bond: iface.clone(),
                stop: Stop::Ask,
            }],
        },
        _ => Plan::nothing(format!("{iface}: the master itself, nothing to do")),
    }
}

/// add or CONNECTED of a slave: the master as configured, the slave in it.
fn join(event: &Event, bond: &Bond, obs: &Observed) -> Plan {
    let iface = event.iface();
    let bname = &bond.name;
    let Some(link) = &obs.iface else {
        return Plan::nothing(format!(
            "{iface}: no such interface (gone already?), nothing to do"
        ));
    };
    let mut actions = ensure_master(bond, obs);
    // A NIC whose radio is off cannot go up, so neither be enslaved: it joins when the radio
    // is switched on (its rfkill change event).
    if obs.radio_blocked() {
        return Plan {
            reason: format!(
                "{iface}: radio {}: joins {bname} once it is switched on",
                obs.radio.unwrap_or_default()
            ),
            ensure_job: Some(Job::Settle(bname.clone())),
            actions,
        };
    }
    let master_index = obs.master.as_ref().map(|m| m.link.index);
    let enslaved_here = master_index.is_some() && link.master == master_index;
    if link.master.is_some() && !enslaved_here {
        return Plan::nothing(format!(
            "{iface}: already enslaved to another master, left alone"
        ));
    }
    if !enslaved_here {
        actions.push(Action::Enslave {
            iface: iface.clone(),
            master: bname.clone(),
        });
    } else if !link.up {
        actions.push(Action::LinkUp {
            iface: iface.clone(),
        });
    }
    actions.push(Action::RecordSlave {
        iface: iface.clone(),
        bond: bname.clone(),
    });
    // CONNECTED comes from a running supplicant: never a second one. A radio switched on
    // may have come without one (plugged while switched off). An add replayed for a NIC
    // already at work (`udevadm trigger`) finds its supplicant running.
    let wants_supplicant = obs
        .facts
        .as_ref()
        .is_some_and(|f| bond.supplicant_for(f).is_some());
    if matches!(event, Event::Add(_) | Event::RadioChanged(_))
        && wants_supplicant
        && !obs.supplicant_running
    {
        actions.push(Action::StartSupplicant {
            iface: iface.clone(),
        });
    }
    let reason = if matches!(event, Event::Connected(_)) {
        format!("{iface} authorised: make sure it is a slave of {bname}")
    } else if matches!(event, Event::RadioChanged(_)) {
        format!("{iface}: radio switched on: make sure it is up in {bname}")
    } else if enslaved_here {
        format!("{iface} is already a slave of {bname}")
    } else {
        format!("{iface} belongs to {bname}")
    };
    Plan {
        reason,
        ensure_job: Some(Job::Settle(bname.clone())),
        actions,
    }
}

/// `hotbond up BOND`: the master, its options, its static configuration, then the settle job.
pub fn plan_up(bond: &Bond, obs: &Observed) -> Plan {
    let mut actions = ensure_master(bond, obs);
    if let Some(m) = &obs.master {
        actions.extend(static_config(bond, &m.addresses));
    }
    Plan {
        reason: format!("bring {} up", bond.name),
        ensure_job: Some(Job::Settle(bond.name.clone())),
        actions,
    }
}
