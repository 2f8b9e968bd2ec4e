//! What a DHCP server gave us, read out of an OFFER or ACK into plain values, and the
//! monotonic clock the lease's times are counted on.

use std::net::Ipv4Addr;
use std::ops::Add;
use std::time::Duration;

use dhcproto::v4::{DhcpOption, Message, OptionCode};

/// A point on the boot-time clock (CLOCK_BOOTTIME: keeps counting while suspended, so a
/// laptop that wakes up sees its lease's true age). The driver reads the clock; the
/// state machine only compares and adds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BootTime(pub Duration);

impl BootTime {
    /// Time from `earlier` to `self`, zero if `earlier` is later.
    pub fn since(self, earlier: BootTime) -> Duration {
        self.0.saturating_sub(earlier.0)
    }
}

impl Add<Duration> for BootTime {
    type Output = BootTime;
    fn add(self, d: Duration) -> BootTime {
        BootTime(self.0.saturating_add(d))
    }
}

/// One classless static route (option 121), or the default route via option 3's router.
/// A gateway of 0.0.0.0 means the destination is on the link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    pub dest: Ipv4Addr,
    pub prefix_len: u8,
    pub gateway: Ipv4Addr,
}

/// An address lease and the configuration that came with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    pub address: Ipv4Addr,
    pub prefix_len: u8,
    /// The server that granted it (option 54): renewals go to it.
    pub server: Ipv4Addr,
    /// Option 121 when the server sent it (RFC 3442: then options 3 and 33 are ignored),
    /// otherwise a default route via the first router of option 3.
    pub routes: Vec<Route>,
    pub dns: Vec<Ipv4Addr>,
    pub domain: Option<String>,
    pub search: Vec<String>,
    /// Option 26, for the caller to use or not (a bond's MTU applies to every slave).
    pub mtu: Option<u16>,
    /// When the server granted it; the lifetimes count from here.
    pub acquired: BootTime,
    /// u32::MAX seconds means infinite (RFC 2131).
    pub lease_time: Duration,
    pub t1: Duration,
    pub t2: Duration,
}

/// The lease time RFC 2131 calls infinite.
pub const INFINITE: Duration = Duration::from_secs(u32::MAX as u64);

impl Lease {
    pub fn expires(&self) -> BootTime {
        self.acquired + self.lease_time
    }
    pub fn renew_at(&self) -> BootTime {
        self.acquired + self.t1
    }
    pub fn rebind_at(&self) -> BootTime {
        self.acquired + self.t2
    }
    /// Lifetime left at `now`, for the kernel's valid/preferred lifetimes.
    pub fn remaining(&self, now: BootTime) -> Duration {
        if self.lease_time >= INFINITE {
            return INFINITE;
        }
        self.expires().since(now)
    }
    /// The address's valid lifetime for the kernel at `now`, in seconds (u32::MAX: forever).
    pub fn lifetime_secs(&self, now: BootTime) -> u32 {
        u32::try_from(self.remaining(now).as_secs()).unwrap_or(u32::MAX)
    }
    pub fn is_infinite(&self) -> bool {
        self.lease_time >= INFINITE
    }

    /// Reads a lease out of an OFFER or ACK. None when it lacks what a lease needs: an
    /// address, a server identifier, and (`need_time`, an ACK) a non-zero lease time.
    /// `renew_after` forces an earlier T1 (tests, impatient operators).
    pub fn from_reply(
        msg: &Message,
        now: BootTime,
        need_time: bool,
        renew_after: Option<Duration>,
    ) -> Option<Lease> {
        let address = msg.yiaddr();
        if address.is_unspecified() || address.is_broadcast() || address.is_multicast() {
            return None;
        }
        let opts = msg.opts();
        let server = match opts.get(OptionCode::ServerIdentifier) {
            Some(DhcpOption::ServerIdentifier(s)) => *s,
            _ => return None,
        };
        let secs = |code| match opts.get(code) {
            Some(DhcpOption::AddressLeaseTime(s))
            | Some(DhcpOption::Renewal(s))
            | Some(DhcpOption::Rebinding(s)) => Some(Duration::from_secs(u64::from(*s))),
            _ => None,
        };
        let lease_time = match secs(OptionCode::AddressLeaseTime) {
            Some(t) if !t.is_zero() => t,
            _ if need_time => return None,
            // An OFFER without a lease time is still worth requesting.
            _ => Duration::from_secs(3600),
        };
        let (t1, t2) = timers(
            lease_time,
            secs(OptionCode::Renewal),
            secs(OptionCode::Rebinding),
            renew_after,
        );
        let prefix_len = match opts.get(OptionCode::SubnetMask) {
            Some(DhcpOption::SubnetMask(m)) if is_contiguous(*m) => {
                u32::from(*m).count_ones() as u8
            }
            _ => classful_prefix(address),
        };
        Some(Lease {
            address,
            prefix_len,
            server,
            routes: routes(msg),
            dns: match opts.get(OptionCode::DomainNameServer) {
                Some(DhcpOption::DomainNameServer(v)) => v.clone(),
                _ => Vec::new(),
            },
            domain: match opts.get(OptionCode::DomainName) {
                Some(DhcpOption::DomainName(d)) if !d.trim().is_empty() => {
                    Some(d.trim().trim_end_matches('.').to_string())
                }
                _ => None,
            },
            search: match opts.get(OptionCode::DomainSearch) {
                Some(DhcpOption::DomainSearch(names)) => names
                    .iter()
                    .map(|n| n.to_utf8().trim_end_matches('.').to_string())
                    .filter(|n| !n.is_empty())
                    .collect(),
                _ => Vec::new(),
            },
            mtu: match opts.get(OptionCode::InterfaceMtu) {
                // Below the IPv4 minimum a link must carry: a broken server, ignore it.
                Some(DhcpOption::InterfaceMtu(m)) if *m > 576 => Some(*m),
                _ => None,
            },
            acquired: now,
            lease_time,
            t1,
            t2,
        })
    }
}

