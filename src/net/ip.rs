//! Interface addresses with a prefix length, and routes.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use anyhow::{anyhow, bail, Result};
use serde::{Serialize, Serializer};

use super::excerpt;

/// An address with its prefix length ("192.0.2.5/24"); host bits may be set
/// (it is an interface address, as `ip address add` takes).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IpNet {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl IpNet {
    /// 32 for IPv4, 128 for IPv6.
    pub fn max_prefix(&self) -> u8 {
        max_prefix(&self.addr)
    }

    pub fn is_ipv4(&self) -> bool {
        self.addr.is_ipv4()
    }

    /// The same prefix with the host bits cleared.
    pub fn network(&self) -> IpNet {
        let addr = match self.addr {
            IpAddr::V4(a) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                IpAddr::V4((u32::from(a) & mask).into())
            }
            IpAddr::V6(a) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                IpAddr::V6((u128::from(a) & mask).into())
            }
        };
        IpNet {
            addr,
            prefix: self.prefix,
        }
    }
}

fn max_prefix(a: &IpAddr) -> u8 {
    if a.is_ipv4() {
        32
    } else {
        128
    }
}

impl FromStr for IpNet {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> Result<IpNet> {
        let Some((addr, len)) = s.split_once('/') else {
            bail!(
                "invalid address {}: missing /PREFIXLEN (e.g. 192.168.0.2/24)",
                excerpt(s)
            );
        };
        let addr: IpAddr = addr.parse().map_err(|_| {
            anyhow!(
                "invalid address {}: {} is not an IP address",
                excerpt(s),
                excerpt(addr)
            )
        })?;
        let prefix = parse_prefix_len(len).ok_or_else(|| {
            anyhow!(
                "invalid address {}: bad prefix length {}",
                excerpt(s),
                excerpt(len)
            )
        })?;
        if prefix > max_prefix(&addr) {
            bail!(
                "invalid address {}: prefix length {prefix} is more than {}",
                excerpt(s),
                max_prefix(&addr)
            );
        }
        Ok(IpNet { addr, prefix })
    }
}

