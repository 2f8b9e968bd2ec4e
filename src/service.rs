//! Long-running work outside the hooks: the bond's job (settle + DHCP client) and the
//! supplicant. Under systemd each is a template unit the project ships; elsewhere
//! (eudev, OpenRC, a bare udevd) a properly detached process with a pid file. Both run the
//! same command line, from [`Job::argv`].

use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::net::IfName;
use crate::process::{self, pid_alive, wait_gone, Identity};
use crate::{paths, statefs};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Job {
    /// `hotbond-settle BOND`: waits for the bond to settle and runs its DHCP client.
    Settle(IfName),
    /// wpa_supplicant on an interface, with wpa_cli and the action hook.
    Supplicant(IfName),
}

impl std::fmt::Display for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Job::Settle(b) => write!(f, "the job of {b} (settle, DHCP)"),
            Job::Supplicant(i) => write!(f, "wpa_supplicant on {i}"),
        }
    }
}

impl Job {
    fn template(&self) -> (&'static str, &str) {
        match self {
            Job::Settle(b) => ("hotbond-settle", b.as_str()),
            Job::Supplicant(i) => ("hotbond-supplicant", i.as_str()),
        }
    }

    /// The instance of the job's template unit. The name is escaped as `systemd-escape`
    /// does, and the units hand it back with `%I` (unescaped): `bond-home` unescaped raw
    /// would come back as `bond/home`.
    pub fn unit(&self) -> String {
        let (t, arg) = self.template();
        format!("{t}@{}.service", systemd_escape(arg))
    }

    /// The command line, the same under systemd (the units' ExecStart) and detached.
    pub fn argv(&self) -> Vec<String> {
        let bin = |n: &str| paths::bin(n).to_string_lossy().into_owned();
        match self {
            Job::Settle(b) => vec![bin("hotbond-settle"), b.to_string()],
            Job::Supplicant(i) => vec![bin("hotbond"), "exec-supplicant".into(), i.to_string()],
        }
    }

    /// The bond's job (with its DHCP client) is stopped with SIGKILL: stopping must never
    /// unconfigure the address (dhclient runs its script's STOP on SIGTERM); releasing is an
    /// explicit step of `hotbond down`.
    fn stop_signal(&self) -> Signal {
        match self {
            Job::Settle(_) => Signal::SIGKILL,
            _ => Signal::SIGTERM,
        }
    }

    pub fn pid_file(&self) -> PathBuf {
        let (t, arg) = self.template();
        paths::run_dir().join("jobs").join(format!("{t}@{arg}.pid"))
    }
}

