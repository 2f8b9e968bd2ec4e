//! Network values shared by the configuration and the kernel side:
//! interface names, MAC addresses, addresses with a prefix, routes, bonding
//! options and what a device looks like to slave rules. Each is validated
//! when it is made, so holders never re-check.

pub mod ifname;
mod ip;
mod ipv6;
mod mac;

use serde::{Deserialize, Serialize};

pub use ifname::IfName;
pub use ip::{IpNet, Route};
pub use ipv6::{Ipv6Mode, StableSecret};
pub use mac::Mac;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BondOptions {
    /// MII link monitoring interval in ms (the classic recipe's modprobe miimon=100).
    pub miimon: u32,
    pub updelay: u32,
    pub downdelay: u32,
    pub primary_reselect: PrimaryReselect,
}

impl Default for BondOptions {
    fn default() -> Self {
        BondOptions {
            miimon: 100,
            updelay: 0,
            downdelay: 0,
            primary_reselect: PrimaryReselect::Always,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PrimaryReselect {
    #[default]
    Always,
    Better,
    Failure,
}

impl PrimaryReselect {
    /// The numeric value the bonding driver uses (sysfs accepts both forms).
    pub fn kernel_value(&self) -> u8 {
        match self {
            PrimaryReselect::Always => 0,
            PrimaryReselect::Better => 1,
            PrimaryReselect::Failure => 2,
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            PrimaryReselect::Always => "always",
            PrimaryReselect::Better => "better",
            PrimaryReselect::Failure => "failure",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Bus {
    Usb,
    Pcmcia,
    Pci,
}

impl Bus {
    pub fn as_str(&self) -> &'static str {
        match self {
            Bus::Usb => "usb",
            Bus::Pcmcia => "pcmcia",
            Bus::Pci => "pci",
        }
    }

    /// From a sysfs/udev subsystem name (`ID_BUS`, the `subsystem` link).
    pub fn from_subsystem(s: &str) -> Option<Bus> {
        match s {
            "usb" => Some(Bus::Usb),
            "pcmcia" => Some(Bus::Pcmcia),
            "pci" => Some(Bus::Pci),
            _ => None,
        }
    }
}

/// What the caller observed about a device, for matching slave rules.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct DeviceFacts {
    pub name: String,
    /// Preferably the permanent hardware address (it does not follow the bond).
    pub mac: Option<Mac>,
    pub bus: Option<Bus>,
    /// Backed by hardware (has /sys/class/net/IF/device).
    pub physical: bool,
    /// A wireless device (has /sys/class/net/IF/wireless or phy80211).
    pub wireless: bool,
}

/// How much of a configuration value an error message quotes.
pub const EXCERPT_MAX_CHARS: usize = 40;

/// A value from a configuration file (or any untrusted text) as an error
/// quotes it: quoted, control characters escaped, at most
/// [`EXCERPT_MAX_CHARS`] characters, so that a file that is not a
/// configuration (a symlink to a secret) is not echoed into logs.
pub fn excerpt(s: &str) -> String {
    ifname::shown_at_most(s, EXCERPT_MAX_CHARS)
}

/// Lowercase hex bytes joined by `sep` ("" for none): the one spelling of
/// byte strings (MACs, DHCP client identifiers) on command lines and in files.
pub fn hex(bytes: &[u8], sep: &str) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(sep)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bond_option_values_and_hex() {
        assert_eq!(PrimaryReselect::Failure.kernel_value(), 2);
        assert_eq!(PrimaryReselect::Always.as_str(), "always");
        assert_eq!(hex(&[1, 2, 0xa0], ":"), "01:02:a0");
        assert_eq!(hex(&[1, 2, 0xa0], ""), "0102a0");
        assert_eq!(excerpt("a\tb"), r#""a\x09b""#);
        let long = excerpt(&"x".repeat(100));
        assert_eq!(long, format!("\"{}...\"", "x".repeat(40)));
    }
}
