//! Effects: carries out a [`Plan`] against the kernel and the job runner, each action as it
//! is written. A step that fails undoes the steps before it that changed the network (a bond
//! it created, a slave it enslaved, an address it added), so a failed hook leaves things as
//! they were.

use anyhow::{anyhow, Result};

use crate::dhcp::supervise;
use crate::kernel::{self, Kernel};
use crate::net::IfName;
use crate::net::{BondOptions, IpNet, Ipv6Mode, StableSecret};
use crate::plan::{self, Action, Plan, Stop};
use crate::service::{self, Job, Pending};
use crate::state;

enum Undo {
    DeleteLink(IfName),
    Release {
        iface: IfName,
        addrs: Vec<IpNet>,
        was_up: bool,
    },
    DelAddress(IfName, IpNet),
}

fn index_of(k: &mut Kernel, name: &IfName) -> Result<u32> {
    k.link(name.as_str())?
        .map(|l| l.index)
        .ok_or_else(|| anyhow!("{name} does not exist (any more)"))
}

/// Applies the plan in order. Hooks call this with the bond's lock held.
///
/// The plan's job is asked for first, and systemd starts it while the kernel work below goes
/// on (under TCG a systemctl run and a unit start cost hundreds of milliseconds). The job
/// waits for the bond whatever the order, and one that finds its bond gone after a rollback
/// just waits for the next.
pub fn apply(plan: &Plan, k: &mut Kernel) -> Result<()> {
    finish_job_start(apply_starting(plan, k)?);
    Ok(())
}

/// [`apply`], but returns with the job's start still being asked for: the caller gives
/// the bond's lock back, then waits for it with [`finish_job_start`].
pub fn apply_starting(plan: &Plan, k: &mut Kernel) -> Result<Option<Pending>> {
    let pending = plan.ensure_job.as_ref().and_then(begin_job);
    let mut undo: Vec<Undo> = Vec::new();
    for a in &plan.actions {
        crate::info!("{a}");
        if let Err(e) = step(a, k, &mut undo) {
            rollback(k, undo);
            if let (Some(p), Some(job)) = (pending, &plan.ensure_job) {
                take_back(p, job, k);
            }
            return Err(e.context(format!("could not {a}")));
        }
    }
    Ok(pending)
}

/// Waits until the job's start has been accepted (systemctl returned).
pub fn finish_job_start(pending: Option<Pending>) {
    if let Some(Err(e)) = pending.map(|p| p.finish()) {
        crate::warn!("could not start the bond's job: {e:#}");
    }
}

/// Asks for the job. One that cannot be started does not undo the kernel work: the bond's
/// next event asks again.
fn begin_job(job: &Job) -> Option<Pending> {
    let line = plan::ensure_line(job);
    crate::info!("{line}");
    service::ensure_begin(job)
        .map_err(|e| crate::warn!("could not {line}: {e:#}"))
        .ok()
        .flatten()
}

/// A job started for a bond the rollback took away again is stopped again.
fn take_back(p: Pending, job: &Job, k: &mut Kernel) {
    let master_gone = match job {
        Job::Settle(bond) => !matches!(k.link(bond.as_str()), Ok(Some(_))),
        Job::Supplicant(_) => false,
    };
    if master_gone {
        p.cancel();
    } else {
        let _ = p.finish();
    }
}

fn stop_job(job: &Job, stop: Stop) -> Result<()> {
    match stop {
        Stop::Ask => service::stop_nowait(job),
        Stop::AndWait => service::stop(job),
    }
}

