//! Is the master ready for DHCP? What the settle job reads of the kernel, and the pure
//! judgement of it.

use anyhow::Result;

use crate::config::{Bond, Kind};
use crate::dhcp::supervise::SettledOn;
use crate::kernel::{self, Kernel, Link};
use crate::net::Mac;

/// The master's ifindex (a bond deleted and made again is another interface), the active
/// slave and the MAC: what must not change during the debounce window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fingerprint {
    pub index: Option<u32>,
    pub active: Option<String>,
    pub mac: Option<Mac>,
}

impl Fingerprint {
    /// What the DHCP client is to speak for, when the master exists and has a MAC.
    pub fn settled_on(&self) -> Option<SettledOn> {
        Some(SettledOn {
            index: self.index?,
            mac: self.mac?,
            active: self.active.clone(),
        })
    }
}

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
    /// Not ready, for `reason`.
    pub fn not(reason: String) -> Readiness {
        Readiness {
            ready: false,
            index: None,
            active: None,
            mac: None,
            reason,
        }
    }

    /// What must stay the same for the debounce window.
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint {
            index: self.index,
            active: self.active.clone(),
            mac: self.mac,
        }
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
        return match (m.oper_up(), m.mac) {
            (false, _) => Readiness::not(format!("{} has no forwarding port", m.name)),
            // A DHCP client needs a hardware address to speak with.
            (true, None) => Readiness::not(format!("{} has no MAC address", m.name)),
            (true, Some(mac)) => Readiness {
                ready: true,
                index: None,
                active: None,
                mac: Some(mac),
                reason: format!("{} is up", m.name),
            },
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

/// The master's readiness now, as the settle job sees it (one look at the kernel).
pub fn readiness(k: &mut Kernel, bond: &Bond) -> Result<Readiness> {
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::kernel::OperState;

    pub(crate) fn link(name: &str, mac: u8, oper: OperState) -> Link {
        Link {
            index: 1,
            name: name.into(),
            mac: Some(Mac([2, 0, 0, 0, 0, mac])),
            up: true,
            oper,
            carrier: oper == OperState::Up,
            master: None,
            kind: None,
        }
    }

    #[test]
    fn not_ready_without_active_slave() {
        let r = assess(&Kind::Bond, Some(&link("bond0", 1, OperState::Down)), None);
        assert!(!r.ready);
        assert!(r.reason.contains("no active slave"));
    }

    #[test]
    fn wifi_associated_but_not_authorised_is_not_ready() {
        let r = assess(
            &Kind::Bond,
            Some(&link("bond0", 7, OperState::Up)),
            Some(&link("wlan0", 7, OperState::Dormant)),
        );
        assert!(!r.ready, "{r:?}");
    }

    #[test]
    fn mac_must_match_the_active_slave() {
        let r = assess(
            &Kind::Bond,
            Some(&link("bond0", 1, OperState::Up)),
            Some(&link("wlan0", 7, OperState::Up)),
        );
        assert!(!r.ready);
        let r = assess(
            &Kind::Bond,
            Some(&link("bond0", 7, OperState::Up)),
            Some(&link("wlan0", 7, OperState::Up)),
        );
        assert!(r.ready);
        assert_eq!(r.active.as_deref(), Some("wlan0"));
    }

    #[test]
    fn a_bond_made_again_is_a_new_fingerprint() {
        // Same slave, same MAC, but another interface: its client must be a new one.
        let mut first = link("bond0", 7, OperState::Up);
        first.index = 4;
        let mut again = first.clone();
        again.index = 9;
        let wlan = link("wlan0", 7, OperState::Up);
        let a = assess(&Kind::Bond, Some(&first), Some(&wlan));
        let b = assess(&Kind::Bond, Some(&again), Some(&wlan));
        assert!(a.ready && b.ready);
        assert_eq!(a.index, Some(4));
        assert_ne!(a.fingerprint(), b.fingerprint());
        assert_eq!(b.fingerprint().settled_on().map(|s| s.index), Some(9));
    }
}
