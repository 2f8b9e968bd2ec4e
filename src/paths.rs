//! Where hotbond keeps its runtime state. Overridable so tests can run side by side.

use std::path::PathBuf;

/// Runtime state (locks, per-bond JSON, pid files): `/run/hotbond`, or `HOTBOND_RUN_DIR`.
pub fn run_dir() -> PathBuf {
    std::env::var_os("HOTBOND_RUN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/run/hotbond"))
}

/// State that should survive a reboot (DHCP lease files): `/var/lib/hotbond`, or `HOTBOND_STATE_DIR`.
pub fn state_dir() -> PathBuf {
    std::env::var_os("HOTBOND_STATE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/lib/hotbond"))
}

/// The administrator's event hooks (see [`crate::dispatch`]): `/etc/hotbond/hooks.d`, or
/// `HOTBOND_HOOKS_DIR`.
pub fn hooks_dir() -> PathBuf {
    std::env::var_os("HOTBOND_HOOKS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/etc/hotbond/hooks.d"))
}

/// The settle job's record of a bond: `/run/hotbond/BOND.json`.
pub fn bond_state(bond: &str) -> PathBuf {
    run_dir().join(format!("{bond}.json"))
}

/// What a bond's DHCP client was started with: `/run/hotbond/dhcp/BOND.json`. A directory
/// of its own, as every kind of record has (or a suffix no other kind ends in): Linux allows
/// '.' in names, so `BOND.dhcp.json` was also the record of a bond named `BOND.dhcp`.
pub fn dhcp_state(bond: &str) -> PathBuf {
    run_dir().join("dhcp").join(format!("{bond}.json"))
}

/// The built-in DHCP client's lease of a bond: `/var/lib/hotbond/BOND.lease`.
pub fn lease_file(bond: &str) -> PathBuf {
    state_dir().join(format!("{bond}.lease"))
}

/// Which bond an interface was enslaved to, so `remove` (device gone, facts gone) still knows.
pub fn slave_record(iface: &str) -> PathBuf {
    run_dir().join("slaves").join(iface)
}

/// Why the bond's job set a slave aside (down) after a resume: `/run/hotbond/aside/IFACE.json`.
pub fn aside_record(iface: &str) -> PathBuf {
    run_dir().join("aside").join(format!("{iface}.json"))
}

/// Where installed binaries live: next to the running executable, so units and hooks
/// refer to the same install.
pub fn bin(name: &str) -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join(name)))
        .filter(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from(format!("/usr/local/bin/{name}")))
}

/// Makes sure one of hotbond's directories exists and may be trusted: see
/// [`crate::statefs::ensure_dir`].
pub fn ensure_dir(p: &std::path::Path) -> anyhow::Result<()> {
    crate::statefs::ensure_dir(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_two_records_share_a_file() {
        // Names that end like another kind's suffix, or are its directory's name.
        let names = [
            "a",
            "a.dhcp",
            "a.json",
            "a.lock",
            "dhcp",
            "slaves",
            "jobs",
            "bond0",
            "bond0.dhcp",
        ];
        let mut seen = std::collections::HashMap::new();
        for n in names {
            for (kind, p) in [
                ("bond", bond_state(n)),
                ("dhcp", dhcp_state(n)),
                ("slave", slave_record(n)),
            ] {
                let before = seen.insert(p.clone(), (kind, n));
                assert!(before.is_none(), "{p:?}: {before:?} and {:?}", (kind, n));
                // Nor is one record's file the directory of another kind.
                assert!(
                    !seen
                        .keys()
                        .any(|q| q != &p && (q.starts_with(&p) || p.starts_with(q))),
                    "{p:?} nests with another record"
                );
            }
        }
    }
}