fn step(a: &Action, k: &mut Kernel, undo: &mut Vec<Undo>) -> Result<()> {
    match a {
        Action::LoadBonding => kernel::load_bonding()?,
        Action::CreateBond { name, options } => create_bond(k, name, options, undo)?,
        Action::SetBondOptions { name, options } => {
            let idx = index_of(k, name)?;
            // The kernel refuses a mode change while the bond is up.
            k.set_up(idx, false)?;
            k.set_bond_options(idx, options)?;
        }
        Action::CreateBridge { name } => {
            k.create_bridge(name.as_str())?;
            undo.push(Undo::DeleteLink(name.clone()));
        }
        Action::SetPrimary { bond, primary } => {
            kernel::set_bond_primary(bond.as_str(), primary.as_str())?
        }
        Action::SetIpv6 { bond, mode } => set_ipv6(bond, *mode),
        Action::LinkUp { iface } => {
            let idx = index_of(k, iface)?;
            k.set_up(idx, true)?;
        }
        Action::Enslave { iface, master } => enslave(k, iface, master, undo)?,
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
        Action::RecordSlave { iface, bond } => {
            state::record_slave(iface.as_str(), bond.as_str())?;
            // Joined again (up): no longer set aside.
            state::clear_aside(iface.as_str());
        }
        Action::ForgetSlave { iface } => {
            state::forget_slave(iface.as_str());
            state::clear_aside(iface.as_str());
        }
        Action::StartSupplicant { iface } => service::ensure(&Job::Supplicant(iface.clone()))?,
        Action::StopSupplicant { iface, stop } => stop_job(&Job::Supplicant(iface.clone()), *stop)?,
        Action::StopBondJob { bond, stop } => stop_job(&Job::Settle(bond.clone()), *stop)?,
        // The lease just expires at the server otherwise: not worth failing `down` for.
        Action::ReleaseLease { bond } => {
            if let Err(e) = supervise::release(bond) {
                crate::warn!("{}: releasing the lease failed: {e:#}", bond.name);
            }
        }
        // An address or route already gone (a released lease takes its own) is fine.
        Action::DeleteRoute { iface, route } => {
            let idx = index_of(k, iface)?;
            k.del_route(idx, route)?;
        }
        Action::DeleteAddress { iface, address } => {
            let idx = index_of(k, iface)?;
            k.del_address(idx, address)?;
        }
        Action::ReleaseSlave { iface, .. } => release_slave(k, iface)?,
        Action::DeleteLink { name } => {
            let idx = index_of(k, name)?;
            k.delete_link(idx)?;
        }
        Action::ForgetBond { bond } => state::clear_bond(bond.as_str()),
    }
    Ok(())
}

fn create_bond(
    k: &mut Kernel,
    name: &IfName,
    options: &BondOptions,
    undo: &mut Vec<Undo>,
) -> Result<()> {
    match k.create_bond(name.as_str(), options) {
        Ok(()) => undo.push(Undo::DeleteLink(name.clone())),
        // Another hook or `modprobe bonding` made it between observing and now.
        Err(e) if k.link(name.as_str())?.is_some() => {
            crate::debug!("{name} exists already: {e:#}");
            if kernel::bond_slaves(name.as_str()).is_empty() {
                let idx = index_of(k, name)?;
                k.set_bond_options(idx, options)?;
            }
        }
        Err(e) => return Err(e),
    }
    Ok(())
}

/// IPv6 addressing is not worth failing the bond for (and undoing the wired side with it):
/// on failure the kernel's defaults apply, and the log says so.
fn set_ipv6(bond: &IfName, mode: Ipv6Mode) {
    let r = match mode {
        Ipv6Mode::Stable => crate::dhcp::machine_id()
            .map(|id| StableSecret::derive(&id, bond))
            .and_then(|s| kernel::set_ipv6_stable_privacy(bond.as_str(), &s)),
        Ipv6Mode::Off => kernel::disable_ipv6(bond.as_str()),
        Ipv6Mode::Kernel => Ok(()),
    };
    if let Err(e) = r {
        crate::warn!("{bond}: IPv6 {mode} not set, the kernel's defaults apply: {e:#}");
    }
}

/// A slave that vanished meanwhile is free already; its record goes either way.
fn release_slave(k: &mut Kernel, iface: &IfName) -> Result<()> {
    if let Some(l) = k.link(iface.as_str())? {
        k.set_master(l.index, None)?;
        k.set_up(l.index, true)?;
    }
    state::forget_slave(iface.as_str());
    Ok(())
}

/// down, flush, master, up: undone by releasing it with its addresses back.
fn enslave(k: &mut Kernel, iface: &IfName, master: &IfName, undo: &mut Vec<Undo>) -> Result<()> {
    let link = k
        .link(iface.as_str())?
        .ok_or_else(|| anyhow!("{iface} vanished"))?;
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
    Ok(())
}

fn rollback(k: &mut Kernel, undo: Vec<Undo>) {
    for u in undo.into_iter().rev() {
        if let Err(e) = undo_one(k, &u) {
            crate::warn!("undo failed: {e:#}");
        }
    }
}

fn undo_one(k: &mut Kernel, u: &Undo) -> Result<()> {
    match u {
        Undo::DeleteLink(name) => {
            if let Some(l) = k.link(name.as_str())? {
                crate::info!("undo: delete {name}");
                k.delete_link(l.index)?;
            }
        }
        Undo::Release {
            iface,
            addrs,
            was_up,
        } => {
            if let Some(l) = k.link(iface.as_str())? {
                crate::info!("undo: release {iface}");
                k.set_master(l.index, None)?;
                for a in addrs {
                    k.add_address(l.index, a)?;
                }
                k.set_up(l.index, *was_up)?;
            }
        }
        Undo::DelAddress(iface, a) => {
            if let Some(l) = k.link(iface.as_str())? {
                crate::info!("undo: remove address {a} from {iface}");
                k.del_address(l.index, a)?;
            }
        }
    }
    Ok(())
}
