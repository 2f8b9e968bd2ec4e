//! The `hotbond` command for people: status, up, down, replay, check; and the job entry
//! point its supplicant unit runs (exec-supplicant).

use std::path::PathBuf;

use anyhow::{bail, Context, Result};

use crate::config::{Config, Kind};
use crate::hooks;
use crate::kernel::{self, Kernel};
use crate::net::IfName;
use crate::plan::{self, Event};
use crate::service::{self, Job};
use crate::{apply, lock, settle, state, status, supplicant};

pub const USAGE: &str = "\
usage: hotbond status [BOND] [--json]     show bonds, slaves, MACs, DHCP and supplicant state
       hotbond up BOND                    create BOND and enslave every configured interface present
       hotbond down BOND                  release the lease, remove addresses, free slaves, delete BOND
       hotbond replay [--dry-run] [IFACE...]  re-run the hotplug path for interfaces present now
       hotbond check [--config PATH]      validate the configuration
environment: HOTBOND_CONFIG (configuration file), HOTBOND_DEBUG=1 (verbose)";

pub fn main(args: Vec<String>) -> Result<()> {
    let mut it = args.iter().map(String::as_str);
    match it.next() {
        Some("status") => {
            let rest: Vec<&str> = it.collect();
            let json = rest.contains(&"--json");
            let bond = rest.iter().find(|a| !a.starts_with("--")).copied();
            cmd_status(bond, json)
        }
        Some("up") => cmd_up(one_arg(it, "up BOND")?),
        Some("down") => cmd_down(one_arg(it, "down BOND")?),
        Some("replay") => {
            let rest: Vec<&str> = it.collect();
            let dry = rest.contains(&"--dry-run");
            let ifaces: Vec<&str> = rest.into_iter().filter(|a| !a.starts_with("--")).collect();
            cmd_replay(&ifaces, dry)
        }
        Some("check") => {
            let rest: Vec<&str> = it.collect();
            let path = match rest.as_slice() {
                [] => None,
                ["--config", p] => Some(PathBuf::from(p)),
                _ => bail!("usage: hotbond check [--config PATH]"),
            };
            cmd_check(path)
        }
        Some("exec-supplicant") => cmd_exec_supplicant(one_arg(it, "exec-supplicant IFACE")?),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => bail!("unknown command {other:?}\n{USAGE}"),
        None => bail!("no command given\n{USAGE}"),
    }
}

fn one_arg<'a>(mut it: impl Iterator<Item = &'a str>, usage: &str) -> Result<&'a str> {
    match (it.next(), it.next()) {
        (Some(a), None) => Ok(a),
        _ => bail!("usage: hotbond {usage}"),
    }
}

fn configured_bond<'a>(cfg: &'a Config, name: &str) -> Result<&'a crate::config::Bond> {
    IfName::new(name)?;
    cfg.bond(name).with_context(|| {
        format!(
            "unknown bond {name} (configured: {})",
            cfg.bonds
                .iter()
                .map(|b| b.name.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )
    })
}

fn cmd_status(bond: Option<&str>, json: bool) -> Result<()> {
    let cfg = Config::load()?;
    let mut k = Kernel::open()?;
    let bonds: Vec<_> = match bond {
        Some(b) => vec![configured_bond(&cfg, b)?],
        None => cfg.bonds.iter().collect(),
    };
    let mut out = Vec::new();
    for b in bonds {
        out.push(status::bond_status(&mut k, &cfg, b)?);
    }
    if json {
        let v = if bond.is_some() {
            serde_json::to_string_pretty(&out[0])?
        } else {
            serde_json::to_string_pretty(&out)?
        };
        println!("{v}");
    } else {
        for s in &out {
            print!("{}", status::render(s));
        }
    }
    Ok(())
}

/// Interfaces present now that the configuration puts in `bond` (or in any bond).
fn present_members(k: &mut Kernel, cfg: &Config, bond: Option<&str>) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for l in k.links()? {
        if cfg.bond(&l.name).is_some() {
            continue;
        }
        let facts = kernel::device_facts(&l.name, l.mac);
        if let Some((b, _)) = cfg.bond_for(&facts) {
            if bond.is_none_or(|n| n == b.name.as_str()) {
                out.push(l.name);
            }
        }
    }
    Ok(out)
}

fn cmd_up(name: &str) -> Result<()> {
    let cfg = Config::load()?;
    let bond = configured_bond(&cfg, name)?;
    let mut k = Kernel::open()?;
    {
        let _g = lock::lock_bond(name)?;
        let obs = plan::Observed {
            master: hooks::master_state(&mut k, name)?,
            bonding_loaded: kernel::bonding_loaded(),
            ..Default::default()
        };
        let p = plan::plan_up(bond, &obs);
        apply::apply(&p, &cfg, &mut k)?;
    }
    for iface in present_members(&mut k, &cfg, Some(name))? {
        hooks::handle(&Event::Add(iface), &cfg, false)?;
    }
    println!("{name} is up; `hotbond status {name}` shows when it has settled");
    Ok(())
}

