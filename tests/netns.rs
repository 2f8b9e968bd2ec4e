//! Integration tests on this host's kernel, each in a fresh network namespace: the bridge
//! master variant end to end, idempotence and concurrency of the udev hook, remove, link
//! up/down with the settle job, bad input (names, configuration), the missing bonding
//! driver, rollback of a failed enslave, `hotbond down` (and its dry run) and `up`, the
//! seed's network.conf, and the settle job's DHCP client (a fake `dhcpcd` on PATH): exactly
//! one, replaced when the master's MAC changes or the master is made again, released by
//! `hotbond down`.
//!
//! The bond itself is proven in the VM test bed; here a bond-kind configuration must fail
//! cleanly on a host without the bonding driver (on a host with it those tests say they do
//! not apply).
//!
//! Run as root (`cargo test`). Otherwise each test prints "SKIP: needs root" and passes,
//! unless `HOTBOND_FULL_TESTS=1` (set by `tests/all`), which makes that a failure.

mod common;

use std::time::Duration;

use common::{file_line_col, Env, UDEV, WPA};

/// Generous bounds: these only matter when something is broken, and the machine may be a
/// busy 2-core one.
const SETTLE: Duration = Duration::from_secs(10);
/// A hook must not wait for the settle job, which waits for the bond as long as it takes.
const FAST: Duration = Duration::from_secs(4);

/// The seed's bridge master variant, with static addresses (IPv4 and IPv6) and a route.
const BRIDGE: &str = r#"# bridge variant
[[bond]]
name = "br0"
kind = "bridge"
addresses = ["10.55.0.1/24", "fd00:55::1/64"]
routes = ["10.66.0.0/16 via 10.55.0.254"]
[bond.dhcp]
client = "none"
[[bond.slave]]
name = "hbv*"
"#;

/// An active-backup bond: needs the bonding driver, which this kernel lacks.
const BOND: &str = r#"[[bond]]
name = "bond0"
primary = "hbv0"
addresses = ["10.55.0.1/24"]
[bond.dhcp]
client = "none"
[[bond.slave]]
name = "hbv*"
"#;

fn bridge_env() -> Option<Env> {
    Env::new("hotbond.toml", BRIDGE)
}

/// Asserts br0 as the BRIDGE config wants it: a bridge, up, one copy of each static
/// address, one copy of the route.
#[track_caller]
fn assert_bridge_configured(env: &Env) {
    assert_eq!(
        env.kind("br0").as_deref(),
        Some("bridge"),
        "{}",
        env.snapshot()
    );
    assert!(env.admin_up("br0"));
    let addrs = env.addrs("br0");
    for a in ["10.55.0.1/24", "fd00:55::1/64"] {
        assert_eq!(
            addrs.iter().filter(|x| *x == a).count(),
            1,
            "br0 should have {a} once: {addrs:?}"
        );
    }
    assert_eq!(
        env.route_count("10.66.0.0/16", "10.55.0.254", "br0"),
        1,
        "{:?}",
        env.routes()
    );
}

/// The port a hook enslaved: in br0, up, its own IPv4 address flushed.
#[track_caller]
fn assert_enslaved(env: &Env, iface: &str) {
    assert_eq!(
        env.master(iface).as_deref(),
        Some("br0"),
        "{}",
        env.snapshot()
    );
    assert!(env.admin_up(iface), "{iface} should be up");
    assert_eq!(
        env.addrs(iface),
        Vec::<String>::new(),
        "{iface} keeps no address"
    );
}

