//! ISC dhclient: reads the interface MAC only when it starts, so a MAC change needs a
//! restart. Its client identifier and host name go in a config file hotbond writes.
//!
//! Start-up: ISC dhclient 4.x sends its first DISCOVER (or INIT-REBOOT REQUEST) at once:
//! `initial-delay` (a random wait of up to that many seconds first, RFC 2131 4.4.1) defaults
//! to 0, and the file below says so explicitly, so that a distribution default cannot creep
//! in. `initial-interval` and `backoff-cutoff` only shorten the retransmissions when a packet
//! goes unanswered.

use anyhow::{Context, Result};

use super::{find_program, run, Client, Options};
use crate::net::hex;
use crate::process::Identity;
use crate::{paths, statefs};

pub struct Dhclient;

fn files(bond: &str) -> (String, String, String) {
    let run_dir = paths::run_dir();
    (
        run_dir
            .join(format!("dhclient-{bond}.conf"))
            .to_string_lossy()
            .into_owned(),
        run_dir
            .join(format!("dhclient-{bond}.pid"))
            .to_string_lossy()
            .into_owned(),
        paths::state_dir()
            .join(format!("dhclient-{bond}.leases"))
            .to_string_lossy()
            .into_owned(),
    )
}

fn program() -> Result<String> {
    find_program("dhclient")
        .map(|p| p.to_string_lossy().into_owned())
        .context("dhclient is not installed")
}

impl Client for Dhclient {
    fn name(&self) -> &'static str {
        "dhclient"
    }

    fn command(&self, o: &Options) -> Result<Vec<String>> {
        let (conf, _, _) = files(&o.bond);
        paths::ensure_dir(&paths::run_dir())?;
        paths::ensure_dir(&paths::state_dir())?;
        // Values here come from validated configuration (hex bytes, an RFC 1123 host name),
        // never from a shell.
        let mut text = String::from(
            "# written by hotbond for each start; edit /etc/hotbond/hotbond.toml instead\n\
             request subnet-mask, broadcast-address, time-offset, routers,\n\
             \tdomain-name, domain-name-servers, domain-search, host-name, interface-mtu;\n\
             # no random wait before the first packet\n\
             initial-delay 0;\n\
             # retry soon: a laptop network comes and goes\n\
             initial-interval 1;\nbackoff-cutoff 4;\n",
        );
        if let Some(id) = &o.client_id {
            text.push_str(&format!("send dhcp-client-identifier {};\n", hex(id, ":")));
        }
        if let Some(h) = &o.hostname {
            text.push_str(&format!("send host-name \"{h}\";\n"));
        }
        statefs::write_file(conf.as_ref(), text.as_bytes(), 0o644)?;
        argv(o, "-d")
    }

    fn release(&self, o: &Options, _running: Option<&Identity>) -> Result<()> {
        // `dhclient -r` stops the running one (by its pid file) and sends DHCPRELEASE.
        run(&argv(o, "-r")?)
    }
}

/// dhclient's command line with `mode`: `-d` (run in the foreground) or `-r` (release).
/// Its script is hotbond's (see [`super::dhclient_script`]), for the release too.
fn argv(o: &Options, mode: &str) -> Result<Vec<String>> {
    let (conf, pid, leases) = files(&o.bond);
    Ok(vec![
        program()?,
        "-4".into(),
        mode.into(),
        "-sf".into(),
        paths::bin("hotbond-udhcpc-script")
            .to_string_lossy()
            .into_owned(),
        "-cf".into(),
        conf,
        "-pf".into(),
        pid,
        "-lf".into(),
        leases,
        o.bond.clone(),
    ])
}