/// Ordered teardown, as the classic recipe's unit ordering does it: the lease is released
/// before the supplicants stop, static configuration goes before the slaves are freed, and
/// the bond goes last.
fn cmd_down(name: &str) -> Result<()> {
    let cfg = Config::load()?;
    let bond = configured_bond(&cfg, name)?;
    let mut k = Kernel::open()?;
    let _g = lock::lock_bond(name)?;
    // The client is the bond job's child: release first (the client must run for that; the
    // job then ends by itself), then stop the job, which takes anything left with it.
    if let Err(e) = settle::release_dhcp(bond) {
        crate::warn!("{name}: releasing the lease failed: {e:#}");
    }
    service::stop(&Job::Settle(name.to_string()))?;
    let Some(master) = k.link(name)? else {
        state::clear_bond(name);
        println!("{name} does not exist; nothing to tear down");
        return Ok(());
    };
    for r in &bond.routes {
        crate::info!("remove route {r} from {name}");
        k.del_route(master.index, r)?;
    }
    for a in k.addresses(master.index)? {
        crate::info!("remove address {a} from {name}");
        k.del_address(master.index, &a)?;
    }
    let slaves = match bond.kind {
        Kind::Bond => kernel::bond_slaves(name),
        Kind::Bridge => kernel::lower_links(name),
    };
    for s in &slaves {
        service::stop(&Job::Supplicant(s.clone()))?;
    }
    for s in &slaves {
        if let Some(l) = k.link(s)? {
            crate::info!("release {s} from {name}");
            k.set_master(l.index, None)?;
            k.set_up(l.index, true)?;
        }
        state::forget_slave(s);
    }
    crate::info!("delete {name}");
    k.delete_link(master.index)?;
    state::clear_bond(name);
    println!("{name} is down");
    Ok(())
}

fn cmd_replay(ifaces: &[&str], dry_run: bool) -> Result<()> {
    let cfg = Config::load()?;
    let mut k = Kernel::open()?;
    let list: Vec<String> = if ifaces.is_empty() {
        let mut v = present_members(&mut k, &cfg, None)?;
        // Masters last: their static configuration once their slaves are in.
        for b in &cfg.bonds {
            if k.link(b.name.as_str())?.is_some() {
                v.push(b.name.to_string());
            }
        }
        v
    } else {
        for i in ifaces {
            IfName::new(i)?;
            if k.link(i)?.is_none() {
                bail!("unknown interface {i}: no such device");
            }
        }
        ifaces.iter().map(|s| s.to_string()).collect()
    };
    if list.is_empty() {
        println!("no configured interface is present");
    }
    for i in list {
        let p = hooks::handle(&Event::Add(i.clone()), &cfg, dry_run)?;
        println!("{i}: {}", p.reason);
        for a in &p.actions {
            println!("  {} {a}", if dry_run { "would" } else { "did" });
        }
    }
    Ok(())
}

fn cmd_check(path: Option<PathBuf>) -> Result<()> {
    let cfg = match &path {
        Some(p) => Config::load_path(p)?,
        None => Config::load()?,
    };
    println!("{}: valid", cfg.source.display());
    for b in &cfg.bonds {
        println!(
            "  {} ({}), primary {}, {} slave rule(s), {} address(es), {} route(s), dhcp {:?}",
            b.name,
            match b.kind {
                Kind::Bond => "bond",
                Kind::Bridge => "bridge",
            },
            b.primary
                .as_ref()
                .map(|p| p.to_string())
                .unwrap_or_else(|| "(none)".into()),
            b.slaves.len(),
            b.addresses.len(),
            b.routes.len(),
            b.dhcp.client
        );
        if let Err(e) = crate::dhcp::client_for(&b.dhcp.client) {
            println!("  warning: {e:#}");
        }
    }
    Ok(())
}

fn cmd_exec_supplicant(iface: &str) -> Result<()> {
    IfName::new(iface)?;
    service::write_own_pid_file(&Job::Supplicant(iface.to_string()))?;
    let cfg = Config::load()?;
    let mut k = Kernel::open()?;
    let link = k
        .link(iface)?
        .with_context(|| format!("unknown interface {iface}: no such device"))?;
    let facts = kernel::device_facts(iface, link.mac);
    let (bond, rule) = cfg
        .bond_for(&facts)
        .with_context(|| format!("{iface} is not part of any configured bond"))?;
    let sup = rule
        .supplicant
        .clone()
        .or_else(|| {
            facts
                .wireless
                .then(|| bond.auto_supplicant.clone())
                .flatten()
        })
        .with_context(|| format!("{iface} has no supplicant configured"))?;
    supplicant::run_job(iface, &sup, || crate::hooks::wpa(iface, "CONNECTED"))
}
