//! What the job does once the probe of the gateway ([`super::probe`]) has a result: it
//! reads the bond again, lets [`crate::plan::traffic::decide`] judge, and carries it out.
//!
//! A slave that passes no traffic is set down. Making another slave active is not enough:
//! the bond's primary is the wired NIC, and the bonding driver puts a primary that has
//! link back in charge at its next reselection (primary_reselect). A slave that is down
//! has no link for the driver's monitor (miimon), so the bond fails over at its next look
//! and stays over; the slave stays enslaved, so `hotbond status` still shows it. Whatever
//! runs the hotplug path for it sets it up again: a replug (udev remove + add), or
//! `hotbond replay IFACE`.

use anyhow::{Context, Result};

use crate::config::Bond;
use crate::kernel::{self, Kernel};
use crate::plan::traffic::{self, Probe, SlaveNow, Verdict};
use crate::state::{self, AsideRecord};

/// Judges `probe` against the bond as it is now and acts on the verdict.
pub fn conclude(k: &mut Kernel, bond: &Bond, probe: &Probe) -> Result<()> {
    let name = bond.name.as_str();
    let Some(master) = k.link(name)? else {
        return Ok(());
    };
    let active = kernel::bond_active_slave(name);
    let gateway = k.default_gateway_v4(master.index)?;
    let slaves: Vec<SlaveNow> = k
        .bond_slave_links(name)?
        .into_iter()
        .map(|l| SlaveNow {
            ready: l.up && l.oper_up(),
            name: l.name,
        })
        .collect();
    match traffic::decide(probe, active.as_deref(), gateway, &slaves) {
        Verdict::Keep { why } => crate::info!("{name}: {why}"),
        Verdict::SetAside { dead, why, .. } => {
            crate::warn!("{name}: {why}");
            set_aside(k, bond, &dead, &why)?;
        }
    }
    Ok(())
}

/// Sets `slave` down under the bond's lock (no hook interleaves), and records why.
fn set_aside(k: &mut Kernel, bond: &Bond, slave: &str, why: &str) -> Result<()> {
    let _guard = crate::lock::lock_bond(bond.name.as_str())?;
    let Some(link) = k.link(slave)? else {
        return Ok(());
    };
    k.set_up(link.index, false)
        .with_context(|| format!("cannot set {slave} aside"))?;
    state::write_aside(&AsideRecord {
        bond: bond.name.to_string(),
        slave: slave.to_string(),
        reason: why.to_string(),
        since_unix_ms: state::now_ms(),
    })
}
