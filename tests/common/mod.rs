//! Harness for the namespace tests: one fresh network namespace per test, its own
//! configuration and state directories, the binaries run inside it with `ip netns exec`,
//! and the result observed with `ip -j`. Everything is removed again on drop (also when the
//! test panics), including detached jobs the binaries left running in the namespace.

#![allow(dead_code)]

pub mod dnsmasq;

use std::ffi::OsString;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const UDEV: &str = env!("CARGO_BIN_EXE_hotbond-udev");
pub const WPA: &str = env!("CARGO_BIN_EXE_hotbond-wpa");
pub const HOTBOND: &str = env!("CARGO_BIN_EXE_hotbond");
pub const SETTLE: &str = env!("CARGO_BIN_EXE_hotbond-settle");
pub const UDHCPC_SCRIPT: &str = env!("CARGO_BIN_EXE_hotbond-udhcpc-script");

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// Set by `tests/all`: every test must really run, so one that cannot is a failure.
pub fn full_tests() -> bool {
    std::env::var_os("HOTBOND_FULL_TESTS").is_some_and(|v| v == "1")
}

/// A test that cannot run in this environment: with `HOTBOND_FULL_TESTS=1` it fails saying
/// why; otherwise it prints "SKIP: why" to stderr and the caller returns.
#[track_caller]
pub fn cannot_run(why: &str) {
    assert!(
        !full_tests(),
        "cannot run here: {why} (HOTBOND_FULL_TESTS=1 wants every test to run)"
    );
    say(&format!("SKIP: {why}"));
}

/// A line on stderr past the test harness's capture (which would hide it in a passing test).
fn say(line: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// A test whose subject this host does not have (it proves behaviour on other hosts): it
/// says so on stderr, also under `HOTBOND_FULL_TESTS=1`, and the caller returns.
pub fn not_applicable(why: &str) {
    say(&format!("SKIP (not applicable on this host): {why}"));
}

/// The tests need root (network namespaces); see [`cannot_run`] for elsewhere.
#[track_caller]
pub fn root_or_skip() -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        cannot_run("needs root (network namespaces)");
        return false;
    }
    true
}

/// A fresh, empty directory for files hotbond must trust (a configuration, its run and state
/// directories), which hotbond refuses below a directory anybody but root could change. The
/// build's own tmp directory when root owns every directory above it and nobody else can
/// write them; else (a checkout under /tmp, or in a user's home tested with sudo) one under
/// /run, root's own.
pub fn private_dir(name: &str) -> PathBuf {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let base = if only_root_changes(target) {
        target.to_path_buf()
    } else {
        PathBuf::from("/run/hotbond-tests")
    };
    let dir = base.join(name);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
    dir
}

/// Whether `p` and every directory above it are root's and writable by nobody else.
fn only_root_changes(p: &Path) -> bool {
    p.ancestors()
        .all(|d| fs::metadata(d).is_ok_and(|m| m.uid() == 0 && m.mode() & 0o022 == 0))
}

