//! The rtnetlink sockets: one for requests (with their acks and dumps) and one subscribed
//! to link events; one parser of what the kernel sends on either.

use std::fmt;
use std::io;

use netlink_packet_core::{
    NetlinkBuffer, NetlinkHeader, NetlinkMessage, NetlinkPayload, NLMSG_DONE, NLMSG_ERROR,
    NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_utils::DecodeError;
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};
use nix::errno::Errno;

/// Why a request failed.
#[derive(Debug)]
pub enum Error {
    /// The kernel refused it: ENODEV (no such device), EEXIST (exists already), ...
    Refused(Errno),
    /// The socket failed (what it was doing, and how).
    Io(&'static str, io::Error),
    /// The kernel's answer did not parse.
    Parse(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // As the kernel's errno reads elsewhere: "No such device (os error 19)".
            Error::Refused(e) => io::Error::from_raw_os_error(*e as i32).fmt(f),
            Error::Io(what, e) => write!(f, "{what}: {e}"),
            Error::Parse(e) => write!(f, "rtnetlink: cannot parse reply: {e}"),
        }
    }
}

impl From<DecodeError> for Error {
    fn from(e: DecodeError) -> Self {
        Error::Parse(e.to_string())
    }
}

impl std::error::Error for Error {}

/// One netlink message of a datagram, read no further than its header. The caller parses
/// what it needs of the rest: a link message parsed in full (statistics, per-family settings,
/// the bond's options) costs milliseconds under emulation, and a failover brings a burst.
pub struct Raw<'a>(NetlinkBuffer<&'a [u8]>);

impl<'a> Raw<'a> {
    /// The message type (`RTM_NEWLINK`, `NLMSG_DONE`, ...).
    pub fn kind(&self) -> u16 {
        self.0.message_type()
    }

    pub fn sequence_number(&self) -> u32 {
        self.0.sequence_number()
    }

    /// What follows the netlink header.
    pub fn payload(&self) -> &'a [u8] {
        self.0.payload()
    }

    /// The whole message, parsed.
    pub fn parse(&self) -> Result<NetlinkMessage<RouteNetlinkMessage>, Error> {
        Ok(NetlinkMessage::deserialize(self.0.buffer)?)
    }
}

/// The netlink messages in one datagram, in order; a message whose header does not parse
/// ends them.
pub struct Messages<'a> {
    data: &'a [u8],
    failed: bool,
}

impl<'a> Messages<'a> {
    pub fn new(data: &'a [u8]) -> Messages<'a> {
        Messages {
            data,
            failed: false,
        }
    }
}

impl<'a> Iterator for Messages<'a> {
    type Item = Result<Raw<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.data.is_empty() || self.failed {
            return None;
        }
        // Checked: the length covers at least the header and no more than the datagram.
        let len = match NetlinkBuffer::new_checked(self.data) {
            Ok(b) => b.length() as usize,
            Err(e) => {
                self.failed = true;
                return Some(Err(e.into()));
            }
        };
        let m = Raw(NetlinkBuffer::new(&self.data[..len]));
        // Messages are 4-byte aligned within the datagram.
        let next = ((len + 3) & !3).min(self.data.len());
        self.data = &self.data[next..];
        Some(Ok(m))
    }
}

/// A synchronous rtnetlink request socket.
pub struct Rtnl {
    sock: Socket,
    seq: u32,
}

impl Rtnl {
    pub fn open() -> anyhow::Result<Rtnl> {
        use anyhow::Context;
        let mut sock = Socket::new(NETLINK_ROUTE).context("cannot open rtnetlink socket")?;
        sock.bind_auto().context("cannot bind rtnetlink socket")?;
        sock.connect(&SocketAddr::new(0, 0))
            .context("cannot connect rtnetlink socket")?;
        Ok(Rtnl { sock, seq: 0 })
    }

