//! sysfs: the bonding attributes netlink cannot set by name (`primary`) or that are simpler
//! read here, a master's lower links, the device facts configuration rules match on, and the
//! rfkill switches of Wi-Fi radios.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{bail, Context, Result};
use netlink_packet_route::link::BondMode;
use serde::Serialize;

use super::FailOverMac;
use crate::net::ifname::shown;
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

/// Whether the bond's driver sees the slave's link up (`mii_status`, as its link monitor
/// last found it): the driver makes no other slave active.
pub fn slave_link_up(slave: &str) -> bool {
    read_trim(&net_path(slave).join("bonding_slave").join("mii_status")).as_deref() == Some("up")
}

/// The bond's link monitor interval as the driver has it now (ms; 0: no MII monitor).
pub fn bond_miimon(bond: &str) -> Option<u32> {
    bonding_attr(bond, "miimon").and_then(|s| s.parse().ok())
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

/// An rfkill device, `rfkillN` (the last part of its udev DEVPATH).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RfkillDev(u32);

impl FromStr for RfkillDev {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> Result<RfkillDev> {
        s.strip_prefix("rfkill")
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|n| n.parse().ok())
            .map(RfkillDev)
            .with_context(|| format!("{} is not an rfkill device (rfkillN)", shown(s)))
    }
}

impl fmt::Display for RfkillDev {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rfkill{}", self.0)
    }
}

/// The switches of a radio: `soft` (`rfkill block`, airplane mode), `hard` (a switch the
/// software cannot turn back). Either one keeps the NIC from going up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Rfkill {
    pub soft: bool,
    pub hard: bool,
}

impl Rfkill {
    pub fn blocked(&self) -> bool {
        self.soft || self.hard
    }
}

impl fmt::Display for Rfkill {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match (self.soft, self.hard) {
            (false, false) => "not blocked",
            (true, false) => "blocked by rfkill (soft)",
            (false, true) => "blocked by rfkill (hard switch)",
            (true, true) => "blocked by rfkill (soft and hard switch)",
        })
    }
}

/// The switches of a Wi-Fi NIC's radio (every rfkill device of its phy), or None for a NIC
/// without a phy or whose phy has no rfkill device.
pub fn radio_rfkill(iface: &str) -> Option<Rfkill> {
    radio_rfkill_in(&sysfs_root(), iface)
}

fn radio_rfkill_in(root: &Path, iface: &str) -> Option<Rfkill> {
    let phy = root.join("class/net").join(iface).join("phy80211");
    let switches = fs::read_dir(phy).ok()?.flatten().filter(|e| {
        e.file_name()
            .to_str()
            .is_some_and(|n| n.parse::<RfkillDev>().is_ok())
    });
    switches
        .map(|e| {
            let on = |f: &str| read_trim(&e.path().join(f)).is_some_and(|v| v != "0");
            Rfkill {
                soft: on("soft"),
                hard: on("hard"),
            }
        })
        .reduce(|a, b| Rfkill {
            soft: a.soft || b.soft,
            hard: a.hard || b.hard,
        })
}

/// The network interfaces an rfkill device switches: those of its phy. A switch that is not a
/// phy's (a laptop's platform switch, which cuts whatever radio it is wired to) may concern
/// any Wi-Fi NIC, so then every one present.
pub fn rfkill_ifaces(dev: RfkillDev) -> Vec<String> {
    rfkill_ifaces_in(&sysfs_root(), dev)
}

