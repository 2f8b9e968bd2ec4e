//! The `hotbond` command for people: status, up, down, replay, check; the job entry point
//! its supplicant unit runs (exec-supplicant), and what systemd-sleep runs ([`sleep`]).

use std::path::PathBuf;

use anyhow::{bail, Context, Result};

use crate::config::{Config, Kind};
use crate::hooks;
use crate::kernel::{self, Kernel};
use crate::net::IfName;
use crate::plan::{self, Event};
use crate::service::{self, Job};
use crate::{apply, lock, managers, status, supplicant};

pub mod parse;
pub mod sleep;

use parse::{Cli, Command};

/// Parses `args` (program name left out) and runs the command. A bad invocation prints the
/// usage and is refused with [`crate::args::Usage`] (exit 2) before anything is done;
/// `--help` and `--version` print and succeed.
pub fn main(args: Vec<String>) -> Result<()> {
    use clap::Parser;
    let cli = match Cli::try_parse_from(std::iter::once("hotbond".to_string()).chain(args)) {
        Ok(c) => c,
        Err(e) => {
            // Help and version go to stdout, errors with the usage to stderr.
            let _ = e.print();
            if e.use_stderr() {
                return Err(crate::args::Usage {
                    message: e.kind().to_string(),
                    shown: true,
                }
                .into());
            }
            return Ok(());
        }
    };
    match cli.command {
        Command::Status { json, bond } => cmd_status(bond.as_deref(), json),
        // clap lets through exactly one of `--all` and BOND.
        Command::Up { bond: Some(b), .. } => cmd_up(&b),
        Command::Up { bond: None, .. } => cmd_up_all(),
        Command::Down { dry_run, bond } => cmd_down(&bond, dry_run),
        Command::Replay { dry_run, ifaces } => cmd_replay(&ifaces, dry_run),
        Command::Check { file } => cmd_check(file),
        Command::Sleep { phase, kind } => sleep::run(&phase, &kind),
        Command::ExecSupplicant { iface } => cmd_exec_supplicant(&iface),
    }
}

/// The edge for a bond's name: validated here, carried as the configured bond's from then on.
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
    // After the status, and on stderr with --json so that stdout stays JSON.
    for o in other_managers(&cfg) {
        if json {
            eprintln!("hotbond: warning: {o}");
        } else {
            println!("warning: {o}");
        }
    }
    Ok(())
}

/// Interfaces present now that the configuration puts in `bond` (or in any bond).
fn present_members(k: &mut Kernel, cfg: &Config, bond: Option<&IfName>) -> Result<Vec<IfName>> {
    let mut out = Vec::new();
    for l in k.links()? {
        if cfg.bond(&l.name).is_some() {
            continue;
        }
        let facts = kernel::device_facts(&l.name, l.mac);
        if let Some((b, _)) = cfg.bond_for(&facts) {
            if bond.is_none_or(|n| *n == b.name) {
                out.extend(hooks::kernel_name(&l.name));
            }
        }
    }
    Ok(out)
}

fn cmd_up(name: &str) -> Result<()> {
    let cfg = Config::load()?;
    let bond = configured_bond(&cfg, name)?;
    let mut k = Kernel::open()?;
    up(&mut k, &cfg, bond)
}

/// Every configured bond up, as at boot (hotbond.service): one bond that fails is reported
/// and the others still come up, so that one bad NIC does not leave the laptop offline.
fn cmd_up_all() -> Result<()> {
    let cfg = Config::load()?;
    let mut k = Kernel::open()?;
    let mut failed = Vec::new();
    for bond in &cfg.bonds {
        if let Err(e) = up(&mut k, &cfg, bond) {
            crate::log::error(&format!("{}: {e:#}", bond.name));
            failed.push(bond.name.to_string());
        }
    }
    if !failed.is_empty() {
        bail!("not up: {}", failed.join(", "));
    }
    Ok(())
}

fn up(k: &mut Kernel, cfg: &Config, bond: &crate::config::Bond) -> Result<()> {
    let name = bond.name.as_str();
    {
        let _g = lock::lock_bond(name)?;
        let obs = plan::Observed {
            master: hooks::master_state(k, name)?,
            bonding_loaded: kernel::bonding_loaded(),
            ..Default::default()
        };
        let p = plan::plan_up(bond, &obs);
        apply::apply(&p, k)?;
    }
    for iface in present_members(k, cfg, Some(&bond.name))? {
        hooks::handle(&Event::Add(iface), cfg, false)?;
    }
    println!("{name} is up; `hotbond status {name}` shows when it has settled");
    Ok(())
}

