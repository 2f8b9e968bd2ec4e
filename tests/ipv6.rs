//! The master's IPv6 settings on this host's kernel, in a fresh network namespace, with the
//! bridge variant (the bond itself is proven in the VM test bed): `ipv6 = "stable"` gives the
//! master stable-privacy addressing with the secret hotbond derives, before it goes up, and
//! again when it is made again; `ipv6 = "off"` disables IPv6 on it; `"kernel"` leaves both.

mod common;

use std::fs;
use std::net::Ipv6Addr;

use common::{Env, UDEV};
use hotbond::net::{IfName, StableSecret};

const MACHINE_ID: &str = "0123456789abcdef0123456789abcdef\n";

fn config(ipv6: &str) -> String {
    format!(
        "[[bond]]\nname = \"br0\"\nkind = \"bridge\"\n{ipv6}\n[bond.dhcp]\nclient = \"none\"\n\
         [[bond.slave]]\nname = \"hbv*\"\n"
    )
}

/// `/proc/sys/net/ipv6/conf/DEV/NAME` as seen in the namespace.
fn sysctl(env: &Env, dev: &str, name: &str) -> String {
    let r = env.run("cat", &[&format!("/proc/sys/net/ipv6/conf/{dev}/{name}")]);
    r.assert_ok();
    r.stdout.trim().to_string()
}

/// `hotbond-udev add IFACE` as udev runs it, with the test's machine id.
fn add(env: &Env, iface: &str) {
    let id = env.dir.join("machine-id");
    fs::write(&id, MACHINE_ID).unwrap();
    let id = id.to_string_lossy().to_string();
    env.run_env(UDEV, &["add", iface], &[("HOTBOND_MACHINE_ID_FILE", &id)])
        .assert_ok();
}

#[test]
fn stable_gives_the_master_its_secret_again_each_time_it_is_made() {
    let Some(env) = Env::new("hotbond.toml", &config("")) else {
        return;
    };
    env.veth("hbv0", "hbp0", None);
    add(&env, "hbv0");
    assert!(env.admin_up("br0"), "{}", env.snapshot());
    let want = StableSecret::derive(MACHINE_ID, &IfName::new("br0").unwrap());
    let secret = |env: &Env| {
        sysctl(env, "br0", "stable_secret")
            .parse::<Ipv6Addr>()
            .unwrap()
    };
    assert_eq!(sysctl(&env, "br0", "addr_gen_mode"), "2");
    assert_eq!(secret(&env).to_string(), want.to_string());
    // Made before it went up: the link-local address is already a stable-privacy one, not
    // the EUI-64 of the MAC (whose middle bytes are ff:fe).
    let ll = env.ip(&["-6", "-o", "addr", "show", "dev", "br0", "scope", "link"]);
    assert!(!ll.contains("ff:fe"), "{ll}");

    // The settings die with the device: made again, it gets them again.
    env.ip(&["link", "del", "br0"]);
    add(&env, "hbv0");
    assert_eq!(sysctl(&env, "br0", "addr_gen_mode"), "2");
    assert_eq!(secret(&env).to_string(), want.to_string());
}

#[test]
fn off_disables_ipv6_and_kernel_leaves_the_defaults() {
    for (line, disabled, mode) in [
        ("ipv6 = \"off\"", "1", None),
        ("ipv6 = \"kernel\"", "0", Some("0")),
    ] {
        let Some(env) = Env::new("hotbond.toml", &config(line)) else {
            return;
        };
        env.veth("hbv0", "hbp0", None);
        add(&env, "hbv0");
        assert_eq!(sysctl(&env, "br0", "disable_ipv6"), disabled, "{line}");
        if let Some(m) = mode {
            assert_eq!(sysctl(&env, "br0", "addr_gen_mode"), m, "{line}");
        }
    }
}
