//! hotbond's configuration: which bonds (or bridges) exist, which interfaces
//! join each, and how each is addressed.
//!
//! Two sources give the same `Config`:
//! - `/etc/hotbond/hotbond.toml` (see conf/hotbond.toml for the format);
//! - the seed recipe's `/etc/conf.d/network.conf` (systemd EnvironmentFile
//!   syntax, `bond0PRIMARY=`, `bond0ADDRS=`, `bond0ROUTES=`), read as it is
//!   so a user of the recipe can switch without rewriting it.
//!
//! Everything is parsed into typed values here (names, addresses, routes,
//! paths): nothing from a config file is ever meant to reach a shell.

use std::ffi::OsString;
use std::fmt;
use std::fs::OpenOptions;
use std::io::Read;
use std::net::IpAddr;
use std::ops::Range;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize, Serializer};
use toml::Spanned;

use crate::ifname::{self, IfName};

pub const DEFAULT_PATH: &str = "/etc/hotbond/hotbond.toml";
pub const DEFAULT_ENV_PATH: &str = "/etc/conf.d/network.conf";
/// Environment variable naming the TOML (or env-file) configuration to use.
pub const CONFIG_VAR: &str = "HOTBOND_CONFIG";
/// Environment variable naming the env file used when no TOML file exists.
pub const ENV_FILE_VAR: &str = "HOTBOND_ENV_FILE";
/// Set to "1" to skip the root-ownership / writability check (tests only).
pub const INSECURE_VAR: &str = "HOTBOND_INSECURE_CONFIG_OK";
/// The seed recipe's supplicant configuration, also the TOML default.
pub const DEFAULT_SUPPLICANT_CONFIG: &str = "/etc/wpa_supplicant/wpa_supplicant.conf";
/// Default `-D` driver list for supplicants configured in TOML.
pub const DEFAULT_SUPPLICANT_DRIVER: &str = "nl80211";
/// The seed's `wpa_supplicant -Dnl80211,wext,wired`, used for env-file configs.
pub const SEED_SUPPLICANT_DRIVER: &str = "nl80211,wext,wired";
/// A configuration is a few hundred bytes; refuse anything absurd rather
/// than reading a runaway file into memory as root.
const MAX_CONFIG_BYTES: u64 = 1 << 20;

// ---------------------------------------------------------------------------
// Public model

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
    /// The seed's bridge master variant: all slaves join a bridge, no failover.
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
    /// Static addresses on the bond (e.g. the seed's fail-safe address).
    pub addresses: Vec<IpNet>,
    pub routes: Vec<Route>,
    pub dhcp: Dhcp,
    /// Which interfaces join; the first matching rule wins.
    pub slaves: Vec<SlaveRule>,
    /// Supplicant for wireless slaves whose rule names none. Env-file
    /// configs set the seed's; TOML configs only when `auto_supplicant` is given.
    pub auto_supplicant: Option<Supplicant>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BondOptions {
    /// MII link monitoring interval in ms (the seed's modprobe miimon=100).
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

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Dhcp {
    pub client: DhcpClient,
    pub client_id: ClientId,
    pub hostname: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DhcpClient {
    /// Use whichever supported client is installed.
    #[default]
    Auto,
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
    /// Exactly these bytes, as in the seed's
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
                "invalid client_id {s:?}: expected \"duid\", \"mac\" or hex bytes like \"01:02:0a\""
            )
        };
        let mut bytes = Vec::new();
        for part in s.split(':') {
            if part.is_empty() || part.len() > 2 {
                return Err(why());
            }
            bytes.push(u8::from_str_radix(part, 16).map_err(|_| why())?);
        }
        // RFC 2132 9.14: a type byte plus at least one byte, length fits a u8.
        if bytes.len() < 2 {
            bail!("invalid client_id {s:?}: needs at least 2 bytes (a type byte and a value)");
        }
        if bytes.len() > 255 {
            bail!("invalid client_id {s:?}: longer than 255 bytes");
        }
        Ok(ClientId::Raw(bytes))
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientId::Duid => f.write_str("duid"),
            ClientId::Mac => f.write_str("mac"),
            ClientId::Raw(bytes) => f.write_str(&hex_colon(bytes)),
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
    Mac([u8; 6]),
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
            Match::Mac(m) => Repr::Mac(format_mac(m)),
            Match::Bus(b) => Repr::Bus(*b),
            Match::AnyPhysical => Repr::Any(true),
        }
        .serialize(s)
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Supplicant {
    /// wpa_supplicant's `-c` file; always absolute.
    pub config: PathBuf,
    /// wpa_supplicant's `-D` driver list, e.g. "nl80211" or "nl80211,wext,wired".
    pub driver: String,
}

impl Supplicant {
    /// What the seed's supplicant@.service runs.
    pub fn seed_default() -> Supplicant {
        Supplicant {
            config: PathBuf::from(DEFAULT_SUPPLICANT_CONFIG),
            driver: SEED_SUPPLICANT_DRIVER.to_owned(),
        }
    }
}

/// An address with its prefix length ("192.0.2.5/24"); host bits may be set
/// (it is an interface address, as `ip address add` takes).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IpNet {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl IpNet {
    /// 32 for IPv4, 128 for IPv6.
    pub fn max_prefix(&self) -> u8 {
        max_prefix(&self.addr)
    }

    pub fn is_ipv4(&self) -> bool {
        self.addr.is_ipv4()
    }

    /// The same prefix with the host bits cleared.
    pub fn network(&self) -> IpNet {
        let addr = match self.addr {
            IpAddr::V4(a) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                IpAddr::V4((u32::from(a) & mask).into())
            }
            IpAddr::V6(a) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                IpAddr::V6((u128::from(a) & mask).into())
            }
        };
        IpNet {
            addr,
            prefix: self.prefix,
        }
    }
}

fn max_prefix(a: &IpAddr) -> u8 {
    if a.is_ipv4() {
        32
    } else {
        128
    }
}

impl FromStr for IpNet {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> Result<IpNet> {
        let Some((addr, len)) = s.split_once('/') else {
            bail!("invalid address {s:?}: missing /PREFIXLEN (e.g. 192.168.0.2/24)");
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| anyhow!("invalid address {s:?}: {addr:?} is not an IP address"))?;
        let prefix = parse_prefix_len(len)
            .ok_or_else(|| anyhow!("invalid address {s:?}: bad prefix length {len:?}"))?;
        if prefix > max_prefix(&addr) {
            bail!(
                "invalid address {s:?}: prefix length {prefix} is more than {}",
                max_prefix(&addr)
            );
        }
        Ok(IpNet { addr, prefix })
    }
}

/// Decimal digits only: `u8::from_str` would also take "+24".
fn parse_prefix_len(s: &str) -> Option<u8> {
    if s.is_empty() || s.len() > 3 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl Serialize for IpNet {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A route on the bond, from the subset of ip-route syntax
/// `[to] PREFIX|default [via GW] [metric N]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Route {
    /// None = default route (IPv4 unless `via` is IPv6).
    pub to: Option<IpNet>,
    pub via: Option<IpAddr>,
    pub metric: Option<u32>,
}

impl Route {
    pub fn is_ipv6(&self) -> bool {
        match (&self.to, &self.via) {
            (Some(to), _) => !to.is_ipv4(),
            (None, Some(via)) => via.is_ipv6(),
            (None, None) => false,
        }
    }
}

const ROUTE_SYNTAX: &str = "[to] PREFIX|default [via GATEWAY] [metric N]";

impl FromStr for Route {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> Result<Route> {
        let bad = |why: String| anyhow!("invalid route {s:?}: {why} (syntax: {ROUTE_SYNTAX})");
        let mut words = s.split_whitespace().peekable();
        if words.peek() == Some(&"to") {
            words.next();
        }
        let to = match words.next() {
            None => return Err(bad("no destination".into())),
            Some("default") => None,
            Some(dest) => Some(parse_route_dest(dest).map_err(bad)?),
        };
        let mut route = Route {
            to,
            via: None,
            metric: None,
        };
        while let Some(word) = words.next() {
            let mut arg = |what: &str| {
                words
                    .next()
                    .ok_or_else(|| bad(format!("{what} needs a value")))
            };
            match word {
                "via" => {
                    let gw = arg("via")?;
                    if route.via.is_some() {
                        return Err(bad("via given twice".into()));
                    }
                    let ip: IpAddr = gw
                        .parse()
                        .map_err(|_| bad(format!("gateway {gw:?} is not an IP address")))?;
                    if ip.is_unspecified() || ip.is_multicast() {
                        return Err(bad(format!("{ip} cannot be a gateway")));
                    }
                    route.via = Some(ip);
                }
                // ip-route takes all three spellings for the same thing.
                "metric" | "priority" | "preference" => {
                    let n = arg(word)?;
                    if route.metric.is_some() {
                        return Err(bad("metric given twice".into()));
                    }
                    let metric = n
                        .bytes()
                        .all(|b| b.is_ascii_digit())
                        .then(|| n.parse::<u32>().ok())
                        .flatten()
                        .ok_or_else(|| bad(format!("metric {n:?} is not a number")))?;
                    route.metric = Some(metric);
                }
                other => return Err(bad(format!("unexpected {other:?}"))),
            }
        }
        if let (Some(to), Some(via)) = (&route.to, &route.via) {
            if to.is_ipv4() != via.is_ipv4() {
                return Err(bad(format!(
                    "gateway {via} is not of the same family as {to}"
                )));
            }
        }
        Ok(route)
    }
}

/// A route destination: "10.0.0.0/8", or a bare address meaning a host route.
fn parse_route_dest(s: &str) -> std::result::Result<IpNet, String> {
    let net = if s.contains('/') {
        s.parse::<IpNet>().map_err(|e| e.to_string())?
    } else {
        let addr: IpAddr = s
            .parse()
            .map_err(|_| format!("{s:?} is not a prefix or \"default\""))?;
        IpNet {
            addr,
            prefix: max_prefix(&addr),
        }
    };
    // The kernel refuses these ("Invalid prefix for given prefix length").
    if net.network() != net {
        return Err(format!(
            "{net} has host bits set (did you mean {}?)",
            net.network()
        ));
    }
    Ok(net)
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.to {
            Some(to) => write!(f, "{to}")?,
            None => f.write_str("default")?,
        }
        if let Some(via) = &self.via {
            write!(f, " via {via}")?;
        }
        if let Some(metric) = self.metric {
            write!(f, " metric {metric}")?;
        }
        Ok(())
    }
}

