//! What a lease means for the kernel: the address with the lease's lifetimes (the kernel
//! expires it by itself if hotbond is gone), and its routes. Only what a lease brought is
//! touched: the configuration's static addresses and routes are never.

use std::net::{IpAddr, Ipv4Addr};

use anyhow::Result;

use crate::dhcp::builtin::{boot_time, Lease};
use crate::kernel::Kernel;
use crate::net::{IpNet, Route};

pub fn address(l: &Lease) -> IpNet {
    IpNet {
        addr: IpAddr::V4(l.address),
        prefix: l.prefix_len,
    }
}

/// The lease's routes as the kernel gets them: on-link ones first, so that a router that
/// option 121 puts on a link of its own is reachable when its routes are added.
pub fn routes(l: &Lease, metric: u32) -> Vec<Route> {
    let mut out: Vec<Route> = l
        .routes
        .iter()
        .map(|r| Route {
            to: (r.prefix_len > 0 || !r.dest.is_unspecified()).then_some(IpNet {
                addr: IpAddr::V4(r.dest),
                prefix: r.prefix_len,
            }),
            via: (!r.gateway.is_unspecified()).then_some(IpAddr::V4(r.gateway)),
            metric: Some(metric),
        })
        .collect();
    out.sort_by_key(|r| r.via.is_some());
    out
}

/// Puts the lease on `index`, or refreshes it: the address's lifetimes are replaced in
/// place (never deleted and added again, which connections would notice), the routes
/// `old` had and this one has not are removed. A route that fails is logged: the address
/// matters most.
pub fn apply(
    k: &mut Kernel,
    bond: &str,
    index: u32,
    old: Option<&Lease>,
    l: &Lease,
    metric: u32,
) -> Result<()> {
    if let Some(old) = old.filter(|o| o.address != l.address) {
        remove(k, bond, index, old, metric);
    }
    let valid = l.lifetime_secs(boot_time());
    // As systemd-networkd: preferred for as long as valid.
    k.replace_address_lifetimes(index, &address(l), valid, valid)?;
    let new = routes(l, metric);
    if let Some(old) = old.filter(|o| o.address == l.address) {
        for r in routes(old, metric).iter().filter(|r| !new.contains(r)) {
            if let Err(e) = k.del_route(index, r) {
                crate::warn!("{bond}: {e:#}");
            }
        }
    }
    for r in &new {
        if let Err(e) = k.replace_route(index, r) {
            crate::warn!("{bond}: {e:#}");
        }
    }
    Ok(())
}

/// Removes the lease's routes and address. Failures are logged: what cannot be removed
/// now expires with the lease's lifetime.
pub fn remove(k: &mut Kernel, bond: &str, index: u32, l: &Lease, metric: u32) {
    for r in routes(l, metric).iter().rev() {
        if let Err(e) = k.del_route(index, r) {
            crate::warn!("{bond}: {e:#}");
        }
    }
    if let Err(e) = k.del_address(index, &address(l)) {
        crate::warn!("{bond}: {e:#}");
    }
}

/// The lease's name servers and search domains, for the resolver.
pub fn dns_of(l: &Lease) -> (Vec<Ipv4Addr>, Vec<String>) {
    let mut domains: Vec<String> = l.domain.iter().cloned().collect();
    for s in &l.search {
        if !domains.contains(s) {
            domains.push(s.clone());
        }
    }
    (l.dns.clone(), domains)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dhcp::builtin::{BootTime, Route as LeaseRoute};
    use std::time::Duration;

    #[test]
    fn routes_from_a_lease() {
        let gw = Ipv4Addr::new(192, 0, 2, 1);
        let l = Lease {
            address: Ipv4Addr::new(192, 0, 2, 10),
            prefix_len: 24,
            server: gw,
            routes: vec![
                LeaseRoute {
                    dest: Ipv4Addr::UNSPECIFIED,
                    prefix_len: 0,
                    gateway: Ipv4Addr::new(10, 9, 0, 1),
                },
                LeaseRoute {
                    dest: Ipv4Addr::new(10, 9, 0, 0),
                    prefix_len: 16,
                    gateway: Ipv4Addr::UNSPECIFIED,
                },
            ],
            dns: vec![],
            domain: Some("lan".into()),
            search: vec!["lan".into(), "corp".into()],
            mtu: None,
            acquired: BootTime::default(),
            lease_time: Duration::from_secs(60),
            t1: Duration::from_secs(30),
            t2: Duration::from_secs(50),
        };
        let r = routes(&l, 1024);
        // The on-link route first, then the default route through the router on it.
        assert_eq!(r[0].to.as_ref().unwrap().to_string(), "10.9.0.0/16");
        assert_eq!(r[0].via, None);
        assert_eq!(r[1].to, None);
        assert_eq!(r[1].via, Some(IpAddr::V4(Ipv4Addr::new(10, 9, 0, 1))));
        assert!(r.iter().all(|r| r.metric == Some(1024)));
        assert_eq!(address(&l).to_string(), "192.0.2.10/24");
        assert_eq!(dns_of(&l).1, vec!["lan".to_string(), "corp".to_string()]);
    }
}
