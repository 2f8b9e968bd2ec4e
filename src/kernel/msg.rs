//! The rtnetlink messages hotbond sends, and the parsers of what the kernel answers. Pure:
//! no socket here, so each message is unit-tested.

use std::net::{IpAddr, Ipv4Addr};

use libc::{IFLA_ADDRESS, IFLA_IFNAME, IFLA_INFO_KIND, IFLA_LINKINFO, IFLA_MASTER, IFLA_OPERSTATE};
use netlink_packet_route::address::{AddressAttribute, AddressMessage, CacheInfo};
use netlink_packet_route::link::{
    BondMode, InfoBond, InfoData, InfoKind, LinkAttribute, LinkFlags, LinkHeader, LinkInfo,
    LinkMessage, LinkMessageBuffer,
};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::AddressFamily;
use netlink_packet_utils::nla::NlasIterator;
use netlink_packet_utils::traits::{Parseable, ParseableParametrized};
use netlink_packet_utils::DecodeError;

use super::{DefaultRoute, FailOverMac, Ipv4Address, Link, OperState};
use crate::net::{BondOptions, IpNet, Mac, Route};

/// A message about the link with this index (to read, change or delete it).
pub fn link_index(index: u32) -> LinkMessage {
    let mut m = LinkMessage::default();
    m.header.index = index;
    m
}

/// A message about the link with this name.
pub fn link_name(name: &str) -> LinkMessage {
    let mut m = LinkMessage::default();
    m.attributes.push(LinkAttribute::IfName(name.to_string()));
    m
}

/// hotbond's bond: active-backup, and fail_over_mac=active so the bond takes the active
/// slave's MAC, which Wi-Fi needs.
fn bond_info(o: &BondOptions) -> InfoData {
    InfoData::Bond(vec![
        InfoBond::Mode(BondMode::ActiveBackup),
        InfoBond::MiiMon(o.miimon),
        InfoBond::UpDelay(o.updelay),
        InfoBond::DownDelay(o.downdelay),
        InfoBond::FailOverMac(FailOverMac::Active.into()),
        InfoBond::PrimaryReselect(o.primary_reselect.kernel_value()),
    ])
}

/// A new link of `kind` called `name`, with its driver's options.
fn link_create(name: &str, kind: InfoKind, data: Option<InfoData>) -> LinkMessage {
    let mut m = link_name(name);
    let mut info = vec![LinkInfo::Kind(kind)];
    info.extend(data.map(LinkInfo::Data));
    m.attributes.push(LinkAttribute::LinkInfo(info));
    m
}

/// A new bond with all its options in the one message: the kernel refuses to change mode
/// and fail_over_mac once the bond has slaves.
pub fn bond_create(name: &str, o: &BondOptions) -> LinkMessage {
    link_create(name, InfoKind::Bond, Some(bond_info(o)))
}

pub fn bridge_create(name: &str) -> LinkMessage {
    link_create(name, InfoKind::Bridge, None)
}

/// hotbond's options for an existing bond.
pub fn bond_options(index: u32, o: &BondOptions) -> LinkMessage {
    let mut m = link_index(index);
    m.attributes.push(LinkAttribute::LinkInfo(vec![
        LinkInfo::Kind(InfoKind::Bond),
        LinkInfo::Data(bond_info(o)),
    ]));
    m
}

/// Makes `slave` the active slave of the bond `index`. Sent as RTM_NEWLINK without
/// NLM_F_CREATE: for an existing link that is the driver's changelink.
pub fn bond_active_slave(index: u32, slave: u32) -> LinkMessage {
    let mut m = link_index(index);
    m.attributes.push(LinkAttribute::LinkInfo(vec![
        LinkInfo::Kind(InfoKind::Bond),
        LinkInfo::Data(InfoData::Bond(vec![InfoBond::ActivePort(slave)])),
    ]));
    m
}

/// The bond's link monitor interval (`miimon`), in ms.
pub fn bond_miimon(index: u32, ms: u32) -> LinkMessage {
    let mut m = link_index(index);
    m.attributes.push(LinkAttribute::LinkInfo(vec![
        LinkInfo::Kind(InfoKind::Bond),
        LinkInfo::Data(InfoData::Bond(vec![InfoBond::MiiMon(ms)])),
    ]));
    m
}

/// Administratively up or down: only IFF_UP changes.
pub fn set_up(index: u32, up: bool) -> LinkMessage {
    let mut m = link_index(index);
    m.header.flags = if up {
        LinkFlags::Up
    } else {
        LinkFlags::empty()
    };
    m.header.change_mask = LinkFlags::Up;
    m
}

