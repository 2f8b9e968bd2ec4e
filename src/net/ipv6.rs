//! IPv6 addressing of a master. With `fail_over_mac=active` the master's MAC follows the
//! active slave, so the kernel's default EUI-64 identifiers would add another address at
//! every failover. RFC 7217 stable-privacy identifiers hash a secret and the prefix instead
//! (a bond has no permanent MAC to mix in), so the address stays the same whichever slave
//! is active.

use std::fmt;
use std::net::Ipv6Addr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::IfName;

/// How a master's IPv6 addresses are made (`ipv6` in hotbond.toml).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Ipv6Mode {
    /// Stable-privacy identifiers from a secret of this bond: one address per prefix across
    /// failover, the same after the bond is made again.
    #[default]
    Stable,
    /// The kernel's defaults, untouched (EUI-64 from the current MAC).
    Kernel,
    /// No IPv6 on the master (`disable_ipv6=1`).
    Off,
}

impl Ipv6Mode {
    pub fn as_str(&self) -> &'static str {
        match self {
            Ipv6Mode::Stable => "stable",
            Ipv6Mode::Kernel => "kernel",
            Ipv6Mode::Off => "off",
        }
    }
}

impl fmt::Display for Ipv6Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// The kernel's per-device `stable_secret`: 128 bits, written as an IPv6 address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StableSecret(Ipv6Addr);

impl StableSecret {
    /// The secret of `bond` on the machine with `machine_id` (`/etc/machine-id`).
    ///
    /// A hash, so that neither the machine id (which must stay confidential) nor one bond's
    /// secret can be recovered from another's; SHA-256 rather than std's hasher because the
    /// value must not change with the compiler that built hotbond (the address would).
    pub fn derive(machine_id: &str, bond: &IfName) -> StableSecret {
        let mut h = Sha256::new();
        h.update(b"hotbond ipv6 stable_secret v1\0");
        h.update(machine_id.trim().as_bytes());
        h.update(b"\0");
        h.update(bond.as_str().as_bytes());
        let digest = h.finalize();
        let mut b = [0u8; 16];
        b.copy_from_slice(&digest[..16]);
        StableSecret(Ipv6Addr::from(b))
    }
}

impl fmt::Display for StableSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0123456789abcdef0123456789abcdef";

    fn secret(id: &str, bond: &str) -> StableSecret {
        StableSecret::derive(id, &IfName::new(bond).unwrap())
    }

    #[test]
    fn secret_is_stable_for_one_bond_on_one_machine() {
        assert_eq!(secret(ID, "bond0"), secret(ID, "bond0"));
        // /etc/machine-id ends with a newline.
        assert_eq!(secret(&format!("{ID}\n"), "bond0"), secret(ID, "bond0"));
        // Pinned: a change here changes every user's IPv6 address.
        assert_eq!(
            secret(ID, "bond0").to_string(),
            "230c:174:aacc:34d4:135e:d5b6:c6a9:5f84"
        );
    }

    #[test]
    fn secrets_differ_between_bonds_and_machines() {
        assert_ne!(secret(ID, "bond0"), secret(ID, "bond1"));
        assert_ne!(secret(ID, "bond0"), secret(&ID.replace('0', "1"), "bond0"));
        // The separator keeps ("ab", "c") and ("a", "bc") apart.
        assert_ne!(secret("ab", "cbond"), secret("abc", "bond"));
    }

    #[test]
    fn secret_reads_as_the_kernel_wants_it() {
        let s = secret(ID, "bond0").to_string();
        assert!(s.parse::<Ipv6Addr>().is_ok(), "{s}");
        assert!(!s.contains(ID), "{s}");
    }
}
