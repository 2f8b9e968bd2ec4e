//! wpa_supplicant on one interface, with `wpa_cli -a hotbond-wpa` for its events.
//! `hotbond exec-supplicant IF` is the job: it runs both as children and lives as long as
//! they do, so one unit (or one detached process group) owns the pair.

use std::collections::BTreeMap;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::config::Supplicant;
use crate::paths;

const DEFAULT_CTRL_DIR: &str = "/run/wpa_supplicant";

/// The control socket directory a wpa_supplicant config asks for (`ctrl_interface=DIR` or
/// `ctrl_interface=DIR=/path GROUP=g`).
pub fn ctrl_dir_from_text(text: &str) -> PathBuf {
    for line in text.lines() {
        let line = line.trim();
        let Some(v) = line.strip_prefix("ctrl_interface=") else {
            continue;
        };
        let v = v.trim();
        let dir = match v.strip_prefix("DIR=") {
            Some(rest) => rest.split_whitespace().next().unwrap_or(DEFAULT_CTRL_DIR),
            None => v,
        };
        if dir.starts_with('/') {
            return PathBuf::from(dir);
        }
    }
    PathBuf::from(DEFAULT_CTRL_DIR)
}

pub fn ctrl_dir(s: &Supplicant) -> PathBuf {
    std::fs::read_to_string(&s.config)
        .map(|t| ctrl_dir_from_text(&t))
        .unwrap_or_else(|_| PathBuf::from(DEFAULT_CTRL_DIR))
}

/// Asks a running wpa_supplicant for `STATUS` over its control socket.
pub fn status(ctrl_dir: &Path, iface: &str) -> Result<BTreeMap<String, String>> {
    let dir = paths::run_dir();
    paths::ensure_dir(&dir)?;
    let local = dir.join(format!("wpa-ctrl-{}", std::process::id()));
    let _ = std::fs::remove_file(&local);
    let sock = UnixDatagram::bind(&local).context("cannot bind a control socket")?;
    let result = (|| {
        sock.connect(ctrl_dir.join(iface))
            .with_context(|| format!("no wpa_supplicant control socket for {iface}"))?;
        sock.set_read_timeout(Some(Duration::from_secs(2)))?;
        sock.send(b"STATUS")?;
        let mut buf = vec![0u8; 4096];
        let n = sock
            .recv(&mut buf)
            .context("wpa_supplicant did not answer")?;
        Ok(String::from_utf8_lossy(&buf[..n])
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect())
    })();
    let _ = std::fs::remove_file(&local);
    result
}

