//! busybox udhcpc. Told to renew (SIGUSR1) it sends a unicast renewal that still carries
//! the MAC it read at start (seen with bookworm's busybox 1.35: the server's lease kept the
//! wired MAC after failover), so a MAC change needs a restart, as for the others; with its
//! stable client identifier it gets the same address back. Run with `-R`, SIGTERM releases; stopping the job (SIGKILL) does not.

use std::path::PathBuf;

use anyhow::{Context, Result};
use nix::sys::signal::Signal;

use super::{find_program, Client, Options};
use crate::net::hex;
use crate::process::{self, Identity};

pub struct Udhcpc;

/// `udhcpc`, or `busybox udhcpc` where only busybox is installed.
pub fn program() -> Option<Vec<String>> {
    if let Some(p) = find_program("udhcpc") {
        return Some(vec![p.to_string_lossy().into_owned()]);
    }
    find_program("busybox").map(|b| vec![b.to_string_lossy().into_owned(), "udhcpc".into()])
}

/// hotbond's own event script: busybox's default one flushes the interface, which would
/// take the bond's static fail-safe address with it.
fn script() -> PathBuf {
    crate::paths::bin("hotbond-udhcpc-script")
}

impl Client for Udhcpc {
    fn name(&self) -> &'static str {
        "udhcpc"
    }

    fn command(&self, o: &Options) -> Result<Vec<String>> {
        let mut v = program().context("udhcpc is not installed")?;
        v.extend(["-f", "-R", "-i"].map(String::from));
        v.push(o.bond.clone());
        v.push("-s".into());
        v.push(script().to_string_lossy().into_owned());
        // Discover every second, and after a miss wait 2 s, not the default 20.
        v.extend(["-t", "5", "-T", "1", "-A", "2"].map(String::from));
        if let Some(id) = &o.client_id {
            v.push("-C".into());
            v.push("-x".into());
            v.push(format!("0x3d:{}", hex(id, "")));
        }
        if let Some(h) = &o.hostname {
            v.push("-x".into());
            v.push(format!("hostname:{h}"));
        }
        Ok(v)
    }

    fn release(&self, _o: &Options, running: Option<&Identity>) -> Result<()> {
        if let Some(id) = running {
            if process::signal(id, Signal::SIGTERM) {
                process::wait_gone(id.pid, std::time::Duration::from_secs(5));
            }
        }
        Ok(())
    }
}
