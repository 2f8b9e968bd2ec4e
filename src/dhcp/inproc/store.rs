//! The built-in client's lease file, `/var/lib/hotbond/BOND.lease`: the lease a job held,
//! so that the next job (after a restart, a reboot, the bond made again) asks for the same
//! address in one round trip (INIT-REBOOT). The lease's times are kept on the wall clock:
//! the boot-time clock starts again at every boot.

use std::fs;
use std::net::Ipv4Addr;
use std::time::Duration;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::dhcp::builtin::{boot_time, BootTime, Lease, Route};
use crate::state::now_ms;
use crate::{paths, statefs};

#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Stored {
    address: Ipv4Addr,
    prefix_len: u8,
    server: Ipv4Addr,
    routes: Vec<(Ipv4Addr, u8, Ipv4Addr)>,
    dns: Vec<Ipv4Addr>,
    domain: Option<String>,
    search: Vec<String>,
    mtu: Option<u16>,
    /// When the server granted it, in ms since the epoch.
    acquired_unix_ms: u64,
    lease_secs: u64,
    t1_secs: u64,
    t2_secs: u64,
}

/// Converts a wall-clock point to the boot-time clock: `(boot now, wall now)` anchor the
/// two. A point before this boot cannot be put on the clock (it starts at 0): the lease's
/// durations are shortened instead, so that its expiry, T1 and T2 stay where they were.
fn to_lease(s: Stored, boot_now: BootTime, wall_now_ms: u64) -> Lease {
    let age = Duration::from_millis(wall_now_ms.saturating_sub(s.acquired_unix_ms));
    let (acquired, cut) = match boot_now.0.checked_sub(age) {
        Some(a) => (BootTime(a), Duration::ZERO),
        None => (BootTime(Duration::ZERO), age - boot_now.0),
    };
    let secs = |n: u64| Duration::from_secs(n).saturating_sub(cut);
    Lease {
        address: s.address,
        prefix_len: s.prefix_len,
        server: s.server,
        routes: s
            .routes
            .into_iter()
            .map(|(dest, prefix_len, gateway)| Route {
                dest,
                prefix_len,
                gateway,
            })
            .collect(),
        dns: s.dns,
        domain: s.domain,
        search: s.search,
        mtu: s.mtu,
        acquired,
        lease_time: secs(s.lease_secs),
        t1: secs(s.t1_secs),
        t2: secs(s.t2_secs),
    }
}

fn to_stored(l: &Lease, boot_now: BootTime, wall_now_ms: u64) -> Stored {
    let age = boot_now.since(l.acquired).as_millis() as u64;
    Stored {
        address: l.address,
        prefix_len: l.prefix_len,
        server: l.server,
        routes: l
            .routes
            .iter()
            .map(|r| (r.dest, r.prefix_len, r.gateway))
            .collect(),
        dns: l.dns.clone(),
        domain: l.domain.clone(),
        search: l.search.clone(),
        mtu: l.mtu,
        acquired_unix_ms: wall_now_ms.saturating_sub(age),
        lease_secs: l.lease_time.as_secs(),
        t1_secs: l.t1.as_secs(),
        t2_secs: l.t2.as_secs(),
    }
}

/// The lease the bond's last job stored, if it has not expired. A missing file is no
/// news; an unreadable or expired one is ignored with a log line (DISCOVER then).
pub fn load(bond: &str) -> Option<Lease> {
    let p = paths::lease_file(bond);
    if fs::symlink_metadata(&p).is_err() {
        return None;
    }
    // Not a regular file, or in a directory another user could write: not ours to trust.
    let Some(text) = statefs::read_to_string(&p) else {
        crate::warn!("{bond}: ignoring {}: cannot be read safely", p.display());
        return None;
    };
    let stored: Stored = match serde_json::from_str(&text) {
        Ok(s) => s,
        Err(e) => {
            crate::warn!("{bond}: ignoring {}: {e}", p.display());
            return None;
        }
    };
    let now = boot_time();
    let lease = to_lease(stored, now, now_ms());
    if !lease.is_infinite() && lease.expires() <= now {
        crate::info!("{bond}: the stored lease of {} has expired", lease.address);
        return None;
    }
    Some(lease)
}

/// Stores the lease: root only (it names the host's address and servers), written to a
/// new file and renamed over the old (see [`statefs::write_file`]).
pub fn save(bond: &str, lease: &Lease) -> Result<()> {
    let p = paths::lease_file(bond);
    let text = serde_json::to_string_pretty(&to_stored(lease, boot_time(), now_ms()))?;
    statefs::write_file(&p, (text + "\n").as_bytes(), 0o600)
}

/// Removes the stored lease (released, or refused by the server).
pub fn forget(bond: &str) {
    let p = paths::lease_file(bond);
    if let Err(e) = fs::remove_file(&p) {
        if e.kind() != std::io::ErrorKind::NotFound {
            crate::warn!("{bond}: cannot remove {}: {e}", p.display());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(acquired: BootTime) -> Lease {
        Lease {
            address: Ipv4Addr::new(192, 0, 2, 10),
            prefix_len: 24,
            server: Ipv4Addr::new(192, 0, 2, 1),
            routes: vec![Route {
                dest: Ipv4Addr::UNSPECIFIED,
                prefix_len: 0,
                gateway: Ipv4Addr::new(192, 0, 2, 1),
            }],
            dns: vec![Ipv4Addr::new(192, 0, 2, 53)],
            domain: Some("lan".into()),
            search: vec![],
            mtu: None,
            acquired,
            lease_time: Duration::from_secs(3600),
            t1: Duration::from_secs(1800),
            t2: Duration::from_secs(3150),
        }
    }

    #[test]
    fn a_lease_comes_back_on_the_same_clock() {
        let boot = BootTime(Duration::from_secs(5000));
        let l = lease(BootTime(Duration::from_secs(4000)));
        let s = to_stored(&l, boot, 1_000_000_000);
        assert_eq!(s.acquired_unix_ms, 1_000_000_000 - 1_000_000);
        let back = to_lease(s, boot, 1_000_000_000);
        assert_eq!(back, l);
    }

    #[test]
    fn after_a_reboot_the_expiry_stays_where_it_was() {
        // Acquired 1000 s ago on the wall clock; this boot is 100 s old.
        let wall = 2_000_000_000;
        let s = to_stored(&lease(BootTime(Duration::ZERO)), BootTime::default(), wall);
        let back = to_lease(s, BootTime(Duration::from_secs(100)), wall + 1_000_000);
        assert_eq!(back.expires(), BootTime(Duration::from_secs(100 + 2600)));
        assert_eq!(back.renew_at(), BootTime(Duration::from_secs(100 + 800)));
        // Long expired: nothing left.
        let s = to_stored(&lease(BootTime(Duration::ZERO)), BootTime::default(), wall);
        let back = to_lease(s, BootTime(Duration::from_secs(100)), wall + 9_000_000);
        assert_eq!(back.lease_time, Duration::ZERO);
    }
}
