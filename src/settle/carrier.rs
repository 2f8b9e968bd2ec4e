//! The job's side of [`crate::plan::carrier`]: after a link event that leaves the bond not
//! ready (before it acts), or ready on a slave other than its primary (after it acted), the
//! job reads the slaves and, when the plan says so, makes another slave active at once, or
//! asks the driver to look at its links now, without waiting for its next link monitor tick.
//!
//! Not under the bond's lock: each change is one request (or one datagram) the driver
//! checks itself (it refuses a slave it does not see up, which the plan does not ask for),
//! and a hook holding the lock (an unplug's) is what the job must not wait for. A refusal
//! or a slave gone meanwhile is logged; the driver's own failover follows then, as without
//! hotbond.

use anyhow::Result;

use super::Readiness;
use crate::config::{Bond, Kind};
use crate::kernel::{self, Kernel, Link};
use crate::net::PrimaryReselect;
use crate::plan::carrier::{self, Move, Policy, Slave};

fn slave(l: &Link) -> Slave {
    Slave {
        name: l.name.clone(),
        carrier: l.carrier,
        up: l.up,
        ready: l.up && l.carrier && l.oper_up(),
        driver_up: kernel::slave_link_up(&l.name),
    }
}

fn policy(bond: &Bond) -> Policy {
    let o = &bond.options;
    Policy {
        primary: bond.primary.as_ref().map(|p| p.to_string()),
        leave_at_once: o.downdelay == 0,
        take_at_once: o.updelay == 0,
        reselect_always: o.primary_reselect == PrimaryReselect::Always,
    }
}

/// Before the job acts: the bond is not ready, maybe because its active slave lost its
/// carrier. A switch must come before the DHCP request.
pub fn before_acting(bond: &Bond, r: &Readiness) -> bool {
    is_bond(bond, r) && !r.ready
}

/// After the job acted: the bond is ready on another slave than its primary, which may have
/// link again. In the steady state (on the primary) the job reads no more.
pub fn after_acting(bond: &Bond, r: &Readiness) -> bool {
    let primary = bond.primary.as_ref().map(|p| p.as_str());
    is_bond(bond, r) && r.ready && primary.is_some() && r.active.as_deref() != primary
}

fn is_bond(bond: &Bond, r: &Readiness) -> bool {
    matches!(bond.kind, Kind::Bond) && r.index.is_some()
}

/// What the job did about a carrier change, with the line to log: the job logs it after the
/// DHCP client has sent.
pub enum Acted {
    /// Another slave is active now: the bond carries its MAC already.
    HandedOver(String),
    /// The driver looks at its links on its own workqueue: its switch comes as link events.
    AskedToLook(String),
}

/// Makes another slave active, or the driver look at its links, if the plan says so.
pub fn act_on_carrier(k: &mut Kernel, bond: &Bond, master: u32) -> Result<Option<Acted>> {
    let name = bond.name.as_str();
    let links = k.bond_slave_links(name)?;
    let active = match kernel::bond_active_slave(name) {
        None => None,
        Some(a) => match links.iter().find(|l| l.name == a) {
            Some(l) => Some(slave(l)),
            // Gone since: its own event follows.
            None => return Ok(None),
        },
    };
    let slaves: Vec<Slave> = links.iter().map(slave).collect();
    let Some((to, why)) = carrier::choose(active.as_ref(), &slaves, &policy(bond)) else {
        return Ok(None);
    };
    let (Move::HandOver(s) | Move::Look(s)) = &to;
    let Some(link) = links.iter().find(|l| l.name == s.name) else {
        return Ok(None);
    };
    let line = format!("{name}: {why}");
    Ok(Some(match to {
        Move::HandOver(_) => {
            k.set_active_slave(master, link)?;
            Acted::HandedOver(line)
        }
        // The interval as the driver has it now: a person may have changed it by hand.
        Move::Look(_) => match kernel::bond_miimon(name).filter(|ms| *ms > 0) {
            Some(ms) => {
                k.bond_monitor_now(master, ms)?;
                Acted::AskedToLook(line)
            }
            None => return Ok(None),
        },
    }))
}
