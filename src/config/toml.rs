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
    excerpt, ifname, BondOptions, Bus, DeviceFacts, IfName, IpNet, Ipv6Mode, Mac, PrimaryReselect,
    Route,
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
    ipv6: Option<Ipv6Mode>,
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
        let span = e.span().unwrap_or(0..0);
        if msg.is_empty() {
            // toml says nothing about a control character in a comment.
            msg = match text.get(span.start..).and_then(|t| t.chars().next()) {
                Some(c) => format!("unexpected character {}", excerpt(&c.to_string())),
                None => "unexpected end of the file".into(),
            };
        }
        src.err(span, msg)
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

    let primary_span = raw.primary.as_ref().map(|p| p.span());
    let primary = toml_primary(src, &name, &kind, raw.primary)?;

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

    let addresses = toml_addresses(src, raw.addresses)?;
    let routes = toml_routes(src, raw.routes)?;

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
    if let (Some(p), Some(pspan)) = (&primary, &primary_span) {
        primary_can_join(src, pspan.clone(), &name, p, &slaves)?;
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
        ipv6: raw.ipv6.unwrap_or_default(),
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

fn toml_primary(
    src: &Src,
    name: &IfName,
    kind: &Kind,
    raw: Option<Spanned<String>>,
) -> Result<Option<IfName>> {
    let Some(p) = raw else { return Ok(None) };
    if *kind == Kind::Bridge {
        return Err(src.err(
            p.span(),
            format!("bridge \"{name}\": bridges have no primary (remove primary)"),
        ));
    }
    let n = at(src, p.span(), check_primary(p.get_ref()))?;
    if n == *name {
        return Err(src.err(
            p.span(),
            format!("primary of \"{name}\" is the bond itself"),
        ));
    }
    Ok(Some(n))
}

/// With only name rules we can tell whether the primary could ever join.
fn primary_can_join(
    src: &Src,
    span: Range<usize>,
    name: &IfName,
    p: &IfName,
    slaves: &[SlaveRule],
) -> Result<()> {
    let all_names = slaves.iter().all(|r| matches!(r.matcher, Match::Name(_)));
    let facts = DeviceFacts {
        name: p.to_string(),
        ..DeviceFacts::default()
    };
    if all_names && !slaves.iter().any(|r| r.matcher.matches(&facts)) {
        return Err(src.err(
            span,
            format!("primary \"{p}\" matches none of the slave rules of \"{name}\""),
        ));
    }
    Ok(())
}

fn toml_addresses(src: &Src, raw: Vec<Spanned<String>>) -> Result<Vec<IpNet>> {
    let mut addresses = Vec::new();
    let mut seen = HashSet::new();
    for a in raw {
        let net = at(src, a.span(), a.get_ref().parse::<IpNet>())?;
        at(src, a.span(), check_address(&net))?;
        if !seen.insert(net.clone()) {
            return Err(src.err(a.span(), format!("address {net} listed twice")));
        }
        addresses.push(net);
    }
    Ok(addresses)
}

fn toml_routes(src: &Src, raw: Vec<Spanned<String>>) -> Result<Vec<Route>> {
    let mut routes = Vec::new();
    let mut seen = HashSet::new();
    for r in raw {
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
    Ok(routes)
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
mod tests;
