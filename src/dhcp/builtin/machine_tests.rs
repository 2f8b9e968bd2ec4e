//! Every transition of the machine, fed constructed server replies.

use std::net::Ipv4Addr;
use std::time::Duration;

use dhcproto::v4::{DhcpOption, Message, MessageType, Opcode, OptionCode, UnknownOption};
use dhcproto::{Decodable, Encodable};

use super::*;
use crate::dhcp::builtin::lease::Route;

const MAC: Mac = Mac([0x02, 0, 0, 0, 0, 0x01]);
const MAC2: Mac = Mac([0x02, 0, 0, 0, 0, 0x02]);
const SERVER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const OTHER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 9);
const ADDR: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 50);
const ID: &[u8] = &[0xff, 0, 0, 0, 1, 0, 4, 9, 9];

fn at(secs: u64) -> BootTime {
    BootTime(Duration::from_secs(secs))
}
fn at_ms(ms: u64) -> BootTime {
    BootTime(Duration::from_millis(ms))
}
fn link(mac: Mac) -> Link {
    Link { ifindex: 7, mac }
}

fn machine() -> Machine {
    let mut c = Config::new("bond0");
    c.client_id = Some(ID.to_vec());
    c.hostname = Some("laptop".into());
    Machine::new(c, 42)
}

/// The messages sent among the effects, decoded, with where they went.
fn sent(fx: &[Effect]) -> Vec<(Message, Destination)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Send { payload, to } => Some((Message::from_bytes(payload).unwrap(), *to)),
            _ => None,
        })
        .collect()
}

fn only_sent(fx: &[Effect]) -> (Message, Destination) {
    let s = sent(fx);
    assert_eq!(s.len(), 1, "one message expected in {fx:?}");
    s.into_iter().next().unwrap()
}

fn opt(m: &Message, code: OptionCode) -> Option<&DhcpOption> {
    m.opts().get(code)
}

fn no_release(fx: &[Effect]) {
    for (m, _) in sent(fx) {
        assert_ne!(m.opts().msg_type(), Some(MessageType::Release));
    }
}

/// A server's reply to `to`, with the usual options of a lease.
fn reply(kind: MessageType, to: &Message, server: Ipv4Addr, lease_secs: u32) -> Message {
    let mut m = Message::new_with_id(
        to.xid(),
        Ipv4Addr::UNSPECIFIED,
        if kind == MessageType::Nak {
            Ipv4Addr::UNSPECIFIED
        } else {
            ADDR
        },
        server,
        Ipv4Addr::UNSPECIFIED,
        &to.chaddr()[..6],
    );
    m.set_opcode(Opcode::BootReply);
    let o = m.opts_mut();
    o.insert(DhcpOption::MessageType(kind));
    o.insert(DhcpOption::ServerIdentifier(server));
    if kind != MessageType::Nak {
        o.insert(DhcpOption::AddressLeaseTime(lease_secs));
        o.insert(DhcpOption::SubnetMask(Ipv4Addr::new(255, 255, 255, 0)));
        o.insert(DhcpOption::Router(vec![SERVER]));
        o.insert(DhcpOption::DomainNameServer(vec![Ipv4Addr::new(
            192, 0, 2, 53,
        )]));
        o.insert(DhcpOption::DomainName("example.org".into()));
    }
    m
}

fn bytes(m: &Message) -> Vec<u8> {
    m.to_vec().unwrap()
}

/// Runs DISCOVER -> OFFER -> REQUEST -> ACK at t=0..1 with a lease of `lease` seconds.
fn bound(lease: u32) -> Machine {
    let mut m = machine();
    let (d, _) = only_sent(&m.start(at(0), link(MAC), None));
    let (r, _) =
        only_sent(&m.receive(at(0), &bytes(&reply(MessageType::Offer, &d, SERVER, lease))));
    let fx = m.receive(at(1), &bytes(&reply(MessageType::Ack, &r, SERVER, lease)));
    assert!(fx.iter().any(|e| matches!(e, Effect::Apply(_))));
    assert_eq!(m.state(), State::Bound);
    m
}

