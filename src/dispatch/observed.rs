//! An external DHCP client's lease as the kernel shows it. dhclient, dhcpcd and udhcpc apply
//! their leases from scripts in other processes, so the bond's job cannot be told of a lease
//! as the built-in client tells it: it reads the bond's dynamic IPv4 address and the default
//! route's gateway instead, when the kernel announces a change to them. Which address is the
//! lease, which gateway goes with it and which MAC it was granted to is decided here (pure).

use std::net::{IpAddr, Ipv4Addr};

use super::event::LeaseFacts;
use crate::kernel::{DefaultRoute, Ipv4Address};
use crate::net::{IpNet, Mac};

/// The lease among the bond's IPv4 addresses: not one of the configured static addresses
/// (`statics`), and, of several, one with a finite lifetime first (every client gives its
/// lease's address one; a static address added by hand has none), else the first (the
/// kernel lists a subnet's primary address first).
pub fn dynamic_address(addrs: &[Ipv4Address], statics: &[IpNet]) -> Option<Ipv4Address> {
    let is_static = |a: &Ipv4Address| {
        statics.contains(&IpNet {
            addr: IpAddr::V4(a.address),
            prefix: a.prefix_len,
        })
    };
    let dynamic: Vec<&Ipv4Address> = addrs.iter().filter(|a| !is_static(a)).collect();
    dynamic
        .iter()
        .find(|a| a.valid_secs.is_some())
        .or_else(|| dynamic.first())
        .map(|a| (*a).clone())
}

/// The gateway of the lease at `lease`: the bond's default route with the lowest metric
/// whose gateway is on the lease's subnet, else its default route with the lowest metric.
pub fn gateway(routes: &[DefaultRoute], lease: &Ipv4Address) -> Option<Ipv4Addr> {
    let on_subnet = |g: Ipv4Addr| {
        let mask = u32::MAX
            .checked_shl(32 - u32::from(lease.prefix_len.min(32)))
            .unwrap_or(0);
        u32::from(g) & mask == u32::from(lease.address) & mask
    };
    let best = |pick: &dyn Fn(&&DefaultRoute) -> bool| {
        routes
            .iter()
            .filter(pick)
            .min_by_key(|r| r.metric)
            .map(|r| r.gateway)
    };
    best(&|r| on_subnet(r.gateway)).or_else(|| best(&|_| true))
}

/// The MAC the lease at `address` was granted to: the MAC the client runs with now when its
/// script has just set that address (`set`: the addresses (re)set since the last look; a
/// client's script sets it anew on every grant, renewal or not), else the one it was
/// granted to before (`before`) if it is the same address: a route that changed or a look
/// of the job's own grants nothing.
pub fn granted_to(
    before: Option<(Ipv4Addr, Mac)>,
    set: &[Ipv4Addr],
    address: Ipv4Addr,
    client_mac: Mac,
) -> Mac {
    match before {
        Some((a, mac)) if a == address && !set.contains(&address) => mac,
        _ => client_mac,
    }
}

/// The lease the kernel shows, told as a lease would be: its address and gateway, the name
/// servers the client handed to the system (`dns`, possibly none), and the MAC.
pub fn lease(
    addrs: &[Ipv4Address],
    statics: &[IpNet],
    routes: &[DefaultRoute],
    dns: Vec<Ipv4Addr>,
    mac: impl FnOnce(Ipv4Addr) -> Mac,
) -> Option<LeaseFacts> {
    let a = dynamic_address(addrs, statics)?;
    Some(LeaseFacts {
        address: a.address,
        prefix_len: a.prefix_len,
        gateway: gateway(routes, &a),
        dns,
        mac: mac(a.address),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str, valid: Option<u32>) -> Ipv4Address {
        let (a, p) = s.split_once('/').unwrap();
        Ipv4Address {
            address: a.parse().unwrap(),
            prefix_len: p.parse().unwrap(),
            valid_secs: valid,
        }
    }

    fn route(gw: &str, metric: u32) -> DefaultRoute {
        DefaultRoute {
            gateway: gw.parse().unwrap(),
            metric,
        }
    }

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    const MAC1: Mac = Mac([2, 0, 0, 0, 0, 1]);
    const MAC2: Mac = Mac([2, 0, 0, 0, 0, 2]);

    #[test]
    fn the_lease_is_not_a_static_address() {
        let statics = [net("192.0.2.250/24")];
        // The fail-safe address first, as the bond's own add put it there first.
        let addrs = [addr("192.0.2.250/24", None), addr("192.0.2.150/24", None)];
        assert_eq!(
            dynamic_address(&addrs, &statics),
            Some(addr("192.0.2.150/24", None))
        );
        // Only the static one: no lease.
        assert_eq!(dynamic_address(&addrs[..1], &statics), None);
        assert_eq!(dynamic_address(&[], &statics), None);
    }

    #[test]
    fn of_several_the_one_with_a_lifetime() {
        let addrs = [addr("10.0.0.9/8", None), addr("192.0.2.150/24", Some(600))];
        assert_eq!(
            dynamic_address(&addrs, &[]),
            Some(addr("192.0.2.150/24", Some(600)))
        );
    }

    #[test]
    fn the_gateway_on_the_leases_subnet_first() {
        let lease = addr("192.0.2.150/24", Some(600));
        // A static default route elsewhere with a lower metric, the lease's on its subnet.
        let routes = [route("10.0.0.1", 0), route("192.0.2.1", 100)];
        assert_eq!(gateway(&routes, &lease), "192.0.2.1".parse().ok());
        assert_eq!(
            gateway(&[route("10.0.0.1", 5), route("10.0.0.2", 1)], &lease),
            "10.0.0.2".parse().ok()
        );
        assert_eq!(gateway(&[], &lease), None);
        let host = addr("192.0.2.150/32", None);
        assert_eq!(
            gateway(&[route("192.0.2.1", 0)], &host),
            "192.0.2.1".parse().ok()
        );
    }

    #[test]
    fn the_mac_changes_only_when_the_client_sets_the_address() {
        let a: Ipv4Addr = "192.0.2.150".parse().unwrap();
        let b: Ipv4Addr = "192.0.2.151".parse().unwrap();
        // First seen: the client's.
        assert_eq!(granted_to(None, &[], a, MAC1), MAC1);
        // After a failover the client runs with MAC2, but only its script setting the
        // address again says the server granted it to MAC2.
        assert_eq!(granted_to(Some((a, MAC1)), &[], a, MAC2), MAC1);
        assert_eq!(granted_to(Some((a, MAC1)), &[a], a, MAC2), MAC2);
        // Another address: granted to whom the client speaks for now.
        assert_eq!(granted_to(Some((a, MAC1)), &[], b, MAC2), MAC2);
    }

    #[test]
    fn a_lease_with_everything_hooks_are_told() {
        let l = lease(
            &[
                addr("192.0.2.250/24", None),
                addr("192.0.2.150/24", Some(600)),
            ],
            &[net("192.0.2.250/24")],
            &[route("192.0.2.1", 0)],
            vec!["192.0.2.53".parse().unwrap()],
            |_| MAC1,
        )
        .unwrap();
        assert_eq!(l.address, "192.0.2.150".parse::<Ipv4Addr>().unwrap());
        assert_eq!(l.prefix_len, 24);
        assert_eq!(l.gateway, "192.0.2.1".parse().ok());
        assert_eq!(l.dns, ["192.0.2.53".parse::<Ipv4Addr>().unwrap()]);
        assert_eq!(l.mac, MAC1);
        assert!(lease(&[], &[], &[], vec![], |_| MAC1).is_none());
    }
}
