//! The DHCP client as an external program (dhclient, dhcpcd or udhcpc, see [`super::Client`])
//! run in the foreground as the bond job's child: the job starts it, watches it through its
//! pidfd, and stops it with the client's restart signal (SIGKILL after 5 s).

use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::supervise::{decide, DhcpAction, Progress, SettledOn, Supervisor};
use super::{client_by_name, client_for, options, Client};
use crate::config::Bond;
use crate::kernel::Kernel;
use crate::net::Mac;
use crate::process::{self, Identity, PidFd};
use crate::state::{self, DhcpRecord};

/// Without a pidfd (a kernel before 5.3, a seccomp filter) the job looks at its child this
/// often rather than miss its exit until the next link event.
const LOOK_WITHOUT_PIDFD: Duration = Duration::from_secs(1);

/// An external client for one bond, and the child that runs now.
pub struct External {
    bond: String,
    client: Box<dyn Client>,
    argv: Vec<String>,
    /// How to stop it without unconfiguring the address (see `Client::restart_signal`).
    stop: Signal,
    running: Option<Running>,
}

/// The client this job runs, and the bond (ifindex, MAC) it was started on.
struct Running {
    child: Child,
    /// Readable once the child has exited.
    pidfd: Option<PidFd>,
    on: SettledOn,
    stop: Signal,
}

/// A job that fails takes its client with it: a client nobody watches would keep speaking
/// for a MAC the bond may no longer have.
impl Drop for Running {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = kill(Pid::from_raw(self.child.id() as i32), self.stop);
        }
    }
}

impl External {
    /// The client the bond's configuration names; None for `dhcp.client = "none"`.
    pub fn new(bond: &Bond) -> Result<Option<External>> {
        let Some(client) = client_for(&bond.dhcp.client)? else {
            return Ok(None);
        };
        let argv = client.command(&options(bond)?)?;
        Ok(Some(External {
            bond: bond.name.to_string(),
            stop: client.restart_signal(),
            client,
            argv,
            running: None,
        }))
    }

    fn program(&self) -> &str {
        self.argv.first().map(String::as_str).unwrap_or_default()
    }

    /// Starts the client as the job's child and records it (`hotbond status`, `down`).
    fn spawn(&self, on: &SettledOn) -> Result<Running> {
        let bond = &self.bond;
        let Some(program) = self.argv.first() else {
            anyhow::bail!("{bond}: no DHCP client command");
        };
        crate::info!("{bond}: run {}", self.argv.join(" "));
        let mut cmd = Command::new(program);
        cmd.args(&self.argv[1..]).stdin(Stdio::null());
        process::unblock_signals(&mut cmd);
        let child = cmd
            .spawn()
            .with_context(|| format!("cannot start {program}"))?;
        let pid = child.id() as i32;
        let pidfd = PidFd::open(pid);
        let id = exec_identity(pid);
        let running = Running {
            child,
            pidfd,
            on: on.clone(),
            stop: self.stop,
        };
        state::write_dhcp(
            bond,
            &DhcpRecord {
                client: self.client.name().to_string(),
                mac: on.mac.to_string(),
                pid: Some(pid),
                start_time: id.as_ref().map(|i| i.start_time),
                exe: id.map(|i| i.exe),
                updated_unix_ms: state::now_ms(),
                builtin: None,
            },
        )?;
        Ok(running)
    }
}

impl Supervisor for External {
    fn settled(&mut self, on: &SettledOn) -> Result<DhcpAction> {
        let action = decide(self.running.as_ref().map(|r| &r.on), on);
        match action {
            DhcpAction::Started => self.running = Some(self.spawn(on)?),
            DhcpAction::Reacquired => {
                // Every client reads the MAC when it starts (a renewal by signal keeps the
                // old one): restart it without releasing (a signal that runs no deconfigure
                // step: the address stays). With the stable client identifier the server
                // hands back the same address.
                let old = self.running.take();
                let was = old
                    .as_ref()
                    .map(|r| r.on.mac.to_string())
                    .unwrap_or_default();
                if let Some(old) = old {
                    stop_client(old);
                }
                self.running = Some(self.spawn(on)?);
                crate::info!(
                    "{}: DHCP client was started with {was}, bond now has {}: re-acquiring",
                    self.bond,
                    on.mac.to_string()
                );
            }
            DhcpAction::Kept | DhcpAction::Nothing => {}
        }
        Ok(action)
    }