impl Serialize for Route {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// What the caller observed about a device, for matching slave rules.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct DeviceFacts {
    pub name: String,
    /// Preferably the permanent hardware address (it does not follow the bond).
    pub mac: Option<[u8; 6]>,
    pub bus: Option<Bus>,
    /// Backed by hardware (has /sys/class/net/IF/device).
    pub physical: bool,
    /// A wireless device (has /sys/class/net/IF/wireless or phy80211).
    pub wireless: bool,
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
        load_with(
            &|k| std::env::var_os(k),
            Path::new(DEFAULT_PATH),
            Path::new(DEFAULT_ENV_PATH),
            insecure_ok(),
        )
    }

    /// Loads one file: `.toml` (or content starting with a `[table]`) is
    /// TOML, anything else the seed's env file.
    ///
    /// These binaries run as root, so a file that someone else could have
    /// written is refused: it must be owned by root and not group- or
    /// world-writable. HOTBOND_INSECURE_CONFIG_OK=1 lifts that check, only
    /// so tests can run as an ordinary user.
    pub fn load_path(path: &Path) -> Result<Config> {
        load_file(path, None, insecure_ok())
    }

    pub fn from_toml_str(text: &str, source: &Path) -> Result<Config> {
        parse_toml(text, source)
    }

    pub fn from_env_str(text: &str, source: &Path) -> Result<Config> {
        parse_env(text, source)
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

// ---------------------------------------------------------------------------
// Loading files

fn insecure_ok() -> bool {
    std::env::var_os(INSECURE_VAR).is_some_and(|v| v == "1")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Toml,
    Env,
}

/// `Config::load` with its inputs explicit, so tests need not touch the
/// process environment (shared by all test threads).
fn load_with(
    var: &dyn Fn(&str) -> Option<OsString>,
    default_path: &Path,
    default_env: &Path,
    insecure_ok: bool,
) -> Result<Config> {
    let set = |k: &str| var(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(path) = set(CONFIG_VAR) {
        return load_file(&path, None, insecure_ok);
    }
    if exists(default_path)? {
        return load_file(default_path, Some(Format::Toml), insecure_ok);
    }
    let env_path = set(ENV_FILE_VAR).unwrap_or_else(|| default_env.to_path_buf());
    if exists(&env_path)? {
        return load_file(&env_path, Some(Format::Env), insecure_ok);
    }
    bail!("no configuration: create {}", default_path.display())
}

/// Like Path::exists, but a permission error is an error, not "absent":
/// silently falling through to another source would be a surprise.
fn exists(path: &Path) -> Result<bool> {
    path.try_exists()
        .with_context(|| format!("{}: cannot check whether it exists", path.display()))
}

fn load_file(path: &Path, format: Option<Format>, insecure_ok: bool) -> Result<Config> {
    let text = read_trusted(path, insecure_ok)?;
    let format = format.unwrap_or_else(|| guess_format(path, &text));
    match format {
        Format::Toml => parse_toml(&text, path),
        Format::Env => parse_env(&text, path),
    }
}

fn guess_format(path: &Path, text: &str) -> Format {
    if path.extension().is_some_and(|e| e == "toml") {
        return Format::Toml;
    }
    // An env file never has a line starting with '[': a TOML config under
    // another name (HOTBOND_CONFIG=/tmp/x.conf) always has [[bond]].
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with(';'));
    match first {
        Some(l) if l.starts_with('[') => Format::Toml,
        _ => Format::Env,
    }
}

/// Reads a config file, refusing one that a non-root user could have
/// written (unless `insecure_ok`). The checks use fstat on the opened file,
/// so a swap between check and read cannot slip another file in.
fn read_trusted(path: &Path, insecure_ok: bool) -> Result<String> {
    let shown = path.display();
    let file = OpenOptions::new()
        .read(true)
        // A FIFO would block the (udev-run) binary forever on open.
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .with_context(|| format!("{shown}: cannot open"))?;
    let meta = file
        .metadata()
        .with_context(|| format!("{shown}: cannot stat"))?;
    if !meta.is_file() {
        bail!("{shown}: not a regular file");
    }
    if !insecure_ok {
        if meta.uid() != 0 {
            bail!(
                "{shown}: refusing a configuration owned by uid {} (it must be owned by root; \
                 {INSECURE_VAR}=1 allows it, for tests only)",
                meta.uid()
            );
        }
        if meta.mode() & 0o022 != 0 {
            bail!(
                "{shown}: refusing a group- or world-writable configuration (mode {:o}): \
                 run chmod go-w on it",
                meta.mode() & 0o7777
            );
        }
    }
    if meta.len() > MAX_CONFIG_BYTES {
        bail!("{shown}: larger than {MAX_CONFIG_BYTES} bytes, not a configuration");
    }
    let mut bytes = Vec::new();
    file.take(MAX_CONFIG_BYTES + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("{shown}: cannot read"))?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        bail!("{shown}: larger than {MAX_CONFIG_BYTES} bytes, not a configuration");
    }
    String::from_utf8(bytes).map_err(|_| anyhow!("{shown}: not valid UTF-8"))
}

// ---------------------------------------------------------------------------
// Shared value checks