fn lease_of(fx: &[Effect]) -> Lease {
    fx.iter()
        .find_map(|e| match e {
            Effect::Apply(l) | Effect::Renew(l) => Some(l.clone()),
            _ => None,
        })
        .expect("a lease applied or renewed")
}

#[test]
fn discover_offer_request_ack_binds_the_lease() {
    let mut m = machine();
    let fx = m.start(at(0), link(MAC), None);
    assert_eq!(m.state(), State::Selecting);
    assert!(matches!(
        fx[0],
        Effect::Listen(Listen::Packet { ifindex: 7, .. })
    ));
    let (d, to) = only_sent(&fx);
    assert_eq!(to, Destination::Broadcast);
    assert_eq!(d.opts().msg_type(), Some(MessageType::Discover));
    assert!(d.secs() >= 1);
    assert_eq!(&d.chaddr()[..6], &MAC.0);
    assert_eq!(
        opt(&d, OptionCode::ClientIdentifier),
        Some(&DhcpOption::ClientIdentifier(ID.to_vec()))
    );
    assert!(opt(&d, OptionCode::MaxMessageSize).is_some());
    assert!(opt(&d, OptionCode::Hostname).is_some());

    let fx = m.receive(at(0), &bytes(&reply(MessageType::Offer, &d, SERVER, 3600)));
    assert_eq!(m.state(), State::Requesting);
    let (r, to) = only_sent(&fx);
    assert_eq!(to, Destination::Broadcast);
    assert_eq!(
        r.xid(),
        d.xid(),
        "the REQUEST answers the OFFER's transaction"
    );
    assert_eq!(r.opts().msg_type(), Some(MessageType::Request));
    assert_eq!(
        opt(&r, OptionCode::RequestedIpAddress),
        Some(&DhcpOption::RequestedIpAddress(ADDR))
    );
    assert_eq!(
        opt(&r, OptionCode::ServerIdentifier),
        Some(&DhcpOption::ServerIdentifier(SERVER))
    );
    assert_eq!(
        opt(&r, OptionCode::ParameterRequestList),
        opt(&d, OptionCode::ParameterRequestList),
        "the same parameters in DISCOVER and REQUEST"
    );

    let fx = m.receive(at(1), &bytes(&reply(MessageType::Ack, &r, SERVER, 3600)));
    assert_eq!(m.state(), State::Bound);
    let l = lease_of(&fx);
    assert_eq!((l.address, l.prefix_len, l.server), (ADDR, 24, SERVER));
    assert_eq!(
        l.routes,
        vec![Route {
            dest: Ipv4Addr::UNSPECIFIED,
            prefix_len: 0,
            gateway: SERVER
        }]
    );
    assert_eq!(l.dns, vec![Ipv4Addr::new(192, 0, 2, 53)]);
    assert_eq!(l.domain.as_deref(), Some("example.org"));
    assert_eq!(
        (l.t1, l.t2),
        (Duration::from_secs(1800), Duration::from_secs(3150))
    );
    assert!(fx.contains(&Effect::Persist(l.clone())));
    assert!(fx.contains(&Effect::Listen(Listen::Nothing)));
    assert_eq!(m.deadline(), Some(at(1 + 1800)));
}

#[test]
fn option_121_replaces_the_router_option() {
    let mut m = machine();
    let (d, _) = only_sent(&m.start(at(0), link(MAC), None));
    let (r, _) = only_sent(&m.receive(at(0), &bytes(&reply(MessageType::Offer, &d, SERVER, 600))));
    let mut ack = reply(MessageType::Ack, &r, SERVER, 600);
    // On the wire (RFC 3442): 10.0.0.0/8 via 192.0.2.254, 0.0.0.0/0 via 192.0.2.2.
    let raw = vec![8, 10, 192, 0, 2, 254, 0, 192, 0, 2, 2];
    ack.opts_mut()
        .insert(DhcpOption::Unknown(UnknownOption::new(
            OptionCode::ClasslessStaticRoute,
            raw,
        )));
    let l = lease_of(&m.receive(at(1), &bytes(&ack)));
    assert_eq!(
        l.routes,
        vec![
            Route {
                dest: Ipv4Addr::new(10, 0, 0, 0),
                prefix_len: 8,
                gateway: Ipv4Addr::new(192, 0, 2, 254)
            },
            Route {
                dest: Ipv4Addr::UNSPECIFIED,
                prefix_len: 0,
                gateway: Ipv4Addr::new(192, 0, 2, 2)
            },
        ],
        "option 3's router is ignored"
    );
}

