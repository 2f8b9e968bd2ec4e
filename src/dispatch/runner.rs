//! Runs the administrator's hooks, as run-parts would: the executables of the hooks
//! directory in name order, one at a time, each with a time limit, in a thread of its own
//! fed by a channel, so that the bond's job goes on reacting to links and DHCP meanwhile
//! and events reach the hooks in the order they happened.

use std::fs::{self, Metadata};
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, SigSet, Signal};
use nix::unistd::Pid;

/// The only PATH a hook gets: its environment is otherwise the event's.
pub const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// How long one hook may run before it is killed, unless `HOTBOND_HOOK_TIMEOUT` (seconds)
/// says otherwise.
pub const DEFAULT_LIMIT: Duration = Duration::from_secs(10);

/// The time limit the environment asks for.
pub fn limit_from_env() -> Duration {
    std::env::var("HOTBOND_HOOK_TIMEOUT")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .filter(|s| *s > 0)
        .map_or(DEFAULT_LIMIT, Duration::from_secs)
}

/// One event for every hook: its name (for the log) and the hook's environment.
pub struct Delivery {
    pub event: String,
    pub env: Vec<(&'static str, String)>,
}

/// How one hook ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Exited(i32),
    Signalled(i32),
    /// Still running at the time limit: killed, with whatever it started.
    Killed,
    CannotStart(String),
}

/// A hook left out, and why (for the log).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Skip {
    /// A dotfile, an editor's backup, a package manager's leftover: silently.
    Name,
    NotExecutable,
    /// Not root's, or others may write it: running it would hand root to them.
    Untrusted(String),
}

/// Is a file (or the directory) safe to run as root: root's own, writable by nobody else?
/// Pure, on the owner and mode bits.
pub fn untrusted(uid: u32, mode: u32) -> Option<String> {
    if uid != 0 {
        return Some(format!("owned by uid {uid}, not root"));
    }
    if mode & 0o022 != 0 {
        return Some(format!(
            "writable by group or others (mode {:o})",
            mode & 0o7777
        ));
    }
    None
}

/// Names run-parts leaves out: dotfiles, editor backups (`*~`), dpkg's and ucf's
/// leftovers (`*.dpkg-old`, `*.dpkg-dist`, `*.ucf-new`, ...).
pub fn skipped_name(name: &str) -> bool {
    name.is_empty()
        || name.starts_with('.')
        || name.ends_with('~')
        || name.contains(".dpkg-")
        || name.contains(".ucf-")
        || name.ends_with(".rpmsave")
        || name.ends_with(".rpmnew")
}

fn judge(name: &str, meta: &Metadata) -> Option<Skip> {
    if skipped_name(name) {
        return Some(Skip::Name);
    }
    if !meta.is_file() || meta.permissions().mode() & 0o111 == 0 {
        return Some(Skip::NotExecutable);
    }
    untrusted(meta.uid(), meta.mode()).map(Skip::Untrusted)
}

/// What a look at the hooks directory found.
#[derive(Debug, Default)]
pub struct Scan {
    /// The hooks to run, in name order.
    pub run: Vec<PathBuf>,
    pub skipped: Vec<(PathBuf, Skip)>,
}

/// The hooks directory's hooks. None when the directory is missing (no hooks) or cannot
/// be trusted (logged).
pub fn scan(dir: &Path) -> Option<Scan> {
    let meta = fs::metadata(dir).ok()?;
    if let Some(why) = untrusted(meta.uid(), meta.mode()) {
        crate::warn!("hooks: not running {}: {why}", dir.display());
        return None;
    }
    let mut entries: Vec<_> = match fs::read_dir(dir) {
        Ok(rd) => rd.filter_map(|e| e.ok()).map(|e| e.path()).collect(),
        Err(e) => {
            crate::warn!("hooks: cannot read {}: {e}", dir.display());
            return None;
        }
    };
    entries.sort();
    let mut found = Scan::default();
    for p in entries {
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
        // A symlink is judged by what it points to, as run-parts does.
        let verdict = match fs::metadata(&p) {
            Ok(m) => judge(name.as_deref().unwrap_or(""), &m),
            Err(_) => Some(Skip::NotExecutable),
        };
        match verdict {
            None => found.run.push(p),
            Some(s) => found.skipped.push((p, s)),
        }
    }
    Some(found)
}

/// The hooks' thread: takes [`Delivery`]s in order and runs every hook for each.
pub struct Runner {
    tx: Option<Sender<Delivery>>,
    thread: Option<JoinHandle<()>>,
    dir: PathBuf,
    limit: Duration,
    /// Events queued or being run.
    pending: Arc<AtomicUsize>,
}

impl Runner {
    pub fn spawn(bond: &str, dir: PathBuf, limit: Duration) -> Runner {
        let (tx, rx) = mpsc::channel();
        let name = bond.to_string();
        let pending = Arc::new(AtomicUsize::new(0));
        let (d, p) = (dir.clone(), pending.clone());
        let thread = std::thread::Builder::new()
            .name("hooks".into())
            .spawn(move || serve(&name, &d, limit, rx, &p));
        let (tx, thread) = match thread {
            Ok(t) => (Some(tx), Some(t)),
            Err(e) => {
                crate::warn!("{bond}: hooks: cannot start their thread: {e}");
                (None, None)
            }
        };
        Runner {
            tx,
            thread,
            dir,
            limit,
            pending,
        }
    }