#[test]
fn bridge_variant_end_to_end() {
    let Some(env) = bridge_env() else { return };
    env.veth("hbv0", "hbp0", Some("10.9.9.9/24"));
    assert!(!env.exists("br0"));

    let r = env.udev("add", "hbv0");
    r.assert_ok();
    assert!(r.elapsed < FAST, "the hook took {:?}", r.elapsed);

    assert_bridge_configured(&env);
    assert_enslaved(&env, "hbv0");
    // The peer is not matched by the configuration: untouched.
    assert_eq!(env.master("hbp0"), None);
    assert_eq!(env.slave_record("hbv0").as_deref(), Some("br0"));

    // The settle job (detached) records that the bridge is ready once its port is up.
    let rec = env.wait_settled("br0", true, SETTLE);
    assert_eq!(rec["bond"], "br0");
    assert_eq!(rec["dhcp_action"], "none", "dhcp client = none: {rec:#}");
    assert_eq!(rec["mac"], env.link("br0").unwrap()["address"], "{rec:#}");

    let st = env.status("br0");
    assert_eq!(st["bond"], "br0");
    assert_eq!(st["kind"], "bridge");
    assert_eq!(st["exists"], true);
    assert_eq!(st["settled"], true, "{st:#}");
    assert_eq!(st["oper"], "up", "{st:#}");
    let addrs: Vec<&str> = st["addresses"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a.as_str())
        .collect();
    assert!(addrs.contains(&"10.55.0.1/24"), "{st:#}");
    assert!(addrs.contains(&"fd00:55::1/64"), "{st:#}");
    let slaves: Vec<&str> = st["slaves"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(slaves, ["hbv0"], "{st:#}");

    // Without a bond argument: a list with the one configured bridge.
    let all = env.hotbond(&["status", "--json"]);
    all.assert_ok();
    let v: serde_json::Value = serde_json::from_str(&all.stdout).unwrap();
    assert_eq!(v.as_array().map(|a| a.len()), Some(1), "{v:#}");
    // And for people.
    let text = env.hotbond(&["status", "br0"]);
    text.assert_ok();
    assert!(text.stdout.contains("br0: bridge"), "{text:#?}");
    assert!(text.stdout.contains("settled: yes"), "{text:#?}");
}

#[test]
fn add_is_idempotent() {
    let Some(env) = bridge_env() else { return };
    env.veth("hbv0", "hbp0", Some("10.9.9.9/24"));
    for i in 0..3 {
        let r = env.udev("add", "hbv0");
        assert!(r.ok(), "run {i}: {r:#?}");
    }
    // udev's own form: ACTION and INTERFACE in the environment, no arguments.
    env.run_env(UDEV, &[], &[("ACTION", "add"), ("INTERFACE", "hbv0")])
        .assert_ok();
    assert_bridge_configured(&env);
    assert_enslaved(&env, "hbv0");
    assert_eq!(env.links_of_kind("bridge"), ["br0"]);
    assert_eq!(env.ports("br0"), ["hbv0"]);
    // The bridge's own `add` event (udev sends one when hotbond creates it): harmless too.
    env.udev("add", "br0").assert_ok();
    env.udev("add", "br0").assert_ok();
    assert_bridge_configured(&env);
    assert_eq!(env.ports("br0"), ["hbv0"]);
    // wpa_cli's CONNECTED for a slave already in: harmless as well.
    env.run(WPA, &["hbv0", "CONNECTED"]).assert_ok();
    assert_eq!(env.ports("br0"), ["hbv0"]);
    assert_eq!(env.links_of_kind("bridge"), ["br0"]);
    // Events udev may send that are not ours: ignored, exit 0.
    env.udev("change", "hbv0").assert_ok();
    env.udev("move", "hbv0").assert_ok();
}

#[test]
fn concurrent_adds_make_one_bridge() {
    let Some(env) = bridge_env() else { return };
    let names: Vec<String> = (0..6).map(|i| format!("hbv{i}")).collect();
    for (i, n) in names.iter().enumerate() {
        env.veth(n, &format!("hbp{i}"), Some(&format!("10.9.{i}.9/24")));
    }
    // As udev does it: one RUN+= per device, all at once.
    let children: Vec<_> = names.iter().map(|n| env.spawn(UDEV, &["add", n])).collect();
    for (n, c) in names.iter().zip(children) {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "add {n}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(env.links_of_kind("bridge"), ["br0"], "{}", env.snapshot());
    assert_eq!(env.ports("br0"), names, "{}", env.snapshot());
    assert_bridge_configured(&env);
    for n in &names {
        assert_enslaved(&env, n);
        assert_eq!(env.slave_record(n).as_deref(), Some("br0"));
    }
    env.wait_settled("br0", true, SETTLE);
}

#[test]
fn remove_keeps_the_bridge_and_forgets_the_slave() {
    let Some(env) = bridge_env() else { return };
    env.veth("hbv0", "hbp0", None);
    env.udev("add", "hbv0").assert_ok();
    assert_eq!(env.slave_record("hbv0").as_deref(), Some("br0"));

    // Unplugged: the kernel removes the device (and releases it) before udev runs us.
    env.ip(&["link", "del", "hbv0"]);
    let r = env.udev("remove", "hbv0");
    r.assert_ok();
    assert!(r.elapsed < FAST, "the hook took {:?}", r.elapsed);
    assert_eq!(env.slave_record("hbv0"), None, "the slave record is gone");
    assert_bridge_configured(&env);
    assert_eq!(env.ports("br0"), Vec::<String>::new());

    // Again, in udev's form: harmless.
    env.run_env(UDEV, &[], &[("ACTION", "remove"), ("INTERFACE", "hbv0")])
        .assert_ok();
    // A device hotbond never enslaved: nothing to do, exit 0.
    env.udev("remove", "hbv7").assert_ok();
    assert_bridge_configured(&env);

    // Plugged in again: back in the bridge.
    env.veth("hbv0", "hbp0", None);
    env.udev("add", "hbv0").assert_ok();
    assert_eq!(env.ports("br0"), ["hbv0"]);
    env.wait_settled("br0", true, SETTLE);
}

#[test]
fn link_down_and_up_follow_the_settle_job() {
    let Some(env) = bridge_env() else { return };
    env.veth("hbv0", "hbp0", None);
    // The cable is out (peer down): the hook still returns at once, the job waits.
    env.ip(&["link", "set", "hbp0", "down"]);
    let r = env.udev("add", "hbv0");
    r.assert_ok();
    assert!(r.elapsed < FAST, "the hook waited: {:?}", r.elapsed);
    assert_enslaved(&env, "hbv0");
    let rec = env.wait_settled("br0", false, SETTLE);
    assert_eq!(rec["dhcp_action"], "waiting", "{rec:#}");
    assert_eq!(env.status("br0")["settled"], false);

    // Cable in: the waiting job wakes on the link event and records the bridge settled.
    env.ip(&["link", "set", "hbp0", "up"]);
    env.wait_settled("br0", true, SETTLE);
    assert_eq!(env.status("br0")["settled"], true);
    let job = one_settle_job(&env);

    // Cable out again (no udev event for that): the same job sees the bridge lose its
    // forwarding port and records it not ready.
    env.ip(&["link", "set", "hbp0", "down"]);
    assert!(
        common::wait_for(SETTLE, || env.operstate("br0").as_deref() == Some("DOWN")),
        "br0 should lose its carrier: {:?}",
        env.operstate("br0")
    );
    let rec = env.wait_settled("br0", false, SETTLE);
    assert!(
        rec["reason"].as_str().unwrap_or("").contains("br0"),
        "{rec:#}"
    );
    assert_eq!(env.status("br0")["settled"], false);
    // Replaying by hand (the manual re-invocation) is harmless: still the one job.
    env.hotbond(&["replay", "hbv0"]).assert_ok();
    assert_eq!(one_settle_job(&env), job);

    // And in again: settled again, the bridge and its port untouched throughout.
    env.ip(&["link", "set", "hbp0", "up"]);
    env.wait_settled("br0", true, SETTLE);
    assert_eq!(env.status("br0")["settled"], true);
    assert_bridge_configured(&env);
    assert_eq!(env.ports("br0"), ["hbv0"]);

    // wpa_cli's DISCONNECTED makes sure the job runs too; other events are ignored.
    env.run(WPA, &["hbv0", "DISCONNECTED"]).assert_ok();
    env.run(WPA, &["hbv0", "SCANNING"]).assert_ok();
    env.wait_settled("br0", true, SETTLE);
    assert_eq!(one_settle_job(&env), job);
}

/// The bond's job (`hotbond-settle`) processes running in the namespace.
fn settle_jobs(env: &Env) -> Vec<i32> {
    env.processes()
        .into_iter()
        .filter(|p| {
            std::fs::read(format!("/proc/{p}/cmdline"))
                .is_ok_and(|c| c.windows(14).any(|w| w == b"hotbond-settle"))
        })
        .collect()
}

/// Exactly one job runs for the bond (and stays): returns its pid.
#[track_caller]
fn one_settle_job(env: &Env) -> i32 {
    let mut jobs = Vec::new();
    let ok = common::wait_for(SETTLE, || {
        jobs = settle_jobs(env);
        jobs.len() == 1
    });
    assert!(ok, "expected one settle job, got {jobs:?}");
    jobs[0]
}

/// `hotbond status` says whether the bridge has settled: a bridge that loses its only port's
/// carrier is not, whatever the job last recorded.
#[test]
fn status_is_not_settled_while_the_bridge_is_down() {
    let Some(env) = bridge_env() else { return };
    env.veth("hbv0", "hbp0", None);
    env.udev("add", "hbv0").assert_ok();
    env.wait_settled("br0", true, SETTLE);
    env.ip(&["link", "set", "hbp0", "down"]);
    assert!(common::wait_for(SETTLE, || {
        env.operstate("br0").as_deref() == Some("DOWN")
    }));
    let st = env.status("br0");
    assert_eq!(st["oper"], "down", "{st:#}");
    assert_eq!(
        st["settled"], false,
        "a bridge without carrier is not settled: {st:#}"
    );
}

#[test]
fn unknown_interface_is_ignored() {
    let Some(env) = bridge_env() else { return };
    env.veth("xyz0", "xyp0", Some("10.8.8.8/24"));
    let before = env.snapshot();
    for action in ["add", "remove"] {
        let r = env.udev(action, "xyz0");
        r.assert_ok();
        assert_eq!(r.stderr, "", "{r:#?}");
    }
    // An interface that does not exist at all, and the wpa hook for an unknown one.
    env.udev("add", "nosuch0").assert_ok();
    env.run(WPA, &["xyz0", "CONNECTED"]).assert_ok();
    assert!(!env.exists("br0"));
    assert_eq!(env.snapshot(), before);
    assert!(!env.run_dir.join("slaves").exists());
}

#[test]
fn invalid_interface_names_are_refused() {
    let Some(env) = bridge_env() else { return };
    env.veth("hbv0", "hbp0", Some("10.9.9.9/24"));
    let before = env.snapshot();
    for name in [
        "a b",
        "x/y",
        "hbv0123456789abc",
        "hbv0123456789abcdef",
        "",
        "..",
    ] {
        let r = env.udev("add", name);
        let line = r.assert_one_line_failure();
        if !name.is_empty() {
            assert!(line.contains(name), "{name:?}: {line}");
        }
        assert!(line.contains("interface name"), "{name:?}: {line}");
        // The same through udev's environment, and through the other entry points.
        let r = env.run_env(UDEV, &[], &[("ACTION", "add"), ("INTERFACE", name)]);
        r.assert_one_line_failure();
        env.udev("remove", name).assert_one_line_failure();
        env.run(WPA, &[name, "CONNECTED"]).assert_one_line_failure();
        env.hotbond(&["replay", name]).assert_one_line_failure();
    }
    // Not a name problem, but bad invocations all the same: one line, non-zero.
    let line = env.udev("plug", "hbv0").assert_one_line_failure();
    assert!(line.contains("plug"), "{line}");
    env.run(UDEV, &[]).assert_one_line_failure();
    env.run(WPA, &[]).assert_one_line_failure();
    env.hotbond(&["frobnicate"]).assert_code_nonzero();
    env.hotbond(&["up", "x/y"]).assert_one_line_failure();
    env.hotbond(&["down", "a b"]).assert_one_line_failure();
    // A well-formed name that is not a configured bond.
    let line = env.hotbond(&["up", "br9"]).assert_one_line_failure();
    assert!(line.contains("br9"), "{line}");
    assert!(!env.exists("br0"));
    assert_eq!(env.snapshot(), before);
    assert!(!env.run_dir.join("slaves").exists());
}

/// A bond's job started for a name that is not a configured bond fails at once and leaves
/// no pid file behind (a stale one would pass for a job of that name).
#[test]
fn a_job_for_no_configured_bond_leaves_no_pid_file() {
    let Some(env) = bridge_env() else { return };
    for name in ["nosuch0", "x/y"] {
        let line = env.run(common::SETTLE, &[name]).assert_one_line_failure();
        assert!(line.contains(name), "{line}");
    }
    let jobs = env.run_dir.join("jobs");
    let left: Vec<_> = std::fs::read_dir(&jobs)
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?} in {}", jobs.display());
}

#[test]
fn malformed_configuration_is_refused_with_its_position() {
    let Some(env) = bridge_env() else { return };
    env.veth("hbv0", "hbp0", Some("10.9.9.9/24"));
    let before = env.snapshot();
    let cases: [(&str, (usize, usize), &str); 3] = [
        // Bad TOML: an unterminated array, reported where the parser gives up (5:1).
        (
            "[[bond]]\nname = \"br0\"\nkind = \"bridge\"\naddresses = [\"10.55.0.1/24\"\n[[bond.slave]]\nname = \"hbv*\"\n",
            (5, 1),
            "array",
        ),
        // A bad address: at its string, 4:14.
        (
            "[[bond]]\nname = \"br0\"\nkind = \"bridge\"\naddresses = [\"10.55.0.300/24\"]\n[[bond.slave]]\nname = \"hbv*\"\n",
            (4, 14),
            "10.55.0.300",
        ),
        // An unknown key (a typo): 3:1.
        (
            "[[bond]]\nname = \"br0\"\nkindd = \"bridge\"\n[[bond.slave]]\nname = \"hbv*\"\n",
            (3, 1),
            "kindd",
        ),
    ];
    for (text, want, what) in cases {
        env.write_config(text);
        let r = env.udev("add", "hbv0");
        let line = r.assert_one_line_failure();
        assert_eq!(file_line_col(&line, &env.config), Some(want), "{line}");
        assert!(line.contains(what), "{line}");
        // `hotbond check` says the same, exit non-zero.
        let chk = env.hotbond(&["check", env.config.to_str().unwrap()]);
        let cl = chk.assert_one_line_failure();
        assert_eq!(file_line_col(&cl, &env.config), Some(want), "{cl}");
        // Nothing changed.
        assert_eq!(env.snapshot(), before);
    }

    // A valid configuration: check exits 0, and says so.
    env.write_config(BRIDGE);
    let chk = env.hotbond(&["check", env.config.to_str().unwrap()]);
    chk.assert_ok();
    assert!(chk.stdout.contains("valid"), "{chk:#?}");
    // Without FILE: HOTBOND_CONFIG.
    env.hotbond(&["check"]).assert_ok();
    // A file that does not exist.
    let missing = env.dir.join("nope.toml");
    env.hotbond(&["check", missing.to_str().unwrap()])
        .assert_one_line_failure();

    // World-writable: refused (the binaries run as root), nothing changed.
    env.chmod_config(0o666);
    let line = env.udev("add", "hbv0").assert_one_line_failure();
    assert!(line.contains("writable"), "{line}");
    env.hotbond(&["check", env.config.to_str().unwrap()])
        .assert_one_line_failure();
    // Group-writable too.
    env.chmod_config(0o664);
    env.udev("add", "hbv0").assert_one_line_failure();
    assert_eq!(env.snapshot(), before);
    assert!(!env.exists("br0"));

    // Back to 0644: it works.
    env.chmod_config(0o644);
    env.udev("add", "hbv0").assert_ok();
    assert_bridge_configured(&env);
}

#[test]
fn missing_bonding_driver_fails_cleanly() {
    if let Some(how) = common::host_bonding() {
        common::not_applicable(&format!("needs a kernel without bonding; it is {how} here"));
        return;
    }
    let Some(env) = Env::new("hotbond.toml", BOND) else {
        return;
    };
    env.veth("hbv0", "hbp0", Some("10.9.9.9/24"));
    let before = env.snapshot();
    let r = env.udev("add", "hbv0");
    let line = r.assert_one_line_failure();
    assert!(line.contains("bonding"), "{line}");
    assert!(!env.exists("bond0"));
    assert_eq!(env.addrs("hbv0"), ["10.9.9.9/24"]);
    assert!(env.admin_up("hbv0"));
    assert_eq!(env.master("hbv0"), None);
    assert_eq!(env.snapshot(), before);
    assert_eq!(env.slave_record("hbv0"), None);
    // `hotbond up` says the same.
    let line = env.hotbond(&["up", "bond0"]).assert_one_line_failure();
    assert!(line.contains("bonding"), "{line}");
    assert_eq!(env.snapshot(), before);
    // Nothing is left running for the bond that could not be made (its job is asked for
    // first, and taken back).
    assert!(env.wait_quiet(SETTLE), "{:?}", env.processes());
}

#[test]
fn missing_bonding_driver_reason_names_the_driver() {
    // The fake modprobe below stands in for a loadable driver, not for a loaded one.
    if common::host_bonding() == Some("loaded") {
        common::not_applicable("needs the bonding driver not loaded; it is loaded here");
        return;
    }
    let Some(mut env) = Env::new("hotbond.toml", BOND) else {
        return;
    };
    // A modprobe that exists but cannot find the module, as on a kernel without it.
    env.fake_program(
        "modprobe",
        "#!/bin/sh\necho \"modprobe: FATAL: Module $1 not found in directory /lib/modules/test\" >&2\nexit 1\n",
    );
    env.veth("hbv0", "hbp0", Some("10.9.9.9/24"));
    let before = env.snapshot();
    let line = env.udev("add", "hbv0").assert_one_line_failure();
    assert!(line.contains("bonding driver is not available"), "{line}");
    assert!(line.contains("Module bonding not found"), "{line}");
    assert!(!env.exists("bond0"));
    assert_eq!(env.snapshot(), before);
}

#[test]
fn failed_enslave_rolls_back() {
    let config = r#"[[bond]]
name = "br0"
kind = "bridge"
addresses = ["10.55.0.1/24"]
routes = ["10.66.0.0/16 via 10.55.0.254"]
[bond.dhcp]
client = "none"
[[bond.slave]]
name = "lo"
[[bond.slave]]
name = "hbq*"
"#;
    let Some(env) = Env::new("hotbond.toml", config) else {
        return;
    };
    // A bridge cannot be a port of another bridge.
    env.ip(&["link", "add", "hbq0", "type", "bridge"]);
    env.ip(&["addr", "add", "10.7.7.7/24", "dev", "hbq0"]);
    env.ip(&["link", "set", "hbq0", "up"]);
    let before = env.snapshot();
    let lo_addrs = env.addrs("lo");
    assert!(
        lo_addrs.contains(&"127.0.0.1/8".to_string()),
        "{lo_addrs:?}"
    );

    for dev in ["lo", "hbq0"] {
        let line = env.udev("add", dev).assert_one_line_failure();
        assert!(line.contains(dev), "{line}");
        // The bridge this run created is gone again, with its route.
        assert!(!env.exists("br0"), "{dev}: {}", env.snapshot());
        // The device is as it was: addresses, up, no master.
        assert_eq!(env.addrs(dev), env_addrs_before(&before, dev), "{dev}");
        assert!(env.admin_up(dev), "{dev} should be up again");
        assert_eq!(env.master(dev), None);
        assert_eq!(env.slave_record(dev), None);
        // Everything else as it was too. (Re-adding ::1 by netlink makes the kernel add
        // a "::1 dev lo" prefix route to the main table: the kernel's, left out.)
        assert_eq!(
            without_lo_routes(&env.snapshot()),
            without_lo_routes(&before),
            "{dev}"
        );
    }
}

fn without_lo_routes(snapshot: &str) -> String {
    snapshot
        .lines()
        .filter(|l| !(l.starts_with("route ") && l.ends_with("\"lo\")")))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The addresses a snapshot line recorded for `dev`.
fn env_addrs_before(snapshot: &str, dev: &str) -> Vec<String> {
    let line = snapshot
        .lines()
        .find(|l| l.starts_with(&format!("{dev} ")))
        .unwrap_or_else(|| panic!("{dev} not in {snapshot}"));
    let list = line.split("addrs=").nth(1).unwrap();
    list.trim_matches(|c| c == '[' || c == ']')
        .split(", ")
        .filter(|s| !s.is_empty())
        .map(|s| s.trim_matches('"').to_string())
        .collect()
}

#[test]
fn down_and_up() {
    let Some(env) = bridge_env() else { return };
    env.veth("hbv0", "hbp0", None);
    env.veth("hbv1", "hbp1", None);
    env.udev("add", "hbv0").assert_ok();
    env.udev("add", "hbv1").assert_ok();
    assert_eq!(env.ports("br0"), ["hbv0", "hbv1"]);
    env.wait_settled("br0", true, SETTLE);

    let r = env.hotbond(&["down", "br0"]);
    r.assert_ok();
    assert!(!env.exists("br0"), "{}", env.snapshot());
    assert!(
        !env.routes()
            .iter()
            .any(|(d, _, _)| d.starts_with("10.66.") || d.starts_with("10.55.")),
        "{:?}",
        env.routes()
    );
    for s in ["hbv0", "hbv1"] {
        assert_eq!(env.master(s), None);
        assert!(env.admin_up(s), "{s} released and up");
        assert_eq!(env.slave_record(s), None);
    }
    assert!(
        env.settle_record("br0").is_none(),
        "the record goes with the bridge"
    );
    assert_eq!(env.status("br0")["exists"], false);
    // Down again: nothing to do, exit 0.
    env.hotbond(&["down", "br0"]).assert_ok();

    let r = env.hotbond(&["up", "br0"]);
    r.assert_ok();
    assert_bridge_configured(&env);
    assert_eq!(env.ports("br0"), ["hbv0", "hbv1"]);
    for s in ["hbv0", "hbv1"] {
        assert_enslaved(&env, s);
        assert_eq!(env.slave_record(s).as_deref(), Some("br0"));
    }
    env.wait_settled("br0", true, SETTLE);
    // Up again: idempotent.
    env.hotbond(&["up", "br0"]).assert_ok();
    assert_bridge_configured(&env);
    assert_eq!(env.ports("br0"), ["hbv0", "hbv1"]);
}

#[test]
fn down_dry_run_prints_the_plan_and_changes_nothing() {
    let Some(env) = bridge_env() else { return };
    env.veth("hbv0", "hbp0", None);
    env.veth("hbv1", "hbp1", None);
    env.udev("add", "hbv0").assert_ok();
    env.udev("add", "hbv1").assert_ok();
    env.wait_settled("br0", true, SETTLE);
    let before = env.snapshot();
    let jobs = env.processes();

    let r = env.hotbond(&["down", "--dry-run", "br0"]);
    r.assert_ok();
    // One line per step, in the order `down` takes them.
    let want = [
        "would release the DHCP lease of br0 (if its client runs)",
        "would stop the settle job and DHCP client of br0 and wait until it is gone",
        "would remove route 10.66.0.0/16 via 10.55.0.254 from br0",
        "would remove address 10.55.0.1/24 from br0",
        "would remove address fd00:55::1/64 from br0",
        "would stop wpa_supplicant on hbv0 and wait until it is gone",
        "would stop wpa_supplicant on hbv1 and wait until it is gone",
        "would release hbv0 from br0",
        "would release hbv1 from br0",
        "would delete br0",
        "would forget the recorded state of br0",
    ];
    let got: Vec<&str> = r
        .stdout
        .lines()
        .filter_map(|l| l.trim().strip_prefix("would ").map(|_| l.trim()))
        .collect();
    assert_eq!(got, want, "{r:#?}");

    assert_eq!(env.snapshot(), before, "a dry run changes nothing");
    assert_eq!(env.processes(), jobs, "the bridge's job still runs");
    assert!(env.settle_record("br0").is_some());
    for s in ["hbv0", "hbv1"] {
        assert_eq!(env.slave_record(s).as_deref(), Some("br0"));
    }
    // The real thing does what the dry run said.
    env.hotbond(&["down", "br0"]).assert_ok();
    assert!(!env.exists("br0"), "{}", env.snapshot());
    // Of a master that is gone: its job and records only.
    let r = env.hotbond(&["down", "--dry-run", "br0"]);
    r.assert_ok();
    assert!(r.stdout.contains("br0 does not exist"), "{r:#?}");
    assert!(!r.stdout.contains("would delete"), "{r:#?}");
}

#[test]
fn seed_network_conf_with_a_bridge() {
    // The seed's file, with the bridge master: systemd EnvironmentFile syntax.
    let conf = "\
# These Environment names are formed by prefixing the base variable name with the interface names.
# hbv0 br0
br0PRIMARY='hbv0'
br0ADDRS='10.57.0.1/24 fd00:57::1/64'
hbv0ADDRS=
br0ROUTES='\"10.67.0.0/16 via 10.57.0.254\"'
";
    let Some(env) = Env::new("network.conf", conf) else {
        return;
    };
    env.veth("hbv0", "hbp0", Some("10.9.9.9/24"));
    let r = env.udev("add", "hbv0");
    r.assert_ok();
    assert_eq!(
        env.kind("br0").as_deref(),
        Some("bridge"),
        "{}",
        env.snapshot()
    );
    assert_eq!(env.master("hbv0").as_deref(), Some("br0"));
    assert_eq!(env.addrs("hbv0"), Vec::<String>::new());
    let addrs = env.addrs("br0");
    assert!(addrs.contains(&"10.57.0.1/24".to_string()), "{addrs:?}");
    assert!(addrs.contains(&"fd00:57::1/64".to_string()), "{addrs:?}");
    assert_eq!(env.route_count("10.67.0.0/16", "10.57.0.254", "br0"), 1);
    // The peer is virtual: the seed's "any physical interface" does not take it.
    env.udev("add", "hbp0").assert_ok();
    assert_eq!(env.master("hbp0"), None);
    assert_eq!(env.ports("br0"), ["hbv0"]);
    // check reads it too.
    env.hotbond(&["check"]).assert_ok();
}

#[test]
fn replay_dry_run_changes_nothing() {
    let Some(env) = bridge_env() else { return };
    env.veth("hbv0", "hbp0", Some("10.9.9.9/24"));
    let before = env.snapshot();
    let r = env.hotbond(&["replay", "--dry-run", "hbv0"]);
    r.assert_ok();
    assert!(r.stdout.contains("would create bridge br0"), "{r:#?}");
    assert!(r.stdout.contains("would enslave hbv0 to br0"), "{r:#?}");
    // Without interfaces: every configured one present now.
    let r = env.hotbond(&["replay", "--dry-run"]);
    r.assert_ok();
    assert!(r.stdout.contains("hbv0"), "{r:#?}");
    assert_eq!(env.snapshot(), before);
    assert!(!env.exists("br0"));
    assert!(env.processes().is_empty(), "a dry run starts no job");
    // An interface that does not exist: a one-line error.
    let line = env
        .hotbond(&["replay", "--dry-run", "nosuch0"])
        .assert_one_line_failure();
    assert!(line.contains("nosuch0"), "{line}");
    // The real thing.
    env.hotbond(&["replay"]).assert_ok();
    assert_bridge_configured(&env);
    assert_enslaved(&env, "hbv0");
}

/// Every test left nothing behind: checked by the guard's drop; here only that the harness
/// itself can see processes in a namespace and kill them (a settle job that waits).
#[test]
fn harness_kills_detached_jobs() {
    let Some(env) = bridge_env() else { return };
    env.veth("hbv0", "hbp0", None);
    env.ip(&["link", "set", "hbp0", "down"]);
    env.udev("add", "hbv0").assert_ok();
    // The settle job waits (up to 5 s) for a carrier that does not come.
    assert!(common::wait_for(SETTLE, || !env.processes().is_empty()));
    let ns = env.ns.clone();
    let dir = env.dir.clone();
    drop(env);
    assert!(
        !std::path::Path::new("/run/netns").join(&ns).exists(),
        "{ns} deleted"
    );
    assert!(!dir.exists(), "{} removed", dir.display());
}

/// A bridge with a DHCP client: a fake `dhcpcd` on PATH that logs its start and sleeps.
fn dhcp_env() -> Option<Env> {
    let config = BRIDGE.replace(
        "client = \"none\"",
        "client = \"dhcpcd\"\nclient_id = \"mac\"",
    );
    let mut env = Env::new("hotbond.toml", &config)?;
    let log = env.dir.join("dhcpcd.log");
    // hotbond knows its running client by the pid, start time and executable it saw when it
    // started it, so the fake's long-running part stays bash (no child: a builtin `read` on
    // a fifo nobody writes), titled as dhcpcd titles itself.
    let fifo = env.dir.join("never");
    // A harness failure, not a reason to skip the DHCP tests.
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).expect("make the fake's fifo");
    env.fake_program(
        "dhcpcd",
        &format!(
            "#!/bin/bash\ncase \"$*\" in *--release*) echo \"release $*\" >> {log}; exit 0;; esac\necho \"$$ $*\" >> {log}\nexec -a 'dhcpcd: br0 [ip4]' /bin/bash -c 'read -t 60 <> {fifo}'\n",
            log = log.display(),
            fifo = fifo.display()
        ),
    );
    Some(env)
}

/// The DHCP clients running in the namespace (the fake, titled `dhcpcd: br0 [ip4]`).
fn dhcp_clients(env: &Env) -> Vec<i32> {
    const TITLE: &[u8] = b"dhcpcd: br0 [ip4]\x00-c\x00";
    env.processes()
        .into_iter()
        .filter(|p| {
            std::fs::read(format!("/proc/{p}/cmdline"))
                .is_ok_and(|c| c.windows(TITLE.len()).any(|w| w == TITLE))
        })
        .collect()
}

#[test]
fn settle_job_starts_exactly_one_dhcp_client() {
    let Some(env) = dhcp_env() else { return };
    env.veth("hbv0", "hbp0", None);
    env.udev("add", "hbv0").assert_ok();
    let rec = env.wait_settled("br0", true, SETTLE);
    assert_eq!(rec["dhcp_action"], "started", "{rec:#}");
    assert!(common::wait_for(SETTLE, || dhcp_clients(&env).len() == 1));
    let st = env.status("br0");
    assert_eq!(st["dhcp"]["client"], "dhcpcd", "{st:#}");
    assert_eq!(st["dhcp"]["running"], true, "{st:#}");
    assert_eq!(st["dhcp"]["started_with_mac"], st["mac"], "{st:#}");
    assert_eq!(st["dhcp"]["pid"], dhcp_clients(&env)[0], "{st:#}");

    // Asking again: the running client is kept, and the job too.
    let first = dhcp_clients(&env)[0];
    let job = one_settle_job(&env);
    env.udev("add", "hbv0").assert_ok();
    env.hotbond(&["replay", "hbv0"]).assert_ok();
    one_job_and_client(&env);
    assert_eq!(dhcp_clients(&env), [first]);
    assert_eq!(one_settle_job(&env), job);

    // The bridge's MAC changes (a port with a lower MAC joins): the client that speaks for
    // the old MAC is replaced (dhcpcd only logs a MAC change), still exactly one.
    env.veth("hbv1", "hbp1", None);
    env.ip(&["link", "set", "hbv1", "address", "02:00:00:00:00:01"]);
    env.udev("add", "hbv1").assert_ok();
    assert!(
        common::wait_for(SETTLE, || env.link("br0").unwrap()["address"]
            == "02:00:00:00:00:01"),
        "br0 should take the lowest port MAC"
    );
    let ok = common::wait_for(SETTLE, || {
        env.settle_record("br0").is_some_and(|r| {
            r["settled"] == true
                && r["mac"] == "02:00:00:00:00:01"
                && r["dhcp_action"] == "reacquired"
        }) && env.status("br0")["dhcp"]["started_with_mac"] == "02:00:00:00:00:01"
    });
    assert!(ok, "{:#?}", env.settle_record("br0"));
    one_job_and_client(&env);
    assert_eq!(one_settle_job(&env), job, "the same job re-acquired");
    let clients = dhcp_clients(&env);
    assert_eq!(clients.len(), 1, "{clients:?}");
    assert_ne!(clients[0], first, "a new client for the new MAC");
    let st = env.status("br0");
    assert_eq!(
        st["dhcp"]["started_with_mac"], "02:00:00:00:00:01",
        "{st:#}"
    );
    assert_eq!(st["dhcp"]["mac_current"], true, "{st:#}");

    // Down: the lease is released first, then the client stopped; nothing keeps running.
    env.hotbond(&["down", "br0"]).assert_ok();
    let log = std::fs::read_to_string(env.dir.join("dhcpcd.log")).unwrap();
    assert!(
        log.lines()
            .any(|l| l.starts_with("release ") && l.ends_with(" br0")),
        "{log}"
    );
    assert!(env.wait_quiet(SETTLE), "{:?}", env.processes());
    assert!(!env.exists("br0"));
}

/// Waits until what runs in the namespace is the bond's one job and its one DHCP client.
#[track_caller]
fn one_job_and_client(env: &Env) {
    let ok = common::wait_for(SETTLE, || {
        dhcp_clients(env).len() == 1 && settle_jobs(env).len() == 1 && env.processes().len() == 2
    });
    assert!(ok, "expected one job and one client: {:?}", env.processes());
}

/// The master deleted behind hotbond's back (no `remove` hook ran) and made again by the next
/// plug: the same port and MAC, but another interface. The job that outlived it must not keep
/// the old client, which speaks for an interface that is gone.
#[test]
fn a_master_made_again_gets_a_new_dhcp_client() {
    let Some(env) = dhcp_env() else { return };
    env.veth("hbv0", "hbp0", None);
    env.udev("add", "hbv0").assert_ok();
    env.wait_settled("br0", true, SETTLE);
    one_job_and_client(&env);
    let first = dhcp_clients(&env)[0];
    let job = one_settle_job(&env);

    env.ip(&["link", "del", "br0"]);
    assert!(
        common::wait_for(SETTLE, || dhcp_clients(&env).is_empty()),
        "the client of the deleted br0 should be stopped: {:?}",
        env.processes()
    );
    env.udev("add", "hbv0").assert_ok();
    env.wait_settled("br0", true, SETTLE);
    one_job_and_client(&env);
    let clients = dhcp_clients(&env);
    assert_ne!(clients[0], first, "a new client for the new br0");
    assert_eq!(one_settle_job(&env), job, "the same job");
    let st = env.status("br0");
    assert_eq!(st["dhcp"]["pid"], clients[0], "{st:#}");
    assert_eq!(st["dhcp"]["running"], true, "{st:#}");
}

#[test]
fn concurrent_adds_start_one_dhcp_client() {
    let Some(env) = dhcp_env() else { return };
    let names: Vec<String> = (0..6).map(|i| format!("hbv{i}")).collect();
    for (i, n) in names.iter().enumerate() {
        env.veth(n, &format!("hbp{i}"), None);
    }
    let children: Vec<_> = names.iter().map(|n| env.spawn(UDEV, &["add", n])).collect();
    for c in children {
        assert!(c.wait_with_output().unwrap().status.success());
    }
    assert_eq!(env.ports("br0"), names);
    env.wait_settled("br0", true, SETTLE);
    let ok = common::wait_for(SETTLE, || {
        dhcp_clients(&env).len() == 1 && settle_jobs(&env).len() == 1
    });
    let clients = dhcp_clients(&env);
    let log = std::fs::read_to_string(env.dir.join("dhcpcd.log")).unwrap_or_default();
    assert!(
        ok,
        "one job and one DHCP client on br0: {clients:?}, jobs {:?}\nstarts:\n{log}",
        settle_jobs(&env)
    );
    // The bridge's MAC follows its ports while they join, so the job may re-acquire once more
    // after the count settled: what status records must catch up with the one client.
    let agrees = || {
        let st = env.status("br0");
        let c = dhcp_clients(&env);
        c.len() == 1 && st["dhcp"]["pid"] == c[0] && st["dhcp"]["started_with_mac"] == st["mac"]
    };
    let ok = common::wait_for(SETTLE, agrees);
    let st = env.status("br0");
    assert!(
        ok,
        "status names the one client, started with the bridge's MAC: {:?}\n{st:#}",
        dhcp_clients(&env)
    );
}