/// Whether the host's kernel has the bonding driver: loaded or built in (`/sys/module`),
/// or loadable (`modprobe -n` finds it). Says which.
pub fn host_bonding() -> Option<&'static str> {
    if Path::new("/sys/module/bonding").exists() {
        return Some("loaded");
    }
    let loadable = Command::new("modprobe")
        .args(["-n", "-q", "bonding"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    loadable.then_some("loadable")
}

/// Polls `cond` until it holds or `timeout` passes; returns whether it held.
pub fn wait_for(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// What a binary did: exit status and its output as text.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Run {
    fn from(out: Output, elapsed: Duration) -> Run {
        Run {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            elapsed,
        }
    }

    pub fn ok(&self) -> bool {
        self.code == Some(0)
    }

    /// Asserts exit 0, showing the output otherwise.
    #[track_caller]
    pub fn assert_ok(&self) -> &Run {
        assert!(self.ok(), "expected success, got {self:#?}");
        self
    }

    /// Asserts a non-zero exit (the message may be followed by the usage text).
    #[track_caller]
    pub fn assert_code_nonzero(&self) -> &Run {
        assert!(
            self.code.is_some_and(|c| c != 0) && !self.stderr.trim().is_empty(),
            "expected a failure with a message, got {self:#?}"
        );
        self
    }

    /// Asserts a non-zero exit with exactly one line on stderr; returns that line.
    #[track_caller]
    pub fn assert_one_line_failure(&self) -> String {
        assert!(
            self.code.is_some_and(|c| c != 0),
            "expected a failure, got {self:#?}"
        );
        let lines: Vec<&str> = self
            .stderr
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect();
        assert_eq!(lines.len(), 1, "expected one line on stderr: {self:#?}");
        lines[0].to_string()
    }
}

/// One test's world: a network namespace and a directory with the configuration, the run
/// directory and the state directory.
pub struct Env {
    pub ns: String,
    pub dir: PathBuf,
    pub config: PathBuf,
    pub run_dir: PathBuf,
    pub state_dir: PathBuf,
    /// Prepended to PATH for the binaries (fake programs).
    pub extra_path: Option<PathBuf>,
    ns_created: bool,
}

impl Env {
    /// A fresh namespace (loopback up) and `config_name` in a fresh directory holding
    /// `config_text`, root-owned, mode 0644. None when not root (see [`root_or_skip`]).
    pub fn new(config_name: &str, config_text: &str) -> Option<Env> {
        if !root_or_skip() {
            return None;
        }
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let pid = std::process::id();
        let dir = private_dir(&format!("hotbond-test-{pid}-{n}"));
        let mut env = Env {
            ns: format!("hb-{pid}-{n}"),
            config: dir.join(config_name),
            run_dir: dir.join("run"),
            state_dir: dir.join("state"),
            dir,
            extra_path: None,
            ns_created: false,
        };
        fs::create_dir_all(&env.run_dir).unwrap();
        fs::create_dir_all(&env.state_dir).unwrap();
        env.write_config(config_text);
        let out = Command::new("ip")
            .args(["netns", "add", &env.ns])
            .output()
            .expect("run ip netns add");
        assert!(
            out.status.success(),
            "ip netns add {}: {}",
            env.ns,
            String::from_utf8_lossy(&out.stderr)
        );
        env.ns_created = true;
        env.ip(&["link", "set", "lo", "up"]);
        Some(env)
    }

    /// Replaces the configuration's text (root-owned, mode 0644).
    pub fn write_config(&self, text: &str) {
        fs::write(&self.config, text).expect("write the configuration");
        self.chmod_config(0o644);
    }

    pub fn chmod_config(&self, mode: u32) {
        fs::set_permissions(&self.config, fs::Permissions::from_mode(mode)).unwrap();
    }

    /// Writes an executable script into the directory prepended to PATH.
    pub fn fake_program(&mut self, name: &str, script: &str) {
        let bin = self.dir.join("bin");
        fs::create_dir_all(&bin).unwrap();
        let p = bin.join(name);
        fs::write(&p, script).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
        self.extra_path = Some(bin);
    }

    /// Writes /etc/netns/NS/NAME, which `ip netns exec` mounts over /etc/NAME for the
    /// binaries; returns its path. Removed with the namespace.
    pub fn netns_etc_file(&self, name: &str, text: &str) -> PathBuf {
        let dir = Path::new("/etc/netns").join(&self.ns);
        fs::create_dir_all(&dir).expect("create /etc/netns/NS");
        let p = dir.join(name);
        fs::write(&p, text).expect("write the namespace's /etc file");
        p
    }

    /// `ip -n NS ARGS...`, which must succeed; returns stdout.
    #[track_caller]
    pub fn ip(&self, args: &[&str]) -> String {
        let out = Command::new("ip")
            .arg("-n")
            .arg(&self.ns)
            .args(args)
            .output()
            .expect("run ip");
        assert!(
            out.status.success(),
            "ip -n {} {}: {}",
            self.ns,
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn ip_json(&self, args: &[&str]) -> Vec<Value> {
        let mut a = vec!["-j"];
        a.extend_from_slice(args);
        let text = self.ip(&a);
        if text.trim().is_empty() {
            return Vec::new();
        }
        match serde_json::from_str::<Value>(&text) {
            Ok(Value::Array(v)) => v,
            other => panic!("ip {}: unexpected output {other:?}", args.join(" ")),
        }
    }

    /// A veth pair `name`/`peer`, both up, `name` with `addr` if given.
    pub fn veth(&self, name: &str, peer: &str, addr: Option<&str>) {
        self.ip(&["link", "add", name, "type", "veth", "peer", "name", peer]);
        if let Some(a) = addr {
            self.ip(&["addr", "add", a, "dev", name]);
        }
        self.ip(&["link", "set", peer, "up"]);
        self.ip(&["link", "set", name, "up"]);
    }

    /// The binaries' environment: nothing inherited but PATH.
    fn command(&self, program: &str, args: &[&str]) -> Command {
        let mut path: OsString = OsString::new();
        if let Some(p) = &self.extra_path {
            path.push(p.as_os_str());
            path.push(":");
        }
        path.push(
            std::env::var_os("PATH").unwrap_or_else(|| "/usr/sbin:/usr/bin:/sbin:/bin".into()),
        );
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.ns, program])
            .args(args)
            .env_clear()
            .env("PATH", path)
            .env("HOTBOND_CONFIG", &self.config)
            .env("HOTBOND_RUN_DIR", &self.run_dir)
            .env("HOTBOND_STATE_DIR", &self.state_dir)
            .env("HOTBOND_SERVICE", "detached")
            // A lease's DNS goes to this test's own resolv.conf, never the host's.
            .env("HOTBOND_RESOLV_CONF", self.dir.join("resolv.conf"))
            .env("HOTBOND_RESOLVED_SOCKET", self.dir.join("no-resolved"))
            // The test's own event hooks (none unless it writes some), never the host's.
            .env("HOTBOND_HOOKS_DIR", self.dir.join("hooks.d"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c
    }

    /// Runs `program ARGS...` inside the namespace and waits for it.
    pub fn run(&self, program: &str, args: &[&str]) -> Run {
        self.run_env(program, args, &[])
    }

    /// Like `run`, with extra environment variables (udev's ACTION/INTERFACE).
    pub fn run_env(&self, program: &str, args: &[&str], vars: &[(&str, &str)]) -> Run {
        let vars: Vec<(&str, &std::ffi::OsStr)> = vars
            .iter()
            .map(|(k, v)| (*k, std::ffi::OsStr::new(*v)))
            .collect();
        self.run_env_os(program, args, &vars)
    }

    /// Like `run_env`, with values that need not be UTF-8 (what a DHCP server sends).
    pub fn run_env_os(
        &self,
        program: &str,
        args: &[&str],
        vars: &[(&str, &std::ffi::OsStr)],
    ) -> Run {
        let mut c = self.command(program, args);
        for (k, v) in vars {
            c.env(k, v);
        }
        let t = Instant::now();
        let out = c.output().expect("run ip netns exec");
        Run::from(out, t.elapsed())
    }

    /// Starts `program ARGS...` in the namespace without waiting (concurrent hooks).
    pub fn spawn(&self, program: &str, args: &[&str]) -> std::process::Child {
        self.command(program, args)
            .spawn()
            .expect("spawn ip netns exec")
    }

    pub fn udev(&self, action: &str, iface: &str) -> Run {
        self.run(UDEV, &[action, iface])
    }

    pub fn hotbond(&self, args: &[&str]) -> Run {
        self.run(HOTBOND, args)
    }

    // ---- observations ----

    pub fn links(&self) -> Vec<Value> {
        self.ip_json(&["-d", "link", "show"])
    }

    pub fn link(&self, name: &str) -> Option<Value> {
        self.links()
            .into_iter()
            .find(|l| l["ifname"].as_str() == Some(name))
    }

    pub fn exists(&self, name: &str) -> bool {
        self.link(name).is_some()
    }

    /// The `info_kind` of a link ("bridge", "veth", "bond").
    pub fn kind(&self, name: &str) -> Option<String> {
        self.link(name)
            .and_then(|l| l["linkinfo"]["info_kind"].as_str().map(String::from))
    }

    pub fn master(&self, name: &str) -> Option<String> {
        self.link(name)
            .and_then(|l| l["master"].as_str().map(String::from))
    }

    /// Administratively up (IFF_UP).
    pub fn admin_up(&self, name: &str) -> bool {
        self.link(name).is_some_and(|l| {
            l["flags"]
                .as_array()
                .is_some_and(|f| f.iter().any(|x| x == "UP"))
        })
    }

    pub fn operstate(&self, name: &str) -> Option<String> {
        self.link(name)
            .and_then(|l| l["operstate"].as_str().map(String::from))
    }

    /// Links whose master is `master`, sorted.
    pub fn ports(&self, master: &str) -> Vec<String> {
        let mut v: Vec<String> = self
            .links()
            .into_iter()
            .filter(|l| l["master"].as_str() == Some(master))
            .filter_map(|l| l["ifname"].as_str().map(String::from))
            .collect();
        v.sort();
        v
    }

    /// Names of the links of a kind.
    pub fn links_of_kind(&self, kind: &str) -> Vec<String> {
        self.links()
            .into_iter()
            .filter(|l| l["linkinfo"]["info_kind"].as_str() == Some(kind))
            .filter_map(|l| l["ifname"].as_str().map(String::from))
            .collect()
    }

    /// Addresses of a link as "ADDR/LEN", in order, IPv6 link-local ones left out (the
    /// kernel's, not ours). Duplicates are kept: tests count them.
    pub fn addrs(&self, name: &str) -> Vec<String> {
        self.all_addrs()
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, a)| a)
            .unwrap_or_default()
    }

    /// Every link's addresses (as `addrs`), from one `ip -j addr show`.
    pub fn all_addrs(&self) -> Vec<(String, Vec<String>)> {
        self.ip_json(&["addr", "show"])
            .into_iter()
            .map(|l| {
                let name = l["ifname"].as_str().unwrap_or("").to_string();
                let addrs = l["addr_info"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|a| a["scope"].as_str() != Some("link") || a["family"] != "inet6")
                    .filter_map(|a| Some(format!("{}/{}", a["local"].as_str()?, a["prefixlen"])))
                    .collect();
                (name, addrs)
            })
            .collect()
    }

    /// Routes of the main table (IPv4 and IPv6) as (dst, gateway, dev).
    pub fn routes(&self) -> Vec<(String, Option<String>, String)> {
        let mut v = Vec::new();
        for fam in ["-4", "-6"] {
            for r in self.ip_json(&[fam, "route", "show"]) {
                v.push((
                    r["dst"].as_str().unwrap_or("").to_string(),
                    r["gateway"].as_str().map(String::from),
                    r["dev"].as_str().unwrap_or("").to_string(),
                ));
            }
        }
        v
    }

    /// How many routes to `dst` via `gw` on `dev`.
    pub fn route_count(&self, dst: &str, gw: &str, dev: &str) -> usize {
        self.routes()
            .iter()
            .filter(|(d, g, v)| d == dst && g.as_deref() == Some(gw) && v == dev)
            .count()
    }

    /// The network as far as hotbond could change it: each link's name, master, admin state
    /// and addresses, and the routes (IPv6 link-local ones left out: the kernel adds those
    /// when it likes).
    pub fn snapshot(&self) -> String {
        let addrs = self.all_addrs();
        let mut out = String::new();
        let mut links = self.links();
        links.sort_by_key(|l| l["ifname"].as_str().unwrap_or("").to_string());
        for l in links {
            let name = l["ifname"].as_str().unwrap_or("");
            let up = l["flags"]
                .as_array()
                .is_some_and(|f| f.iter().any(|x| x == "UP"));
            let a = addrs
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, a)| a.clone())
                .unwrap_or_default();
            out.push_str(&format!(
                "{name} master={:?} up={up} addrs={a:?}\n",
                l["master"].as_str(),
            ));
        }
        // IPv6 link-local prefix routes come and go with the kernel's link-local addresses
        // (asynchronously, after DAD): not hotbond's.
        let mut routes: Vec<_> = self
            .routes()
            .into_iter()
            .filter(|(dst, _, _)| !dst.starts_with("fe80::"))
            .collect();
        routes.sort();
        for r in routes {
            out.push_str(&format!("route {r:?}\n"));
        }
        out
    }

    // ---- hotbond's records ----

    /// RUN_DIR/BOND.json, the settle job's record.
    pub fn settle_record(&self, bond: &str) -> Option<Value> {
        let text = fs::read_to_string(self.run_dir.join(format!("{bond}.json"))).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Waits (bounded) until the settle record says `settled == want`; returns the record.
    #[track_caller]
    pub fn wait_settled(&self, bond: &str, want: bool, timeout: Duration) -> Value {
        let mut last = None;
        let ok = wait_for(timeout, || {
            last = self.settle_record(bond);
            last.as_ref()
                .is_some_and(|r| r["settled"].as_bool() == Some(want))
        });
        assert!(
            ok,
            "{bond}: the settle record did not say settled={want} within {timeout:?}: {last:#?}"
        );
        last.unwrap()
    }

    /// RUN_DIR/slaves/IFACE: which bond hotbond recorded for a slave.
    pub fn slave_record(&self, iface: &str) -> Option<String> {
        fs::read_to_string(self.run_dir.join("slaves").join(iface))
            .ok()
            .map(|s| s.trim().to_string())
    }

    /// `hotbond status BOND --json`.
    #[track_caller]
    pub fn status(&self, bond: &str) -> Value {
        let r = self.hotbond(&["status", bond, "--json"]);
        r.assert_ok();
        serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("status JSON: {e}: {r:#?}"))
    }

    // ---- processes ----

    /// Processes living in this namespace (the detached jobs hotbond started).
    pub fn processes(&self) -> Vec<i32> {
        let Ok(meta) = fs::metadata(Path::new("/run/netns").join(&self.ns)) else {
            return Vec::new();
        };
        let want = format!("net:[{}]", meta.ino());
        let me = std::process::id() as i32;
        let mut pids = Vec::new();
        for e in fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
                continue;
            };
            if pid == me {
                continue;
            }
            if let Ok(l) = fs::read_link(e.path().join("ns/net")) {
                if l.to_str() == Some(want.as_str()) {
                    pids.push(pid);
                }
            }
        }
        pids
    }

    /// Waits (bounded) until no process runs in the namespace (the settle job finished).
    pub fn wait_quiet(&self, timeout: Duration) -> bool {
        wait_for(timeout, || self.processes().is_empty())
    }

    fn kill_all(&self) {
        let ok = wait_for(Duration::from_secs(5), || {
            let pids = self.processes();
            for &p in &pids {
                // SAFETY: plain syscall; p lives in this test's namespace, so it is ours.
                unsafe {
                    libc::kill(p, libc::SIGKILL);
                }
            }
            pids.is_empty()
        });
        if !ok {
            eprintln!(
                "{}: processes survived SIGKILL: {:?}",
                self.ns,
                self.processes()
            );
        }
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(Path::new("/etc/netns").join(&self.ns));
        if self.ns_created {
            self.kill_all();
            let _ = Command::new("ip")
                .args(["netns", "del", &self.ns])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Whether `text` contains `PATH:LINE:COLUMN:` for this path; returns (line, column).
pub fn file_line_col(text: &str, path: &Path) -> Option<(usize, usize)> {
    let p = format!("{}:", path.display());
    let mut rest = text;
    while let Some(i) = rest.find(&p) {
        rest = &rest[i + p.len()..];
        let mut parts = rest.splitn(3, ':');
        let line = parts.next().and_then(|s| s.parse().ok());
        let col = parts.next().and_then(|s| s.parse().ok());
        if let (Some(l), Some(c), Some(_)) = (line, col, parts.next()) {
            return Some((l, c));
        }
    }
    None
}
