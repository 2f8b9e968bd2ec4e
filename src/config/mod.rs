//! hotbond's configuration: which bonds (or bridges) exist, which interfaces
//! join each, and how each is addressed.
//!
//! Two sources give the same `Config`:
//! - `/etc/hotbond/hotbond.toml` (see conf/hotbond.toml for the format);
//! - the classic recipe's `/etc/conf.d/network.conf` (systemd EnvironmentFile
//!   syntax, `bond0PRIMARY=`, `bond0ADDRS=`, `bond0ROUTES=`), read as it is
//!   so a user of the recipe can switch without rewriting it.
//!
//! Everything is parsed into typed values (names, addresses, routes,
//! paths): nothing from a config file is ever meant to reach a shell.
//!
//! This file is the model and its lookups; `load.rs` finds and reads the
//! file, `toml.rs` and `envfile.rs` are the two front ends, and `check.rs`
//! holds the value checks both share. The network values themselves live
//! in [`crate::net`].

mod check;
mod envfile;
#[cfg(test)]
mod fixtures;
mod load;
pub use load::NoConfig;
mod pos;
mod toml;

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{anyhow, bail, Result};
use serde::{Deserialize, Serialize, Serializer};

use crate::net::{
    excerpt, ifname, BondOptions, Bus, DeviceFacts, IfName, IpNet, Ipv6Mode, Mac, Route,
};

pub const DEFAULT_PATH: &str = "/etc/hotbond/hotbond.toml";
pub const DEFAULT_ENV_PATH: &str = "/etc/conf.d/network.conf";
/// Environment variable naming the TOML (or env-file) configuration to use.
pub const CONFIG_VAR: &str = "HOTBOND_CONFIG";
/// Environment variable naming the env file used when no TOML file exists.
pub const ENV_FILE_VAR: &str = "HOTBOND_ENV_FILE";
/// Set to "1" to skip the root-ownership / writability check (tests only).
pub const INSECURE_VAR: &str = "HOTBOND_INSECURE_CONFIG_OK";
/// The classic recipe's supplicant configuration, also the TOML default.
pub const DEFAULT_SUPPLICANT_CONFIG: &str = "/etc/wpa_supplicant/wpa_supplicant.conf";
/// Default `-D` driver list for supplicants configured in TOML.
pub const DEFAULT_SUPPLICANT_DRIVER: &str = "nl80211";
/// The classic recipe's `wpa_supplicant -Dnl80211,wext,wired`, used for env-file configs.
pub const CLASSIC_SUPPLICANT_DRIVER: &str = "nl80211,wext,wired";

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Config {
    pub bonds: Vec<Bond>,
    /// The file this came from, for messages.
    pub source: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// An active-backup bond: one slave carries traffic, failover between them.
    Bond,
    /// The classic recipe's bridge master variant: all slaves join a bridge, no failover.
    Bridge,
}

