//! Other processes: running a helper program to completion, and watching a process until it
//! exits (by its pidfd where the kernel has them).

use std::fs;
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

/// A process's pidfd: readable once the process has exited, so a wait needs no polling.
#[derive(Debug)]
pub struct PidFd(OwnedFd);

impl PidFd {
    /// None when the kernel has no pidfds (before 5.3, or a seccomp filter) or the process
    /// is gone already.
    pub fn open(pid: i32) -> Option<PidFd> {
        // SAFETY: a plain syscall with no pointers; it returns a new fd or -1.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        let fd = i32::try_from(fd).ok().filter(|fd| *fd >= 0)?;
        // SAFETY: the fd was just opened for us and nothing else owns it.
        Some(PidFd(unsafe { OwnedFd::from_raw_fd(fd) }))
    }
}

impl AsFd for PidFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

/// Milliseconds until `deadline`, for poll(2) (0 once it has passed). Rounded up, so that
/// a poll that times out returns at or after the deadline, not just before it.
pub fn poll_timeout(deadline: Option<Instant>) -> PollTimeout {
    match deadline {
        None => PollTimeout::NONE,
        Some(d) => {
            let ns = d.saturating_duration_since(Instant::now()).as_nanos();
            let ms = ns.div_ceil(1_000_000);
            PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX)
        }
    }
}

/// Is the process alive? A zombie is not, for our purposes.
pub fn pid_alive(pid: i32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => !matches!(
            s.rsplit(')').next().map(|r| r.trim_start().chars().next()),
            Some(Some('Z'))
        ),
        Err(_) => false,
    }
}

/// A process as hotbond started it. A pid alone may have been recycled, or named by a
/// forged record; the pid, the start time (clock ticks after boot, field 22 of
/// /proc/PID/stat) and the executable together name one process, and hotbond signals a
/// process it did not just spawn only when all three still match.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub pid: i32,
    pub start_time: u64,
    pub exe: PathBuf,
}

impl Identity {
    /// The process with this pid now; None when there is none (or its /proc is unreadable).
    pub fn of(pid: i32) -> Option<Identity> {
        Some(Identity {
            pid,
            start_time: start_time(pid)?,
            exe: fs::read_link(format!("/proc/{pid}/exe")).ok()?,
        })
    }

    /// This process (read once: it does not change).
    pub fn own() -> Option<Identity> {
        static OWN: std::sync::OnceLock<Option<Identity>> = std::sync::OnceLock::new();
        OWN.get_or_init(|| Identity::of(std::process::id() as i32))
            .clone()
    }

    /// Whether this very process still runs (a zombie does not).
    pub fn alive(&self) -> bool {
        pid_alive(self.pid) && Identity::of(self.pid).as_ref() == Some(self)
    }

    /// The same without the executable, which only root may read of a root process: for
    /// showing, never for signalling.
    pub fn seems_alive(&self) -> bool {
        pid_alive(self.pid) && start_time(self.pid) == Some(self.start_time)
    }
}

/// Sends `sig` to the process `id` names, only while it still is that process: its pidfd is
/// opened before the identity is checked, so the signal cannot reach a process that took
/// the pid meanwhile. False when it is gone (or was never it).
pub fn signal(id: &Identity, sig: nix::sys::signal::Signal) -> bool {
    let fd = PidFd::open(id.pid);
    if !id.alive() {
        return false;
    }
    match fd {
        // SAFETY: a plain syscall on a pidfd we own; no info struct (the kernel fills it).
        Some(fd) => unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                fd.as_fd().as_raw_fd(),
                sig as libc::c_int,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            ) == 0
        },
        None => nix::sys::signal::kill(nix::unistd::Pid::from_raw(id.pid), sig).is_ok(),
    }
}

/// Field 22 of /proc/PID/stat, counted after the command name (which may hold spaces and
/// parentheses, so the fields start after the last ')').
fn start_time(pid: i32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    // rest starts with field 3 (the state).
    rest.split_whitespace().nth(22 - 3)?.parse().ok()
}

/// Waits (bounded) until a process has exited.
pub fn wait_gone(pid: i32, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while pid_alive(pid) && Instant::now() < deadline {
        wait_exit(pid, deadline);
    }
}

/// Waits for a process to exit, woken by its pidfd, bounded by `deadline`.
fn wait_exit(pid: i32, deadline: Instant) {
    let Some(fd) = PidFd::open(pid) else {
        // No pidfd: look again, gently.
        std::thread::sleep(Duration::from_millis(20));
        return;
    };
    let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
    // An interrupted or failed poll only means the caller looks at the process again.
    let _ = poll(&mut fds, poll_timeout(Some(deadline)));
}