fn rfkill_ifaces_in(root: &Path, dev: RfkillDev) -> Vec<String> {
    let switched = root
        .join("class/rfkill")
        .join(dev.to_string())
        .join("device");
    let Ok(target) = fs::canonicalize(switched) else {
        return Vec::new();
    };
    let is_phy = fs::read_link(target.join("subsystem"))
        .is_ok_and(|s| s.file_name().is_some_and(|n| n == "ieee80211"));
    let mut out: Vec<String> = fs::read_dir(root.join("class/net"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str().map(String::from))
        .filter(|n| {
            fs::canonicalize(root.join("class/net").join(n).join("phy80211"))
                .is_ok_and(|phy| !is_phy || phy == target)
        })
        .collect();
    out.sort();
    out
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

    #[test]
    fn rfkill_devices_are_named_rfkill_and_a_number() {
        assert_eq!("rfkill12".parse::<RfkillDev>().unwrap(), RfkillDev(12));
        assert_eq!(RfkillDev(3).to_string(), "rfkill3");
        for bad in ["rfkill", "rfkill-1", "phy0", "rfkill1/../x", "rfkill 1", ""] {
            assert!(bad.parse::<RfkillDev>().is_err(), "{bad}");
        }
    }

    /// A sysfs tree as the kernel lays it out: phy0 with rfkill0 and its NICs wlan0 and
    /// mon0, phy1 with rfkill1 and wlan1, a platform switch rfkill2, wired eth0.
    fn fake_sysfs(dir: &Path) {
        use std::os::unix::fs::symlink;
        let mk = |p: &str| fs::create_dir_all(dir.join(p)).unwrap();
        let ln = |target: &str, link: &str| symlink(dir.join(target), dir.join(link)).unwrap();
        let put = |p: &str, v: &str| fs::write(dir.join(p), v).unwrap();
        mk("class/ieee80211");
        mk("class/rfkill");
        mk("class/net");
        for (phy, rf, soft, hard) in [("0", "0", "1", "0"), ("1", "1", "0", "1")] {
            let p = format!("devices/hw{phy}/ieee80211/phy{phy}");
            mk(&format!("{p}/rfkill{rf}"));
            ln("class/ieee80211", &format!("{p}/subsystem"));
            put(&format!("{p}/rfkill{rf}/soft"), soft);
            put(&format!("{p}/rfkill{rf}/hard"), hard);
            ln(&p, &format!("{p}/rfkill{rf}/device"));
            ln(
                &format!("{p}/rfkill{rf}"),
                &format!("class/rfkill/rfkill{rf}"),
            );
        }
        for (nic, phy) in [("wlan0", "0"), ("mon0", "0"), ("wlan1", "1")] {
            mk(&format!("devices/hw{phy}/net/{nic}"));
            ln(
                &format!("devices/hw{phy}/ieee80211/phy{phy}"),
                &format!("devices/hw{phy}/net/{nic}/phy80211"),
            );
            ln(
                &format!("devices/hw{phy}/net/{nic}"),
                &format!("class/net/{nic}"),
            );
        }
        mk("devices/platform/thinkpad/rfkill/rfkill2");
        ln(
            "devices/platform/thinkpad",
            "devices/platform/thinkpad/rfkill/rfkill2/device",
        );
        ln(
            "devices/platform/thinkpad/rfkill/rfkill2",
            "class/rfkill/rfkill2",
        );
        mk("devices/pci0/net/eth0");
        ln("devices/pci0/net/eth0", "class/net/eth0");
    }

    #[test]
    fn a_radio_switch_finds_the_nics_of_its_phy() {
        let dir = std::env::temp_dir().join(format!("hotbond-rfkill-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fake_sysfs(&dir);
        assert_eq!(rfkill_ifaces_in(&dir, RfkillDev(0)), ["mon0", "wlan0"]);
        assert_eq!(rfkill_ifaces_in(&dir, RfkillDev(1)), ["wlan1"]);
        // A platform switch: every Wi-Fi NIC, never the wired one.
        assert_eq!(
            rfkill_ifaces_in(&dir, RfkillDev(2)),
            ["mon0", "wlan0", "wlan1"]
        );
        assert_eq!(rfkill_ifaces_in(&dir, RfkillDev(9)), Vec::<String>::new());
        let soft = Rfkill {
            soft: true,
            hard: false,
        };
        assert_eq!(radio_rfkill_in(&dir, "wlan0"), Some(soft));
        assert!(radio_rfkill_in(&dir, "wlan1").is_some_and(|r| r.hard && r.blocked()));
        assert_eq!(radio_rfkill_in(&dir, "eth0"), None);
        fs::remove_dir_all(&dir).unwrap();
    }
}
