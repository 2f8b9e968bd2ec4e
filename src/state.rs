//! hotbond's records under /run/hotbond: what the settle job decided, and what the DHCP
//! client was started with. Written atomically (rename), read by `hotbond status`.

use std::fs;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Result;
use serde::{de::DeserializeOwned, Deserialize, Serialize};

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

/// What the DHCP client on a bond was started with: `/run/hotbond/dhcp/BOND.json`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DhcpRecord {
    pub client: String,
    /// The bond's MAC when the client started (or last re-read it).
    pub mac: String,
    pub pid: Option<i32>,
    pub updated_unix_ms: u64,
    /// The built-in client's state and lease (the external clients keep theirs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub builtin: Option<BuiltinRecord>,
}

/// Where the built-in client stands, for `hotbond status`; times in ms since the epoch.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuiltinRecord {
    /// RFC 2131's name of the state: "BOUND", "RENEWING", "REBOOTING", ...
    pub state: String,
    /// The address configured from the lease, with its prefix length.
    pub address: Option<String>,
    pub server: Option<String>,
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
    /// The client's pid while that process still runs the recorded client for `bond` (the
    /// settle job records its child's pid); asking costs two /proc reads, no `systemctl`.
    pub fn live_pid(&self, bond: &str) -> Option<i32> {
        let pid = self.pid.filter(|p| *p > 0)?;
        let comm = fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
        let comm = comm.trim();
        // busybox applets show as "busybox" or as the applet's name; the built-in client
        // runs in the bond's job.
        let ok = comm == self.client
            || (self.client == "udhcpc" && comm == "busybox")
            || (self.client == "builtin" && comm == "hotbond-settle");
        // A recycled pid could be another bond's client: its command line names the bond
        // (as an argument; dhcpcd rewrites its title to "dhcpcd: bond0 [ip4]").
        let cmdline = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        let for_bond = cmdline
            .split(|b| *b == 0 || *b == b' ')
            .any(|a| a == bond.as_bytes());
        (ok && for_bond).then_some(pid)
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
