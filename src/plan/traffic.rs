//! After a resume, does the active slave carry traffic? The bond's job ARP-probes the default
//! gateway through the bond (a dock may wake with carrier and pass nothing); this decides,
//! from the probe's result and the slaves' state, whether to set the active slave aside so
//! that the bond fails over. Pure: the job reads and acts ([`crate::settle`]).

use std::net::{IpAddr, Ipv4Addr};

use crate::net::IpNet;

/// What the probe of the gateway found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Probe {
    /// The bond has no IPv4 default route: nothing to ask.
    NoGateway,
    /// `gateway` answered through `slave`, the active slave when the probe began.
    Answered { slave: String, gateway: Ipv4Addr },
    /// `gateway` did not answer any of the tries through `slave`.
    Unanswered { slave: String, gateway: Ipv4Addr },
}

/// A slave of the bond as it is when the probe ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlaveNow {
    pub name: String,
    /// Administratively up and operationally up (for Wi-Fi: authorised by the supplicant).
    pub ready: bool,
}

/// What the bond's job does about the probe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing to do; `why`, for the log.
    Keep { why: String },
    /// Take `dead` out of service (set it down) so that the bond fails over to `to`; `why`
    /// is the one line the log and `hotbond status` show.
    SetAside {
        dead: String,
        to: String,
        why: String,
    },
}

/// The decision: the slave probed is set aside only if it is still the active one, the
/// default route is still the one probed (a new lease or another network means packets got
/// through), and another slave is ready to carry the bond.
pub fn decide(
    probe: &Probe,
    active_now: Option<&str>,
    gateway_now: Option<Ipv4Addr>,
    slaves: &[SlaveNow],
) -> Verdict {
    let keep = |why: String| Verdict::Keep { why };
    let (slave, gateway) = match probe {
        Probe::NoGateway => {
            return keep("no IPv4 default gateway known: cannot check the active slave".into())
        }
        Probe::Answered { slave, gateway } => {
            return keep(format!(
                "{slave} passes traffic (gateway {gateway} answered ARP)"
            ))
        }
        Probe::Unanswered { slave, gateway } => (slave, *gateway),
    };
    let dead =
        format!("{slave} passes no traffic after resume (gateway {gateway} did not answer ARP)");
    if active_now != Some(slave.as_str()) {
        return keep(format!(
            "{dead}, but the active slave is now {}: left as it is",
            active_now.unwrap_or("none")
        ));
    }
    if gateway_now != Some(gateway) {
        return keep(format!(
            "{dead}, but the default route changed meanwhile (a new lease): left as it is"
        ));
    }
    match slaves.iter().find(|s| s.name != *slave && s.ready) {
        Some(to) => Verdict::SetAside {
            dead: slave.clone(),
            to: to.name.clone(),
            why: format!("{dead}; failing over to {}", to.name),
        },
        None => keep(format!("{dead}; no other slave is ready: staying on it")),
    }
}

