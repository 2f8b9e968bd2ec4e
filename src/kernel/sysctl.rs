//! Per-device IPv6 sysctls (`/proc/sys/net/ipv6/conf/IF/`). They live and die with the
//! device, so they are written every time a master is made, before it first goes up: the
//! kernel makes the link-local address (and any SLAAC address) when it goes up.

use std::fs;
use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::net::StableSecret;

/// `IN6_ADDR_GEN_MODE_STABLE_PRIVACY`: identifiers hashed from `stable_secret`.
const ADDR_GEN_MODE_STABLE_PRIVACY: &str = "2";

fn conf_dir(iface: &str) -> PathBuf {
    PathBuf::from("/proc/sys/net/ipv6/conf").join(iface)
}

/// The device's IPv6 settings directory, or None when the kernel has no IPv6 for it
/// (`ipv6.disable=1`, or no IPv6 support): then there is nothing to set.
fn ipv6_conf(iface: &str) -> Option<PathBuf> {
    let dir = conf_dir(iface);
    dir.is_dir().then_some(dir)
}

fn write(dir: &std::path::Path, name: &str, value: &str) -> Result<()> {
    let p = dir.join(name);
    fs::write(&p, value).with_context(|| format!("cannot write {value} to {}", p.display()))
}

/// RFC 7217 addresses from `secret`. The secret first: the kernel refuses stable-privacy
/// mode on a device that has none.
pub fn set_ipv6_stable_privacy(iface: &str, secret: &StableSecret) -> Result<()> {
    let Some(dir) = ipv6_conf(iface) else {
        crate::debug!("{iface}: no IPv6 in this kernel, no stable secret to set");
        return Ok(());
    };
    write(&dir, "stable_secret", &secret.to_string())?;
    write(&dir, "addr_gen_mode", ADDR_GEN_MODE_STABLE_PRIVACY)
}

/// No IPv6 on the device at all.
pub fn disable_ipv6(iface: &str) -> Result<()> {
    match ipv6_conf(iface) {
        Some(dir) => write(&dir, "disable_ipv6", "1"),
        None => Ok(()),
    }
}
