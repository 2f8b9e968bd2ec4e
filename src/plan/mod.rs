//! Decisions: given an event and what was observed of the kernel, which actions to take.
//! Pure: no I/O here, so every decision is unit-tested without a kernel.
//!
//! A [`Plan`] says everything that will be done: [`crate::apply`] carries out its actions as
//! they are written, and `--dry-run` prints the same lines, so nothing decides twice.

use std::fmt;

use crate::config::Bond;
use crate::kernel::{BondMode, FailOverMac, Link, Rfkill};
use crate::net::IfName;
use crate::net::{BondOptions, DeviceFacts, IpNet, Ipv6Mode, Route};
use crate::service::Job;

mod add;
pub mod carrier;
mod down;
#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_ipv6;
#[cfg(test)]
mod tests_radio;
pub mod traffic;

pub use add::{bond_of, plan, plan_up};
pub use down::plan_down;

/// What happened, as the hooks report it. The name was validated where it came in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// udev `add` of a network interface (or `hotbond replay`).
    Add(IfName),
    /// udev `remove`: the device is already gone.
    Remove(IfName),
    /// wpa_supplicant authorised the link (`wpa_cli -a` CONNECTED).
    Connected(IfName),
    /// wpa_supplicant lost the link (`wpa_cli -a` DISCONNECTED).
    Disconnected(IfName),
    /// udev `change` of an rfkill switch of this interface's radio: blocked or unblocked
    /// (the switch's state is observed, not taken from the event).
    RadioChanged(IfName),
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Add(i) => write!(f, "add {i}"),
            Event::Remove(i) => write!(f, "remove {i}"),
            Event::Connected(i) => write!(f, "{i} CONNECTED"),
            Event::Disconnected(i) => write!(f, "{i} DISCONNECTED"),
            Event::RadioChanged(i) => write!(f, "rfkill change of {i}"),
        }
    }
}

impl Event {
    pub fn iface(&self) -> &IfName {
        match self {
            Event::Add(i)
            | Event::Remove(i)
            | Event::Connected(i)
            | Event::Disconnected(i)
            | Event::RadioChanged(i) => i,
        }
    }
}

/// The state of a bond (or bridge) master as observed before planning.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MasterState {
    pub link: Link,
    /// `bonding/mode`, None for a bridge.
    pub mode: Option<BondMode>,
    /// `bonding/fail_over_mac`, None for a bridge.
    pub fail_over_mac: Option<FailOverMac>,
    pub primary: Option<String>,
    pub slaves: Vec<IfName>,
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
    /// The rfkill switches of the interface's radio; None for one without (wired NICs).
    pub radio: Option<Rfkill>,
    /// The interface's supplicant job runs (its pid file names the live job): it is not
    /// asked for again, and an interface without one has none to stop.
    pub supplicant_running: bool,
}

impl Observed {
    /// The interface's radio is switched off: it cannot go up, nor be enslaved.
    pub fn radio_blocked(&self) -> bool {
        self.radio.is_some_and(|r| r.blocked())
    }
}

/// How a job is stopped: hooks must return at once; `hotbond down` waits until it is gone
/// before it takes the network away under it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    Ask,
    AndWait,
}

