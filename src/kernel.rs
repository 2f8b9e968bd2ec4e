//! Everything that talks to the kernel: rtnetlink for links, addresses, routes and link
//! events; sysfs for the bonding attributes netlink cannot set by name (`primary`) and for
//! device facts (bus, wireless). Nothing else in hotbond touches the kernel.

use std::fs;
use std::io;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL,
    NLM_F_REPLACE, NLM_F_REQUEST,
};
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::link::{
    BondMode, InfoBond, InfoData, InfoKind, LinkAttribute, LinkFlags, LinkInfo, LinkMessage, State,
};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};
use serde::Serialize;

use crate::net::{BondOptions, Bus, DeviceFacts, IpNet, Mac, Route};

/// What hotbond needs to know about one network interface.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Link {
    pub index: u32,
    pub name: String,
    pub mac: Option<Mac>,
    /// Administratively up (IFF_UP).
    pub up: bool,
    /// RFC 2863 operational state, as the kernel reports it ("up", "down", "dormant", ...).
    pub oper: String,
    pub carrier: bool,
    /// Index of the bond or bridge this link is enslaved to.
    pub master: Option<u32>,
    /// "bond", "bridge", "veth", ... when the link has a driver kind.
    pub kind: Option<String>,
}

impl Link {
    pub fn oper_up(&self) -> bool {
        self.oper == "up"
    }
}

fn oper_name(s: &State) -> String {
    match s {
        State::Up => "up",
        State::Down => "down",
        State::Dormant => "dormant",
        State::LowerLayerDown => "lowerlayerdown",
        State::NotPresent => "notpresent",
        State::Testing => "testing",
        _ => "unknown",
    }
    .to_string()
}

fn link_from_msg(m: &LinkMessage) -> Link {
    let mut l = Link {
        index: m.header.index,
        name: String::new(),
        mac: None,
        up: m.header.flags.contains(LinkFlags::Up),
        oper: "unknown".into(),
        carrier: m.header.flags.contains(LinkFlags::LowerUp),
        master: None,
        kind: None,
    };
    for a in &m.attributes {
        match a {
            LinkAttribute::IfName(n) => l.name = n.clone(),
            LinkAttribute::Address(b) if b.len() == 6 => l.mac = Mac::from_slice(b),
            LinkAttribute::OperState(s) => l.oper = oper_name(s),
            LinkAttribute::Controller(i) if *i != 0 => l.master = Some(*i),
            LinkAttribute::LinkInfo(infos) => {
                for i in infos {
                    if let LinkInfo::Kind(k) = i {
                        l.kind = Some(k.to_string());
                    }
                }
            }
            _ => {}
        }
    }
    l
}

/// hotbond's bond: active-backup, and fail_over_mac=active (1) so the bond takes the active
/// slave's MAC, which Wi-Fi needs.
fn bond_info(o: &BondOptions) -> InfoData {
    InfoData::Bond(vec![
        InfoBond::Mode(BondMode::ActiveBackup),
        InfoBond::MiiMon(o.miimon),
        InfoBond::UpDelay(o.updelay),
        InfoBond::DownDelay(o.downdelay),
        InfoBond::FailOverMac(1),
        InfoBond::PrimaryReselect(o.primary_reselect.kernel_value()),
    ])
}

fn is_errno(e: &anyhow::Error, errno: i32) -> bool {
    e.chain()
        .filter_map(|c| c.downcast_ref::<io::Error>())
        .any(|io| io.raw_os_error() == Some(errno))
}

/// True when an error means "that device is not there (any more)".
pub fn is_no_device(e: &anyhow::Error) -> bool {
    is_errno(e, libc::ENODEV)
}

/// A synchronous rtnetlink connection. Cheap to open: hooks open one per run.
pub struct Kernel {
    sock: Socket,
    seq: u32,
}

impl Kernel {
    pub fn open() -> Result<Kernel> {
        let mut sock = Socket::new(NETLINK_ROUTE).context("cannot open rtnetlink socket")?;
        sock.bind_auto().context("cannot bind rtnetlink socket")?;
        sock.connect(&SocketAddr::new(0, 0))
            .context("cannot connect rtnetlink socket")?;
        Ok(Kernel { sock, seq: 0 })
    }

