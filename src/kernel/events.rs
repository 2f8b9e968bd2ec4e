//! Link notifications (RTNLGRP_LINK), the removal of addresses and routes, and changes to
//! IPv4 ones (an external DHCP client's lease): the bond's job sleeps on these, on its own file descriptors (a child's pidfd, a socket) and on a
//! deadline, instead of on a timer.

use std::io;
use std::net::Ipv4Addr;
use std::os::fd::{AsFd, BorrowedFd};
use std::time::Instant;

use anyhow::{Context, Result};
use netlink_packet_core::{NetlinkMessage, NetlinkPayload};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::Socket;
use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use super::msg::{ipv4_address_from_msg, link_from_bytes, route_oif};
use super::socket::{self, Messages};
use crate::process::poll_timeout;

/// What ended a [`LinkEvents::wait`]. More than one thing may have happened.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Wake {
    /// The links the queued events were about, in the order they came (a link may repeat).
    pub links: Vec<String>,
    /// The interfaces (by index) that lost an address or a route, in the order it came.
    pub removed_from: Vec<u32>,
    /// The interfaces (by index) whose IPv4 addresses or routes were added, changed or
    /// removed, in the order it came.
    pub ipv4_on: Vec<u32>,
    /// The IPv4 addresses added or set anew (new lifetimes: a DHCP client's script applied
    /// a lease), with their interface, in the order it came.
    pub ipv4_set: Vec<(u32, Ipv4Addr)>,
    /// Events were lost (the socket overran), or a link event could not be read: whatever
    /// the caller knows must be re-read.
    pub overrun: bool,
    /// The positions in `also` of the descriptors that are readable (or hung up).
    pub also: Vec<usize>,
    /// The deadline has passed.
    pub deadline: bool,
}

impl Wake {
    /// Some link changed, or may have (events were lost).
    pub fn links_changed(&self) -> bool {
        self.overrun || !self.links.is_empty()
    }

    /// Something to handle came (anything but the time passing).
    pub fn anything(&self) -> bool {
        self.links_changed()
            || !self.removed_from.is_empty()
            || !self.ipv4_on.is_empty()
            || !self.also.is_empty()
    }

    /// The interface `index` lost an address or a route, or may have (events were lost).
    pub fn removed_from(&self, index: u32) -> bool {
        self.overrun || self.removed_from.contains(&index)
    }

    /// The interface `index`'s IPv4 addresses or routes changed, or may have.
    pub fn ipv4_changed(&self, index: u32) -> bool {
        self.overrun || self.ipv4_on.contains(&index)
    }
}

pub struct LinkEvents {
    sock: Socket,
}

impl LinkEvents {
    /// Subscribes to link events. Events queue from here on, so a caller that subscribes
    /// before it looks at the links misses no change between the two.
    pub fn subscribe() -> Result<LinkEvents> {
        Ok(LinkEvents {
            sock: socket::link_events()?,
        })
    }

