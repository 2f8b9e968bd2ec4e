//! The classic recipe's `/etc/conf.d/network.conf`, read as it is: systemd
//! EnvironmentFile syntax with `bond0PRIMARY=`, `bond0ADDRS=` and
//! `bond0ROUTES=`, so a user of the recipe can switch without rewriting it.

use std::path::Path;

use anyhow::{anyhow, bail, Result};

use super::check::{check_address, check_bond_name, check_primary};
use super::{Bond, Config, Dhcp, Kind, Match, SlaveRule, Supplicant};
use crate::net::{BondOptions, IfName, IpNet, Route};

/// One `KEY=VALUE` assignment, after systemd's unquoting.
#[derive(Debug, PartialEq)]
struct EnvEntry {
    key: String,
    value: String,
    line: usize,
}

/// Splits an EnvironmentFile the way systemd does: `#`/`;` comment lines,
/// `KEY=VALUE` with whitespace around the value dropped, single quotes
/// (literal), double quotes (`\"`, `\\`, `` \` ``, `\$` escapes), backslash
/// escapes outside quotes, backslash-newline continuation, quoted parts
/// concatenated. Stricter than systemd in two ways, because both are
/// always mistakes: a line without '=' and an unterminated quote are errors.
fn parse_env_entries(text: &str, path: &Path) -> Result<Vec<EnvEntry>> {
    #[derive(PartialEq)]
    enum St {
        PreKey,
        Key,
        PreValue,
        Value,
        Single,
        Double,
        Comment,
    }
    let shown = path.display();
    let is_ws = |c: char| c == ' ' || c == '\t' || c == '\r';
    let mut st = St::PreKey;
    let mut line = 1;
    let mut key_line = 1;
    let mut quote_line = 1;
    let mut key = String::new();
    let mut value = String::new();
    // Length of `value` before a trailing run of unquoted whitespace.
    let mut trail: Option<usize> = None;
    let mut out = Vec::new();
    let mut chars = text.chars();

    let finish = |key: &mut String, value: &mut String, trail: &mut Option<usize>, line: usize| {
        if let Some(t) = trail.take() {
            value.truncate(t);
        }
        EnvEntry {
            key: std::mem::take(key).trim_end().to_owned(),
            value: std::mem::take(value),
            line,
        }
    };

    while let Some(c) = chars.next() {
        match st {
            St::PreKey => {
                if c == '#' || c == ';' {
                    st = St::Comment;
                } else if c == '\n' {
                    line += 1;
                } else if !is_ws(c) {
                    st = St::Key;
                    key_line = line;
                    key.push(c);
                }
            }
            St::Comment => {
                if c == '\n' {
                    line += 1;
                    st = St::PreKey;
                }
            }
            St::Key => match c {
                '\n' => bail!(
                    "{shown}:{key_line}: expected KEY=VALUE, found {:?}",
                    key.trim_end()
                ),
                '=' => {
                    st = St::PreValue;
                    trail = None;
                }
                _ => key.push(c),
            },
            St::PreValue | St::Value => match c {
                '\n' => {
                    line += 1;
                    out.push(finish(&mut key, &mut value, &mut trail, key_line));
                    st = St::PreKey;
                }
                '\'' if st == St::PreValue => {
                    st = St::Single;
                    quote_line = line;
                }
                '"' if st == St::PreValue => {
                    st = St::Double;
                    quote_line = line;
                }
                '\\' => {
                    st = St::Value;
                    trail = None;
                    match chars.next() {
                        // Continuation: the newline is eaten.
                        Some('\n') => line += 1,
                        Some(e) => value.push(e),
                        None => {}
                    }
                }
                c if is_ws(c) => {
                    if st == St::Value {
                        trail.get_or_insert(value.len());
                        value.push(c);
                    }
                }
                c => {
                    st = St::Value;
                    trail = None;
                    value.push(c);
                }
            },
            St::Single => {
                if c == '\'' {
                    st = St::PreValue;
                } else {
                    if c == '\n' {
                        line += 1;
                    }
                    value.push(c);
                }
            }
            St::Double => match c {
                '"' => st = St::PreValue,
                '\\' => match chars.next() {
                    Some(e @ ('"' | '\\' | '`' | '$')) => value.push(e),
                    Some('\n') => line += 1,
                    Some(e) => {
                        // Like the shell: other backslashes stay.
                        value.push('\\');
                        value.push(e);
                    }
                    None => {}
                },
                c => {
                    if c == '\n' {
                        line += 1;
                    }
                    value.push(c);
                }
            },
        }
    }
    match st {
        St::PreKey | St::Comment => {}
        St::Key => bail!(
            "{shown}:{key_line}: expected KEY=VALUE, found {:?}",
            key.trim_end()
        ),
        St::PreValue | St::Value => out.push(finish(&mut key, &mut value, &mut trail, key_line)),
        St::Single | St::Double => bail!("{shown}:{quote_line}: unterminated quote"),
    }
    Ok(out)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Suffix {
    Primary,
    Addrs,
    Routes,
}

const SUFFIXES: [(&str, Suffix); 3] = [
    ("PRIMARY", Suffix::Primary),
    ("ADDRS", Suffix::Addrs),
    ("ROUTES", Suffix::Routes),
];

/// A `<ifname><SUFFIX>` variable.
struct Var {
    iface: IfName,
    suffix: Suffix,
    value: String,
    line: usize,
}

/// The classic recipe creates a bridge for a master whose name contains "br"
/// (master@.service: `case %I in *br*) ... type bridge`).
fn classic_is_bridge(name: &str) -> bool {
    name.contains("br")
}

pub(super) fn parse(text: &str, path: &Path) -> Result<Config> {
    let shown = path.display();
    let entries = parse_env_entries(text, path)?;

    let mut vars: Vec<Var> = Vec::new();
    for e in entries {
        let Some((prefix, suffix)) = SUFFIXES
            .iter()
            .find_map(|(s, v)| e.key.strip_suffix(s).map(|p| (p, *v)))
        else {
            continue; // Not ours: the file is shared with other units.
        };
        if prefix.is_empty() {
            continue; // A plain PRIMARY=... names no interface.
        }
        let key_ok = prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
        let iface = match IfName::new(prefix) {
            Ok(n) if key_ok => n,
            Ok(_) => bail!(
                "{shown}:{}: variable {:?}: {prefix:?} is not an interface name (letters, digits, '_', '.', '-')",
                e.line,
                e.key
            ),
            Err(err) => bail!("{shown}:{}: variable {:?}: {err}", e.line, e.key),
        };
        // Later assignments override earlier ones, as in systemd.
        match vars
            .iter_mut()
            .find(|v| v.iface == iface && v.suffix == suffix)
        {
            Some(v) => {
                v.value = e.value;
                v.line = e.line;
            }
            None => vars.push(Var {
                iface,
                suffix,
                value: e.value,
                line: e.line,
            }),
        }
    }

    // Masters: every <if>PRIMARY (empty or not: the recipe creates the master
    // anyway, an empty primary just sets none), plus names that the recipe
    // would treat as masters (bridges "*br*", "bond*") once they carry an
    // address or a route.
    let looks_master = |n: &IfName| classic_is_bridge(n.as_str()) || n.as_str().starts_with("bond");
    let mut masters: Vec<IfName> = Vec::new();
    for v in &vars {
        let configured =
            v.suffix == Suffix::Primary || (!v.value.trim().is_empty() && looks_master(&v.iface));
        if configured && !masters.contains(&v.iface) {
            masters.push(v.iface.clone());
        }
    }
    for v in &vars {
        if masters.contains(&v.iface) || v.value.trim().is_empty() {
            continue;
        }
        let what = if v.suffix == Suffix::Addrs {
            "addresses"
        } else {
            "routes"
        };
        let name = &v.iface;
        bail!(
            "{shown}:{}: static {what} on slaves are not supported: {name} is not a bond \
             (only a bond declared with {name}PRIMARY=..., or named bond* or *br*, gets them)",
            v.line
        );
    }
    if masters.is_empty() {
        bail!("{shown}: no bond defined: set for example bond0PRIMARY='enp3s0'");
    }

    let mut bonds = Vec::new();
    for name in masters.iter().cloned() {
        let get = |s: Suffix| vars.iter().find(|v| v.iface == name && v.suffix == s);
        if let Err(e) = check_bond_name(name.as_str()) {
            let line = vars.iter().find(|v| v.iface == name).map_or(0, |v| v.line);
            bail!("{shown}:{line}: {e}");
        }
        let kind = if classic_is_bridge(name.as_str()) {
            Kind::Bridge
        } else {
            Kind::Bond
        };

        let mut slaves = Vec::new();
        let mut primary = None;
        if let Some(v) = get(Suffix::Primary).filter(|v| !v.value.trim().is_empty()) {
            let p = check_primary(v.value.trim())
                .map_err(|e| anyhow!("{shown}:{}: {}PRIMARY: {e}", v.line, name))?;
            if masters.contains(&p) {
                bail!(
                    "{shown}:{}: {name}PRIMARY: \"{p}\" is a bond, it cannot be a slave",
                    v.line
                );
            }
            slaves.push(SlaveRule {
                matcher: Match::Name(p.to_string()),
                supplicant: None,
            });
            // A bridge has no primary; the name still orders the rules.
            if kind == Kind::Bond {
                primary = Some(p);
            }
        }
        slaves.push(SlaveRule {
            matcher: Match::AnyPhysical,
            supplicant: None,
        });

        let mut addresses: Vec<IpNet> = Vec::new();
        if let Some(v) = get(Suffix::Addrs) {
            for word in v.value.split_whitespace() {
                let net = word
                    .parse::<IpNet>()
                    .and_then(|n| check_address(&n).map(|()| n))
                    .map_err(|e| anyhow!("{shown}:{}: {name}ADDRS: {e}", v.line))?;
                if !addresses.contains(&net) {
                    addresses.push(net);
                }
            }
        }
        let mut routes = Vec::new();
        if let Some(v) = get(Suffix::Routes) {
            routes = parse_route_list(&v.value)
                .map_err(|e| anyhow!("{shown}:{}: {name}ROUTES: {e}", v.line))?;
        }

        bonds.push(Bond {
            name,
            kind,
            primary,
            options: BondOptions::default(),
            addresses,
            routes,
            dhcp: Dhcp::default(),
            slaves,
            auto_supplicant: Some(Supplicant::classic_default()),
        });
    }
    Ok(Config {
        bonds,
        source: path.to_path_buf(),
    })
}

/// `"to 10.0.0.0/8 via 192.168.0.1" "default via 192.168.0.1"`: each route
/// double-quoted. A value without any double quote is taken as one route
/// (`bond0ROUTES='default via 192.168.0.1'` is what people write).
fn parse_route_list(value: &str) -> Result<Vec<Route>> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(Vec::new());
    }
    if !value.contains('"') {
        return Ok(vec![value.parse()?]);
    }
    let mut routes = Vec::new();
    let mut rest = value;
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            break;
        }
        let Some(inner) = rest.strip_prefix('"') else {
            let word = rest.split_whitespace().next().unwrap_or(rest);
            bail!("each route must be double-quoted, e.g. '\"default via 192.168.0.1\"' (found {word:?})");
        };
        let Some(end) = inner.find('"') else {
            bail!("unterminated double quote");
        };
        routes.push(inner[..end].parse()?);
        rest = &inner[end + 1..];
        if !rest.is_empty() && !rest.starts_with(char::is_whitespace) {
            bail!("routes must be separated by spaces");
        }
    }
    Ok(routes)
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{dev, env, env_err, n, net, CLASSIC_NETWORK_CONF};
    use super::*;
    use crate::net::DeviceFacts;
    use std::path::PathBuf;

    #[test]
    fn classic_network_conf_verbatim() {
        let c = env(CLASSIC_NETWORK_CONF).unwrap();
        assert_eq!(c.source, PathBuf::from("network.conf"));
        assert_eq!(c.bonds.len(), 1);
        let b = &c.bonds[0];
        assert_eq!(
            *b,
            Bond {
                name: n("bond0"),
                kind: Kind::Bond,
                primary: Some(n("enp3s0")),
                options: BondOptions::default(),
                addresses: vec![net("192.168.0.2/24")],
                routes: vec![],
                dhcp: Dhcp::default(),
                slaves: vec![
                    SlaveRule {
                        matcher: Match::Name("enp3s0".into()),
                        supplicant: None
                    },
                    SlaveRule {
                        matcher: Match::AnyPhysical,
                        supplicant: None
                    },
                ],
                auto_supplicant: Some(Supplicant {
                    config: "/etc/wpa_supplicant/wpa_supplicant.conf".into(),
                    driver: "nl80211,wext,wired".into()
                }),
            }
        );
        // The recipe's wireless card gets the recipe's supplicant.
        let wlan = DeviceFacts {
            name: "wlp2s0".into(),
            physical: true,
            wireless: true,
            ..DeviceFacts::default()
        };
        let (bond, rule) = c.bond_for(&wlan).unwrap();
        assert_eq!(rule.matcher, Match::AnyPhysical);
        assert_eq!(
            bond.supplicant_for(&wlan),
            Some(&Supplicant::classic_default())
        );
        assert_eq!(
            c.bond_for(&dev("enp3s0")).unwrap().1.matcher,
            Match::Name("enp3s0".into())
        );
        assert_eq!(bond.supplicant_for(&dev("enp3s0")), None);
        assert!(c.bond_for(&dev("bond0")).is_none());
    }

    #[test]
    fn shipped_network_conf_is_the_classic_one() {
        let shipped = include_str!("../../conf/network.conf");
        assert!(
            shipped.contains(CLASSIC_NETWORK_CONF),
            "conf/network.conf must keep the classic recipe's text verbatim"
        );
        assert_eq!(
            env(shipped).unwrap().bonds,
            env(CLASSIC_NETWORK_CONF).unwrap().bonds
        );
    }

    #[test]
    fn env_routes_and_addresses() {
        let c = env(concat!(
            "bond0PRIMARY=enp3s0\n",
            "bond0ADDRS='192.168.0.2/24 2001:db8::2/64'\n",
            "bond0ROUTES='\"to 10.0.0.0/8 via 192.168.0.1\" \"default via 192.168.0.1 metric 10\"'\n",
        ))
        .unwrap();
        let b = &c.bonds[0];
        assert_eq!(
            b.addresses,
            vec![net("192.168.0.2/24"), net("2001:db8::2/64")]
        );
        assert_eq!(b.routes.len(), 2);
        assert_eq!(b.routes[0].to_string(), "10.0.0.0/8 via 192.168.0.1");
        assert_eq!(b.routes[1].to_string(), "default via 192.168.0.1 metric 10");
        // One unquoted route is accepted as is.
        let c = env("bond0PRIMARY=enp3s0\nbond0ROUTES='default via 192.168.0.1'\n").unwrap();
        assert_eq!(c.bonds[0].routes[0].to_string(), "default via 192.168.0.1");
    }

    #[test]
    fn env_bridge_variant() {
        // The classic recipe makes a bridge of any master whose name contains "br";
        // a bridge has no primary, and needs no PRIMARY to exist.
        let c = env("br0ADDRS='10.1.0.1/24'\nveth0ADDRS=\n").unwrap();
        let b = c.bond("br0").unwrap();
        assert_eq!(b.kind, Kind::Bridge);
        assert_eq!(b.primary, None);
        assert_eq!(
            b.slaves,
            vec![SlaveRule {
                matcher: Match::AnyPhysical,
                supplicant: None
            }]
        );
        assert_eq!(b.addresses, vec![net("10.1.0.1/24")]);

        let c = env("br0PRIMARY='enp3s0'\n").unwrap();
        let b = &c.bonds[0];
        assert_eq!(b.kind, Kind::Bridge);
        assert_eq!(b.primary, None, "PRIMARY is unused for a bridge");
        assert_eq!(b.slaves[0].matcher, Match::Name("enp3s0".into()));
    }

    #[test]
    fn env_syntax_follows_systemd() {
        let text = concat!(
            "  # indented comment\n",
            "; semicolon comment\n",
            "OTHER=whatever \"unbalanced\n",
            "bond0PRIMARY = \"enp3s0\"  \n",
            "bond0ADDRS=192.168.0.2/24\\\n",
            " 10.0.0.2/8\n",
            "bond0ADDRS+=x\n",
            "bond1PRIMARY=eth1\n",
            "bond1PRIMARY='eth2'\n",
            "bond1ADDRS=\"10.9.0.1/16\"' 10.8.0.1/16'\n",
        );
        let entries = parse_env_entries(text, Path::new("f")).unwrap();
        let kv: Vec<(&str, &str, usize)> = entries
            .iter()
            .map(|e| (e.key.as_str(), e.value.as_str(), e.line))
            .collect();
        assert_eq!(
            kv,
            vec![
                ("OTHER", "whatever \"unbalanced", 3),
                ("bond0PRIMARY", "enp3s0", 4),
                ("bond0ADDRS", "192.168.0.2/24 10.0.0.2/8", 5),
                ("bond0ADDRS+", "x", 7),
                ("bond1PRIMARY", "eth1", 8),
                ("bond1PRIMARY", "eth2", 9),
                ("bond1ADDRS", "10.9.0.1/16 10.8.0.1/16", 10),
            ]
        );
        let c = env(text).unwrap();
        assert_eq!(c.bonds.len(), 2);
        assert_eq!(
            c.bonds[0].addresses,
            vec![net("192.168.0.2/24"), net("10.0.0.2/8")]
        );
        assert_eq!(
            c.bonds[1].primary,
            Some(n("eth2")),
            "the last assignment wins"
        );

        let e = parse_env_entries(
            "A=\"x \\\" \\$ \\n\"\nB='a\\b'\nC=a\\ b\\\\\n",
            Path::new("f"),
        )
        .unwrap();
        assert_eq!(e[0].value, "x \" $ \\n");
        assert_eq!(e[1].value, "a\\b");
        assert_eq!(e[2].value, "a b\\");
        // Multi-line single-quoted value, then the line count goes on right.
        let e = parse_env_entries("A='1\n2'\nB=3", Path::new("f")).unwrap();
        assert_eq!((e[0].value.as_str(), e[1].line), ("1\n2", 3));
    }

    #[test]
    fn invalid_env_reports_line() {
        let cases = [
            ("bond0PRIMARY=enp3s0\nenp3s0ADDRS='10.0.0.1/8'\n", "network.conf:2: static addresses on slaves are not supported: enp3s0 is not a bond"),
            ("bond0PRIMARY=enp3s0\n\nwlp2s0ROUTES='default via 10.0.0.1'\n", "network.conf:3: static routes on slaves are not supported"),
            ("bond0PRIMARY=enp3s0\nbond0ADDRS='192.168.0.2'\n", "network.conf:2: bond0ADDRS: invalid address \"192.168.0.2\": missing /PREFIXLEN"),
            ("bond0PRIMARY=enp3s0\nbond0ADDRS='192.168.0.2/40'\n", "network.conf:2: bond0ADDRS: invalid address \"192.168.0.2/40\": prefix length 40 is more than 32"),
            ("bond0PRIMARY='enp3s0 wlp2s0'\n", "network.conf:1: bond0PRIMARY: invalid interface name \"enp3s0 wlp2s0\": contains whitespace"),
            ("# c\nbond0PRIMARY='enp3s0\n", "network.conf:2: unterminated quote"),
            ("bond0PRIMARY=enp3s0\nbond0ROUTES='\"default via 10.0.0.1\" 10.1.0.0/16'\n", "network.conf:2: bond0ROUTES: each route must be double-quoted"),
            ("bond0PRIMARY=enp3s0\nbond0ROUTES='\"default via\"'\n", "network.conf:2: bond0ROUTES: invalid route \"default via\": via needs a value"),
            ("bond0PRIMARY=enp3s0\nbond0ROUTES='10.0.0.0/8 10.1.0.0/16'\n", "network.conf:2: bond0ROUTES: invalid route \"10.0.0.0/8 10.1.0.0/16\": unexpected"),
            ("averyveryverylongnamePRIMARY=enp3s0\n", "network.conf:1: variable \"averyveryverylongnamePRIMARY\": invalid interface name \"averyveryverylongname\": is 21 bytes long"),
            ("bond!PRIMARY=enp3s0\n", "network.conf:1: variable \"bond!PRIMARY\": \"bond!\" is not an interface name"),
            ("bond0PRIMARY=enp3s0\njunk line\n", "network.conf:2: expected KEY=VALUE, found \"junk line\""),
            ("bond0PRIMARY=bond1\nbond1PRIMARY=eth0\n", "network.conf:1: bond0PRIMARY: \"bond1\" is a bond"),
            ("bond0PRIMARY=br0\nbr0ADDRS=10.1.0.1/24\n", "network.conf:1: bond0PRIMARY: \"br0\" is a bond"),
            ("OTHER=1\n", "network.conf: no bond defined"),
            ("", "network.conf: no bond defined"),
        ];
        for (text, want) in cases {
            let got = env_err(text);
            assert!(
                got.starts_with(want),
                "for\n{text}\nwant: {want}\ngot:  {got}"
            );
        }
    }

    #[test]
    fn env_ignores_what_is_not_ours() {
        let c = env(
            "PATH=/bin\nPRIMARY=x\nbond0PRIMARY=enp3s0\nwlp2s0ADDRS=\nfooBAR=1\nbond0Addrs=junk\n",
        )
        .unwrap();
        assert_eq!(c.bonds.len(), 1);
        // An empty PRIMARY still declares the bond, with no primary.
        let c = env("bond0PRIMARY=\n").unwrap();
        assert_eq!(c.bonds[0].primary, None);
        assert_eq!(c.bonds[0].slaves.len(), 1);
    }
}