/// Lowercase hex bytes joined by ':'.
fn hex_colon(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

pub fn format_mac(mac: &[u8; 6]) -> String {
    hex_colon(mac)
}

/// "aa:bb:cc:dd:ee:ff" (or with '-'), any case.
pub fn parse_mac(s: &str) -> Result<[u8; 6]> {
    let bad =
        || anyhow!("invalid MAC address {s:?}: expected six hex bytes like \"aa:bb:cc:dd:ee:ff\"");
    let sep = if s.contains('-') { '-' } else { ':' };
    let mut mac = [0u8; 6];
    let mut parts = s.split(sep);
    for byte in mac.iter_mut() {
        let part = parts.next().ok_or_else(bad)?;
        if part.len() != 2 {
            return Err(bad());
        }
        *byte = u8::from_str_radix(part, 16).map_err(|_| bad())?;
    }
    if parts.next().is_some() {
        return Err(bad());
    }
    // No NIC has these: almost certainly a typo.
    if mac == [0; 6] {
        bail!("invalid MAC address {s:?}: all zero");
    }
    if mac[0] & 1 != 0 {
        bail!("invalid MAC address {s:?}: a multicast address, no NIC has it");
    }
    Ok(mac)
}

/// RFC 1123 host name: dot-separated labels of letters, digits and '-',
/// 1..=63 each, not starting or ending with '-', 253 in all.
fn check_hostname(h: &str) -> Result<()> {
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
fn check_address(a: &IpNet) -> Result<()> {
    if a.addr.is_unspecified() || a.addr.is_multicast() {
        bail!("invalid address \"{a}\": not a unicast address");
    }
    Ok(())
}

/// Bond names are created, not matched: no pattern characters, and no '%'
/// (the kernel would treat "bond%d" as a template and pick a number).
fn check_bond_name(name: &str) -> Result<IfName> {
    let n = IfName::new(name)?;
    if ifname::is_glob(name) || name.contains('%') {
        bail!("invalid bond name {name:?}: '*', '?', '[' and '%' are not allowed");
    }
    Ok(n)
}

/// The primary is one exact interface name.
fn check_primary(name: &str) -> Result<IfName> {
    let n = IfName::new(name)?;
    if ifname::is_glob(name) {
        bail!("primary {name:?} must be an exact interface name, not a pattern");
    }
    Ok(n)
}

fn check_supplicant_config(config: &str) -> Result<PathBuf> {
    if !config.starts_with('/') {
        bail!("supplicant config {config:?} must be an absolute path");
    }
    if config.contains('\0') {
        bail!("supplicant config {config:?} contains a NUL byte");
    }
    Ok(PathBuf::from(config))
}

/// It becomes part of wpa_supplicant's `-D` argument: driver names only.
fn check_supplicant_driver(driver: &str) -> Result<String> {
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

// ---------------------------------------------------------------------------
// TOML

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    bond: Vec<Spanned<RawBond>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBond {
    // Optional here so a missing name gets our message and position.
    name: Option<Spanned<String>>,
    kind: Option<Kind>,
    primary: Option<Spanned<String>>,
    #[serde(default)]
    addresses: Vec<Spanned<String>>,
    #[serde(default)]
    routes: Vec<Spanned<String>>,
    options: Option<Spanned<RawOptions>>,
    dhcp: Option<RawDhcp>,
    #[serde(default)]
    slave: Vec<Spanned<RawSlave>>,
    auto_supplicant: Option<RawSupplicant>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOptions {
    miimon: Option<Spanned<u32>>,
    updelay: Option<Spanned<u32>>,
    downdelay: Option<Spanned<u32>>,
    primary_reselect: Option<PrimaryReselect>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDhcp {
    client: Option<DhcpClient>,
    client_id: Option<Spanned<String>>,
    hostname: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSlave {
    name: Option<Spanned<String>>,
    mac: Option<Spanned<String>>,
    bus: Option<Spanned<Bus>>,
    any: Option<Spanned<bool>>,
    supplicant: Option<RawSupplicant>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSupplicant {
    config: Option<Spanned<String>>,
    driver: Option<Spanned<String>>,
}

/// The text being parsed, to turn byte spans into FILE:LINE:COLUMN.
struct Src<'a> {
    text: &'a str,
    path: &'a Path,
}

impl Src<'_> {
    fn line_col(&self, offset: usize) -> (usize, usize) {
        let mut end = offset.min(self.text.len());
        while !self.text.is_char_boundary(end) {
            end -= 1;
        }
        let before = &self.text[..end];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, col)
    }

    fn err(&self, span: Range<usize>, msg: impl fmt::Display) -> anyhow::Error {
        let (line, col) = self.line_col(span.start);
        anyhow!("{}:{line}:{col}: {msg}", self.path.display())
    }
}

/// Runs a check, giving its error the position of `span`.
fn at<T>(src: &Src, span: Range<usize>, r: Result<T>) -> Result<T> {
    r.map_err(|e| src.err(span, e))
}

fn parse_toml(text: &str, path: &Path) -> Result<Config> {
    let src = Src { text, path };
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        // toml's messages can span lines ("invalid inline table\nexpected `}`").
        let mut msg = e.message().trim().replace('\n', "; ");
        if msg.contains("expected a sequence") {
            msg.push_str(" (write [[bond]] and [[bond.slave]], with double brackets)");
        }
        match e.span() {
            Some(span) => src.err(span, msg),
            None => anyhow!("{}: {msg}", path.display()),
        }
    })?;
    if raw.bond.is_empty() {
        return Err(src.err(0..0, "no [[bond]] defined: at least one bond is needed"));
    }
    let mut bonds: Vec<Bond> = Vec::new();
    // Where each bond's name and each Name rule were written, for the
    // cross-bond checks below.
    let mut name_spans: Vec<Range<usize>> = Vec::new();
    let mut pattern_spans: Vec<Vec<Option<Range<usize>>>> = Vec::new();
    let mut primary_spans: Vec<Option<Range<usize>>> = Vec::new();
    for raw_bond in raw.bond {
        let span = raw_bond.span();
        let (bond, pats) = toml_bond(&src, span, raw_bond.into_inner())?;
        let name_span = pats.name.clone();
        if let Some(i) = bonds.iter().position(|b| b.name == bond.name) {
            let (line, _) = src.line_col(name_spans[i].start);
            return Err(src.err(
                name_span,
                format!(
                    "duplicate bond name \"{}\" (first defined on line {line})",
                    bond.name
                ),
            ));
        }
        bonds.push(bond);
        name_spans.push(name_span);
        pattern_spans.push(pats.slaves);
        primary_spans.push(pats.primary);
    }
    for (i, bond) in bonds.iter().enumerate() {
        for (j, rule) in bond.slaves.iter().enumerate() {
            let Match::Name(pattern) = &rule.matcher else {
                continue;
            };
            let facts = |name: &str| DeviceFacts {
                name: name.to_owned(),
                ..DeviceFacts::default()
            };
            if let Some(other) = bonds
                .iter()
                .find(|b| rule.matcher.matches(&facts(b.name.as_str())))
            {
                let span = pattern_spans[i][j].clone().unwrap_or(name_spans[i].clone());
                return Err(src.err(
                    span,
                    format!(
                        "slave pattern {pattern:?} matches bond \"{}\": an interface cannot be both a bond and a slave{}",
                        other.name,
                        if ifname::is_glob(pattern) { " (use any = true to take every physical interface)" } else { "" }
                    ),
                ));
            }
        }
        if let Some(primary) = &bond.primary {
            if bonds.iter().any(|b| b.name == *primary) {
                let span = primary_spans[i].clone().unwrap_or(name_spans[i].clone());
                return Err(src.err(
                    span,
                    format!("primary \"{primary}\" is a bond, it cannot be a slave"),
                ));
            }
        }
    }
    Ok(Config {
        bonds,
        source: path.to_path_buf(),
    })
}

/// Spans kept from one [[bond]] for checks across bonds.
struct BondSpans {
    name: Range<usize>,
    primary: Option<Range<usize>>,
    slaves: Vec<Option<Range<usize>>>,
}

fn toml_bond(src: &Src, span: Range<usize>, raw: RawBond) -> Result<(Bond, BondSpans)> {
    let Some(name) = raw.name else {
        return Err(src.err(span, "[[bond]] has no name (add name = \"bond0\")"));
    };
    let name_span = name.span();
    let name = at(src, name.span(), check_bond_name(name.get_ref()))?;
    let kind = raw.kind.unwrap_or(Kind::Bond);

    let mut primary_span = None;
    let primary = match raw.primary {
        None => None,
        Some(_) if kind == Kind::Bridge => {
            return Err(src.err(
                raw.primary.map_or(span.clone(), |p| p.span()),
                format!("bridge \"{name}\": bridges have no primary (remove primary)"),
            ));
        }
        Some(p) => {
            let n = at(src, p.span(), check_primary(p.get_ref()))?;
            if n == name {
                return Err(src.err(
                    p.span(),
                    format!("primary of \"{name}\" is the bond itself"),
                ));
            }
            primary_span = Some(p.span());
            Some(n)
        }
    };

    let options = match raw.options {
        None => BondOptions::default(),
        Some(o) if kind == Kind::Bridge => {
            return Err(src.err(
                o.span(),
                format!("bridge \"{name}\": bond options do not apply to a bridge (remove [bond.options])"),
            ));
        }
        Some(o) => toml_options(src, o.into_inner())?,
    };

    let mut addresses: Vec<IpNet> = Vec::new();
    for a in raw.addresses {
        let net = at(src, a.span(), a.get_ref().parse::<IpNet>())?;
        at(src, a.span(), check_address(&net))?;
        if addresses.contains(&net) {
            return Err(src.err(a.span(), format!("address {net} listed twice")));
        }
        addresses.push(net);
    }
    let mut routes: Vec<Route> = Vec::new();
    for r in raw.routes {
        let route = at(src, r.span(), r.get_ref().parse::<Route>())?;
        if routes
            .iter()
            .any(|o| o.to == route.to && o.is_ipv6() == route.is_ipv6())
        {
            return Err(src.err(
                r.span(),
                format!(
                    "a route to {} is listed twice",
                    route.to.map_or("default".into(), |t| t.to_string())
                ),
            ));
        }
        routes.push(route);
    }

    let dhcp = match raw.dhcp {
        None => Dhcp::default(),
        Some(d) => toml_dhcp(src, d)?,
    };

    let mut slaves = Vec::new();
    let mut slave_spans = Vec::new();
    for s in &raw.slave {
        let (rule, pat_span) = toml_slave(src, s.span(), s.get_ref())?;
        slaves.push(rule);
        slave_spans.push(pat_span);
    }
    if slaves.is_empty() {
        return Err(src.err(
            span,
            format!("bond \"{name}\" has no [[bond.slave]] rule: no interface would ever join it"),
        ));
    }
    // With only name rules we can tell whether the primary could ever join.
    if let (Some(p), Some(pspan)) = (&primary, &primary_span) {
        let all_names = slaves.iter().all(|r| matches!(r.matcher, Match::Name(_)));
        let facts = DeviceFacts {
            name: p.to_string(),
            ..DeviceFacts::default()
        };
        if all_names && !slaves.iter().any(|r| r.matcher.matches(&facts)) {
            return Err(src.err(
                pspan.clone(),
                format!("primary \"{p}\" matches none of the slave rules of \"{name}\""),
            ));
        }
    }

    let auto_supplicant = match &raw.auto_supplicant {
        None => None,
        Some(s) => Some(toml_supplicant(src, s)?),
    };

    let bond = Bond {
        name,
        kind,
        primary,
        options,
        addresses,
        routes,
        dhcp,
        slaves,
        auto_supplicant,
    };
    Ok((
        bond,
        BondSpans {
            name: name_span,
            primary: primary_span,
            slaves: slave_spans,
        },
    ))
}

fn toml_options(src: &Src, raw: RawOptions) -> Result<BondOptions> {
    let d = BondOptions::default();
    let miimon = raw.miimon.as_ref().map_or(d.miimon, |m| *m.get_ref());
    if let Some(m) = &raw.miimon {
        if miimon == 0 {
            return Err(src.err(
                m.span(),
                "miimon = 0 turns link monitoring off: the bond would never fail over",
            ));
        }
    }
    // The kernel silently rounds delays down to a multiple of miimon; say so
    // instead of running with a value nobody wrote.
    let delay = |d: &Option<Spanned<u32>>, what: &str| -> Result<u32> {
        let Some(d) = d else { return Ok(0) };
        let v = *d.get_ref();
        if v % miimon != 0 {
            return Err(src.err(
                d.span(),
                format!("{what} = {v} is not a multiple of miimon ({miimon})"),
            ));
        }
        Ok(v)
    };
    Ok(BondOptions {
        miimon,
        updelay: delay(&raw.updelay, "updelay")?,
        downdelay: delay(&raw.downdelay, "downdelay")?,
        primary_reselect: raw.primary_reselect.unwrap_or_default(),
    })
}

fn toml_dhcp(src: &Src, raw: RawDhcp) -> Result<Dhcp> {
    let client_id = match &raw.client_id {
        None => ClientId::default(),
        Some(c) => at(src, c.span(), c.get_ref().parse())?,
    };
    let hostname = match &raw.hostname {
        None => None,
        Some(h) => {
            at(src, h.span(), check_hostname(h.get_ref()))?;
            Some(h.get_ref().clone())
        }
    };
    Ok(Dhcp {
        client: raw.client.unwrap_or_default(),
        client_id,
        hostname,
    })
}

fn toml_supplicant(src: &Src, raw: &RawSupplicant) -> Result<Supplicant> {
    let config = match &raw.config {
        None => PathBuf::from(DEFAULT_SUPPLICANT_CONFIG),
        Some(c) => at(src, c.span(), check_supplicant_config(c.get_ref()))?,
    };
    let driver = match &raw.driver {
        None => DEFAULT_SUPPLICANT_DRIVER.to_owned(),
        Some(d) => at(src, d.span(), check_supplicant_driver(d.get_ref()))?,
    };
    Ok(Supplicant { config, driver })
}

/// One [[bond.slave]]: exactly one matcher. Returns the rule and, for a
/// name rule, where the pattern was written.
fn toml_slave(
    src: &Src,
    span: Range<usize>,
    raw: &RawSlave,
) -> Result<(SlaveRule, Option<Range<usize>>)> {
    let mut given: Vec<(&str, Range<usize>)> = Vec::new();
    if let Some(n) = &raw.name {
        given.push(("name", n.span()));
    }
    if let Some(m) = &raw.mac {
        given.push(("mac", m.span()));
    }
    if let Some(b) = &raw.bus {
        given.push(("bus", b.span()));
    }
    if let Some(a) = &raw.any {
        given.push(("any", a.span()));
    }
    match given.len() {
        0 => {
            return Err(src.err(
                span,
                "[[bond.slave]] needs one of name, mac, bus or any = true",
            ))
        }
        1 => {}
        _ => {
            let keys: Vec<&str> = given.iter().map(|(k, _)| *k).collect();
            return Err(src.err(
                given[1].1.clone(),
                format!(
                    "[[bond.slave]] has {}: give exactly one matcher (use one [[bond.slave]] per matcher)",
                    keys.join(" and ")
                ),
            ));
        }
    }
    let mut pattern_span = None;
    let matcher = if let Some(n) = &raw.name {
        at(src, n.span(), ifname::validate_pattern(n.get_ref()))?;
        pattern_span = Some(n.span());
        Match::Name(n.get_ref().clone())
    } else if let Some(m) = &raw.mac {
        Match::Mac(at(src, m.span(), parse_mac(m.get_ref()))?)
    } else if let Some(b) = &raw.bus {
        Match::Bus(*b.get_ref())
    } else if let Some(a) = &raw.any {
        if !*a.get_ref() {
            return Err(src.err(
                a.span(),
                "any = false matches nothing: use any = true, or name, mac or bus",
            ));
        }
        Match::AnyPhysical
    } else {
        // given.len() == 1 above means one of the branches was taken.
        return Err(src.err(
            span,
            "[[bond.slave]] needs one of name, mac, bus or any = true",
        ));
    };
    let supplicant = match &raw.supplicant {
        None => None,
        Some(s) => Some(toml_supplicant(src, s)?),
    };
    Ok((
        SlaveRule {
            matcher,
            supplicant,
        },
        pattern_span,
    ))
}

// ---------------------------------------------------------------------------
// The seed's env file (/etc/conf.d/network.conf)

/// One `KEY=VALUE` assignment, after systemd's unquoting.
#[derive(Debug, PartialEq)]
struct EnvEntry {
    key: String,
    value: String,
    line: usize,
}

/// Splits an EnvironmentFile the way systemd does: `#`/`;` comment lines,
/// `KEY=VALUE` with whitespace around the value dropped, single quotes
/// (literal), double quotes (`\"`, `\\`, `` \` ``, `\$` escapes), backslash
/// escapes outside quotes, backslash-newline continuation, quoted parts
/// concatenated. Stricter than systemd in two ways, because both are
/// always mistakes: a line without '=' and an unterminated quote are errors.
fn parse_env_entries(text: &str, path: &Path) -> Result<Vec<EnvEntry>> {
    #[derive(PartialEq)]
    enum St {
        PreKey,
        Key,
        PreValue,
        Value,
        Single,
        Double,
        Comment,
    }
    let shown = path.display();
    let is_ws = |c: char| c == ' ' || c == '\t' || c == '\r';
    let mut st = St::PreKey;
    let mut line = 1;
    let mut key_line = 1;
    let mut quote_line = 1;
    let mut key = String::new();
    let mut value = String::new();
    // Length of `value` before a trailing run of unquoted whitespace.
    let mut trail: Option<usize> = None;
    let mut out = Vec::new();
    let mut chars = text.chars();

    let finish = |key: &mut String, value: &mut String, trail: &mut Option<usize>, line: usize| {
        if let Some(t) = trail.take() {
            value.truncate(t);
        }
        EnvEntry {
            key: std::mem::take(key).trim_end().to_owned(),
            value: std::mem::take(value),
            line,
        }
    };

    while let Some(c) = chars.next() {
        match st {
            St::PreKey => {
                if c == '#' || c == ';' {
                    st = St::Comment;
                } else if c == '\n' {
                    line += 1;
                } else if !is_ws(c) {
                    st = St::Key;
                    key_line = line;
                    key.push(c);
                }
            }
            St::Comment => {
                if c == '\n' {
                    line += 1;
                    st = St::PreKey;
                }
            }
            St::Key => match c {
                '\n' => bail!(
                    "{shown}:{key_line}: expected KEY=VALUE, found {:?}",
                    key.trim_end()
                ),
                '=' => {
                    st = St::PreValue;
                    trail = None;
                }
                _ => key.push(c),
            },
            St::PreValue | St::Value => match c {
                '\n' => {
                    line += 1;
                    out.push(finish(&mut key, &mut value, &mut trail, key_line));
                    st = St::PreKey;
                }
                '\'' if st == St::PreValue => {
                    st = St::Single;
                    quote_line = line;
                }
                '"' if st == St::PreValue => {
                    st = St::Double;
                    quote_line = line;
                }
                '\\' => {
                    st = St::Value;
                    trail = None;
                    match chars.next() {
                        // Continuation: the newline is eaten.
                        Some('\n') => line += 1,
                        Some(e) => value.push(e),
                        None => {}
                    }
                }
                c if is_ws(c) => {
                    if st == St::Value {
                        trail.get_or_insert(value.len());
                        value.push(c);
                    }
                }
                c => {
                    st = St::Value;
                    trail = None;
                    value.push(c);
                }
            },
            St::Single => {
                if c == '\'' {
                    st = St::PreValue;
                } else {
                    if c == '\n' {
                        line += 1;
                    }
                    value.push(c);
                }
            }
            St::Double => match c {
                '"' => st = St::PreValue,
                '\\' => match chars.next() {
                    Some(e @ ('"' | '\\' | '`' | '$')) => value.push(e),
                    Some('\n') => line += 1,
                    Some(e) => {
                        // Like the shell: other backslashes stay.
                        value.push('\\');
                        value.push(e);
                    }
                    None => {}
                },
                c => {
                    if c == '\n' {
                        line += 1;
                    }
                    value.push(c);
                }
            },
        }
    }
    match st {
        St::PreKey | St::Comment => {}
        St::Key => bail!(
            "{shown}:{key_line}: expected KEY=VALUE, found {:?}",
            key.trim_end()
        ),
        St::PreValue | St::Value => out.push(finish(&mut key, &mut value, &mut trail, key_line)),
        St::Single | St::Double => bail!("{shown}:{quote_line}: unterminated quote"),
    }
    Ok(out)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Suffix {
    Primary,
    Addrs,
    Routes,
}

const SUFFIXES: [(&str, Suffix); 3] = [
    ("PRIMARY", Suffix::Primary),
    ("ADDRS", Suffix::Addrs),
    ("ROUTES", Suffix::Routes),
];

/// A `<ifname><SUFFIX>` variable.
struct Var {
    iface: IfName,
    suffix: Suffix,
    value: String,
    line: usize,
}

/// The seed creates a bridge for a master whose name contains "br"
/// (master@.service: `case %I in *br*) ... type bridge`).
fn seed_is_bridge(name: &str) -> bool {
    name.contains("br")
}

fn parse_env(text: &str, path: &Path) -> Result<Config> {
    let shown = path.display();
    let entries = parse_env_entries(text, path)?;

    let mut vars: Vec<Var> = Vec::new();
    for e in entries {
        let Some((prefix, suffix)) = SUFFIXES
            .iter()
            .find_map(|(s, v)| e.key.strip_suffix(s).map(|p| (p, *v)))
        else {
            continue; // Not ours: the file is shared with other units.
        };
        if prefix.is_empty() {
            continue; // A plain PRIMARY=... names no interface.
        }
        let key_ok = prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
        let iface = match IfName::new(prefix) {
            Ok(n) if key_ok => n,
            Ok(_) => bail!(
                "{shown}:{}: variable {:?}: {prefix:?} is not an interface name (letters, digits, '_', '.', '-')",
                e.line,
                e.key
            ),
            Err(err) => bail!("{shown}:{}: variable {:?}: {err}", e.line, e.key),
        };
        // Later assignments override earlier ones, as in systemd.
        match vars
            .iter_mut()
            .find(|v| v.iface == iface && v.suffix == suffix)
        {
            Some(v) => {
                v.value = e.value;
                v.line = e.line;
            }
            None => vars.push(Var {
                iface,
                suffix,
                value: e.value,
                line: e.line,
            }),
        }
    }

    // Masters: every <if>PRIMARY (empty or not: the seed creates the master
    // anyway, an empty primary just sets none), plus names that the seed
    // would treat as masters (bridges "*br*", "bond*") once they carry an
    // address or a route.
    let looks_master = |n: &IfName| seed_is_bridge(n.as_str()) || n.as_str().starts_with("bond");
    let mut masters: Vec<IfName> = Vec::new();
    for v in &vars {
        let configured =
            v.suffix == Suffix::Primary || (!v.value.trim().is_empty() && looks_master(&v.iface));
        if configured && !masters.contains(&v.iface) {
            masters.push(v.iface.clone());
        }
    }
    for v in &vars {
        if masters.contains(&v.iface) || v.value.trim().is_empty() {
            continue;
        }
        let what = if v.suffix == Suffix::Addrs {
            "addresses"
        } else {
            "routes"
        };
        let name = &v.iface;
        bail!(
            "{shown}:{}: static {what} on slaves are not supported: {name} is not a bond \
             (only a bond declared with {name}PRIMARY=..., or named bond* or *br*, gets them)",
            v.line
        );
    }
    if masters.is_empty() {
        bail!("{shown}: no bond defined: set for example bond0PRIMARY='enp3s0'");
    }

    let mut bonds = Vec::new();
    for name in masters.iter().cloned() {
        let get = |s: Suffix| vars.iter().find(|v| v.iface == name && v.suffix == s);
        if let Err(e) = check_bond_name(name.as_str()) {
            let line = vars.iter().find(|v| v.iface == name).map_or(0, |v| v.line);
            bail!("{shown}:{line}: {e}");
        }
        let kind = if seed_is_bridge(name.as_str()) {
            Kind::Bridge
        } else {
            Kind::Bond
        };

        let mut slaves = Vec::new();
        let mut primary = None;
        if let Some(v) = get(Suffix::Primary).filter(|v| !v.value.trim().is_empty()) {
            let p = check_primary(v.value.trim())
                .map_err(|e| anyhow!("{shown}:{}: {}PRIMARY: {e}", v.line, name))?;
            if masters.contains(&p) {
                bail!(
                    "{shown}:{}: {name}PRIMARY: \"{p}\" is a bond, it cannot be a slave",
                    v.line
                );
            }
            slaves.push(SlaveRule {
                matcher: Match::Name(p.to_string()),
                supplicant: None,
            });
            // A bridge has no primary; the name still orders the rules.
            if kind == Kind::Bond {
                primary = Some(p);
            }
        }
        slaves.push(SlaveRule {
            matcher: Match::AnyPhysical,
            supplicant: None,
        });

        let mut addresses: Vec<IpNet> = Vec::new();
        if let Some(v) = get(Suffix::Addrs) {
            for word in v.value.split_whitespace() {
                let net = word
                    .parse::<IpNet>()
                    .and_then(|n| check_address(&n).map(|()| n))
                    .map_err(|e| anyhow!("{shown}:{}: {name}ADDRS: {e}", v.line))?;
                if !addresses.contains(&net) {
                    addresses.push(net);
                }
            }
        }
        let mut routes = Vec::new();
        if let Some(v) = get(Suffix::Routes) {
            routes = parse_route_list(&v.value)
                .map_err(|e| anyhow!("{shown}:{}: {name}ROUTES: {e}", v.line))?;
        }

        bonds.push(Bond {
            name,
            kind,
            primary,
            options: BondOptions::default(),
            addresses,
            routes,
            dhcp: Dhcp::default(),
            slaves,
            auto_supplicant: Some(Supplicant::seed_default()),
        });
    }
    Ok(Config {
        bonds,
        source: path.to_path_buf(),
    })
}

/// `"to 10.0.0.0/8 via 192.168.0.1" "default via 192.168.0.1"`: each route
/// double-quoted. A value without any double quote is taken as one route
/// (`bond0ROUTES='default via 192.168.0.1'` is what people write).
fn parse_route_list(value: &str) -> Result<Vec<Route>> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(Vec::new());
    }
    if !value.contains('"') {
        return Ok(vec![value.parse()?]);
    }
    let mut routes = Vec::new();
    let mut rest = value;
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            break;
        }
        let Some(inner) = rest.strip_prefix('"') else {
            let word = rest.split_whitespace().next().unwrap_or(rest);
            bail!("each route must be double-quoted, e.g. '\"default via 192.168.0.1\"' (found {word:?})");
        };
        let Some(end) = inner.find('"') else {
            bail!("unterminated double quote");
        };
        routes.push(inner[..end].parse()?);
        rest = &inner[end + 1..];
        if !rest.is_empty() && !rest.starts_with(char::is_whitespace) {
            bail!("routes must be separated by spaces");
        }
    }
    Ok(routes)
}

// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn toml(text: &str) -> Result<Config> {
        Config::from_toml_str(text, Path::new("t.toml"))
    }

    fn env(text: &str) -> Result<Config> {
        Config::from_env_str(text, Path::new("network.conf"))
    }

    fn toml_err(text: &str) -> String {
        match toml(text) {
            Ok(c) => panic!("accepted: {c:?}"),
            Err(e) => e.to_string(),
        }
    }

    fn env_err(text: &str) -> String {
        match env(text) {
            Ok(c) => panic!("accepted: {c:?}"),
            Err(e) => e.to_string(),
        }
    }

    fn dev(name: &str) -> DeviceFacts {
        DeviceFacts {
            name: name.into(),
            physical: true,
            ..DeviceFacts::default()
        }
    }

    fn n(s: &str) -> IfName {
        IfName::new(s).unwrap()
    }

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    /// The seed's /etc/conf.d/network.conf, verbatim.
    const SEED_NETWORK_CONF: &str = r#"# These Environment names are formed by prefixing the base variable name with the interface names.
# Remember, here, these are systemd.service Environment variables, not shell variables.
# Variables that are not set or that are set to the empty string will have no effect.
# Add a list of interface names here, in the form of a comment, for reference.
# wlp2s0 enp3s0 bond0

# PRIMARY is the name of the preferred network interface in the bonded group of interfaces.
bond0PRIMARY='enp3s0'