/// `systemd-escape STRING`: what a unit instance may hold as is (ASCII letters, digits,
/// `:`, `_`, and `.` but not first) stays, `/` becomes `-`, and every other byte is `\xNN`.
pub fn systemd_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for (i, b) in s.bytes().enumerate() {
        match b {
            b'/' => out.push('-'),
            b'.' if i == 0 => out.push_str("\\x2e"),
            b'.' | b':' | b'_' => out.push(b as char),
            b if b.is_ascii_alphanumeric() => out.push(b as char),
            b => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Systemd,
    Detached,
}

/// systemd when it is PID 1 and hotbond's units are installed; detached processes otherwise.
/// `HOTBOND_SERVICE=detached|systemd` overrides (tests, debugging).
pub fn backend() -> Backend {
    match std::env::var("HOTBOND_SERVICE").as_deref() {
        Ok("detached") => return Backend::Detached,
        Ok("systemd") => return Backend::Systemd,
        _ => {}
    }
    let booted = Path::new("/run/systemd/system").is_dir();
    let installed = [
        "/etc/systemd/system",
        "/run/systemd/system",
        "/usr/local/lib/systemd/system",
        "/usr/lib/systemd/system",
        "/lib/systemd/system",
    ]
    .iter()
    .any(|d| Path::new(d).join("hotbond-settle@.service").exists());
    if booted && installed {
        Backend::Systemd
    } else {
        Backend::Detached
    }
}

fn systemctl(args: &[&str]) -> Result<()> {
    let argv: Vec<&str> = std::iter::once("systemctl")
        .chain(args.iter().copied())
        .collect();
    process::run(&argv)
}

/// Makes sure the job runs, cheaply: a job that runs already (its pid file names a live
/// process of that job) is left alone without asking systemd, which would cost a process
/// start on every hook. The bond's job sees every link change itself.
pub fn ensure(job: &Job) -> Result<()> {
    match ensure_begin(job)? {
        Some(p) => p.finish(),
        None => Ok(()),
    }
}

/// A start this process asked for: see [`ensure_begin`].
pub struct Pending {
    job: Job,
    /// `systemctl --no-block start`, still running (systemd backend only).
    systemctl: Option<std::process::Child>,
}

impl Pending {
    /// Waits for the request to be accepted (systemctl returns once systemd queued it).
    pub fn finish(self) -> Result<()> {
        let Some(child) = self.systemctl else {
            return Ok(());
        };
        let out = child.wait_with_output().context("cannot run systemctl")?;
        process::outcome(
            &format!("systemctl --no-block start {}", self.job.unit()),
            &out,
        )
    }

    /// Takes the start back (the work it was for failed and was undone). Under systemd the
    /// job may not have written its pid file yet, so this asks systemd unconditionally.
    pub fn cancel(self) {
        let job = self.job.clone();
        let systemd = self.systemctl.is_some();
        let _ = self.finish();
        if systemd {
            let _ = fs::remove_file(job.pid_file());
            let _ = systemctl(&["--no-block", "stop", &job.unit()]);
        } else {
            let _ = stop_nowait(&job);
        }
    }
}

/// [`ensure`], split in two so that the caller can do other work while systemd is asked:
/// under systemd the `systemctl --no-block start` runs in the background until
/// [`Pending::finish`]. Detached jobs start at once (the pid-file wait keeps twins out).
/// None when the job runs already.
pub fn ensure_begin(job: &Job) -> Result<Option<Pending>> {
    if running_pid(job).is_some() {
        return Ok(None);
    }
    let systemctl = match backend() {
        Backend::Systemd => Some(
            Command::new("systemctl")
                .args(["--no-block", "start", &job.unit()])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .context("cannot run systemctl")?,
        ),
        Backend::Detached => {
            spawn_detached(job)?;
            None
        }
    };
    Ok(Some(Pending {
        job: job.clone(),
        systemctl,
    }))
}

/// Stops the job and waits (bounded) until it is gone.
pub fn stop(job: &Job) -> Result<()> {
    match backend() {
        Backend::Systemd => {
            let _ = fs::remove_file(job.pid_file());
            systemctl(&["stop", &job.unit()])
        }
        Backend::Detached => {
            let Some(pid) = running_pid(job) else {
                let _ = fs::remove_file(job.pid_file());
                return Ok(());
            };
            // The job leads its own session: signal the whole group (wpa_cli with its supplicant).
            let _ = kill(Pid::from_raw(-pid), job.stop_signal());
            wait_gone(pid, Duration::from_secs(10));
            if pid_alive(pid) {
                let _ = kill(Pid::from_raw(-pid), Signal::SIGKILL);
            }
            let _ = fs::remove_file(job.pid_file());
            Ok(())
        }
    }
}

/// Asks the job to stop without waiting (hooks must return fast). A job that does not run
/// (no live pid file: every job writes one first thing) costs nothing, not even systemctl.
pub fn stop_nowait(job: &Job) -> Result<()> {
    if running_pid(job).is_none() {
        let _ = fs::remove_file(job.pid_file());
        return Ok(());
    }
    match backend() {
        Backend::Systemd => {
            // First, so that ensure() does not take the job being stopped for a live one.
            let _ = fs::remove_file(job.pid_file());
            systemctl(&["--no-block", "stop", &job.unit()])
        }
        Backend::Detached => {
            if let Some(pid) = running_pid(job) {
                let _ = kill(Pid::from_raw(-pid), job.stop_signal());
            }
            let _ = fs::remove_file(job.pid_file());
            Ok(())
        }
    }
}

/// Sends `sig` to the job's own process (not its group), if the job runs: the pid file's
/// process, checked to be the job. Returns the pid signalled.
pub fn signal_job(job: &Job, sig: Signal) -> Result<Option<i32>> {
    let Some(pid) = running_pid(job) else {
        return Ok(None);
    };
    kill(Pid::from_raw(pid), sig).with_context(|| format!("cannot signal {job} ({pid})"))?;
    Ok(Some(pid))
}

/// The pid from the job's pid file, if that very process (pid, start time, executable as
/// the job recorded them) is alive, still leads its session and runs the job's program with
/// its arguments. systemd and the detached start both make the job a session leader.
pub fn running_pid(job: &Job) -> Option<i32> {
    let id = parse_pid_file(&statefs::read_to_string(&job.pid_file())?)?;
    let pid = id.pid;
    if pid <= 0 || !id.alive() {
        return None;
    }
    let sid = nix::unistd::getsid(Some(Pid::from_raw(pid))).ok()?;
    // Same program (by name: the installed path may differ from the running one's) and the
    // same arguments (the bond or interface).
    let want = job.argv();
    let cmdline = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let have: Vec<&[u8]> = cmdline
        .split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .collect();
    let name = |a: &[u8]| {
        Path::new(std::ffi::OsStr::from_bytes(a))
            .file_name()
            .map(|n| n.to_owned())
    };
    let same = have.len() == want.len()
        && name(have[0]) == name(want[0].as_bytes())
        && have[1..]
            .iter()
            .zip(&want[1..])
            .all(|(h, w)| *h == w.as_bytes());
    (sid.as_raw() == pid && same).then_some(pid)
}

/// Starts the job as a daemon: its own session, stdio on /dev/null, reparented to init
/// (double fork), pid file written by the job itself before it execs.
fn spawn_detached(job: &Job) -> Result<()> {
    let argv = job.argv();
    let pid_file = job.pid_file();
    if let Some(d) = pid_file.parent() {
        paths::ensure_dir(d)?;
    }
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: only async-signal-safe calls (setsid, fork, _exit) between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            match libc::fork() {
                -1 => Err(std::io::Error::last_os_error()),
                0 => {
                    // The grandchild leads a new session of its own, so stop() can signal
                    // its whole process group.
                    libc::setsid();
                    Ok(())
                }
                _ => libc::_exit(0),
            }
        });
    }
    let _ = fs::remove_file(&pid_file);
    let mut child = cmd
        .spawn()
        .with_context(|| format!("cannot start {}", argv.join(" ")))?;
    let _ = child.wait();
    // The job writes its pid file first thing. Until it has, a second start would not see
    // it running and start a twin (two DHCP clients on one bond): wait for it, bounded.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !pid_file.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(2));
    }
    crate::info!("started {} (detached)", argv.join(" "));
    Ok(())
}

