//! The TOML front end: `/etc/hotbond/hotbond.toml` (see conf/hotbond.toml),
//! deserialised with spans so every error names FILE:LINE:COLUMN.

use std::collections::HashSet;
use std::ops::Range;
use std::path::{Path, PathBuf};

use ::toml::Spanned;
use anyhow::Result;
use serde::Deserialize;

use super::check::{
    check_address, check_bond_name, check_hostname, check_primary, check_supplicant_config,
    check_supplicant_driver, BondNames,
};
use super::pos::Src;
use super::{
    Bond, ClientId, Config, Dhcp, DhcpClient, Kind, Match, SlaveRule, Supplicant,
    DEFAULT_SUPPLICANT_CONFIG, DEFAULT_SUPPLICANT_DRIVER,
};
use crate::net::{
    excerpt, ifname, BondOptions, Bus, DeviceFacts, IpNet, Mac, PrimaryReselect, Route,
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    bond: Vec<Spanned<RawBond>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBond {
    // Optional here so a missing name gets our message and position.
    name: Option<Spanned<String>>,
    kind: Option<Kind>,
    primary: Option<Spanned<String>>,
    #[serde(default)]
    addresses: Vec<Spanned<String>>,
    #[serde(default)]
    routes: Vec<Spanned<String>>,
    options: Option<Spanned<RawOptions>>,
    dhcp: Option<RawDhcp>,
    #[serde(default)]
    slave: Vec<Spanned<RawSlave>>,
    auto_supplicant: Option<RawSupplicant>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOptions {
    miimon: Option<Spanned<u32>>,
    updelay: Option<Spanned<u32>>,
    downdelay: Option<Spanned<u32>>,
    primary_reselect: Option<PrimaryReselect>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDhcp {
    client: Option<DhcpClient>,
    client_id: Option<Spanned<String>>,
    hostname: Option<Spanned<String>>,
    route_metric: Option<u32>,
    use_mtu: Option<bool>,
    dns: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSlave {
    name: Option<Spanned<String>>,
    mac: Option<Spanned<String>>,
    bus: Option<Spanned<Bus>>,
    any: Option<Spanned<bool>>,
    supplicant: Option<RawSupplicant>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSupplicant {
    config: Option<Spanned<String>>,
    driver: Option<Spanned<String>>,
}

/// Runs a check, giving its error the position of `span`.
fn at<T>(src: &Src, span: Range<usize>, r: Result<T>) -> Result<T> {
    r.map_err(|e| src.err(span, e))
}

pub(super) fn parse(text: &str, path: &Path) -> Result<Config> {
    let src = Src::new(text, path);
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        // toml's messages can span lines ("invalid inline table\nexpected `}`").
        let mut msg = quoted_excerpts(&e.message().trim().replace('\n', "; "));
        if msg.contains("expected a sequence") {
            msg.push_str(" (write [[bond]] and [[bond.slave]], with double brackets)");
        }
        match e.span() {
            Some(span) => src.err(span, msg),
            None => src.err(0..0, msg),
        }
    })?;
    if raw.bond.is_empty() {
        return Err(src.err(0..0, "no [[bond]] defined: at least one bond is needed"));
    }
    let mut bonds: Vec<Bond> = Vec::new();
    let mut spans: Vec<BondSpans> = Vec::new();
    let mut names = BondNames::default();
    for raw_bond in raw.bond {
        let span = raw_bond.span();
        let (bond, pats) = toml_bond(&src, span, raw_bond.into_inner())?;
        if let Some(i) = names.insert(bond.name.as_str(), bonds.len()) {
            let (line, _) = src.line_col(spans[i].name.start);
            return Err(src.err(
                pats.name,
                format!(
                    "duplicate bond name \"{}\" (first defined on line {line})",
                    bond.name
                ),
            ));
        }
        bonds.push(bond);
        spans.push(pats);
    }
    for (bond, spans) in bonds.iter().zip(&spans) {
        no_bond_is_a_slave(&src, &bonds, &mut names, bond, spans)?;
    }
    Ok(Config {
        bonds,
        source: path.to_path_buf(),
    })
}

/// An interface cannot be both a bond and a slave: no name rule and no
/// primary of `bond` may name a configured bond.
fn no_bond_is_a_slave(
    src: &Src,
    bonds: &[Bond],
    names: &mut BondNames,
    bond: &Bond,
    spans: &BondSpans,
) -> Result<()> {
    for (rule, pattern_span) in bond.slaves.iter().zip(&spans.slaves) {
        let Match::Name(pattern) = &rule.matcher else {
            continue;
        };
        if let Some(other) = names.first_match(pattern) {
            let span = pattern_span.clone().unwrap_or(spans.name.clone());
            return Err(src.err(
                span,
                format!(
                    "slave pattern {} matches bond \"{}\": an interface cannot be both a bond and a slave{}",
                    excerpt(pattern),
                    bonds[other].name,
                    if ifname::is_glob(pattern) { " (use any = true to take every physical interface)" } else { "" }
                ),
            ));
        }
    }
    if let Some(primary) = &bond.primary {
        if names.contains(primary.as_str()) {
            let span = spans.primary.clone().unwrap_or(spans.name.clone());
            return Err(src.err(
                span,
                format!("primary \"{primary}\" is a bond, it cannot be a slave"),
            ));
        }
    }
    Ok(())
}

/// toml quotes what it did not expect in backticks (an unknown key, a
/// value): cut each such quote to a short escaped excerpt.
fn quoted_excerpts(msg: &str) -> String {
    msg.split('`')
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 1 {
                let e = excerpt(part);
                e[1..e.len() - 1].to_owned()
            } else {
                part.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("`")
}

/// Spans kept from one [[bond]] for checks across bonds.
struct BondSpans {
    name: Range<usize>,
    primary: Option<Range<usize>>,
    slaves: Vec<Option<Range<usize>>>,
}

fn toml_bond(src: &Src, span: Range<usize>, raw: RawBond) -> Result<(Bond, BondSpans)> {
    let Some(name) = raw.name else {
        return Err(src.err(span, "[[bond]] has no name (add name = \"bond0\")"));
    };
    let name_span = name.span();
    let name = at(src, name.span(), check_bond_name(name.get_ref()))?;
    let kind = raw.kind.unwrap_or(Kind::Bond);

    let mut primary_span = None;
    let primary = match raw.primary {
        None => None,
        Some(_) if kind == Kind::Bridge => {
            return Err(src.err(
                raw.primary.map_or(span.clone(), |p| p.span()),
                format!("bridge \"{name}\": bridges have no primary (remove primary)"),
            ));
        }
        Some(p) => {
            let n = at(src, p.span(), check_primary(p.get_ref()))?;
            if n == name {
                return Err(src.err(
                    p.span(),
                    format!("primary of \"{name}\" is the bond itself"),
                ));
            }
            primary_span = Some(p.span());
            Some(n)
        }
    };

    let options = match raw.options {
        None => BondOptions::default(),
        Some(o) if kind == Kind::Bridge => {
            return Err(src.err(
                o.span(),
                format!("bridge \"{name}\": bond options do not apply to a bridge (remove [bond.options])"),
            ));
        }
        Some(o) => toml_options(src, o.into_inner())?,
    };

    let mut addresses: Vec<IpNet> = Vec::new();
    let mut seen = HashSet::new();
    for a in raw.addresses {
        let net = at(src, a.span(), a.get_ref().parse::<IpNet>())?;
        at(src, a.span(), check_address(&net))?;
        if !seen.insert(net.clone()) {
            return Err(src.err(a.span(), format!("address {net} listed twice")));
        }
        addresses.push(net);
    }
    let mut routes: Vec<Route> = Vec::new();
    let mut seen = HashSet::new();
    for r in raw.routes {
        let route = at(src, r.span(), r.get_ref().parse::<Route>())?;
        if !seen.insert((route.to.clone(), route.is_ipv6())) {
            return Err(src.err(
                r.span(),
                format!(
                    "a route to {} is listed twice",
                    route.to.map_or("default".into(), |t| t.to_string())
                ),
            ));
        }
        routes.push(route);
    }

    let dhcp = match raw.dhcp {
        None => Dhcp::default(),
        Some(d) => toml_dhcp(src, d)?,
    };

    let mut slaves = Vec::new();
    let mut slave_spans = Vec::new();
    for s in &raw.slave {
        let (rule, pat_span) = toml_slave(src, s.span(), s.get_ref())?;
        slaves.push(rule);
        slave_spans.push(pat_span);
    }
    if slaves.is_empty() {
        return Err(src.err(
            span,
            format!("bond \"{name}\" has no [[bond.slave]] rule: no interface would ever join it"),
        ));
    }
    // With only name rules we can tell whether the primary could ever join.
    if let (Some(p), Some(pspan)) = (&primary, &primary_span) {
        let all_names = slaves.iter().all(|r| matches!(r.matcher, Match::Name(_)));
        let facts = DeviceFacts {
            name: p.to_string(),
            ..DeviceFacts::default()
        };
        if all_names && !slaves.iter().any(|r| r.matcher.matches(&facts)) {
            return Err(src.err(
                pspan.clone(),
                format!("primary \"{p}\" matches none of the slave rules of \"{name}\""),
            ));
        }
    }

    let auto_supplicant = match &raw.auto_supplicant {
        None => None,
        Some(s) => Some(toml_supplicant(src, s)?),
    };

    let bond = Bond {
        name,
        kind,
        primary,
        options,
        addresses,
        routes,
        dhcp,
        slaves,
        auto_supplicant,
    };
    Ok((
        bond,
        BondSpans {
            name: name_span,
            primary: primary_span,
            slaves: slave_spans,
        },
    ))
}

fn toml_options(src: &Src, raw: RawOptions) -> Result<BondOptions> {
    let d = BondOptions::default();
    let miimon = raw.miimon.as_ref().map_or(d.miimon, |m| *m.get_ref());
    if let Some(m) = &raw.miimon {
        if miimon == 0 {
            return Err(src.err(
                m.span(),
                "miimon = 0 turns link monitoring off: the bond would never fail over",
            ));
        }
    }
    // The kernel silently rounds delays down to a multiple of miimon; say so
    // instead of running with a value nobody wrote.
    let delay = |d: &Option<Spanned<u32>>, what: &str| -> Result<u32> {
        let Some(d) = d else { return Ok(0) };
        let v = *d.get_ref();
        if v % miimon != 0 {
            return Err(src.err(
                d.span(),
                format!("{what} = {v} is not a multiple of miimon ({miimon})"),
            ));
        }
        Ok(v)
    };
    Ok(BondOptions {
        miimon,
        updelay: delay(&raw.updelay, "updelay")?,
        downdelay: delay(&raw.downdelay, "downdelay")?,
        primary_reselect: raw.primary_reselect.unwrap_or_default(),
    })
}

fn toml_dhcp(src: &Src, raw: RawDhcp) -> Result<Dhcp> {
    let client_id = match &raw.client_id {
        None => ClientId::default(),
        Some(c) => at(src, c.span(), c.get_ref().parse())?,
    };
    let hostname = match &raw.hostname {
        None => None,
        Some(h) => {
            at(src, h.span(), check_hostname(h.get_ref()))?;
            Some(h.get_ref().clone())
        }
    };
    let d = Dhcp::default();
    Ok(Dhcp {
        client: raw.client.unwrap_or_default(),
        client_id,
        hostname,
        route_metric: raw.route_metric.unwrap_or(d.route_metric),
        use_mtu: raw.use_mtu.unwrap_or(d.use_mtu),
        dns: raw.dns.unwrap_or(d.dns),
    })
}

fn toml_supplicant(src: &Src, raw: &RawSupplicant) -> Result<Supplicant> {
    let config = match &raw.config {
        None => PathBuf::from(DEFAULT_SUPPLICANT_CONFIG),
        Some(c) => at(src, c.span(), check_supplicant_config(c.get_ref()))?,
    };
    let driver = match &raw.driver {
        None => DEFAULT_SUPPLICANT_DRIVER.to_owned(),
        Some(d) => at(src, d.span(), check_supplicant_driver(d.get_ref()))?,
    };
    Ok(Supplicant { config, driver })
}

/// One [[bond.slave]]: exactly one matcher. Returns the rule and, for a
/// name rule, where the pattern was written.
fn toml_slave(
    src: &Src,
    span: Range<usize>,
    raw: &RawSlave,
) -> Result<(SlaveRule, Option<Range<usize>>)> {
    let mut given: Vec<(&str, Range<usize>)> = Vec::new();
    if let Some(n) = &raw.name {
        given.push(("name", n.span()));
    }
    if let Some(m) = &raw.mac {
        given.push(("mac", m.span()));
    }
    if let Some(b) = &raw.bus {
        given.push(("bus", b.span()));
    }
    if let Some(a) = &raw.any {
        given.push(("any", a.span()));
    }
    match given.len() {
        0 => {
            return Err(src.err(
                span,
                "[[bond.slave]] needs one of name, mac, bus or any = true",
            ))
        }
        1 => {}
        _ => {
            let keys: Vec<&str> = given.iter().map(|(k, _)| *k).collect();
            return Err(src.err(
                given[1].1.clone(),
                format!(
                    "[[bond.slave]] has {}: give exactly one matcher (use one [[bond.slave]] per matcher)",
                    keys.join(" and ")
                ),
            ));
        }
    }
    let mut pattern_span = None;
    let matcher = if let Some(n) = &raw.name {
        at(src, n.span(), ifname::validate_pattern(n.get_ref()))?;
        pattern_span = Some(n.span());
        Match::Name(n.get_ref().clone())
    } else if let Some(m) = &raw.mac {
        Match::Mac(at(src, m.span(), m.get_ref().parse::<Mac>())?)
    } else if let Some(b) = &raw.bus {
        Match::Bus(*b.get_ref())
    } else if let Some(a) = &raw.any {
        if !*a.get_ref() {
            return Err(src.err(
                a.span(),
                "any = false matches nothing: use any = true, or name, mac or bus",
            ));
        }
        Match::AnyPhysical
    } else {
        // given.len() == 1 above means one of the branches was taken.
        return Err(src.err(
            span,
            "[[bond.slave]] needs one of name, mac, bus or any = true",
        ));
    };
    let supplicant = match &raw.supplicant {
        None => None,
        Some(s) => Some(toml_supplicant(src, s)?),
    };
    Ok((
        SlaveRule {
            matcher,
            supplicant,
        },
        pattern_span,
    ))
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{n, net, toml, toml_err, FULL_TOML};
    use super::*;

    #[test]
    fn example_toml_parses() {
        let text = include_str!("../../conf/hotbond.toml");
        let c = toml(text).unwrap();
        assert_eq!(c.bonds.len(), 1);
        let b = &c.bonds[0];
        assert_eq!(b.name, "bond0");
        assert_eq!(b.kind, Kind::Bond);
        assert_eq!(b.primary, Some(n("enp3s0")));
        assert_eq!(b.options, BondOptions::default());
        assert_eq!(b.dhcp.client_id, ClientId::Duid);
        assert_eq!(b.slaves.len(), 2);
        assert_eq!(b.slaves[0].matcher, Match::Name("enp*".into()));
        assert_eq!(b.slaves[0].supplicant, None);
        assert_eq!(b.slaves[1].matcher, Match::Name("wlp*".into()));
        assert_eq!(
            b.slaves[1].supplicant,
            Some(Supplicant {
                config: DEFAULT_SUPPLICANT_CONFIG.into(),
                driver: "nl80211".into()
            })
        );
        assert_eq!(b.auto_supplicant, None);
        // Every commented-out setting in the example is valid too.
        let uncommented: String = text
            .lines()
            .map(|l| l.strip_prefix("#: ").unwrap_or(l))
            .map(|l| format!("{l}\n"))
            .collect();
        assert!(uncommented.len() < text.len(), "example has no #: lines");
        let c = toml(&uncommented).unwrap();
        assert_eq!(c.bonds.len(), 2);
        assert_eq!(c.bonds[0].addresses, vec![net("192.168.0.2/24")]);
        assert_eq!(c.bonds[0].routes.len(), 2);
        assert_eq!(c.bonds[0].dhcp.hostname.as_deref(), Some("laptop"));
        assert!(!c.bonds[0].dhcp.dns);
        assert!(c.bonds[0].auto_supplicant.is_some());
        assert_eq!(c.bonds[1].kind, Kind::Bridge);
    }

    #[test]
    fn full_toml_parses() {
        let c = toml(FULL_TOML).unwrap();
        assert_eq!(c.source, PathBuf::from("t.toml"));
        let b = c.bond("bond0").unwrap();
        assert_eq!(
            b.addresses,
            vec![net("192.168.0.2/24"), net("2001:db8::2/64")]
        );
        assert_eq!(
            b.routes,
            vec![
                Route {
                    to: None,
                    via: Some("192.168.0.1".parse().unwrap()),
                    metric: None
                },
                Route {
                    to: Some(net("10.0.0.0/8")),
                    via: Some("192.168.0.254".parse().unwrap()),
                    metric: Some(50)
                },
            ]
        );
        assert_eq!(
            b.options,
            BondOptions {
                miimon: 100,
                updelay: 200,
                downdelay: 0,
                primary_reselect: PrimaryReselect::Better
            }
        );
        assert_eq!(b.options.primary_reselect.kernel_value(), 1);
        assert_eq!(b.dhcp.client, DhcpClient::Dhclient);
        assert_eq!(
            b.dhcp.client_id,
            ClientId::Raw(vec![
                0x00, 0x02, 0x00, 0x02, 0x2e, 0x2d, 0x01, 0xbd, 0xc3, 0x92, 0x9a, 0x44, 0x2a, 0xc4
            ])
        );
        assert_eq!(b.dhcp.hostname.as_deref(), Some("laptop"));
        assert!(!b.dhcp.dns);
        assert_eq!(
            b.slaves[2].matcher,
            Match::Mac(Mac([0x68, 0xa3, 0xc4, 0xac, 0x63, 0xd1]))
        );
        assert_eq!(b.slaves[3].matcher, Match::Bus(Bus::Usb));
        assert_eq!(b.slaves[4].matcher, Match::AnyPhysical);
        assert!(c.bond("bond1").is_none());
    }

    #[test]
    fn defaults_when_sections_are_missing() {
        let c = toml("[[bond]]\nname = \"bond0\"\n[[bond.slave]]\nany = true\n").unwrap();
        let b = &c.bonds[0];
        assert_eq!(b.kind, Kind::Bond);
        assert_eq!(b.primary, None);
        assert_eq!(
            b.options,
            BondOptions {
                miimon: 100,
                updelay: 0,
                downdelay: 0,
                primary_reselect: PrimaryReselect::Always
            }
        );
        assert_eq!(b.dhcp, Dhcp::default());
        assert_eq!(b.dhcp.client, DhcpClient::Auto);
        assert_eq!(b.dhcp.client_id, ClientId::Duid);
        assert!(
            b.dhcp.dns,
            "the lease's DNS is handed to the system unless turned off"
        );
        assert!(b.addresses.is_empty() && b.routes.is_empty());
    }

    /// Each invalid input, with the position (line:column) and message expected.
    #[test]
    fn invalid_toml_reports_line_and_column() {
        const B: &str = "[[bond]]\nname = \"bond0\"\n";
        const S: &str = "[[bond.slave]]\nname = \"enp*\"\n";
        let cases: Vec<(String, &str)> = vec![
            // Syntax and serde errors, positioned by toml itself.
            ("[[bond]\n".into(), "1:7: "),
            (format!("{B}foo = 1\n{S}"), "3:1: unknown field `foo`"),
            (format!("{B}\"a\\u001b{}\" = 1\n{S}", "x".repeat(60)), "3:1: unknown field `a\\x1bxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...`"),
            (format!("{B}{S}colour = \"red\"\n"), "5:1: unknown field `colour`"),
            (format!("{B}kind = \"brige\"\n{S}"), "3:8: unknown variant `brige`"),
            (format!("{B}{S}[bond.options]\nmiimon = -5\n"), "6:10: invalid value"),
            (format!("{B}{S}[bond.options]\nfail_over_mac = 1\n"), "6:1: unknown field `fail_over_mac`"),
            (format!("{B}{S}[bond.dhcp]\nclient = \"pump\"\n"), "6:10: unknown variant `pump`"),
            (format!("{B}[[bond.slave]]\nbus = \"isa\"\n"), "4:7: unknown variant `isa`"),
            ("[bond]\nname = \"bond0\"\n".into(), "1:1: invalid type: map, expected a sequence (write [[bond]]"),
            // Semantic errors, positioned with the spans we kept.
            ("".into(), "1:1: no [[bond]] defined"),
            ("# nothing\n".into(), "1:1: no [[bond]] defined"),
            (format!("\n[[bond]]\nkind = \"bond\"\n{S}"), "2:1: [[bond]] has no name"),
            ("[[bond]]\nname = \"bond 0\"\n".to_string() + S, "2:8: invalid interface name \"bond 0\": contains whitespace"),
            ("[[bond]]\nname = \"averyveryverylongname\"\n".to_string() + S, "2:8: invalid interface name \"averyveryverylongname\": is 21 bytes long"),
            ("[[bond]]\nname = \"a/b\"\n".to_string() + S, "2:8: invalid interface name \"a/b\": contains '/'"),
            ("[[bond]]\nname = \"bond*\"\n[[bond.slave]]\nname = \"enp1\"\n".into(), "2:8: invalid bond name"),
            (format!("{B}{S}[[bond]]\nname = \"bond0\"\n{S}"), "6:8: duplicate bond name \"bond0\" (first defined on line 2)"),
            (format!("{B}primary = \"enp 3\"\n{S}"), "3:11: invalid interface name \"enp 3\": contains whitespace"),
            (format!("{B}primary = \"enp*\"\n{S}"), "3:11: primary \"enp*\" must be an exact interface name"),
            (format!("{B}primary = \"wlp2s0\"\n{S}"), "3:11: primary \"wlp2s0\" matches none of the slave rules"),
            (format!("{B}primary = \"bond0\"\n{S}"), "3:11: primary of \"bond0\" is the bond itself"),
            (format!("{B}addresses = [\"192.168.0.2\"]\n{S}"), "3:14: invalid address \"192.168.0.2\": missing /PREFIXLEN"),
            (format!("{B}addresses = [\"192.168.0.2/33\"]\n{S}"), "3:14: invalid address \"192.168.0.2/33\": prefix length 33 is more than 32"),
            (format!("{B}addresses = [\"10.0.0.1/8\", \"2001:db8::1/129\"]\n{S}"), "3:28: invalid address \"2001:db8::1/129\": prefix length 129 is more than 128"),
            (format!("{B}addresses = [\"192.168.0.300/24\"]\n{S}"), "3:14: invalid address \"192.168.0.300/24\": \"192.168.0.300\" is not an IP address"),
            (format!("{B}addresses = [\"0.0.0.0/0\"]\n{S}"), "3:14: invalid address \"0.0.0.0/0\": not a unicast address"),
            (format!("{B}addresses = [\"10.0.0.1/8\", \"10.0.0.1/8\"]\n{S}"), "3:28: address 10.0.0.1/8 listed twice"),
            (format!("{B}routes = [\"default via\"]\n{S}"), "3:11: invalid route \"default via\": via needs a value"),
            (format!("{B}routes = [\"default via 192.168.0.1 dev eth0\"]\n{S}"), "3:11: invalid route \"default via 192.168.0.1 dev eth0\": unexpected \"dev\""),
            (format!("{B}routes = [\"10.0.0.1/8 via 192.168.0.1\"]\n{S}"), "3:11: invalid route \"10.0.0.1/8 via 192.168.0.1\": 10.0.0.1/8 has host bits set (did you mean 10.0.0.0/8?)"),
            (format!("{B}routes = [\"10.0.0.0/8 via 2001:db8::1\"]\n{S}"), "3:11: invalid route \"10.0.0.0/8 via 2001:db8::1\": gateway 2001:db8::1 is not of the same family"),
            (format!("{B}routes = [\"default metric x\"]\n{S}"), "3:11: invalid route \"default metric x\": metric \"x\" is not a number"),
            (format!("{B}routes = [\"\"]\n{S}"), "3:11: invalid route \"\": no destination"),
            (format!("{B}routes = [\"default via 10.0.0.1\", \"default via 10.0.0.2\"]\n{S}"), "3:35: a route to default is listed twice"),
            (format!("{B}kind = \"bridge\"\nprimary = \"enp3s0\"\n{S}"), "4:11: bridge \"bond0\": bridges have no primary"),
            (format!("{B}kind = \"bridge\"\n{S}[bond.options]\nmiimon = 100\n"), "6:1: bridge \"bond0\": bond options do not apply to a bridge"),
            (format!("{B}{S}[bond.options]\nmiimon = 0\n"), "6:10: miimon = 0 turns link monitoring off"),
            (format!("{B}{S}[bond.options]\nupdelay = 150\n"), "6:11: updelay = 150 is not a multiple of miimon (100)"),
            (format!("{B}{S}[bond.options]\nprimary_reselect = \"sometimes\"\n"), "6:20: unknown variant `sometimes`"),
            (format!("{B}{S}[bond.dhcp]\nhostname = \"my_laptop\"\n"), "6:12: invalid hostname \"my_laptop\": only letters, digits"),
            (format!("{B}{S}[bond.dhcp]\nhostname = \"-laptop\"\n"), "6:12: invalid hostname \"-laptop\": a label starts or ends with '-'"),
            (format!("{B}{S}[bond.dhcp]\nclient_id = \"00:zz\"\n"), "6:13: invalid client_id \"00:zz\""),
            (format!("{B}{S}[bond.dhcp]\nclient_id = \"01\"\n"), "6:13: invalid client_id \"01\": needs at least 2 bytes"),
            (format!("{B}{S}[bond.dhcp]\ndns = \"yes\"\n"), "6:7: invalid type: string \"yes\", expected a boolean"),
            (format!("{B}\n[[bond.slave]]\n"), "4:1: [[bond.slave]] needs one of name, mac, bus or any = true"),
            (format!("{B}[[bond.slave]]\nname = \"enp*\"\nmac = \"00:11:22:33:44:55\"\n"), "5:7: [[bond.slave]] has name and mac: give exactly one matcher"),
            (format!("{B}[[bond.slave]]\nany = false\n"), "4:7: any = false matches nothing"),
            (format!("{B}[[bond.slave]]\nname = \"en p*\"\n"), "4:8: invalid interface pattern \"en p*\": contains whitespace"),
            (format!("{B}[[bond.slave]]\nname = \"enp[0-9\"\n"), "4:8: invalid interface pattern \"enp[0-9\": '[' is never closed"),
            (format!("{B}[[bond.slave]]\nname = \"1234567890123456\"\n"), "4:8: invalid interface name \"1234567890123456\": is 16 bytes long"),
            (format!("{B}[[bond.slave]]\nmac = \"00:11:22:33:44\"\n"), "4:7: invalid MAC address \"00:11:22:33:44\""),
            (format!("{B}[[bond.slave]]\nmac = \"01:00:5e:00:00:01\"\n"), "4:7: invalid MAC address \"01:00:5e:00:00:01\": a multicast address"),
            (format!("{B}[[bond.slave]]\nname = \"wlp*\"\nsupplicant = {{ config = \"wpa.conf\" }}\n"), "5:25: supplicant config \"wpa.conf\" must be an absolute path"),
            (format!("{B}[[bond.slave]]\nname = \"wlp*\"\nsupplicant = {{ driver = \"-x foo\" }}\n"), "5:25: invalid supplicant driver \"-x foo\""),
            (format!("{B}[[bond.slave]]\nname = \"wlp*\"\nsupplicant = {{ driver = \"wext\", config = \"driver.conf\" }}\n"), "5:42: supplicant config \"driver.conf\" must be an absolute path"),
            (format!("{B}[[bond.slave]]\nname = \"wlp*\"\nsupplicant = {{ conf = \"/x\" }}\n"), "5:16: unknown field `conf`"),
            (format!("{B}auto_supplicant = {{ config = \"rel\" }}\n{S}"), "3:30: supplicant config \"rel\" must be an absolute path"),
            (B.to_string(), "1:1: bond \"bond0\" has no [[bond.slave]] rule"),
            (format!("{B}[[bond.slave]]\nname = \"bond*\"\n"), "4:8: slave pattern \"bond*\" matches bond \"bond0\": an interface cannot be both a bond and a slave (use any = true"),
            (format!("{B}{S}[[bond]]\nname = \"bond1\"\n[[bond.slave]]\nname = \"bond0\"\n"), "8:8: slave pattern \"bond0\" matches bond \"bond0\""),
            (format!("{B}primary = \"bond1\"\n[[bond.slave]]\nname = \"bond1\"\n[[bond]]\nname = \"bond1\"\n{S}"), "5:8: slave pattern \"bond1\" matches bond \"bond1\""),
        ];
        for (text, want) in &cases {
            let got = toml_err(text);
            let want = format!("t.toml:{want}");
            assert!(
                got.starts_with(&want),
                "for\n{text}\nwant: {want}\ngot:  {got}"
            );
            assert!(!got.contains('\n'), "multi-line error: {got}");
        }
    }

    #[test]
    fn bridge_variant_toml() {
        let c = toml(
            "[[bond]]\nname = \"br0\"\nkind = \"bridge\"\naddresses = [\"10.1.0.1/24\"]\n\
             [bond.dhcp]\nclient = \"none\"\n[[bond.slave]]\nname = \"veth*\"\n",
        )
        .unwrap();
        let b = &c.bonds[0];
        assert!(b.is_bridge());
        assert_eq!(b.primary, None);
        assert_eq!(b.dhcp.client, DhcpClient::None);
        let veth = DeviceFacts {
            name: "veth1".into(),
            ..DeviceFacts::default()
        };
        // Name rules match virtual devices too (that is how tests use veth).
        let (bond, rule) = c.bond_for(&veth).unwrap();
        assert_eq!(bond.name, "br0");
        assert_eq!(rule.matcher, Match::Name("veth*".into()));
    }

    #[test]
    fn json_shape() {
        let c = toml(FULL_TOML).unwrap();
        let v = serde_json::to_value(&c).unwrap();
        let b = &v["bonds"][0];
        assert_eq!(b["name"], "bond0");
        assert_eq!(b["kind"], "bond");
        assert_eq!(b["primary"], "enp3s0");
        assert_eq!(b["addresses"][0], "192.168.0.2/24");
        assert_eq!(b["routes"][1], "10.0.0.0/8 via 192.168.0.254 metric 50");
        assert_eq!(b["options"]["primary_reselect"], "better");
        assert_eq!(b["dhcp"]["client"], "dhclient");
        assert_eq!(
            b["dhcp"]["client_id"],
            "00:02:00:02:2e:2d:01:bd:c3:92:9a:44:2a:c4"
        );
        assert_eq!(b["slaves"][0]["matcher"]["name"], "enp*");
        assert_eq!(b["slaves"][2]["matcher"]["mac"], "68:a3:c4:ac:63:d1");
        assert_eq!(b["slaves"][3]["matcher"]["bus"], "usb");
        assert_eq!(b["slaves"][4]["matcher"]["any"], true);
        assert_eq!(b["slaves"][1]["supplicant"]["driver"], "nl80211");
        assert_eq!(v["source"], "t.toml");
    }
}