# ADDRS is a single-quoted space separated list of IPv4 and IPv6 addresses to apply to the interface.
# The ADDRESS must be followed by a slash and a decimal number which encodes the network prefix length.
# interfaceADDRS='address1/length address2/length ...'
bond0ADDRS='192.168.0.2/24'
wlp2s0ADDRS=
enp3s0ADDRS=

# ROUTES is a single-quoted space separated list of double-quoted ip-route ROUTE specifications.
# A PREFIX must be followed by a slash and a decimal number which encodes the network prefix length.
# Remember, to be able to add a route, the host must first be able to reach the gateway.
# interfaceROUTES='"to prefix1/length] via gateway1" "to prefix2/length via gateway2" ...'
bond0ROUTES=
"#;

    /// The format as given in the design brief, with everything set.
    const FULL_TOML: &str = r#"
[[bond]]
name = "bond0"
kind = "bond"
primary = "enp3s0"
addresses = ["192.168.0.2/24", "2001:db8::2/64"]
routes = ["default via 192.168.0.1", "10.0.0.0/8 via 192.168.0.254 metric 50"]
[bond.options]
miimon = 100
updelay = 200
downdelay = 0
primary_reselect = "better"
[bond.dhcp]
client = "dhclient"
client_id = "00:02:00:02:2e:2d:01:bd:c3:92:9a:44:2a:c4"
hostname = "laptop"
[[bond.slave]]
name = "enp*"
[[bond.slave]]
name = "wlp*"
supplicant = { config = "/etc/wpa_supplicant/wpa_supplicant.conf", driver = "nl80211" }
[[bond.slave]]
mac = "68:A3:C4:AC:63:D1"
[[bond.slave]]
bus = "usb"
[[bond.slave]]
any = true
"#;

    #[test]
    fn example_toml_parses() {
        let text = include_str!("../conf/hotbond.toml");
        let c = toml(text).unwrap();
        assert_eq!(c.bonds.len(), 1);
        let b = &c.bonds[0];
        assert_eq!(b.name, "bond0");
        assert_eq!(b.kind, Kind::Bond);
        assert_eq!(b.primary, Some(n("enp3s0")));
        assert_eq!(b.options, BondOptions::default());
        assert_eq!(b.dhcp.client_id, ClientId::Duid);
        assert_eq!(b.slaves.len(), 2);
        assert_eq!(b.slaves[0].matcher, Match::Name("enp*".into()));
        assert_eq!(b.slaves[0].supplicant, None);
        assert_eq!(b.slaves[1].matcher, Match::Name("wlp*".into()));
        assert_eq!(
            b.slaves[1].supplicant,
            Some(Supplicant {
                config: DEFAULT_SUPPLICANT_CONFIG.into(),
                driver: "nl80211".into()
            })
        );
        assert_eq!(b.auto_supplicant, None);
        // Every commented-out setting in the example is valid too.
        let uncommented: String = text
            .lines()
            .map(|l| l.strip_prefix("#: ").unwrap_or(l))
            .map(|l| format!("{l}\n"))
            .collect();
        assert!(uncommented.len() < text.len(), "example has no #: lines");
        let c = toml(&uncommented).unwrap();
        assert_eq!(c.bonds.len(), 2);
        assert_eq!(c.bonds[0].addresses, vec![net("192.168.0.2/24")]);
        assert_eq!(c.bonds[0].routes.len(), 2);
        assert_eq!(c.bonds[0].dhcp.hostname.as_deref(), Some("laptop"));
        assert!(c.bonds[0].auto_supplicant.is_some());
        assert_eq!(c.bonds[1].kind, Kind::Bridge);
    }

    #[test]
    fn full_toml_parses() {
        let c = toml(FULL_TOML).unwrap();
        assert_eq!(c.source, PathBuf::from("t.toml"));
        let b = c.bond("bond0").unwrap();
        assert_eq!(
            b.addresses,
            vec![net("192.168.0.2/24"), net("2001:db8::2/64")]
        );
        assert_eq!(
            b.routes,
            vec![
                Route {
                    to: None,
                    via: Some("192.168.0.1".parse().unwrap()),
                    metric: None
                },
                Route {
                    to: Some(net("10.0.0.0/8")),
                    via: Some("192.168.0.254".parse().unwrap()),
                    metric: Some(50)
                },
            ]
        );
        assert_eq!(
            b.options,
            BondOptions {
                miimon: 100,
                updelay: 200,
                downdelay: 0,
                primary_reselect: PrimaryReselect::Better
            }
        );
        assert_eq!(b.options.primary_reselect.kernel_value(), 1);
        assert_eq!(b.dhcp.client, DhcpClient::Dhclient);
        assert_eq!(
            b.dhcp.client_id,
            ClientId::Raw(vec![
                0x00, 0x02, 0x00, 0x02, 0x2e, 0x2d, 0x01, 0xbd, 0xc3, 0x92, 0x9a, 0x44, 0x2a, 0xc4
            ])
        );
        assert_eq!(b.dhcp.hostname.as_deref(), Some("laptop"));
        assert_eq!(
            b.slaves[2].matcher,
            Match::Mac([0x68, 0xa3, 0xc4, 0xac, 0x63, 0xd1])
        );
        assert_eq!(b.slaves[3].matcher, Match::Bus(Bus::Usb));
        assert_eq!(b.slaves[4].matcher, Match::AnyPhysical);
        assert!(c.bond("bond1").is_none());
    }

    #[test]
    fn defaults_when_sections_are_missing() {
        let c = toml("[[bond]]\nname = \"bond0\"\n[[bond.slave]]\nany = true\n").unwrap();
        let b = &c.bonds[0];
        assert_eq!(b.kind, Kind::Bond);
        assert_eq!(b.primary, None);
        assert_eq!(
            b.options,
            BondOptions {
                miimon: 100,
                updelay: 0,
                downdelay: 0,
                primary_reselect: PrimaryReselect::Always
            }
        );
        assert_eq!(b.dhcp, Dhcp::default());
        assert_eq!(b.dhcp.client, DhcpClient::Auto);
        assert_eq!(b.dhcp.client_id, ClientId::Duid);
        assert!(b.addresses.is_empty() && b.routes.is_empty());
    }

    /// Each invalid input, with the position (line:column) and message expected.
    #[test]
    fn invalid_toml_reports_line_and_column() {
        const B: &str = "[[bond]]\nname = \"bond0\"\n";
        const S: &str = "[[bond.slave]]\nname = \"enp*\"\n";
        let cases: Vec<(String, &str)> = vec![
            // Syntax and serde errors, positioned by toml itself.
            ("[[bond]\n".into(), "1:7: "),
            (format!("{B}foo = 1\n{S}"), "3:1: unknown field `foo`"),
            (format!("{B}{S}colour = \"red\"\n"), "5:1: unknown field `colour`"),
            (format!("{B}kind = \"brige\"\n{S}"), "3:8: unknown variant `brige`"),
            (format!("{B}{S}[bond.options]\nmiimon = -5\n"), "6:10: invalid value"),
            (format!("{B}{S}[bond.options]\nfail_over_mac = 1\n"), "6:1: unknown field `fail_over_mac`"),
            (format!("{B}{S}[bond.dhcp]\nclient = \"pump\"\n"), "6:10: unknown variant `pump`"),
            (format!("{B}[[bond.slave]]\nbus = \"isa\"\n"), "4:7: unknown variant `isa`"),
            ("[bond]\nname = \"bond0\"\n".into(), "1:1: invalid type: map, expected a sequence (write [[bond]]"),
            // Semantic errors, positioned with the spans we kept.
            ("".into(), "1:1: no [[bond]] defined"),
            ("# nothing\n".into(), "1:1: no [[bond]] defined"),
            (format!("\n[[bond]]\nkind = \"bond\"\n{S}"), "2:1: [[bond]] has no name"),
            ("[[bond]]\nname = \"bond 0\"\n".to_string() + S, "2:8: invalid interface name \"bond 0\": contains whitespace"),
            ("[[bond]]\nname = \"averyveryverylongname\"\n".to_string() + S, "2:8: invalid interface name \"averyveryverylongname\": is 21 bytes long"),
            ("[[bond]]\nname = \"a/b\"\n".to_string() + S, "2:8: invalid interface name \"a/b\": contains '/'"),
            ("[[bond]]\nname = \"bond*\"\n[[bond.slave]]\nname = \"enp1\"\n".into(), "2:8: invalid bond name"),
            (format!("{B}{S}[[bond]]\nname = \"bond0\"\n{S}"), "6:8: duplicate bond name \"bond0\" (first defined on line 2)"),
            (format!("{B}primary = \"enp 3\"\n{S}"), "3:11: invalid interface name \"enp 3\": contains whitespace"),
            (format!("{B}primary = \"enp*\"\n{S}"), "3:11: primary \"enp*\" must be an exact interface name"),
            (format!("{B}primary = \"wlp2s0\"\n{S}"), "3:11: primary \"wlp2s0\" matches none of the slave rules"),
            (format!("{B}primary = \"bond0\"\n{S}"), "3:11: primary of \"bond0\" is the bond itself"),
            (format!("{B}addresses = [\"192.168.0.2\"]\n{S}"), "3:14: invalid address \"192.168.0.2\": missing /PREFIXLEN"),
            (format!("{B}addresses = [\"192.168.0.2/33\"]\n{S}"), "3:14: invalid address \"192.168.0.2/33\": prefix length 33 is more than 32"),
            (format!("{B}addresses = [\"10.0.0.1/8\", \"2001:db8::1/129\"]\n{S}"), "3:28: invalid address \"2001:db8::1/129\": prefix length 129 is more than 128"),
            (format!("{B}addresses = [\"192.168.0.300/24\"]\n{S}"), "3:14: invalid address \"192.168.0.300/24\": \"192.168.0.300\" is not an IP address"),
            (format!("{B}addresses = [\"0.0.0.0/0\"]\n{S}"), "3:14: invalid address \"0.0.0.0/0\": not a unicast address"),
            (format!("{B}addresses = [\"10.0.0.1/8\", \"10.0.0.1/8\"]\n{S}"), "3:28: address 10.0.0.1/8 listed twice"),
            (format!("{B}routes = [\"default via\"]\n{S}"), "3:11: invalid route \"default via\": via needs a value"),
            (format!("{B}routes = [\"default via 192.168.0.1 dev eth0\"]\n{S}"), "3:11: invalid route \"default via 192.168.0.1 dev eth0\": unexpected \"dev\""),
            (format!("{B}routes = [\"10.0.0.1/8 via 192.168.0.1\"]\n{S}"), "3:11: invalid route \"10.0.0.1/8 via 192.168.0.1\": 10.0.0.1/8 has host bits set (did you mean 10.0.0.0/8?)"),
            (format!("{B}routes = [\"10.0.0.0/8 via 2001:db8::1\"]\n{S}"), "3:11: invalid route \"10.0.0.0/8 via 2001:db8::1\": gateway 2001:db8::1 is not of the same family"),
            (format!("{B}routes = [\"default metric x\"]\n{S}"), "3:11: invalid route \"default metric x\": metric \"x\" is not a number"),
            (format!("{B}routes = [\"\"]\n{S}"), "3:11: invalid route \"\": no destination"),
            (format!("{B}routes = [\"default via 10.0.0.1\", \"default via 10.0.0.2\"]\n{S}"), "3:35: a route to default is listed twice"),
            (format!("{B}kind = \"bridge\"\nprimary = \"enp3s0\"\n{S}"), "4:11: bridge \"bond0\": bridges have no primary"),
            (format!("{B}kind = \"bridge\"\n{S}[bond.options]\nmiimon = 100\n"), "6:1: bridge \"bond0\": bond options do not apply to a bridge"),
            (format!("{B}{S}[bond.options]\nmiimon = 0\n"), "6:10: miimon = 0 turns link monitoring off"),
            (format!("{B}{S}[bond.options]\nupdelay = 150\n"), "6:11: updelay = 150 is not a multiple of miimon (100)"),
            (format!("{B}{S}[bond.options]\nprimary_reselect = \"sometimes\"\n"), "6:20: unknown variant `sometimes`"),
            (format!("{B}{S}[bond.dhcp]\nhostname = \"my_laptop\"\n"), "6:12: invalid hostname \"my_laptop\": only letters, digits"),
            (format!("{B}{S}[bond.dhcp]\nhostname = \"-laptop\"\n"), "6:12: invalid hostname \"-laptop\": a label starts or ends with '-'"),
            (format!("{B}{S}[bond.dhcp]\nclient_id = \"00:zz\"\n"), "6:13: invalid client_id \"00:zz\""),
            (format!("{B}{S}[bond.dhcp]\nclient_id = \"01\"\n"), "6:13: invalid client_id \"01\": needs at least 2 bytes"),
            (format!("{B}\n[[bond.slave]]\n"), "4:1: [[bond.slave]] needs one of name, mac, bus or any = true"),
            (format!("{B}[[bond.slave]]\nname = \"enp*\"\nmac = \"00:11:22:33:44:55\"\n"), "5:7: [[bond.slave]] has name and mac: give exactly one matcher"),
            (format!("{B}[[bond.slave]]\nany = false\n"), "4:7: any = false matches nothing"),
            (format!("{B}[[bond.slave]]\nname = \"en p*\"\n"), "4:8: invalid interface pattern \"en p*\": contains whitespace"),
            (format!("{B}[[bond.slave]]\nname = \"enp[0-9\"\n"), "4:8: invalid interface pattern \"enp[0-9\": '[' is never closed"),
            (format!("{B}[[bond.slave]]\nname = \"1234567890123456\"\n"), "4:8: invalid interface name \"1234567890123456\": is 16 bytes long"),
            (format!("{B}[[bond.slave]]\nmac = \"00:11:22:33:44\"\n"), "4:7: invalid MAC address \"00:11:22:33:44\""),
            (format!("{B}[[bond.slave]]\nmac = \"01:00:5e:00:00:01\"\n"), "4:7: invalid MAC address \"01:00:5e:00:00:01\": a multicast address"),
            (format!("{B}[[bond.slave]]\nname = \"wlp*\"\nsupplicant = {{ config = \"wpa.conf\" }}\n"), "5:25: supplicant config \"wpa.conf\" must be an absolute path"),
            (format!("{B}[[bond.slave]]\nname = \"wlp*\"\nsupplicant = {{ driver = \"-x foo\" }}\n"), "5:25: invalid supplicant driver \"-x foo\""),
            (format!("{B}[[bond.slave]]\nname = \"wlp*\"\nsupplicant = {{ driver = \"wext\", config = \"driver.conf\" }}\n"), "5:42: supplicant config \"driver.conf\" must be an absolute path"),
            (format!("{B}[[bond.slave]]\nname = \"wlp*\"\nsupplicant = {{ conf = \"/x\" }}\n"), "5:16: unknown field `conf`"),
            (format!("{B}auto_supplicant = {{ config = \"rel\" }}\n{S}"), "3:30: supplicant config \"rel\" must be an absolute path"),
            (B.to_string(), "1:1: bond \"bond0\" has no [[bond.slave]] rule"),
            (format!("{B}[[bond.slave]]\nname = \"bond*\"\n"), "4:8: slave pattern \"bond*\" matches bond \"bond0\": an interface cannot be both a bond and a slave (use any = true"),
            (format!("{B}{S}[[bond]]\nname = \"bond1\"\n[[bond.slave]]\nname = \"bond0\"\n"), "8:8: slave pattern \"bond0\" matches bond \"bond0\""),
            (format!("{B}primary = \"bond1\"\n[[bond.slave]]\nname = \"bond1\"\n[[bond]]\nname = \"bond1\"\n{S}"), "5:8: slave pattern \"bond1\" matches bond \"bond1\""),
        ];
        for (text, want) in &cases {
            let got = toml_err(text);
            let want = format!("t.toml:{want}");
            assert!(
                got.starts_with(&want),
                "for\n{text}\nwant: {want}\ngot:  {got}"
            );
            assert!(!got.contains('\n'), "multi-line error: {got}");
        }
    }

    #[test]
    fn bridge_variant_toml() {
        let c = toml(
            "[[bond]]\nname = \"br0\"\nkind = \"bridge\"\naddresses = [\"10.1.0.1/24\"]\n\
             [bond.dhcp]\nclient = \"none\"\n[[bond.slave]]\nname = \"veth*\"\n",
        )
        .unwrap();
        let b = &c.bonds[0];
        assert!(b.is_bridge());
        assert_eq!(b.primary, None);
        assert_eq!(b.dhcp.client, DhcpClient::None);
        let veth = DeviceFacts {
            name: "veth1".into(),
            ..DeviceFacts::default()
        };
        // Name rules match virtual devices too (that is how tests use veth).
        let (bond, rule) = c.bond_for(&veth).unwrap();
        assert_eq!(bond.name, "br0");
        assert_eq!(rule.matcher, Match::Name("veth*".into()));
    }

    #[test]
    fn seed_network_conf_verbatim() {
        let c = env(SEED_NETWORK_CONF).unwrap();
        assert_eq!(c.source, PathBuf::from("network.conf"));
        assert_eq!(c.bonds.len(), 1);
        let b = &c.bonds[0];
        assert_eq!(
            *b,
            Bond {
                name: n("bond0"),
                kind: Kind::Bond,
                primary: Some(n("enp3s0")),
                options: BondOptions::default(),
                addresses: vec![net("192.168.0.2/24")],
                routes: vec![],
                dhcp: Dhcp::default(),
                slaves: vec![
                    SlaveRule {
                        matcher: Match::Name("enp3s0".into()),
                        supplicant: None
                    },
                    SlaveRule {
                        matcher: Match::AnyPhysical,
                        supplicant: None
                    },
                ],
                auto_supplicant: Some(Supplicant {
                    config: "/etc/wpa_supplicant/wpa_supplicant.conf".into(),
                    driver: "nl80211,wext,wired".into()
                }),
            }
        );
        // The seed's wireless card gets the seed's supplicant.
        let wlan = DeviceFacts {
            name: "wlp2s0".into(),
            physical: true,
            wireless: true,
            ..DeviceFacts::default()
        };
        let (bond, rule) = c.bond_for(&wlan).unwrap();
        assert_eq!(rule.matcher, Match::AnyPhysical);
        assert_eq!(
            bond.supplicant_for(&wlan),
            Some(&Supplicant::seed_default())
        );
        assert_eq!(
            c.bond_for(&dev("enp3s0")).unwrap().1.matcher,
            Match::Name("enp3s0".into())
        );
        assert_eq!(bond.supplicant_for(&dev("enp3s0")), None);
        assert!(c.bond_for(&dev("bond0")).is_none());
    }

    #[test]
    fn shipped_network_conf_is_the_seed() {
        let shipped = include_str!("../conf/network.conf");
        assert!(
            shipped.contains(SEED_NETWORK_CONF),
            "conf/network.conf must keep the seed's text verbatim"
        );
        assert_eq!(
            env(shipped).unwrap().bonds,
            env(SEED_NETWORK_CONF).unwrap().bonds
        );
    }

    #[test]
    fn env_routes_and_addresses() {
        let c = env(concat!(
            "bond0PRIMARY=enp3s0\n",
            "bond0ADDRS='192.168.0.2/24 2001:db8::2/64'\n",
            "bond0ROUTES='\"to 10.0.0.0/8 via 192.168.0.1\" \"default via 192.168.0.1 metric 10\"'\n",
        ))
        .unwrap();
        let b = &c.bonds[0];
        assert_eq!(
            b.addresses,
            vec![net("192.168.0.2/24"), net("2001:db8::2/64")]
        );
        assert_eq!(b.routes.len(), 2);
        assert_eq!(b.routes[0].to_string(), "10.0.0.0/8 via 192.168.0.1");
        assert_eq!(b.routes[1].to_string(), "default via 192.168.0.1 metric 10");
        // One unquoted route is accepted as is.
        let c = env("bond0PRIMARY=enp3s0\nbond0ROUTES='default via 192.168.0.1'\n").unwrap();
        assert_eq!(c.bonds[0].routes[0].to_string(), "default via 192.168.0.1");
    }

    #[test]
    fn env_bridge_variant() {
        // The seed makes a bridge of any master whose name contains "br";
        // a bridge has no primary, and needs no PRIMARY to exist.
        let c = env("br0ADDRS='10.1.0.1/24'\nveth0ADDRS=\n").unwrap();
        let b = c.bond("br0").unwrap();
        assert_eq!(b.kind, Kind::Bridge);
        assert_eq!(b.primary, None);
        assert_eq!(
            b.slaves,
            vec![SlaveRule {
                matcher: Match::AnyPhysical,
                supplicant: None
            }]
        );
        assert_eq!(b.addresses, vec![net("10.1.0.1/24")]);

        let c = env("br0PRIMARY='enp3s0'\n").unwrap();
        let b = &c.bonds[0];
        assert_eq!(b.kind, Kind::Bridge);
        assert_eq!(b.primary, None, "PRIMARY is unused for a bridge");
        assert_eq!(b.slaves[0].matcher, Match::Name("enp3s0".into()));
    }

    #[test]
    fn env_syntax_follows_systemd() {
        let text = concat!(
            "  # indented comment\n",
            "; semicolon comment\n",
            "OTHER=whatever \"unbalanced\n",
            "bond0PRIMARY = \"enp3s0\"  \n",
            "bond0ADDRS=192.168.0.2/24\\\n",
            " 10.0.0.2/8\n",
            "bond0ADDRS+=x\n",
            "bond1PRIMARY=eth1\n",
            "bond1PRIMARY='eth2'\n",
            "bond1ADDRS=\"10.9.0.1/16\"' 10.8.0.1/16'\n",
        );
        let entries = parse_env_entries(text, Path::new("f")).unwrap();
        let kv: Vec<(&str, &str, usize)> = entries
            .iter()
            .map(|e| (e.key.as_str(), e.value.as_str(), e.line))
            .collect();
        assert_eq!(
            kv,
            vec![
                ("OTHER", "whatever \"unbalanced", 3),
                ("bond0PRIMARY", "enp3s0", 4),
                ("bond0ADDRS", "192.168.0.2/24 10.0.0.2/8", 5),
                ("bond0ADDRS+", "x", 7),
                ("bond1PRIMARY", "eth1", 8),
                ("bond1PRIMARY", "eth2", 9),
                ("bond1ADDRS", "10.9.0.1/16 10.8.0.1/16", 10),
            ]
        );
        let c = env(text).unwrap();
        assert_eq!(c.bonds.len(), 2);
        assert_eq!(
            c.bonds[0].addresses,
            vec![net("192.168.0.2/24"), net("10.0.0.2/8")]
        );
        assert_eq!(
            c.bonds[1].primary,
            Some(n("eth2")),
            "the last assignment wins"
        );

        let e = parse_env_entries(
            "A=\"x \\\" \\$ \\n\"\nB='a\\b'\nC=a\\ b\\\\\n",
            Path::new("f"),
        )
        .unwrap();
        assert_eq!(e[0].value, "x \" $ \\n");
        assert_eq!(e[1].value, "a\\b");
        assert_eq!(e[2].value, "a b\\");
        // Multi-line single-quoted value, then the line count goes on right.
        let e = parse_env_entries("A='1\n2'\nB=3", Path::new("f")).unwrap();
        assert_eq!((e[0].value.as_str(), e[1].line), ("1\n2", 3));
    }

    #[test]
    fn invalid_env_reports_line() {
        let cases = [
            ("bond0PRIMARY=enp3s0\nenp3s0ADDRS='10.0.0.1/8'\n", "network.conf:2: static addresses on slaves are not supported: enp3s0 is not a bond"),
            ("bond0PRIMARY=enp3s0\n\nwlp2s0ROUTES='default via 10.0.0.1'\n", "network.conf:3: static routes on slaves are not supported"),
            ("bond0PRIMARY=enp3s0\nbond0ADDRS='192.168.0.2'\n", "network.conf:2: bond0ADDRS: invalid address \"192.168.0.2\": missing /PREFIXLEN"),
            ("bond0PRIMARY=enp3s0\nbond0ADDRS='192.168.0.2/40'\n", "network.conf:2: bond0ADDRS: invalid address \"192.168.0.2/40\": prefix length 40 is more than 32"),
            ("bond0PRIMARY='enp3s0 wlp2s0'\n", "network.conf:1: bond0PRIMARY: invalid interface name \"enp3s0 wlp2s0\": contains whitespace"),
            ("# c\nbond0PRIMARY='enp3s0\n", "network.conf:2: unterminated quote"),
            ("bond0PRIMARY=enp3s0\nbond0ROUTES='\"default via 10.0.0.1\" 10.1.0.0/16'\n", "network.conf:2: bond0ROUTES: each route must be double-quoted"),
            ("bond0PRIMARY=enp3s0\nbond0ROUTES='\"default via\"'\n", "network.conf:2: bond0ROUTES: invalid route \"default via\": via needs a value"),
            ("bond0PRIMARY=enp3s0\nbond0ROUTES='10.0.0.0/8 10.1.0.0/16'\n", "network.conf:2: bond0ROUTES: invalid route \"10.0.0.0/8 10.1.0.0/16\": unexpected"),
            ("averyveryverylongnamePRIMARY=enp3s0\n", "network.conf:1: variable \"averyveryverylongnamePRIMARY\": invalid interface name \"averyveryverylongname\": is 21 bytes long"),
            ("bond!PRIMARY=enp3s0\n", "network.conf:1: variable \"bond!PRIMARY\": \"bond!\" is not an interface name"),
            ("bond0PRIMARY=enp3s0\njunk line\n", "network.conf:2: expected KEY=VALUE, found \"junk line\""),
            ("bond0PRIMARY=bond1\nbond1PRIMARY=eth0\n", "network.conf:1: bond0PRIMARY: \"bond1\" is a bond"),
            ("bond0PRIMARY=br0\nbr0ADDRS=10.1.0.1/24\n", "network.conf:1: bond0PRIMARY: \"br0\" is a bond"),
            ("OTHER=1\n", "network.conf: no bond defined"),
            ("", "network.conf: no bond defined"),
        ];
        for (text, want) in cases {
            let got = env_err(text);
            assert!(
                got.starts_with(want),
                "for\n{text}\nwant: {want}\ngot:  {got}"
            );
        }
    }

    #[test]
    fn env_ignores_what_is_not_ours() {
        let c = env(
            "PATH=/bin\nPRIMARY=x\nbond0PRIMARY=enp3s0\nwlp2s0ADDRS=\nfooBAR=1\nbond0Addrs=junk\n",
        )
        .unwrap();
        assert_eq!(c.bonds.len(), 1);
        // An empty PRIMARY still declares the bond, with no primary.
        let c = env("bond0PRIMARY=\n").unwrap();
        assert_eq!(c.bonds[0].primary, None);
        assert_eq!(c.bonds[0].slaves.len(), 1);
    }

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
        let mac = [0x68, 0xa3, 0xc4, 0xac, 0x63, 0xd1];
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

    #[test]
    fn ipnet_and_route_values() {
        let a: IpNet = "2001:db8::1/64".parse().unwrap();
        assert_eq!(a.to_string(), "2001:db8::1/64");
        assert_eq!(a.network().to_string(), "2001:db8::/64");
        assert_eq!(
            net("192.168.0.2/24").network().to_string(),
            "192.168.0.0/24"
        );
        assert_eq!(net("192.168.0.2/0").network().to_string(), "0.0.0.0/0");
        assert_eq!(
            net("192.168.0.2/32").network().to_string(),
            "192.168.0.2/32"
        );
        assert!("1.2.3.4/+4".parse::<IpNet>().is_err());
        assert!("1.2.3.4/".parse::<IpNet>().is_err());

        let r: Route = "to 10.0.0.0/8 via 192.168.0.1 metric 5".parse().unwrap();
        assert_eq!(r.to_string(), "10.0.0.0/8 via 192.168.0.1 metric 5");
        let r: Route = "default via fe80::1".parse().unwrap();
        assert!(r.is_ipv6());
        let r: Route = "10.1.2.3".parse().unwrap();
        assert_eq!(r.to_string(), "10.1.2.3/32");
        let r: Route = "default".parse().unwrap();
        assert_eq!(
            r,
            Route {
                to: None,
                via: None,
                metric: None
            }
        );
        assert!("default via 1.1.1.1 via 2.2.2.2".parse::<Route>().is_err());
        assert!("default metric 1 metric 2".parse::<Route>().is_err());
        assert!("default via 0.0.0.0".parse::<Route>().is_err());
        assert!("to".parse::<Route>().is_err());
    }

    #[test]
    fn client_id_and_hostname() {
        assert_eq!("duid".parse::<ClientId>().unwrap(), ClientId::Duid);
        assert_eq!("mac".parse::<ClientId>().unwrap(), ClientId::Mac);
        let raw: ClientId = "1:2:0a".parse().unwrap();
        assert_eq!(raw, ClientId::Raw(vec![1, 2, 10]));
        assert_eq!(raw.to_string(), "01:02:0a");
        assert!("01::02".parse::<ClientId>().is_err());
        assert!("012:02".parse::<ClientId>().is_err());
        assert!(check_hostname("laptop.example.org").is_ok());
        assert!(check_hostname("a..b").is_err());
        assert!(check_hostname(&"a".repeat(64)).is_err());
        assert!(check_hostname("").is_err());
        assert_eq!(
            parse_mac("AA-bb-CC-dd-EE-0f").unwrap(),
            [0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0x0f]
        );
        assert!(parse_mac("00:00:00:00:00:00").is_err());
        assert!(parse_mac("aa:bb:cc:dd:ee:ff:00").is_err());
        assert_eq!(PrimaryReselect::Failure.kernel_value(), 2);
        assert_eq!(PrimaryReselect::Always.as_str(), "always");
    }

    #[test]
    fn json_shape() {
        let c = toml(FULL_TOML).unwrap();
        let v = serde_json::to_value(&c).unwrap();
        let b = &v["bonds"][0];
        assert_eq!(b["name"], "bond0");
        assert_eq!(b["kind"], "bond");
        assert_eq!(b["primary"], "enp3s0");
        assert_eq!(b["addresses"][0], "192.168.0.2/24");
        assert_eq!(b["routes"][1], "10.0.0.0/8 via 192.168.0.254 metric 50");
        assert_eq!(b["options"]["primary_reselect"], "better");
        assert_eq!(b["dhcp"]["client"], "dhclient");
        assert_eq!(
            b["dhcp"]["client_id"],
            "00:02:00:02:2e:2d:01:bd:c3:92:9a:44:2a:c4"
        );
        assert_eq!(b["slaves"][0]["matcher"]["name"], "enp*");
        assert_eq!(b["slaves"][2]["matcher"]["mac"], "68:a3:c4:ac:63:d1");
        assert_eq!(b["slaves"][3]["matcher"]["bus"], "usb");
        assert_eq!(b["slaves"][4]["matcher"]["any"], true);
        assert_eq!(b["slaves"][1]["supplicant"]["driver"], "nl80211");
        assert_eq!(v["source"], "t.toml");
    }

    // -- files ------------------------------------------------------------

    /// A fresh directory under the system temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new() -> TempDir {
            static N: AtomicUsize = AtomicUsize::new(0);
            let p = std::env::temp_dir().join(format!(
                "hotbond-config-test-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::create_dir_all(&p).unwrap();
            TempDir(p)
        }

        fn write(&self, name: &str, text: &str, mode: u32) -> PathBuf {
            use std::os::unix::fs::PermissionsExt;
            let p = self.0.join(name);
            std::fs::write(&p, text).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
            p
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    const MINI: &str = "[[bond]]\nname = \"bond7\"\n[[bond.slave]]\nany = true\n";

    #[test]
    fn refuses_writable_or_foreign_files() {
        let d = TempDir::new();
        let p = d.write("hotbond.toml", MINI, 0o666);
        let e = load_file(&p, None, false).unwrap_err().to_string();
        assert!(e.contains("refusing"), "{e}");
        assert!(e.starts_with(&p.display().to_string()), "{e}");
        // The test-only escape hatch lets it through.
        assert_eq!(load_file(&p, None, true).unwrap().bonds[0].name, "bond7");
        let p = d.write("group.toml", MINI, 0o620);
        assert!(load_file(&p, None, false)
            .unwrap_err()
            .to_string()
            .contains("refusing"));
        // A root-owned 0644 file is fine (only checkable when we are root).
        let p = d.write("ok.toml", MINI, 0o644);
        if nix::unistd::geteuid().is_root() {
            assert!(load_file(&p, None, false).is_ok());
        } else {
            let e = load_file(&p, None, false).unwrap_err().to_string();
            assert!(e.contains("owned by uid"), "{e}");
        }
        // Not a regular file.
        let e = load_file(&d.0, None, true).unwrap_err().to_string();
        assert!(e.contains("not a regular file"), "{e}");
    }

    #[test]
    fn load_path_picks_the_format() {
        let d = TempDir::new();
        let p = d.write("x.toml", MINI, 0o644);
        assert_eq!(load_file(&p, None, true).unwrap().bonds[0].name, "bond7");
        // TOML under another name is recognised by its [[bond]] header.
        let p = d.write("x.conf", &format!("# comment\n\n{MINI}"), 0o644);
        assert_eq!(load_file(&p, None, true).unwrap().bonds[0].name, "bond7");
        let p = d.write("network.conf", SEED_NETWORK_CONF, 0o644);
        let c = load_file(&p, None, true).unwrap();
        assert_eq!(c.bonds[0].name, "bond0");
        assert_eq!(c.source, p);
        // Errors name the real file.
        let p = d.write("bad.toml", "[[bond]]\nname = 1\n", 0o644);
        let e = load_file(&p, None, true).unwrap_err().to_string();
        assert_eq!(
            e,
            format!(
                "{}:2:8: invalid type: integer `1`, expected a string",
                p.display()
            )
        );
    }

    #[test]
    fn load_order() {
        let d = TempDir::new();
        let toml_path = d.0.join("hotbond.toml");
        let env_path = d.0.join("network.conf");
        let none = |_: &str| None;

        let e = load_with(&none, &toml_path, &env_path, true).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("no configuration: create {}", toml_path.display())
        );

        d.write("network.conf", SEED_NETWORK_CONF, 0o644);
        let c = load_with(&none, &toml_path, &env_path, true).unwrap();
        assert_eq!(c.source, env_path);

        let other_env = d.write("other.env", "bond3PRIMARY=eth0\n", 0o644);
        let vars = |k: &str| (k == ENV_FILE_VAR).then(|| other_env.clone().into_os_string());
        assert_eq!(
            load_with(&vars, &toml_path, &env_path, true).unwrap().bonds[0].name,
            "bond3"
        );

        d.write("hotbond.toml", MINI, 0o644);
        let c = load_with(&none, &toml_path, &env_path, true).unwrap();
        assert_eq!(c.source, toml_path);

        let explicit = d.write("explicit.toml", &MINI.replace("bond7", "bond9"), 0o644);
        let vars = |k: &str| (k == CONFIG_VAR).then(|| explicit.clone().into_os_string());
        assert_eq!(
            load_with(&vars, &toml_path, &env_path, true).unwrap().bonds[0].name,
            "bond9"
        );
        // HOTBOND_CONFIG naming a missing file is an error, not a fallback.
        let missing = d.0.join("missing.toml");
        let vars = |k: &str| (k == CONFIG_VAR).then(|| missing.clone().into_os_string());
        assert!(load_with(&vars, &toml_path, &env_path, true).is_err());
        // An empty variable counts as unset.
        let vars = |k: &str| (k == CONFIG_VAR).then(OsString::new);
        assert_eq!(
            load_with(&vars, &toml_path, &env_path, true)
                .unwrap()
                .source,
            toml_path
        );
    }
}
