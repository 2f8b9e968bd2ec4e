//! The built-in DHCP client's receive path: a datagram decoded by the codec and fed to the
//! state machine in each of its states. The fuzzed payload gets the transaction id and
//! hardware address the machine waits for (when the flag byte says so), so that replies
//! reach the lease and timer code, not only the early drops. After it, the machine's
//! timers run on: whatever a server sends, nothing panics or overflows, and a lease
//! applied is one the kernel can take.
#![no_main]

use std::net::Ipv4Addr;
use std::time::Duration;

use dhcproto::v4::{DhcpOption, Message, MessageType, Opcode};
use dhcproto::{Decodable, Encodable};
use hotbond::dhcp::builtin::{codec, BootTime, Config, Effect, Lease, Link, Machine};
use hotbond::net::Mac;
use libfuzzer_sys::fuzz_target;

const MAC: Mac = Mac([0x02, 0, 0, 0, 0, 0x01]);
const MAC2: Mac = Mac([0x02, 0, 0, 0, 0, 0x02]);
const SERVER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const ADDR: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 50);

fn at(secs: u64) -> BootTime {
    BootTime(Duration::from_secs(secs))
}

fn link(mac: Mac) -> Link {
    Link { ifindex: 7, mac }
}

/// The one message sent among the effects.
fn sent(fx: &[Effect]) -> Message {
    fx.iter()
        .find_map(|e| match e {
            Effect::Send { payload, .. } => Message::from_bytes(payload).ok(),
            _ => None,
        })
        .expect("a message sent")
}

fn reply(kind: MessageType, to: &Message) -> Vec<u8> {
    let mut m = Message::new_with_id(
        to.xid(),
        Ipv4Addr::UNSPECIFIED,
        ADDR,
        SERVER,
        Ipv4Addr::UNSPECIFIED,
        &to.chaddr()[..6],
    );
    m.set_opcode(Opcode::BootReply);
    let o = m.opts_mut();
    o.insert(DhcpOption::MessageType(kind));
    o.insert(DhcpOption::ServerIdentifier(SERVER));
    o.insert(DhcpOption::AddressLeaseTime(120));
    o.insert(DhcpOption::SubnetMask(Ipv4Addr::new(255, 255, 255, 0)));
    o.insert(DhcpOption::Router(vec![SERVER]));
    m.to_vec().expect("encode a reply")
}

fn remembered() -> Lease {
    Lease {
        address: ADDR,
        prefix_len: 24,
        server: SERVER,
        routes: Vec::new(),
        dns: Vec::new(),
        domain: None,
        search: Vec::new(),
        mtu: None,
        acquired: at(0),
        lease_time: Duration::from_secs(3600),
        t1: Duration::from_secs(1800),
        t2: Duration::from_secs(3150),
    }
}

/// A machine in one of its states (by `which`), and the time it is at.
fn machine(which: u8) -> (Machine, u64) {
    let mut c = Config::new("bond0");
    c.client_id = Some(vec![0xff, 0, 0, 0, 1]);
    c.hostname = Some("laptop".into());
    let mut m = Machine::new(c, 42);
    if which % 8 == 5 {
        m.start(at(100), link(MAC), Some(remembered()));
        return (m, 100);
    }
    let d = sent(&m.start(at(0), link(MAC), None));
    if which % 8 == 0 {
        return (m, 0); // Selecting
    }
    let r = sent(&m.receive(at(0), &reply(MessageType::Offer, &d)));
    if which % 8 == 1 {
        return (m, 0); // Requesting
    }
    m.receive(at(1), &reply(MessageType::Ack, &r));
    match which % 8 {
        2 => (m, 1), // Bound
        3 => {
            m.timeout(at(61)); // Renewing
            (m, 61)
        }
        4 => {
            m.timeout(at(61));
            m.timeout(at(106)); // Rebinding
            (m, 106)
        }
        6 => {
            m.link_changed(at(2), link(MAC2)); // Rebooting from the new MAC
            (m, 2)
        }
        _ => {
            m.release(); // Stopped
            (m, 2)
        }
    }
}

fn check(fx: &[Effect]) {
    for e in fx {
        if let Effect::Apply(l) | Effect::Renew(l) = e {
            assert!(l.prefix_len <= 32, "{l:?}");
            assert!(
                !l.address.is_unspecified() && !l.address.is_broadcast(),
                "{l:?}"
            );
            let _ = (l.expires(), l.renew_at(), l.rebind_at());
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let [which, flags, rest @ ..] = data else {
        return;
    };
    let _ = codec::parse(rest);
    let (mut m, now) = machine(*which);
    let mut payload = rest.to_vec();
    if flags & 1 != 0 && payload.len() >= 8 {
        if let Some(xid) = m.xid() {
            payload[4..8].copy_from_slice(&xid.to_be_bytes());
        }
    }
    if flags & 2 != 0 && payload.len() >= 34 {
        if let Some(l) = m.link() {
            payload[28..34].copy_from_slice(&l.mac.0);
        }
    }
    let later = now + u64::from(flags >> 4);
    check(&m.receive(at(later), &payload));
    // The timers the reply set run their course.
    let mut t = at(later);
    for _ in 0..8 {
        let Some(d) = m.deadline() else { break };
        t = t.max(d);
        check(&m.timeout(t));
    }
    if flags & 4 != 0 {
        check(&m.link_changed(t, link(MAC2)));
        check(&m.release());
    }
});
