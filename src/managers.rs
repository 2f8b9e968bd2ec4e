//! Other network managers on hotbond's interfaces: NetworkManager, systemd-networkd and
//! ifupdown. Two managers on one interface undo each other's work (one flushes the
//! addresses the other set, or takes the NIC out of the bond), so `hotbond check` and
//! `hotbond status` warn about each overlap. A warning, not an error: the user may have
//! made that manager leave the interface alone in a way this does not see.
//!
//! The parsing and matching are pure and tested; [`gather`] reads the files and asks
//! nmcli, under a root directory so tests can give it a fake one.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::net::ifname::glob_match;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Manager {
    NetworkManager,
    Networkd,
    Ifupdown,
}

impl Manager {
    pub fn as_str(&self) -> &'static str {
        match self {
            Manager::NetworkManager => "NetworkManager",
            Manager::Networkd => "systemd-networkd",
            Manager::Ifupdown => "ifupdown",
        }
    }
}

/// One interface hotbond is configured to manage that another manager manages too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overlap {
    pub manager: Manager,
    pub iface: String,
    /// Where that manager says so: nmcli's state, or the file and its line.
    pub evidence: String,
}

impl fmt::Display for Overlap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} also manages {} ({}); make it leave {} alone, or hotbond and it will undo each other's work",
            self.manager.as_str(),
            self.iface,
            self.evidence,
            self.iface
        )
    }
}

/// A `.network` file's `[Match] Name=`: glob patterns, or with a leading `!` every name
/// but those.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NameMatch {
    pub patterns: Vec<String>,
    pub negated: bool,
}

impl NameMatch {
    pub fn matches(&self, iface: &str) -> bool {
        let any = self.patterns.iter().any(|p| glob_match(p, iface));
        any != self.negated
    }
}

/// What the other managers say, gathered once.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// Devices NetworkManager manages (not "unmanaged"), with their state; None when
    /// NetworkManager does not run (or nmcli is missing).
    pub nm: Option<Vec<(String, String)>>,
    /// The `.network` files that apply, with their Name= match; None when networkd does
    /// not run.
    pub networkd: Option<Vec<(PathBuf, NameMatch)>>,
    /// Each ifupdown file with the interfaces it declares with `iface`.
    pub ifupdown: Vec<(PathBuf, Vec<String>)>,
}

/// The devices in `nmcli -t -f DEVICE,STATE device` output that NetworkManager manages.
pub fn nm_managed(nmcli: &str) -> Vec<(String, String)> {
    nmcli
        .lines()
        .filter_map(|l| {
            // Terse mode escapes ':' in values as "\:"; a device name has none.
            let (dev, state) = l.rsplit_once(':')?;
            let state = state.trim();
            let managed = !state.is_empty() && !state.starts_with("unmanaged");
            managed.then(|| (dev.replace("\\:", ":"), state.to_string()))
        })
        .collect()
}

/// The `[Match] Name=` of a `.network` file, or None when it has none or says
/// `Unmanaged=yes` in `[Link]`. An empty `Name=` resets the list, as systemd does.
pub fn networkd_name_match(text: &str) -> Option<NameMatch> {
    let mut section = String::new();
    let mut m: Option<NameMatch> = None;
    for line in text.lines().map(str::trim) {
        if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
            continue;
        }
        if line.starts_with('[') && line.ends_with(']') {
            section = line[1..line.len() - 1].trim().to_string();
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        match (section.as_str(), key) {
            ("Match", "Name") if value.is_empty() => m = None,
            ("Match", "Name") => {
                let (negated, list) = match value.strip_prefix('!') {
                    Some(rest) => (true, rest),
                    None => (false, value),
                };
                let e = m.get_or_insert_with(NameMatch::default);
                e.negated = negated;
                e.patterns.extend(list.split_whitespace().map(String::from));
            }
            ("Link", "Unmanaged") if is_true(value) => return None,
            _ => {}
        }
    }
    m
}

fn is_true(v: &str) -> bool {
    matches!(v.to_ascii_lowercase().as_str(), "yes" | "true" | "on" | "1")
}

/// The interfaces an ifupdown file declares: `iface NAME ...` stanzas.
pub fn ifupdown_ifaces(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            (w.next() == Some("iface")).then(|| w.next().map(String::from))?
        })
        .collect()
}

