//! The event entry points: udev `RUN+=` (`hotbond-udev`), wpa_cli action scripts
//! (`hotbond-wpa`) and `hotbond replay`. Each observes, plans, and applies under the bond's
//! lock, and returns without waiting for anything slow.

use anyhow::{bail, Result};

use crate::config::Config;
use crate::kernel::{self, Kernel, RfkillDev};
use crate::net::ifname::{shown, IfName};
use crate::plan::{self, Event, MasterState, Observed, Plan};
use crate::service::{self, Job};
use crate::{apply, lock, state};

/// What the kernel says now about the event's interface and its bond.
pub fn observe(event: &Event, cfg: &Config, k: &mut Kernel) -> Result<Observed> {
    let iface = event.iface();
    let link = match event {
        Event::Remove(_) => None,
        _ => k.link(iface.as_str())?,
    };
    let facts = match (&link, event) {
        (Some(l), _) => Some(kernel::device_facts(iface.as_str(), l.mac)),
        // Gone: only its name is left to match rules on.
        (None, Event::Remove(_)) => Some(crate::net::DeviceFacts {
            name: iface.to_string(),
            mac: None,
            bus: None,
            physical: false,
            wireless: false,
        }),
        (None, _) => None,
    };
    let radio = link
        .as_ref()
        .and_then(|_| kernel::radio_rfkill(iface.as_str()));
    let mut obs = Observed {
        iface: link,
        facts,
        master: None,
        recorded_bond: state::recorded_bond(iface.as_str()),
        bonding_loaded: kernel::bonding_loaded(),
        radio,
        supplicant_running: service::running_pid(&Job::Supplicant(iface.clone())).is_some(),
    };
    if let Some(bond) = plan::bond_of(event, cfg, &obs) {
        obs.master = master_state(k, bond.name.as_str())?;
    }
    Ok(obs)
}

pub fn master_state(k: &mut Kernel, name: &str) -> Result<Option<MasterState>> {
    let Some(link) = k.link(name)? else {
        return Ok(None);
    };
    let addresses = k.addresses(link.index)?;
    let is_bond = link.kind.as_deref() == Some("bond");
    let slaves = if is_bond {
        kernel::bond_slaves(name)
    } else {
        kernel::lower_links(name)
    };
    Ok(Some(MasterState {
        mode: kernel::bond_mode(name),
        fail_over_mac: kernel::bond_fail_over_mac(name),
        primary: kernel::bond_primary(name),
        slaves: slaves.iter().filter_map(|s| kernel_name(s)).collect(),
        addresses,
        link,
    }))
}

/// A name the kernel reported. The kernel accepts a few (control characters) that hotbond
/// refuses everywhere else; such a device was never hotbond's to manage.
pub fn kernel_name(s: &str) -> Option<IfName> {
    IfName::new(s)
        .map_err(|e| crate::debug!("{e:#}: left alone"))
        .ok()
}

/// Handles one event: plan, and unless `dry_run`, apply. Returns the plan.
pub fn handle(event: &Event, cfg: &Config, dry_run: bool) -> Result<Plan> {
    let mut k = Kernel::open()?;
    // Find the bond without the lock (cheap, read-only), then decide again under it.
    let first = observe(event, cfg, &mut k)?;
    let Some(bond) = plan::bond_of(event, cfg, &first) else {
        let p = plan::plan(event, cfg, &first);
        crate::debug!("{}", p.reason);
        return Ok(p);
    };
    if dry_run {
        let obs = observe(event, cfg, &mut k)?;
        let p = plan::plan(event, cfg, &obs);
        crate::info!("{event}: {}", p.reason);
        return Ok(p);
    }
    let _start = lock::lock_job_start(bond.name.as_str())?;
    let guard = lock::lock_bond(bond.name.as_str())?;
    let obs = observe(event, cfg, &mut k)?;
    let p = plan::plan(event, cfg, &obs);
    crate::info!("{event}: {}", p.reason);
    let pending = apply::apply_starting(&p, &mut k)?;
    // The kernel work is done: the bond's job may act while systemd is still being asked.
    drop(guard);
    apply::finish_job_start(pending);
    Ok(p)
}