    fn confirm(&mut self) -> Result<()> {
        // Every client asks again for its lease when it starts; none can be told to by a
        // signal alone (dhclient has none for it). Restarted without a release: the
        // address stays until the server says otherwise.
        let Some(old) = self.running.take() else {
            return Ok(());
        };
        let on = old.on.clone();
        crate::info!(
            "{}: restarting {} to confirm its lease",
            self.bond,
            self.program()
        );
        stop_client(old);
        self.running = Some(self.spawn(&on)?);
        Ok(())
    }

    fn bond_is(&mut self, index: Option<u32>) {
        if let Some(old) = self.running.take_if(|r| Some(r.on.index) != index) {
            // The bond was deleted (and maybe made again, a new interface): the client
            // speaks for an interface that is gone.
            crate::info!(
                "{}: the bond is gone or new: stopping its DHCP client",
                self.bond
            );
            stop_client(old);
        }
    }

    fn end(&mut self, _k: &mut Kernel) -> Result<()> {
        // `down` released the lease through the client, which then exits: one still
        // running (its release failed, or it was not asked) is stopped without a release.
        if let Some(old) = self.running.take() {
            stop_client(old);
        }
        Ok(())
    }

    fn lease_watched(&self) -> Option<Mac> {
        self.running.as_ref().map(|r| r.on.mac)
    }

    fn wait_fds(&self) -> Vec<BorrowedFd<'_>> {
        self.running
            .iter()
            .filter_map(|r| r.pidfd.as_ref().map(|f| f.as_fd()))
            .collect()
    }

    fn deadline(&self) -> Option<Instant> {
        match &self.running {
            Some(r) if r.pidfd.is_none() => Some(Instant::now() + LOOK_WITHOUT_PIDFD),
            _ => None,
        }
    }

    fn turn(&mut self, k: &mut Kernel, _now: Instant) -> Result<Progress> {
        let program = self.program().to_string();
        let bond = &self.bond;
        let Some(r) = self.running.as_mut() else {
            return Ok(Progress::Running);
        };
        let exited = r
            .child
            .try_wait()
            .with_context(|| format!("{bond}: cannot wait for {program}"))?;
        let Some(st) = exited else {
            return Ok(Progress::Running);
        };
        self.running = None;
        let bond_exists = k.link(bond)?.is_some();
        match after_exit(bond_exists, st) {
            AfterExit::NextBond => {
                crate::info!("{bond}: {program} ended ({st}) with its bond");
                Ok(Progress::Running)
            }
            AfterExit::Done => {
                crate::info!("{bond}: {program} ended ({st})");
                Ok(Progress::Done)
            }
            AfterExit::Failed => anyhow::bail!("{bond}: {program} exited ({st})"),
        }
    }
}

/// What a client's own exit means for the job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AfterExit {
    /// Its bond is gone: wait for the next one.
    NextBond,
    /// Told to stop (a release by `hotbond down` sends SIGTERM, dhcpcd exits 0).
    Done,
    Failed,
}

fn after_exit(bond_exists: bool, st: std::process::ExitStatus) -> AfterExit {
    if !bond_exists {
        AfterExit::NextBond
    } else if st.success() || st.signal() == Some(libc::SIGTERM) {
        AfterExit::Done
    } else {
        AfterExit::Failed
    }
}