/// Every overlap between `ifaces` (what hotbond is configured to manage) and `facts`.
pub fn overlaps(ifaces: &[String], facts: &Facts) -> Vec<Overlap> {
    let mut out = Vec::new();
    for iface in ifaces {
        let found = |manager, evidence: String| Overlap {
            manager,
            iface: iface.clone(),
            evidence,
        };
        if let Some(nm) = &facts.nm {
            if let Some((_, state)) = nm.iter().find(|(d, _)| d == iface) {
                out.push(found(Manager::NetworkManager, format!("nmcli: {state}")));
            }
        }
        // networkd applies the first matching file in lexical order of file names.
        if let Some(files) = &facts.networkd {
            if let Some((path, m)) = files.iter().find(|(_, m)| m.matches(iface)) {
                let names = m.patterns.join(" ");
                let bang = if m.negated { "!" } else { "" };
                out.push(found(
                    Manager::Networkd,
                    format!("{}: Name={bang}{names}", path.display()),
                ));
            }
        }
        for (path, declared) in &facts.ifupdown {
            if declared.iter().any(|d| d == iface) {
                let e = format!("{}: iface {iface}", path.display());
                out.push(found(Manager::Ifupdown, e));
            }
        }
    }
    out
}

/// The other managers' view of this machine; `root` is "/" outside tests.
pub fn gather(root: &Path) -> Facts {
    Facts {
        nm: nm_devices(),
        networkd: process_running(root, "systemd-network").then(|| networkd_files(root)),
        ifupdown: ifupdown_files(root),
    }
}

/// nmcli's device list, or None when nmcli is missing or NetworkManager does not answer.
fn nm_devices() -> Option<Vec<(String, String)>> {
    let out = Command::new("nmcli")
        .args(["-t", "-f", "DEVICE,STATE", "device"])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| nm_managed(&String::from_utf8_lossy(&out.stdout)))
}

/// Whether a process whose comm is `comm` runs (comm is cut to 15 bytes by the kernel:
/// systemd-networkd is "systemd-network").
fn process_running(root: &Path, comm: &str) -> bool {
    let Ok(dir) = std::fs::read_dir(root.join("proc")) else {
        return false;
    };
    dir.flatten()
        .any(|e| std::fs::read_to_string(e.path().join("comm")).is_ok_and(|c| c.trim_end() == comm))
}

/// The `.network` files networkd uses, in its order: a name in /etc hides the same name in
/// /run and /usr/lib, and /run hides /usr/lib; then sorted by file name.
fn networkd_files(root: &Path) -> Vec<(PathBuf, NameMatch)> {
    let mut by_name = std::collections::BTreeMap::new();
    for dir in ["etc", "run", "usr/lib", "lib"] {
        let dir = root.join(dir).join("systemd/network");
        for path in files_in(&dir) {
            let is_network = path.extension().is_some_and(|e| e == "network");
            if let (true, Some(name)) = (is_network, path.file_name()) {
                by_name.entry(name.to_os_string()).or_insert(path);
            }
        }
    }
    by_name
        .into_values()
        .filter_map(|p| {
            let text = std::fs::read_to_string(&p).ok()?;
            networkd_name_match(&text).map(|m| (p, m))
        })
        .collect()
}

