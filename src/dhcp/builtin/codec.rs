//! DHCP messages on the wire (RFC 2131/2132) through `dhcproto`: the requests this
//! client sends, and the replies it accepts read into plain values.

use std::net::Ipv4Addr;

use anyhow::{Context, Result};
use dhcproto::v4::{DhcpOption, Flags, Message, MessageType, Opcode, OptionCode};
use dhcproto::{Decodable, Encodable};

/// What the client asks every server for (option 55), the same in DISCOVER and REQUEST
/// so that the OFFER and the ACK carry the same configuration.
pub const PARAMETERS: [OptionCode; 8] = [
    OptionCode::SubnetMask,
    OptionCode::Router,
    OptionCode::DomainNameServer,
    OptionCode::Hostname,
    OptionCode::DomainName,
    OptionCode::InterfaceMtu,
    OptionCode::DomainSearch,
    OptionCode::ClasslessStaticRoute,
];

/// BOOTP's minimum message; some relays and servers drop anything shorter.
const MIN_LEN: usize = 300;

/// The kinds of message this client sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Discover,
    Request,
    Release,
}

/// Everything one outgoing message is made of.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request<'a> {
    pub kind: Kind,
    pub xid: u32,
    pub secs: u16,
    pub chaddr: [u8; 6],
    /// Our address while we may use it (RENEWING, REBINDING, RELEASE), else 0.0.0.0.
    pub ciaddr: Ipv4Addr,
    /// Option 50: the address asked for (SELECTING hint, REQUESTING, INIT-REBOOT).
    pub requested: Option<Ipv4Addr>,
    /// Option 54: the server chosen (REQUESTING, RELEASE).
    pub server: Option<Ipv4Addr>,
    pub client_id: Option<&'a [u8]>,
    pub hostname: Option<&'a str>,
    pub max_message_size: u16,
}

impl Request<'_> {
    pub fn encode(&self) -> Result<Vec<u8>> {
        let mut m = Message::new_with_id(
            self.xid,
            self.ciaddr,
            Ipv4Addr::UNSPECIFIED,
            Ipv4Addr::UNSPECIFIED,
            Ipv4Addr::UNSPECIFIED,
            &self.chaddr,
        );
        m.set_opcode(Opcode::BootRequest)
            .set_secs(self.secs)
            .set_flags(Flags::default());
        let o = m.opts_mut();
        o.insert(DhcpOption::MessageType(match self.kind {
            Kind::Discover => MessageType::Discover,
            Kind::Request => MessageType::Request,
            Kind::Release => MessageType::Release,
        }));
        if let Some(id) = self.client_id {
            o.insert(DhcpOption::ClientIdentifier(id.to_vec()));
        }
        if let Some(s) = self.server {
            o.insert(DhcpOption::ServerIdentifier(s));
        }
        if self.kind != Kind::Release {
            if let Some(a) = self.requested {
                o.insert(DhcpOption::RequestedIpAddress(a));
            }
            o.insert(DhcpOption::ParameterRequestList(PARAMETERS.to_vec()));
            o.insert(DhcpOption::MaxMessageSize(self.max_message_size.max(576)));
            if let Some(h) = self.hostname {
                o.insert(DhcpOption::Hostname(h.to_string()));
            }
        }
        let mut buf = m.to_vec().context("cannot encode a DHCP message")?;
        if buf.len() < MIN_LEN {
            buf.resize(MIN_LEN, 0);
        }
        Ok(buf)
    }
}

/// A reply worth looking at: a BOOTREPLY of a known type from a server identifying itself.
#[derive(Clone, Debug)]
pub struct Reply {
    pub kind: ReplyKind,
    pub xid: u32,
    pub chaddr: [u8; 6],
    pub server: Option<Ipv4Addr>,
    /// Option 56, the server's reason (NAK).
    pub text: Option<String>,
    pub message: Message,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyKind {
    Offer,
    Ack,
    Nak,
}

/// Why a datagram was not a reply for us; the machine logs it at debug level and drops it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Drop {
    Malformed(String),
    NotAReply,
    NotForUs,
}