/// One event, with the configuration as it is now.
pub fn on_event(event: &Event) -> Result<()> {
    let cfg = Config::load()?;
    handle(event, &cfg, false).map(|_| ())
}

/// The event of a udev ACTION and INTERFACE, checked; None for an action hotbond ignores.
pub fn udev_event(action: &str, iface: &str) -> Result<Option<Event>> {
    let event: fn(IfName) -> Event = match action {
        "add" => Event::Add,
        "remove" => Event::Remove,
        // The name is not validated yet: logged escaped and cut.
        "change" | "move" | "bind" | "unbind" => {
            crate::debug!("{}: udev {action} ignored", shown(iface));
            return Ok(None);
        }
        other => bail!(
            "unknown udev action {} (expected add or remove)",
            shown(other)
        ),
    };
    Ok(Some(event(IfName::new(iface)?)))
}

/// `hotbond-udev`: ACTION and INTERFACE from udev's environment, or `add|remove IFACE`.
pub fn udev(action: &str, iface: &str) -> Result<()> {
    let Some(event) = udev_event(action, iface)? else {
        return Ok(());
    };
    let cfg = match Config::load() {
        Ok(c) => c,
        // Installed but not enabled (only the example exists): every interface is left to
        // whatever else manages it, and saying so at each udev event would be noise.
        Err(e) if e.downcast_ref::<crate::config::NoConfig>().is_some() => {
            crate::debug!("{event}: {e}; left alone");
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    handle(&event, &cfg, false).map(|_| ())
}

/// `hotbond-udev` for an rfkill switch (udev's SUBSYSTEM=rfkill, DEVPATH ending in
/// `rfkillN`): on `change` a radio was switched off or on, and each Wi-Fi interface it
/// switches is handled as [`Event::RadioChanged`]. All are tried; the first failure is
/// returned.
pub fn udev_rfkill(action: &str, devpath: &str) -> Result<()> {
    if action != "change" {
        crate::debug!(
            "{}: udev {} of an rfkill switch ignored",
            shown(devpath),
            shown(action)
        );
        return Ok(());
    }
    let dev: RfkillDev = devpath.rsplit('/').next().unwrap_or(devpath).parse()?;
    let ifaces: Vec<IfName> = kernel::rfkill_ifaces(dev)
        .iter()
        .filter_map(|s| kernel_name(s))
        .collect();
    if ifaces.is_empty() {
        crate::debug!("{dev}: switches no network interface present");
        return Ok(());
    }
    let cfg = Config::load()?;
    let mut first = None;
    for i in ifaces {
        if let Err(e) = handle(&Event::RadioChanged(i.clone()), &cfg, false) {
            crate::warn!("{dev}: {i}: {e:#}");
            first.get_or_insert(e);
        }
    }
    first.map_or(Ok(()), Err)
}

/// The event of a wpa_cli action, checked; None for an event hotbond ignores.
pub fn wpa_event(iface: &str, what: &str) -> Result<Option<Event>> {
    let event: fn(IfName) -> Event = match what {
        "CONNECTED" => Event::Connected,
        "DISCONNECTED" => Event::Disconnected,
        other => {
            crate::debug!("{}: wpa_cli event {} ignored", shown(iface), shown(other));
            return Ok(None);
        }
    };
    Ok(Some(event(IfName::new(iface)?)))
}

/// `hotbond-wpa IFNAME EVENT`: the wpa_cli action script.
pub fn wpa(iface: &str, what: &str) -> Result<()> {
    match wpa_event(iface, what)? {
        Some(event) => on_event(&event),
        None => Ok(()),
    }
}
