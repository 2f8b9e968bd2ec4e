//! Ethernet (MAC) addresses.

use std::fmt;
use std::str::FromStr;

use anyhow::{anyhow, bail, Result};
use serde::{Serialize, Serializer};

/// A 48-bit hardware address. Shown and serialised as lowercase
/// colon-separated hex ("68:a3:c4:ac:63:d1"), the form `ip link` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Mac(pub [u8; 6]);

impl Mac {
    /// From a netlink IFLA_ADDRESS: None unless it is 6 bytes long.
    pub fn from_slice(b: &[u8]) -> Option<Mac> {
        b.try_into().ok().map(Mac)
    }
}

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&super::hex(&self.0, ":"))
    }
}

/// "aa:bb:cc:dd:ee:ff" (or with '-'), any case. All-zero and multicast
/// addresses are refused: no NIC has them, so they are typos.
impl FromStr for Mac {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> Result<Mac> {
        let bad = || {
            anyhow!(
                "invalid MAC address {}: expected six hex bytes like \"aa:bb:cc:dd:ee:ff\"",
                super::excerpt(s)
            )
        };
        let sep = if s.contains('-') { '-' } else { ':' };
        let mut mac = [0u8; 6];
        let mut parts = s.split(sep);
        for byte in mac.iter_mut() {
            let part = parts.next().ok_or_else(bad)?;
            // from_str_radix would also take a sign ("+1").
            if part.len() != 2 || !part.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(bad());
            }
            *byte = u8::from_str_radix(part, 16).map_err(|_| bad())?;
        }
        if parts.next().is_some() {
            return Err(bad());
        }
        if mac == [0; 6] {
            bail!("invalid MAC address {}: all zero", super::excerpt(s));
        }
        if mac[0] & 1 != 0 {
            bail!(
                "invalid MAC address {}: a multicast address, no NIC has it",
                super::excerpt(s)
            );
        }
        Ok(Mac(mac))
    }
}

impl Serialize for Mac {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_mac(s: &str) -> Result<[u8; 6]> {
        s.parse::<Mac>().map(|m| m.0)
    }

    #[test]
    fn parse_and_show() {
        assert_eq!(
            parse_mac("AA-bb-CC-dd-EE-0f").unwrap(),
            [0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0x0f]
        );
        assert!(parse_mac("00:00:00:00:00:00").is_err());
        assert!(parse_mac("aa:bb:cc:dd:ee:ff:00").is_err());
        // A sign is no hex digit (found by fuzzing).
        assert!(parse_mac("02:+1:00:00:00:01").is_err());
        let m = Mac([0x68, 0xa3, 0xc4, 0xac, 0x63, 0x01]);
        assert_eq!(m.to_string(), "68:a3:c4:ac:63:01");
        assert_eq!(m.to_string().parse::<Mac>().unwrap(), m);
        assert_eq!(serde_json::to_string(&m).unwrap(), r#""68:a3:c4:ac:63:01""#);
        assert_eq!(Mac::from_slice(&[1, 2, 3]), None);
    }
}