impl Kind {
    pub fn as_str(&self) -> &'static str {
        match self {
            Kind::Bond => "bond",
            Kind::Bridge => "bridge",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bond {
    pub name: IfName,
    pub kind: Kind,
    /// Preferred slave, by name so it survives unplug/replug. Always None for
    /// a bridge.
    pub primary: Option<IfName>,
    /// Bonding options; defaults (and unused) for a bridge.
    pub options: BondOptions,
    /// Static addresses on the bond (e.g. the classic recipe's fail-safe address).
    pub addresses: Vec<IpNet>,
    pub routes: Vec<Route>,
    pub dhcp: Dhcp,
    /// Which interfaces join; the first matching rule wins.
    pub slaves: Vec<SlaveRule>,
    /// Supplicant for wireless slaves whose rule names none. Env-file
    /// configs set the classic recipe's; TOML configs only when `auto_supplicant` is given.
    pub auto_supplicant: Option<Supplicant>,
    /// How the master's IPv6 addresses are made (`ipv6`; the recipe's network.conf has no
    /// such setting and gets the default).
    pub ipv6: Ipv6Mode,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dhcp {
    pub client: DhcpClient,
    pub client_id: ClientId,
    pub hostname: Option<String>,
    /// The metric of the routes a lease brings (the built-in client only; the external
    /// clients' own scripts add theirs).
    pub route_metric: u32,
    /// Whether the built-in client sets the MTU a lease names (option 26) on the bond.
    pub use_mtu: bool,
    /// Hand the lease's name servers and search domains to the system (see [`crate::dns`]).
    pub dns: bool,
}

/// What systemd-networkd gives DHCP routes, so a host moved over sees the same table.
pub const DEFAULT_ROUTE_METRIC: u32 = 1024;

impl Default for Dhcp {
    fn default() -> Dhcp {
        Dhcp {
            client: DhcpClient::default(),
            client_id: ClientId::default(),
            hostname: None,
            route_metric: DEFAULT_ROUTE_METRIC,
            use_mtu: false,
            dns: true,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DhcpClient {
    /// The built-in client: nothing to install, and it keeps the address across failover.
    Auto,
    /// hotbond's own client, inside the bond's job.
    #[default]
    Builtin,
    Dhclient,
    Dhcpcd,
    Udhcpc,
    /// No DHCP on this bond (static addresses only).
    None,
}

impl DhcpClient {
    pub fn as_str(&self) -> &'static str {
        match self {
            DhcpClient::Auto => "auto",
            DhcpClient::Builtin => "builtin",
            DhcpClient::Dhclient => "dhclient",
            DhcpClient::Dhcpcd => "dhcpcd",
            DhcpClient::Udhcpc => "udhcpc",
            DhcpClient::None => "none",
        }
    }
}

/// The DHCP client identifier (option 61) sent on the bond.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ClientId {
    /// A stable DUID derived from the machine id, so the lease (and the IP)
    /// survives failover to a slave with another MAC.
    #[default]
    Duid,
    /// Follow the bond's current MAC (the IP may change on failover).
    Mac,
    /// Exactly these bytes, as in the classic recipe's
    /// `send dhcp-client-identifier 00:02:00:02:...`.
    Raw(Vec<u8>),
}

impl FromStr for ClientId {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> Result<ClientId> {
        match s {
            "duid" => return Ok(ClientId::Duid),
            "mac" => return Ok(ClientId::Mac),
            _ => {}
        }
        let why = || {
            anyhow!(
                "invalid client_id {}: expected \"duid\", \"mac\" or hex bytes like \"01:02:0a\"",
                excerpt(s)
            )
        };
        let mut bytes = Vec::new();
        for part in s.split(':') {
            // from_str_radix would also take a sign ("+f").
            if part.is_empty() || part.len() > 2 || !part.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(why());
            }
            bytes.push(u8::from_str_radix(part, 16).map_err(|_| why())?);
        }
        // RFC 2132 9.14: a type byte plus at least one byte, length fits a u8.
        if bytes.len() < 2 {
            bail!(
                "invalid client_id {}: needs at least 2 bytes (a type byte and a value)",
                excerpt(s)
            );
        }
        if bytes.len() > 255 {
            bail!("invalid client_id {}: longer than 255 bytes", excerpt(s));
        }
        Ok(ClientId::Raw(bytes))
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientId::Duid => f.write_str("duid"),
            ClientId::Mac => f.write_str("mac"),
            ClientId::Raw(bytes) => f.write_str(&crate::net::hex(bytes, ":")),
        }
    }
}

// Serialised in the same form the TOML takes, so `check --json` round-trips.
impl Serialize for ClientId {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SlaveRule {
    pub matcher: Match,
    /// Supplicant to run on a matching interface; None falls back to the
    /// bond's `auto_supplicant` for wireless devices.
    pub supplicant: Option<Supplicant>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Match {
    /// An exact interface name, or a glob (see `ifname::glob_match`).
    Name(String),
    /// A physical device with this (permanent) MAC address.
    Mac(Mac),
    /// A physical device on this bus.
    Bus(Bus),
    /// Any physical device (not virtual ones such as VLANs, veth, tunnels).
    AnyPhysical,
}

impl Match {
    pub fn matches(&self, facts: &DeviceFacts) -> bool {
        match self {
            Match::Name(p) if ifname::is_glob(p) => ifname::glob_match(p, &facts.name),
            Match::Name(p) => *p == facts.name,
            // Virtual devices stacked on a slave (VLANs, the bond itself with
            // fail_over_mac) share its MAC: only a physical one is meant.
            Match::Mac(mac) => facts.physical && facts.mac.as_ref() == Some(mac),
            Match::Bus(bus) => facts.physical && facts.bus == Some(*bus),
            Match::AnyPhysical => facts.physical,
        }
    }

    /// Whether this rule names specific devices (vs. the catch-all).
    pub fn is_specific(&self) -> bool {
        !matches!(self, Match::AnyPhysical)
    }
}

// `{"name": "enp*"}`, `{"mac": "aa:bb:..."}`, `{"bus": "usb"}`, `{"any": true}`:
// the TOML keys, and a MAC as text rather than a list of numbers.
impl Serialize for Match {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "lowercase")]
        enum Repr<'a> {
            Name(&'a str),
            Mac(String),
            Bus(Bus),
            Any(bool),
        }
        match self {
            Match::Name(n) => Repr::Name(n),
            Match::Mac(m) => Repr::Mac(m.to_string()),
            Match::Bus(b) => Repr::Bus(*b),
            Match::AnyPhysical => Repr::Any(true),
        }
        .serialize(s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Supplicant {
    /// wpa_supplicant's `-c` file; always absolute.
    pub config: PathBuf,
    /// wpa_supplicant's `-D` driver list, e.g. "nl80211" or "nl80211,wext,wired".
    pub driver: String,
}

impl Supplicant {
    /// What the classic recipe's supplicant@.service runs.
    pub fn classic_default() -> Supplicant {
        Supplicant {
            config: PathBuf::from(DEFAULT_SUPPLICANT_CONFIG),
            driver: CLASSIC_SUPPLICANT_DRIVER.to_owned(),
        }
    }
}

impl Bond {
    /// The rule that makes `facts` a slave of this bond; the first matching
    /// rule wins, and the bond itself is never its own slave.
    pub fn is_slave(&self, facts: &DeviceFacts) -> Option<&SlaveRule> {
        if self.name.as_str() == facts.name {
            return None;
        }
        self.slaves.iter().find(|r| r.matcher.matches(facts))
    }

    /// The supplicant to run on a slave: its rule's, else the bond's
    /// `auto_supplicant` for a wireless device, else none.
    pub fn supplicant_for(&self, facts: &DeviceFacts) -> Option<&Supplicant> {
        let rule = self.is_slave(facts)?;
        rule.supplicant.as_ref().or(if facts.wireless {
            self.auto_supplicant.as_ref()
        } else {
            None
        })
    }

    pub fn is_bridge(&self) -> bool {
        self.kind == Kind::Bridge
    }
}

impl Config {
    /// Loads HOTBOND_CONFIG if set, else DEFAULT_PATH if it exists, else the
    /// env file (HOTBOND_ENV_FILE if set, else DEFAULT_ENV_PATH) if it exists,
    /// else error "no configuration: create /etc/hotbond/hotbond.toml".
    pub fn load() -> Result<Config> {
        load::load_with(
            &|k| std::env::var_os(k),
            Path::new(DEFAULT_PATH),
            Path::new(DEFAULT_ENV_PATH),
            load::insecure_ok(),
        )
    }

    /// Loads one file: `.toml` (or content starting with a `[table]`) is
    /// TOML, anything else the classic recipe's env file.
    ///
    /// These binaries run as root, so a file that someone else could have
    /// written is refused: it must be owned by root and not group- or
    /// world-writable. HOTBOND_INSECURE_CONFIG_OK=1 lifts that check, only
    /// so tests can run as an ordinary user.
    pub fn load_path(path: &Path) -> Result<Config> {
        load::load_file(path, None, load::insecure_ok())
    }

    pub fn from_toml_str(text: &str, source: &Path) -> Result<Config> {
        toml::parse(text, source)
    }

    pub fn from_env_str(text: &str, source: &Path) -> Result<Config> {
        envfile::parse(text, source)
    }

    pub fn bond(&self, name: &str) -> Option<&Bond> {
        self.bonds.iter().find(|b| b.name.as_str() == name)
    }

    /// The bond (and the rule) an interface belongs to. `facts` are what the
    /// caller observed about the device.
    ///
    /// A rule naming the device (name, MAC, bus) in any bond beats an
    /// `any = true` catch-all in an earlier bond; otherwise file order
    /// decides. A configured bond is never anybody's slave.
    pub fn bond_for(&self, facts: &DeviceFacts) -> Option<(&Bond, &SlaveRule)> {
        if self.bond(&facts.name).is_some() {
            return None;
        }
        let candidates = || {
            self.bonds
                .iter()
                .filter_map(|b| b.is_slave(facts).map(|r| (b, r)))
        };
        candidates()
            .find(|(_, r)| r.matcher.is_specific())
            .or_else(|| candidates().next())
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::{dev, env, toml};
    use super::*;

    #[test]
    fn matching_through_bond_for() {
        let c = toml(
            r#"
[[bond]]
name = "bond0"
primary = "enp3s0"
[[bond.slave]]
name = "enp*"
[[bond.slave]]
mac = "68:a3:c4:ac:63:d1"
supplicant = { config = "/etc/wpa/a.conf" }
[[bond.slave]]
bus = "pcmcia"
[[bond.slave]]
name = "eth[0-3]"

[[bond]]
name = "bond1"
auto_supplicant = { config = "/etc/wpa/auto.conf", driver = "wext" }
[[bond.slave]]
any = true
[[bond.slave]]
name = "usb0"

[[bond]]
name = "br0"
kind = "bridge"
[[bond.slave]]
name = "wl?9"
"#,
        )
        .unwrap();
        let name_of = |f: &DeviceFacts| c.bond_for(f).map(|(b, _)| b.name.to_string());

        assert_eq!(name_of(&dev("enp3s0")).as_deref(), Some("bond0"));
        assert_eq!(name_of(&dev("eth2")).as_deref(), Some("bond0"));
        // eth4: no specific rule; the catch-all of bond1 takes it.
        assert_eq!(name_of(&dev("eth4")).as_deref(), Some("bond1"));
        let virt = DeviceFacts {
            name: "eth4".into(),
            ..DeviceFacts::default()
        };
        assert_eq!(
            name_of(&virt),
            None,
            "any = true takes physical devices only"
        );

        // MAC: only a physical device with that MAC.
        let mac = Mac([0x68, 0xa3, 0xc4, 0xac, 0x63, 0xd1]);
        let wl = DeviceFacts {
            name: "wlan0".into(),
            mac: Some(mac),
            physical: true,
            wireless: true,
            bus: None,
        };
        let (b, r) = c.bond_for(&wl).unwrap();
        assert_eq!((b.name.as_str(), &r.matcher), ("bond0", &Match::Mac(mac)));
        assert_eq!(
            b.supplicant_for(&wl).unwrap().config,
            PathBuf::from("/etc/wpa/a.conf")
        );
        assert_eq!(b.supplicant_for(&wl).unwrap().driver, "nl80211");
        let vlan = DeviceFacts {
            name: "wlan0.5".into(),
            mac: Some(mac),
            ..DeviceFacts::default()
        };
        assert_eq!(name_of(&vlan), None);

        // Bus: a specific rule in bond0 beats bond1's earlier-matching catch-all.
        let card = DeviceFacts {
            name: "wlx1".into(),
            bus: Some(Bus::Pcmcia),
            physical: true,
            wireless: true,
            mac: None,
        };
        let (b, r) = c.bond_for(&card).unwrap();
        assert_eq!(
            (b.name.as_str(), &r.matcher),
            ("bond0", &Match::Bus(Bus::Pcmcia))
        );
        assert_eq!(
            b.supplicant_for(&card),
            None,
            "bond0 has no auto_supplicant"
        );

        // Wireless via the catch-all of bond1: its auto_supplicant.
        let usb = DeviceFacts {
            name: "wlx2".into(),
            bus: Some(Bus::Usb),
            physical: true,
            wireless: true,
            mac: None,
        };
        let (b, r) = c.bond_for(&usb).unwrap();
        assert_eq!(
            (b.name.as_str(), &r.matcher),
            ("bond1", &Match::AnyPhysical)
        );
        assert_eq!(b.supplicant_for(&usb).unwrap().driver, "wext");
        // Within a bond the first matching rule wins.
        assert_eq!(
            c.bond("bond1")
                .unwrap()
                .is_slave(&dev("usb0"))
                .unwrap()
                .matcher,
            Match::AnyPhysical
        );

        // Glob with '?', on a bridge.
        assert_eq!(name_of(&dev("wlp9")).as_deref(), Some("br0"));
        // The bonds themselves are never slaves, though bond1 takes "any".
        for b in ["bond0", "bond1", "br0"] {
            assert_eq!(name_of(&dev(b)), None);
        }
        assert!(c.bond("bond1").unwrap().is_slave(&dev("bond1")).is_none());
    }

    /// Checking is not quadratic: five times the bonds take about five times as long (n log n),
    /// not twenty-five (every bond compared with every other took minutes for 10,000). A ratio,
    /// not a time limit, so that a loaded machine does not fail it; the bound leaves room for
    /// noise between the two measurements.
    #[test]
    fn thousands_of_bonds_are_checked_quickly() {
        let toml_of = |n: usize| -> String {
            (0..n)
                .map(|i| format!("[[bond]]\nname = \"br{i}\"\nkind = \"bridge\"\n[[bond.slave]]\nname = \"v{i}*\"\n"))
                .collect()
        };
        let env_of = |n: usize| -> String {
            (0..n)
                .map(|i| format!("br{i}ADDRS=10.0.{}.{}/32\n", i / 256 % 256, i % 256))
                .collect()
        };
        let time = |n: usize| {
            let (t, e) = (toml_of(n), env_of(n));
            let start = std::time::Instant::now();
            assert_eq!(toml(&t).unwrap().bonds.len(), n);
            assert_eq!(env(&e).unwrap().bonds.len(), n);
            start.elapsed()
        };
        const N: usize = 10_000;
        let small = time(N / 5);
        let large = time(N);
        let ratio = large.as_secs_f64() / small.as_secs_f64().max(1e-3);
        assert!(
            ratio < 12.0,
            "{} bonds {large:?}, {} bonds {small:?}: {ratio:.1}x",
            N,
            N / 5
        );
        let toml_text = toml_of(N);
        // The checks across bonds still find a clash at the very end.
        let clash =
            format!("{toml_text}[[bond]]\nname = \"x\"\n[[bond.slave]]\nname = \"br999?\"\n");
        let e = toml(&clash).unwrap_err().to_string();
        assert!(e.contains("matches bond \"br9990\""), "{e}");
    }

    #[test]
    fn client_id_values() {
        assert_eq!("duid".parse::<ClientId>().unwrap(), ClientId::Duid);
        assert_eq!("mac".parse::<ClientId>().unwrap(), ClientId::Mac);
        let raw: ClientId = "1:2:0a".parse().unwrap();
        assert_eq!(raw, ClientId::Raw(vec![1, 2, 10]));
        assert_eq!(raw.to_string(), "01:02:0a");
        assert!("01::02".parse::<ClientId>().is_err());
        assert!("012:02".parse::<ClientId>().is_err());
        // A sign is no hex digit (found by fuzzing).
        assert!("+f:1:2".parse::<ClientId>().is_err());
    }
}