fn ifupdown_files(root: &Path) -> Vec<(PathBuf, Vec<String>)> {
    let main = root.join("etc/network/interfaces");
    let mut paths = vec![main.clone()];
    paths.extend(files_in(&main.with_extension("d")));
    paths
        .into_iter()
        .filter_map(|p| {
            let text = std::fs::read_to_string(&p).ok()?;
            Some((p, ifupdown_ifaces(&text)))
        })
        .filter(|(_, v)| !v.is_empty())
        .collect()
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn nmcli_devices_other_than_unmanaged_are_managed() {
        let out = "enp3s0:connected\nwlp2s0:disconnected\nbond0:unmanaged\nlo:connected (externally)\nveth0:unavailable\n";
        let m = nm_managed(out);
        let devs: Vec<&str> = m.iter().map(|(d, _)| d.as_str()).collect();
        assert_eq!(devs, ["enp3s0", "wlp2s0", "lo", "veth0"]);
        assert_eq!(m[0].1, "connected");
    }

    #[test]
    fn networkd_match_names() {
        let m = networkd_name_match("[Match]\nName=enp* wlan0\n\n[Network]\nDHCP=yes\n").unwrap();
        assert!(m.matches("enp3s0") && m.matches("wlan0"));
        assert!(!m.matches("wlan1"));
        // Negated: every name but these.
        let m = networkd_name_match("[Match]\nName=!lo bond*\n").unwrap();
        assert!(m.matches("enp3s0"));
        assert!(!m.matches("bond0"));
        // Name= lines accumulate; an empty one resets.
        let m = networkd_name_match("[Match]\nName=eth0\nName=eth1\n").unwrap();
        assert!(m.matches("eth0") && m.matches("eth1"));
        assert_eq!(networkd_name_match("[Match]\nName=eth0\nName=\n"), None);
        // Name= outside [Match] is not a match; no [Match] Name= at all matches nothing here.
        assert_eq!(networkd_name_match("[Network]\nName=eth0\n"), None);
        assert_eq!(networkd_name_match("[Match]\nType=ether\n"), None);
        // Told to leave it alone.
        let unmanaged = "[Match]\nName=enp*\n[Link]\nUnmanaged=yes\n";
        assert_eq!(networkd_name_match(unmanaged), None);
        // Comments are not settings.
        assert_eq!(networkd_name_match("[Match]\n#Name=eth0\n"), None);
    }

    #[test]
    fn ifupdown_declarations() {
        let text = "auto lo\niface lo inet loopback\n# iface enp9s0 inet dhcp\nallow-hotplug enp3s0\n  iface enp3s0 inet dhcp\niface enp3s0 inet6 auto\n";
        assert_eq!(ifupdown_ifaces(text), ["lo", "enp3s0", "enp3s0"]);
        assert!(ifupdown_ifaces("source /etc/network/interfaces.d/*\n").is_empty());
    }

    #[test]
    fn overlaps_name_the_manager_and_where() {
        let facts = Facts {
            nm: Some(vec![("enp3s0".into(), "connected".into())]),
            networkd: Some(vec![
                (
                    "/etc/systemd/network/10-lo.network".into(),
                    NameMatch {
                        patterns: names(&["lo"]),
                        negated: false,
                    },
                ),
                (
                    "/etc/systemd/network/20-w.network".into(),
                    NameMatch {
                        patterns: names(&["wl*"]),
                        negated: false,
                    },
                ),
            ]),
            ifupdown: vec![("/etc/network/interfaces".into(), names(&["lo", "enp3s0"]))],
        };
        let o = overlaps(&names(&["enp3s0", "wlp2s0", "bond0"]), &facts);
        let got: Vec<(Manager, &str)> = o.iter().map(|o| (o.manager, o.iface.as_str())).collect();
        assert_eq!(
            got,
            [
                (Manager::NetworkManager, "enp3s0"),
                (Manager::Ifupdown, "enp3s0"),
                (Manager::Networkd, "wlp2s0"),
            ]
        );
        let line = o[2].to_string();
        assert!(
            line.starts_with("systemd-networkd also manages wlp2s0"),
            "{line}"
        );
        assert!(line.contains("20-w.network: Name=wl*"), "{line}");
        // Nothing running, nothing declared: no overlap.
        assert!(overlaps(&names(&["enp3s0"]), &Facts::default()).is_empty());
    }

    #[test]
    fn gather_reads_a_root() {
        let root = std::env::temp_dir().join(format!("hotbond-managers-{}", std::process::id()));
        let w = |p: &str, t: &str| {
            let p = root.join(p);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, t).unwrap();
        };
        w("proc/42/comm", "systemd-network\n");
        w("etc/systemd/network/20-w.network", "[Match]\nName=wlp*\n");
        // Hidden by /etc's file of the same name.
        w(
            "usr/lib/systemd/network/20-w.network",
            "[Match]\nName=enp*\n",
        );
        w("run/systemd/network/30-e.network", "[Match]\nName=eth*\n");
        w("etc/network/interfaces", "iface lo inet loopback\n");
        w("etc/network/interfaces.d/enp", "iface enp3s0 inet dhcp\n");
        let f = gather(&root);
        let nd = f.networkd.as_ref().unwrap();
        assert_eq!(nd.len(), 2, "{nd:?}");
        assert!(nd[0].1.matches("wlp2s0") && !nd[0].1.matches("enp3s0"));
        assert!(nd[1].1.matches("eth0"));
        assert_eq!(f.ifupdown.len(), 2);
        let o = overlaps(&names(&["enp3s0", "wlp2s0"]), &f);
        assert!(o
            .iter()
            .any(|o| o.manager == Manager::Ifupdown && o.iface == "enp3s0"));
        assert!(o
            .iter()
            .any(|o| o.manager == Manager::Networkd && o.iface == "wlp2s0"));
        // networkd not running: its files do not count.
        std::fs::remove_dir_all(root.join("proc")).unwrap();
        assert!(gather(&root).networkd.is_none());
        std::fs::remove_dir_all(&root).unwrap();
    }
}
