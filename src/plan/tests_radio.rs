//! A Wi-Fi radio switched off and on (rfkill): off takes nothing down, on brings the NIC back
//! as a working slave; a NIC plugged while its radio is off joins once it is switched on.

use super::fixtures::*;
use super::*;
use crate::kernel::Rfkill;

const OFF: Rfkill = Rfkill {
    soft: true,
    hard: false,
};
const ON: Rfkill = Rfkill {
    soft: false,
    hard: false,
};

fn radio(s: &str) -> Event {
    Event::RadioChanged(i(s))
}

/// wlp2s0 as observed: enslaved to bond0 (or not), up (or not), its radio switches.
fn wifi(enslaved: bool, up: bool, r: Rfkill) -> Observed {
    let master = enslaved.then_some(BOND_INDEX);
    Observed {
        radio: Some(r),
        ..present(
            link(5, "wlp2s0", up, master),
            true,
            true,
            Some(good_bond(&["enp3s0", "wlp2s0"], &[])),
            true,
        )
    }
}

fn start_supplicant() -> Action {
    Action::StartSupplicant { iface: i("wlp2s0") }
}

#[test]
fn switching_the_radio_off_takes_nothing_down() {
    for hard in [false, true] {
        let r = Rfkill { soft: !hard, hard };
        let p = plan(&radio("wlp2s0"), &cfg(), &wifi(true, false, r));
        assert_eq!(p.actions, [], "{r:?}");
        assert_eq!(p.ensure_job, settle("bond0"));
        assert!(p.reason.contains("radio blocked by rfkill"), "{}", p.reason);
    }
}

#[test]
fn switching_the_radio_on_brings_the_slave_back_up_with_its_supplicant() {
    // The kernel set it down when the radio went off; the supplicant job is asked for again
    // if it no longer runs.
    assert_eq!(
        decide(radio("wlp2s0"), &cfg(), &wifi(true, false, ON)),
        (
            vec![up("wlp2s0"), record("wlp2s0", "bond0"), start_supplicant()],
            settle("bond0")
        )
    );
    // Some other hook brought it up already: nothing to bring up.
    let (got, _) = decide(radio("wlp2s0"), &cfg(), &wifi(true, true, ON));
    assert_eq!(got, [record("wlp2s0", "bond0"), start_supplicant()]);
    // Its supplicant waited through the switch-off: no second one is asked for.
    let running = Observed {
        supplicant_running: true,
        ..wifi(true, false, ON)
    };
    assert_eq!(
        decide(radio("wlp2s0"), &cfg(), &running),
        (
            vec![up("wlp2s0"), record("wlp2s0", "bond0")],
            settle("bond0")
        )
    );
}

#[test]
fn a_nic_plugged_with_its_radio_off_joins_once_switched_on() {
    // Plugged switched off: it cannot go up, so neither be enslaved nor get a supplicant.
    let p = plan(&add("wlp2s0"), &cfg(), &wifi(false, false, OFF));
    assert_eq!(p.actions, []);
    assert_eq!(p.ensure_job, settle("bond0"));
    assert!(p.reason.contains("once it is switched on"), "{}", p.reason);
    // Switched on: enslaved, with its supplicant.
    assert_eq!(
        decide(radio("wlp2s0"), &cfg(), &wifi(false, false, ON)),
        (
            vec![
                enslave("wlp2s0", "bond0"),
                record("wlp2s0", "bond0"),
                start_supplicant()
            ],
            settle("bond0")
        )
    );
}

#[test]
fn a_nic_plugged_with_its_radio_off_still_gets_its_bond_made() {
    // The first NIC of the bond: the bond is made (the wire may come next), the NIC waits.
    let obs = Observed {
        master: None,
        bonding_loaded: true,
        ..wifi(false, false, OFF)
    };
    let got = actions(add("wlp2s0"), &cfg(), &obs);
    assert_eq!(got[0], create_bond("bond0"), "{got:?}");
    assert!(
        !got.iter()
            .any(|a| matches!(a, Action::Enslave { .. } | Action::StartSupplicant { .. })),
        "{got:?}"
    );
}

#[test]
fn a_radio_no_bond_claims_is_ignored() {
    let obs = Observed {
        radio: Some(ON),
        ..present(link(7, "wlan9", false, None), true, true, None, true)
    };
    assert_eq!(decide(radio("wlan9"), &cfg(), &obs), nothing());
}