/// The link's MTU (a bond passes it on to its slaves).
pub fn set_mtu(index: u32, mtu: u32) -> LinkMessage {
    let mut m = link_index(index);
    m.attributes.push(LinkAttribute::Mtu(mtu));
    m
}

/// Enslaves the link to `master`; None releases it.
pub fn set_master(index: u32, master: Option<u32>) -> LinkMessage {
    let mut m = link_index(index);
    m.attributes
        .push(LinkAttribute::Controller(master.unwrap_or(0)));
    m
}

/// An address on a link, with the broadcast address `ip address add` would give it.
pub fn address(index: u32, net: &IpNet) -> AddressMessage {
    let mut m = AddressMessage::default();
    m.header.index = index;
    m.header.prefix_len = net.prefix;
    m.header.family = match net.addr {
        IpAddr::V4(_) => AddressFamily::Inet,
        IpAddr::V6(_) => AddressFamily::Inet6,
    };
    m.attributes.push(AddressAttribute::Local(net.addr));
    m.attributes.push(AddressAttribute::Address(net.addr));
    if let IpAddr::V4(v4) = net.addr {
        if net.prefix < 31 {
            let mask = u32::MAX.checked_shr(u32::from(net.prefix)).unwrap_or(0);
            let brd = u32::from(v4) | mask;
            m.attributes
                .push(AddressAttribute::Broadcast(Ipv4Addr::from(brd)));
        }
    }
    m
}

/// An address with lifetimes in seconds (u32::MAX: forever). The kernel removes it when
/// `valid` runs out, so a DHCP lease's address does not outlive the lease even when
/// nobody is left to remove it.
pub fn address_with_lifetimes(
    index: u32,
    net: &IpNet,
    valid: u32,
    preferred: u32,
) -> AddressMessage {
    let mut m = address(index, net);
    let mut lifetimes = CacheInfo::default();
    lifetimes.ifa_preferred = preferred.min(valid);
    lifetimes.ifa_valid = valid;
    m.attributes.push(AddressAttribute::CacheInfo(lifetimes));
    m
}

fn route_address(a: IpAddr) -> RouteAddress {
    match a {
        IpAddr::V4(a) => RouteAddress::Inet(a),
        IpAddr::V6(a) => RouteAddress::Inet6(a),
    }
}

/// A static route in the main table out of the link, as `ip route` makes it.
pub fn route(index: u32, r: &Route) -> RouteMessage {
    let mut m = RouteMessage::default();
    let v6 = matches!(r.to.as_ref().map(|t| t.addr), Some(IpAddr::V6(_)))
        || matches!(r.via, Some(IpAddr::V6(_)));
    m.header.address_family = if v6 {
        AddressFamily::Inet6
    } else {
        AddressFamily::Inet
    };
    m.header.table = RouteHeader::RT_TABLE_MAIN;
    m.header.protocol = RouteProtocol::Static;
    m.header.kind = RouteType::Unicast;
    m.header.scope = if r.via.is_some() {
        RouteScope::Universe
    } else {
        RouteScope::Link
    };
    if let Some(to) = &r.to {
        m.header.destination_prefix_length = to.prefix;
        m.attributes
            .push(RouteAttribute::Destination(route_address(to.addr)));
    }
    if let Some(via) = r.via {
        m.attributes
            .push(RouteAttribute::Gateway(route_address(via)));
    }
    if let Some(metric) = r.metric {
        m.attributes.push(RouteAttribute::Priority(metric));
    }
    m.attributes.push(RouteAttribute::Oif(index));
    m
}

