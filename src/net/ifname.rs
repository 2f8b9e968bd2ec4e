//! Linux network interface names, validated once at the edge so the rest of
//! the crate can pass them to netlink, sysfs paths and unit names without
//! re-checking, plus the small glob matcher used by slave rules.

use std::borrow::Borrow;
use std::fmt;
use std::str::FromStr;

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

/// IFNAMSIZ is 16 in the kernel, including the terminating NUL.
pub const MAX_LEN: usize = 15;

/// A valid Linux interface name (what `dev_valid_name()` in the kernel
/// accepts, minus the NUL byte the kernel cannot see anyway).
///
/// It is used as a path component under /sys/class/net and in systemd unit
/// names, which is why '/' and "." / ".." must never get through.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IfName(String);

impl IfName {
    /// Validates `name`; the error says which rule it breaks.
    pub fn new(name: &str) -> Result<IfName> {
        if let Some(why) = name_problem(name) {
            bail!("invalid interface name {}: {why}", super::excerpt(name));
        }
        Ok(IfName(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How many characters of an untrusted name `shown` keeps.
pub const SHOWN_MAX_CHARS: usize = 64;

/// An untrusted name (from udev, wpa_cli, a command line) made safe for one log line:
/// quoted, `"` and `\` escaped, control characters as `\xNN` (or `\u{N}`), and cut to
/// [`SHOWN_MAX_CHARS`] characters followed by `...`, so neither a newline nor a huge
/// name can forge or flood log lines.
pub fn shown(name: &str) -> String {
    shown_at_most(name, SHOWN_MAX_CHARS)
}

/// [`shown`], cut to `max` characters.
pub fn shown_at_most(name: &str, max: usize) -> String {
    use fmt::Write as _;
    let mut out = String::from("\"");
    for (i, c) in name.chars().enumerate() {
        if i == max {
            out.push_str("...");
            break;
        }
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() && (c as u32) < 0x100 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Why `name` is not a valid interface name, or None if it is.
fn name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("is empty".into());
    }
    if name.len() > MAX_LEN {
        return Some(format!(
            "is {} bytes long, the limit is {MAX_LEN}",
            name.len()
        ));
    }
    if name == "." || name == ".." {
        return Some("is reserved".into());
    }
    // Programs hotbond runs (dhclient, wpa_cli, ip) would take such a name for an option.
    if name.starts_with('-') {
        return Some("starts with '-'".into());
    }
    chars_problem(name)
}

/// Characters the kernel refuses in a name ('/' and ':' would break sysfs
/// paths and alias syntax), plus control characters, which no tool can show.
fn chars_problem(s: &str) -> Option<String> {
    for c in s.chars() {
        if c == '/' {
            return Some("contains '/'".into());
        }
        if c == ':' {
            return Some("contains ':'".into());
        }
        if c.is_whitespace() {
            return Some("contains whitespace".into());
        }
        if c == '\0' {
            return Some("contains a NUL byte".into());
        }
        if c.is_control() {
            return Some("contains a control character".into());
        }
    }
    None
}

impl fmt::Display for IfName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for IfName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

// Lets maps keyed by IfName be queried with a plain &str.
impl Borrow<str> for IfName {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for IfName {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for IfName {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl FromStr for IfName {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> Result<IfName> {
        IfName::new(s)
    }
}

impl TryFrom<String> for IfName {
    type Error = anyhow::Error;

    fn try_from(s: String) -> Result<IfName> {
        if let Some(why) = name_problem(&s) {
            bail!("invalid interface name {}: {why}", super::excerpt(&s));
        }
        Ok(IfName(s))
    }
}

impl From<IfName> for String {
    fn from(n: IfName) -> String {
        n.0
    }
}

/// True if `s` contains a glob metacharacter (`*`, `?` or `[`), i.e. it is
/// meant as a pattern rather than an exact name.
pub fn is_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Checks a slave-rule pattern: a plain name must be a valid interface
/// name; a glob may be longer than a name (a class like `[0-9]` is 5 chars
/// for 1) but must not contain characters no name can have, and every `[`
/// must be closed (fnmatch would silently take it literally, which is
/// never what a user meant).
pub fn validate_pattern(pattern: &str) -> Result<()> {
    if !is_glob(pattern) {
        IfName::new(pattern)?;
        return Ok(());
    }
    if let Some(why) = chars_problem(pattern) {
        bail!(
            "invalid interface pattern {}: {why}",
            super::excerpt(pattern)
        );
    }
    let p: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            '\\' => i += 2,
            '[' => match class_end(&p, i) {
                Some(end) => i = end,
                None => bail!(
                    "invalid interface pattern {}: '[' is never closed",
                    super::excerpt(pattern)
                ),
            },
            _ => i += 1,
        }
    }
    Ok(())
}

/// fnmatch(3)-like matching without path semantics: `*` matches any run of
/// characters (also empty), `?` exactly one, `[abc]`, `[a-z]`, `[!x]` /
/// `[^x]` one character from (or not from) a class, a `]` first in a class
/// is literal, `\` escapes the next character, and an unclosed `[` is a
/// literal `[`.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni) = (0usize, 0usize);
    // Where to resume after the last `*`: (pattern index after it, name index
    // it currently swallows up to). Classic linear backtracking: only the
    // last star ever needs to be retried.
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if p.get(pi) == Some(&'*') {
            pi += 1;
            star = Some((pi, ni));
            continue;
        }
        if let Some(next) = match_one(&p, pi, n[ni]) {
            pi = next;
            ni += 1;
            continue;
        }
        match star {
            Some((sp, sn)) => {
                pi = sp;
                ni = sn + 1;
                star = Some((sp, sn + 1));
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// If the single-character token at `p[pi]` matches `c`, the index after it.
fn match_one(p: &[char], pi: usize, c: char) -> Option<usize> {
    match *p.get(pi)? {
        '?' => Some(pi + 1),
        '[' => match class_end(p, pi) {
            Some(end) => class_matches(p, pi, c).then_some(end),
            None => (c == '[').then_some(pi + 1),
        },
        // A trailing backslash has nothing to escape: it is literal.
        '\\' if pi + 1 < p.len() => (p[pi + 1] == c).then_some(pi + 2),
        lit => (lit == c).then_some(pi + 1),
    }
}

/// Index just after the `]` closing the class that opens at `p[start]`.
fn class_end(p: &[char], start: usize) -> Option<usize> {
    let mut i = start + 1;
    if matches!(p.get(i), Some('!') | Some('^')) {
        i += 1;
    }
    // A `]` right after the opening (and negation) is a member, not the end.
    if p.get(i) == Some(&']') {
        i += 1;
    }
    while i < p.len() {
        match p[i] {
            ']' => return Some(i + 1),
            '\\' => i += 2,
            _ => i += 1,
        }
    }
    None
}

/// Whether `c` is in the (terminated) class opening at `p[start]`.
fn class_matches(p: &[char], start: usize, c: char) -> bool {
    let mut i = start + 1;
    let negate = matches!(p.get(i), Some('!') | Some('^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    // Reads one possibly escaped member character.
    let read = |i: &mut usize| -> Option<char> {
        let mut ch = *p.get(*i)?;
        if ch == '\\' {
            *i += 1;
            ch = *p.get(*i)?;
        }
        *i += 1;
        Some(ch)
    };
    while i < p.len() {
        if p[i] == ']' && !first {
            break;
        }
        first = false;
        let Some(lo) = read(&mut i) else { break };
        let is_range = p.get(i) == Some(&'-') && p.get(i + 1).is_some_and(|&h| h != ']');
        if is_range {
            i += 1;
            let Some(hi) = read(&mut i) else { break };
            if lo <= c && c <= hi {
                matched = true;
            }
        } else if lo == c {
            matched = true;
        }
    }
    matched != negate
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(name: &str) -> String {
        IfName::new(name).unwrap_err().to_string()
    }

    #[test]
    fn valid_names() {
        for n in [
            "eth0",
            "enp3s0",
            "wlp2s0",
            "bond0",
            "br-lan",
            "bond0.10",
            "a",
            "123456789012345",
        ] {
            let name = IfName::new(n).unwrap();
            assert_eq!(name.as_str(), n);
            assert_eq!(name.to_string(), n);
            assert_eq!(name.as_ref(), n);
            assert_eq!(n.parse::<IfName>().unwrap(), name);
        }
    }

    #[test]
    fn invalid_names_say_why() {
        assert_eq!(
            err("x y"),
            r#"invalid interface name "x y": contains whitespace"#
        );
        assert_eq!(err(""), r#"invalid interface name "": is empty"#);
        assert_eq!(
            err("1234567890123456"),
            r#"invalid interface name "1234567890123456": is 16 bytes long, the limit is 15"#
        );
        assert_eq!(err("."), r#"invalid interface name ".": is reserved"#);
        // dhclient would read a bond named "-r" as its release flag.
        assert_eq!(err("-r"), r#"invalid interface name "-r": starts with '-'"#);
        assert!(err("-").contains("starts with '-'"));
        assert_eq!(err(".."), r#"invalid interface name "..": is reserved"#);
        assert_eq!(err("a/b"), r#"invalid interface name "a/b": contains '/'"#);
        assert_eq!(
            err("eth0:1"),
            r#"invalid interface name "eth0:1": contains ':'"#
        );
        assert_eq!(
            err("a\tb"),
            r#"invalid interface name "a\x09b": contains whitespace"#
        );
        assert_eq!(
            err("a\0b"),
            r#"invalid interface name "a\x00b": contains a NUL byte"#
        );
        assert_eq!(
            err("a\x07b"),
            r#"invalid interface name "a\x07b": contains a control character"#
        );
        // The limit is in bytes, as in the kernel, not in characters.
        assert!(err("ééééééééé").contains("18 bytes long"));
    }

    #[test]
    fn shown_names_stay_on_one_short_line() {
        assert_eq!(shown("eth0"), r#""eth0""#);
        assert_eq!(shown("a\nhotbond: x"), r#""a\x0ahotbond: x""#);
        assert_eq!(shown("q\"\\\x7f"), r#""q\"\\\x7f""#);
        assert_eq!(shown("a\u{2028}\u{9b}"), "\"a\u{2028}\\x9b\"");
        let long = shown(&"x".repeat(100_000));
        assert_eq!(long, format!("\"{}...\"", "x".repeat(SHOWN_MAX_CHARS)));
        // The refusal of a bad name says it the same way.
        let e = err(&format!("{}\n", "y".repeat(100_000)));
        assert!(!e.contains('\n') && e.len() < 200, "{e}");
    }

    #[test]
    fn serde_is_a_plain_string() {
        let n = IfName::new("bond0").unwrap();
        assert_eq!(serde_json::to_string(&n).unwrap(), r#""bond0""#);
        let back: IfName = serde_json::from_str(r#""bond0""#).unwrap();
        assert_eq!(back, n);
        assert!(serde_json::from_str::<IfName>(r#""a/b""#).is_err());
    }

    #[test]
    fn ordering_and_borrow() {
        let mut v = vec![
            IfName::new("wlp2s0").unwrap(),
            IfName::new("enp3s0").unwrap(),
        ];
        v.sort();
        assert_eq!(v[0], "enp3s0");
        let set: std::collections::HashSet<IfName> = v.into_iter().collect();
        assert!(set.contains("wlp2s0"));
    }

    #[test]
    fn globs() {
        assert!(is_glob("enp*"));
        assert!(is_glob("wl?0"));
        assert!(is_glob("eth[01]"));
        assert!(!is_glob("enp3s0"));

        assert!(glob_match("enp*", "enp3s0"));
        assert!(glob_match("enp*", "enp"));
        assert!(!glob_match("enp*", "wlp2s0"));
        assert!(glob_match("*", "anything"));
        assert!(glob_match("*s0", "enp3s0"));
        assert!(glob_match("e*3*0", "enp3s0"));
        assert!(!glob_match("e*3*1", "enp3s0"));
        assert!(glob_match("wl?2s0", "wlp2s0"));
        assert!(!glob_match("wl?2s0", "wl2s0"));
        assert!(glob_match("eth[0-3]", "eth2"));
        assert!(!glob_match("eth[0-3]", "eth4"));
        assert!(glob_match("eth[!0-3]", "eth4"));
        assert!(glob_match("eth[^0-3]", "eth4"));
        assert!(!glob_match("eth[!0-3]", "eth1"));
        assert!(glob_match("x[]]", "x]"));
        assert!(glob_match("x[!]]", "xa"));
        assert!(glob_match("x[a-]", "x-"));
        assert!(glob_match("a\\*", "a*"));
        assert!(!glob_match("a\\*", "ab"));
        // Unclosed '[' is literal, like fnmatch.
        assert!(glob_match("a[b", "a[b"));
        assert!(!glob_match("a[b", "ab"));
        // Exact (non-glob) patterns match only themselves; no path semantics.
        assert!(glob_match("enp3s0", "enp3s0"));
        assert!(!glob_match("enp3s0", "enp3s01"));
        assert!(glob_match("*", "a.b"));
        assert!(glob_match("**a**", "bab"));
        assert!(!glob_match("", "a"));
        assert!(glob_match("", ""));
    }

    #[test]
    fn patterns_are_validated() {
        assert!(validate_pattern("enp*").is_ok());
        assert!(validate_pattern("[a-z][a-z][a-z][a-z][0-9]*").is_ok());
        assert!(validate_pattern("enp3s0").is_ok());
        assert_eq!(
            validate_pattern("en p*").unwrap_err().to_string(),
            r#"invalid interface pattern "en p*": contains whitespace"#
        );
        assert_eq!(
            validate_pattern("enp[0-9").unwrap_err().to_string(),
            r#"invalid interface pattern "enp[0-9": '[' is never closed"#
        );
        assert!(validate_pattern("a/b").is_err());
        assert!(validate_pattern("*:1").is_err());
    }
}