/// Makes the program `cmd` starts run with no signal blocked. A mask is inherited across
/// exec, and the bond's job blocks the signals it reads through a signalfd (SIGTERM,
/// SIGUSR1): a DHCP client started with them blocked would not hear its own signals.
pub fn unblock_signals(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: sigemptyset and sigprocmask are async-signal-safe, and touch only the child.
    unsafe {
        cmd.pre_exec(|| {
            let mut none: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut none);
            if libc::sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut()) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Runs a program (no shell, stdin on /dev/null) to completion; fails with what it said on
/// stderr.
pub fn run(argv: &[&str]) -> Result<()> {
    run_with_input(argv, None)
}

/// [`run`], with `input` on the program's stdin when given (e.g. a resolv.conf fragment
/// for `resolvconf -a`).
pub fn run_with_input(argv: &[&str], input: Option<&[u8]>) -> Result<()> {
    let Some((program, args)) = argv.split_first() else {
        bail!("no program to run");
    };
    let mut cmd = Command::new(program);
    cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    unblock_signals(&mut cmd);
    cmd.stdin(if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    let mut child = cmd
        .spawn()
        .with_context(|| format!("cannot run {program}"))?;
    if let (Some(bytes), Some(mut stdin)) = (input, child.stdin.take()) {
        // A program that exits without reading all of it closes the pipe: its exit status
        // says whether that was a failure, not the write.
        if let Err(e) = stdin.write_all(bytes) {
            if e.kind() != std::io::ErrorKind::BrokenPipe {
                let _ = child.kill();
                let _ = child.wait();
                return Err(e).with_context(|| format!("cannot write to {program}"));
            }
        }
    }
    let out = child
        .wait_with_output()
        .with_context(|| format!("cannot run {program}"))?;
    outcome(&argv.join(" "), &out)
}

/// A finished program's exit as a one-line error with what it said, named by `what` (its
/// command line).
pub fn outcome(what: &str, out: &Output) -> Result<()> {
    if out.status.success() {
        return Ok(());
    }
    let msg = String::from_utf8_lossy(&out.stderr).trim().to_string();
    if msg.is_empty() {
        bail!("{what}: failed ({})", out.status);
    }
    bail!("{what}: {msg}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_reports_the_programs_stderr() {
        let e = run(&["sh", "-c", "echo nope >&2; exit 3"]).unwrap_err();
        assert_eq!(e.to_string(), "sh -c echo nope >&2; exit 3: nope");
        assert!(run(&["true"]).is_ok());
        let e = run(&["false"]).unwrap_err();
        assert!(e.to_string().starts_with("false: failed"), "{e}");
        let e = run(&["/nonexistent/prog"]).unwrap_err();
        assert_eq!(e.to_string(), "cannot run /nonexistent/prog");
    }

    #[test]
    fn run_with_input_feeds_the_programs_stdin() {
        let dir = std::env::temp_dir().join(format!("hotbond-run-input-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let out = dir.join("got");
        let script = format!("cat > {}", out.display());
        run_with_input(&["sh", "-c", &script], Some(b"nameserver 192.0.2.1\n")).unwrap();
        assert_eq!(fs::read_to_string(&out).unwrap(), "nameserver 192.0.2.1\n");
        // A program that ignores its input: its exit status decides.
        let big = vec![b'x'; 1 << 20];
        assert!(run_with_input(&["true"], Some(&big)).is_ok());
        assert!(run_with_input(&["false"], Some(&big)).is_err());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn wait_gone_returns_when_the_process_exits() {
        let mut child = Command::new("sleep").arg("0.2").spawn().unwrap();
        let pid = child.id() as i32;
        assert!(pid_alive(pid));
        let t = Instant::now();
        // The child is ours: it becomes a zombie, which counts as gone.
        wait_gone(pid, Duration::from_secs(5));
        assert!(t.elapsed() < Duration::from_secs(4));
        assert!(!pid_alive(pid));
        child.wait().unwrap();
    }

    #[test]
    fn an_identity_names_one_process_only() {
        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        let pid = child.id() as i32;
        let id = Identity::of(pid).unwrap();
        assert!(id.alive() && id.seems_alive());
        assert!(id.exe.ends_with("sleep"), "{id:?}");
        // The same pid started at another time (recycled), or running another program.
        let recycled = Identity {
            start_time: id.start_time + 1,
            ..id.clone()
        };
        assert!(!recycled.alive() && !recycled.seems_alive());
        let other = Identity {
            exe: PathBuf::from("/usr/sbin/dhclient"),
            ..id.clone()
        };
        assert!(!other.alive());
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(!id.alive());
    }

    #[test]
    fn a_command_name_with_spaces_and_parentheses_does_not_shift_the_fields() {
        let dir = std::env::temp_dir().join(format!("hotbond-ident-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let odd = dir.join("a) 1 2 (b");
        fs::copy("/bin/sleep", &odd).unwrap();
        let mut child = Command::new(&odd).arg("30").spawn().unwrap();
        let pid = child.id() as i32;
        let mine = start_time(std::process::id() as i32).unwrap();
        let its = start_time(pid).unwrap();
        // Started after this test process, within a minute of it (clock ticks: 100 Hz).
        assert!(its >= mine && its - mine < 60 * 10_000, "{mine} {its}");
        assert_eq!(Identity::of(pid).unwrap().exe, odd);
        child.kill().unwrap();
        child.wait().unwrap();
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_pidfd_is_readable_once_its_process_exited() {
        let mut child = Command::new("true").spawn().unwrap();
        let fd = PidFd::open(child.id() as i32);
        child.wait().unwrap();
        let Some(fd) = fd else {
            return; // no pidfds on this kernel
        };
        let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
        assert_eq!(poll(&mut fds, PollTimeout::from(1000u16)).unwrap(), 1);
    }
}
