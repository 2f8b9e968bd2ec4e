//! Which slave carries the bond when a slave's carrier comes or goes. The bonding driver
//! notices a carrier change only at its next link monitor tick (miimon, every 100 ms by
//! default), while the bond's job hears it at once from rtnetlink. Handing the bond over
//! then saves up to a tick of lost packets and brings the re-acquisition forward by as
//! much. Pure: the job reads and acts ([`crate::settle`]).
//!
//! Once the job has handed the bond over, the driver may never see the carrier go: a
//! blip shorter than a tick leaves the primary "up" for the driver, so nothing makes it
//! reselect the primary. The job therefore also puts a ready primary back in charge, as the
//! driver would with `primary_reselect = always`. When the driver did see the primary go,
//! it refuses it until its next look: the job asks it to look now instead, as it does when
//! no slave carries the bond and one gets its carrier (a cable plugged into an enslaved NIC).

/// A slave of the bond as the job sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slave {
    pub name: String,
    pub carrier: bool,
    /// Administratively up (a slave set aside is down).
    pub up: bool,
    /// Administratively and operationally up (for Wi-Fi: authorised by the supplicant).
    pub ready: bool,
    /// The driver sees its link up (its monitor's last look): it makes no other slave
    /// active, and it refuses, with an error in the kernel's log.
    pub driver_up: bool,
}

impl Slave {
    fn can_carry(&self) -> bool {
        self.carrier && self.ready && self.driver_up
    }
}

/// What the bond's options allow the job to do ahead of the driver.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Policy {
    pub primary: Option<String>,
    /// `downdelay = 0`: the driver too gives up a slave at the first tick without carrier
    /// (a down delay asks to ride out short losses, so the job waits for the driver then).
    pub leave_at_once: bool,
    /// `updelay = 0`: the driver uses a slave as soon as it sees its link (a bond without an
    /// active slave takes it at once).
    pub take_at_once: bool,
    /// `primary_reselect = always`: the driver puts the primary back whenever it has link
    /// (after the up delay).
    pub reselect_always: bool,
}

impl Policy {
    /// The driver too puts the primary back as soon as it sees its link.
    fn primary_at_once(&self) -> bool {
        self.reselect_always && self.take_at_once
    }
}

/// What the job does ahead of the driver.
#[derive(Debug, PartialEq, Eq)]
pub enum Move<'a> {
    /// Make this slave active now: the driver sees its link up.
    HandOver(&'a Slave),
    /// The driver has not yet seen this slave's link come back: ask it to look at its
    /// links now. It then makes the slave active itself, as it would at its next tick.
    Look(&'a Slave),
}

/// What to do now, given the bond's active slave if it has one, and why (one line for the
/// log); None to leave it to the driver.
pub fn choose<'a>(
    active: Option<&Slave>,
    slaves: &'a [Slave],
    p: &Policy,
) -> Option<(Move<'a>, String)> {
    let Some(active) = active else {
        return first_link(slaves, p);
    };
    let others = || slaves.iter().filter(|s| s.name != active.name);
    if !active.carrier {
        if !p.leave_at_once {
            return None;
        }
        let primary = others().find(|s| Some(&s.name) == p.primary.as_ref() && s.can_carry());
        let to = primary.or_else(|| others().find(|s| s.can_carry()))?;
        let why = format!(
            "{} lost its carrier: {} carries the bond now",
            active.name, to.name
        );
        return Some((Move::HandOver(to), why));
    }
    if !p.primary_at_once() {
        return None;
    }
    let to = others().find(|s| Some(&s.name) == p.primary.as_ref() && s.carrier && s.ready)?;
    if to.driver_up {
        let why = format!(
            "{}, the primary, has link: it carries the bond again",
            to.name
        );
        return Some((Move::HandOver(to), why));
    }
    let why = format!(
        "{}, the primary, has its carrier back: asked the driver to look at it now",
        to.name
    );
    Some((Move::Look(to), why))
}

