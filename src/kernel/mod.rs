//! Everything that talks to the kernel: rtnetlink for links, addresses, routes and link
//! events; sysfs for the bonding attributes netlink cannot set by name (`primary`), for
//! device facts (bus, wireless) and radio switches (rfkill); per-device IPv6 sysctls.
//! Nothing else in hotbond touches the kernel.
//!
//! [`Kernel`] is the facade the rest of hotbond uses; `msg` builds and parses the messages
//! (pure), `socket` carries them, [`LinkEvents`] waits for link changes, `sysfs` reads and
//! writes the bonding attributes and reads radio switches, `sysctl` sets a master's IPv6.

mod events;
mod msg;
mod socket;
mod sysctl;
mod sysfs;

use std::fmt;
use std::net::Ipv4Addr;

use anyhow::{Context, Result};
use netlink_packet_core::{NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REPLACE};
use netlink_packet_route::address::AddressMessage;
use netlink_packet_route::link::{LinkMessage, State};
use netlink_packet_route::RouteNetlinkMessage;
use nix::errno::Errno;
use serde::{Serialize, Serializer};

use crate::net::{BondOptions, IpNet, Mac, Route};
use socket::{Error, Rtnl};

pub use events::{LinkEvents, Wake};
pub use netlink_packet_route::link::BondMode;
pub use sysctl::{disable_ipv6, set_ipv6_stable_privacy};
pub use sysfs::{
    bond_active_slave, bond_fail_over_mac, bond_miimon, bond_mode, bond_primary, bond_slaves,
    bonding_loaded, device_facts, link_mtu, load_bonding, lower_links, radio_rfkill, rfkill_ifaces,
    set_bond_primary, slave_link_up, Rfkill, RfkillDev,
};

/// What hotbond needs to know about one network interface.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Link {
    pub index: u32,
    pub name: String,
    pub mac: Option<Mac>,
    /// Administratively up (IFF_UP).
    pub up: bool,
    pub oper: OperState,
    pub carrier: bool,
    /// Index of the bond or bridge this link is enslaved to.
    pub master: Option<u32>,
    /// "bond", "bridge", "veth", ... when the link has a driver kind.
    pub kind: Option<String>,
}

impl Link {
    pub fn oper_up(&self) -> bool {
        self.oper == OperState::Up
    }
}

/// An IPv4 address on a link, as a DHCP lease's shows: with its valid lifetime.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ipv4Address {
    pub address: Ipv4Addr,
    pub prefix_len: u8,
    /// Seconds left before the kernel removes it; None: forever.
    pub valid_secs: Option<u32>,
}

/// An IPv4 default route (main table) by a gateway.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DefaultRoute {
    pub gateway: Ipv4Addr,
    pub metric: u32,
}

/// RFC 2863 operational state (IFLA_OPERSTATE). Shown as `ip link` shows it, in lower case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OperState {
    Unknown,
    NotPresent,
    Down,
    LowerLayerDown,
    Testing,
    /// Not up but waiting for something outside the driver: Wi-Fi before authorisation.
    Dormant,
    Up,
}

impl From<State> for OperState {
    fn from(s: State) -> OperState {
        match s {
            State::Up => OperState::Up,
            State::Down => OperState::Down,
            State::Dormant => OperState::Dormant,
            State::LowerLayerDown => OperState::LowerLayerDown,
            State::NotPresent => OperState::NotPresent,
            State::Testing => OperState::Testing,
            _ => OperState::Unknown,
        }
    }
}

impl fmt::Display for OperState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // pad: status lays these out in columns.
        f.pad(match self {
            OperState::Unknown => "unknown",
            OperState::NotPresent => "notpresent",
            OperState::Down => "down",
            OperState::LowerLayerDown => "lowerlayerdown",
            OperState::Testing => "testing",
            OperState::Dormant => "dormant",
            OperState::Up => "up",
        })
    }
}

impl Serialize for OperState {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The bond's `fail_over_mac`: which MAC the bond and its slaves carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailOverMac {
    /// All slaves take the bond's MAC.
    None,
    /// The bond takes the active slave's MAC: what Wi-Fi needs, and what hotbond sets.
    Active,
    Follow,
    Other(u8),
}

impl From<u8> for FailOverMac {
    fn from(v: u8) -> FailOverMac {
        match v {
            0 => FailOverMac::None,
            1 => FailOverMac::Active,
            2 => FailOverMac::Follow,
            v => FailOverMac::Other(v),
        }
    }
}

impl From<FailOverMac> for u8 {
    fn from(v: FailOverMac) -> u8 {
        match v {
            FailOverMac::None => 0,
            FailOverMac::Active => 1,
            FailOverMac::Follow => 2,
            FailOverMac::Other(v) => v,
        }
    }
}

impl fmt::Display for FailOverMac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailOverMac::None => f.pad("none"),
            FailOverMac::Active => f.pad("active"),
            FailOverMac::Follow => f.pad("follow"),
            FailOverMac::Other(v) => write!(f, "{v}"),
        }
    }
}

/// A synchronous rtnetlink connection. Cheap to open: hooks open one per run.
pub struct Kernel {
    rtnl: Rtnl,
}