    /// Queues an event; returns at once.
    pub fn send(&self, d: Delivery) {
        if let Some(tx) = &self.tx {
            self.pending.fetch_add(1, Ordering::SeqCst);
            if tx.send(d).is_err() {
                self.pending.fetch_sub(1, Ordering::SeqCst);
            }
        }
    }

    /// The longest the hooks of the events queued (or running) may still take: each hook
    /// in the directory now, its full time limit, for each event.
    pub fn longest_left(&self) -> Duration {
        let events = self.pending.load(Ordering::SeqCst);
        if events == 0 {
            return Duration::ZERO;
        }
        let hooks = scan(&self.dir).map_or(0, |s| s.run.len());
        self.limit
            .saturating_mul(u32::try_from(events.saturating_mul(hooks)).unwrap_or(u32::MAX))
    }

    /// Lets the hooks of every queued event run to their end (each within its limit).
    pub fn finish(mut self) {
        self.tx = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(bond: &str, dir: &Path, limit: Duration, rx: Receiver<Delivery>, pending: &AtomicUsize) {
    // Signals are the job's main thread's to take (it reads SIGTERM from a signalfd): one
    // delivered here would kill the job instead. The hooks get a clean mask (std resets it).
    let _ = SigSet::all().thread_block();
    for d in rx {
        run_all(bond, dir, limit, &d);
        pending.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Runs every hook for one event, in name order; returns what each did.
pub fn run_all(bond: &str, dir: &Path, limit: Duration, d: &Delivery) -> Vec<(PathBuf, Outcome)> {
    let Some(found) = scan(dir) else {
        return Vec::new();
    };
    for (p, why) in found.skipped {
        match why {
            Skip::Name => {}
            Skip::NotExecutable => crate::debug!("{bond}: hook {}: not executable", p.display()),
            Skip::Untrusted(why) => crate::warn!("{bond}: hook {} skipped: {why}", p.display()),
        }
    }
    let mut done = Vec::new();
    for p in found.run {
        let name = p
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let started = Instant::now();
        let outcome = run_one(bond, &name, &p, &d.env, limit);
        let ms = started.elapsed().as_millis();
        match &outcome {
            Outcome::Exited(0) => crate::info!("{bond}: hook {name} ({}): done, {ms} ms", d.event),
            Outcome::Exited(c) => {
                crate::warn!("{bond}: hook {name} ({}): exit status {c}", d.event)
            }
            Outcome::Signalled(s) => {
                crate::warn!("{bond}: hook {name} ({}): killed by signal {s}", d.event)
            }
            Outcome::Killed => crate::warn!(
                "{bond}: hook {name} ({}): still running after {} s, killed",
                d.event,
                limit.as_secs_f32()
            ),
            Outcome::CannotStart(e) => {
                crate::warn!("{bond}: hook {name} ({}): cannot run it: {e}", d.event)
            }
        }
        done.push((p, outcome));
    }
    done
}

/// Runs one hook: no shell, a clean environment, stdin from /dev/null, its output to the
/// log line by line; killed (with its process group) at the time limit.
fn run_one(
    bond: &str,
    name: &str,
    path: &Path,
    env: &[(&'static str, String)],
    limit: Duration,
) -> Outcome {
    let spawned = Command::new(path)
        .env_clear()
        .env("PATH", PATH)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own group, so that the time limit takes whatever it started too.
        .process_group(0)
        .spawn();
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => return Outcome::CannotStart(e.to_string()),
    };
    let deadline = Instant::now() + limit;
    let (done_tx, done_rx) = mpsc::channel();
    let mut readers = 0;
    let out = child
        .stdout
        .take()
        .map(|o| Box::new(o) as Box<dyn Read + Send>);
    let err = child
        .stderr
        .take()
        .map(|e| Box::new(e) as Box<dyn Read + Send>);
    for r in [out, err].into_iter().flatten() {
        let (tx, tag) = (done_tx.clone(), format!("{bond}: hook {name}: "));
        let spawned = std::thread::Builder::new().spawn(move || {
            for line in BufReader::new(r).lines().map_while(Result::ok) {
                crate::info!("{tag}{line}");
            }
            let _ = tx.send(());
        });
        readers += usize::from(spawned.is_ok());
    }
    let outcome = wait_until(&mut child, deadline);
    // Its output, to its end: unless something it left running holds it open past the
    // limit (that one's output is left to its thread).
    for _ in 0..readers {
        let left = deadline.saturating_duration_since(Instant::now());
        if done_rx.recv_timeout(left).is_err() {
            break;
        }
    }
    outcome
}

fn wait_until(child: &mut Child, deadline: Instant) -> Outcome {
    loop {
        match child.try_wait() {
            Ok(Some(st)) => return status(st),
            Ok(None) if Instant::now() >= deadline => {
                let _ = kill(Pid::from_raw(-(child.id() as i32)), Signal::SIGKILL);
                let _ = child.wait();
                return Outcome::Killed;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return Outcome::CannotStart(e.to_string()),
        }
    }
}

fn status(st: ExitStatus) -> Outcome {
    match (st.code(), st.signal()) {
        (Some(c), _) => Outcome::Exited(c),
        (None, Some(s)) => Outcome::Signalled(s),
        (None, None) => Outcome::Exited(-1),
    }
}

#[cfg(test)]
#[path = "runner_tests.rs"]
mod tests;