#[test]
fn malformed_foreign_and_unasked_replies_are_ignored() {
    let mut m = machine();
    let (d, _) = only_sent(&m.start(at(0), link(MAC), None));
    let offer = reply(MessageType::Offer, &d, SERVER, 600);
    // Truncated, another xid, another chaddr, a BOOTREQUEST: nothing happens.
    assert!(m.receive(at(0), &bytes(&offer)[..100]).is_empty());
    let mut other_xid = offer.clone();
    other_xid.set_xid(d.xid().wrapping_add(1));
    assert!(m.receive(at(0), &bytes(&other_xid)).is_empty());
    let mut other_mac = offer.clone();
    other_mac.set_chaddr(&MAC2.0);
    assert!(m.receive(at(0), &bytes(&other_mac)).is_empty());
    let mut request = offer.clone();
    request.set_opcode(Opcode::BootRequest);
    assert!(m.receive(at(0), &bytes(&request)).is_empty());
    assert_eq!(m.state(), State::Selecting);

    // REQUESTING from SERVER: another server's NAK or ACK changes nothing.
    let (r, _) = only_sent(&m.receive(at(0), &bytes(&offer)));
    assert!(m
        .receive(at(0), &bytes(&reply(MessageType::Nak, &r, OTHER, 0)))
        .is_empty());
    assert!(m
        .receive(at(0), &bytes(&reply(MessageType::Ack, &r, OTHER, 600)))
        .is_empty());
    assert_eq!(m.state(), State::Requesting);
    // An ACK without a lease time is no lease.
    let mut no_time = reply(MessageType::Ack, &r, SERVER, 600);
    no_time.opts_mut().remove(OptionCode::AddressLeaseTime);
    assert!(m.receive(at(0), &bytes(&no_time)).is_empty());
    assert_eq!(m.state(), State::Requesting);
}

#[test]
fn nak_while_requesting_restarts_after_a_growing_delay() {
    let mut m = machine();
    let (d, _) = only_sent(&m.start(at(0), link(MAC), None));
    let (r, _) = only_sent(&m.receive(at(0), &bytes(&reply(MessageType::Offer, &d, SERVER, 600))));
    let fx = m.receive(at(0), &bytes(&reply(MessageType::Nak, &r, SERVER, 0)));
    assert!(sent(&fx).is_empty());
    assert_eq!(m.state(), State::Init);
    assert_eq!(m.deadline(), Some(at(1)));
    let (d2, _) = only_sent(&m.timeout(at(1)));
    assert_eq!(m.state(), State::Selecting);
    assert_ne!(d2.xid(), d.xid());
    let (r2, _) =
        only_sent(&m.receive(at(1), &bytes(&reply(MessageType::Offer, &d2, SERVER, 600))));
    m.receive(at(1), &bytes(&reply(MessageType::Nak, &r2, SERVER, 0)));
    assert_eq!(
        m.deadline(),
        Some(at(3)),
        "the second NAK waits twice as long"
    );
}

#[test]
fn discover_retransmits_at_doubling_intervals_with_jitter() {
    let mut m = machine();
    only_sent(&m.start(at(0), link(MAC), None));
    let mut now = at(0);
    let mut gaps = Vec::new();
    for _ in 0..7 {
        let d = m.deadline().unwrap();
        gaps.push(d.since(now).as_secs_f64());
        now = d;
        let (msg, _) = only_sent(&m.timeout(now));
        assert_eq!(msg.opts().msg_type(), Some(MessageType::Discover));
        assert!(msg.secs() as u64 >= now.0.as_secs().max(1) - 1);
    }
    for (gap, base) in gaps.iter().zip([4.0, 8.0, 16.0, 32.0, 64.0, 64.0, 64.0]) {
        assert!((gap - base).abs() <= 1.0, "{gaps:?}");
    }
    assert!(
        gaps.windows(2).any(|w| w[0] * 2.0 != w[1]),
        "jittered: {gaps:?}"
    );
    // Early calls do nothing.
    let d = m.deadline().unwrap();
    assert!(m.timeout(at_ms(d.0.as_millis() as u64 - 1)).is_empty());
}

