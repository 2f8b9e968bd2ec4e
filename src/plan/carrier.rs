//! The bond's active slave lost its carrier (a cable pulled, an access point gone): which
//! slave carries the bond now. The bonding driver notices only at its next link monitor
//! tick (miimon, every 100 ms by default), while the bond's job hears the carrier go at once
//! from rtnetlink; handing the bond over then saves up to a tick of lost packets and brings
//! the re-acquisition forward by as much. Pure: the job reads and acts ([`crate::settle`]).

/// A slave of the bond as the job sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slave {
    pub name: String,
    pub carrier: bool,
    /// Administratively and operationally up (for Wi-Fi: authorised by the supplicant).
    pub ready: bool,
}

/// The slave to make active now, if the active one has no carrier and another is ready.
/// The first such slave in the bond's order; the driver puts its primary back in charge
/// once that has link again, as always.
pub fn take_over<'a>(active: &Slave, slaves: &'a [Slave]) -> Option<&'a Slave> {
    if active.carrier {
        return None;
    }
    slaves
        .iter()
        .find(|s| s.name != active.name && s.carrier && s.ready)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slave(name: &str, carrier: bool, ready: bool) -> Slave {
        Slave {
            name: name.into(),
            carrier,
            ready,
        }
    }

    #[test]
    fn a_ready_slave_takes_over_from_one_without_carrier() {
        let slaves = [slave("eth1", false, false), slave("wlan0", true, true)];
        let to = take_over(&slaves[0], &slaves).map(|s| s.name.as_str());
        assert_eq!(to, Some("wlan0"));
    }

    #[test]
    fn nothing_while_the_active_slave_has_carrier() {
        // Down for another reason (not authorised yet): the driver and the supplicant decide.
        let slaves = [slave("wlan0", true, false), slave("eth1", true, true)];
        assert_eq!(take_over(&slaves[0], &slaves), None);
    }

    #[test]
    fn nothing_without_a_ready_slave_with_carrier() {
        // Wi-Fi associated but not authorised, or set aside (down), or without carrier.
        let slaves = [
            slave("eth1", false, false),
            slave("wlan0", true, false),
            slave("eth2", false, true),
        ];
        assert_eq!(take_over(&slaves[0], &slaves), None);
        assert_eq!(take_over(&slaves[0], &slaves[..1]), None);
    }

    #[test]
    fn the_first_ready_slave_in_the_bonds_order() {
        let slaves = [
            slave("wlan0", false, false),
            slave("eth1", true, true),
            slave("eth2", true, true),
        ];
        let to = take_over(&slaves[0], &slaves).map(|s| s.name.as_str());
        assert_eq!(to, Some("eth1"));
    }
}
