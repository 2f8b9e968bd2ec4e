//! The classic recipe's `/etc/conf.d/network.conf`, read as it is: systemd
//! EnvironmentFile syntax with `bond0PRIMARY=`, `bond0ADDRS=` and
//! `bond0ROUTES=`, so a user of the recipe can switch without rewriting it.

mod lex;

use std::collections::{HashMap, HashSet};
use std::path::Path;

use anyhow::{bail, Result};

use self::lex::EnvEntry;
use super::check::{check_address, check_bond_name, check_primary};
use super::pos::Src;
use super::{Bond, Config, Dhcp, Kind, Match, SlaveRule, Supplicant};
use crate::net::{excerpt, BondOptions, IfName, IpNet, Ipv6Mode, Route};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
    /// Rank of its first assignment: the bonds come in this order.
    order: usize,
    /// Byte offsets of its name and its value, for errors.
    key_at: usize,
    value_at: usize,
}

/// The classic recipe creates a bridge for a master whose name contains "br"
/// (master@.service: `case %I in *br*) ... type bridge`).
fn classic_is_bridge(name: &str) -> bool {
    name.contains("br")
}

/// Our variables by interface and suffix.
type Vars = HashMap<(IfName, Suffix), Var>;

pub(super) fn parse(text: &str, path: &Path) -> Result<Config> {
    let src = Src::new(text, path);
    let vars = variables(&src, lex::entries(&src)?)?;
    let masters = masters(&src, &vars)?;
    let is_master: HashSet<&IfName> = masters.iter().collect();
    let bonds = masters
        .iter()
        .map(|name| bond(&src, &vars, &is_master, name))
        .collect::<Result<Vec<Bond>>>()?;
    Ok(Config {
        bonds,
        source: path.to_path_buf(),
    })
}

/// Our `<ifname>PRIMARY`/`ADDRS`/`ROUTES` variables, the last assignment
/// of each winning as in systemd.
fn variables(src: &Src, entries: Vec<EnvEntry>) -> Result<Vars> {
    let mut vars = Vars::new();
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
        let at = e.key_at..e.key_at;
        let iface = match IfName::new(prefix) {
            Ok(n) if key_ok => n,
            Ok(_) => {
                return Err(src.err(
                    at,
                    format!(
                        "variable {}: {} is not an interface name (letters, digits, '_', '.', '-')",
                        excerpt(&e.key),
                        excerpt(prefix)
                    ),
                ))
            }
            Err(err) => return Err(src.err(at, format!("variable {}: {err}", excerpt(&e.key)))),
        };
        let order = vars.len();
        let var = vars.entry((iface.clone(), suffix)).or_insert(Var {
            iface,
            suffix,
            value: String::new(),
            order,
            key_at: 0,
            value_at: 0,
        });
        var.value = e.value;
        var.key_at = e.key_at;
        var.value_at = e.value_at;
    }
    Ok(vars)
}

/// Masters: every <if>PRIMARY (empty or not: the recipe creates the master
/// anyway, an empty primary just sets none), plus names that the recipe
/// would treat as masters (bridges "*br*", "bond*") once they carry an
/// address or a route. Addresses or routes on anything else are an error.
fn masters(src: &Src, vars: &Vars) -> Result<Vec<IfName>> {
    let looks_master = |n: &IfName| classic_is_bridge(n.as_str()) || n.as_str().starts_with("bond");
    let mut in_order: Vec<&Var> = vars.values().collect();
    in_order.sort_unstable_by_key(|v| v.order);
    let mut masters: Vec<IfName> = Vec::new();
    let mut seen = HashSet::new();
    for v in &in_order {
        let configured =
            v.suffix == Suffix::Primary || (!v.value.trim().is_empty() && looks_master(&v.iface));
        if configured && seen.insert(&v.iface) {
            masters.push(v.iface.clone());
        }
    }
    for v in &in_order {
        if seen.contains(&v.iface) || v.value.trim().is_empty() {
            continue;
        }
        let what = if v.suffix == Suffix::Addrs {
            "addresses"
        } else {
            "routes"
        };
        let name = &v.iface;
        return Err(src.err(
            v.key_at..v.key_at,
            format!(
                "static {what} on slaves are not supported: {name} is not a bond \
                 (only a bond declared with {name}PRIMARY=..., or named bond* or *br*, gets them)"
            ),
        ));
    }
    if masters.is_empty() {
        return Err(src.err(
            0..0,
            "no bond defined: set for example bond0PRIMARY='enp3s0'",
        ));
    }
    Ok(masters)
}

