//! `hotbond sleep PHASE KIND`: what systemd-sleep (and elogind) run around a suspend or
//! hibernation, through the hook installed as /usr/lib/systemd/system-sleep/hotbond. After
//! waking the laptop may be on another network, its lease may have run out, and a dock's NIC
//! may have come back: for every configured bond, the hotplug path is re-run for the NICs
//! present (as `hotbond replay`: enslaved, up, supplicant running, the bond's job running),
//! and the bond's job is asked to confirm its lease with the server at once
//! ([`crate::settle::confirm`]).

use std::fmt;
use std::str::FromStr;

use anyhow::Result;

use crate::config::{Bond, Config, NoConfig};
use crate::hooks;
use crate::kernel::Kernel;
use crate::plan::Event;
use crate::settle::confirm::{self, Asked};

/// systemd-sleep's first argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Pre,
    Post,
}

/// systemd-sleep's second argument: which sleep.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Suspend,
    Hibernate,
    HybridSleep,
    SuspendThenHibernate,
}

const PHASES: [(&str, Phase); 2] = [("pre", Phase::Pre), ("post", Phase::Post)];
const KINDS: [(&str, Kind); 4] = [
    ("suspend", Kind::Suspend),
    ("hibernate", Kind::Hibernate),
    ("hybrid-sleep", Kind::HybridSleep),
    ("suspend-then-hibernate", Kind::SuspendThenHibernate),
];

/// A word from a fixed list, or a bad invocation naming the list.
fn one_of<T: Copy>(what: &str, s: &str, list: &[(&str, T)]) -> Result<T> {
    list.iter()
        .find(|(n, _)| *n == s)
        .map(|(_, v)| *v)
        .ok_or_else(|| {
            let names: Vec<&str> = list.iter().map(|(n, _)| *n).collect();
            crate::args::usage(format!(
                "sleep: unknown {what} {} (one of: {})",
                crate::net::ifname::shown(s),
                names.join(", ")
            ))
        })
}

impl FromStr for Phase {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Phase> {
        one_of("phase", s, &PHASES)
    }
}

impl FromStr for Kind {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Kind> {
        one_of("sleep kind", s, &KINDS)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = KINDS
            .iter()
            .find(|(_, k)| k == self)
            .map_or("?", |(n, _)| n);
        f.write_str(name)
    }
}

/// The command: both words checked first, so that a bad invocation does nothing.
pub fn run(phase: &str, kind: &str) -> Result<()> {
    let phase: Phase = phase.parse()?;
    let kind: Kind = kind.parse()?;
    match phase {
        // Nothing to prepare: the lease is confirmed on waking, and the kernel keeps the
        // address until its lifetime runs out.
        Phase::Pre => {
            crate::info!("going to {kind}: the DHCP leases will be confirmed on waking");
            Ok(())
        }
        Phase::Post => woken(kind),
    }
}

/// After the sleep: every bond in turn; one that fails does not keep the others waiting.
fn woken(kind: Kind) -> Result<()> {
    let cfg = match Config::load() {
        Ok(c) => c,
        Err(e) if e.downcast_ref::<NoConfig>().is_some() => {
            crate::debug!("woken from {kind}: {e:#}, nothing to do");
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    crate::info!("woken from {kind}: looking at every bond again");
    let mut k = Kernel::open()?;
    let mut failed = Vec::new();
    for bond in &cfg.bonds {
        if let Err(e) = wake_bond(&mut k, &cfg, bond) {
            crate::warn!("{}: after {kind}: {e:#}", bond.name);
            failed.push(bond.name.to_string());
        }
    }
    if !failed.is_empty() {
        anyhow::bail!("after {kind}: could not bring back {}", failed.join(", "));
    }
    Ok(())
}

/// One bond: the hotplug path for its NICs present and then the bond itself (its static
/// configuration), and its job asked to confirm the lease, even when a NIC failed.
fn wake_bond(k: &mut Kernel, cfg: &Config, bond: &Bond) -> Result<()> {
    let mut list = super::present_members(k, cfg, Some(&bond.name))?;
    if k.link(bond.name.as_str())?.is_some() {
        list.push(bond.name.clone());
    }
    let mut first_error = None;
    for iface in list {
        if let Err(e) = hooks::handle(&Event::Add(iface.clone()), cfg, false) {
            crate::warn!("{iface}: {e:#}");
            first_error.get_or_insert(e);
        }
    }
    let b = &bond.name;
    match confirm::request(b)? {
        Asked::Job(pid) => crate::info!("{b}: its job ({pid}) confirms the DHCP lease"),
        Asked::NoJob => crate::info!("{b}: no job runs, no lease to confirm"),
        Asked::OldJob(pid) => crate::warn!(
            "{b}: its job ({pid}) was started by an earlier hotbond and cannot be asked to \
             confirm the lease; it renews on its own timers until it is restarted"
        ),
    }
    first_error.map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_systemd_sleep_passes_is_known() {
        for (n, k) in KINDS {
            assert_eq!(n.parse::<Kind>().unwrap(), k);
            assert_eq!(k.to_string(), n);
        }
        assert_eq!("pre".parse::<Phase>().unwrap(), Phase::Pre);
        assert_eq!("post".parse::<Phase>().unwrap(), Phase::Post);
    }

    #[test]
    fn an_unknown_word_is_a_bad_invocation() {
        for e in [
            "resume".parse::<Phase>().unwrap_err(),
            "Post".parse::<Phase>().unwrap_err(),
            "nap".parse::<Kind>().unwrap_err(),
            "".parse::<Kind>().unwrap_err(),
        ] {
            let u = e
                .downcast_ref::<crate::args::Usage>()
                .expect("a usage error");
            assert!(!u.message.contains('\n'), "{}", u.message);
        }
        let e = "nap".parse::<Kind>().unwrap_err().to_string();
        assert!(e.contains("suspend-then-hibernate"), "{e}");
    }
}
