//! Checks of configuration values that both front ends share. Each returns
//! the message without a position: the front end knows where the value was.

use std::path::PathBuf;

use anyhow::{anyhow, bail, Result};

use crate::net::{ifname, IfName, IpNet};

/// RFC 1123 host name: dot-separated labels of letters, digits and '-',
/// 1..=63 each, not starting or ending with '-', 253 in all.
pub(super) fn check_hostname(h: &str) -> Result<()> {
    let bad = |why: &str| anyhow!("invalid hostname {h:?}: {why}");
    if h.is_empty() {
        return Err(bad("is empty"));
    }
    if h.len() > 253 {
        return Err(bad("longer than 253 characters"));
    }
    for label in h.split('.') {
        if label.is_empty() {
            return Err(bad("has an empty label"));
        }
        if label.len() > 63 {
            return Err(bad("has a label longer than 63 characters"));
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(bad("only letters, digits, '-' and '.' are allowed"));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(bad("a label starts or ends with '-'"));
        }
    }
    Ok(())
}

/// A static address must be one an interface can hold.
pub(super) fn check_address(a: &IpNet) -> Result<()> {
    if a.addr.is_unspecified() || a.addr.is_multicast() {
        bail!("invalid address \"{a}\": not a unicast address");
    }
    Ok(())
}

/// Bond names are created, not matched: no pattern characters, and no '%'
/// (the kernel would treat "bond%d" as a template and pick a number).
pub(super) fn check_bond_name(name: &str) -> Result<IfName> {
    let n = IfName::new(name)?;
    if ifname::is_glob(name) || name.contains('%') {
        bail!("invalid bond name {name:?}: '*', '?', '[' and '%' are not allowed");
    }
    Ok(n)
}

/// The primary is one exact interface name.
pub(super) fn check_primary(name: &str) -> Result<IfName> {
    let n = IfName::new(name)?;
    if ifname::is_glob(name) {
        bail!("primary {name:?} must be an exact interface name, not a pattern");
    }
    Ok(n)
}

pub(super) fn check_supplicant_config(config: &str) -> Result<PathBuf> {
    if !config.starts_with('/') {
        bail!("supplicant config {config:?} must be an absolute path");
    }
    if config.contains('\0') {
        bail!("supplicant config {config:?} contains a NUL byte");
    }
    Ok(PathBuf::from(config))
}

/// It becomes part of wpa_supplicant's `-D` argument: driver names only.
pub(super) fn check_supplicant_driver(driver: &str) -> Result<String> {
    if driver.is_empty()
        || driver.len() > 64
        || !driver
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b',')
    {
        bail!("invalid supplicant driver {driver:?}: expected names like \"nl80211\" or \"nl80211,wext\"");
    }
    Ok(driver.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostnames() {
        assert!(check_hostname("laptop.example.org").is_ok());
        assert!(check_hostname("a..b").is_err());
        assert!(check_hostname(&"a".repeat(64)).is_err());
        assert!(check_hostname("").is_err());
    }
}
