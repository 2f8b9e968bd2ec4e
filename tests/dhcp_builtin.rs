//! hotbond's in-process DHCP client against a real server: dnsmasq in one namespace, the
//! client in another, joined by a veth pair. The client's driver runs in a thread that
//! entered the client's namespace; the test carries out its address actions with `ip`, as
//! the bond's job will with netlink. Covered: a lease from the pool for our client id and
//! MAC, renewal, a NAK once the server forgot the lease and a new lease after it, a MAC
//! change answered in one round trip with the same address for the new MAC, RELEASE, and a
//! confirmation (after a resume) answered by a server on another subnet with a NAK and then
//! a lease there.
//!
//! Needs root and dnsmasq (Debian: dnsmasq-base). Without dnsmasq the tests fail.

mod common;

use std::fs;
use std::net::Ipv4Addr;
use std::ops::Deref;
use std::os::fd::AsRawFd;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use common::dnsmasq::{DnsmasqWorld, Pool};
use common::{wait_for, Env};
use hotbond::dhcp::builtin::{boot_time, Action, Builtin, Config, Lease, Link, State};
use hotbond::dhcp::stable_client_id;
use hotbond::kernel::Kernel;
use hotbond::net::{IpNet, Mac};

const WAIT: Duration = Duration::from_secs(8);
const POOL_A: (u8, u8) = (50, 99);
const POOL_B: (u8, u8) = (100, 149);

/// The server's pool on 10.NET.0.0/24: addresses 10.NET.0.LO-HI for 2 min.
fn pool(net: u8, range: (u8, u8)) -> Pool {
    Pool {
        net,
        range,
        lease_time: "2m",
        options: &[],
    }
}

/// Both namespaces and the server. Dropping it stops the server.
struct World(DnsmasqWorld);

impl Deref for World {
    type Target = DnsmasqWorld;
    fn deref(&self) -> &DnsmasqWorld {
        &self.0
    }
}

fn world() -> Option<World> {
    let cli = Env::new("unused.toml", "")?;
    DnsmasqWorld::new(cli, "c0", Some("02:77:00:00:00:01"), pool(77, POOL_A)).map(World)
}

impl World {
    /// (Re)starts dnsmasq with an empty lease file and addresses 10.77.0.LO-HI.
    fn serve(&mut self, range: (u8, u8)) {
        self.0.serve(pool(77, range));
    }

    /// The server moves to 10.NET.0.1/24 (the network the client wakes up on) and restarts
    /// there with an empty lease file and addresses 10.NET.0.LO-HI.
    fn renumber(&mut self, net: u8, range: (u8, u8)) {
        self.0.serve(pool(net, range));
    }

    fn link(&self) -> Link {
        let v: serde_json::Value =
            serde_json::from_str(&self.cli.ip(&["-j", "link", "show", "c0"])).unwrap();
        Link {
            ifindex: v[0]["ifindex"].as_u64().unwrap() as u32,
            mac: v[0]["address"].as_str().unwrap().parse().unwrap(),
        }
    }

    /// The kernel's valid lifetime of `addr` on c0, in seconds.
    fn valid_lifetime(&self, addr: Ipv4Addr) -> Option<u64> {
        let v: serde_json::Value =
            serde_json::from_str(&self.cli.ip(&["-j", "addr", "show", "c0"])).unwrap();
        v[0]["addr_info"]
            .as_array()?
            .iter()
            .find(|a| a["local"].as_str() == Some(&addr.to_string()))?["valid_life_time"]
            .as_u64()
    }

    fn client_addrs(&self) -> Vec<String> {
        self.cli.addrs("c0")
    }
}

enum Command {
    LinkChanged(Link),
    Confirm,
    Release,
    Stop,
}

/// What the client did, as the test sees it.
#[derive(Default)]
struct Seen {
    actions: Vec<Action>,
    state: Option<State>,
    lease: Option<Lease>,
}

/// The client running in a thread inside the client's namespace.
struct Client {
    tx: Sender<Command>,
    seen: Arc<Mutex<Seen>>,
    thread: Option<JoinHandle<()>>,
}

fn client_id() -> Vec<u8> {
    stable_client_id("bond0", "0123456789abcdef0123456789abcdef")
}

impl Client {
    /// A client that renews every 2 s.
    fn start(w: &World) -> Client {
        Client::start_renewing(w, Some(Duration::from_secs(2)))
    }

    fn start_renewing(w: &World, renew_after: Option<Duration>) -> Client {
        let mut config = Config::new("c0");
        config.client_id = Some(client_id());
        config.hostname = Some("hotbond-test".into());
        config.first_retransmit = Duration::from_millis(500);
        config.renew_after = renew_after;
        let (tx, rx) = mpsc::channel();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let ns = w.cli.ns.clone();
        let link = w.link();
        let s = Arc::clone(&seen);
        let thread = std::thread::spawn(move || run_client(&ns, config, link, rx, s));
        Client {
            tx,
            seen,
            thread: Some(thread),
        }
    }

