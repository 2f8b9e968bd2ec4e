//! The script udhcpc runs on its events (`hotbond-udhcpc-script EVENT`, environment from
//! udhcpc). Unlike busybox's default script it never flushes the interface: the bond keeps
//! its static (fail-safe) addresses, and only the address udhcpc itself added is replaced.

use std::collections::HashMap;
use std::ffi::OsString;
use std::net::{IpAddr, Ipv4Addr};

use anyhow::{bail, Context, Result};

use crate::kernel::Kernel;
use crate::net::{IpNet, Route};
use crate::{paths, statefs};

fn record_path(iface: &str) -> std::path::PathBuf {
    paths::run_dir().join(format!("{iface}.udhcpc-address"))
}

/// The variables of udhcpc's environment this script reads.
const USED: [&str; 8] = [
    "interface",
    "ip",
    "subnet",
    "mask",
    "router",
    "dns",
    "domain",
    "lease",
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

/// A lease as udhcpc reports it, checked: a unicast IPv4 address with a prefix a
/// network can have. The router and name servers are checked where they are used, so a
/// bad one costs only its own part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    pub address: IpNet,
    /// The lease time in seconds, which the address is given as its lifetime: it does not
    /// outlive the lease even when the client is gone. None (absent or unreadable): forever.
    pub lease_secs: Option<u32>,
    pub router: Option<String>,
    pub dns: Option<String>,
    pub domain: Option<String>,
}

/// Not something a DHCP server may hand out as a host's own address.
fn unicast_problem(ip: Ipv4Addr) -> Option<&'static str> {
    if ip.is_unspecified() {
        Some("is unspecified")
    } else if ip.is_loopback() {
        Some("is a loopback address")
    } else if ip.is_multicast() {
        Some("is a multicast address")
    } else if ip.is_broadcast() || ip.octets()[0] >= 240 {
        Some("is a broadcast or reserved address")
    } else {
        None
    }
}

fn prefix_from(env: &HashMap<String, String>) -> Result<u8> {
    let prefix = match env.get("mask") {
        Some(m) => m.parse().with_context(|| format!("bad mask {m:?}"))?,
        None => {
            let s = env.get("subnet").context("udhcpc gave no subnet")?;
            let subnet: Ipv4Addr = s.parse().with_context(|| format!("bad subnet {s:?}"))?;
            let bits = u32::from(subnet);
            if bits.leading_ones() != bits.count_ones() {
                bail!("bad subnet {s:?}: not a contiguous mask");
            }
            bits.count_ones() as u8
        }
    };
    if !(1..=32).contains(&prefix) {
        bail!("bad mask {prefix}: an IPv4 lease's prefix is 1 to 32");
    }
    Ok(prefix)
}

/// The lease in udhcpc's environment, or why it is not one hotbond will configure.
pub fn lease_from(env: &HashMap<String, String>) -> Result<Lease> {
    let ip = env.get("ip").context("udhcpc gave no ip")?;
    let addr: Ipv4Addr = ip
        .parse()
        .with_context(|| format!("bad lease {ip:?}: not an IPv4 address"))?;
    if let Some(why) = unicast_problem(addr) {
        bail!("bad lease {addr}: {why}");
    }
    Ok(Lease {
        address: IpNet {
            addr: IpAddr::V4(addr),
            prefix: prefix_from(env)?,
        },
        lease_secs: env.get("lease").and_then(|l| l.trim().parse().ok()),
        router: env.get("router").filter(|r| !r.trim().is_empty()).cloned(),
        dns: env.get("dns").filter(|d| !d.trim().is_empty()).cloned(),
        domain: env.get("domain").cloned(),
    })
}

/// Handles one udhcpc event. `env` is udhcpc's environment (interface, ip, subnet/mask,
/// router, dns, domain).
pub fn handle(event: &str, env: &HashMap<String, String>) -> Result<()> {
    let (iface, lease) = checked(event, env)?;
    let mut k = Kernel::open()?;
    let link = k
        .link(iface)?
        .with_context(|| format!("{iface} does not exist"))?;
    let Some(lease) = lease else {
        // Keep the old lease's address until a new one replaces it (a failover renewal
        // must not drop connections); just make sure the link is up.
        return k.set_up(link.index, true);
    };
    // Address, route and DNS are independent: one failing must not cost the others. DNS
    // first: the bond's job reads the lease for the event hooks once the address and route
    // have come, and tells them the name servers recorded by then.
    let mut failed = Vec::new();
    if let Some(dns) = &lease.dns {
        if let Err(e) = hand_dns(iface, dns, lease.domain.as_deref()) {
            failed.push(format!("dns: {e:#}"));
        }
    }
    let lifetime = lease.lease_secs.unwrap_or(u32::MAX);
    if let Err(e) = set_address(&mut k, iface, link.index, &lease.address, lifetime) {
        failed.push(format!("address {}: {e:#}", lease.address));
    }
    if let Some(r) = &lease.router {
        if let Err(e) = set_router(&mut k, link.index, r) {
            failed.push(format!("route: {e:#}"));
        }
    }
    if !failed.is_empty() {
        bail!("{iface}: udhcpc {event}: {}", failed.join("; "));
    }
    crate::info!("{iface}: udhcpc {event}: {}", lease.address);
    Ok(())
}

/// The interface and, for `bound` and `renew`, the lease of one udhcpc event, checked
/// before anything changes: a lease hotbond will not configure is refused here.
pub fn checked<'a>(
    event: &str,
    env: &'a HashMap<String, String>,
) -> Result<(&'a String, Option<Lease>)> {
    let iface = env.get("interface").context("udhcpc gave no interface")?;
    crate::net::IfName::new(iface)?;
    match event {
        "deconfig" | "nak" | "leasefail" | "bound" | "renew" => {}
        other => bail!("unknown udhcpc event {}", crate::net::ifname::shown(other)),
    }
    let lease = match event {
        "bound" | "renew" => Some(lease_from(env).with_context(|| format!("{iface}: {event}"))?),
        _ => None,
    };
    Ok((iface, lease))
}