/// Decimal digits only: `u8::from_str` would also take "+24".
fn parse_prefix_len(s: &str) -> Option<u8> {
    if s.is_empty() || s.len() > 3 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl Serialize for IpNet {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A route on the bond, from the subset of ip-route syntax
/// `[to] PREFIX|default [via GW] [metric N]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Route {
    /// None = default route (IPv4 unless `via` is IPv6).
    pub to: Option<IpNet>,
    pub via: Option<IpAddr>,
    pub metric: Option<u32>,
}

impl Route {
    pub fn is_ipv6(&self) -> bool {
        match (&self.to, &self.via) {
            (Some(to), _) => !to.is_ipv4(),
            (None, Some(via)) => via.is_ipv6(),
            (None, None) => false,
        }
    }
}

const ROUTE_SYNTAX: &str = "[to] PREFIX|default [via GATEWAY] [metric N]";

impl FromStr for Route {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> Result<Route> {
        let bad = |why: String| {
            anyhow!(
                "invalid route {}: {why} (syntax: {ROUTE_SYNTAX})",
                excerpt(s)
            )
        };
        let mut words = s.split_whitespace().peekable();
        if words.peek() == Some(&"to") {
            words.next();
        }
        let to = match words.next() {
            None => return Err(bad("no destination".into())),
            Some("default") => None,
            Some(dest) => Some(parse_route_dest(dest).map_err(bad)?),
        };
        let mut route = Route {
            to,
            via: None,
            metric: None,
        };
        while let Some(word) = words.next() {
            let mut arg = |what: &str| {
                words
                    .next()
                    .ok_or_else(|| bad(format!("{what} needs a value")))
            };
            match word {
                "via" => {
                    let gw = arg("via")?;
                    if route.via.is_some() {
                        return Err(bad("via given twice".into()));
                    }
                    let ip: IpAddr = gw.parse().map_err(|_| {
                        bad(format!("gateway {} is not an IP address", excerpt(gw)))
                    })?;
                    if ip.is_unspecified() || ip.is_multicast() {
                        return Err(bad(format!("{ip} cannot be a gateway")));
                    }
                    route.via = Some(ip);
                }
                // ip-route takes all three spellings for the same thing.
                "metric" | "priority" | "preference" => {
                    let n = arg(word)?;
                    if route.metric.is_some() {
                        return Err(bad("metric given twice".into()));
                    }
                    let metric = n
                        .bytes()
                        .all(|b| b.is_ascii_digit())
                        .then(|| n.parse::<u32>().ok())
                        .flatten()
                        .ok_or_else(|| bad(format!("metric {} is not a number", excerpt(n))))?;
                    route.metric = Some(metric);
                }
                other => return Err(bad(format!("unexpected {}", excerpt(other)))),
            }
        }
        if let (Some(to), Some(via)) = (&route.to, &route.via) {
            if to.is_ipv4() != via.is_ipv4() {
                return Err(bad(format!(
                    "gateway {via} is not of the same family as {to}"
                )));
            }
        }
        Ok(route)
    }
}

/// A route destination: "10.0.0.0/8", or a bare address meaning a host route.
fn parse_route_dest(s: &str) -> std::result::Result<IpNet, String> {
    let net = if s.contains('/') {
        s.parse::<IpNet>().map_err(|e| e.to_string())?
    } else {
        let addr: IpAddr = s
            .parse()
            .map_err(|_| format!("{} is not a prefix or \"default\"", excerpt(s)))?;
        IpNet {
            addr,
            prefix: max_prefix(&addr),
        }
    };
    // The kernel refuses these ("Invalid prefix for given prefix length").
    if net.network() != net {
        return Err(format!(
            "{net} has host bits set (did you mean {}?)",
            net.network()
        ));
    }
    Ok(net)
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.to {
            Some(to) => write!(f, "{to}")?,
            None => f.write_str("default")?,
        }
        if let Some(via) = &self.via {
            write!(f, " via {via}")?;
        }
        if let Some(metric) = self.metric {
            write!(f, " metric {metric}")?;
        }
        Ok(())
    }
}

impl Serialize for Route {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    #[test]
    fn ipnet_and_route_values() {
        let a: IpNet = "2001:db8::1/64".parse().unwrap();
        assert_eq!(a.to_string(), "2001:db8::1/64");
        assert_eq!(a.network().to_string(), "2001:db8::/64");
        assert_eq!(
            net("192.168.0.2/24").network().to_string(),
            "192.168.0.0/24"
        );
        assert_eq!(net("192.168.0.2/0").network().to_string(), "0.0.0.0/0");
        assert_eq!(
            net("192.168.0.2/32").network().to_string(),
            "192.168.0.2/32"
        );
        assert!("1.2.3.4/+4".parse::<IpNet>().is_err());
        assert!("1.2.3.4/".parse::<IpNet>().is_err());

        let r: Route = "to 10.0.0.0/8 via 192.168.0.1 metric 5".parse().unwrap();
        assert_eq!(r.to_string(), "10.0.0.0/8 via 192.168.0.1 metric 5");
        let r: Route = "default via fe80::1".parse().unwrap();
        assert!(r.is_ipv6());
        let r: Route = "10.1.2.3".parse().unwrap();
        assert_eq!(r.to_string(), "10.1.2.3/32");
        let r: Route = "default".parse().unwrap();
        assert_eq!(
            r,
            Route {
                to: None,
                via: None,
                metric: None
            }
        );
        assert!("default via 1.1.1.1 via 2.2.2.2".parse::<Route>().is_err());
        assert!("default metric 1 metric 2".parse::<Route>().is_err());
        assert!("default via 0.0.0.0".parse::<Route>().is_err());
        assert!("to".parse::<Route>().is_err());
    }
}