/// The teardown of [`plan::plan_down`], or with `dry_run` only what it would do.
fn cmd_down(name: &str, dry_run: bool) -> Result<()> {
    let cfg = Config::load()?;
    let bond = configured_bond(&cfg, name)?;
    let mut k = Kernel::open()?;
    // The start lock first: a hook that asked systemd to start the job is done asking
    // before this stops it.
    let _g = if dry_run {
        None
    } else {
        Some((lock::lock_job_start(name)?, lock::lock_bond(name)?))
    };
    let master = hooks::master_state(&mut k, name)?;
    let p = plan::plan_down(bond, master.as_ref());
    if dry_run {
        print_plan(&p, dry_run);
        return Ok(());
    }
    apply::apply(&p, &mut k)?;
    if master.is_some() {
        println!("{name} is down");
    } else {
        println!("{name} does not exist; nothing to tear down");
    }
    Ok(())
}

/// The plan's reason, then each step as it would be (or was) done.
fn print_plan(p: &plan::Plan, dry_run: bool) {
    println!("{}", p.reason);
    for s in p.steps() {
        println!("  {} {s}", if dry_run { "would" } else { "did" });
    }
}

fn cmd_replay(ifaces: &[String], dry_run: bool) -> Result<()> {
    let cfg = Config::load()?;
    let mut k = Kernel::open()?;
    let list: Vec<IfName> = if ifaces.is_empty() {
        let mut v = present_members(&mut k, &cfg, None)?;
        // Masters last: their static configuration once their slaves are in.
        for b in &cfg.bonds {
            if k.link(b.name.as_str())?.is_some() {
                v.push(b.name.clone());
            }
        }
        v
    } else {
        let mut v = Vec::new();
        for i in ifaces {
            let name = IfName::new(i)?;
            if k.link(i)?.is_none() {
                bail!("unknown interface {i}: no such device");
            }
            v.push(name);
        }
        v
    };
    if list.is_empty() {
        println!("no configured interface is present");
    }
    for i in list {
        let p = hooks::handle(&Event::Add(i.clone()), &cfg, dry_run)?;
        print!("{i}: ");
        print_plan(&p, dry_run);
    }
    Ok(())
}

fn cmd_check(path: Option<PathBuf>) -> Result<()> {
    let cfg = match &path {
        Some(p) => Config::load_path(p)?,
        None => Config::load()?,
    };
    println!("{}: valid", cfg.source.display());
    let mut warnings = std::collections::HashMap::new();
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
        // Looked up once per client kind: a search of PATH per bond made
        // checking thousands of bonds take seconds.
        let missing = warnings
            .entry(b.dhcp.client)
            .or_insert_with(|| crate::dhcp::client_for(&b.dhcp.client).err());
        if let Some(e) = missing {
            println!("  warning: {e:#}");
        }
    }
    for o in other_managers(&cfg) {
        println!("  warning: {o}");
    }
    Ok(())
}

/// What hotbond is configured to manage, by name: the bonds, their primaries, slave rules
/// that name one interface, and the interfaces present now that a rule takes.
fn managed_names(cfg: &Config) -> Vec<String> {
    let mut names = Vec::new();
    for b in &cfg.bonds {
        names.push(b.name.to_string());
        names.extend(b.primary.iter().map(|p| p.to_string()));
        for rule in &b.slaves {
            if let crate::config::Match::Name(n) = &rule.matcher {
                if !crate::net::ifname::is_glob(n) {
                    names.push(n.clone());
                }
            }
        }
    }
    // Reading the links needs no privilege; without them the names above remain.
    if let Ok(mut k) = Kernel::open() {
        if let Ok(present) = present_members(&mut k, cfg, None) {
            names.extend(present.iter().map(|i| i.to_string()));
        }
    }
    let mut seen = std::collections::HashSet::new();
    names.retain(|n| seen.insert(n.clone()));
    names
}

/// Other network managers that also manage what hotbond is configured to manage.
fn other_managers(cfg: &Config) -> Vec<managers::Overlap> {
    let facts = managers::gather(std::path::Path::new("/"));
    managers::overlaps(&managed_names(cfg), &facts)
}

fn cmd_exec_supplicant(iface: &str) -> Result<()> {
    let name = IfName::new(iface)?;
    service::write_own_pid_file(&Job::Supplicant(name.clone()))?;
    let cfg = Config::load()?;
    let mut k = Kernel::open()?;
    let link = k
        .link(iface)?
        .with_context(|| format!("unknown interface {iface}: no such device"))?;
    let facts = kernel::device_facts(iface, link.mac);
    let (bond, _) = cfg
        .bond_for(&facts)
        .with_context(|| format!("{iface} is not part of any configured bond"))?;
    // The same choice the planner made when it asked for this job.
    let sup = bond
        .supplicant_for(&facts)
        .with_context(|| format!("{iface} has no supplicant configured"))?;
    supplicant::run_job(iface, sup, || {
        hooks::on_event(&Event::Connected(name.clone()))
    })
}