/// T1 and T2 from the server's options when they satisfy 0 < T1 < T2 < lease, otherwise
/// the RFC 2131 defaults (0.5 and 0.875 of the lease).
fn timers(
    lease: Duration,
    t1: Option<Duration>,
    t2: Option<Duration>,
    renew_after: Option<Duration>,
) -> (Duration, Duration) {
    let t2 = match t2 {
        Some(t) if !t.is_zero() && t < lease => t,
        _ => lease.mul_f64(0.875),
    };
    let t1 = match t1 {
        Some(t) if !t.is_zero() && t < t2 => t,
        _ => lease.mul_f64(0.5).min(t2.mul_f64(0.5 / 0.875)),
    };
    let t1 = renew_after.map_or(t1, |r| r.min(t1));
    (t1, t2)
}

fn routes(msg: &Message) -> Vec<Route> {
    let opts = msg.opts();
    if let Some(DhcpOption::ClasslessStaticRoute(list)) = opts.get(OptionCode::ClasslessStaticRoute)
    {
        return list
            .iter()
            .map(|(net, gw)| Route {
                dest: net.network(),
                prefix_len: net.prefix_len(),
                gateway: *gw,
            })
            .collect();
    }
    match opts.get(OptionCode::Router) {
        Some(DhcpOption::Router(r)) => r
            .iter()
            .find(|g| !g.is_unspecified())
            .map(|g| Route {
                dest: Ipv4Addr::UNSPECIFIED,
                prefix_len: 0,
                gateway: *g,
            })
            .into_iter()
            .collect(),
        _ => Vec::new(),
    }
}

fn is_contiguous(mask: Ipv4Addr) -> bool {
    let m = u32::from(mask);
    m.leading_ones() + m.trailing_zeros() == 32
}

/// The old class boundary, for servers that send no subnet mask (as systemd does).
fn classful_prefix(a: Ipv4Addr) -> u8 {
    match a.octets()[0] {
        0..=127 => 8,
        128..=191 => 16,
        _ => 24,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_timers_are_used_only_when_ordered() {
        let s = Duration::from_secs;
        assert_eq!(
            timers(s(1000), Some(s(100)), Some(s(200)), None),
            (s(100), s(200))
        );
        // T1 after T2, T2 after the lease: the defaults.
        assert_eq!(
            timers(s(1000), Some(s(900)), Some(s(2000)), None),
            (s(500), s(875))
        );
        assert_eq!(timers(s(1000), Some(s(0)), None, None), (s(500), s(875)));
        // A valid T2 below the default T1 pulls T1 under it.
        let (t1, t2) = timers(s(1000), None, Some(s(300)), None);
        assert!(t1 > Duration::ZERO && t1 < t2 && t2 == s(300));
        assert_eq!(timers(s(1000), None, None, Some(s(2))).0, s(2));
    }

    #[test]
    fn masks_and_classful_fallback() {
        assert!(is_contiguous(Ipv4Addr::new(255, 255, 255, 0)));
        assert!(!is_contiguous(Ipv4Addr::new(255, 0, 255, 0)));
        assert_eq!(classful_prefix(Ipv4Addr::new(10, 1, 2, 3)), 8);
        assert_eq!(classful_prefix(Ipv4Addr::new(192, 0, 2, 3)), 24);
    }
}