    fn request(
        &mut self,
        msg: RouteNetlinkMessage,
        flags: u16,
    ) -> Result<Vec<RouteNetlinkMessage>> {
        self.seq = self.seq.wrapping_add(1);
        let mut hdr = NetlinkHeader::default();
        hdr.flags = NLM_F_REQUEST | flags;
        hdr.sequence_number = self.seq;
        let mut nl = NetlinkMessage::new(hdr, NetlinkPayload::from(msg));
        nl.finalize();
        let mut buf = vec![0u8; nl.buffer_len()];
        nl.serialize(&mut buf);
        self.sock.send(&buf, 0).context("rtnetlink send")?;
        let mut out = Vec::new();
        loop {
            let (data, _) = self.sock.recv_from_full().context("rtnetlink receive")?;
            let mut off = 0;
            while off < data.len() {
                let m = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&data[off..])
                    .map_err(|e| anyhow!("rtnetlink: cannot parse reply: {e}"))?;
                let len = m.header.length as usize;
                if len == 0 {
                    break;
                }
                off += (len + 3) & !3;
                if m.header.sequence_number != self.seq {
                    continue;
                }
                match m.payload {
                    NetlinkPayload::Done(_) => return Ok(out),
                    NetlinkPayload::Error(e) => {
                        if e.code.is_some() {
                            return Err(e.to_io().into());
                        }
                        return Ok(out);
                    }
                    NetlinkPayload::InnerMessage(inner) => {
                        out.push(inner);
                        if flags & NLM_F_DUMP != NLM_F_DUMP && flags & NLM_F_ACK == 0 {
                            return Ok(out);
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    pub fn links(&mut self) -> Result<Vec<Link>> {
        let msgs = self.request(
            RouteNetlinkMessage::GetLink(LinkMessage::default()),
            NLM_F_DUMP,
        )?;
        Ok(msgs
            .iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewLink(l) => Some(link_from_msg(l)),
                _ => None,
            })
            .collect())
    }

    /// The link called `name`, or None when there is no such interface.
    pub fn link(&mut self, name: &str) -> Result<Option<Link>> {
        let mut m = LinkMessage::default();
        m.attributes.push(LinkAttribute::IfName(name.to_string()));
        match self.request(RouteNetlinkMessage::GetLink(m), 0) {
            Ok(msgs) => Ok(msgs.iter().find_map(|m| match m {
                RouteNetlinkMessage::NewLink(l) => Some(link_from_msg(l)),
                _ => None,
            })),
            Err(e) if is_no_device(&e) => Ok(None),
            Err(e) => Err(e).with_context(|| format!("cannot read link {name}")),
        }
    }

    pub fn link_by_index(&mut self, index: u32) -> Result<Option<Link>> {
        let mut m = LinkMessage::default();
        m.header.index = index;
        match self.request(RouteNetlinkMessage::GetLink(m), 0) {
            Ok(msgs) => Ok(msgs.iter().find_map(|m| match m {
                RouteNetlinkMessage::NewLink(l) => Some(link_from_msg(l)),
                _ => None,
            })),
            Err(e) if is_no_device(&e) => Ok(None),
            Err(e) => Err(e).with_context(|| format!("cannot read link #{index}")),
        }
    }

    /// Creates an active-backup bond with all its options in the one RTM_NEWLINK: the kernel
    /// refuses to change mode and fail_over_mac once the bond has slaves.
    pub fn create_bond(&mut self, name: &str, o: &BondOptions) -> Result<()> {
        self.create_link(name, InfoKind::Bond, Some(bond_info(o)))
    }

    pub fn create_bridge(&mut self, name: &str) -> Result<()> {
        self.create_link(name, InfoKind::Bridge, None)
    }

    fn create_link(&mut self, name: &str, kind: InfoKind, data: Option<InfoData>) -> Result<()> {
        let mut m = LinkMessage::default();
        m.attributes.push(LinkAttribute::IfName(name.to_string()));
        let mut info = vec![LinkInfo::Kind(kind.clone())];
        if let Some(d) = data {
            info.push(LinkInfo::Data(d));
        }
        m.attributes.push(LinkAttribute::LinkInfo(info));
        self.request(
            RouteNetlinkMessage::NewLink(m),
            NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
        )
        .with_context(|| format!("cannot create {kind} {name}"))?;
        Ok(())
    }

    /// Changes the options of an existing bond that has no slaves yet (e.g. the `bond0` that
    /// `modprobe bonding` created by itself with the kernel defaults).
    pub fn set_bond_options(&mut self, index: u32, o: &BondOptions) -> Result<()> {
        let mut m = LinkMessage::default();
        m.header.index = index;
        m.attributes.push(LinkAttribute::LinkInfo(vec![
            LinkInfo::Kind(InfoKind::Bond),
            LinkInfo::Data(bond_info(o)),
        ]));
        self.request(RouteNetlinkMessage::SetLink(m), NLM_F_ACK)
            .context("cannot set bond options")?;
        Ok(())
    }

    pub fn set_up(&mut self, index: u32, up: bool) -> Result<()> {
        let mut m = LinkMessage::default();
        m.header.index = index;
        m.header.flags = if up {
            LinkFlags::Up
        } else {
            LinkFlags::empty()
        };
        m.header.change_mask = LinkFlags::Up;
        self.request(RouteNetlinkMessage::SetLink(m), NLM_F_ACK)
            .with_context(|| {
                format!(
                    "cannot set link #{index} {}",
                    if up { "up" } else { "down" }
                )
            })?;
        Ok(())
    }

    /// `master = None` releases the link from its bond or bridge.
    pub fn set_master(&mut self, index: u32, master: Option<u32>) -> Result<()> {
        let mut m = LinkMessage::default();
        m.header.index = index;
        m.attributes
            .push(LinkAttribute::Controller(master.unwrap_or(0)));
        self.request(RouteNetlinkMessage::SetLink(m), NLM_F_ACK)
            .with_context(|| format!("cannot set master of link #{index}"))?;
        Ok(())
    }

    pub fn delete_link(&mut self, index: u32) -> Result<()> {
        let mut m = LinkMessage::default();
        m.header.index = index;
        self.request(RouteNetlinkMessage::DelLink(m), NLM_F_ACK)
            .with_context(|| format!("cannot delete link #{index}"))?;
        Ok(())
    }

    fn address_msgs(&mut self, index: u32) -> Result<Vec<AddressMessage>> {
        let msgs = self.request(
            RouteNetlinkMessage::GetAddress(AddressMessage::default()),
            NLM_F_DUMP,
        )?;
        Ok(msgs
            .into_iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewAddress(a) if a.header.index == index => Some(a),
                _ => None,
            })
            .collect())
    }

    /// Addresses on a link (IPv6 link-local ones left out: the kernel owns those).
    pub fn addresses(&mut self, index: u32) -> Result<Vec<IpNet>> {
        let mut out = Vec::new();
        for a in self.address_msgs(index)? {
            let addr = a.attributes.iter().find_map(|x| match x {
                AddressAttribute::Local(ip) => Some(*ip),
                _ => None,
            });
            let addr = addr.or_else(|| {
                a.attributes.iter().find_map(|x| match x {
                    AddressAttribute::Address(ip) => Some(*ip),
                    _ => None,
                })
            });
            if let Some(ip) = addr {
                if let IpAddr::V6(v6) = ip {
                    if (v6.segments()[0] & 0xffc0) == 0xfe80 {
                        continue;
                    }
                }
                out.push(IpNet {
                    addr: ip,
                    prefix: a.header.prefix_len,
                });
            }
        }
        Ok(out)
    }

    fn addr_msg(index: u32, net: &IpNet) -> AddressMessage {
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
                    .push(AddressAttribute::Broadcast(std::net::Ipv4Addr::from(brd)));
            }
        }
        m
    }

    /// Adds an address; one that is already there is fine (hooks may run twice).
    pub fn add_address(&mut self, index: u32, net: &IpNet) -> Result<()> {
        match self.request(
            RouteNetlinkMessage::NewAddress(Self::addr_msg(index, net)),
            NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
        ) {
            Ok(_) => Ok(()),
            Err(e) if is_errno(&e, libc::EEXIST) => Ok(()),
            Err(e) => Err(e).with_context(|| format!("cannot add address {net}")),
        }
    }

    /// Removes an address; one that is already gone is fine.
    pub fn del_address(&mut self, index: u32, net: &IpNet) -> Result<()> {
        match self.request(
            RouteNetlinkMessage::DelAddress(Self::addr_msg(index, net)),
            NLM_F_ACK,
        ) {
            Ok(_) => Ok(()),
            Err(e) if is_errno(&e, libc::EADDRNOTAVAIL) || is_errno(&e, libc::ENOENT) => Ok(()),
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

    fn route_msg(index: u32, r: &Route) -> RouteMessage {
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
                .push(RouteAttribute::Destination(match to.addr {
                    IpAddr::V4(a) => RouteAddress::Inet(a),
                    IpAddr::V6(a) => RouteAddress::Inet6(a),
                }));
        }
        if let Some(via) = r.via {
            m.attributes.push(RouteAttribute::Gateway(match via {
                IpAddr::V4(a) => RouteAddress::Inet(a),
                IpAddr::V6(a) => RouteAddress::Inet6(a),
            }));
        }
        if let Some(metric) = r.metric {
            m.attributes.push(RouteAttribute::Priority(metric));
        }
        m.attributes.push(RouteAttribute::Oif(index));
        m
    }

    /// `ip route replace ROUTE dev X`, as the seed does.
    pub fn replace_route(&mut self, index: u32, r: &Route) -> Result<()> {
        self.request(
            RouteNetlinkMessage::NewRoute(Self::route_msg(index, r)),
            NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE,
        )
        .with_context(|| format!("cannot add route {r}"))?;
        Ok(())
    }

    pub fn del_route(&mut self, index: u32, r: &Route) -> Result<()> {
        match self.request(
            RouteNetlinkMessage::DelRoute(Self::route_msg(index, r)),
            NLM_F_ACK,
        ) {
            Ok(_) => Ok(()),
            Err(e) if is_errno(&e, libc::ESRCH) || is_errno(&e, libc::ENODEV) => Ok(()),
            Err(e) => Err(e).with_context(|| format!("cannot remove route {r}")),
        }
    }
}