/// The link a link message (its payload, after the netlink header) is about. Only the
/// attributes hotbond uses are parsed, each with the crate's parser: the rest of a link
/// message (statistics, per-family settings, a bond's options) is most of its size, and
/// parsing all of it costs milliseconds per message under emulation, in a failover's burst.
pub fn link_from_bytes(payload: &[u8]) -> Result<Link, DecodeError> {
    let buf = LinkMessageBuffer::new_checked(payload)?;
    let header = LinkHeader::parse(&buf)?;
    let mut l = Link {
        index: header.index,
        name: String::new(),
        mac: None,
        up: header.flags.contains(LinkFlags::Up),
        oper: OperState::Unknown,
        carrier: header.flags.contains(LinkFlags::LowerUp),
        master: None,
        kind: None,
    };
    for nla in buf.attributes() {
        let nla = nla?;
        match nla.kind() {
            IFLA_IFNAME | IFLA_ADDRESS | IFLA_OPERSTATE | IFLA_MASTER => {
                match LinkAttribute::parse_with_param(&nla, AddressFamily::Unspec)? {
                    LinkAttribute::IfName(n) => l.name = n,
                    LinkAttribute::Address(b) => l.mac = Mac::from_slice(&b),
                    LinkAttribute::OperState(s) => l.oper = OperState::from(s),
                    LinkAttribute::Controller(i) if i != 0 => l.master = Some(i),
                    _ => {}
                }
            }
            IFLA_LINKINFO => {
                for info in NlasIterator::new(nla.value()) {
                    let info = info?;
                    if info.kind() == IFLA_INFO_KIND {
                        l.kind = Some(InfoKind::parse(&info)?.to_string());
                    }
                }
            }
            _ => {}
        }
    }
    Ok(l)
}

/// The address an address message is about. IPv6 link-local ones are left out: the kernel
/// owns those.
pub fn address_from_msg(a: &AddressMessage) -> Option<IpNet> {
    let local = a.attributes.iter().find_map(|x| match x {
        AddressAttribute::Local(ip) => Some(*ip),
        _ => None,
    });
    let addr = local.or_else(|| {
        a.attributes.iter().find_map(|x| match x {
            AddressAttribute::Address(ip) => Some(*ip),
            _ => None,
        })
    })?;
    if let IpAddr::V6(v6) = addr {
        if (v6.segments()[0] & 0xffc0) == 0xfe80 {
            return None;
        }
    }
    Some(IpNet {
        addr,
        prefix: a.header.prefix_len,
    })
}

/// An IPv4 address message as [`Ipv4Address`], with its valid lifetime; None for IPv6.
pub fn ipv4_address_from_msg(a: &AddressMessage) -> Option<Ipv4Address> {
    let IpAddr::V4(address) = address_from_msg(a)?.addr else {
        return None;
    };
    let valid = a.attributes.iter().find_map(|x| match x {
        AddressAttribute::CacheInfo(c) => Some(c.ifa_valid),
        _ => None,
    });
    Some(Ipv4Address {
        address,
        prefix_len: a.header.prefix_len,
        valid_secs: valid.filter(|v| *v != u32::MAX),
    })
}

/// A dump request for the IPv4 routes.
pub fn ipv4_routes() -> RouteMessage {
    let mut m = RouteMessage::default();
    m.header.address_family = AddressFamily::Inet;
    m
}

/// The interface a route leaves by.
pub fn route_oif(r: &RouteMessage) -> Option<u32> {
    r.attributes.iter().find_map(|a| match a {
        RouteAttribute::Oif(i) => Some(*i),
        _ => None,
    })
}

