//! A lease's DNS servers and search domains, handed to whatever resolves names on this
//! host, and taken back when the lease goes:
//! - systemd-resolved, when it runs: set on the bond's link with `resolvectl`;
//! - else a `resolvconf` (Debian's, openresolv): a `BOND.dhcp` fragment;
//! - else /etc/resolv.conf itself, unless it is a link another program owns.
//!
//! `resolvectl` rather than resolved's D-Bus API: the few calls per lease cost a
//! process each, while a D-Bus client would add a large dependency to every hook binary.
//!
//! What was done for a bond is recorded under `/var/lib/hotbond/dns/` (root only), so
//! that [`revert`] undoes exactly that, even when the system changed in between, and so
//! that the file backend's saved original outlives a reboot as /etc/resolv.conf does.
//! The caller decides whether a bond's DNS is handed over at all (`dhcp.dns`).

mod backend;
mod file;
mod text;

use std::fs;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

pub use backend::{choose, Backend, Facts, ResolvConf};
use file::Replaced;
pub use text::Dns;

use crate::net::IfName;
use crate::process::{run, run_with_input};

/// Overrides /etc/resolv.conf (tests).
pub const RESOLV_CONF_VAR: &str = "HOTBOND_RESOLV_CONF";
/// Overrides resolved's Varlink socket, whose answering means resolved runs (tests).
pub const RESOLVED_SOCKET_VAR: &str = "HOTBOND_RESOLVED_SOCKET";

/// Where the system's DNS pieces are.
#[derive(Clone, Debug)]
pub struct System {
    pub resolv_conf: PathBuf,
    pub resolved_socket: PathBuf,
    /// Where what was done for each bond is recorded.
    pub records: PathBuf,
    /// Look for `resolvectl`/`resolvconf` only here; None: PATH and the system directories.
    pub programs: Option<PathBuf>,
}

impl System {
    /// This host's, with the test overrides from the environment.
    pub fn from_env() -> System {
        let var = |k: &str, default: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(default))
        };
        System {
            resolv_conf: var(RESOLV_CONF_VAR, "/etc/resolv.conf"),
            resolved_socket: var(
                RESOLVED_SOCKET_VAR,
                "/run/systemd/resolve/io.systemd.Resolve",
            ),
            records: crate::paths::state_dir().join("dns"),
            programs: None,
        }
    }

    fn find(&self, name: &str) -> Option<PathBuf> {
        match &self.programs {
            None => crate::dhcp::find_program(name),
            Some(dir) => Some(dir.join(name)).filter(|p| p.is_file()),
        }
    }

    /// What decides the backend, read now.
    pub fn facts(&self) -> Facts {
        let resolvconf = self.find("resolvconf");
        Facts {
            resolved_listening: backend::resolved_listening(&self.resolved_socket),
            resolvectl: self.find("resolvectl"),
            resolvconf_is_resolvectl: resolvconf.as_deref().is_some_and(backend::is_resolvectl),
            resolvconf,
            resolv_conf: backend::resolv_conf_state(&self.resolv_conf),
        }
    }

    fn record_path(&self, bond: &IfName) -> PathBuf {
        self.records.join(format!("{bond}.json"))
    }
}

/// What was handed over for a bond, and where.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Record {
    backend: Backend,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    file: Option<Replaced>,
    /// The servers handed over, for the event hooks of an external client's lease.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    servers: Vec<IpAddr>,
}

/// Hands the lease's servers and search domains (the domain name first, then the search
/// list) to the system for `bond`, replacing what an earlier lease of it set. Entries that
/// are not sane are dropped with a log line; a lease left without a server takes back
/// what an earlier one set.
pub fn apply(bond: &IfName, servers: &[IpAddr], domains: &[String]) -> Result<()> {
    apply_on(&System::from_env(), bond, servers, domains)
}

/// Takes back what [`apply`] set for `bond`. Idempotent: with nothing applied it is Ok.
pub fn revert(bond: &IfName) -> Result<()> {
    revert_on(&System::from_env(), bond)
}

/// The name servers handed over for `bond` (by hotbond's script for dhclient and udhcpc,
/// or the built-in client), as recorded; none when nothing was (DNS left to another
/// program, `dhcp.dns = false`, dhcpcd applying its own).
pub fn recorded_servers(bond: &IfName) -> Vec<IpAddr> {
    read_record(&System::from_env(), bond).map_or_else(Vec::new, |r| r.servers)
}

/// [`apply`] on the given system.
pub fn apply_on(sys: &System, bond: &IfName, servers: &[IpAddr], domains: &[String]) -> Result<()> {
    let (dns, dropped) = Dns::checked(servers, domains);
    for d in dropped {
        crate::warn!("{bond}: dns: dropped {d}");
    }
    if dns.is_empty() {
        crate::info!("{bond}: dns: no usable name server in the lease");
        return revert_on(sys, bond);
    }
    let facts = sys.facts();
    let backend = choose(&facts);
    crate::debug!("{bond}: dns: {facts:?} -> {backend:?}");
    let mut before = read_record(sys, bond);
    if before.as_ref().is_some_and(|r| r.backend != backend) {
        // The system changed hands (resolved started, say): undo where it was done.
        revert_on(sys, bond)?;
        before = None;
    }
    let result = match backend {
        Backend::Unmanaged => {
            crate::info!(
                "{bond}: dns: {} is a link: the system manages DNS, left alone",
                sys.resolv_conf.display()
            );
            return Ok(());
        }
        Backend::Resolved => apply_resolved(sys, bond, &dns, &facts),
        Backend::Resolvconf => apply_resolvconf(sys, bond, &dns, &facts),
        Backend::ResolvConfFile => apply_file(sys, bond, &dns, before),
    };
    result.with_context(|| format!("{bond}: dns"))?;
    crate::info!(
        "{bond}: dns: {} via {}{}",
        dns.server_args(bond).join(" "),
        backend.as_str(),
        if dns.domains.is_empty() {
            String::new()
        } else {
            format!(", search {}", dns.domains.join(" "))
        }
    );
    Ok(())
}

