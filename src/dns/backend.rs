//! Who owns name resolution on this host, decided from a few cheap facts.

use std::fs;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Where a bond's DNS goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// systemd-resolved runs: the servers and domains are set on the bond's link.
    Resolved,
    /// A `resolvconf` (Debian's or openresolv) merges per-interface fragments.
    Resolvconf,
    /// Nobody manages /etc/resolv.conf: hotbond writes it and puts the old one back.
    #[serde(rename = "file")]
    ResolvConfFile,
    /// /etc/resolv.conf is a link to something another program owns: hands off.
    Unmanaged,
}

impl Backend {
    pub fn as_str(&self) -> &'static str {
        match self {
            Backend::Resolved => "systemd-resolved",
            Backend::Resolvconf => "resolvconf",
            Backend::ResolvConfFile => "/etc/resolv.conf",
            Backend::Unmanaged => "unmanaged",
        }
    }
}

/// What /etc/resolv.conf is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResolvConf {
    Missing,
    Regular,
    /// resolved's stub file, Debian resolvconf's /run/resolvconf/resolv.conf,
    /// NetworkManager's: whoever made the link writes the target.
    Symlink,
    /// A directory or a device: not something to replace.
    Other,
}

/// The facts the choice rests on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Facts {
    /// Something accepts connections on resolved's Varlink socket.
    pub resolved_listening: bool,
    pub resolvectl: Option<PathBuf>,
    pub resolvconf: Option<PathBuf>,
    /// The `resolvconf` found is systemd's compatibility link to resolvectl, which only
    /// works while resolved runs.
    pub resolvconf_is_resolvectl: bool,
    pub resolv_conf: ResolvConf,
}

/// The first of resolved, resolvconf, the plain file that applies.
pub fn choose(f: &Facts) -> Backend {
    if f.resolved_listening && f.resolvectl.is_some() {
        return Backend::Resolved;
    }
    if f.resolvconf.is_some() && !f.resolvconf_is_resolvectl {
        return Backend::Resolvconf;
    }
    match f.resolv_conf {
        ResolvConf::Missing | ResolvConf::Regular => Backend::ResolvConfFile,
        ResolvConf::Symlink | ResolvConf::Other => Backend::Unmanaged,
    }
}

/// Is resolved running? One connect(2) to its Varlink socket (systemd 246 and later):
/// unlike the D-Bus name it needs no bus round trip, and unlike `/run/systemd/resolve/`
/// existing it is false once resolved stopped (the directory is preserved, the socket
/// refuses). With socket activation the connect starts resolved, which is then in use.
pub fn resolved_listening(socket: &Path) -> bool {
    UnixStream::connect(socket).is_ok()
}

pub fn resolv_conf_state(path: &Path) -> ResolvConf {
    match fs::symlink_metadata(path) {
        Err(_) => ResolvConf::Missing,
        Ok(m) if m.file_type().is_symlink() => ResolvConf::Symlink,
        Ok(m) if m.is_file() => ResolvConf::Regular,
        Ok(_) => ResolvConf::Other,
    }
}

/// systemd-resolved ships `resolvconf` as a link to `resolvectl`.
pub fn is_resolvectl(program: &Path) -> bool {
    fs::canonicalize(program)
        .ok()
        .and_then(|p| p.file_name().map(|n| n == "resolvectl"))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> Facts {
        Facts {
            resolved_listening: false,
            resolvectl: None,
            resolvconf: None,
            resolvconf_is_resolvectl: false,
            resolv_conf: ResolvConf::Regular,
        }
    }

    #[test]
    fn resolved_first_then_resolvconf_then_the_file() {
        let some = |p: &str| Some(PathBuf::from(p));
        let resolved = Facts {
            resolved_listening: true,
            resolvectl: some("/usr/bin/resolvectl"),
            resolvconf: some("/usr/sbin/resolvconf"),
            resolvconf_is_resolvectl: true,
            resolv_conf: ResolvConf::Symlink,
        };
        assert_eq!(choose(&resolved), Backend::Resolved);
        // Installed but stopped: its resolvconf link cannot work, and its stub link
        // is not ours to replace.
        let stopped = Facts {
            resolved_listening: false,
            ..resolved.clone()
        };
        assert_eq!(choose(&stopped), Backend::Unmanaged);
        // Running, but no resolvectl to talk to it with: the next one down.
        let no_ctl = Facts {
            resolvectl: None,
            resolvconf: some("/sbin/resolvconf"),
            resolvconf_is_resolvectl: false,
            ..resolved.clone()
        };
        assert_eq!(choose(&no_ctl), Backend::Resolvconf);

        let resolvconf = Facts {
            resolvconf: some("/sbin/resolvconf"),
            resolv_conf: ResolvConf::Symlink,
            ..facts()
        };
        assert_eq!(choose(&resolvconf), Backend::Resolvconf);

        assert_eq!(choose(&facts()), Backend::ResolvConfFile);
        let missing = Facts {
            resolv_conf: ResolvConf::Missing,
            ..facts()
        };
        assert_eq!(choose(&missing), Backend::ResolvConfFile);
        for state in [ResolvConf::Symlink, ResolvConf::Other] {
            let f = Facts {
                resolv_conf: state,
                ..facts()
            };
            assert_eq!(choose(&f), Backend::Unmanaged, "{state:?}");
        }
    }

    #[test]
    fn the_facts_are_read_from_the_file_system() {
        let dir = std::env::temp_dir().join(format!("hotbond-dns-facts-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let sock = dir.join("io.systemd.Resolve");
        assert!(!resolved_listening(&sock));
        let listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        assert!(resolved_listening(&sock));
        drop(listener);
        assert!(
            !resolved_listening(&sock),
            "a stale socket file is no resolved"
        );

        let conf = dir.join("resolv.conf");
        assert_eq!(resolv_conf_state(&conf), ResolvConf::Missing);
        fs::write(&conf, "nameserver 192.0.2.1\n").unwrap();
        assert_eq!(resolv_conf_state(&conf), ResolvConf::Regular);
        let link = dir.join("link");
        std::os::unix::fs::symlink(&conf, &link).unwrap();
        assert_eq!(resolv_conf_state(&link), ResolvConf::Symlink);
        assert_eq!(resolv_conf_state(&dir), ResolvConf::Other);

        let ctl = dir.join("resolvectl");
        fs::write(&ctl, "").unwrap();
        let compat = dir.join("resolvconf");
        std::os::unix::fs::symlink("resolvectl", &compat).unwrap();
        assert!(is_resolvectl(&compat));
        assert!(!is_resolvectl(&conf));
        fs::remove_dir_all(&dir).unwrap();
    }
}
