//! The bond's job with the built-in DHCP client (`client = "builtin"`) against a real
//! dnsmasq: the bridge variant in one namespace, the server in another, joined by a veth
//! pair. Covered: the lease on the bridge with the lease's lifetime and its default route,
//! its DNS in the (test's) resolv.conf, the lease file, `hotbond status --json`; a job killed with SIGKILL leaves the address;
//! the next job asks for the same address again from the lease file; `hotbond down`
//! releases the lease (the server forgets it) and removes the address and the DNS.
//!
//! Needs root and dnsmasq (Debian: dnsmasq-base).

mod common;

use std::fs;
use std::ops::Deref;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use common::dnsmasq::{DnsmasqWorld, Pool};
use common::{wait_for, Env};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(15);

const CONFIG: &str = r#"[[bond]]
name = "br0"
kind = "bridge"
addresses = ["10.78.1.1/24"]
[bond.dhcp]
client = "builtin"
client_id = "mac"
route_metric = 777
[[bond.slave]]
name = "hbv*"
"#;

/// 10.78.0.50-99 for 10 min, with a DNS server and a domain.
const POOL: Pool = Pool {
    net: 78,
    range: (50, 99),
    lease_time: "10m",
    options: &["6,10.78.0.53", "15,test.lan"],
};

struct World(DnsmasqWorld);

impl Deref for World {
    type Target = DnsmasqWorld;
    fn deref(&self) -> &DnsmasqWorld {
        &self.0
    }
}

fn world() -> Option<World> {
    let cli = Env::new("hotbond.toml", CONFIG)?;
    DnsmasqWorld::new(cli, "hbv0", None, POOL).map(World)
}

impl World {
    /// br0's address from the pool and its valid lifetime, once there.
    fn leased(&self) -> Option<(String, Value)> {
        let v: Value = serde_json::from_str(&self.cli.ip(&["-j", "addr", "show", "br0"])).ok()?;
        v[0]["addr_info"]
            .as_array()?
            .iter()
            .find(|a| {
                a["local"]
                    .as_str()
                    .is_some_and(|l| l.starts_with("10.78.0."))
            })
            .map(|a| {
                (
                    a["local"].as_str().unwrap().to_string(),
                    a["valid_life_time"].clone(),
                )
            })
    }

    #[track_caller]
    fn wait_lease(&self) -> (String, Value) {
        let mut got = None;
        let ok = wait_for(WAIT, || {
            got = self.leased();
            got.is_some()
        });
        assert!(
            ok,
            "no lease on br0: {}\nserver log:\n{}",
            self.cli.ip(&["addr", "show", "br0"]),
            self.server_log()
        );
        got.unwrap()
    }
}

