//! The master's IPv6 addressing: set on every master made, before it first goes up, and
//! never again under a master that is up.

use super::fixtures::*;
use super::*;
use crate::config::Config;
use crate::net::Ipv6Mode;

fn cfg_with(ipv6: &str) -> Config {
    let text = format!(
        "[[bond]]\nname = \"bond0\"\n{ipv6}\n[[bond.slave]]\nname = \"enp*\"\n\
         [[bond]]\nname = \"br0\"\nkind = \"bridge\"\n{ipv6}\n[[bond.slave]]\nname = \"enx*\"\n"
    );
    Config::from_toml_str(&text, std::path::Path::new("t.toml")).unwrap()
}

fn set(b: &str, mode: Ipv6Mode) -> Action {
    Action::SetIpv6 { bond: i(b), mode }
}

#[test]
fn each_mode_is_set_on_a_new_master_right_before_it_goes_up() {
    for (line, want) in [
        ("", Some(Ipv6Mode::Stable)),
        ("ipv6 = \"stable\"", Some(Ipv6Mode::Stable)),
        ("ipv6 = \"off\"", Some(Ipv6Mode::Off)),
        ("ipv6 = \"kernel\"", None),
    ] {
        let cfg = cfg_with(line);
        for (iface, master) in [("enp3s0", "bond0"), ("enx0011", "br0")] {
            let obs = present(link(3, iface, false, None), true, false, None, true);
            let got = actions(add(iface), &cfg, &obs);
            let at_up = got.iter().position(|a| *a == up(master)).unwrap();
            let sets: Vec<&Action> = got
                .iter()
                .filter(|a| matches!(a, Action::SetIpv6 { .. }))
                .collect();
            match want {
                Some(mode) => {
                    assert_eq!(sets, [&set(master, mode)], "{line}: {got:?}");
                    assert_eq!(got[at_up - 1], set(master, mode), "{line}: {got:?}");
                }
                None => assert!(sets.is_empty(), "{line}: {got:?}"),
            }
        }
    }
}

#[test]
fn a_master_that_is_down_gets_it_again_and_one_that_is_up_never() {
    let cfg = cfg();
    // Down (made by someone else, or set down): the settings before it goes up.
    let mut m = good_bond(&["enp3s0"], &[]);
    m.link.up = false;
    let obs = present(link(3, "enp3s0", true, None), true, false, Some(m), true);
    let got = actions(add("enp3s0"), &cfg, &obs);
    assert_eq!(got[..2], [ipv6("bond0"), up("bond0")], "{got:?}");
    // Up: it carries its addresses already; rewriting would make new ones under it.
    for ev in [add("enp3s0"), add("bond0")] {
        let obs = present(
            link(3, "enp3s0", true, None),
            true,
            false,
            Some(good_bond(&["wlp2s0"], &[])),
            true,
        );
        let got = actions(ev.clone(), &cfg, &obs);
        assert!(
            !got.iter().any(|a| matches!(a, Action::SetIpv6 { .. })),
            "{ev}: {got:?}"
        );
    }
}

#[test]
fn ipv6_steps_say_what_is_done() {
    assert_eq!(
        set("bond0", Ipv6Mode::Stable).to_string(),
        "give bond0 stable-privacy IPv6 addresses (one per prefix across failover)"
    );
    assert_eq!(
        set("bond0", Ipv6Mode::Off).to_string(),
        "turn IPv6 off on bond0"
    );
}