/// Stops the client with its stop signal and reaps it; SIGKILL if it has not gone within 5 s.
fn stop_client(mut old: Running) {
    let pid = Pid::from_raw(old.child.id() as i32);
    let _ = kill(pid, old.stop);
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if !matches!(old.child.try_wait(), Ok(None)) {
            return;
        }
        process::wait_gone(pid.as_raw(), deadline - Instant::now());
    }
    let _ = old.child.kill();
    let _ = old.child.wait();
}

/// A client recorded by an earlier job that is still running (that job died without its
/// process group, e.g. killed alone): this job starts its own, and there must be one.
pub fn stop_stray_client(bond: &str) {
    let Some(rec) = state::read_dhcp(bond) else {
        return;
    };
    // Only the very process an earlier job started (pid, start time, executable): a
    // record naming anything else is not obeyed.
    // The built-in client's record names the job itself: never this one.
    let own = std::process::id() as i32;
    let Some(id) = rec.identity().filter(|i| i.pid != own && i.alive()) else {
        return;
    };
    let pid = id.pid;
    crate::info!("{bond}: stopping the DHCP client an earlier job left ({pid})");
    let sig = client_by_name(&rec.client)
        .map(|c| c.restart_signal())
        .unwrap_or(Signal::SIGKILL);
    if process::signal(&id, sig) {
        process::wait_gone(pid, Duration::from_secs(5));
        process::signal(&id, Signal::SIGKILL);
    }
}

/// Releases the lease (for `hotbond down`): the client must be running for most clients.
/// Then takes back the DNS the client's script handed to the system (hotbond's scripts do
/// it through [`crate::dns`], which recorded it), whether or not a client still ran.
pub fn release(bond: &Bond) -> Result<()> {
    let released = release_lease(bond);
    if let Err(e) = crate::dns::revert(&bond.name) {
        crate::warn!("{e:#}");
    }
    released
}

/// The child's identity once it runs its own program. Read from /proc right after spawn,
/// its executable could still be the job's (seen with dhclient in the VM), and `down` would
/// then not recognise the client; a script's is its interpreter, which is what /proc shows
/// later too. Waits at most 200 ms for the exec to show.
fn exec_identity(pid: i32) -> Option<Identity> {
    let own = Identity::own().map(|i| i.exe);
    let deadline = Instant::now() + Duration::from_millis(200);
    loop {
        let id = Identity::of(pid);
        let pending = id.as_ref().is_some_and(|i| Some(&i.exe) == own.as_ref());
        if !pending || Instant::now() >= deadline {
            return id;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn release_lease(bond: &Bond) -> Result<()> {
    let name = bond.name.as_str();
    let Some(rec) = state::read_dhcp(name) else {
        return Ok(());
    };
    let Some(client) = client_by_name(&rec.client) else {
        return Ok(());
    };
    let opts = options(bond)?;
    let running = rec.identity().filter(Identity::alive);
    if running.is_none() {
        crate::info!("{name}: no DHCP client running, nothing to release");
        return Ok(());
    }
    crate::info!("{name}: releasing the {} lease", rec.client);
    client.release(&opts, running.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::ExitStatus;

    fn exited(code: i32) -> ExitStatus {
        ExitStatus::from_raw(code << 8)
    }

    fn killed(sig: i32) -> ExitStatus {
        ExitStatus::from_raw(sig)
    }

    #[test]
    fn a_client_that_exits_by_itself() {
        use AfterExit::*;
        // Released by `hotbond down` (SIGTERM, or dhcpcd's clean exit): the job is done.
        assert_eq!(after_exit(true, exited(0)), Done);
        assert_eq!(after_exit(true, killed(libc::SIGTERM)), Done);
        // Anything else while the bond exists fails the job (systemd starts it again).
        assert_eq!(after_exit(true, exited(1)), Failed);
        assert_eq!(after_exit(true, killed(libc::SIGSEGV)), Failed);
        // The bond went with it: wait for the next one, however it ended.
        assert_eq!(after_exit(false, exited(1)), NextBond);
        assert_eq!(after_exit(false, exited(0)), NextBond);
    }
}
