//! What the DHCP clients' scripts leave behind, whichever client runs: hotbond's script for
//! dhclient (`hotbond-udhcpc-script` with dhclient's `$reason`, no argument) keeps the static
//! addresses through a change of lease and removes only its own address when the lease ends;
//! and `hotbond down` takes back the DNS a lease brought.
//!
//! resolv.conf: the harness points the binaries at the test's own file. Run as root;
//! otherwise each test prints "SKIP: needs root" and passes, unless `HOTBOND_FULL_TESTS=1`.

mod common;

use std::time::Duration;

use common::{Env, Run, UDHCPC_SCRIPT};

const SETTLE: Duration = Duration::from_secs(10);
const ORIGINAL: &str = "# the test's own\nnameserver 10.99.0.1\n";

const BRIDGE: &str = r#"[[bond]]
name = "br0"
kind = "bridge"
addresses = ["10.77.0.250/24"]
[bond.dhcp]
client = "none"
[[bond.slave]]
name = "hbv*"
"#;

fn bridge_env() -> Option<(Env, std::path::PathBuf)> {
    let env = Env::new("hotbond.toml", BRIDGE)?;
    // The binaries' resolv.conf (HOTBOND_RESOLV_CONF, set by the harness).
    let resolv = env.dir.join("resolv.conf");
    std::fs::write(&resolv, ORIGINAL).unwrap();
    env.veth("hbv0", "hbp0", None);
    env.udev("add", "hbv0").assert_ok();
    env.wait_settled("br0", true, SETTLE);
    Some((env, resolv))
}

/// Runs the script as dhclient does: no argument, `reason` and the lease in the environment.
fn dhclient(env: &Env, reason: &str, vars: &[(&str, &str)]) -> Run {
    let mut all = vec![("reason", reason), ("interface", "br0")];
    all.extend_from_slice(vars);
    env.run_env(UDHCPC_SCRIPT, &[], &all)
}

fn lease<'a>(ip: &'a str, old: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("new_ip_address", ip),
        ("new_subnet_mask", "255.255.255.0"),
        ("new_routers", "10.77.0.1"),
        ("new_domain_name_servers", "10.77.0.53"),
        ("new_domain_name", "example.org"),
        ("old_ip_address", old),
    ]
}

#[test]
fn a_new_dhclient_lease_keeps_the_static_address() {
    let Some((env, resolv)) = bridge_env() else {
        return;
    };
    dhclient(&env, "PREINIT", &[]).assert_ok();
    dhclient(&env, "BOUND", &lease("10.77.0.5", "")).assert_ok();
    let mut addrs = env.addrs("br0");
    addrs.sort();
    assert_eq!(addrs, ["10.77.0.250/24", "10.77.0.5/24"]);
    assert_eq!(env.route_count("default", "10.77.0.1", "br0"), 1);
    let text = std::fs::read_to_string(&resolv).unwrap();
    assert!(text.contains("nameserver 10.77.0.53"), "{text}");

    // A NAK, then another address: Debian's script would flush br0 here.
    dhclient(&env, "BOUND", &lease("10.77.0.6", "10.77.0.5")).assert_ok();
    let mut addrs = env.addrs("br0");
    addrs.sort();
    assert_eq!(addrs, ["10.77.0.250/24", "10.77.0.6/24"]);

    // Released: its address and its DNS go, the static address stays.
    dhclient(&env, "RELEASE", &[("old_ip_address", "10.77.0.6")]).assert_ok();
    assert_eq!(env.addrs("br0"), ["10.77.0.250/24"]);
    assert_eq!(std::fs::read_to_string(&resolv).unwrap(), ORIGINAL);
}

#[test]
fn down_leaves_no_dns_from_the_lease() {
    let Some((env, resolv)) = bridge_env() else {
        return;
    };
    let r = env.run_env(
        UDHCPC_SCRIPT,
        &["bound"],
        &[
            ("interface", "br0"),
            ("ip", "10.77.0.5"),
            ("mask", "24"),
            ("dns", "10.77.0.53"),
        ],
    );
    r.assert_ok();
    let text = std::fs::read_to_string(&resolv).unwrap();
    assert!(text.contains("nameserver 10.77.0.53"), "{text}");
    env.hotbond(&["down", "br0"]).assert_ok();
    assert_eq!(std::fs::read_to_string(&resolv).unwrap(), ORIGINAL);
    assert!(!env.exists("br0"));
}
