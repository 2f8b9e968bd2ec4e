//! hotbond's udhcpc event script (`hotbond-udhcpc-script EVENT`), run as udhcpc runs it:
//! the lease in its environment, on an interface in a fresh network namespace. What it
//! leaves on the interface, the routes and resolv.conf is what a user gets from a lease.
//!
//! resolv.conf: the harness points the binaries at the test's own file (HOTBOND_RESOLV_CONF);
//! the script hands DNS over through hotbond's dns module, which writes that file.

mod common;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use common::{Env, Run, UDHCPC_SCRIPT};

/// A namespace with a veth `hbv0` (up) for the script to configure.
fn script_env() -> Option<Env> {
    let env = Env::new("hotbond.toml", "")?;
    env.veth("hbv0", "hbp0", None);
    Some(env)
}

/// Runs the script for `event` with udhcpc's variables `vars` (interface=hbv0 added).
fn script(env: &Env, event: &str, vars: &[(&str, &OsStr)]) -> Run {
    let mut all = vec![("interface", OsStr::new("hbv0"))];
    all.extend_from_slice(vars);
    env.run_env_os(UDHCPC_SCRIPT, &[event], &all)
}

#[test]
fn raw_bytes_from_the_dhcp_server_do_not_abort_the_script() {
    let Some(env) = script_env() else { return };
    env.ip(&["link", "set", "hbv0", "down"]);
    let raw = OsStr::from_bytes(b"\xff\xfe pxelinux.0 \x80");
    for event in ["deconfig", "leasefail", "nak"] {
        let r = script(
            &env,
            event,
            &[("boot_file", raw), ("sname", raw), ("message", raw)],
        );
        r.assert_ok();
    }
    // deconfig brought the interface up, as it does without the raw bytes.
    assert!(env.admin_up("hbv0"));
}

/// Gives the test its own resolv.conf, the one the harness points the binaries at
/// (HOTBOND_RESOLV_CONF), never the host's; returns its path.
fn own_resolv_conf(env: &Env) -> std::path::PathBuf {
    let p = env.dir.join("resolv.conf");
    std::fs::write(&p, "# the test's own\n").expect("write the test's resolv.conf");
    p
}

fn os(s: &str) -> &OsStr {
    OsStr::new(s)
}

/// A lease of `ip` with a /24, router and name server in the same subnet.
fn lease(ip: &str) -> Vec<(&str, &OsStr)> {
    vec![
        ("ip", os(ip)),
        ("mask", os("24")),
        ("router", os("10.77.0.1")),
        ("dns", os("10.77.0.53")),
        ("domain", os("example.org")),
    ]
}

#[test]
fn a_lease_configures_address_route_and_dns() {
    let Some(env) = script_env() else { return };
    let resolv = own_resolv_conf(&env);
    script(&env, "bound", &lease("10.77.0.5")).assert_ok();
    assert_eq!(env.addrs("hbv0"), ["10.77.0.5/24"]);
    assert_eq!(env.route_count("default", "10.77.0.1", "hbv0"), 1);
    let text = std::fs::read_to_string(&resolv).unwrap();
    assert!(text.contains("nameserver 10.77.0.53\n"), "{text}");
    assert!(text.contains("search example.org\n"), "{text}");
}

#[test]
fn a_new_lease_replaces_the_old_address_and_keeps_the_route() {
    let Some(env) = script_env() else { return };
    own_resolv_conf(&env);
    script(&env, "bound", &lease("10.77.0.5")).assert_ok();
    // Same subnet: the new address comes in as a secondary of the old one, which must not
    // take it along when it goes.
    script(&env, "renew", &lease("10.77.0.6")).assert_ok();
    assert_eq!(env.addrs("hbv0"), ["10.77.0.6/24"]);
    assert_eq!(env.route_count("default", "10.77.0.1", "hbv0"), 1);
    // Another subnet.
    let mut other = lease("10.88.0.7");
    other[2] = ("router", os("10.88.0.1"));
    script(&env, "renew", &other).assert_ok();
    assert_eq!(env.addrs("hbv0"), ["10.88.0.7/24"]);
    assert_eq!(env.route_count("default", "10.88.0.1", "hbv0"), 1);
}

#[test]
fn a_lease_without_router_or_dns_sets_the_address_alone() {
    let Some(env) = script_env() else { return };
    let resolv = own_resolv_conf(&env);
    let mut l = lease("10.77.0.5");
    l[2] = ("router", os(""));
    l[3] = ("dns", os(" "));
    script(&env, "bound", &l).assert_ok();
    assert_eq!(env.addrs("hbv0"), ["10.77.0.5/24"]);
    assert_eq!(env.route_count("default", "10.77.0.1", "hbv0"), 0);
    let text = std::fs::read_to_string(&resolv).unwrap();
    assert_eq!(text, "# the test's own\n");
}

#[test]
fn a_bad_mask_keeps_the_old_address() {
    let Some(env) = script_env() else { return };
    own_resolv_conf(&env);
    script(&env, "bound", &lease("10.77.0.5")).assert_ok();
    let before = env.snapshot();
    for mask in ["40", "0", "255.255.255.0", ""] {
        let mut l = lease("10.77.0.9");
        l[1] = ("mask", os(mask));
        let line = script(&env, "renew", &l).assert_one_line_failure();
        assert!(line.contains("mask"), "{mask}: {line}");
        assert_eq!(env.snapshot(), before, "mask {mask:?}");
    }
}

#[test]
fn what_is_not_a_unicast_ipv4_lease_is_refused() {
    let Some(env) = script_env() else { return };
    let resolv = own_resolv_conf(&env);
    let before = env.snapshot();
    for ip in [
        "fd00::5",
        "127.0.0.9",
        "0.0.0.0",
        "224.0.0.5",
        "255.255.255.255",
        "nonsense",
    ] {
        let line = script(&env, "bound", &lease(ip)).assert_one_line_failure();
        assert!(line.contains("lease"), "{ip}: {line}");
        assert_eq!(env.snapshot(), before, "{ip}");
    }
    let text = std::fs::read_to_string(&resolv).unwrap();
    assert_eq!(text, "# the test's own\n");
}

#[test]
fn a_failing_route_costs_neither_the_address_nor_dns() {
    let Some(env) = script_env() else { return };
    let resolv = own_resolv_conf(&env);
    let mut l = lease("10.77.0.5");
    // Not on any subnet of the interface: the kernel refuses the route.
    l[2] = ("router", os("10.99.0.1"));
    let line = script(&env, "bound", &l).assert_one_line_failure();
    assert!(line.contains("route"), "{line}");
    assert!(!line.contains("address"), "{line}");
    assert_eq!(env.addrs("hbv0"), ["10.77.0.5/24"]);
    let text = std::fs::read_to_string(&resolv).unwrap();
    assert!(text.contains("nameserver 10.77.0.53\n"), "{text}");
}

#[test]
fn a_bad_router_and_bad_dns_are_both_reported() {
    let Some(env) = script_env() else { return };
    let resolv = own_resolv_conf(&env);
    let mut l = lease("10.77.0.5");
    l[2] = ("router", os("127.0.0.1"));
    l[3] = ("dns", os("not-an-address"));
    let line = script(&env, "bound", &l).assert_one_line_failure();
    assert!(line.contains("route") && line.contains("dns"), "{line}");
    assert_eq!(env.addrs("hbv0"), ["10.77.0.5/24"]);
    // The host keeps the name servers it had rather than none.
    let text = std::fs::read_to_string(&resolv).unwrap();
    assert_eq!(text, "# the test's own\n");
}