impl Kernel {
    pub fn open() -> Result<Kernel> {
        Ok(Kernel {
            rtnl: Rtnl::open()?,
        })
    }

    /// A request that expects only the kernel's ack.
    fn ack(&mut self, msg: RouteNetlinkMessage, flags: u16) -> Result<(), Error> {
        self.rtnl.request(msg, NLM_F_ACK | flags).map(drop)
    }

    pub fn links(&mut self) -> Result<Vec<Link>> {
        let request = RouteNetlinkMessage::GetLink(LinkMessage::default());
        Ok(self.rtnl.request_read(request, NLM_F_DUMP, new_link)?)
    }

    /// The link called `name`, or None when there is no such interface.
    pub fn link(&mut self, name: &str) -> Result<Option<Link>> {
        let request = RouteNetlinkMessage::GetLink(msg::link_name(name));
        match self.rtnl.request_read(request, 0, new_link) {
            Ok(links) => Ok(links.into_iter().next()),
            Err(Error::Refused(Errno::ENODEV)) => Ok(None),
            Err(e) => Err(e).with_context(|| format!("cannot read link {name}")),
        }
    }

    /// The bond's slaves that still exist, in the bond's order.
    pub fn bond_slave_links(&mut self, bond: &str) -> Result<Vec<Link>> {
        let mut links = Vec::new();
        for s in bond_slaves(bond) {
            links.extend(self.link(&s)?);
        }
        Ok(links)
    }

    /// Creates an active-backup bond with all of hotbond's options.
    pub fn create_bond(&mut self, name: &str, o: &BondOptions) -> Result<()> {
        let m = RouteNetlinkMessage::NewLink(msg::bond_create(name, o));
        self.ack(m, NLM_F_CREATE | NLM_F_EXCL)
            .with_context(|| format!("cannot create bond {name}"))
    }

    pub fn create_bridge(&mut self, name: &str) -> Result<()> {
        let m = RouteNetlinkMessage::NewLink(msg::bridge_create(name));
        self.ack(m, NLM_F_CREATE | NLM_F_EXCL)
            .with_context(|| format!("cannot create bridge {name}"))
    }

    /// Changes the options of an existing bond that has no slaves yet (e.g. the `bond0` that
    /// `modprobe bonding` created by itself with the kernel defaults).
    pub fn set_bond_options(&mut self, index: u32, o: &BondOptions) -> Result<()> {
        let m = RouteNetlinkMessage::SetLink(msg::bond_options(index, o));
        self.ack(m, 0).context("cannot set bond options")
    }

    /// Makes `slave` the active slave of the active-backup bond `bond` now, rather than at
    /// the driver's next link monitor tick. The driver refuses a slave it does not see up.
    pub fn set_active_slave(&mut self, bond: u32, slave: &Link) -> Result<()> {
        let m = RouteNetlinkMessage::NewLink(msg::bond_active_slave(bond, slave.index));
        self.ack(m, 0)
            .with_context(|| format!("cannot make {} the active slave", slave.name))
    }

    /// Makes the bond's link monitor look at its slaves now rather than at its next tick,
    /// keeping its interval `miimon` (ms, not 0). Setting the interval queues a look at
    /// once, which does nothing while the next tick's look is queued; setting it to 0
    /// cancels that look first. Both go in one datagram, so the bond is never left without
    /// a monitor.
    pub fn bond_monitor_now(&mut self, bond: u32, miimon: u32) -> Result<()> {
        let set = |ms| RouteNetlinkMessage::NewLink(msg::bond_miimon(bond, ms));
        self.rtnl
            .requests_at_once(vec![set(0), set(miimon)])
            .context("cannot ask the bonding driver to look at its links")
    }

    pub fn set_up(&mut self, index: u32, up: bool) -> Result<()> {
        let m = RouteNetlinkMessage::SetLink(msg::set_up(index, up));
        self.ack(m, 0).with_context(|| {
            format!(
                "cannot set link #{index} {}",
                if up { "up" } else { "down" }
            )
        })
    }

    pub fn set_mtu(&mut self, index: u32, mtu: u32) -> Result<()> {
        let m = RouteNetlinkMessage::SetLink(msg::set_mtu(index, mtu));
        self.ack(m, 0)
            .with_context(|| format!("cannot set the MTU of link #{index} to {mtu}"))
    }

    /// `master = None` releases the link from its bond or bridge.
    pub fn set_master(&mut self, index: u32, master: Option<u32>) -> Result<()> {
        let m = RouteNetlinkMessage::SetLink(msg::set_master(index, master));
        self.ack(m, 0)
            .with_context(|| format!("cannot set master of link #{index}"))
    }

    pub fn delete_link(&mut self, index: u32) -> Result<()> {
        let m = RouteNetlinkMessage::DelLink(msg::link_index(index));
        self.ack(m, 0)
            .with_context(|| format!("cannot delete link #{index}"))
    }

    /// Addresses on a link (IPv6 link-local ones left out: the kernel owns those).
    pub fn addresses(&mut self, index: u32) -> Result<Vec<IpNet>> {
        self.link_addresses(index, msg::address_from_msg)
    }

