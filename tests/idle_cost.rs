//! A master that cannot carry traffic must cost nothing while it waits: the bond's job (and
//! the DHCP client it runs) sleep until something changes. Measured as CPU time (utime +
//! stime from /proc/PID/stat) over a few seconds, in a network namespace, with a bridge that
//! has no ports: from the start, and after its only port went while busybox udhcpc ran on it.
//!
//! Run as root (`cargo test`); otherwise each test prints "SKIP: needs root" and passes,
//! unless `HOTBOND_FULL_TESTS=1`.

mod common;

use std::time::Duration;

use common::Env;

const SETTLE: Duration = Duration::from_secs(10);
/// How long the cost is measured.
const WINDOW: Duration = Duration::from_secs(3);
/// At most this share of one CPU over the window: a sleeping process spends next to nothing,
/// a spinning one most of it. Loose, for a busy 2-core machine.
const MAX_SHARE: f64 = 0.03;

const BRIDGE: &str = r#"[[bond]]
name = "br9"
kind = "bridge"
[bond.dhcp]
client = "udhcpc"
client_id = "mac"
[[bond.slave]]
name = "hbv*"
"#;

/// CPU time a process has used, in clock ticks (utime + stime, fields 14 and 15).
fn cpu_ticks(pid: i32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return 0;
    };
    // rest starts with field 3.
    let f: Vec<&str> = rest.split_whitespace().collect();
    let n = |i: usize| {
        f.get(i - 3)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    n(14) + n(15)
}

/// The share of one CPU the namespace's processes used over [`WINDOW`], and who they were.
fn cost(env: &Env) -> (f64, Vec<String>) {
    let pids = env.processes();
    let before: Vec<u64> = pids.iter().map(|p| cpu_ticks(*p)).collect();
    std::thread::sleep(WINDOW);
    let ticks: u64 = pids
        .iter()
        .zip(&before)
        .map(|(p, b)| cpu_ticks(*p).saturating_sub(*b))
        .sum();
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let who = pids
        .iter()
        .map(|p| {
            let cmd = std::fs::read(format!("/proc/{p}/cmdline")).unwrap_or_default();
            format!("{p}: {}", String::from_utf8_lossy(&cmd).replace('\0', " "))
        })
        .collect();
    (ticks as f64 / hz / WINDOW.as_secs_f64(), who)
}

fn busybox_env() -> Option<Env> {
    let env = Env::new("hotbond.toml", BRIDGE)?;
    if hotbond::dhcp::find_program("busybox").is_none() {
        common::cannot_run("busybox is not installed");
        return None;
    }
    Some(env)
}

#[test]
fn a_bridge_without_ports_costs_nothing() {
    let Some(env) = busybox_env() else { return };
    env.hotbond(&["up", "br9"]).assert_ok();
    let rec = env.wait_settled("br9", false, SETTLE);
    assert_eq!(rec["dhcp_action"], "waiting", "{rec:#}");
    let (share, who) = cost(&env);
    assert!(!who.is_empty(), "the job should be running");
    assert!(
        share < MAX_SHARE,
        "{share:.3} of a CPU while waiting: {who:?}"
    );
}

#[test]
fn a_bridge_that_lost_its_ports_costs_nothing() {
    let Some(env) = busybox_env() else { return };
    env.veth("hbv0", "hbp0", None);
    env.udev("add", "hbv0").assert_ok();
    let rec = env.wait_settled("br9", true, SETTLE);
    assert_eq!(rec["dhcp_action"], "started", "{rec:#}");
    // The port goes; udhcpc keeps asking on a bridge with no carrier, and the job waits.
    env.ip(&["link", "del", "hbv0"]);
    env.wait_settled("br9", false, SETTLE);
    let (share, who) = cost(&env);
    assert!(
        who.len() >= 2,
        "the job and udhcpc should be running: {who:?}"
    );
    assert!(
        share < MAX_SHARE,
        "{share:.3} of a CPU while waiting: {who:?}"
    );
}

#[test]
fn a_bridge_taken_down_costs_nothing() {
    let Some(env) = busybox_env() else { return };
    env.veth("hbv0", "hbp0", None);
    env.udev("add", "hbv0").assert_ok();
    let rec = env.wait_settled("br9", true, SETTLE);
    assert_eq!(rec["dhcp_action"], "started", "{rec:#}");
    // Down by hand: udhcpc's socket reports "Network is down" and it reopens it.
    env.ip(&["link", "set", "br9", "down"]);
    env.wait_settled("br9", false, SETTLE);
    let (share, who) = cost(&env);
    assert!(
        who.len() >= 2,
        "the job and udhcpc should be running: {who:?}"
    );
    assert!(
        share < MAX_SHARE,
        "{share:.3} of a CPU while waiting: {who:?}"
    );
}
