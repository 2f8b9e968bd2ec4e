//! Confirming the lease after a resume: INIT-REBOOT from BOUND, RENEWING or REBINDING; a
//! NAK from the network the laptop woke on starts over at once; a lease that ran out during
//! the sleep is not asked for again.

use super::*;

/// A server of the network the laptop woke up on.
const ELSEWHERE: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);

/// Asserts `fx` asks for ADDR again in one INIT-REBOOT REQUEST with a new transaction id, and
/// returns it; the address stays configured meanwhile.
fn asks_again(m: &Machine, fx: &[Effect], old_xid: Option<u32>) -> Message {
    assert_eq!(m.state(), State::Rebooting);
    let (r, to) = only_sent(fx);
    assert_eq!(to, Destination::Broadcast);
    assert_eq!(r.opts().msg_type(), Some(MessageType::Request));
    assert_eq!(r.ciaddr(), Ipv4Addr::UNSPECIFIED);
    assert_eq!(
        opt(&r, OptionCode::RequestedIpAddress),
        Some(&DhcpOption::RequestedIpAddress(ADDR))
    );
    assert!(opt(&r, OptionCode::ServerIdentifier).is_none());
    assert_ne!(Some(r.xid()), old_xid, "a new transaction");
    assert!(fx.contains(&Effect::Listen(Listen::Packet {
        ifindex: 7,
        xid: r.xid()
    })));
    assert!(!fx.iter().any(|e| matches!(e, Effect::Remove(_))));
    assert_eq!(m.lease().map(|l| l.address), Some(ADDR));
    no_release(fx);
    r
}

#[test]
fn confirm_while_bound_asks_again_and_an_ack_keeps_the_address() {
    let mut m = bound(3600);
    let fx = m.confirm(at(100));
    let r = asks_again(&m, &fx, None);
    let fx = m.receive(at(100), &bytes(&reply(MessageType::Ack, &r, SERVER, 3600)));
    assert_eq!(m.state(), State::Bound);
    assert!(!fx
        .iter()
        .any(|e| matches!(e, Effect::Apply(_) | Effect::Remove(_))));
    assert_eq!(lease_of(&fx).acquired, at(100));
    assert_eq!(m.deadline(), Some(at(1900)));
}

#[test]
fn confirm_while_renewing_or_rebinding_asks_again_at_once() {
    let mut m = bound(1000);
    m.timeout(at(501));
    assert_eq!(m.state(), State::Renewing);
    let renewing = m.xid();
    let fx = m.confirm(at(502));
    asks_again(&m, &fx, renewing);

    let mut m = bound(1000);
    m.timeout(at(501));
    m.timeout(at(876));
    assert_eq!(m.state(), State::Rebinding);
    let rebinding = m.xid();
    let fx = m.confirm(at(900));
    asks_again(&m, &fx, rebinding);
}

#[test]
fn a_nak_from_another_network_unconfigures_and_discovers_at_once() {
    let mut m = bound(3600);
    let fx = m.confirm(at(100));
    let r = asks_again(&m, &fx, None);
    let fx = m.receive(at(100), &bytes(&reply(MessageType::Nak, &r, ELSEWHERE, 0)));
    assert!(matches!(&fx[0], Effect::Remove(l) if l.address == ADDR));
    assert!(m.lease().is_none());
    assert_eq!(m.state(), State::Selecting);
    let (d, _) = only_sent(&fx);
    assert_eq!(d.opts().msg_type(), Some(MessageType::Discover));
    assert!(opt(&d, OptionCode::RequestedIpAddress).is_none());
    no_release(&fx);
}

#[test]
fn a_lease_that_ran_out_during_the_sleep_is_dropped_not_asked_for() {
    let mut m = bound(600);
    // Woken an hour later: the poll's clock stood still, the lease's did not.
    let fx = m.confirm(at(3600));
    assert!(matches!(&fx[0], Effect::Remove(l) if l.address == ADDR));
    assert!(m.lease().is_none());
    assert_eq!(m.state(), State::Selecting);
    let (d, _) = only_sent(&fx);
    assert_eq!(d.opts().msg_type(), Some(MessageType::Discover));
    no_release(&fx);
}

#[test]
fn confirm_after_a_nak_backoff_asks_at_once() {
    let mut m = bound(1000);
    let (r, _) = only_sent(&m.timeout(at(501)));
    m.receive(at(502), &bytes(&reply(MessageType::Nak, &r, SERVER, 0)));
    assert_eq!(m.state(), State::Init);
    let (d, _) = only_sent(&m.confirm(at(502)));
    assert_eq!(d.opts().msg_type(), Some(MessageType::Discover));
    assert_eq!(m.state(), State::Selecting);
}

#[test]
fn confirm_does_nothing_before_start_or_after_a_release() {
    let mut m = machine();
    assert!(m.confirm(at(1)).is_empty());
    assert_eq!(m.state(), State::Init);
    let mut m = bound(3600);
    m.release();
    assert!(m.confirm(at(10)).is_empty());
    assert_eq!(m.state(), State::Init);
    assert_eq!(m.deadline(), None);
}