/// [`revert`] on the given system. The record goes even when undoing fails (the error
/// is returned): a revert that cannot work now would not work on every later call either.
pub fn revert_on(sys: &System, bond: &IfName) -> Result<()> {
    let Some(rec) = read_record(sys, bond) else {
        return Ok(());
    };
    let undone = undo(sys, bond, &rec).with_context(|| format!("{bond}: dns: revert"));
    let path = sys.record_path(bond);
    fs::remove_file(&path)
        .or_else(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Ok(()),
            _ => Err(e),
        })
        .with_context(|| format!("cannot remove {}", path.display()))?;
    undone
}

fn undo(sys: &System, bond: &IfName, rec: &Record) -> Result<()> {
    match rec.backend {
        Backend::Resolved => {
            let ctl = program(sys, "resolvectl")?;
            run(&[&ctl, "revert", bond.as_str()])?;
        }
        Backend::Resolvconf => {
            let rc = program(sys, "resolvconf")?;
            run(&[&rc, "-d", &resolvconf_name(bond)])?;
        }
        Backend::ResolvConfFile => {
            let Some(r) = &rec.file else { return Ok(()) };
            if !file::restore(&sys.resolv_conf, r)? {
                crate::info!(
                    "{bond}: dns: {} was changed since hotbond wrote it: left as it is",
                    sys.resolv_conf.display()
                );
                return Ok(());
            }
        }
        Backend::Unmanaged => return Ok(()),
    }
    crate::info!("{bond}: dns: taken back from {}", rec.backend.as_str());
    Ok(())
}

fn apply_resolved(sys: &System, bond: &IfName, dns: &Dns, f: &Facts) -> Result<()> {
    let ctl = path_str(f.resolvectl.as_deref())?;
    write_record(
        sys,
        bond,
        &Record {
            backend: Backend::Resolved,
            file: None,
            servers: dns.servers.clone(),
        },
    )?;
    let mut argv = vec![ctl.as_str(), "dns", bond.as_str()];
    let servers = dns.server_args(bond);
    argv.extend(servers.iter().map(String::as_str));
    run(&argv)?;
    // resolvectl shows the domains when given none: "" clears them.
    let mut argv = vec![ctl.as_str(), "domain", bond.as_str()];
    argv.extend(dns.domains.iter().map(String::as_str));
    if dns.domains.is_empty() {
        argv.push("");
    }
    run(&argv)
}

fn apply_resolvconf(sys: &System, bond: &IfName, dns: &Dns, f: &Facts) -> Result<()> {
    let rc = path_str(f.resolvconf.as_deref())?;
    write_record(
        sys,
        bond,
        &Record {
            backend: Backend::Resolvconf,
            file: None,
            servers: dns.servers.clone(),
        },
    )?;
    let name = resolvconf_name(bond);
    let fragment = dns.fragment(bond);
    run_with_input(&[&rc, "-a", &name], Some(fragment.as_bytes()))
}

fn apply_file(sys: &System, bond: &IfName, dns: &Dns, before: Option<Record>) -> Result<()> {
    let text = dns.resolv_conf(bond);
    let current = file::read(&sys.resolv_conf)?;
    if before.is_some() && current.as_deref() == Some(text.as_str()) {
        return Ok(());
    }
    let replaced = file::replacing(current, before.and_then(|r| r.file), &text);
    // Recorded first: if hotbond dies between the two writes, revert finds the file is
    // not the one recorded as written and leaves it alone.
    write_record(
        sys,
        bond,
        &Record {
            backend: Backend::ResolvConfFile,
            file: Some(replaced),
            servers: dns.servers.clone(),
        },
    )?;
    file::write_atomic(&sys.resolv_conf, &text, 0o644)
}

/// The interface name a bond's fragment is registered under: `-a`/`-d` name the same one,
/// and the `.dhcp` suffix says where it came from, as dhclient's script does.
fn resolvconf_name(bond: &IfName) -> String {
    format!("{bond}.dhcp")
}

fn program(sys: &System, name: &str) -> Result<String> {
    path_str(sys.find(name).as_deref()).with_context(|| format!("{name} is gone"))
}

fn path_str(p: Option<&Path>) -> Result<String> {
    let p = p.context("no such program")?;
    p.to_str()
        .map(str::to_owned)
        .with_context(|| format!("{} is not UTF-8", p.display()))
}

/// The bond's record; an unreadable one is dropped with a warning (it can only be
/// replaced, never repaired).
fn read_record(sys: &System, bond: &IfName) -> Option<Record> {
    let path = sys.record_path(bond);
    let text = fs::read_to_string(&path).ok()?;
    match serde_json::from_str(&text) {
        Ok(r) => Some(r),
        Err(e) => {
            crate::warn!("{bond}: dns: ignoring {}: {e}", path.display());
            let _ = fs::remove_file(&path);
            None
        }
    }
}

fn write_record(sys: &System, bond: &IfName, rec: &Record) -> Result<()> {
    fs::create_dir_all(&sys.records)
        .with_context(|| format!("cannot create {}", sys.records.display()))?;
    let text = serde_json::to_string(rec).context("cannot encode the DNS record")?;
    // Root only: it holds a copy of the system's resolv.conf.
    file::write_atomic(&sys.record_path(bond), &text, 0o600)
}

#[cfg(test)]
mod tests;