    /// Sends one request and collects its answer: the messages of a dump (`NLM_F_DUMP`)
    /// until its end, nothing but the ack (`NLM_F_ACK`), or else the one reply.
    pub fn request(
        &mut self,
        msg: RouteNetlinkMessage,
        flags: u16,
    ) -> Result<Vec<RouteNetlinkMessage>, Error> {
        self.request_read(msg, flags, |m| match m.parse()?.payload {
            NetlinkPayload::InnerMessage(inner) => Ok(Some(inner)),
            _ => Ok(None),
        })
    }

    /// As [`Rtnl::request`], keeping what `read` makes of each message of the answer.
    pub fn request_read<T>(
        &mut self,
        msg: RouteNetlinkMessage,
        flags: u16,
        mut read: impl FnMut(&Raw) -> Result<Option<T>, Error>,
    ) -> Result<Vec<T>, Error> {
        let buf = self.frame(msg, flags);
        self.send(&buf)?;
        self.answer(self.seq, flags, &mut read)
    }

    /// Sends requests in one datagram, which the kernel carries out one after the other
    /// within the one system call: no death of this process can come between them. Waits
    /// for each one's ack; the first refusal is the error.
    pub fn requests_at_once(&mut self, msgs: Vec<RouteNetlinkMessage>) -> Result<(), Error> {
        let first = self.seq.wrapping_add(1);
        let mut buf = Vec::new();
        for m in msgs {
            buf.extend(self.frame(m, NLM_F_ACK));
            // Messages are 4-byte aligned within the datagram.
            buf.resize((buf.len() + 3) & !3, 0);
        }
        self.send(&buf)?;
        let mut seq = first;
        let mut refused = None;
        loop {
            if let Err(e) = self.answer::<()>(seq, NLM_F_ACK, &mut |_| Ok(None)) {
                refused.get_or_insert(e);
            }
            if seq == self.seq {
                return refused.map_or(Ok(()), Err);
            }
            seq = seq.wrapping_add(1);
        }
    }

    /// One request as bytes, with the next sequence number.
    fn frame(&mut self, msg: RouteNetlinkMessage, flags: u16) -> Vec<u8> {
        self.seq = self.seq.wrapping_add(1);
        let mut hdr = NetlinkHeader::default();
        hdr.flags = NLM_F_REQUEST | flags;
        hdr.sequence_number = self.seq;
        let mut nl = NetlinkMessage::new(hdr, NetlinkPayload::from(msg));
        nl.finalize();
        let mut buf = vec![0u8; nl.buffer_len()];
        nl.serialize(&mut buf);
        buf
    }

    fn send(&mut self, buf: &[u8]) -> Result<(), Error> {
        self.sock
            .send(buf, 0)
            .map(drop)
            .map_err(|e| Error::Io("rtnetlink send", e))
    }

    /// The answer to request `seq`, sent with `flags` (see [`Rtnl::request`]): what `read`
    /// makes of its messages.
    fn answer<T>(
        &mut self,
        seq: u32,
        flags: u16,
        read: &mut impl FnMut(&Raw) -> Result<Option<T>, Error>,
    ) -> Result<Vec<T>, Error> {
        let more = flags & NLM_F_DUMP == NLM_F_DUMP || flags & NLM_F_ACK != 0;
        let mut out = Vec::new();
        loop {
            let (data, _) = self
                .sock
                .recv_from_full()
                .map_err(|e| Error::Io("rtnetlink receive", e))?;
            for m in Messages::new(&data) {
                let m = m?;
                if m.sequence_number() != seq {
                    continue;
                }
                match m.kind() {
                    NLMSG_DONE => return Ok(out),
                    NLMSG_ERROR => return refusal(&m).map_or(Ok(out), Err),
                    // Netlink's own (no-op, overrun): no answer.
                    k if k < libc::NLMSG_MIN_TYPE as u16 => {}
                    _ => {
                        out.extend(read(&m)?);
                        if !more {
                            return Ok(out);
                        }
                    }
                }
            }
        }
    }
}