#[test]
fn first_retransmission_can_be_shorter() {
    let mut c = Config::new("bond0");
    c.first_retransmit = Duration::from_millis(500);
    let mut m = Machine::new(c, 1);
    m.start(at(0), link(MAC), None);
    let d = m.deadline().unwrap();
    assert!(d >= at_ms(375) && d <= at_ms(625), "{d:?}");
}

#[test]
fn retransmissions_can_be_capped() {
    let mut c = Config::new("bond0");
    c.first_retransmit = Duration::from_secs(1);
    c.max_retransmit = Duration::from_secs(4);
    let mut m = Machine::new(c, 1);
    m.start(at(0), link(MAC), None);
    let mut now = at(0);
    for _ in 0..6 {
        let d = m.deadline().unwrap();
        assert!(d.since(now) <= Duration::from_secs(5), "{:?}", d.since(now));
        now = d;
        only_sent(&m.timeout(now));
    }
}

#[test]
fn unanswered_requests_start_over() {
    let mut m = machine();
    let (d, _) = only_sent(&m.start(at(0), link(MAC), None));
    only_sent(&m.receive(at(0), &bytes(&reply(MessageType::Offer, &d, SERVER, 600))));
    for _ in 1..REQUEST_ATTEMPTS {
        let t = m.deadline().unwrap();
        let (r, _) = only_sent(&m.timeout(t));
        assert_eq!(r.opts().msg_type(), Some(MessageType::Request));
    }
    let t = m.deadline().unwrap();
    let (d2, _) = only_sent(&m.timeout(t));
    assert_eq!(d2.opts().msg_type(), Some(MessageType::Discover));
    assert_eq!(m.state(), State::Selecting);
}

#[test]
fn t1_renews_by_unicast_t2_rebinds_by_broadcast_expiry_unconfigures() {
    let mut m = bound(1000);
    // T1 at 1 + 500: RENEWING, unicast from our address, ciaddr set, no option 50/54.
    let fx = m.timeout(at(501));
    assert_eq!(m.state(), State::Renewing);
    let xid = m.xid().unwrap();
    assert!(fx.contains(&Effect::Listen(Listen::Udp {
        ifindex: 7,
        address: ADDR,
        xid
    })));
    let (r, to) = only_sent(&fx);
    assert_eq!(
        to,
        Destination::Unicast {
            from: ADDR,
            server: SERVER
        }
    );
    assert_eq!(r.ciaddr(), ADDR);
    assert!(opt(&r, OptionCode::RequestedIpAddress).is_none());
    assert!(opt(&r, OptionCode::ServerIdentifier).is_none());
    // Retry at half the time to T2 (876), at least 60 s apart, never past T2.
    assert_eq!(m.deadline(), Some(at_ms(688_500)));
    let (r2, _) = only_sent(&m.timeout(at_ms(688_500)));
    assert_eq!(r2.xid(), r.xid());
    let mut last = at_ms(688_500);
    while m.deadline() < Some(at(876)) {
        let d = m.deadline().unwrap();
        assert!(d.since(last) >= Duration::from_secs(60));
        last = d;
        only_sent(&m.timeout(d));
        assert_eq!(m.state(), State::Renewing);
    }
    assert_eq!(m.deadline(), Some(at(876)));
    // T2: REBINDING, broadcast through the packet socket.
    let fx = m.timeout(at(876));
    assert_eq!(m.state(), State::Rebinding);
    assert!(fx
        .iter()
        .any(|e| matches!(e, Effect::Listen(Listen::Packet { .. }))));
    let (b, to) = only_sent(&fx);
    assert_eq!(to, Destination::Broadcast);
    assert_eq!(b.ciaddr(), ADDR);
    assert_ne!(b.xid(), r.xid());
    // Expiry: the address goes, DISCOVER again (asking for the old address).
    let (now, fx) = loop {
        let now = m.deadline().unwrap();
        let fx = m.timeout(now);
        if m.state() != State::Rebinding {
            break (now, fx);
        }
    };
    assert_eq!(now, at(1001));
    assert!(matches!(&fx[0], Effect::Remove(l) if l.address == ADDR));
    assert_eq!(m.state(), State::Selecting);
    assert!(m.lease().is_none());
    let (d, _) = only_sent(&fx);
    assert_eq!(
        opt(&d, OptionCode::RequestedIpAddress),
        Some(&DhcpOption::RequestedIpAddress(ADDR))
    );
    no_release(&fx);
}