/// Reads a UDP payload. Only checks that do not need the machine's state happen here.
pub fn parse(payload: &[u8]) -> std::result::Result<Reply, Drop> {
    if let Some(why) = unchecked_option_length(payload) {
        return Err(Drop::Malformed(why));
    }
    let msg = Message::from_bytes(payload).map_err(|e| Drop::Malformed(e.to_string()))?;
    if msg.opcode() != Opcode::BootReply {
        return Err(Drop::NotAReply);
    }
    let kind = match msg.opts().msg_type() {
        Some(MessageType::Offer) => ReplyKind::Offer,
        Some(MessageType::Ack) => ReplyKind::Ack,
        Some(MessageType::Nak) => ReplyKind::Nak,
        Some(_) => return Err(Drop::NotForUs),
        None => return Err(Drop::Malformed("no message type (option 53)".into())),
    };
    // dhcproto's chaddr() slices its 16-byte field by hlen: a larger one would panic (an
    // abort of the bond's job, from one datagram).
    if msg.hlen() > 16 {
        return Err(Drop::Malformed(format!(
            "hardware address length {} (at most 16)",
            msg.hlen()
        )));
    }
    let ch = msg.chaddr();
    if ch.len() < 6 {
        return Err(Drop::NotForUs);
    }
    let mut chaddr = [0u8; 6];
    chaddr.copy_from_slice(&ch[..6]);
    let server = match msg.opts().get(OptionCode::ServerIdentifier) {
        Some(DhcpOption::ServerIdentifier(s)) => Some(*s),
        _ => None,
    };
    let text = match msg.opts().get(OptionCode::Message) {
        Some(DhcpOption::Message(s)) => Some(s.clone()),
        _ => None,
    };
    Ok(Reply {
        kind,
        xid: msg.xid(),
        chaddr,
        server,
        text,
        message: msg,
    })
}

/// Where the options start: after the fixed BOOTP fields and the magic cookie.
const OPTIONS_AT: usize = 240;

