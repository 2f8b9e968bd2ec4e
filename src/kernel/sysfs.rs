//! sysfs: the bonding attributes netlink cannot set by name (`primary`) or that are simpler
//! read here, a master's lower links, and the device facts configuration rules match on.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use netlink_packet_route::link::BondMode;

use super::FailOverMac;
use crate::net::{Bus, DeviceFacts, Mac};
use crate::process;

fn sysfs_root() -> PathBuf {
    // Tests point this at a fake tree; everywhere else it is /sys.
    std::env::var_os("HOTBOND_SYSFS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/sys"))
}

fn net_path(iface: &str) -> PathBuf {
    sysfs_root().join("class/net").join(iface)
}

fn read_trim(p: &Path) -> Option<String> {
    fs::read_to_string(p).ok().map(|s| s.trim().to_string())
}

pub fn bonding_loaded() -> bool {
    sysfs_root().join("class/net/bonding_masters").exists()
}

/// Loads the bonding driver. `modprobe` is run directly (no shell); systemd's modprobe.d
/// sets max_bonds=0, other systems may get a `bond0` created here with kernel defaults.
pub fn load_bonding() -> Result<()> {
    if bonding_loaded() {
        return Ok(());
    }
    process::run(&["modprobe", "bonding"]).context("the bonding driver is not available")?;
    if !bonding_loaded() {
        bail!("the bonding driver is not available (modprobe bonding loaded no driver)");
    }
    Ok(())
}

fn bonding_attr(bond: &str, attr: &str) -> Option<String> {
    read_trim(&net_path(bond).join("bonding").join(attr))
}

/// The interface's MTU.
pub fn link_mtu(iface: &str) -> Option<u32> {
    read_trim(&net_path(iface).join("mtu")).and_then(|m| m.parse().ok())
}

/// The bond's currently active slave, by name.
pub fn bond_active_slave(bond: &str) -> Option<String> {
    bonding_attr(bond, "active_slave").filter(|s| !s.is_empty())
}

pub fn bond_primary(bond: &str) -> Option<String> {
    bonding_attr(bond, "primary").filter(|s| !s.is_empty())
}

pub fn bond_slaves(bond: &str) -> Vec<String> {
    bonding_attr(bond, "slaves")
        .map(|s| s.split_whitespace().map(String::from).collect())
        .unwrap_or_default()
}

/// The number in a bonding attribute that reads "NAME NUMBER" ("active-backup 1").
fn kernel_number(value: &str) -> Option<u8> {
    value.split_whitespace().nth(1).and_then(|n| n.parse().ok())
}

/// The bond's mode.
pub fn bond_mode(bond: &str) -> Option<BondMode> {
    kernel_number(&bonding_attr(bond, "mode")?).map(BondMode::from)
}

pub fn bond_fail_over_mac(bond: &str) -> Option<FailOverMac> {
    kernel_number(&bonding_attr(bond, "fail_over_mac")?).map(FailOverMac::from)
}

/// Slaves of a bridge (or bond), from the `lower_*` entries.
pub fn lower_links(master: &str) -> Vec<String> {
    let mut out: Vec<String> = fs::read_dir(net_path(master))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_prefix("lower_"))
                .map(String::from)
        })
        .collect();
    out.sort();
    out
}

/// Sets the primary slave by *name*: the bond remembers the name even while that device is
/// unplugged, and makes it primary again when it is re-enslaved.
pub fn set_bond_primary(bond: &str, slave: &str) -> Result<()> {
    let p = net_path(bond).join("bonding/primary");
    fs::write(&p, slave).with_context(|| format!("cannot set primary {slave} on {bond}"))
}

/// Facts about a device that configuration rules match on.
pub fn device_facts(iface: &str, mac: Option<Mac>) -> DeviceFacts {
    let path = net_path(iface);
    let canon = fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
    let physical = !canon.starts_with(sysfs_root().join("devices/virtual/net"))
        && path.join("device").exists()
        || path.join("phy80211").exists();
    let wireless = path.join("wireless").exists() || path.join("phy80211").exists();
    let bus = fs::read_link(path.join("device/subsystem"))
        .ok()
        .and_then(|l| l.file_name().and_then(|n| n.to_str()).map(String::from))
        .and_then(|s| Bus::from_subsystem(&s));
    DeviceFacts {
        name: iface.to_string(),
        mac,
        bus,
        physical,
        wireless,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bonding_attributes_read_as_kernel_values() {
        let mode = |s: &str| kernel_number(s).map(BondMode::from);
        let fom = |s: &str| kernel_number(s).map(FailOverMac::from);
        assert_eq!(mode("active-backup 1"), Some(BondMode::ActiveBackup));
        assert_eq!(mode("balance-rr 0"), Some(BondMode::BalanceRr));
        assert_eq!(fom("active 1"), Some(FailOverMac::Active));
        assert_eq!(fom("none 0"), Some(FailOverMac::None));
        assert_eq!(fom("follow 2"), Some(FailOverMac::Follow));
        assert_eq!(mode(""), None);
    }
}
