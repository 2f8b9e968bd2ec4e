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

use super::{find_program, hex_colon, run, Client, Options, Reacquire};

pub struct Dhcpcd;

fn program() -> Result<String> {
    find_program("dhcpcd")
        .map(|p| p.to_string_lossy().into_owned())
        .context("dhcpcd is not installed")
}

impl Client for Dhcpcd {
    fn name(&self) -> &'static str {
        "dhcpcd"
    }

    fn command(&self, o: &Options) -> Result<Vec<String>> {
        let mut v = vec![
            program()?,
            "-4".into(),
            "--nobackground".into(),
            "--persistent".into(),
            // No IPv4LL fallback: the bond has its static fail-safe address for that.
            "--noipv4ll".into(),
            // No start-up jitter, no ARP probe of the leased address (see the module doc).
            "--nodelay".into(),
            "--noarp".into(),
        ];
        if let Some(id) = &o.client_id {
            v.push("--clientid".into());
            v.push(hex_colon(id));
        }
        if let Some(h) = &o.hostname {
            v.push("--hostname".into());
            v.push(h.clone());
        }
        v.push(o.bond.clone());
        Ok(v)
    }

    fn reacquire(&self) -> Reacquire {
        Reacquire::Restart
    }

    fn release(&self, o: &Options, _pid: Option<i32>) -> Result<()> {
        run(&[program()?, "-4".into(), "--release".into(), o.bond.clone()])
    }
}
