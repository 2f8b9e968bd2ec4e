//! A real DHCP server for the namespace tests: dnsmasq in a namespace of its own, joined to
//! the client's namespace by a veth pair. Dropping the world stops the server, then both
//! namespaces go.

use std::fs;
use std::path::PathBuf;
use std::process::Child;
use std::time::Duration;

use super::{wait_for, Env};

/// The server's end of the veth pair, in its namespace.
pub const SERVER_IF: &str = "s0";

/// How long dnsmasq may take to start.
const START: Duration = Duration::from_secs(15);

/// What the server hands out: addresses 10.NET.0.LO-HI of 10.NET.0.0/24 (the server is
/// 10.NET.0.1) for `lease_time` (dnsmasq's notation), with `options` (`--dhcp-option=`
/// values).
#[derive(Clone, Copy, Debug)]
pub struct Pool {
    pub net: u8,
    pub range: (u8, u8),
    pub lease_time: &'static str,
    pub options: &'static [&'static str],
}

/// The client's namespace (`cli`, with the configuration under test) and the server's
/// (`srv`), and the server.
pub struct DnsmasqWorld {
    pub cli: Env,
    pub srv: Env,
    dnsmasq: Option<Child>,
    /// The network the server's address is on now.
    net: Option<u8>,
}

impl DnsmasqWorld {
    /// A server namespace joined to `cli` by a veth pair whose client end is `client_if`
    /// (given `client_mac`, if any), both ends up, and dnsmasq serving `pool`. None when not
    /// root; without dnsmasq installed it fails.
    pub fn new(
        cli: Env,
        client_if: &str,
        client_mac: Option<&str>,
        pool: Pool,
    ) -> Option<DnsmasqWorld> {
        let srv = Env::new("unused.toml", "")?;
        assert!(
            hotbond::dhcp::find_program("dnsmasq").is_some(),
            "dnsmasq is not installed: these tests need a real DHCP server \
             (Debian: apt-get install dnsmasq-base)"
        );
        cli.ip(&[
            "link", "add", client_if, "type", "veth", "peer", "name", SERVER_IF, "netns", &srv.ns,
        ]);
        srv.ip(&["link", "set", SERVER_IF, "up"]);
        if let Some(mac) = client_mac {
            cli.ip(&["link", "set", client_if, "address", mac]);
        }
        cli.ip(&["link", "set", client_if, "up"]);
        let mut w = DnsmasqWorld {
            cli,
            srv,
            dnsmasq: None,
            net: None,
        };
        w.serve(pool);
        Some(w)
    }

    /// (Re)starts dnsmasq with an empty lease file, serving `pool`; on another network than
    /// before, the server's address moves there first (the network a client wakes up on).
    pub fn serve(&mut self, pool: Pool) {
        self.stop_server();
        let net = pool.net;
        if self.net != Some(net) {
            if self.net.is_some() {
                self.srv.ip(&["addr", "flush", "dev", SERVER_IF]);
            }
            self.srv
                .ip(&["addr", "add", &format!("10.{net}.0.1/24"), "dev", SERVER_IF]);
            self.net = Some(net);
        }
        fs::write(self.leases_file(), "").unwrap();
        let d = &self.srv.dir;
        let (lo, hi) = pool.range;
        let mut args = vec![
            "--keep-in-foreground".to_string(),
            "--conf-file=/dev/null".into(),
            "--port=0".into(),
            "--user=root".into(),
            format!("--interface={SERVER_IF}"),
            "--bind-interfaces".into(),
            "--dhcp-authoritative".into(),
            "--log-dhcp".into(),
            "--no-ping".into(),
            format!(
                "--dhcp-range=10.{net}.0.{lo},10.{net}.0.{hi},255.255.255.0,{}",
                pool.lease_time
            ),
        ];
        args.extend(pool.options.iter().map(|o| format!("--dhcp-option={o}")));
        args.extend([
            format!("--dhcp-leasefile={}", self.leases_file().display()),
            format!("--log-facility={}", d.join("dnsmasq.log").display()),
            format!("--pid-file={}", d.join("dnsmasq.pid").display()),
        ]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.dnsmasq = Some(self.srv.spawn("dnsmasq", &args));
        // Ready once it has written its pid file.
        assert!(
            wait_for(START, || d.join("dnsmasq.pid").exists()),
            "dnsmasq did not start: {}",
            self.server_log()
        );
    }

    pub fn stop_server(&mut self) {
        if let Some(mut c) = self.dnsmasq.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = fs::remove_file(self.srv.dir.join("dnsmasq.pid"));
    }

    pub fn server_log(&self) -> String {
        fs::read_to_string(self.srv.dir.join("dnsmasq.log")).unwrap_or_default()
    }

    pub fn leases_file(&self) -> PathBuf {
        self.srv.dir.join("dnsmasq.leases")
    }

    /// dnsmasq's lease file: "expiry mac address hostname client-id" per line.
    pub fn server_leases(&self) -> Vec<Vec<String>> {
        fs::read_to_string(self.leases_file())
            .unwrap_or_default()
            .lines()
            .map(|l| l.split_whitespace().map(str::to_string).collect())
            .collect()
    }

    /// The addresses dnsmasq holds a lease for.
    pub fn server_addresses(&self) -> Vec<String> {
        self.server_leases()
            .into_iter()
            .filter_map(|mut r| (r.len() > 2).then(|| r.swap_remove(2)))
            .collect()
    }

    /// The bond's job running in the client's namespace, if any.
    pub fn settle_job(&self) -> Option<i32> {
        self.cli.processes().into_iter().find(|p| {
            fs::read(format!("/proc/{p}/cmdline"))
                .is_ok_and(|c| c.starts_with(b"/") && c.windows(14).any(|w| w == b"hotbond-settle"))
        })
    }
}

impl Drop for DnsmasqWorld {
    fn drop(&mut self) {
        self.stop_server();
    }
}