/// A route message as a [`DefaultRoute`] of the main table by a gateway, leaving by `index`;
/// None for any other route.
pub fn default_route_from_msg(r: &RouteMessage, index: u32) -> Option<DefaultRoute> {
    let h = &r.header;
    let table = r
        .attributes
        .iter()
        .find_map(|a| match a {
            RouteAttribute::Table(t) => Some(*t),
            _ => None,
        })
        .unwrap_or(u32::from(h.table));
    if h.address_family != AddressFamily::Inet
        || h.destination_prefix_length != 0
        || table != u32::from(RouteHeader::RT_TABLE_MAIN)
        || h.kind != RouteType::Unicast
        || route_oif(r) != Some(index)
    {
        return None;
    }
    let gateway = r.attributes.iter().find_map(|a| match a {
        RouteAttribute::Gateway(RouteAddress::Inet(g)) => Some(*g),
        _ => None,
    })?;
    let metric = r.attributes.iter().find_map(|a| match a {
        RouteAttribute::Priority(m) => Some(*m),
        _ => None,
    });
    Some(DefaultRoute {
        gateway,
        metric: metric.unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::PrimaryReselect;
    use netlink_packet_route::link::State;
    use netlink_packet_utils::Emitable;

    /// A link message as the kernel sends it (the payload after the netlink header).
    fn bytes(m: &LinkMessage) -> Vec<u8> {
        let mut b = vec![0; m.buffer_len()];
        m.emit(&mut b);
        b
    }

    fn info(m: &LinkMessage) -> &[LinkInfo] {
        m.attributes
            .iter()
            .find_map(|a| match a {
                LinkAttribute::LinkInfo(i) => Some(i.as_slice()),
                _ => None,
            })
            .expect("the message has link info")
    }

    #[test]
    fn a_new_bond_carries_all_of_hotbonds_options() {
        let o = BondOptions {
            miimon: 50,
            updelay: 200,
            downdelay: 100,
            primary_reselect: PrimaryReselect::Failure,
        };
        let m = bond_create("bond0", &o);
        assert!(m
            .attributes
            .contains(&LinkAttribute::IfName("bond0".into())));
        assert_eq!(
            info(&m),
            [
                LinkInfo::Kind(InfoKind::Bond),
                LinkInfo::Data(InfoData::Bond(vec![
                    InfoBond::Mode(BondMode::ActiveBackup),
                    InfoBond::MiiMon(50),
                    InfoBond::UpDelay(200),
                    InfoBond::DownDelay(100),
                    InfoBond::FailOverMac(1),
                    InfoBond::PrimaryReselect(2),
                ])),
            ]
        );
        // Changing an existing bond sends the same options, by index.
        let set = bond_options(7, &o);
        assert_eq!(set.header.index, 7);
        assert_eq!(info(&set), info(&m));
    }

    #[test]
    fn a_new_bridge_has_only_its_kind() {
        let m = bridge_create("br0");
        assert_eq!(info(&m), [LinkInfo::Kind(InfoKind::Bridge)]);
    }

    #[test]
    fn up_and_down_change_only_iff_up() {
        let up = set_up(3, true);
        assert_eq!(up.header.index, 3);
        assert_eq!(up.header.flags, LinkFlags::Up);
        assert_eq!(up.header.change_mask, LinkFlags::Up);
        let down = set_up(3, false);
        assert_eq!(down.header.flags, LinkFlags::empty());
        assert_eq!(down.header.change_mask, LinkFlags::Up);
    }

    #[test]
    fn releasing_a_slave_sets_master_zero() {
        assert_eq!(
            set_master(3, Some(9)).attributes,
            vec![LinkAttribute::Controller(9)]
        );
        assert_eq!(
            set_master(3, None).attributes,
            vec![LinkAttribute::Controller(0)]
        );
    }

    #[test]
    fn an_ipv4_address_gets_its_broadcast() {
        let m = address(4, &"192.168.1.10/24".parse().unwrap());
        assert_eq!(m.header.index, 4);
        assert_eq!(m.header.prefix_len, 24);
        assert_eq!(m.header.family, AddressFamily::Inet);
        assert!(m.attributes.contains(&AddressAttribute::Broadcast(
            "192.168.1.255".parse().unwrap()
        )));
        // A /31 or /32 has no broadcast address; IPv6 has none at all.
        let p2p = address(4, &"10.0.0.1/31".parse().unwrap());
        assert!(!p2p
            .attributes
            .iter()
            .any(|a| matches!(a, AddressAttribute::Broadcast(_))));
        let v6 = address(4, &"fd00::2/64".parse().unwrap());
        assert_eq!(v6.header.family, AddressFamily::Inet6);
        assert_eq!(v6.attributes.len(), 2);
    }

    #[test]
    fn an_address_with_lifetimes_carries_them() {
        let m = address_with_lifetimes(4, &"192.168.1.10/24".parse().unwrap(), 120, 300);
        let lifetimes = m.attributes.iter().find_map(|a| match a {
            AddressAttribute::CacheInfo(c) => Some((c.ifa_valid, c.ifa_preferred)),
            _ => None,
        });
        assert_eq!(lifetimes, Some((120, 120)), "preferred never beyond valid");
        assert!(m
            .attributes
            .contains(&AddressAttribute::Local("192.168.1.10".parse().unwrap())));
    }

    #[test]
    fn an_address_reads_back_but_link_local_ones_do_not() {
        let net: IpNet = "fd00::2/64".parse().unwrap();
        assert_eq!(address_from_msg(&address(4, &net)), Some(net));
        let net: IpNet = "192.168.1.10/24".parse().unwrap();
        assert_eq!(address_from_msg(&address(4, &net)), Some(net));
        let ll = address(4, &"fe80::1/64".parse().unwrap());
        assert_eq!(address_from_msg(&ll), None);
    }

    #[test]
    fn a_default_route_via_a_gateway() {
        let r: Route = "default via 192.168.1.1 metric 100".parse().unwrap();
        let m = route(4, &r);
        assert_eq!(m.header.address_family, AddressFamily::Inet);
        assert_eq!(m.header.table, RouteHeader::RT_TABLE_MAIN);
        assert_eq!(m.header.protocol, RouteProtocol::Static);
        assert_eq!(m.header.scope, RouteScope::Universe);
        assert_eq!(m.header.destination_prefix_length, 0);
        assert_eq!(
            m.attributes,
            vec![
                RouteAttribute::Gateway(RouteAddress::Inet("192.168.1.1".parse().unwrap())),
                RouteAttribute::Priority(100),
                RouteAttribute::Oif(4),
            ]
        );
    }

    #[test]
    fn an_on_link_ipv6_route() {
        let r: Route = "fd00:1::/48".parse().unwrap();
        let m = route(4, &r);
        assert_eq!(m.header.address_family, AddressFamily::Inet6);
        assert_eq!(m.header.scope, RouteScope::Link);
        assert_eq!(m.header.destination_prefix_length, 48);
        assert_eq!(
            m.attributes,
            vec![
                RouteAttribute::Destination(RouteAddress::Inet6("fd00:1::".parse().unwrap())),
                RouteAttribute::Oif(4),
            ]
        );
    }

    #[test]
    fn a_link_reads_back() {
        let mut m = bond_create("bond0", &BondOptions::default());
        m.header.index = 5;
        m.header.flags = LinkFlags::Up | LinkFlags::LowerUp;
        m.attributes.extend([
            LinkAttribute::Address(vec![2, 0, 0, 0, 0, 7]),
            LinkAttribute::OperState(State::Dormant),
            LinkAttribute::Controller(9),
        ]);
        assert_eq!(
            link_from_bytes(&bytes(&m)).unwrap(),
            Link {
                index: 5,
                name: "bond0".into(),
                mac: Some(Mac([2, 0, 0, 0, 0, 7])),
                up: true,
                oper: OperState::Dormant,
                carrier: true,
                master: Some(9),
                kind: Some("bond".into()),
            }
        );
        // No MAC of Ethernet's length (e.g. a tunnel), no master, no state.
        let mut bare = link_name("tun0");
        bare.attributes
            .push(LinkAttribute::Address(vec![10, 0, 0, 1]));
        bare.attributes.push(LinkAttribute::Controller(0));
        let l = link_from_bytes(&bytes(&bare)).unwrap();
        assert_eq!((l.mac, l.master, l.oper), (None, None, OperState::Unknown));
        assert!(!l.up && !l.carrier);
    }

    #[test]
    fn an_ipv4_address_reads_back_with_its_lifetime() {
        let net: IpNet = "192.0.2.150/24".parse().unwrap();
        let m = address_with_lifetimes(4, &net, 600, 600);
        let a = ipv4_address_from_msg(&m).unwrap();
        assert_eq!(a.address, "192.0.2.150".parse::<Ipv4Addr>().unwrap());
        assert_eq!(a.prefix_len, 24);
        assert_eq!(a.valid_secs, Some(600));
        // Forever: no lifetime; no cache info at all: none either.
        assert_eq!(
            ipv4_address_from_msg(&address_with_lifetimes(4, &net, u32::MAX, u32::MAX))
                .unwrap()
                .valid_secs,
            None
        );
        assert_eq!(
            ipv4_address_from_msg(&address(4, &net)).unwrap().valid_secs,
            None
        );
        let v6: IpNet = "fd00::1/64".parse().unwrap();
        assert_eq!(ipv4_address_from_msg(&address(4, &v6)), None);
    }

    #[test]
    fn only_a_main_default_route_by_a_gateway_on_the_link_is_one() {
        let r = |s: &str| route(4, &s.parse::<Route>().unwrap());
        assert_eq!(
            default_route_from_msg(&r("default via 192.0.2.1 metric 100"), 4),
            Some(DefaultRoute {
                gateway: "192.0.2.1".parse().unwrap(),
                metric: 100
            })
        );
        assert_eq!(
            default_route_from_msg(&r("default via 192.0.2.1"), 4).map(|d| d.metric),
            Some(0)
        );
        // Another link, another destination, IPv6.
        assert_eq!(default_route_from_msg(&r("default via 192.0.2.1"), 5), None);
        assert_eq!(
            default_route_from_msg(&r("10.0.0.0/8 via 192.0.2.1"), 4),
            None
        );
        assert_eq!(default_route_from_msg(&r("default via fd00::1"), 4), None);
        let mut local = r("default via 192.0.2.1");
        local.header.table = 255;
        assert_eq!(default_route_from_msg(&local, 4), None);
    }
}
