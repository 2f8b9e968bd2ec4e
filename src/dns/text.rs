//! What a lease's DNS becomes on this host: the servers and domains that pass the checks
//! (they come from the network), and the resolv.conf text made of them. Pure.

use std::net::IpAddr;

use crate::net::ifname::shown;
use crate::net::IfName;

/// More servers than this are dropped: the libc resolver reads 3, resolved falls back
/// through a few, and nobody needs dozens from one lease.
pub const MAX_SERVERS: usize = 8;
/// The libc resolver's historical search list limit (MAXDNSRCH).
pub const MAX_DOMAINS: usize = 6;
/// RFC 1035: 255 octets on the wire, 253 characters written out.
pub const MAX_DOMAIN_LEN: usize = 253;
const MAX_LABEL_LEN: usize = 63;

/// The DNS configuration hotbond hands to the system for one bond, every entry checked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Dns {
    pub servers: Vec<IpAddr>,
    pub domains: Vec<String>,
}

impl Dns {
    /// Keeps the usable servers and domains, in order, without duplicates; the second value
    /// says, one line each, what was dropped and why (for the log).
    pub fn checked(servers: &[IpAddr], domains: &[String]) -> (Dns, Vec<String>) {
        let mut dns = Dns::default();
        let mut dropped = Vec::new();
        for &ip in servers {
            if let Some(why) = server_problem(ip) {
                dropped.push(format!("name server {ip}: {why}"));
            } else if dns.servers.contains(&ip) {
                continue;
            } else if dns.servers.len() == MAX_SERVERS {
                dropped.push(format!("name server {ip}: more than {MAX_SERVERS}"));
            } else {
                dns.servers.push(ip);
            }
        }
        for d in domains {
            match domain_problem(d) {
                Some(why) => dropped.push(format!("search domain {}: {why}", shown(d))),
                None => {
                    let d = d.strip_suffix('.').unwrap_or(d);
                    if dns.domains.iter().any(|k| k.eq_ignore_ascii_case(d)) {
                        continue;
                    }
                    if dns.domains.len() == MAX_DOMAINS {
                        dropped.push(format!("search domain {d}: more than {MAX_DOMAINS}"));
                    } else {
                        dns.domains.push(d.to_owned());
                    }
                }
            }
        }
        (dns, dropped)
    }

    /// Nothing to hand over: without a server the rest is no use.
    pub fn is_empty(&self) -> bool {
        self.servers.is_empty()
    }

    /// Each server as resolvers write it: an IPv6 link-local one with its scope, the bond
    /// (`fe80::1%bond0`), since it means nothing without one.
    pub fn server_args(&self, bond: &IfName) -> Vec<String> {
        self.servers
            .iter()
            .map(|ip| match ip {
                IpAddr::V6(v6) if v6.is_unicast_link_local() => format!("{v6}%{bond}"),
                ip => ip.to_string(),
            })
            .collect()
    }

    /// resolv.conf lines: `search` then one `nameserver` per server, as `resolvconf -a`
    /// takes them.
    pub fn fragment(&self, bond: &IfName) -> String {
        let mut text = String::new();
        if !self.domains.is_empty() {
            text.push_str(&format!("search {}\n", self.domains.join(" ")));
        }
        for s in self.server_args(bond) {
            text.push_str(&format!("nameserver {s}\n"));
        }
        text
    }

    /// A whole /etc/resolv.conf, saying where it came from.
    pub fn resolv_conf(&self, bond: &IfName) -> String {
        format!(
            "# Written by hotbond from the DHCP lease of {bond}; the previous file comes back\n\
             # when the lease is released or `hotbond down {bond}` runs.\n{}",
            self.fragment(bond)
        )
    }
}

/// Why a server from a lease is not one to query, or None.
fn server_problem(ip: IpAddr) -> Option<&'static str> {
    if ip.is_unspecified() {
        return Some("unspecified");
    }
    if ip.is_loopback() {
        // Only this host's own resolver lives there, and a lease cannot know of it.
        return Some("loopback");
    }
    if ip.is_multicast() {
        return Some("multicast");
    }
    if let IpAddr::V4(v4) = ip {
        if v4.is_broadcast() {
            return Some("broadcast");
        }
    }
    None
}

