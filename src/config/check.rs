//! Checks of configuration values that both front ends share. Each returns
//! the message without a position: the front end knows where the value was.

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::{anyhow, bail, Result};

use crate::net::{excerpt, ifname, IfName, IpNet};

/// RFC 1123 host name: dot-separated labels of letters, digits and '-',
/// 1..=63 each, not starting or ending with '-', 253 in all.
pub(super) fn check_hostname(h: &str) -> Result<()> {
    let bad = |why: &str| anyhow!("invalid hostname {}: {why}", excerpt(h));
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
pub(super) fn check_address(a: &IpNet) -> Result<()> {
    if a.addr.is_unspecified() || a.addr.is_multicast() {
        bail!("invalid address \"{a}\": not a unicast address");
    }
    Ok(())
}

/// Bond names are created, not matched: no pattern characters, and no '%'
/// (the kernel would treat "bond%d" as a template and pick a number).
pub(super) fn check_bond_name(name: &str) -> Result<IfName> {
    let n = IfName::new(name)?;
    if ifname::is_glob(name) || name.contains('%') {
        bail!(
            "invalid bond name {}: '*', '?', '[' and '%' are not allowed",
            excerpt(name)
        );
    }
    Ok(n)
}

/// The primary is one exact interface name.
pub(super) fn check_primary(name: &str) -> Result<IfName> {
    let n = IfName::new(name)?;
    if ifname::is_glob(name) {
        bail!(
            "primary {} must be an exact interface name, not a pattern",
            excerpt(name)
        );
    }
    Ok(n)
}

pub(super) fn check_supplicant_config(config: &str) -> Result<PathBuf> {
    if !config.starts_with('/') {
        bail!(
            "supplicant config {} must be an absolute path",
            excerpt(config)
        );
    }
    if config.contains('\0') {
        bail!("supplicant config {} contains a NUL byte", excerpt(config));
    }
    Ok(PathBuf::from(config))
}

/// It becomes part of wpa_supplicant's `-D` argument: driver names only.
pub(super) fn check_supplicant_driver(driver: &str) -> Result<String> {
    if driver.is_empty()
        || driver.len() > 64
        || !driver
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b',')
    {
        bail!(
            "invalid supplicant driver {}: expected names like \"nl80211\" or \"nl80211,wext\"",
            excerpt(driver)
        );
    }
    Ok(driver.to_owned())
}

/// The bond names of a configuration, indexed so that checking every slave
/// pattern and primary against them stays O(n log n) for thousands of bonds.
#[derive(Default)]
pub(super) struct BondNames {
    /// Each name and the index of the bond that defines it.
    index: HashMap<String, usize>,
    /// (name, index) sorted by name, and the same with reversed names: the
    /// candidates for a glob are those sharing its literal prefix or suffix.
    by_prefix: Vec<(String, usize)>,
    by_suffix: Vec<(String, usize)>,
    /// Whether the two lists are sorted since the last insert.
    sorted: bool,
    /// Results for globs already checked: configurations repeat them.
    memo: HashMap<String, Option<usize>>,
}

impl BondNames {
    /// Records bond `i`'s name; if it is taken, the index that took it.
    pub(super) fn insert(&mut self, name: &str, i: usize) -> Option<usize> {
        if let Some(&first) = self.index.get(name) {
            return Some(first);
        }
        self.index.insert(name.to_owned(), i);
        let rev = |s: &str| s.chars().rev().collect::<String>();
        self.by_prefix.push((name.to_owned(), i));
        self.by_suffix.push((rev(name), i));
        self.sorted = false;
        self.memo.clear();
        None
    }

    pub(super) fn contains(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }

    /// The first bond (in file order) whose name a slave name rule matches.
    pub(super) fn first_match(&mut self, pattern: &str) -> Option<usize> {
        if !ifname::is_glob(pattern) {
            return self.index.get(pattern).copied();
        }
        if let Some(&found) = self.memo.get(pattern) {
            return found;
        }
        if !self.sorted {
            self.by_prefix.sort_unstable();
            self.by_suffix.sort_unstable();
            self.sorted = true;
        }
        let prefix = literal_prefix(pattern);
        let suffix: String = literal_suffix(pattern).chars().rev().collect();
        let by_prefix = starting_with(&self.by_prefix, &prefix);
        let by_suffix = starting_with(&self.by_suffix, &suffix);
        let found = if by_prefix.len() <= by_suffix.len() {
            by_prefix
                .iter()
                .filter(|(n, _)| ifname::glob_match(pattern, n))
                .map(|&(_, i)| i)
                .min()
        } else {
            by_suffix
                .iter()
                .filter(|(rev, _)| {
                    ifname::glob_match(pattern, &rev.chars().rev().collect::<String>())
                })
                .map(|&(_, i)| i)
                .min()
        };
        self.memo.insert(pattern.to_owned(), found);
        found
    }
}

/// The entries of a sorted list whose key starts with `prefix`.
fn starting_with<'a>(sorted: &'a [(String, usize)], prefix: &str) -> &'a [(String, usize)] {
    let start = sorted.partition_point(|(n, _)| n.as_str() < prefix);
    let len = sorted[start..].partition_point(|(n, _)| n.starts_with(prefix));
    &sorted[start..start + len]
}

const GLOB_SPECIAL: [char; 5] = ['*', '?', '[', ']', '\\'];

/// The characters every name a glob matches starts with.
fn literal_prefix(pattern: &str) -> String {
    pattern
        .chars()
        .take_while(|c| !GLOB_SPECIAL.contains(c))
        .collect()
}

/// The characters every name a glob matches ends with: what follows the
/// last special character is outside any class and matched literally.
fn literal_suffix(pattern: &str) -> &str {
    match pattern.rfind(GLOB_SPECIAL) {
        Some(i) => &pattern[i + 1..],
        None => pattern,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bond_names_find_what_a_pattern_matches() {
        let mut names = BondNames::default();
        for (i, n) in ["bond0", "br-lan", "bond1", "wan0"].iter().enumerate() {
            assert_eq!(names.insert(n, i), None);
        }
        assert_eq!(names.insert("bond1", 9), Some(2));
        assert!(names.contains("wan0") && !names.contains("wan"));
        // File order decides between several matches.
        assert_eq!(names.first_match("bond*"), Some(0));
        assert_eq!(names.first_match("*1"), Some(2));
        assert_eq!(names.first_match("b?nd[1-9]"), Some(2));
        assert_eq!(names.first_match("*-*"), Some(1));
        assert_eq!(names.first_match("*\\*"), None);
        assert_eq!(names.first_match("[w]an0"), Some(3));
        assert_eq!(names.first_match("x*"), None);
        assert_eq!(names.first_match("wan0"), Some(3));
        assert_eq!(names.first_match("bond"), None);
        assert_eq!(literal_prefix("en[p]*s0"), "en");
        assert_eq!(literal_suffix("*[0-9]s0"), "s0");
        assert_eq!(literal_suffix("a\\*"), "");
    }

    #[test]
    fn hostnames() {
        assert!(check_hostname("laptop.example.org").is_ok());
        assert!(check_hostname("a..b").is_err());
        assert!(check_hostname(&"a".repeat(64)).is_err());
        assert!(check_hostname("").is_err());
    }
}