#[test]
fn builtin_lease_survives_sigkill_and_is_released_by_down() {
    let Some(w) = world() else { return };
    let resolv = w.cli.dir.join("resolv.conf");
    fs::write(&resolv, "nameserver 192.0.2.99\n").unwrap();
    w.cli.udev("add", "hbv0").assert_ok();
    let (addr, valid) = w.wait_lease();
    // The kernel holds the lease's lifetime (10 min), not forever.
    let valid = valid.as_u64().expect("a finite valid lifetime");
    assert!(valid > 500 && valid <= 600, "valid lifetime {valid}");
    // The static address is left as configured; the default route comes with the lease.
    assert!(w.cli.addrs("br0").contains(&"10.78.1.1/24".to_string()));
    let routes = w.cli.ip(&["route", "show", "default"]);
    assert!(
        routes.contains("via 10.78.0.1 dev br0") && routes.contains("metric 777"),
        "{routes}"
    );
    // The lease file, root only.
    let lease_file = w.cli.state_dir.join("br0.lease");
    assert!(wait_for(WAIT, || lease_file.exists()), "no lease file");
    let mode = fs::metadata(&lease_file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    assert!(fs::read_to_string(&lease_file).unwrap().contains(&addr));
    // The lease's DNS went to the resolver (here the file backend).
    let text = fs::read_to_string(&resolv).unwrap();
    assert!(
        text.contains("nameserver 10.78.0.53") && text.contains("test.lan"),
        "{text}"
    );
    // Status says BOUND with the server.
    let ok = wait_for(WAIT, || {
        w.cli.status("br0")["dhcp"]["builtin"]["state"] == "BOUND"
    });
    let st = w.cli.status("br0");
    assert!(ok, "{st:#}");
    assert_eq!(st["dhcp"]["client"], "builtin");
    assert_eq!(st["dhcp"]["builtin"]["server"], "10.78.0.1");
    assert!(st["dhcp"]["builtin"]["lease_left_s"].as_u64().unwrap() > 500);

    // SIGKILL (how the unit stops the job): nothing is unconfigured.
    let job = w.settle_job().expect("the settle job runs");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(job),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    assert!(
        wait_for(WAIT, || w.settle_job().is_none()),
        "the job did not die"
    );
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(w.leased().map(|l| l.0), Some(addr.clone()));

    // The next job asks again for the same address (INIT-REBOOT from the lease file).
    w.cli.udev("add", "hbv0").assert_ok();
    let ok = wait_for(WAIT, || {
        w.cli.status("br0")["dhcp"]["builtin"]["state"] == "BOUND"
            && w.cli.status("br0")["dhcp"]["running"] == true
    });
    assert!(ok, "{:#}", w.cli.status("br0"));
    assert_eq!(w.leased().map(|l| l.0), Some(addr.clone()));
    assert_eq!(
        w.server_log().matches("DHCPDISCOVER").count(),
        1,
        "{}",
        w.server_log()
    );

    // `hotbond down`: RELEASE (the server forgets the lease), the address is gone. dnsmasq
    // writes its leases file after its ACK, so the client can be BOUND a moment before it.
    assert!(
        wait_for(WAIT, || w.server_addresses().contains(&addr)),
        "the server never recorded {addr}:\n{}",
        w.server_log()
    );
    w.cli.hotbond(&["down", "br0"]).assert_ok();
    assert!(
        wait_for(WAIT, || !w.server_addresses().contains(&addr)),
        "the server still holds {addr}:\n{}",
        w.server_log()
    );
    assert!(w.server_log().contains("DHCPRELEASE"), "{}", w.server_log());
    assert!(!lease_file.exists(), "the lease file stays after a release");
    let text = fs::read_to_string(&resolv).unwrap();
    assert!(
        !text.contains("10.78.0.53"),
        "DNS left after a release: {text}"
    );
    assert!(w.settle_job().is_none());
}

#[test]
fn builtin_keeps_the_address_across_a_mac_change_and_a_new_master() {
    let Some(w) = world() else { return };
    // The stable client identifier: the server knows the host whatever the MAC.
    w.cli
        .write_config(&CONFIG.replace("client_id = \"mac\"", "client_id = \"duid\""));
    w.cli.udev("add", "hbv0").assert_ok();
    let (addr, _) = w.wait_lease();
    let mac_leased = |mac: &str| {
        fs::read_to_string(w.leases_file())
            .unwrap_or_default()
            .lines()
            .any(|l| l.contains(mac) && l.contains(&format!(" {addr} ")))
    };
    // A failover, as the bridge can show it: the master's MAC changes. The job asks again
    // from the new MAC for the same address, without a DISCOVER and without a release.
    w.cli
        .ip(&["link", "set", "br0", "address", "02:78:00:00:00:02"]);
    assert!(
        wait_for(WAIT, || mac_leased("02:78:00:00:00:02")),
        "the lease did not move to the new MAC: {}\n{}",
        fs::read_to_string(w.leases_file()).unwrap_or_default(),
        w.server_log()
    );
    assert_eq!(w.leased().map(|l| l.0), Some(addr.clone()));
    assert_eq!(w.server_log().matches("DHCPDISCOVER").count(), 1);
    assert!(!w.server_log().contains("DHCPRELEASE"));

    // The master deleted and made again: a new interface, the same address asked for.
    w.cli.ip(&["link", "del", "br0"]);
    w.cli.udev("add", "hbv0").assert_ok();
    let (again, _) = w.wait_lease();
    assert_eq!(again, addr);
    assert_eq!(
        w.server_log().matches("DHCPDISCOVER").count(),
        1,
        "{}",
        w.server_log()
    );
}

#[test]
fn hooks_hear_of_the_lease_in_order_until_down() {
    let Some(w) = world() else { return };
    // The stable client identifier: the same address whatever the MAC.
    w.cli
        .write_config(&CONFIG.replace("client_id = \"mac\"", "client_id = \"duid\""));
    let hooks = w.cli.dir.join("hooks.d");
    fs::create_dir(&hooks).unwrap();
    fs::set_permissions(&hooks, fs::Permissions::from_mode(0o755)).unwrap();
    let record = w.cli.dir.join("events");
    let hook = hooks.join("50-record");
    fs::write(
        &hook,
        format!(
            "#!/bin/sh\necho \"$HOTBOND_EVENT $HOTBOND_BOND $HOTBOND_ADDRESS $HOTBOND_GATEWAY $HOTBOND_DNS\" >> {}\n",
            record.display()
        ),
    )
    .unwrap();
    fs::set_permissions(&hook, fs::Permissions::from_mode(0o755)).unwrap();
    let lines = || -> Vec<String> {
        fs::read_to_string(&record)
            .unwrap_or_default()
            .lines()
            .map(|l| l.trim_end().to_string())
            .collect()
    };

    w.cli.udev("add", "hbv0").assert_ok();
    let (addr, _) = w.wait_lease();
    let leased = format!("lease br0 {addr}/24 10.78.0.1 10.78.0.53");
    let want = vec!["bond-up br0".to_string(), leased.clone()];
    assert!(wait_for(WAIT, || lines() == want), "{:?}", lines());

    // The master's MAC changes: the same address, granted again to the new MAC.
    w.cli
        .ip(&["link", "set", "br0", "address", "02:78:00:00:00:02"]);
    let want = [want, vec![leased.clone()]].concat();
    assert!(wait_for(WAIT, || lines() == want), "{:?}", lines());

    // Down: the lease is lost, then the bond is down; both heard before down returns.
    w.cli.hotbond(&["down", "br0"]).assert_ok();
    let want = [
        want,
        vec![
            format!("lease-lost br0 {addr}/24 10.78.0.1 10.78.0.53"),
            "bond-down br0".to_string(),
        ],
    ]
    .concat();
    assert_eq!(lines(), want);
}