#[test]
fn ack_while_renewing_refreshes_lifetimes_without_readding() {
    let mut m = bound(1000);
    let (r, _) = only_sent(&m.timeout(at(501)));
    let fx = m.receive(at(502), &bytes(&reply(MessageType::Ack, &r, SERVER, 1000)));
    assert_eq!(m.state(), State::Bound);
    assert!(!fx
        .iter()
        .any(|e| matches!(e, Effect::Apply(_) | Effect::Remove(_))));
    let l = lease_of(&fx);
    assert_eq!(l.acquired, at(502));
    assert_eq!(m.deadline(), Some(at(1002)));
}

#[test]
fn nak_while_renewing_unconfigures() {
    let mut m = bound(1000);
    let (r, _) = only_sent(&m.timeout(at(501)));
    assert!(m
        .receive(at(502), &bytes(&reply(MessageType::Nak, &r, OTHER, 0)))
        .is_empty());
    let fx = m.receive(at(502), &bytes(&reply(MessageType::Nak, &r, SERVER, 0)));
    assert!(matches!(&fx[0], Effect::Remove(l) if l.address == ADDR));
    assert_eq!(m.state(), State::Init);
    assert!(m.lease().is_none());
}

#[test]
fn forced_renewal_comes_early() {
    let mut c = Config::new("bond0");
    c.renew_after = Some(Duration::from_secs(2));
    let mut m = Machine::new(c, 3);
    let (d, _) = only_sent(&m.start(at(0), link(MAC), None));
    let (r, _) = only_sent(&m.receive(at(0), &bytes(&reply(MessageType::Offer, &d, SERVER, 120))));
    m.receive(at(0), &bytes(&reply(MessageType::Ack, &r, SERVER, 120)));
    assert_eq!(m.deadline(), Some(at(2)));
    m.timeout(at(2));
    assert_eq!(m.state(), State::Renewing);
}

fn remembered(acquired: u64, lease: u64) -> Lease {
    Lease {
        address: ADDR,
        prefix_len: 24,
        server: SERVER,
        routes: Vec::new(),
        dns: Vec::new(),
        domain: None,
        search: Vec::new(),
        mtu: None,
        acquired: at(acquired),
        lease_time: Duration::from_secs(lease),
        t1: Duration::from_secs(lease / 2),
        t2: Duration::from_secs(lease * 7 / 8),
    }
}

#[test]
fn remembered_lease_is_requested_with_init_reboot() {
    let mut m = machine();
    let fx = m.start(at(100), link(MAC), Some(remembered(0, 3600)));
    assert_eq!(m.state(), State::Rebooting);
    let (r, to) = only_sent(&fx);
    assert_eq!(to, Destination::Broadcast);
    assert_eq!(r.opts().msg_type(), Some(MessageType::Request));
    assert_eq!(
        opt(&r, OptionCode::RequestedIpAddress),
        Some(&DhcpOption::RequestedIpAddress(ADDR))
    );
    assert!(opt(&r, OptionCode::ServerIdentifier).is_none());
    assert_eq!(r.ciaddr(), Ipv4Addr::UNSPECIFIED);
    // Any server may answer an INIT-REBOOT.
    let fx = m.receive(at(100), &bytes(&reply(MessageType::Ack, &r, OTHER, 3600)));
    assert_eq!(m.state(), State::Bound);
    assert!(matches!(&fx[0], Effect::Apply(l) if l.address == ADDR));
}

#[test]
fn expired_remembered_lease_is_only_a_hint() {
    let mut m = machine();
    let (d, _) = only_sent(&m.start(at(5000), link(MAC), Some(remembered(0, 3600))));
    assert_eq!(m.state(), State::Selecting);
    assert_eq!(
        opt(&d, OptionCode::RequestedIpAddress),
        Some(&DhcpOption::RequestedIpAddress(ADDR))
    );
}

