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

use std::fs;
use std::time::{Duration, Instant};

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

struct World {
    cli: Env,
    srv: Env,
    dnsmasq: Option<std::process::Child>,
}

impl Drop for World {
    fn drop(&mut self) {
        self.stop_server();
    }
}

fn world() -> Option<World> {
    let cli = Env::new("hotbond.toml", CONFIG)?;
    let srv = Env::new("unused.toml", "")?;
    assert!(
        hotbond::dhcp::find_program("dnsmasq").is_some(),
        "dnsmasq is not installed: these tests need a real DHCP server \
         (Debian: apt-get install dnsmasq-base)"
    );
    cli.ip(&[
        "link", "add", "hbv0", "type", "veth", "peer", "name", "s0", "netns", &srv.ns,
    ]);
    srv.ip(&["link", "set", "s0", "up"]);
    cli.ip(&["link", "set", "hbv0", "up"]);
    let mut w = World {
        cli,
        srv,
        dnsmasq: None,
    };
    w.serve(81);
    Some(w)
}

impl World {
    /// The server on 10.NET.0.1/24, handing out 10.NET.0.50-99 with an empty lease file.
    fn serve(&mut self, net: u8) {
        self.stop_server();
        self.srv.ip(&["addr", "flush", "dev", "s0"]);
        self.srv
            .ip(&["addr", "add", &format!("10.{net}.0.1/24"), "dev", "s0"]);
        let d = &self.srv.dir;
        fs::write(d.join("dnsmasq.leases"), "").unwrap();
        let args = [
            "--keep-in-foreground".to_string(),
            "--conf-file=/dev/null".into(),
            "--port=0".into(),
            "--user=root".into(),
            "--interface=s0".into(),
            "--bind-interfaces".into(),
            "--dhcp-authoritative".into(),
            "--log-dhcp".into(),
            "--no-ping".into(),
            format!("--dhcp-range=10.{net}.0.50,10.{net}.0.99,255.255.255.0,10m"),
            format!("--dhcp-leasefile={}", d.join("dnsmasq.leases").display()),
            format!("--log-facility={}", d.join("dnsmasq.log").display()),
            format!("--pid-file={}", d.join("dnsmasq.pid").display()),
        ];
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.dnsmasq = Some(self.srv.spawn("dnsmasq", &args));
        assert!(
            wait_for(WAIT, || d.join("dnsmasq.pid").exists()),
            "dnsmasq did not start: {}",
            self.server_log()
        );
    }

    fn stop_server(&mut self) {
        if let Some(mut c) = self.dnsmasq.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = fs::remove_file(self.srv.dir.join("dnsmasq.pid"));
    }

    fn server_log(&self) -> String {
        fs::read_to_string(self.srv.dir.join("dnsmasq.log")).unwrap_or_default()
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

    fn job(&self) -> Option<i32> {
        self.cli.processes().into_iter().find(|p| {
            fs::read(format!("/proc/{p}/cmdline"))
                .is_ok_and(|c| c.starts_with(b"/") && c.windows(14).any(|w| w == b"hotbond-settle"))
        })
    }
}

#[test]
fn waking_on_another_network_gets_a_lease_there_at_once() {
    let Some(mut w) = world() else { return };
    w.cli.udev("add", "hbv0").assert_ok();
    let old = w.wait_lease(81);
    let job = w.job().expect("the bond's job runs");

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
    assert_eq!(w.job(), Some(job), "the job must carry on, not be replaced");
    let routes = w.cli.ip(&["route", "show", "default"]);
    assert!(routes.contains("via 10.82.0.1 dev br0"), "{routes}");

    // Again: harmless, the same address confirmed.
    w.cli.hotbond(&["sleep", "post", "suspend"]).assert_ok();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(w.wait_lease(82), new);
    assert_eq!(w.job(), Some(job));
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
