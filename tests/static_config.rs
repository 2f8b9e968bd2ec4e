//! The static addresses and routes of a master (`addresses`, `routes`) survive whatever a
//! DHCP client's script does to the interface: Debian's dhclient-script flushes every
//! address of it when the leased address changes (a NAK, then a new lease), and the kernel
//! drops the routes through them. The bond's job puts them back.
//!
//! Run as root (`cargo test`), in a fresh network namespace each; otherwise each test prints
//! "SKIP: needs root" and passes, unless `HOTBOND_FULL_TESTS=1`.

mod common;

use std::time::Duration;

use common::Env;

const SETTLE: Duration = Duration::from_secs(10);

const BRIDGE: &str = r#"[[bond]]
name = "br0"
kind = "bridge"
addresses = ["10.55.0.1/24", "fd00:55::1/64"]
routes = ["10.66.0.0/16 via 10.55.0.254"]
[bond.dhcp]
client = "none"
[[bond.slave]]
name = "hbv*"
"#;

/// br0 has its static addresses and its route, each once.
fn configured(env: &Env) -> bool {
    let addrs = env.addrs("br0");
    ["10.55.0.1/24", "fd00:55::1/64"]
        .iter()
        .all(|a| addrs.iter().filter(|x| x == a).count() == 1)
        && env.route_count("10.66.0.0/16", "10.55.0.254", "br0") == 1
}

/// `ip ... flush` as dhclient-script runs it, ignoring its status: `ip` flushes in rounds
/// until nothing is left, and when the job puts a static address back between two rounds it
/// may give up with "Flush remains incomplete". Whether it does is timing, not hotbond.
fn flush(env: &Env, args: &[&str]) {
    let _ = env.run("ip", args);
}

#[test]
fn static_addresses_and_routes_come_back_after_a_flush() {
    let Some(env) = Env::new("hotbond.toml", BRIDGE) else {
        return;
    };
    env.veth("hbv0", "hbp0", None);
    env.udev("add", "hbv0").assert_ok();
    env.wait_settled("br0", true, SETTLE);
    assert!(configured(&env), "{}", env.snapshot());

    // A new lease replaces an old one as dhclient-script does it: flush, then add.
    env.ip(&["addr", "add", "10.55.0.77/24", "dev", "br0"]);
    flush(&env, &["-4", "addr", "flush", "dev", "br0", "label", "br0"]);
    env.ip(&["addr", "add", "10.55.0.78/24", "dev", "br0"]);
    assert!(
        common::wait_for(SETTLE, || configured(&env)),
        "static configuration not restored: {}",
        env.snapshot()
    );
    assert!(
        env.addrs("br0").contains(&"10.55.0.78/24".to_string()),
        "the lease stays"
    );

    // IPv6 and a route alone.
    flush(
        &env,
        &["-6", "addr", "flush", "dev", "br0", "scope", "global"],
    );
    assert!(
        common::wait_for(SETTLE, || configured(&env)),
        "{}",
        env.snapshot()
    );
    env.ip(&["route", "del", "10.66.0.0/16"]);
    assert!(
        common::wait_for(SETTLE, || configured(&env)),
        "{}",
        env.snapshot()
    );

    // `hotbond down` takes them away for good: the job is stopped first.
    env.hotbond(&["down", "br0"]).assert_ok();
    assert!(env.wait_quiet(SETTLE), "{:?}", env.processes());
    assert!(!env.exists("br0"));
}
