//! The value parsers behind configuration and hooks: addresses, routes, MACs, interface
//! names and patterns, client identifiers. Whatever parses prints as text that parses back
//! to the same value; a quoted excerpt stays short and free of control characters.
#![no_main]

use std::fmt::Display;
use std::str::FromStr;

use hotbond::config::{ClientId, Match};
use hotbond::net::{ifname, DeviceFacts, IfName, IpNet, Mac, Route};
use libfuzzer_sys::fuzz_target;

fn round_trip<T: FromStr + Display + PartialEq + std::fmt::Debug>(s: &str) {
    if let Ok(v) = s.parse::<T>() {
        let shown = v.to_string();
        match shown.parse::<T>() {
            Ok(again) => assert_eq!(again, v, "{s:?} printed as {shown:?}"),
            Err(_) => panic!("{s:?} printed as {shown:?}, which does not parse"),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let Ok(s) = std::str::from_utf8(rest) else {
        return;
    };
    match which % 7 {
        0 => round_trip::<IpNet>(s),
        1 => round_trip::<Route>(s),
        2 => {
            round_trip::<Mac>(s);
            // Six hex bytes and their separators, nothing else ("+1" is no hex byte).
            if s.parse::<Mac>().is_ok() {
                assert!(
                    s.chars()
                        .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '-'),
                    "{s:?}"
                );
            }
        }
        3 => {
            if let Ok(n) = IfName::new(s) {
                assert_eq!(n.as_str(), s);
                assert!(!n.as_str().is_empty() && n.as_str().len() <= ifname::MAX_LEN);
            }
        }
        4 => {
            let (pattern, name) = s.split_once('\0').unwrap_or((s, "eth0"));
            let valid = ifname::validate_pattern(pattern).is_ok();
            let _ = ifname::glob_match(pattern, name);
            let facts = DeviceFacts {
                name: name.to_string(),
                ..DeviceFacts::default()
            };
            let matched = Match::Name(pattern.to_string()).matches(&facts);
            // A slave rule with a plain name takes exactly that name ('\\' included).
            if valid && !ifname::is_glob(pattern) {
                assert_eq!(matched, pattern == name);
            }
        }
        5 => {
            round_trip::<ClientId>(s);
            if let Ok(ClientId::Raw(_)) = s.parse::<ClientId>() {
                assert!(
                    s.chars().all(|c| c.is_ascii_hexdigit() || c == ':'),
                    "{s:?}"
                );
            }
        }
        _ => {
            let e = hotbond::net::excerpt(s);
            assert!(e.chars().count() <= 2 + 10 * hotbond::net::EXCERPT_MAX_CHARS + 3);
            assert!(!e.chars().any(char::is_control), "{e:?}");
            let sh = ifname::shown(s);
            assert!(!sh.chars().any(char::is_control), "{sh:?}");
        }
    }
});
