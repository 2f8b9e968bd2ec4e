//! dhcpcd: notices a MAC change but only logs it, so a MAC change needs a restart. Run
//! `--persistent` so that stopping it leaves the address in place; `-k` releases.

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
