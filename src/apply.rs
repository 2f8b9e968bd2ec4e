//! Effects: carries out a [`Plan`] against the kernel and the job runner. A step that fails
//! undoes the steps before it that changed the network (a bond it created, a slave it
//! enslaved, an address it added), so a failed hook leaves things as they were.

use anyhow::{anyhow, Context, Result};

use crate::config::Config;
use crate::kernel::{self, Kernel};
use crate::plan::{Action, Plan};
use crate::service::{self, Job};
use crate::state;

enum Undo {
    DeleteLink(String),
    Release {
        iface: String,
        addrs: Vec<crate::net::IpNet>,
        was_up: bool,
    },
    DelAddress(String, crate::net::IpNet),
}

fn index_of(k: &mut Kernel, name: &str) -> Result<u32> {
    k.link(name)?
        .map(|l| l.index)
        .ok_or_else(|| anyhow!("{name} does not exist (any more)"))
}

/// Applies the plan in order. Hooks call this with the bond's lock held.
///
/// One exception to the order: the bond's job is asked for first, and systemd starts it
/// while the kernel work below goes on (under TCG a systemctl run and a unit start cost
/// hundreds of milliseconds). The job waits for the bond whatever the order, and one that
/// finds its bond gone after a rollback just waits for the next.
pub fn apply(plan: &Plan, cfg: &Config, k: &mut Kernel) -> Result<()> {
    let mut pending = None;
    let settle = plan
        .actions
        .iter()
        .find(|a| matches!(a, Action::Settle { .. }));
    if let Some(a @ Action::Settle { bond }) = settle {
        crate::info!("{a}");
        // A job that cannot be started does not undo the kernel work: the next event of the
        // bond asks again.
        pending = service::ensure_begin(&Job::Settle(bond.clone()))
            .map_err(|e| crate::warn!("could not {a}: {e:#}"))
            .ok()
            .flatten();
    }
    let mut undo: Vec<Undo> = Vec::new();
    for a in &plan.actions {
        if matches!(a, Action::Settle { .. }) {
            continue;
        }
        crate::info!("{a}");
        if let Err(e) = step(a, cfg, k, &mut undo) {
            rollback(k, undo);
            if let (Some(p), Some(Action::Settle { bond })) = (pending, settle) {
                // A job started for a bond the rollback took away again.
                if !matches!(k.link(bond), Ok(Some(_))) {
                    p.cancel();
                } else {
                    let _ = p.finish();
                }
            }
            return Err(e.context(format!("could not {a}")));
        }
    }
    if let Some(Err(e)) = pending.map(|p| p.finish()) {
        crate::warn!("could not start the bond's job: {e:#}");
    }
    Ok(())
}

fn step(a: &Action, cfg: &Config, k: &mut Kernel, undo: &mut Vec<Undo>) -> Result<()> {
    match a {
        Action::LoadBonding => kernel::load_bonding()?,
        Action::CreateBond { bond } => {
            let b = cfg
                .bond(bond)
                .with_context(|| format!("{bond} is not configured"))?;
            match k.create_bond(bond, &b.options) {
                Ok(()) => undo.push(Undo::DeleteLink(bond.clone())),
                // Another hook or `modprobe bonding` made it between observing and now.
                Err(e) if k.link(bond)?.is_some() => {
                    crate::debug!("{bond} exists already: {e:#}");
                    if kernel::bond_slaves(bond).is_empty() {
                        let idx = index_of(k, bond)?;
                        k.set_bond_options(idx, &b.options)?;
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Action::SetBondOptions { bond } => {
            let b = cfg
                .bond(bond)
                .with_context(|| format!("{bond} is not configured"))?;
            let idx = index_of(k, bond)?;
            // The kernel refuses a mode change while the bond is up.
            k.set_up(idx, false)?;
            k.set_bond_options(idx, &b.options)?;
        }
        Action::CreateBridge { bridge } => {
            k.create_bridge(bridge)?;
            undo.push(Undo::DeleteLink(bridge.clone()));
        }
        Action::SetPrimary { bond, primary } => kernel::set_bond_primary(bond, primary)?,
        Action::LinkUp { iface } => {
            let idx = index_of(k, iface)?;
            k.set_up(idx, true)?;
        }
        Action::Enslave { iface, master } => {
            let link = k.link(iface)?.ok_or_else(|| anyhow!("{iface} vanished"))?;
            let m = index_of(k, master)?;
            let addrs = k.addresses(link.index)?;
            undo.push(Undo::Release {
                iface: iface.clone(),
                addrs,
                was_up: link.up,
            });
            k.set_up(link.index, false)?;
            k.flush_addresses(link.index)?;
            k.set_master(link.index, Some(m))?;
            k.set_up(link.index, true)?;
        }
        Action::AddAddress { iface, address } => {
            let idx = index_of(k, iface)?;
            let had = k.addresses(idx)?.contains(address);
            k.add_address(idx, address)?;
            if !had {
                undo.push(Undo::DelAddress(iface.clone(), address.clone()));
            }
        }
        Action::ReplaceRoute { iface, route } => {
            let idx = index_of(k, iface)?;
            k.replace_route(idx, route)?;
        }
        Action::RecordSlave { iface, bond } => state::record_slave(iface, bond)?,
        Action::ForgetSlave { iface } => state::forget_slave(iface),
        Action::StartSupplicant { iface, .. } => service::ensure(&Job::Supplicant(iface.clone()))?,
        Action::StopSupplicant { iface } => service::stop_nowait(&Job::Supplicant(iface.clone()))?,
        Action::StopBondJobs { bond } => {
            service::stop_nowait(&Job::Settle(bond.clone()))?;
        }
        // Asked for by apply() before everything else. The job watches the bond's link
        // events itself: once it runs, there is nothing to tell it.
        Action::Settle { .. } => {}
    }
    Ok(())
}

fn rollback(k: &mut Kernel, undo: Vec<Undo>) {
    for u in undo.into_iter().rev() {
        let r: Result<()> = (|| {
            match &u {
                Undo::DeleteLink(name) => {
                    if let Some(l) = k.link(name)? {
                        crate::info!("undo: delete {name}");
                        k.delete_link(l.index)?;
                    }
                }
                Undo::Release {
                    iface,
                    addrs,
                    was_up,
                } => {
                    if let Some(l) = k.link(iface)? {
                        crate::info!("undo: release {iface}");
                        k.set_master(l.index, None)?;
                        for a in addrs {
                            k.add_address(l.index, a)?;
                        }
                        k.set_up(l.index, *was_up)?;
                    }
                }
                Undo::DelAddress(iface, a) => {
                    if let Some(l) = k.link(iface)? {
                        crate::info!("undo: remove address {a} from {iface}");
                        k.del_address(l.index, a)?;
                    }
                }
            }
            Ok(())
        })();
        if let Err(e) = r {
            crate::warn!("undo failed: {e:#}");
        }
    }
}
