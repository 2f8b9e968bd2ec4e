//! `hotbond sleep`, as the systemd-sleep hook runs it, with the bond's job and its built-in
//! DHCP client against a real dnsmasq (the bridge variant in one namespace, the server in
//! another, joined by a veth pair). Waking up on another network with the link up all along:
//! `post` has the job confirm its lease at once, the server there refuses the old address,
//! and a lease on the new subnet follows; the job stays the same and the static address
//! stays. Bad words are refused with one line and exit 2; `pre` changes nothing; without a
//! job running `post` is harmless.
//!
//! Needs root and dnsmasq (Debian: dnsmasq-base).

mod common;

use std::ops::Deref;
use std::time::{Duration, Instant};

use common::dnsmasq::{DnsmasqWorld, Pool};
use common::{wait_for, Env};

const WAIT: Duration = Duration::from_secs(15);

const CONFIG: &str = r#"[[bond]]
name = "br0"
kind = "bridge"
addresses = ["10.81.1.1/24"]
[bond.dhcp]
client = "builtin"
[[bond.slave]]
name = "hbv*"
"#;

/// The server on 10.NET.0.1/24, handing out 10.NET.0.50-99.
fn pool(net: u8) -> Pool {
    Pool {
        net,
        range: (50, 99),
        lease_time: "10m",
        options: &[],
    }
}

struct World(DnsmasqWorld);

impl Deref for World {
    type Target = DnsmasqWorld;
    fn deref(&self) -> &DnsmasqWorld {
        &self.0
    }
}

fn world() -> Option<World> {
    let cli = Env::new("hotbond.toml", CONFIG)?;
    DnsmasqWorld::new(cli, "hbv0", None, pool(81)).map(World)
}

impl World {
    /// The server moves to 10.NET.0.1/24 and restarts there with an empty lease file.
    fn serve(&mut self, net: u8) {
        self.0.serve(pool(net));
    }

    /// br0's leased address on 10.NET.0.0/24, if any.
    fn leased(&self, net: u8) -> Option<String> {
        let prefix = format!("10.{net}.0.");
        self.cli
            .addrs("br0")
            .into_iter()
            .find(|a| a.starts_with(&prefix) && a.ends_with("/24"))
    }

    #[track_caller]
    fn wait_lease(&self, net: u8) -> String {
        let ok = wait_for(WAIT, || self.leased(net).is_some());
        assert!(
            ok,
            "no lease on 10.{net}.0.0/24: {:?}\nserver log:\n{}",
            self.cli.addrs("br0"),
            self.server_log()
        );
        self.leased(net).unwrap()
    }
}

#[test]
fn waking_on_another_network_gets_a_lease_there_at_once() {
    let Some(mut w) = world() else { return };
    w.cli.udev("add", "hbv0").assert_ok();
    let old = w.wait_lease(81);
    let job = w.settle_job().expect("the bond's job runs");

    w.cli.hotbond(&["sleep", "pre", "suspend"]).assert_ok();
    assert_eq!(w.leased(81), Some(old.clone()), "pre changed the address");

    // Asleep: the laptop is carried to another network; the link never goes down.
    w.serve(82);
    let asked = Instant::now();
    w.cli.hotbond(&["sleep", "post", "suspend"]).assert_ok();
    let new = w.wait_lease(82);
    let took = asked.elapsed();
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert!(w.server_log().contains("DHCPNAK"), "{}", w.server_log());
    let addrs = w.cli.addrs("br0");
    assert!(!addrs.contains(&old), "{old} is still there: {addrs:?}");
    assert!(addrs.contains(&"10.81.1.1/24".to_string()), "{addrs:?}");
    assert_eq!(
        w.settle_job(),
        Some(job),
        "the job must carry on, not be replaced"
    );
    let routes = w.cli.ip(&["route", "show", "default"]);
    assert!(routes.contains("via 10.82.0.1 dev br0"), "{routes}");

    // Again: harmless, the same address confirmed.
    w.cli.hotbond(&["sleep", "post", "suspend"]).assert_ok();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(w.wait_lease(82), new);
    assert_eq!(w.settle_job(), Some(job));
}

#[test]
fn bad_words_are_refused_and_nothing_running_is_harmless() {
    let Some(w) = world() else { return };
    for args in [
        ["sleep", "post", "nap"],
        ["sleep", "resume", "suspend"],
        ["sleep", "", ""],
    ] {
        let r = w.cli.hotbond(&args);
        let line = r.assert_one_line_failure();
        assert_eq!(r.code, Some(2), "{r:#?}");
        assert!(line.contains("unknown"), "{line}");
    }
    // No job runs and no NIC is enslaved yet: the replay makes the bridge, nothing fails.
    w.cli.hotbond(&["sleep", "post", "hibernate"]).assert_ok();
    w.cli.hotbond(&["sleep", "post", "hibernate"]).assert_ok();
    assert!(w.cli.hotbond(&["sleep", "--help"]).ok());
}
