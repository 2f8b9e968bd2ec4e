//! The script udhcpc runs on its events (`hotbond-udhcpc-script EVENT`, environment from
//! udhcpc). Unlike busybox's default script it never flushes the interface: the bond keeps
//! its static (fail-safe) addresses, and only the address udhcpc itself added is replaced.

use std::collections::HashMap;
use std::ffi::OsString;
use std::net::{IpAddr, Ipv4Addr};

use anyhow::{bail, Context, Result};

use crate::kernel::Kernel;
use crate::net::{IpNet, Route};
use crate::paths;

fn record_path(iface: &str) -> std::path::PathBuf {
    paths::run_dir().join(format!("{iface}.udhcpc-address"))
}

/// The variables of udhcpc's environment this script reads.
const USED: [&str; 7] = [
    "interface",
    "ip",
    "subnet",
    "mask",
    "router",
    "dns",
    "domain",
];

/// The part of udhcpc's environment the script uses, as text. udhcpc passes raw strings
/// from the server's reply (`boot_file`, `sname`, `message`) that need not be UTF-8: those
/// are left out, and a used value that is not UTF-8 is kept lossily, to be refused with
/// the rest of a malformed lease.
pub fn env(vars: impl IntoIterator<Item = (OsString, OsString)>) -> HashMap<String, String> {
    vars.into_iter()
        .filter_map(|(k, v)| {
            let k = k.into_string().ok()?;
            USED.contains(&k.as_str())
                .then(|| (k, v.to_string_lossy().into_owned()))
        })
        .collect()
}

fn prefix_from(env: &HashMap<String, String>) -> Result<u8> {
    if let Some(m) = env.get("mask") {
        return m.parse().with_context(|| format!("bad mask {m:?}"));
    }
    let subnet: Ipv4Addr = env
        .get("subnet")
        .context("udhcpc gave no subnet")?
        .parse()
        .context("bad subnet")?;
    Ok(u32::from(subnet).count_ones() as u8)
}

/// Handles one udhcpc event. `env` is udhcpc's environment (interface, ip, subnet/mask,
/// router, dns, domain).
pub fn handle(event: &str, env: &HashMap<String, String>) -> Result<()> {
    let iface = env.get("interface").context("udhcpc gave no interface")?;
    crate::net::IfName::new(iface)?;
    let mut k = Kernel::open()?;
    let link = k
        .link(iface)?
        .with_context(|| format!("{iface} does not exist"))?;
    let old: Option<IpNet> = std::fs::read_to_string(record_path(iface))
        .ok()
        .and_then(|s| s.trim().parse().ok());
    match event {
        "deconfig" | "nak" | "leasefail" => {
            // Keep the old lease's address until a new one replaces it (a failover renewal
            // must not drop connections); just make sure the link is up.
            k.set_up(link.index, true)?;
        }
        "bound" | "renew" => {
            let ip: IpAddr = env
                .get("ip")
                .context("udhcpc gave no ip")?
                .parse()
                .context("bad ip")?;
            let new = IpNet {
                addr: ip,
                prefix: prefix_from(env)?,
            };
            if let Some(o) = old.filter(|o| *o != new) {
                k.del_address(link.index, &o)?;
            }
            k.add_address(link.index, &new)?;
            paths::ensure_dir(&paths::run_dir())?;
            std::fs::write(record_path(iface), new.to_string())?;
            if let Some(gw) = env
                .get("router")
                .and_then(|r| r.split_whitespace().next())
                .and_then(|g| g.parse::<IpAddr>().ok())
            {
                k.replace_route(
                    link.index,
                    &Route {
                        to: None,
                        via: Some(gw),
                        metric: None,
                    },
                )?;
            }
            if let Some(dns) = env.get("dns").filter(|d| !d.trim().is_empty()) {
                write_resolv_conf(dns, env.get("domain").map(String::as_str))?;
            }
            crate::info!("{iface}: udhcpc {event}: {new}");
        }
        other => bail!("unknown udhcpc event {other:?}"),
    }
    Ok(())
}

fn write_resolv_conf(dns: &str, domain: Option<&str>) -> Result<()> {
    let mut text = String::from("# written by hotbond (udhcpc)\n");
    if let Some(d) = domain.filter(|d| {
        d.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-.".contains(c))
    }) {
        text.push_str(&format!("search {d}\n"));
    }
    for ns in dns
        .split_whitespace()
        .filter_map(|n| n.parse::<IpAddr>().ok())
    {
        text.push_str(&format!("nameserver {ns}\n"));
    }
    std::fs::write("/etc/resolv.conf", text).context("cannot write /etc/resolv.conf")
}