/// No slave carries the bond: the driver makes the first slave whose link it sees active
/// (the primary first), at its next look. A NIC enslaved before its carrier came (a cable
/// plugged in after the NIC) waits for that look.
fn first_link<'a>(slaves: &'a [Slave], p: &Policy) -> Option<(Move<'a>, String)> {
    if !p.take_at_once || slaves.iter().any(|s| s.driver_up) {
        return None;
    }
    let has_link = |s: &&Slave| s.carrier && s.up;
    let primary = slaves
        .iter()
        .filter(has_link)
        .find(|s| Some(&s.name) == p.primary.as_ref());
    let to = primary.or_else(|| slaves.iter().find(has_link))?;
    let why = format!(
        "{} has its carrier and no slave carries the bond: asked the driver to look at it now",
        to.name
    );
    Some((Move::Look(to), why))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slave(name: &str, carrier: bool, ready: bool) -> Slave {
        Slave {
            name: name.into(),
            carrier,
            up: true,
            ready,
            driver_up: true,
        }
    }

    fn policy() -> Policy {
        Policy {
            primary: Some("eth1".into()),
            leave_at_once: true,
            take_at_once: true,
            reselect_always: true,
        }
    }

    /// The slave to make active now, if any.
    fn to(active: &Slave, slaves: &[Slave], p: &Policy) -> Option<String> {
        match choose(Some(active), slaves, p) {
            Some((Move::HandOver(s), _)) => Some(s.name.clone()),
            _ => None,
        }
    }

    #[test]
    fn a_ready_slave_takes_over_from_one_without_carrier() {
        let slaves = [slave("eth1", false, false), slave("wlan0", true, true)];
        assert_eq!(to(&slaves[0], &slaves, &policy()).as_deref(), Some("wlan0"));
        let (_, why) = choose(Some(&slaves[0]), &slaves, &policy()).unwrap_or_else(|| panic!());
        assert_eq!(why, "eth1 lost its carrier: wlan0 carries the bond now");
    }

    #[test]
    fn a_down_delay_is_left_to_the_driver() {
        let slaves = [slave("eth1", false, false), slave("wlan0", true, true)];
        let p = Policy {
            leave_at_once: false,
            ..policy()
        };
        assert_eq!(to(&slaves[0], &slaves, &p), None);
    }

    #[test]
    fn nothing_while_the_active_primary_has_carrier() {
        // Down for another reason (not authorised yet): the driver and the supplicant decide.
        let slaves = [slave("eth1", true, false), slave("wlan0", true, true)];
        assert_eq!(to(&slaves[0], &slaves, &policy()), None);
    }

    #[test]
    fn nothing_without_a_ready_slave_with_carrier() {
        // Wi-Fi associated but not authorised, or set aside (down), or without carrier.
        let slaves = [
            slave("eth1", false, false),
            slave("wlan0", true, false),
            slave("eth2", false, true),
        ];
        assert_eq!(to(&slaves[0], &slaves, &policy()), None);
        assert_eq!(to(&slaves[0], &slaves[..1], &policy()), None);
    }

    #[test]
    fn the_primary_first_then_the_bonds_order() {
        let slaves = [
            slave("wlan0", false, false),
            slave("eth2", true, true),
            slave("eth1", true, true),
        ];
        assert_eq!(to(&slaves[0], &slaves, &policy()).as_deref(), Some("eth1"));
        let p = Policy {
            primary: None,
            ..policy()
        };
        assert_eq!(to(&slaves[0], &slaves, &p).as_deref(), Some("eth2"));
    }

    #[test]
    fn a_ready_primary_is_put_back_after_a_blip_the_driver_missed() {
        let slaves = [slave("wlan0", true, true), slave("eth1", true, true)];
        assert_eq!(to(&slaves[0], &slaves, &policy()).as_deref(), Some("eth1"));
        // Not with another reselect policy or an up delay, nor while it is not ready.
        let p = Policy {
            reselect_always: false,
            ..policy()
        };
        assert_eq!(to(&slaves[0], &slaves, &p), None);
        let p = Policy {
            take_at_once: false,
            ..policy()
        };
        assert_eq!(to(&slaves[0], &slaves, &p), None);
        let slaves = [slave("wlan0", true, true), slave("eth1", true, false)];
        assert_eq!(to(&slaves[0], &slaves, &policy()), None);
    }

    #[test]
    fn nothing_the_driver_would_refuse() {
        // The cable back after the driver saw it go: the driver would refuse it (with an
        // error in the kernel's log) before its next look, so it is asked to look now.
        let mut eth1 = slave("eth1", true, true);
        eth1.driver_up = false;
        let slaves = [slave("wlan0", true, true), eth1.clone()];
        assert_eq!(to(&slaves[0], &slaves, &policy()), None);
        let (m, why) = choose(Some(&slaves[0]), &slaves, &policy()).unwrap_or_else(|| panic!());
        assert_eq!(m, Move::Look(&slaves[1]));
        assert_eq!(
            why,
            "eth1, the primary, has its carrier back: asked the driver to look at it now"
        );
        // Not with an up delay or another reselect policy: the driver waits on purpose.
        for p in [
            Policy {
                reselect_always: false,
                ..policy()
            },
            Policy {
                take_at_once: false,
                ..policy()
            },
        ] {
            assert_eq!(choose(Some(&slaves[0]), &slaves, &p), None);
        }
        let slaves = [slave("eth1", false, false), {
            let mut w = slave("wlan0", true, true);
            w.driver_up = false;
            w
        }];
        assert_eq!(to(&slaves[0], &slaves, &policy()), None);
    }

    #[test]
    fn without_an_active_slave_the_driver_is_asked_to_look_at_one_with_carrier() {
        // A cable plugged in after its NIC was enslaved: the driver sees it at its next look.
        let mut slaves = [slave("wlan0", true, false), slave("eth1", true, true)];
        slaves.iter_mut().for_each(|s| s.driver_up = false);
        let (m, why) = choose(None, &slaves, &policy()).unwrap_or_else(|| panic!());
        assert_eq!(m, Move::Look(&slaves[1]));
        assert_eq!(
            why,
            "eth1 has its carrier and no slave carries the bond: asked the driver to look at it now"
        );
        // Without a primary with carrier: the first slave with carrier (Wi-Fi associated).
        slaves[1].carrier = false;
        assert_eq!(
            choose(None, &slaves, &policy()).map(|(m, _)| m),
            Some(Move::Look(&slaves[0]))
        );
        // Not set aside (down), not with an up delay, not once the driver sees a link.
        slaves[0].up = false;
        assert_eq!(choose(None, &slaves, &policy()), None);
        slaves[0].up = true;
        let p = Policy {
            take_at_once: false,
            ..policy()
        };
        assert_eq!(choose(None, &slaves, &p), None);
        slaves[0].driver_up = true;
        assert_eq!(choose(None, &slaves, &policy()), None);
    }
}
