//! The job's side of [`crate::plan::carrier`]: after a link event that leaves the bond not
//! ready, if its active slave has lost its carrier, the job reads the slaves and hands the
//! bond to a ready one at once, without waiting for the driver's next link monitor tick.
//!
//! Not under the bond's lock: the change is one atomic request the driver checks itself (it
//! refuses a slave it does not see up), and a hook holding the lock (an unplug's) is what
//! the job must not wait for. A refusal or a slave gone meanwhile is logged; the driver's
//! own failover follows then, as without hotbond.

use anyhow::Result;

use crate::config::{Bond, Kind};
use crate::kernel::{self, Kernel, Link};
use crate::plan::carrier::{self, Slave};

fn slave(l: &Link) -> Slave {
    Slave {
        name: l.name.clone(),
        carrier: l.carrier,
        ready: l.up && l.carrier && l.oper_up(),
    }
}

/// Hands the bond over if its active slave has no carrier and another slave is ready.
/// Returns the line to log when it did: the job logs it after the DHCP client has sent.
pub fn hand_over(k: &mut Kernel, bond: &Bond, master: u32) -> Result<Option<String>> {
    let name = bond.name.as_str();
    if !matches!(bond.kind, Kind::Bond) {
        return Ok(None);
    }
    let Some(active) = kernel::bond_active_slave(name) else {
        return Ok(None);
    };
    let Some(a) = k.link(&active)?.filter(|a| !a.carrier) else {
        return Ok(None);
    };
    let mut links = Vec::new();
    for s in kernel::bond_slaves(name) {
        links.extend(k.link(&s)?);
    }
    let slaves: Vec<Slave> = links.iter().map(slave).collect();
    let Some(to) = carrier::take_over(&slave(&a), &slaves) else {
        return Ok(None);
    };
    let Some(to) = links.iter().find(|l| l.name == to.name) else {
        return Ok(None);
    };
    k.set_active_slave(master, to)?;
    Ok(Some(format!(
        "{name}: {active} lost its carrier: {} carries the bond now",
        to.name
    )))
}