    fn send(&self, c: Command) {
        self.tx.send(c).unwrap();
    }

    fn state(&self) -> Option<State> {
        self.seen.lock().unwrap().state
    }

    fn lease(&self) -> Option<Lease> {
        self.seen.lock().unwrap().lease.clone()
    }

    fn actions(&self) -> Vec<Action> {
        self.seen.lock().unwrap().actions.clone()
    }

    /// Waits for the `n`th action (from 1) matching `f`.
    #[track_caller]
    fn wait_action(&self, n: usize, f: impl Fn(&Action) -> bool, what: &str, w: &World) {
        let ok = wait_for(WAIT, || self.actions().iter().filter(|a| f(a)).count() >= n);
        assert!(
            ok,
            "no {what}; actions: {:?}\nserver log:\n{}",
            self.actions(),
            w.server_log()
        );
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.tx.send(Command::Stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The driver's loop, as the bond's job runs it: poll the fds until the deadline, turn.
fn run_client(ns: &str, config: Config, link: Link, rx: Receiver<Command>, seen: Arc<Mutex<Seen>>) {
    let f = fs::File::open(format!("/run/netns/{ns}")).unwrap();
    // SAFETY: setns on this thread only, with a valid namespace fd.
    assert_eq!(unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) }, 0);
    let mut k = Kernel::open().unwrap();
    let mut b = Builtin::new(config);
    let mut actions = b.start(link, None);
    loop {
        for a in &actions {
            carry_out(&mut k, link.ifindex, a);
        }
        {
            let mut s = seen.lock().unwrap();
            s.actions.append(&mut actions);
            s.state = Some(b.state());
            s.lease = b.lease().cloned();
        }
        match rx.try_recv() {
            Ok(Command::LinkChanged(l)) => actions = b.link_changed(l),
            Ok(Command::Release) => actions = b.release(),
            Ok(Command::Confirm) => actions = b.confirm(),
            Ok(Command::Stop) | Err(mpsc::TryRecvError::Disconnected) => return,
            Err(mpsc::TryRecvError::Empty) => {
                let mut fds: Vec<_> = b
                    .fds()
                    .into_iter()
                    .map(|fd| nix::poll::PollFd::new(fd, nix::poll::PollFlags::POLLIN))
                    .collect();
                let _ = nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(20u8));
                drop(fds);
                actions = b.turn();
            }
        }
    }
}

/// What the bond's job will do: the address with the lease's lifetimes, replaced in place
/// on renewal.
fn carry_out(k: &mut Kernel, ifindex: u32, a: &Action) {
    match a {
        Action::Apply(l) | Action::Renew(l) => {
            let life = l.lifetime_secs(boot_time());
            k.replace_address_lifetimes(ifindex, &net(l), life, life)
                .unwrap();
        }
        Action::Remove(l) => k.del_address(ifindex, &net(l)).unwrap(),
        Action::Persist(_) => {}
    }
}

fn net(l: &Lease) -> IpNet {
    IpNet {
        addr: l.address.into(),
        prefix: l.prefix_len,
    }
}

fn in_pool(a: Ipv4Addr, (lo, hi): (u8, u8)) -> bool {
    let o = a.octets();
    o[..3] == [10, 77, 0] && (lo..=hi).contains(&o[3])
}

fn bound(c: &Client, w: &World) -> Lease {
    c.wait_action(1, |a| matches!(a, Action::Apply(_)), "lease applied", w);
    assert!(wait_for(WAIT, || c.state() == Some(State::Bound)));
    c.lease().unwrap()
}