    /// The IPv4 addresses on a link, with their lifetimes, in the kernel's order.
    pub fn ipv4_addresses(&mut self, index: u32) -> Result<Vec<Ipv4Address>> {
        self.link_addresses(index, msg::ipv4_address_from_msg)
    }

    /// The IPv4 default routes by a gateway that leave by a link (main table).
    pub fn default_routes(&mut self, index: u32) -> Result<Vec<DefaultRoute>> {
        let request = RouteNetlinkMessage::GetRoute(msg::ipv4_routes());
        self.dump(request, |m| match m {
            RouteNetlinkMessage::NewRoute(r) => msg::default_route_from_msg(r, index),
            _ => None,
        })
    }

    /// The addresses of link `index` in an address dump, as `map` reads them.
    fn link_addresses<T>(
        &mut self,
        index: u32,
        map: impl Fn(&AddressMessage) -> Option<T>,
    ) -> Result<Vec<T>> {
        let request = RouteNetlinkMessage::GetAddress(AddressMessage::default());
        self.dump(request, |m| match m {
            RouteNetlinkMessage::NewAddress(a) if a.header.index == index => map(a),
            _ => None,
        })
    }

    /// Dumps what `request` asks for and keeps what `map` makes of each message.
    fn dump<T>(
        &mut self,
        request: RouteNetlinkMessage,
        map: impl FnMut(&RouteNetlinkMessage) -> Option<T>,
    ) -> Result<Vec<T>> {
        let msgs = self.rtnl.request(request, NLM_F_DUMP)?;
        Ok(msgs.iter().filter_map(map).collect())
    }

    /// Adds an address; one that is already there is fine (hooks may run twice).
    pub fn add_address(&mut self, index: u32, net: &IpNet) -> Result<()> {
        let m = RouteNetlinkMessage::NewAddress(msg::address(index, net));
        match self.ack(m, NLM_F_CREATE | NLM_F_EXCL) {
            Ok(()) | Err(Error::Refused(Errno::EEXIST)) => Ok(()),
            Err(e) => Err(e).with_context(|| format!("cannot add address {net}")),
        }
    }

    /// Adds an address with lifetimes (seconds, u32::MAX forever), or gives the one there
    /// new lifetimes in place: a DHCP renewal must never delete and re-add the address,
    /// which would disturb the connections using it.
    pub fn replace_address_lifetimes(
        &mut self,
        index: u32,
        net: &IpNet,
        valid: u32,
        preferred: u32,
    ) -> Result<()> {
        let m = msg::address_with_lifetimes(index, net, valid, preferred);
        self.ack(
            RouteNetlinkMessage::NewAddress(m),
            NLM_F_CREATE | NLM_F_REPLACE,
        )
        .with_context(|| format!("cannot set address {net} with a lifetime of {valid} s"))
    }

    /// Removes an address; one that is already gone is fine.
    pub fn del_address(&mut self, index: u32, net: &IpNet) -> Result<()> {
        let m = RouteNetlinkMessage::DelAddress(msg::address(index, net));
        match self.ack(m, 0) {
            Ok(()) | Err(Error::Refused(Errno::EADDRNOTAVAIL | Errno::ENOENT)) => Ok(()),
            Err(e) => Err(e).with_context(|| format!("cannot remove address {net}")),
        }
    }

    /// `ip address flush dev X`: a slave must carry no addresses of its own.
    pub fn flush_addresses(&mut self, index: u32) -> Result<()> {
        for net in self.addresses(index)? {
            self.del_address(index, &net)?;
        }
        Ok(())
    }

    /// `ip route replace ROUTE dev X`, as the seed does.
    pub fn replace_route(&mut self, index: u32, r: &Route) -> Result<()> {
        let m = RouteNetlinkMessage::NewRoute(msg::route(index, r));
        self.ack(m, NLM_F_CREATE | NLM_F_REPLACE)
            .with_context(|| format!("cannot add route {r}"))
    }

    /// The gateway of the IPv4 default route out of link `index`, of the lowest metric if
    /// there are several.
    pub fn default_gateway_v4(&mut self, index: u32) -> Result<Option<Ipv4Addr>> {
        Ok(self
            .default_routes(index)?
            .into_iter()
            .min_by_key(|r| r.metric)
            .map(|r| r.gateway))
    }

    /// Removes a route; one that is already gone (or whose link is) is fine.
    pub fn del_route(&mut self, index: u32, r: &Route) -> Result<()> {
        let m = RouteNetlinkMessage::DelRoute(msg::route(index, r));
        match self.ack(m, 0) {
            Ok(()) | Err(Error::Refused(Errno::ESRCH | Errno::ENODEV)) => Ok(()),
            Err(e) => Err(e).with_context(|| format!("cannot remove route {r}")),
        }
    }
}

/// The link a new-link message is about; None for any other message.
fn new_link(m: &socket::Raw) -> Result<Option<Link>, Error> {
    if m.kind() != libc::RTM_NEWLINK {
        return Ok(None);
    }
    Ok(Some(msg::link_from_bytes(m.payload())?))
}

#[cfg(test)]
mod tests;
