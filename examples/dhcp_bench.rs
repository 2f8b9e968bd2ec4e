//! The DHCP client's cost natively, for the benchmark (`tests/vm/bench.d/host-dhcp.sh` runs it
//! in a network namespace joined by a veth pair to one where dnsmasq serves):
//!
//!   dhcp_bench IFACE LEASES N MAC_A MAC_B [--fresh FILE] [-- CMD ARGS...]
//!   dhcp_bench --client-id BOND     (hotbond's client identifier for BOND, as dhclient.conf wants it)
//!
//! N trials. Each starts with IFACE carrying MAC_A and no address, and FILE (the client's lease
//! file, if any) removed, then:
//!   start.addr_ms   the client's start -> its address on IFACE (RTM_NEWADDR done);
//!   mac.lease_ms    IFACE's MAC set to MAC_B -> the server's lease for MAC_B (a line for it in
//!                   LEASES, dnsmasq's lease file, that differs from the one before the change).
//! Without CMD the client is hotbond's in-process one, driven as the bond's job drives it (the
//! MAC change handed to it at once). With CMD an external client: CMD started, and on the MAC
//! change killed (SIGKILL) and started again with its lease file kept, which is what hotbond
//! does with an external client. Prints "@@BENCH IMPL METRIC TRIAL VALUE" lines, IMPL
//! "builtin_native" or "CMD's name"_native, VALUE "nan" when the end point was not reached
//! within 10 s.

use std::fs;
use std::process::{Child, Command};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use hotbond::dhcp::builtin::{boot_time, Action, Builtin, Config, Lease, Link};
use hotbond::dhcp::stable_client_id;
use hotbond::kernel::Kernel;
use hotbond::net::{IpNet, Mac};

const WAIT: Duration = Duration::from_secs(10);

struct Args {
    iface: String,
    leases: String,
    trials: u32,
    mac_a: Mac,
    mac_b: Mac,
    fresh: Option<String>,
    cmd: Vec<String>,
}

fn args() -> Result<Args> {
    let mut v: Vec<String> = std::env::args().skip(1).collect();
    let cmd = match v.iter().position(|a| a == "--") {
        Some(i) => v.split_off(i).into_iter().skip(1).collect(),
        None => Vec::new(),
    };
    let fresh = match v.iter().position(|a| a == "--fresh") {
        Some(i) if i + 1 < v.len() => Some(v.drain(i..i + 2).nth(1).unwrap_or_default()),
        Some(_) => bail!("--fresh wants a file"),
        None => None,
    };
    let [iface, leases, n, a, b] = <[String; 5]>::try_from(v).map_err(|_| {
        anyhow::anyhow!("usage: IFACE LEASES N MAC_A MAC_B [--fresh FILE] [-- CMD]")
    })?;
    Ok(Args {
        iface,
        leases,
        trials: n.parse().context("N")?,
        mac_a: a.parse().context("MAC_A")?,
        mac_b: b.parse().context("MAC_B")?,
        fresh,
        cmd,
    })
}

fn machine_id() -> String {
    fs::read_to_string("/etc/machine-id")
        .unwrap_or_default()
        .trim()
        .to_string()
}

fn main() -> Result<()> {
    let argv: Vec<String> = std::env::args().collect();
    if argv.len() == 3 && argv[1] == "--client-id" {
        let id = stable_client_id(&argv[2], &machine_id());
        let hex: Vec<String> = id.iter().map(|b| format!("{b:02x}")).collect();
        println!("{}", hex.join(":"));
        return Ok(());
    }
    let a = args()?;
    let mut k = Kernel::open()?;
    let imp = match a.cmd.first() {
        None => "builtin_native".to_string(),
        Some(c) => format!("{}_native", c.rsplit('/').next().unwrap_or(c)),
    };
    for n in 1..=a.trials {
        set_mac(&a.iface, a.mac_a)?;
        let index = link(&mut k, &a.iface)?.ifindex;
        k.flush_addresses(index)?;
        if let Some(f) = &a.fresh {
            let _ = fs::remove_file(f);
        }
        let (start, change) = if a.cmd.is_empty() {
            trial_builtin(&mut k, &a)?
        } else {
            trial_external(&mut k, &a)?
        };
        for (metric, v) in [("start.addr_ms", start), ("mac.lease_ms", change)] {
            match v {
                Some(d) => println!("@@BENCH {imp} {metric} {n} {:.2}", d * 1000.0),
                None => println!("@@BENCH {imp} {metric} {n} nan"),
            }
        }
    }
    Ok(())
}

fn set_mac(iface: &str, mac: Mac) -> Result<()> {
    let st = Command::new("ip")
        .args(["link", "set", iface, "address", &mac.to_string()])
        .status()
        .context("ip link set address")?;
    anyhow::ensure!(st.success(), "ip link set {iface} address {mac} failed");
    Ok(())
}