/// The address to ask from: the bond's address on the gateway's subnet, one the DHCP client
/// configured rather than a static one if there is such, else 0.0.0.0 (a probe, RFC 5227).
pub fn probe_sender(addresses: &[IpNet], statics: &[IpNet], gateway: Ipv4Addr) -> Ipv4Addr {
    let on_subnet = |a: &&IpNet| {
        let gw = IpNet {
            addr: IpAddr::V4(gateway),
            prefix: a.prefix,
        };
        a.is_ipv4() && a.network() == gw.network()
    };
    let mut candidates: Vec<&IpNet> = addresses.iter().filter(on_subnet).collect();
    candidates.sort_by_key(|a| statics.contains(a));
    match candidates.first().map(|a| a.addr) {
        Some(IpAddr::V4(a)) => a,
        _ => Ipv4Addr::UNSPECIFIED,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GW: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);

    fn slave(name: &str, ready: bool) -> SlaveNow {
        SlaveNow {
            name: name.into(),
            ready,
        }
    }

    fn unanswered() -> Probe {
        Probe::Unanswered {
            slave: "eth1".into(),
            gateway: GW,
        }
    }

    fn kept(v: &Verdict) -> bool {
        matches!(v, Verdict::Keep { .. })
    }

    #[test]
    fn a_dead_active_slave_is_set_aside_for_a_ready_one() {
        let slaves = [slave("eth1", true), slave("wlan0", true)];
        let v = decide(&unanswered(), Some("eth1"), Some(GW), &slaves);
        assert_eq!(
            v,
            Verdict::SetAside {
                dead: "eth1".into(),
                to: "wlan0".into(),
                why: "eth1 passes no traffic after resume (gateway 192.0.2.1 did not answer \
                      ARP); failing over to wlan0"
                    .into(),
            }
        );
    }

    #[test]
    fn the_first_ready_slave_takes_over() {
        let slaves = [
            slave("eth1", true),
            slave("wlan0", false),
            slave("eth2", true),
        ];
        let v = decide(&unanswered(), Some("eth1"), Some(GW), &slaves);
        assert!(matches!(v, Verdict::SetAside { to, .. } if to == "eth2"));
    }

    #[test]
    fn nowhere_to_go_keeps_the_dead_slave() {
        // Wi-Fi associated but not authorised is not ready; alone, eth1 stays.
        for slaves in [vec![slave("eth1", true), slave("wlan0", false)], vec![]] {
            let v = decide(&unanswered(), Some("eth1"), Some(GW), &slaves);
            let Verdict::Keep { why } = v else {
                panic!("{v:?}")
            };
            assert!(why.contains("no other slave is ready"), "{why}");
        }
    }

    #[test]
    fn an_answer_or_no_gateway_changes_nothing() {
        let slaves = [slave("eth1", true), slave("wlan0", true)];
        let answered = Probe::Answered {
            slave: "eth1".into(),
            gateway: GW,
        };
        assert!(kept(&decide(&answered, Some("eth1"), Some(GW), &slaves)));
        let v = decide(&Probe::NoGateway, Some("eth1"), None, &slaves);
        assert!(matches!(&v, Verdict::Keep { why } if why.contains("no IPv4 default gateway")));
    }

    #[test]
    fn a_change_during_the_probe_wins_over_its_result() {
        let slaves = [slave("eth1", true), slave("wlan0", true)];
        // The bond failed over by itself meanwhile.
        assert!(kept(&decide(
            &unanswered(),
            Some("wlan0"),
            Some(GW),
            &slaves
        )));
        assert!(kept(&decide(&unanswered(), None, Some(GW), &slaves)));
        // The server of another network answered the confirmation: the route moved.
        let other = Ipv4Addr::new(198, 51, 100, 1);
        assert!(kept(&decide(
            &unanswered(),
            Some("eth1"),
            Some(other),
            &slaves
        )));
        assert!(kept(&decide(&unanswered(), Some("eth1"), None, &slaves)));
    }

    #[test]
    fn the_probe_asks_from_the_leased_address_on_the_gateways_subnet() {
        let net = |s: &str| s.parse::<IpNet>().unwrap();
        let statics = [net("192.0.2.250/24")];
        let have = [
            net("192.0.2.250/24"),
            net("fd00:2::5/64"),
            net("192.0.2.150/24"),
        ];
        assert_eq!(
            probe_sender(&have, &statics, GW),
            Ipv4Addr::new(192, 0, 2, 150)
        );
        assert_eq!(
            probe_sender(&have[..1], &statics, GW),
            Ipv4Addr::new(192, 0, 2, 250),
            "a static one rather than none"
        );
        let elsewhere = [net("198.51.100.7/24")];
        assert_eq!(
            probe_sender(&elsewhere, &[], GW),
            Ipv4Addr::UNSPECIFIED,
            "off the subnet: a probe"
        );
    }
}