    /// Waits until a link event arrives, `deadline` (if any) passes, or one of `also`
    /// becomes readable; then drains the queued events. A deadline that has passed makes it
    /// only look.
    pub fn wait(&mut self, deadline: Option<Instant>, also: &[BorrowedFd<'_>]) -> Result<Wake> {
        let timeout = poll_timeout(deadline);
        let mut fds = Vec::with_capacity(1 + also.len());
        fds.push(PollFd::new(self.sock.as_fd(), PollFlags::POLLIN));
        fds.extend(also.iter().map(|fd| PollFd::new(*fd, PollFlags::POLLIN)));
        match poll(&mut fds, timeout) {
            // A signal: the caller looks at everything again anyway.
            Ok(_) | Err(Errno::EINTR) => {}
            Err(e) => return Err(io::Error::from(e)).context("poll on link events"),
        }
        let ready = |fd: &PollFd| fd.revents().is_some_and(|r| !r.is_empty());
        let mut wake = Wake {
            also: (0..also.len()).filter(|i| ready(&fds[i + 1])).collect(),
            deadline: deadline.is_some_and(|d| Instant::now() >= d),
            ..Wake::default()
        };
        drop(fds);
        self.drain(&mut wake)?;
        Ok(wake)
    }

    /// Whether an event is queued (not read: the next [`LinkEvents::wait`] reads it).
    pub fn pending(&self) -> Result<bool> {
        let mut fds = [PollFd::new(self.sock.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::ZERO) {
            Ok(n) => Ok(n > 0),
            // Interrupted: say yes, so that the caller looks again.
            Err(Errno::EINTR) => Ok(true),
            Err(e) => Err(io::Error::from(e)).context("poll on link events"),
        }
    }

    /// Reads every queued event into `wake`.
    fn drain(&mut self, wake: &mut Wake) -> Result<()> {
        loop {
            match self.sock.recv_from_full() {
                Ok((data, _)) if data.is_empty() => return Ok(()),
                Ok((data, _)) => read_events(&data, wake),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                // Overrun: events were lost; what is still queued is read on.
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => wake.overrun = true,
                Err(e) => return Err(e).context("reading link events"),
            }
        }
    }
}

/// What the messages of a datagram are about: the links of new-link and del-link messages,
/// the interfaces of del-address and del-route ones, and of every IPv4 address and route
/// message; other messages that do not parse are skipped. Link messages, most of a
/// failover's burst, are read for the few attributes hotbond uses ([`link_from_bytes`]),
/// not in full.
fn read_events(data: &[u8], wake: &mut Wake) {
    for m in Messages::new(data).map_while(|m| m.ok()) {
        if matches!(m.kind(), libc::RTM_NEWLINK | libc::RTM_DELLINK) {
            match link_from_bytes(m.payload()) {
                Ok(l) => wake.links.push(l.name),
                // Some link changed, but which is unreadable: the caller reads all again.
                Err(_) => wake.overrun = true,
            }
            continue;
        }
        let Ok(NetlinkMessage {
            payload: NetlinkPayload::InnerMessage(m),
            ..
        }) = m.parse()
        else {
            continue;
        };
        match m {
            RouteNetlinkMessage::NewAddress(a) => {
                if let Some(v4) = ipv4_address_from_msg(&a) {
                    wake.ipv4_on.push(a.header.index);
                    wake.ipv4_set.push((a.header.index, v4.address));
                }
            }
            RouteNetlinkMessage::DelAddress(a) => {
                wake.removed_from.push(a.header.index);
                if a.header.family == AddressFamily::Inet {
                    wake.ipv4_on.push(a.header.index);
                }
            }
            RouteNetlinkMessage::NewRoute(r) if r.header.address_family == AddressFamily::Inet => {
                wake.ipv4_on.extend(route_oif(&r))
            }
            RouteNetlinkMessage::DelRoute(r) => {
                wake.removed_from.extend(route_oif(&r));
                if r.header.address_family == AddressFamily::Inet {
                    wake.ipv4_on.extend(route_oif(&r));
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::socket::tests::datagram;
    use netlink_packet_route::link::{LinkAttribute, LinkMessage};

    #[test]
    fn a_link_event_names_its_link() {
        let mut l = LinkMessage::default();
        l.attributes.push(LinkAttribute::IfName("eth1".into()));
        let mut w = Wake::default();
        read_events(&datagram(&[RouteNetlinkMessage::NewLink(l)]), &mut w);
        assert_eq!(w.links, ["eth1"]);
        assert!(!w.overrun);
    }

    #[test]
    fn an_unreadable_link_event_makes_the_job_read_everything_again() {
        let mut data = datagram(&[RouteNetlinkMessage::NewLink(LinkMessage::default())]);
        // An attribute whose length runs past the message.
        data.extend_from_slice(&[0xff, 0x00, 0x03, 0x00]);
        let len = data.len() as u32;
        data[..4].copy_from_slice(&len.to_ne_bytes());
        let mut w = Wake::default();
        read_events(&data, &mut w);
        assert!(w.links.is_empty());
        assert!(w.overrun && w.links_changed());
    }
}