/// What an error message says: a refusal, or none (an ack).
fn refusal(m: &Raw) -> Option<Error> {
    match m.parse() {
        Ok(NetlinkMessage {
            payload: NetlinkPayload::Error(e),
            ..
        }) => e
            .code
            .map(|c| Error::Refused(Errno::from_raw(c.get().abs()))),
        Ok(_) => None,
        Err(e) => Some(e),
    }
}

/// A non-blocking socket that receives the kernel's link notifications (RTNLGRP_LINK), and
/// those of IPv4 and IPv6 addresses and routes (a DHCP client's script may remove what the
/// bond's job must keep).
pub fn link_events() -> anyhow::Result<Socket> {
    use anyhow::Context;
    /// The multicast group bits (RTMGRP_*) of link, address and route notifications.
    const RTMGRP_LINK: u32 = 0x1;
    const RTMGRP_IPV4_IFADDR: u32 = 0x10;
    const RTMGRP_IPV4_ROUTE: u32 = 0x40;
    const RTMGRP_IPV6_IFADDR: u32 = 0x100;
    const RTMGRP_IPV6_ROUTE: u32 = 0x400;
    let groups = RTMGRP_LINK
        | RTMGRP_IPV4_IFADDR
        | RTMGRP_IPV4_ROUTE
        | RTMGRP_IPV6_IFADDR
        | RTMGRP_IPV6_ROUTE;
    let mut sock = Socket::new(NETLINK_ROUTE).context("cannot open rtnetlink socket")?;
    sock.bind(&SocketAddr::new(0, groups))
        .context("cannot subscribe to link events")?;
    sock.set_non_blocking(true)
        .context("cannot make the link event socket non-blocking")?;
    Ok(sock)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use netlink_packet_route::link::{LinkAttribute, LinkMessage};

    /// A datagram as the kernel sends it, of `msgs` in order.
    pub(crate) fn datagram(msgs: &[RouteNetlinkMessage]) -> Vec<u8> {
        let mut out = Vec::new();
        for (i, m) in msgs.iter().enumerate() {
            let mut hdr = NetlinkHeader::default();
            hdr.sequence_number = i as u32;
            let mut nl = NetlinkMessage::new(hdr, NetlinkPayload::from(m.clone()));
            nl.finalize();
            let mut buf = vec![0u8; nl.buffer_len()];
            nl.serialize(&mut buf);
            out.extend_from_slice(&buf);
            out.resize(out.len().next_multiple_of(4), 0);
        }
        out
    }

    fn named(name: &str) -> RouteNetlinkMessage {
        let mut m = LinkMessage::default();
        m.attributes.push(LinkAttribute::IfName(name.into()));
        RouteNetlinkMessage::NewLink(m)
    }

    #[test]
    fn a_datagram_yields_each_of_its_messages() {
        // "abc" makes the first message's length not a multiple of 4.
        let data = datagram(&[named("abc"), named("eth0")]);
        let got: Vec<_> = Messages::new(&data)
            .map(|m| m.unwrap().parse().unwrap().payload)
            .collect();
        assert_eq!(
            got,
            vec![
                NetlinkPayload::InnerMessage(named("abc")),
                NetlinkPayload::InnerMessage(named("eth0"))
            ]
        );
    }

    #[test]
    fn garbage_ends_the_messages_with_an_error() {
        let mut data = datagram(&[named("eth0")]);
        data.extend_from_slice(&[0xff; 7]);
        let got: Vec<_> = Messages::new(&data).collect();
        assert_eq!(got.len(), 2);
        assert!(got[0].is_ok());
        assert!(matches!(got[1], Err(Error::Parse(_))));
    }

    #[test]
    fn a_refusal_reads_like_the_errno() {
        let e = Error::Refused(Errno::ENODEV);
        assert_eq!(e.to_string(), "No such device (os error 19)");
    }
}