#[test]
fn init_reboot_nak_discovers_at_once() {
    let mut m = machine();
    let (r, _) = only_sent(&m.start(at(100), link(MAC), Some(remembered(0, 3600))));
    let fx = m.receive(at(100), &bytes(&reply(MessageType::Nak, &r, SERVER, 0)));
    assert_eq!(m.state(), State::Selecting);
    let (d, _) = only_sent(&fx);
    assert_eq!(d.opts().msg_type(), Some(MessageType::Discover));
    assert!(
        opt(&d, OptionCode::RequestedIpAddress).is_none(),
        "the NAKed address is not hinted"
    );
}

#[test]
fn unanswered_init_reboot_falls_back_to_discover() {
    let mut m = machine();
    only_sent(&m.start(at(100), link(MAC), Some(remembered(0, 3600))));
    for _ in 1..REBOOT_ATTEMPTS {
        let t = m.deadline().unwrap();
        only_sent(&m.timeout(t));
        assert_eq!(m.state(), State::Rebooting);
    }
    let t = m.deadline().unwrap();
    let (d, _) = only_sent(&m.timeout(t));
    assert_eq!(d.opts().msg_type(), Some(MessageType::Discover));
}

#[test]
fn mac_change_keeps_the_address_and_asks_again_from_the_new_mac() {
    let mut m = bound(3600);
    let fx = m.link_changed(
        at(10),
        Link {
            ifindex: 7,
            mac: MAC2,
        },
    );
    no_release(&fx);
    assert!(
        !fx.iter().any(|e| matches!(e, Effect::Remove(_))),
        "address kept: {fx:?}"
    );
    assert_eq!(m.lease().map(|l| l.address), Some(ADDR));
    assert_eq!(m.state(), State::Rebooting);
    let xid = m.xid().unwrap();
    assert!(
        fx.contains(&Effect::Listen(Listen::Packet { ifindex: 7, xid })),
        "sockets reopened"
    );
    let (r, to) = only_sent(&fx);
    assert_eq!(to, Destination::Broadcast);
    assert_eq!(&r.chaddr()[..6], &MAC2.0);
    assert_eq!(
        opt(&r, OptionCode::RequestedIpAddress),
        Some(&DhcpOption::RequestedIpAddress(ADDR))
    );
    assert!(opt(&r, OptionCode::ServerIdentifier).is_none());
    assert_eq!(
        opt(&r, OptionCode::ClientIdentifier),
        Some(&DhcpOption::ClientIdentifier(ID.to_vec()))
    );
    // A late reply to the old MAC is not ours any more.
    let mut stale = reply(MessageType::Ack, &r, SERVER, 3600);
    stale.set_chaddr(&MAC.0);
    assert!(m.receive(at(10), &bytes(&stale)).is_empty());
    // One round trip: the same address, lifetimes refreshed, never removed.
    let fx = m.receive(at(10), &bytes(&reply(MessageType::Ack, &r, SERVER, 3600)));
    assert_eq!(m.state(), State::Bound);
    assert!(matches!(&fx[0], Effect::Renew(l) if l.address == ADDR && l.acquired == at(10)));
    assert!(!fx
        .iter()
        .any(|e| matches!(e, Effect::Remove(_) | Effect::Apply(_))));
}