/// Link notifications (RTNLGRP_LINK): the settle job sleeps on these instead of a timer.
pub struct LinkEvents {
    sock: Socket,
}

impl LinkEvents {
    pub fn subscribe() -> Result<LinkEvents> {
        let mut sock = Socket::new(NETLINK_ROUTE).context("cannot open rtnetlink socket")?;
        // RTMGRP_LINK = 1
        sock.bind(&SocketAddr::new(0, 1))
            .context("cannot subscribe to link events")?;
        sock.set_non_blocking(true)?;
        Ok(LinkEvents { sock })
    }

    /// Waits until at least one link event arrives or `deadline` passes; drains what is
    /// queued. Returns the names of the links the events were about (empty on timeout).
    pub fn wait(&mut self, deadline: Instant) -> Result<Vec<String>> {
        self.wait_until(Some(deadline), &[])
    }

    /// Waits until a link event arrives, `deadline` (if any) passes, or one of `also` is
    /// readable (a child's pidfd, a socket); then drains the link events that are queued.
    /// Returns the names of the links the events were about.
    pub fn wait_until(
        &mut self,
        deadline: Option<Instant>,
        also: &[std::os::fd::BorrowedFd<'_>],
    ) -> Result<Vec<String>> {
        use std::os::fd::AsRawFd;
        let ms = match deadline {
            None => -1,
            Some(d) => d
                .saturating_duration_since(Instant::now())
                .as_millis()
                .min(i32::MAX as u128) as i32,
        };
        if ms != 0 {
            let mut fds: Vec<libc::pollfd> = std::iter::once(self.sock.as_raw_fd())
                .chain(also.iter().map(|f| f.as_raw_fd()))
                .map(|fd| libc::pollfd {
                    fd,
                    events: libc::POLLIN,
                    revents: 0,
                })
                .collect();
            // SAFETY: fds is valid for the call and every fd in it is open (borrowed).
            let r = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
            let err = std::io::Error::last_os_error();
            if r < 0 && err.kind() != io::ErrorKind::Interrupted {
                return Err(anyhow!("poll on link events: {err}"));
            }
        }
        let mut names = Vec::new();
        loop {
            match self.sock.recv_from_full() {
                Ok((data, _)) => {
                    if data.is_empty() {
                        break;
                    }
                    let mut off = 0;
                    while off < data.len() {
                        let Ok(m) =
                            NetlinkMessage::<RouteNetlinkMessage>::deserialize(&data[off..])
                        else {
                            break;
                        };
                        let len = m.header.length as usize;
                        if len == 0 {
                            break;
                        }
                        off += (len + 3) & !3;
                        if let NetlinkPayload::InnerMessage(
                            RouteNetlinkMessage::NewLink(l) | RouteNetlinkMessage::DelLink(l),
                        ) = m.payload
                        {
                            names.push(link_from_msg(&l).name);
                        }
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                // Overrun: events were lost, but the caller re-reads all state anyway.
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    names.push(String::new());
                    continue;
                }
                Err(e) => return Err(e).context("reading link events"),
            }
        }
        Ok(names)
    }
}

// ---- sysfs ----

fn sysfs_root() -> PathBuf {
    // Tests point this at a fake tree; everywhere else it is /sys.
    std::env::var_os("HOTBOND_SYSFS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/sys"))
}

fn net_path(iface: &str) -> PathBuf {
    sysfs_root().join("class/net").join(iface)
}

fn read_trim(p: &Path) -> Option<String> {
    fs::read_to_string(p).ok().map(|s| s.trim().to_string())
}

pub fn bonding_loaded() -> bool {
    sysfs_root().join("class/net/bonding_masters").exists()
}

/// Loads the bonding driver. `modprobe` is run directly (no shell); systemd's modprobe.d
/// sets max_bonds=0, other systems may get a `bond0` created here with kernel defaults.
pub fn load_bonding() -> Result<()> {
    if bonding_loaded() {
        return Ok(());
    }
    let out = std::process::Command::new("modprobe")
        .arg("bonding")
        .output();
    let why = match &out {
        Err(e) => format!("cannot run modprobe: {e}"),
        Ok(o) if !o.status.success() => {
            let msg = String::from_utf8_lossy(&o.stderr).trim().to_string();
            format!(
                "modprobe bonding: {}",
                if msg.is_empty() { "failed" } else { &msg }
            )
        }
        Ok(_) if !bonding_loaded() => "modprobe bonding loaded no driver".to_string(),
        Ok(_) => return Ok(()),
    };
    bail!("the bonding driver is not available ({why})");
}

fn bonding_attr(bond: &str, attr: &str) -> Option<String> {
    read_trim(&net_path(bond).join("bonding").join(attr))
}

/// The bond's currently active slave, by name.
pub fn bond_active_slave(bond: &str) -> Option<String> {
    bonding_attr(bond, "active_slave").filter(|s| !s.is_empty())
}

pub fn bond_primary(bond: &str) -> Option<String> {
    bonding_attr(bond, "primary").filter(|s| !s.is_empty())
}

pub fn bond_slaves(bond: &str) -> Vec<String> {
    bonding_attr(bond, "slaves")
        .map(|s| s.split_whitespace().map(String::from).collect())
        .unwrap_or_default()
}

/// The bond's mode by name ("active-backup"; sysfs appends the number).
pub fn bond_mode(bond: &str) -> Option<String> {
    first_word(bonding_attr(bond, "mode"))
}

/// "none", "active" or "follow".
pub fn bond_fail_over_mac(bond: &str) -> Option<String> {
    first_word(bonding_attr(bond, "fail_over_mac"))
}

fn first_word(s: Option<String>) -> Option<String> {
    s.and_then(|v| v.split_whitespace().next().map(String::from))
}

/// Slaves of a bridge (or bond), from the `brif`/`lower_*` entries.
pub fn lower_links(master: &str) -> Vec<String> {
    let mut out: Vec<String> = fs::read_dir(net_path(master))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_prefix("lower_"))
                .map(String::from)
        })
        .collect();
    out.sort();
    out
}