/// One master and what its variables say about it.
fn bond(src: &Src, vars: &Vars, masters: &HashSet<&IfName>, name: &IfName) -> Result<Bond> {
    let get = |s: Suffix| vars.get(&(name.clone(), s));
    if let Err(e) = check_bond_name(name.as_str()) {
        let at = SUFFIXES
            .iter()
            .filter_map(|(_, s)| get(*s))
            .min_by_key(|v| v.order)
            .map_or(0, |v| v.key_at);
        return Err(src.err(at..at, e));
    }
    let kind = if classic_is_bridge(name.as_str()) {
        Kind::Bridge
    } else {
        Kind::Bond
    };
    // Errors in a value point at the value.
    let value_err = |v: &Var, what: &str, e: anyhow::Error| {
        src.err(v.value_at..v.value_at, format!("{name}{what}: {e}"))
    };

    let mut slaves = Vec::new();
    let mut primary = None;
    if let Some(v) = get(Suffix::Primary).filter(|v| !v.value.trim().is_empty()) {
        let p = check_primary(v.value.trim()).map_err(|e| value_err(v, "PRIMARY", e))?;
        if masters.contains(&p) {
            let e = anyhow::anyhow!("\"{p}\" is a bond, it cannot be a slave");
            return Err(value_err(v, "PRIMARY", e));
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
    let mut seen = HashSet::new();
    if let Some(v) = get(Suffix::Addrs) {
        for word in v.value.split_whitespace() {
            let net = word
                .parse::<IpNet>()
                .and_then(|n| check_address(&n).map(|()| n))
                .map_err(|e| value_err(v, "ADDRS", e))?;
            if seen.insert(net.clone()) {
                addresses.push(net);
            }
        }
    }
    let routes = match get(Suffix::Routes) {
        Some(v) => parse_route_list(&v.value).map_err(|e| value_err(v, "ROUTES", e))?,
        None => Vec::new(),
    };

    Ok(Bond {
        name: name.clone(),
        kind,
        primary,
        options: BondOptions::default(),
        addresses,
        routes,
        dhcp: Dhcp::default(),
        slaves,
        auto_supplicant: Some(Supplicant::classic_default()),
        ipv6: Ipv6Mode::default(),
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
            bail!(
                "each route must be double-quoted, e.g. '\"default via 192.168.0.1\"' (found {})",
                excerpt(word)
            );
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
                ipv6: Ipv6Mode::Stable,
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
    /// Each invalid input, with the position (line:column) and message
    /// expected: the value's first character for a bad value, the
    /// variable's for a bad variable.
    fn invalid_env_reports_line_and_column() {
        let cases = [
            ("bond0PRIMARY=enp3s0\nenp3s0ADDRS='10.0.0.1/8'\n", "2:1: static addresses on slaves are not supported: enp3s0 is not a bond"),
            ("bond0PRIMARY=enp3s0\n\n  wlp2s0ROUTES='default via 10.0.0.1'\n", "3:3: static routes on slaves are not supported"),
            ("bond0PRIMARY=enp3s0\nbond0ADDRS='192.168.0.2'\n", "2:12: bond0ADDRS: invalid address \"192.168.0.2\": missing /PREFIXLEN"),
            ("bond0PRIMARY=enp3s0\nbond0ADDRS = 192.168.0.2/40\n", "2:14: bond0ADDRS: invalid address \"192.168.0.2/40\": prefix length 40 is more than 32"),
            ("bond0PRIMARY='enp3s0 wlp2s0'\n", "1:14: bond0PRIMARY: invalid interface name \"enp3s0 wlp2s0\": contains whitespace"),
            ("# c\nbond0PRIMARY= 'enp3s0\n", "2:15: unterminated quote"),
            ("bond0PRIMARY=enp3s0\nbond0ROUTES='\"default via 10.0.0.1\" 10.1.0.0/16'\n", "2:13: bond0ROUTES: each route must be double-quoted"),
            ("bond0PRIMARY=enp3s0\nbond0ROUTES='\"default via\"'\n", "2:13: bond0ROUTES: invalid route \"default via\": via needs a value"),
            ("bond0PRIMARY=enp3s0\nbond0ROUTES='10.0.0.0/8 10.1.0.0/16'\n", "2:13: bond0ROUTES: invalid route \"10.0.0.0/8 10.1.0.0/16\": unexpected"),
            ("averyveryverylongnamePRIMARY=enp3s0\n", "1:1: variable \"averyveryverylongnamePRIMARY\": invalid interface name \"averyveryverylongname\": is 21 bytes long"),
            ("bond!PRIMARY=enp3s0\n", "1:1: variable \"bond!PRIMARY\": \"bond!\" is not an interface name"),
            ("bond0PRIMARY=enp3s0\n junk line\n", "2:2: expected KEY=VALUE, found \"junk line\""),
            ("bond0PRIMARY=bond1\nbond1PRIMARY=eth0\n", "1:14: bond0PRIMARY: \"bond1\" is a bond"),
            ("bond0PRIMARY=br0\nbr0ADDRS=10.1.0.1/24\n", "1:14: bond0PRIMARY: \"br0\" is a bond"),
            ("OTHER=1\n", "1:1: no bond defined"),
            ("", "1:1: no bond defined"),
        ];
        for (text, want) in cases {
            let got = env_err(text);
            let want = format!("network.conf:{want}");
            assert!(
                got.starts_with(&want),
                "for\n{text}\nwant: {want}\ngot:  {got}"
            );
            assert!(!got.contains('\n'), "multi-line error: {got}");
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