#[test]
fn mac_change_unanswered_keeps_the_address_and_keeps_asking_until_an_answer() {
    // The server is down during the failover: it still binds ADDR to MAC, so the client
    // must not settle for BOUND until T1 but ask again from MAC2 until the server answers.
    let mut m = bound(3600);
    m.link_changed(at(10), link(MAC2));
    let mut fx = Vec::new();
    let mut last = None;
    for _ in 0..REBOOT_ATTEMPTS + 5 {
        let t = m.deadline().unwrap();
        assert!(t < at(1 + 1800), "asks again before T1, not at it");
        let out = m.timeout(t);
        let (r, _) = only_sent(&out);
        assert_eq!(r.opts().msg_type(), Some(MessageType::Request));
        assert_eq!(&r.chaddr()[..6], &MAC2.0);
        assert_eq!(m.state(), State::Rebooting);
        last = Some(r);
        fx.extend(out);
    }
    no_release(&fx);
    assert!(!fx.iter().any(|e| matches!(e, Effect::Remove(_))));
    assert_eq!(m.lease().map(|l| l.address), Some(ADDR));
    // The server is back: one ACK moves the lease to MAC2, and the timers are the usual ones.
    let t = m.deadline().unwrap();
    let fx = m.receive(
        t,
        &bytes(&reply(MessageType::Ack, &last.unwrap(), SERVER, 3600)),
    );
    assert_eq!(m.state(), State::Bound);
    assert!(matches!(&fx[0], Effect::Renew(l) if l.address == ADDR));
}

#[test]
fn unanswered_confirm_on_the_same_mac_keeps_the_lease_until_its_timers() {
    // Nothing moved (a resume's confirmation on the same slave): the server's binding is
    // still right, so an unanswered INIT-REBOOT falls back to BOUND and T1 as before.
    let mut m = bound(3600);
    m.confirm(at(10));
    let mut fx = Vec::new();
    for _ in 0..REBOOT_ATTEMPTS {
        let t = m.deadline().unwrap();
        fx.extend(m.timeout(t));
    }
    no_release(&fx);
    assert!(!fx.iter().any(|e| matches!(e, Effect::Remove(_))));
    assert_eq!(m.state(), State::Bound);
    assert_eq!(m.deadline(), Some(at(1 + 1800)));
}

#[test]
fn mac_change_unanswered_until_expiry_starts_over() {
    let mut m = bound(120);
    m.link_changed(at(10), link(MAC2));
    let mut removed = false;
    while let Some(t) = m.deadline() {
        let fx = m.timeout(t);
        if fx
            .iter()
            .any(|e| matches!(e, Effect::Remove(l) if l.address == ADDR))
        {
            removed = true;
            assert!(t >= at(121), "removed only at expiry, not at {t:?}");
            let (d, _) = only_sent(&fx);
            assert_eq!(d.opts().msg_type(), Some(MessageType::Discover));
            break;
        }
    }
    assert!(removed);
}

#[test]
fn mac_change_while_selecting_restarts_discovery() {
    let mut m = machine();
    let (d, _) = only_sent(&m.start(at(0), link(MAC), None));
    let (d2, _) = only_sent(&m.link_changed(
        at(1),
        Link {
            ifindex: 9,
            mac: MAC2,
        },
    ));
    assert_eq!(d2.opts().msg_type(), Some(MessageType::Discover));
    assert_ne!(d2.xid(), d.xid());
    assert_eq!(&d2.chaddr()[..6], &MAC2.0);
    assert!(m
        .link_changed(
            at(1),
            Link {
                ifindex: 9,
                mac: MAC2
            }
        )
        .is_empty());
}

#[test]
fn release_sends_a_release_and_stops() {
    let mut m = bound(3600);
    let fx = m.release();
    let (r, to) = only_sent(&fx);
    assert_eq!(r.opts().msg_type(), Some(MessageType::Release));
    assert_eq!(r.ciaddr(), ADDR);
    assert_eq!(
        to,
        Destination::Unicast {
            from: ADDR,
            server: SERVER
        }
    );
    assert!(fx
        .iter()
        .any(|e| matches!(e, Effect::Remove(l) if l.address == ADDR)));
    assert_eq!(m.state(), State::Init);
    assert_eq!(m.deadline(), None);
    // Stopped stays stopped, whatever the link does.
    assert!(m.link_changed(at(20), link(MAC2)).is_empty());
    assert!(m.timeout(at(10_000)).is_empty());
}

#[test]
fn replies_are_ignored_when_nothing_was_asked() {
    let mut m = bound(3600);
    let d = Message::new_with_id(1, ADDR, ADDR, ADDR, ADDR, &MAC.0);
    assert!(m
        .receive(at(5), &bytes(&reply(MessageType::Ack, &d, SERVER, 60)))
        .is_empty());
    assert_eq!(m.state(), State::Bound);
}

#[path = "machine_confirm_tests.rs"]
mod confirm;