/// Puts the lease's address on the interface with the lease's lifetime (in place when it is
/// there: a renewal, or the same address after a failover, which the kernel announces, so
/// that the bond's job hears of every grant), then takes the previous lease's off: never
/// a moment with neither. (Taking off a primary address takes its secondaries with it
/// unless promote_secondaries is set: the new one is put back if that happened.)
fn set_address(k: &mut Kernel, iface: &str, index: u32, new: &IpNet, valid: u32) -> Result<()> {
    let old: Option<IpNet> =
        statefs::read_to_string(&record_path(iface)).and_then(|s| s.trim().parse().ok());
    k.replace_address_lifetimes(index, new, valid, valid)?;
    statefs::write_file(&record_path(iface), new.to_string().as_bytes(), 0o600)
        .with_context(|| format!("cannot record the lease of {iface}"))?;
    if let Some(o) = old.filter(|o| o != new) {
        k.del_address(index, &o)?;
        if !k.addresses(index)?.contains(new) {
            k.replace_address_lifetimes(index, new, valid, valid)?;
        }
    }
    Ok(())
}

/// The default route via the first router udhcpc names.
fn set_router(k: &mut Kernel, index: u32, routers: &str) -> Result<()> {
    let gw = router_from(routers)?;
    k.replace_route(
        index,
        &Route {
            to: None,
            via: Some(IpAddr::V4(gw)),
            metric: None,
        },
    )
}

/// The first router of udhcpc's `router` list, checked.
pub fn router_from(routers: &str) -> Result<Ipv4Addr> {
    let first = routers
        .split_whitespace()
        .next()
        .context("no router given")?;
    let gw: Ipv4Addr = first
        .parse()
        .with_context(|| format!("bad router {first:?}"))?;
    if let Some(why) = unicast_problem(gw) {
        bail!("bad router {gw}: {why}");
    }
    Ok(gw)
}

/// Hands the lease's name servers and search domain to the system through [`crate::dns`],
/// which records what it changed so that `hotbond down` takes it back; unless the bond's
/// configuration says `dhcp.dns = false`.
fn hand_dns(iface: &str, dns: &str, domain: Option<&str>) -> Result<()> {
    let name = crate::net::IfName::new(iface)?;
    let wanted = crate::config::Config::load()
        .ok()
        .and_then(|c| c.bond(iface).map(|b| b.dhcp.dns))
        .unwrap_or(true);
    if !wanted {
        return Ok(());
    }
    let servers: Vec<IpAddr> = dns
        .split_whitespace()
        .filter_map(|n| n.parse().ok())
        .collect();
    // Without one usable server the system would be left with no DNS at all.
    if servers.is_empty() {
        bail!("no valid name server in {}", crate::net::ifname::shown(dns));
    }
    let domains: Vec<String> = domain
        .map(|d| d.split_whitespace().map(String::from).collect())
        .unwrap_or_default();
    crate::dns::apply(&name, &servers, &domains)
}

/// The lease is over (it expired, or was released): its address goes, the static ones
/// stay, and the DNS it brought is taken back.
pub fn unconfigure(iface: &str) -> Result<()> {
    let name = crate::net::IfName::new(iface)?;
    let mut k = Kernel::open()?;
    let old: Option<IpNet> =
        statefs::read_to_string(&record_path(iface)).and_then(|s| s.trim().parse().ok());
    if let (Some(link), Some(old)) = (k.link(iface)?, old) {
        k.del_address(link.index, &old)?;
        crate::info!("{iface}: lease {old} over: address removed");
    }
    let _ = std::fs::remove_file(record_path(iface));
    crate::dns::revert(&name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> HashMap<String, String> {
        vars.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_lease_is_a_unicast_ipv4_address_with_a_real_prefix() {
        let l = lease_from(&env(&[("ip", "10.1.2.3"), ("subnet", "255.255.0.0")])).unwrap();
        assert_eq!(l.address.to_string(), "10.1.2.3/16");
        let l = lease_from(&env(&[("ip", "10.1.2.3"), ("mask", "24")])).unwrap();
        assert_eq!(l.address.to_string(), "10.1.2.3/24");
        // No lease time: the address stays until removed; udhcpc's `lease` is its lifetime.
        assert_eq!(l.lease_secs, None);
        let l = lease_from(&env(&[
            ("ip", "10.1.2.3"),
            ("mask", "24"),
            ("lease", "600"),
        ]));
        assert_eq!(l.unwrap().lease_secs, Some(600));
        for (ip, mask, why) in [
            ("fe80::1", "64", "not an IPv4 address"),
            ("127.0.0.5", "8", "loopback"),
            ("0.0.0.0", "24", "unspecified"),
            ("224.0.0.9", "24", "multicast"),
            ("255.255.255.255", "32", "broadcast"),
            ("10.1.2.3", "40", "bad mask 40"),
            ("10.1.2.3", "0", "bad mask 0"),
            ("10.1.2.3", "x", "bad mask"),
        ] {
            let e = lease_from(&env(&[("ip", ip), ("mask", mask)])).unwrap_err();
            assert!(format!("{e:#}").contains(why), "{ip}/{mask}: {e:#}");
        }
        let e = lease_from(&env(&[("ip", "10.1.2.3"), ("subnet", "255.0.255.0")])).unwrap_err();
        assert!(format!("{e:#}").contains("contiguous"), "{e:#}");
    }
}
