//! The decisions of the hotplug path, one scenario each: an event, a configuration and what
//! was observed of the kernel in, the job and the ordered actions out. No kernel, no files.

use std::path::PathBuf;

use super::fixtures::*;
use super::*;
use crate::config::Supplicant;
use crate::net::Mac;

#[test]
fn add_wired_without_bond_builds_everything_in_order() {
    let obs = present(link(3, "enp3s0", false, None), true, false, None, false);
    let mut want = vec![
        Action::LoadBonding,
        create_bond("bond0"),
        primary("bond0", "enp3s0"),
        ipv6("bond0"),
        up("bond0"),
    ];
    want.extend(bond0_static());
    want.extend([enslave("enp3s0", "bond0"), record("enp3s0", "bond0")]);
    assert_eq!(
        decide(add("enp3s0"), &cfg(), &obs),
        (want.clone(), settle("bond0"))
    );

    // The driver already loaded: no LoadBonding, the rest the same.
    let obs = Observed {
        bonding_loaded: true,
        ..obs
    };
    assert_eq!(
        decide(add("enp3s0"), &cfg(), &obs),
        (want[1..].to_vec(), settle("bond0"))
    );
}

#[test]
fn primary_is_set_by_name_even_when_another_slave_comes_first() {
    // The wireless NIC is plugged first: the primary is still the wired one, by name.
    let obs = present(link(4, "wlx001122", true, None), true, true, None, true);
    let got = actions(add("wlx001122"), &cfg(), &obs);
    assert_eq!(
        got[..4],
        [
            create_bond("bond0"),
            primary("bond0", "enp3s0"),
            ipv6("bond0"),
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
        decide(add("wlp2s0"), &cfg(), &obs),
        (
            vec![
                enslave("wlp2s0", "bond0"),
                record("wlp2s0", "bond0"),
                Action::StartSupplicant { iface: i("wlp2s0") },
            ],
            settle("bond0")
        )
    );
    // The supplicant job runs with the rule's settings.
    let cfg = cfg();
    let (bond, _) = cfg.bond_for(obs.facts.as_ref().unwrap()).unwrap();
    assert_eq!(
        bond.supplicant_for(obs.facts.as_ref().unwrap()),
        Some(&Supplicant {
            config: PathBuf::from("/etc/wpa_supplicant/wlan.conf"),
            driver: "nl80211,wext".into(),
        })
    );
}

#[test]
fn env_file_config_uses_the_seeds_supplicant_for_wireless_slaves() {
    let cfg = env_cfg("bond0PRIMARY='enp3s0'\nbond0ADDRS='192.168.0.2/24'\n");
    // Wireless, matched by the catch-all "any physical" rule: the seed's supplicant.
    let obs = present(link(5, "wlan0", true, None), true, true, None, true);
    assert_eq!(
        decide(add("wlan0"), &cfg, &obs),
        (
            vec![
                create_bond("bond0"),
                primary("bond0", "enp3s0"),
                ipv6("bond0"),
                up("bond0"),
                addr("bond0", "192.168.0.2/24"),
                enslave("wlan0", "bond0"),
                record("wlan0", "bond0"),
                Action::StartSupplicant { iface: i("wlan0") },
            ],
            settle("bond0")
        )
    );
    let facts = obs.facts.as_ref().unwrap();
    let (bond, _) = cfg.bond_for(facts).unwrap();
    assert_eq!(
        bond.supplicant_for(facts),
        Some(&Supplicant::classic_default())
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
    assert_eq!(decide(add("veth0"), &cfg, &obs), nothing());
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
        decide(add("enp3s0"), &cfg(), &obs),
        (vec![record("enp3s0", "bond0")], settle("bond0"))
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
        decide(add("enp3s0"), &cfg(), &obs),
        (
            vec![up("enp3s0"), record("enp3s0", "bond0")],
            settle("bond0")
        )
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
    assert_eq!(decide(add("enp3s0"), &cfg(), &obs), nothing());
    // And when the configured bond does not even exist: nothing is created for it.
    let obs = present(link(3, "enp3s0", true, Some(99)), true, false, None, false);
    assert_eq!(decide(add("enp3s0"), &cfg(), &obs), nothing());
}

#[test]
fn unconfigured_interfaces_get_no_actions() {
    let cfg = cfg();
    let obs = present(link(6, "eth7", true, None), true, false, None, false);
    assert_eq!(decide(add("eth7"), &cfg, &obs), nothing());
    for ev in [
        Event::Remove(i("eth7")),
        Event::Connected(i("eth7")),
        Event::Disconnected(i("eth7")),
    ] {
        assert_eq!(decide(ev, &cfg, &obs), nothing(), "eth7");
    }
    // The configured MAC, but on a virtual device (a VLAN on top of it): not a slave.
    let mut f = facts("eth7.5", false, false);
    f.mac = Some(Mac([0x68, 0xa3, 0xc4, 0xac, 0x63, 0xd1]));
    let obs = Observed {
        iface: Some(link(8, "eth7.5", true, None)),
        facts: Some(f.clone()),
        ..Default::default()
    };
    assert_eq!(decide(add("eth7.5"), &cfg, &obs), nothing());
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
    assert_eq!(decide(add("enp3s0"), &cfg(), &obs), nothing());
    assert_eq!(
        decide(Event::Connected(i("enp3s0")), &cfg(), &obs),
        nothing()
    );
}

#[test]
fn remove_stops_the_supplicant_and_settles_from_the_slave_record() {
    let stop = Action::StopSupplicant {
        iface: i("wlp2s0"),
        stop: Stop::Ask,
    };
    let forget = Action::ForgetSlave { iface: i("wlp2s0") };
    // The device is gone (no link, no facts): the record says which bond it was in.
    let obs = Observed {
        recorded_bond: Some("bond0".into()),
        master: Some(good_bond(&["enp3s0"], &[])),
        bonding_loaded: true,
        supplicant_running: true,
        ..Default::default()
    };
    assert_eq!(
        decide(Event::Remove(i("wlp2s0")), &cfg(), &obs),
        (vec![stop.clone(), forget.clone()], settle("bond0"))
    );
    // The bond is gone too: nothing to settle.
    let obs = Observed {
        master: None,
        ..obs
    };
    assert_eq!(
        decide(Event::Remove(i("wlp2s0")), &cfg(), &obs),
        (vec![stop, forget], None)
    );
    // Never enslaved by hotbond (no record, no facts): nothing.
    assert_eq!(
        decide(Event::Remove(i("wlp2s0")), &cfg(), &Observed::default()),
        nothing()
    );
    // A record naming a bond that is no longer configured: nothing.
    let obs = Observed {
        recorded_bond: Some("bond9".into()),
        ..Default::default()
    };
    assert_eq!(decide(Event::Remove(i("wlp2s0")), &cfg(), &obs), nothing());
}

#[test]
fn remove_of_a_nic_without_a_supplicant_stops_none() {
    // The wired NIC never had a supplicant: only its record goes, and the bond settles.
    let obs = Observed {
        recorded_bond: Some("bond0".into()),
        master: Some(good_bond(&["wlp2s0"], &[])),
        bonding_loaded: true,
        supplicant_running: false,
        ..Default::default()
    };
    assert_eq!(
        decide(Event::Remove(i("enp3s0")), &cfg(), &obs),
        (
            vec![Action::ForgetSlave { iface: i("enp3s0") }],
            settle("bond0")
        )
    );
}

#[test]
fn add_again_of_a_wireless_slave_whose_supplicant_runs_starts_no_second() {
    // `udevadm trigger --action=add` replays the add of a NIC already at work.
    let m = good_bond(&["enp3s0", "wlp2s0"], &["192.168.0.2/24", "fd00::2/64"]);
    let obs = Observed {
        supplicant_running: true,
        ..present(
            link(5, "wlp2s0", true, Some(BOND_INDEX)),
            true,
            true,
            Some(m),
            true,
        )
    };
    assert_eq!(
        decide(add("wlp2s0"), &cfg(), &obs),
        (vec![record("wlp2s0", "bond0")], settle("bond0"))
    );
    // Its supplicant gone (stopped, crashed): the same add asks for it again.
    let obs = Observed {
        supplicant_running: false,
        ..obs
    };
    assert_eq!(
        decide(add("wlp2s0"), &cfg(), &obs),
        (
            vec![
                record("wlp2s0", "bond0"),
                Action::StartSupplicant { iface: i("wlp2s0") },
            ],
            settle("bond0")
        )
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
        decide(Event::Connected(i("wlp2s0")), &cfg(), &obs),
        (vec![record("wlp2s0", "bond0")], settle("bond0"))
    );
    // Not (or no longer) enslaved: enslave it, still no supplicant.
    let obs = present(link(5, "wlp2s0", true, None), true, true, Some(m), true);
    assert_eq!(
        decide(Event::Connected(i("wlp2s0")), &cfg(), &obs),
        (
            vec![enslave("wlp2s0", "bond0"), record("wlp2s0", "bond0")],
            settle("bond0")
        )
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
        decide(Event::Disconnected(i("wlp2s0")), &cfg(), &obs),
        (vec![], settle("bond0"))
    );
}

#[test]
fn disconnected_after_the_bond_is_gone_starts_nothing() {
    // `hotbond down` stops the supplicant after deleting nothing yet, but its last
    // DISCONNECTED may run after the bond is gone: it must not start the bond's job again.
    let obs = present(link(5, "wlp2s0", true, None), true, true, None, true);
    assert_eq!(
        decide(Event::Disconnected(i("wlp2s0")), &cfg(), &obs),
        nothing()
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
        decide(add("bond0"), &cfg(), &obs),
        (
            vec![
                addr("bond0", "fd00::2/64"),
                route("bond0", "default via 192.168.0.1"),
                route("bond0", "10.0.0.0/8 via 192.168.0.254 metric 50")
            ],
            settle("bond0")
        )
    );
    // Down: up first, then everything missing.
    let mut m = good_bond(&[], &[]);
    m.link.up = false;
    let obs = Observed {
        master: Some(m),
        ..obs
    };
    let mut want = vec![ipv6("bond0"), up("bond0")];
    want.extend(bond0_static());
    assert_eq!(decide(add("bond0"), &cfg(), &obs), (want, settle("bond0")));
    // Gone again before we looked: nothing.
    let obs = Observed {
        master: None,
        ..obs
    };
    assert_eq!(decide(add("bond0"), &cfg(), &obs), nothing());
    // Its removal stops its jobs; other events about the master itself: nothing.
    let obs = Observed {
        master: Some(good_bond(&[], &[])),
        ..obs
    };
    assert_eq!(
        decide(Event::Remove(i("bond0")), &cfg(), &obs),
        (
            vec![Action::StopBondJob {
                bond: i("bond0"),
                stop: Stop::Ask,
            }],
            None
        )
    );
    assert_eq!(
        decide(Event::Disconnected(i("bond0")), &cfg(), &obs),
        nothing()
    );
}

#[test]
fn existing_empty_bond_with_wrong_mode_gets_its_options() {
    // What `modprobe bonding` makes by itself: balance-rr, fail_over_mac none, down.
    let wrong = MasterState {
        mode: Some(BondMode::BalanceRr),
        fail_over_mac: Some(FailOverMac::None),
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
        decide(add("enp3s0"), &cfg(), &obs),
        (
            vec![
                Action::SetBondOptions {
                    name: i("bond0"),
                    options: Default::default(),
                },
                primary("bond0", "enp3s0"),
                ipv6("bond0"),
                up("bond0"),
                enslave("enp3s0", "bond0"),
                record("enp3s0", "bond0")
            ],
            settle("bond0")
        )
    );
    // Right mode but fail_over_mac wrong: options too.
    let fom = MasterState {
        fail_over_mac: Some(FailOverMac::None),
        ..good_bond(&[], &[])
    };
    let obs = present(link(3, "enp3s0", true, None), true, false, Some(fom), true);
    assert_eq!(
        actions(add("enp3s0"), &cfg(), &obs)[0],
        Action::SetBondOptions {
            name: i("bond0"),
            options: Default::default(),
        }
    );
    // With slaves the kernel refuses a mode change: not attempted.
    let busy = MasterState {
        slaves: vec![i("wlp2s0")],
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
        decide(add("enp3s0"), &cfg(), &obs),
        (
            vec![enslave("enp3s0", "bond0"), record("enp3s0", "bond0")],
            settle("bond0")
        )
    );
}

#[test]
fn bridge_kind_creates_a_bridge_and_never_a_primary() {
    let obs = present(link(4, "enx0011", false, None), true, false, None, false);
    assert_eq!(
        decide(add("enx0011"), &cfg(), &obs),
        (
            vec![
                Action::CreateBridge { name: i("br0") },
                ipv6("br0"),
                up("br0"),
                addr("br0", "10.1.0.1/24"),
                route("br0", "10.2.0.0/16 via 10.1.0.254"),
                enslave("enx0011", "br0"),
                record("enx0011", "br0")
            ],
            settle("br0")
        )
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
        decide(add("enx0011"), &cfg(), &obs),
        (
            vec![
                ipv6("br0"),
                up("br0"),
                enslave("enx0011", "br0"),
                record("enx0011", "br0")
            ],
            settle("br0")
        )
    );
    // The seed's env file: a master named *br* is a bridge, PRIMARY only orders rules.
    let cfg = env_cfg("br0PRIMARY='veth0'\nbr0ADDRS='10.1.0.1/24'\n");
    let obs = present(link(4, "veth0", true, None), false, false, None, false);
    assert_eq!(
        decide(add("veth0"), &cfg, &obs),
        (
            vec![
                Action::CreateBridge { name: i("br0") },
                ipv6("br0"),
                up("br0"),
                addr("br0", "10.1.0.1/24"),
                enslave("veth0", "br0"),
                record("veth0", "br0")
            ],
            settle("br0")
        )
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
        ipv6("bond0"),
        up("bond0"),
    ];
    want.extend(bond0_static());
    assert_eq!(plan_of(plan_up(bond, &obs)), (want, settle("bond0")));

    // It exists, as hotbond makes it, with one of its addresses: only what is missing.
    let obs = Observed {
        master: Some(good_bond(&["enp3s0"], &["fd00::2/64"])),
        bonding_loaded: true,
        ..Default::default()
    };
    assert_eq!(
        plan_of(plan_up(bond, &obs)),
        (
            vec![
                addr("bond0", "192.168.0.2/24"),
                route("bond0", "default via 192.168.0.1"),
                route("bond0", "10.0.0.0/8 via 192.168.0.254 metric 50"),
            ],
            settle("bond0")
        )
    );

    let br = cfg.bond("br0").unwrap();
    assert_eq!(
        plan_of(plan_up(br, &Observed::default())),
        (
            vec![
                Action::CreateBridge { name: i("br0") },
                ipv6("br0"),
                up("br0"),
                addr("br0", "10.1.0.1/24"),
                route("br0", "10.2.0.0/16 via 10.1.0.254"),
            ],
            settle("br0")
        )
    );
}

#[test]
fn every_plan_has_a_reason() {
    let cfg = cfg();
    let obs = present(link(3, "enp3s0", true, None), true, false, None, true);
    for ev in [
        add("enp3s0"),
        Event::Remove(i("enp3s0")),
        Event::Connected(i("enp3s0")),
        Event::Disconnected(i("enp3s0")),
        add("eth9"),
    ] {
        let p = plan(&ev, &cfg, &obs);
        assert!(!p.reason.is_empty(), "{ev}");
        assert!(p.reason.contains(ev.iface().as_str()), "{ev}: {}", p.reason);
    }
}