/// The job: wpa_supplicant and wpa_cli as children; returns when either ends.
pub fn run_job(
    iface: &str,
    s: &Supplicant,
    on_connected: impl FnOnce() -> Result<()>,
) -> Result<()> {
    let wpa =
        crate::dhcp::find_program("wpa_supplicant").context("wpa_supplicant is not installed")?;
    let cli = crate::dhcp::find_program("wpa_cli").context("wpa_cli is not installed")?;
    let dir = ctrl_dir(s);
    let sock = dir.join(iface);
    clear_stale_socket(&sock)?;
    let mut sup = Command::new(&wpa)
        .arg("-i")
        .arg(iface)
        .arg("-c")
        .arg(&s.config)
        .arg("-D")
        .arg(&s.driver)
        .stdin(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start wpa_supplicant on {iface}"))?;
    crate::info!("{iface}: wpa_supplicant started (pid {})", sup.id());

    // Bounded wait until the control socket answers: wpa_supplicant makes it while starting
    // up, and wpa_cli started before that exits at once (and would end the job).
    let deadline = Instant::now() + Duration::from_secs(15);
    while socket_state(&sock) != SocketState::Listening {
        if let Some(st) = sup.try_wait()? {
            bail!("wpa_supplicant on {iface} exited during start-up ({st})");
        }
        if Instant::now() > deadline {
            let _ = sup.kill();
            bail!(
                "wpa_supplicant on {iface} made no control socket at {}",
                sock.display()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let hook = paths::bin("hotbond-wpa");
    let mut watcher = Command::new(&cli)
        .arg("-i")
        .arg(iface)
        .arg("-p")
        .arg(&dir)
        .arg("-a")
        .arg(&hook)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start wpa_cli on {iface}"))?;
    // wpa_cli reports no CONNECTED for an association made before it attached: look once.
    match status(&dir, iface) {
        Ok(st) if st.get("wpa_state").map(String::as_str) == Some("COMPLETED") => {
            crate::info!("{iface}: already associated when wpa_cli attached");
            if let Err(e) = on_connected() {
                crate::warn!("{iface}: {e:#}");
            }
        }
        Ok(_) => {}
        Err(e) => crate::debug!("{iface}: status: {e:#}"),
    }
    wait_either(&mut sup, &mut watcher)
}

fn wait_either(a: &mut Child, b: &mut Child) -> Result<()> {
    // Both are our children: wait for whichever ends first, then end the other gently, so
    // that wpa_supplicant deauthenticates and removes its control socket; SIGKILL leaves
    // the socket behind for the next one to trip over.
    let status = nix::sys::wait::wait().context("waiting for wpa_supplicant")?;
    for c in [a, b] {
        end_child(c);
    }
    crate::info!("supplicant job ended: {status:?}");
    Ok(())
}

/// SIGTERM, up to 2 s to exit, then SIGKILL; reaps it. A child already reaped is left be.
fn end_child(c: &mut Child) {
    use nix::sys::signal::{kill, Signal};
    use nix::unistd::Pid;
    let Ok(pid) = i32::try_from(c.id()) else {
        return;
    };
    if matches!(c.try_wait(), Ok(Some(_)) | Err(_)) {
        return;
    }
    let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline {
        if !matches!(c.try_wait(), Ok(None)) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = c.kill();
    let _ = c.wait();
}

/// What is at a control socket's path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SocketState {
    Absent,
    /// A wpa_supplicant answers on it.
    Listening,
    /// A socket file nobody serves: left by a wpa_supplicant that was killed.
    Stale,
}

fn socket_state(path: &Path) -> SocketState {
    if std::fs::symlink_metadata(path).is_err() {
        return SocketState::Absent;
    }
    let Ok(probe) = UnixDatagram::unbound() else {
        return SocketState::Stale;
    };
    match probe.connect(path) {
        Ok(()) => SocketState::Listening,
        Err(_) => SocketState::Stale,
    }
}

/// Makes the control socket's path free for the new wpa_supplicant: a stale socket is
/// removed (wpa_cli would otherwise connect to it, fail, and end the job); one still served
/// (the last wpa_supplicant of this interface still exiting) gets 5 s to go away.
fn clear_stale_socket(path: &Path) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match socket_state(path) {
            SocketState::Absent => return Ok(()),
            SocketState::Stale => {
                crate::debug!("removing the stale control socket {}", path.display());
                return std::fs::remove_file(path)
                    .with_context(|| format!("cannot remove {}", path.display()));
            }
            SocketState::Listening if Instant::now() > deadline => {
                bail!("another wpa_supplicant already serves {}", path.display())
            }
            SocketState::Listening => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctrl_dir_forms() {
        assert_eq!(
            ctrl_dir_from_text("ctrl_interface=/var/run/wpa_supplicant\n"),
            PathBuf::from("/var/run/wpa_supplicant")
        );
        assert_eq!(
            ctrl_dir_from_text("# x\nctrl_interface=DIR=/run/wpa GROUP=wheel\n"),
            PathBuf::from("/run/wpa")
        );
        assert_eq!(
            ctrl_dir_from_text("network={\n}\n"),
            PathBuf::from(DEFAULT_CTRL_DIR)
        );
    }

    #[test]
    fn a_stale_control_socket_is_removed_and_a_served_one_is_not_taken() {
        let dir = std::env::temp_dir().join(format!("hotbond-wpa-ctrl-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("wlan0");
        let _ = std::fs::remove_file(&path);
        assert_eq!(socket_state(&path), SocketState::Absent);
        clear_stale_socket(&path).unwrap();

        // A killed wpa_supplicant leaves its socket file with nobody behind it.
        drop(UnixDatagram::bind(&path).unwrap());
        assert_eq!(socket_state(&path), SocketState::Stale);
        clear_stale_socket(&path).unwrap();
        assert!(!path.exists(), "the stale socket is gone");

        let served = UnixDatagram::bind(&path).unwrap();
        assert_eq!(socket_state(&path), SocketState::Listening);
        let err = clear_stale_socket(&path).unwrap_err();
        assert!(
            format!("{err:#}").contains("another wpa_supplicant"),
            "{err:#}"
        );
        assert!(path.exists(), "a served socket is left alone");
        drop(served);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