/// Why a search domain from a lease is not a sane domain name, or None. Letters, digits,
/// '-' and '_' in dot-separated labels (one trailing dot allowed): nothing that could
/// break a resolv.conf line, start an option, or make resolved route rather than search
/// (`~`).
pub fn domain_problem(d: &str) -> Option<String> {
    let name = d.strip_suffix('.').unwrap_or(d);
    if name.is_empty() {
        return Some("is empty".into());
    }
    if name.len() > MAX_DOMAIN_LEN {
        return Some(format!("longer than {MAX_DOMAIN_LEN} characters"));
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Some("has an empty label".into());
        }
        if label.len() > MAX_LABEL_LEN {
            return Some(format!("has a label longer than {MAX_LABEL_LEN}"));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Some("has a label that starts or ends with '-'".into());
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
        {
            return Some(format!("contains {}", shown(&c.to_string())));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ips(v: &[&str]) -> Vec<IpAddr> {
        v.iter().map(|s| s.parse().unwrap()).collect()
    }

    fn strs(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn bond() -> IfName {
        IfName::new("bond0").unwrap()
    }

    #[test]
    fn usable_servers_are_kept_in_order_once_each() {
        let (dns, dropped) = Dns::checked(
            &ips(&[
                "192.0.2.53",
                "0.0.0.0",
                "127.0.0.53",
                "2001:db8::53",
                "224.0.0.251",
                "255.255.255.255",
                "192.0.2.53",
                "::",
                "::1",
                "ff02::fb",
            ]),
            &[],
        );
        assert_eq!(dns.servers, ips(&["192.0.2.53", "2001:db8::53"]));
        assert_eq!(
            dropped,
            [
                "name server 0.0.0.0: unspecified",
                "name server 127.0.0.53: loopback",
                "name server 224.0.0.251: multicast",
                "name server 255.255.255.255: broadcast",
                "name server ::: unspecified",
                "name server ::1: loopback",
                "name server ff02::fb: multicast",
            ]
        );
        let many: Vec<IpAddr> = (1..=10)
            .map(|i| format!("192.0.2.{i}").parse().unwrap())
            .collect();
        let (dns, dropped) = Dns::checked(&many, &[]);
        assert_eq!(dns.servers, many[..MAX_SERVERS]);
        assert_eq!(dropped.len(), 2);
    }

    #[test]
    fn hostile_domains_are_dropped_with_a_reason() {
        let long_label = format!("{}.org", "a".repeat(64));
        let long_name = format!("{}org", "abcdefghi.".repeat(26));
        let (dns, dropped) = Dns::checked(
            &[],
            &strs(&[
                "example.org",
                "corp.example.org.",
                "EXAMPLE.org",
                "evil.org\nnameserver 6.6.6.6",
                "a b",
                "~.",
                "",
                ".",
                "a..b",
                "-x.org",
                "tab\t.org",
                "options ndots:15",
                "dc._msdcs.example.org",
                &long_label,
                &long_name,
                "caf\u{e9}.fr",
            ]),
        );
        assert_eq!(
            dns.domains,
            ["example.org", "corp.example.org", "dc._msdcs.example.org"]
        );
        assert_eq!(dropped.len(), 12, "{dropped:#?}");
        assert!(dropped[0].starts_with("search domain \"evil.org\\x0anameserver"));
        assert!(dropped[0].ends_with("contains \"\\x0a\""), "{}", dropped[0]);
        assert!(dropped.iter().all(|l| !l.contains('\n')), "{dropped:#?}");
        assert!(dropped.iter().any(|l| l.contains("label longer than 63")));
        assert!(dropped.iter().any(|l| l.contains("longer than 253")));
        let many: Vec<String> = (0..8).map(|i| format!("d{i}.example")).collect();
        let (dns, dropped) = Dns::checked(&[], &many);
        assert_eq!(dns.domains, many[..MAX_DOMAINS]);
        assert_eq!(dropped.len(), 2);
    }

    #[test]
    fn the_fragment_and_the_file_carry_what_was_kept() {
        let (dns, _) = Dns::checked(
            &ips(&["192.0.2.53", "fe80::1", "2001:db8::53"]),
            &strs(&["example.org", "lab.example.org"]),
        );
        assert_eq!(
            dns.fragment(&bond()),
            "search example.org lab.example.org\n\
             nameserver 192.0.2.53\n\
             nameserver fe80::1%bond0\n\
             nameserver 2001:db8::53\n"
        );
        let file = dns.resolv_conf(&bond());
        assert!(file.starts_with("# Written by hotbond from the DHCP lease of bond0"));
        assert!(file.ends_with(&dns.fragment(&bond())));
        let (dns, _) = Dns::checked(&ips(&["192.0.2.53"]), &[]);
        assert_eq!(dns.fragment(&bond()), "nameserver 192.0.2.53\n");
        let (dns, _) = Dns::checked(&[], &strs(&["example.org"]));
        assert!(
            dns.is_empty(),
            "domains without a server are no configuration"
        );
    }
}