/// One step, with everything [`crate::apply`] needs to carry it out.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    LoadBonding,
    CreateBond {
        name: IfName,
        options: BondOptions,
    },
    /// A bond that exists with the wrong options and no slaves (e.g. made by `modprobe bonding`).
    SetBondOptions {
        name: IfName,
        options: BondOptions,
    },
    CreateBridge {
        name: IfName,
    },
    SetPrimary {
        bond: IfName,
        primary: IfName,
    },
    /// The master's IPv6 addressing (`stable` or `off`; `kernel` needs no step). Before it
    /// goes up: these settings die with the device, and going up makes the first addresses.
    SetIpv6 {
        bond: IfName,
        mode: Ipv6Mode,
    },
    LinkUp {
        iface: IfName,
    },
    /// down, flush addresses, set master, up: the seed's slave unit, as one undoable step.
    Enslave {
        iface: IfName,
        master: IfName,
    },
    AddAddress {
        iface: IfName,
        address: IpNet,
    },
    ReplaceRoute {
        iface: IfName,
        route: Route,
    },
    RecordSlave {
        iface: IfName,
        bond: IfName,
    },
    ForgetSlave {
        iface: IfName,
    },
    /// The supplicant job reads its settings from the configuration when it starts (a unit
    /// instance carries only the interface's name).
    StartSupplicant {
        iface: IfName,
    },
    StopSupplicant {
        iface: IfName,
        stop: Stop,
    },
    /// Stops the bond's job, and with it its DHCP client (without releasing).
    StopBondJob {
        bond: IfName,
        stop: Stop,
    },
    /// Releases the lease of the bond's DHCP client, if one runs; a failure is only a warning
    /// (the server's lease then just expires). Carries the bond for its DHCP settings.
    ReleaseLease {
        bond: Box<Bond>,
    },
    DeleteRoute {
        iface: IfName,
        route: Route,
    },
    DeleteAddress {
        iface: IfName,
        address: IpNet,
    },
    /// Frees a slave (no master, up) if it still exists, and forgets its record.
    ReleaseSlave {
        iface: IfName,
        master: IfName,
    },
    DeleteLink {
        name: IfName,
    },
    /// Removes what the bond's job recorded (`/run/hotbond/BOND.json`, `BOND.dhcp.json`).
    ForgetBond {
        bond: IfName,
    },
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::LoadBonding => write!(f, "load the bonding driver"),
            Action::CreateBond { name, options } => {
                write!(f, "create bond {name} ({})", Options(options))
            }
            Action::SetBondOptions { name, options } => {
                write!(f, "set options of empty bond {name} ({})", Options(options))
            }
            Action::CreateBridge { name } => write!(f, "create bridge {name}"),
            Action::SetPrimary { bond, primary } => write!(f, "set primary of {bond} to {primary}"),
            Action::SetIpv6 { bond, mode } => match mode {
                Ipv6Mode::Stable => write!(
                    f,
                    "give {bond} stable-privacy IPv6 addresses (one per prefix across failover)"
                ),
                Ipv6Mode::Off => write!(f, "turn IPv6 off on {bond}"),
                Ipv6Mode::Kernel => write!(f, "leave IPv6 of {bond} to the kernel's defaults"),
            },
            Action::LinkUp { iface } => write!(f, "set {iface} up"),
            Action::Enslave { iface, master } => {
                write!(f, "enslave {iface} to {master} (down, flush, master, up)")
            }
            Action::AddAddress { iface, address } => write!(f, "add address {address} to {iface}"),
            Action::ReplaceRoute { iface, route } => write!(f, "replace route {route} dev {iface}"),
            Action::RecordSlave { iface, bond } => write!(f, "record {iface} as a slave of {bond}"),
            Action::ForgetSlave { iface } => write!(f, "forget slave record of {iface}"),
            Action::StartSupplicant { iface } => write!(f, "start wpa_supplicant on {iface}"),
            Action::StopSupplicant { iface, stop } => {
                write!(f, "stop wpa_supplicant on {iface}{stop}")
            }
            Action::StopBondJob { bond, stop } => {
                write!(f, "stop the settle job and DHCP client of {bond}{stop}")
            }
            Action::ReleaseLease { bond } => write!(
                f,
                "release the DHCP lease of {} (if its client runs)",
                bond.name
            ),
            Action::DeleteRoute { iface, route } => write!(f, "remove route {route} from {iface}"),
            Action::DeleteAddress { iface, address } => {
                write!(f, "remove address {address} from {iface}")
            }
            Action::ReleaseSlave { iface, master } => write!(f, "release {iface} from {master}"),
            Action::DeleteLink { name } => write!(f, "delete {name}"),
            Action::ForgetBond { bond } => write!(f, "forget the recorded state of {bond}"),
        }
    }
}

/// The bond's options as the kernel gets them, for the plan's lines.
struct Options<'a>(&'a BondOptions);

impl fmt::Display for Options<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = self.0;
        write!(
            f,
            "active-backup, fail_over_mac=active, miimon={}, updelay={}, downdelay={}, \
             primary_reselect={}",
            o.miimon,
            o.updelay,
            o.downdelay,
            o.primary_reselect.as_str()
        )
    }
}

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stop::Ask => Ok(()),
            Stop::AndWait => write!(f, " and wait until it is gone"),
        }
    }
}

/// The outcome of planning: the job to make sure of, actions in order, and why (one line for
/// the log).
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub reason: String,
    /// Asked for before the actions, so that systemd starts it while the kernel work goes on
    /// (the job waits for the bond whatever the order).
    pub ensure_job: Option<Job>,
    pub actions: Vec<Action>,
}

impl Plan {
    fn nothing(reason: impl Into<String>) -> Plan {
        Plan {
            reason: reason.into(),
            ensure_job: None,
            actions: Vec::new(),
        }
    }

    /// What will be done, one line per step, in the order [`crate::apply`] does it.
    pub fn steps(&self) -> Vec<String> {
        let job = self.ensure_job.iter().map(ensure_line);
        job.chain(self.actions.iter().map(|a| a.to_string()))
            .collect()
    }
}

/// The line for asking for a job.
pub fn ensure_line(job: &Job) -> String {
    format!("make sure {job} runs")
}
