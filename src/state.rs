//! hotbond's records under /run/hotbond: what the settle job decided, and what the DHCP
//! client was started with. Written atomically (rename), read by `hotbond status`.

use std::fs;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Result;
use serde::{de::DeserializeOwned, Deserialize, Serialize};

use crate::dhcp::builtin::State;
use crate::process::Identity;
use crate::{paths, statefs};

/// The settle job's last word on a bond: `/run/hotbond/BOND.json`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BondRecord {
    pub bond: String,
    /// The active slave is up (authorised, for Wi-Fi), the bond carries its MAC, and nothing
    /// changed for the debounce window.
    pub settled: bool,
    pub active_slave: Option<String>,
    pub mac: Option<String>,
    /// Why it is (not) settled, in words.
    pub reason: String,
    /// What the settle job did with the DHCP client: "started", "reacquired", "kept", "none",
    /// or "waiting" (not settled; `reason` says why).
    pub dhcp_action: String,
    /// Milliseconds from the last link change that made the bond ready to the DHCP action.
    pub settle_overhead_ms: Option<u64>,
    pub updated_unix_ms: u64,
}

/// A slave the bond's job set down because it passed no traffic after a resume:
/// `/run/hotbond/aside/IFACE.json`, until the hotplug path brings it back (a replug,
/// `hotbond replay IFACE`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AsideRecord {
    pub bond: String,
    pub slave: String,
    /// The line the job logged.
    pub reason: String,
    pub since_unix_ms: u64,
}

/// What the DHCP client on a bond was started with: `/run/hotbond/dhcp/BOND.json`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DhcpRecord {
    pub client: String,
    /// The bond's MAC when the client started (or last re-read it).
    pub mac: String,
    pub pid: Option<i32>,
    /// The client's start time (field 22 of /proc/PID/stat) and executable, recorded when
    /// the job started it: with the pid, they name that one process (see
    /// [`process::Identity`]). A record without them names no process hotbond will signal.
    #[serde(default)]
    pub start_time: Option<u64>,
    #[serde(default)]
    pub exe: Option<PathBuf>,
    pub updated_unix_ms: u64,
    /// The built-in client's state and lease (the external clients keep theirs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub builtin: Option<BuiltinRecord>,
}

/// Where the built-in client stands, for `hotbond status`; times in ms since the epoch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuiltinRecord {
    pub state: State,
    /// The address configured from the lease, with its prefix length.
    pub address: Option<String>,
    pub server: Option<Ipv4Addr>,
    /// The bond's MAC the lease was granted to.
    pub lease_mac: Option<String>,
    pub expires_unix_ms: Option<u64>,
    pub renew_unix_ms: Option<u64>,
    pub rebind_unix_ms: Option<u64>,
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Readable by all: `hotbond status` shows it to any user.
fn write_json<T: Serialize>(path: &Path, v: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(v)?;
    statefs::write_file(path, (text + "\n").as_bytes(), 0o644)
}

fn read_json<T: DeserializeOwned>(path: &Path) -> Option<T> {
    let text = statefs::read_to_string(path)?;
    serde_json::from_str(&text).ok()
}

pub fn dhcp_path(bond: &str) -> std::path::PathBuf {
    paths::dhcp_state(bond)
}

/// The bond's record; a file of another bond or of an older layout (`a.dhcp.json` was bond
/// `a`'s DHCP record) is not taken for it.
pub fn read_bond(bond: &str) -> Option<BondRecord> {
    read_json::<BondRecord>(&paths::bond_state(bond)).filter(|r| r.bond == bond)
}

pub fn write_bond(r: &BondRecord) -> Result<()> {
    write_json(&paths::bond_state(&r.bond), r)
}

pub fn read_dhcp(bond: &str) -> Option<DhcpRecord> {
    read_json(&dhcp_path(bond))
}

impl DhcpRecord {
    /// The process the record names, if it names one completely.
    pub fn identity(&self) -> Option<Identity> {
        Some(Identity {
            pid: self.pid.filter(|p| *p > 0)?,
            start_time: self.start_time?,
            exe: self.exe.clone()?,
        })
    }

    /// The client's pid while the very process the job started still runs (same pid, start
    /// time and executable): only that one may be signalled. A recycled pid, or a record
    /// naming any other process, gives None. Costs three /proc reads, no `systemctl`.
    pub fn live_pid(&self) -> Option<i32> {
        self.identity().filter(Identity::alive).map(|i| i.pid)
    }

    /// The same, for `hotbond status` run by a user who cannot read a root process's
    /// executable: never for signalling.
    pub fn seems_live_pid(&self) -> Option<i32> {
        self.identity().filter(Identity::seems_alive).map(|i| i.pid)
    }
}

pub fn write_dhcp(bond: &str, r: &DhcpRecord) -> Result<()> {
    write_json(&dhcp_path(bond), r)
}

pub fn clear_bond(bond: &str) {
    let _ = fs::remove_file(paths::bond_state(bond));
    let _ = fs::remove_file(dhcp_path(bond));
}

/// Records which bond a slave was enslaved to (the `remove` event can no longer ask).
pub fn record_slave(iface: &str, bond: &str) -> Result<()> {
    statefs::write_file(&paths::slave_record(iface), bond.as_bytes(), 0o600)
}

pub fn recorded_bond(iface: &str) -> Option<String> {
    statefs::read_to_string(&paths::slave_record(iface))
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

pub fn forget_slave(iface: &str) {
    let _ = fs::remove_file(paths::slave_record(iface));
}

pub fn write_aside(r: &AsideRecord) -> Result<()> {
    write_json(&paths::aside_record(&r.slave), r)
}

pub fn read_aside(iface: &str) -> Option<AsideRecord> {
    read_json::<AsideRecord>(&paths::aside_record(iface)).filter(|r| r.slave == iface)
}

/// The slave is back in service (or gone): what set it aside no longer holds.
pub fn clear_aside(iface: &str) {
    let _ = fs::remove_file(paths::aside_record(iface));
}