/// Called by a job first thing, under systemd or detached: records its pid so that
/// stop() and ensure() find it.
pub fn write_own_pid_file(job: &Job) -> Result<()> {
    let pid = std::process::id() as i32;
    let id = Identity::of(pid).with_context(|| format!("cannot read /proc/{pid}"))?;
    statefs::write_file(&job.pid_file(), pid_file_text(&id).as_bytes(), 0o600)
}

/// A pid file names its process completely: pid, start time and executable, one a line.
fn pid_file_text(id: &Identity) -> String {
    format!("{}\n{}\n{}\n", id.pid, id.start_time, id.exe.display())
}

/// A pid file of [`pid_file_text`]; one with the pid alone (or anything else) names nothing.
fn parse_pid_file(text: &str) -> Option<Identity> {
    let mut lines = text.lines();
    let id = Identity {
        pid: lines.next()?.parse().ok()?,
        start_time: lines.next()?.parse().ok()?,
        exe: PathBuf::from(lines.next()?),
    };
    lines.next().is_none().then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_names_are_escaped_as_systemd_escape_does() {
        // Outputs of systemd-escape 252 for the same strings.
        for (name, escaped) in [
            ("bond0", "bond0"),
            ("bond-home", "bond\\x2dhome"),
            (".hidden", "\\x2ehidden"),
            ("a.b", "a.b"),
            ("x.y_z:1", "x.y_z:1"),
            ("bönd", "b\\xc3\\xb6nd"),
            ("a b", "a\\x20b"),
            ("a\\b", "a\\x5cb"),
            ("a/b", "a-b"),
            ("-lead", "\\x2dlead"),
        ] {
            assert_eq!(systemd_escape(name), escaped, "{name}");
        }
        let job = Job::Settle(IfName::new("bond-home").unwrap());
        assert_eq!(job.unit(), "hotbond-settle@bond\\x2dhome.service");
        // The job itself gets the real name back (`%I`), never the escaped one.
        assert_eq!(job.argv()[1], "bond-home");
    }

    #[test]
    fn a_pid_file_names_its_process_completely_or_nothing() {
        let me = Identity::of(std::process::id() as i32).unwrap();
        let text = pid_file_text(&me);
        assert_eq!(parse_pid_file(&text), Some(me.clone()));
        // The old form, a bare pid, or anything else names no process to signal.
        assert_eq!(parse_pid_file(&format!("{}\n", me.pid)), None);
        assert_eq!(parse_pid_file(""), None);
        assert_eq!(parse_pid_file(&format!("{text}extra\n")), None);
        assert_eq!(parse_pid_file("1\nnot a time\n/sbin/init\n"), None);
    }
}