/// An option whose length dhcproto checks only with `debug_assert!`, so that a reply
/// carrying it with another length aborts a debug build (a release build decodes it
/// loosely). No client needs any of them in a reply: such a datagram is malformed.
/// Consecutive options of one code are one option (RFC 3396), as dhcproto reads them.
fn unchecked_option_length(payload: &[u8]) -> Option<String> {
    let bad = |code: u8, len: usize| {
        let ok = match code {
            80 => len == 0,        // rapid commit
            81 => len >= 3,        // client FQDN
            94 => len == 3,        // client network interface
            152..=155 => len == 4, // bulk leasequery times
            _ => true,
        };
        (!ok).then(|| format!("option {code} of {len} bytes"))
    };
    let mut run: Option<(u8, usize)> = None;
    let mut i = OPTIONS_AT;
    while let Some(&code) = payload.get(i) {
        if let Some((c, len)) = run.filter(|(c, _)| *c != code) {
            if let Some(why) = bad(c, len) {
                return Some(why);
            }
            run = None;
        }
        if code == 0 || code == 255 {
            if code == 255 {
                break;
            }
            i += 1;
            continue;
        }
        // A truncated option ends dhcproto's reading without decoding its run.
        let len = usize::from(*payload.get(i + 1)?);
        if i + 2 + len > payload.len() {
            return None;
        }
        run = Some((code, run.map_or(0, |(_, l)| l) + len));
        i += 2 + len;
    }
    run.and_then(|(c, len)| bad(c, len))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(kind: Kind) -> Request<'static> {
        Request {
            kind,
            xid: 0x1234_5678,
            secs: 1,
            chaddr: [2, 0, 0, 0, 0, 1],
            ciaddr: Ipv4Addr::UNSPECIFIED,
            requested: Some(Ipv4Addr::new(192, 0, 2, 50)),
            server: Some(Ipv4Addr::new(192, 0, 2, 1)),
            client_id: Some(&[0xff, 1, 2, 3, 4]),
            hostname: Some("laptop"),
            max_message_size: 1500,
        }
    }

    #[test]
    fn request_carries_what_servers_need() {
        let bytes = request(Kind::Request).encode().unwrap();
        assert!(bytes.len() >= MIN_LEN);
        let m = Message::from_bytes(&bytes).unwrap();
        assert_eq!(m.opcode(), Opcode::BootRequest);
        assert_eq!(m.xid(), 0x1234_5678);
        assert_eq!(&m.chaddr()[..6], &[2, 0, 0, 0, 0, 1]);
        let o = m.opts();
        assert_eq!(o.msg_type(), Some(MessageType::Request));
        assert_eq!(
            o.get(OptionCode::RequestedIpAddress),
            Some(&DhcpOption::RequestedIpAddress(Ipv4Addr::new(
                192, 0, 2, 50
            )))
        );
        assert_eq!(
            o.get(OptionCode::ClientIdentifier),
            Some(&DhcpOption::ClientIdentifier(vec![0xff, 1, 2, 3, 4]))
        );
        assert_eq!(
            o.get(OptionCode::ParameterRequestList),
            Some(&DhcpOption::ParameterRequestList(PARAMETERS.to_vec()))
        );
        assert_eq!(
            o.get(OptionCode::MaxMessageSize),
            Some(&DhcpOption::MaxMessageSize(1500))
        );
        assert_eq!(
            o.get(OptionCode::Hostname),
            Some(&DhcpOption::Hostname("laptop".into()))
        );
    }

    #[test]
    fn release_names_the_server_and_nothing_to_configure() {
        let bytes = request(Kind::Release).encode().unwrap();
        let m = Message::from_bytes(&bytes).unwrap();
        assert_eq!(m.opts().msg_type(), Some(MessageType::Release));
        assert!(m.opts().get(OptionCode::ServerIdentifier).is_some());
        assert!(m.opts().get(OptionCode::ParameterRequestList).is_none());
        assert!(m.opts().get(OptionCode::RequestedIpAddress).is_none());
    }

    #[test]
    fn our_own_request_is_not_a_reply() {
        let bytes = request(Kind::Discover).encode().unwrap();
        assert_eq!(parse(&bytes).unwrap_err(), Drop::NotAReply);
    }

    /// A reply with options dhcproto only checks in debug builds (found by fuzzing: an
    /// option 94 of 0 bytes aborted the client) is dropped, whatever the build.
    #[test]
    fn options_of_a_length_dhcproto_does_not_check_are_malformed() {
        let mut reply = request(Kind::Request).encode().unwrap();
        reply[0] = 2; // BOOTREPLY
        let end = reply.iter().rposition(|&b| b == 255).unwrap();
        for (option, ok) in [
            (&[94, 0][..], false),
            (&[94, 4, 1, 2, 3, 4], false),
            (&[94, 3, 1, 2, 3], true),
            (&[94, 1, 1, 94, 2, 2, 3], true),
            (&[80, 1, 0], false),
            (&[81, 2, 0, 0], false),
            (&[152, 3, 0, 0, 0], false),
            (&[155, 5, 0, 0, 0, 0, 0], false),
            (&[156, 4, 0, 0, 0, 0], true),
        ] {
            let mut p = reply.clone();
            p.splice(end..end, option.iter().copied());
            let why = unchecked_option_length(&p);
            assert_eq!(why.is_none(), ok, "{option:?}: {why:?}");
            if !ok {
                assert!(matches!(parse(&p), Err(Drop::Malformed(_))), "{option:?}");
            }
        }
    }

    /// A reply whose hardware address length is more than chaddr's 16 bytes (found by
    /// fuzzing: it panicked, in release builds too) is dropped.
    #[test]
    fn a_hardware_address_longer_than_chaddr_is_malformed() {
        let mut m = Message::from_bytes(&request(Kind::Request).encode().unwrap()).unwrap();
        m.set_opcode(Opcode::BootReply);
        m.opts_mut()
            .insert(DhcpOption::MessageType(MessageType::Offer));
        let mut reply = m.to_vec().unwrap();
        reply[2] = 16;
        assert!(parse(&reply).is_ok());
        for hlen in [17, 126, 255] {
            reply[2] = hlen;
            assert!(matches!(parse(&reply), Err(Drop::Malformed(_))), "{hlen}");
        }
    }

    #[test]
    fn truncated_datagram_is_malformed() {
        assert!(matches!(parse(&[2, 1, 6, 0]), Err(Drop::Malformed(_))));
    }
}