fn link(k: &mut Kernel, iface: &str) -> Result<Link> {
    let l = k
        .link(iface)?
        .with_context(|| format!("no interface {iface}"))?;
    Ok(Link {
        ifindex: l.index,
        mac: l.mac.with_context(|| format!("{iface} has no MAC"))?,
    })
}

fn now_unix() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// The server's lease line for `mac`, as the lease file has it now.
fn lease_line(path: &str, mac: Mac) -> Option<String> {
    let m = mac.to_string();
    fs::read_to_string(path)
        .ok()?
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some(m.as_str()))
        .map(str::to_string)
}

/// Seconds from `t0` (unix time) to when the lease file got a new line for `mac` (its mtime,
/// or now when that is later), if it has one now that differs from `before`.
fn lease_changed(path: &str, mac: Mac, before: &Option<String>, t0: f64) -> Option<f64> {
    let line = lease_line(path, mac)?;
    if Some(&line) == before.as_ref() {
        return None;
    }
    let mtime = fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(f64::MAX, |d| d.as_secs_f64());
    Some(mtime.min(now_unix()) - t0)
}

fn carry_out(k: &mut Kernel, ifindex: u32, actions: &[Action]) -> Result<bool> {
    let mut applied = false;
    for a in actions {
        match a {
            Action::Apply(l) | Action::Renew(l) => {
                let life = l.lifetime_secs(boot_time());
                k.replace_address_lifetimes(ifindex, &net(l), life, life)?;
                applied = true;
            }
            Action::Remove(l) => k.del_address(ifindex, &net(l))?,
            Action::Persist(_) => {}
        }
    }
    Ok(applied)
}

fn net(l: &Lease) -> IpNet {
    IpNet {
        addr: l.address.into(),
        prefix: l.prefix_len,
    }
}

/// One poll of the client's sockets (1 ms at most, so that the lease file is watched closely).
fn turn(b: &mut Builtin) -> Vec<Action> {
    let mut fds: Vec<_> = b
        .fds()
        .into_iter()
        .map(|fd| nix::poll::PollFd::new(fd, nix::poll::PollFlags::POLLIN))
        .collect();
    let _ = nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(1u8));
    drop(fds);
    b.turn()
}

fn trial_builtin(k: &mut Kernel, a: &Args) -> Result<(Option<f64>, Option<f64>)> {
    let mut config = Config::new(&a.iface);
    config.client_id = Some(stable_client_id("bond0", &machine_id()));
    let t = Instant::now();
    let mut b = Builtin::new(config);
    let l = link(k, &a.iface)?;
    let mut actions = b.start(l, None);
    let mut start = None;
    while t.elapsed() < WAIT {
        if carry_out(k, l.ifindex, &actions)? {
            start = Some(t.elapsed().as_secs_f64());
            break;
        }
        actions = turn(&mut b);
    }
    let before = lease_line(&a.leases, a.mac_b);
    set_mac(&a.iface, a.mac_b)?;
    let t0 = now_unix();
    let t = Instant::now();
    let mut actions = b.link_changed(link(k, &a.iface)?);
    while t.elapsed() < WAIT {
        carry_out(k, l.ifindex, &actions)?;
        if let Some(d) = lease_changed(&a.leases, a.mac_b, &before, t0) {
            return Ok((start, Some(d)));
        }
        actions = turn(&mut b);
    }
    Ok((start, None))
}

/// CMD in a process group of its own, so that `stop` also ends a script it is running.
fn spawn(cmd: &[String]) -> Result<Child> {
    use std::os::unix::process::CommandExt as _;
    Command::new(&cmd[0])
        .args(&cmd[1..])
        .process_group(0)
        .spawn()
        .with_context(|| format!("starting {}", cmd[0]))
}

fn stop(mut c: Child) {
    let pgid = nix::unistd::Pid::from_raw(-(c.id() as i32));
    let _ = nix::sys::signal::kill(pgid, nix::sys::signal::Signal::SIGKILL);
    let _ = c.wait();
}

fn trial_external(k: &mut Kernel, a: &Args) -> Result<(Option<f64>, Option<f64>)> {
    let index = link(k, &a.iface)?.ifindex;
    let t = Instant::now();
    let child = spawn(&a.cmd)?;
    let mut start = None;
    while t.elapsed() < WAIT {
        if k.addresses(index)?.iter().any(|n| n.addr.is_ipv4()) {
            start = Some(t.elapsed().as_secs_f64());
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let before = lease_line(&a.leases, a.mac_b);
    set_mac(&a.iface, a.mac_b)?;
    let t0 = now_unix();
    let t = Instant::now();
    stop(child);
    let child = spawn(&a.cmd)?;
    let mut change = None;
    while t.elapsed() < WAIT {
        if let Some(d) = lease_changed(&a.leases, a.mac_b, &before, t0) {
            change = Some(d);
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    stop(child);
    Ok((start, change))
}
