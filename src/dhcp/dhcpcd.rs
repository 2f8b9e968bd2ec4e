//! dhcpcd: notices a MAC change but only logs it, so a MAC change needs a restart. Run
//! `--persistent` so that stopping it leaves the address in place; `-k` releases.
//!
//! Its two start-up waits are switched off (BENCHMARKS.md shows what they cost):
//! - `--nodelay`: before its first DISCOVER (or INIT-REBOOT REQUEST) dhcpcd waits a random
//!   0-1 s (1-10 s if built RFC2131_STRICT): RFC 2131's start-up jitter, meant to spread the
//!   clients of a whole network booting at once. hotbond starts it for one bond, when that
//!   bond's MAC has settled.
//! - `--noarp`: after the ACK it would probe the address with ARP before using it (RFC 5227:
//!   a random 0-1 s, three probes 1-2 s apart, then 2 s: about 5 s). dhclient and udhcpc do no
//!   such probe; the DHCP server owns its pool. After a failover the address is already on the
//!   bond, and dhcpcd does not probe an address it already has.

use anyhow::{Context, Result};

use super::{find_program, run, Client, Options};
use crate::net::hex;
use crate::process::Identity;

pub struct Dhcpcd;

fn program() -> Result<String> {
    find_program("dhcpcd")
        .map(|p| p.to_string_lossy().into_owned())
        .context("dhcpcd is not installed")
}

/// The command line after the program's path.
fn args(o: &Options) -> Vec<String> {
    let mut v: Vec<String> = [
        "-4",
        "--nobackground",
        "--persistent",
        // No IPv4LL fallback: the bond has its static fail-safe address for that.
        "--noipv4ll",
        // No start-up jitter, no ARP probe of the leased address (see the module doc).
        "--nodelay",
        "--noarp",
    ]
    .map(String::from)
    .to_vec();
    // Both options take an *optional* argument (getopt_long optional_argument), so the value
    // must be in the same word: `--clientid VALUE` would leave dhcpcd on its default,
    // MAC-based identifier (the address would follow the MAC) and take VALUE for an
    // interface name.
    if let Some(id) = &o.client_id {
        v.push(format!("--clientid={}", hex(id, ":")));
    }
    if let Some(h) = &o.hostname {
        v.push(format!("--hostname={h}"));
    }
    v.push(o.bond.clone());
    v
}

impl Client for Dhcpcd {
    fn name(&self) -> &'static str {
        "dhcpcd"
    }

    fn command(&self, o: &Options) -> Result<Vec<String>> {
        let mut v = vec![program()?];
        v.extend(args(o));
        Ok(v)
    }

    fn release(&self, o: &Options, _running: Option<&Identity>) -> Result<()> {
        run(&[program()?, "-4".into(), "--release".into(), o.bond.clone()])
    }

    /// With `--persistent` a SIGTERM leaves the address in place and sends nothing, and
    /// dhcpcd takes its privilege-separation helpers down with it; after a SIGKILL those
    /// would outlive it, beside the new instance.
    fn restart_signal(&self) -> nix::sys::signal::Signal {
        nix::sys::signal::Signal::SIGTERM
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optional_argument_options_keep_their_value_attached() {
        let o = Options {
            bond: "bond0".into(),
            client_id: Some(vec![0xff, 0x01, 0x02]),
            hostname: Some("laptop".into()),
        };
        let v = args(&o);
        assert!(v.contains(&"--clientid=ff:01:02".to_string()), "{v:?}");
        assert!(v.contains(&"--hostname=laptop".to_string()), "{v:?}");
        assert!(
            !v.iter().any(|a| a == "--clientid" || a == "--hostname"),
            "{v:?}"
        );
        assert_eq!(v.last().map(String::as_str), Some("bond0"));
        assert!(v.contains(&"--nodelay".to_string()) && v.contains(&"--noarp".to_string()));
    }
}