fn hex_colon(b: &[u8]) -> String {
    b.iter()
        .map(|x| format!("{x:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[test]
fn lease_renewal_and_release_with_dnsmasq() {
    let Some(w) = world() else { return };
    let c = Client::start(&w);
    let l = bound(&c, &w);
    assert!(in_pool(l.address, POOL_A), "{l:?}");
    assert_eq!(l.server, Ipv4Addr::new(10, 77, 0, 1));
    assert_eq!(l.prefix_len, 24);
    assert_eq!(l.lease_time, Duration::from_secs(120));
    assert!(w.client_addrs().contains(&format!("{}/24", l.address)));
    // The kernel drops the address when the lease runs out, should nobody else do it.
    let life = w.valid_lifetime(l.address).unwrap();
    assert!((100..=120).contains(&life), "valid lifetime {life}");
    let mac = w.link().mac.to_string();
    let row = w
        .server_leases()
        .into_iter()
        .find(|r| r.get(2) == Some(&l.address.to_string()))
        .unwrap_or_else(|| panic!("no lease in dnsmasq's file: {:?}", w.server_leases()));
    assert_eq!(row[1], mac);
    assert_eq!(row[3], "hotbond-test");
    assert_eq!(row[4], hex_colon(&client_id()));

    // T1 forced to 2 s: a unicast renewal, answered, the same address with fresh lifetimes.
    c.wait_action(1, |a| matches!(a, Action::Renew(_)), "renewal", &w);
    let renewed = c.lease().unwrap();
    assert_eq!(renewed.address, l.address);
    assert!(renewed.acquired > l.acquired);
    assert!(!c.actions().iter().any(|a| matches!(a, Action::Remove(_))));

    c.send(Command::Release);
    c.wait_action(1, |a| matches!(a, Action::Remove(_)), "removal", &w);
    assert!(!w.client_addrs().contains(&format!("{}/24", l.address)));
    assert!(
        wait_for(WAIT, || w.server_leases().is_empty()),
        "dnsmasq still holds the lease after RELEASE: {:?}\n{}",
        w.server_leases(),
        w.server_log()
    );
}

#[test]
fn nak_after_the_server_forgot_then_a_new_lease() {
    let Some(mut w) = world() else { return };
    let c = Client::start(&w);
    let old = bound(&c, &w);
    // The server forgets everything and now hands out another range.
    w.serve(POOL_B);
    // The renewal at T1 is NAKed: the address goes, and a new one comes from the new pool.
    c.wait_action(
        1,
        |a| matches!(a, Action::Remove(_)),
        "removal after the NAK",
        &w,
    );
    c.wait_action(2, |a| matches!(a, Action::Apply(_)), "a second lease", &w);
    let new = c.lease().unwrap();
    assert!(in_pool(new.address, POOL_B), "{new:?}");
    assert!(w.server_log().contains("DHCPNAK"), "{}", w.server_log());
    let addrs = w.client_addrs();
    assert!(addrs.contains(&format!("{}/24", new.address)), "{addrs:?}");
    assert!(!addrs.contains(&format!("{}/24", old.address)), "{addrs:?}");
}

#[test]
fn mac_change_keeps_the_address_in_one_round_trip() {
    let Some(w) = world() else { return };
    let c = Client::start(&w);
    let l = bound(&c, &w);
    let before = c.actions().len();
    w.cli
        .ip(&["link", "set", "c0", "address", "02:77:00:00:00:02"]);
    let link = w.link();
    assert_eq!(link.mac, "02:77:00:00:00:02".parse::<Mac>().unwrap());
    c.send(Command::LinkChanged(link));
    c.wait_action(1, |a| matches!(a, Action::Renew(_)), "re-acquisition", &w);
    let after: Vec<Action> = c.actions().split_off(before);
    assert!(
        after
            .iter()
            .all(|a| matches!(a, Action::Renew(_) | Action::Persist(_))),
        "the address must never go: {after:?}"
    );
    assert_eq!(c.lease().unwrap().address, l.address);
    assert!(w.client_addrs().contains(&format!("{}/24", l.address)));
    assert!(
        wait_for(WAIT, || w
            .server_leases()
            .iter()
            .any(|r| r.get(1) == Some(&link.mac.to_string())
                && r.get(2) == Some(&l.address.to_string()))),
        "dnsmasq's lease is not for the new MAC: {:?}",
        w.server_leases()
    );
    assert!(
        !w.server_log().contains("DHCPRELEASE"),
        "{}",
        w.server_log()
    );
}

#[test]
fn confirm_on_another_network_gets_a_nak_then_a_lease_there() {
    let Some(mut w) = world() else { return };
    // T1 a minute away: only the confirmation can find out.
    let c = Client::start_renewing(&w, None);
    let old = bound(&c, &w);
    w.renumber(78, POOL_A);
    let before = c.actions().len();
    let asked = std::time::Instant::now();
    c.send(Command::Confirm);
    c.wait_action(
        1,
        |a| matches!(a, Action::Remove(l) if l.address == old.address),
        "removal after the NAK",
        &w,
    );
    c.wait_action(2, |a| matches!(a, Action::Apply(_)), "a lease there", &w);
    let took = asked.elapsed();
    let new = c.lease().unwrap();
    assert_eq!(new.address.octets()[..3], [10, 78, 0], "{new:?}");
    assert_eq!(new.server, Ipv4Addr::new(10, 78, 0, 1));
    assert!(took < Duration::from_secs(3), "took {took:?}");
    let after: Vec<Action> = c.actions().split_off(before);
    assert!(matches!(after[0], Action::Remove(_)), "{after:?}");
    assert!(w.server_log().contains("DHCPNAK"), "{}", w.server_log());
    let addrs = w.client_addrs();
    assert!(addrs.contains(&format!("{}/24", new.address)), "{addrs:?}");
    assert!(!addrs.contains(&format!("{}/24", old.address)), "{addrs:?}");
}