/// Sets the primary slave by *name*: the bond remembers the name even while that device is
/// unplugged, and makes it primary again when it is re-enslaved.
pub fn set_bond_primary(bond: &str, slave: &str) -> Result<()> {
    let p = net_path(bond).join("bonding/primary");
    fs::write(&p, slave).with_context(|| format!("cannot set primary {slave} on {bond}"))
}

/// Facts about a device that configuration rules match on.
pub fn device_facts(iface: &str, mac: Option<Mac>) -> DeviceFacts {
    let path = net_path(iface);
    let canon = fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
    let physical = !canon.starts_with(sysfs_root().join("devices/virtual/net"))
        && path.join("device").exists()
        || path.join("phy80211").exists();
    let wireless = path.join("wireless").exists() || path.join("phy80211").exists();
    let bus = fs::read_link(path.join("device/subsystem"))
        .ok()
        .and_then(|l| l.file_name().and_then(|n| n.to_str()).map(String::from))
        .and_then(|s| Bus::from_subsystem(&s));
    DeviceFacts {
        name: iface.to_string(),
        mac,
        bus,
        physical,
        wireless,
    }
}

/// Waits until `cond` holds, woken by link events, bounded by `timeout`.
pub fn wait_links(
    timeout: Duration,
    mut cond: impl FnMut(&mut Kernel) -> Result<bool>,
) -> Result<bool> {
    let mut events = LinkEvents::subscribe()?;
    let mut k = Kernel::open()?;
    let deadline = Instant::now() + timeout;
    loop {
        if cond(&mut k)? {
            return Ok(true);
        }
        if Instant::now() >= deadline {
            return Ok(false);
        }
        events.wait(deadline)?;
    }
}
