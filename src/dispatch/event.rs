//! Which event hooks see for each change the bond's job notices, as a pure function of what
//! was announced before ([`Announced`]) and the change ([`Change`]), so that each event is
//! announced once and in an order a script can rely on: `bond-up` before any `failover`,
//! `lease` or `lease-lost`, `lease-lost` before the `bond-down` that ends them.

use std::fmt;
use std::net::Ipv4Addr;

use crate::dhcp::builtin::Lease;
use crate::dhcp::supervise::SettledOn;
use crate::net::Mac;

/// What a hook is told happened (`HOTBOND_EVENT`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HookEvent {
    /// The bond's job first saw the bond with an active slave whose MAC settled.
    BondUp,
    /// The settled active slave changed.
    Failover,
    /// The bond got a lease, or its lease changed (address, gateway, DNS, or the MAC it
    /// was granted to, as after a failover).
    Lease,
    /// The lease expired, was refused (NAK), released, or went with the bond.
    LeaseLost,
    /// `hotbond down` ended the bond's job, or the bond disappeared.
    BondDown,
}

impl fmt::Display for HookEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HookEvent::BondUp => "bond-up",
            HookEvent::Failover => "failover",
            HookEvent::Lease => "lease",
            HookEvent::LeaseLost => "lease-lost",
            HookEvent::BondDown => "bond-down",
        })
    }
}

/// What hooks are told of a lease.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaseFacts {
    pub address: Ipv4Addr,
    pub prefix_len: u8,
    pub gateway: Option<Ipv4Addr>,
    pub dns: Vec<Ipv4Addr>,
    /// The MAC it was granted to: the same address granted again after a failover is news
    /// (a VPN may have to reconnect over the other link).
    pub mac: Mac,
}

impl LeaseFacts {
    pub fn of(l: &Lease, mac: Mac) -> LeaseFacts {
        LeaseFacts {
            address: l.address,
            prefix_len: l.prefix_len,
            gateway: l
                .routes
                .iter()
                .find(|r| r.prefix_len == 0 && !r.gateway.is_unspecified())
                .map(|r| r.gateway),
            dns: l.dns.clone(),
            mac,
        }
    }
}

/// The bond as last announced to hooks: up (on which interface, slave and MAC) or not.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Announced {
    up: Option<Up>,
    lease: Option<LeaseFacts>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Up {
    index: u32,
    active: Option<String>,
    mac: Mac,
}

/// What the bond's job noticed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// The bond settled on this (the job let its DHCP client act).
    Settled(SettledOn),
    /// The bond's ifindex now; None when it does not exist.
    BondIs(Option<u32>),
    Leased(LeaseFacts),
    LeaseLost,
    /// An external client's lease as the kernel shows it now (None: no lease address on
    /// the bond), looked at after the bond's IPv4 addresses or routes changed.
    Observed(Option<LeaseFacts>),
    /// The job ends on purpose (`hotbond down`).
    JobEnds,
}

/// One event to announce, with what hooks are told along with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Announcement {
    pub event: HookEvent,
    pub active: Option<String>,
    pub mac: Option<Mac>,
    pub lease: Option<LeaseFacts>,
}

impl Announcement {
    /// The hook's environment besides PATH: every variable always set, empty when unknown,
    /// so that a script with `set -u` needs no guards.
    pub fn env(&self, bond: &str) -> Vec<(&'static str, String)> {
        let l = self.lease.as_ref();
        vec![
            ("HOTBOND_EVENT", self.event.to_string()),
            ("HOTBOND_BOND", bond.to_string()),
            (
                "HOTBOND_ACTIVE_SLAVE",
                self.active.clone().unwrap_or_default(),
            ),
            (
                "HOTBOND_MAC",
                self.mac.map(|m| m.to_string()).unwrap_or_default(),
            ),
            (
                "HOTBOND_ADDRESS",
                l.map(|l| format!("{}/{}", l.address, l.prefix_len))
                    .unwrap_or_default(),
            ),
            (
                "HOTBOND_GATEWAY",
                l.and_then(|l| l.gateway)
                    .map(|g| g.to_string())
                    .unwrap_or_default(),
            ),
            (
                "HOTBOND_DNS",
                l.map(|l| {
                    let s: Vec<String> = l.dns.iter().map(|d| d.to_string()).collect();
                    s.join(" ")
                })
                .unwrap_or_default(),
            ),
        ]
    }
}

impl Announced {
    /// What to announce for `change`, and the state after it. Pure.
    pub fn next(&self, change: &Change) -> (Announced, Vec<Announcement>) {
        let mut now = self.clone();
        let mut out = Vec::new();
        match change {
            Change::Settled(on) => {
                if now.up.as_ref().is_some_and(|u| u.index != on.index) {
                    now.went_down(&mut out);
                }
                let event = match &now.up {
                    None => Some(HookEvent::BondUp),
                    Some(u) if u.active != on.active => Some(HookEvent::Failover),
                    Some(_) => None,
                };
                now.up = Some(Up {
                    index: on.index,
                    active: on.active.clone(),
                    mac: on.mac,
                });
                if let Some(e) = event {
                    out.push(now.announce(e, now.lease.clone()));
                }
            }
            Change::BondIs(index) => {
                if now.up.as_ref().is_some_and(|u| Some(u.index) != *index) {
                    now.went_down(&mut out);
                }
            }
            Change::Leased(l) => {
                if now.lease.as_ref() != Some(l) {
                    now.lease = Some(l.clone());
                    out.push(now.announce(HookEvent::Lease, Some(l.clone())));
                }
            }
            Change::LeaseLost => now.lost(&mut out),
            Change::Observed(seen) => now.observed(seen.as_ref(), &mut out),
            Change::JobEnds => now.went_down(&mut out),
        }
        (now, out)
    }

    /// The lease is gone, if there was one: `lease-lost`, told which lease.
    fn lost(&mut self, out: &mut Vec<Announcement>) {
        if let Some(l) = self.lease.take() {
            out.push(self.announce(HookEvent::LeaseLost, Some(l)));
        }
    }

    /// An external client's lease as seen: another address is the old lease lost, then the
    /// new one. Nothing before the bond is up: its client runs only from then on, and an
    /// address left from before is no lease of it.
    fn observed(&mut self, seen: Option<&LeaseFacts>, out: &mut Vec<Announcement>) {
        if self.up.is_none() {
            return;
        }
        let Some(l) = seen else {
            return self.lost(out);
        };
        let moved = |o: &LeaseFacts| (o.address, o.prefix_len) != (l.address, l.prefix_len);
        if self.lease.as_ref().is_some_and(moved) {
            self.lost(out);
        }
        if self.lease.as_ref() != Some(l) {
            self.lease = Some(l.clone());
            out.push(self.announce(HookEvent::Lease, Some(l.clone())));
        }
    }

    /// The bond is gone or its job ends: its lease first, then `bond-down`, if it was up.
    fn went_down(&mut self, out: &mut Vec<Announcement>) {
        self.lost(out);
        if self.up.is_some() {
            out.push(self.announce(HookEvent::BondDown, None));
            self.up = None;
        }
    }

    fn announce(&self, event: HookEvent, lease: Option<LeaseFacts>) -> Announcement {
        Announcement {
            event,
            active: self.up.as_ref().and_then(|u| u.active.clone()),
            mac: self.up.as_ref().map(|u| u.mac),
            lease,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on(index: u32, active: &str, mac: u8) -> Change {
        Change::Settled(SettledOn {
            index,
            mac: Mac([2, 0, 0, 0, 0, mac]),
            active: Some(active.into()),
        })
    }

    fn leased(addr: u8, mac: u8) -> Change {
        Change::Leased(LeaseFacts {
            address: Ipv4Addr::new(10, 9, 0, addr),
            prefix_len: 24,
            gateway: Some(Ipv4Addr::new(10, 9, 0, 1)),
            dns: vec![Ipv4Addr::new(10, 9, 0, 1), Ipv4Addr::new(9, 9, 9, 9)],
            mac: Mac([2, 0, 0, 0, 0, mac]),
        })
    }

    fn seen(addr: u8, gw: u8, mac: u8) -> Change {
        Change::Observed(Some(LeaseFacts {
            address: Ipv4Addr::new(10, 9, 0, addr),
            prefix_len: 24,
            gateway: Some(Ipv4Addr::new(10, 9, 0, gw)),
            dns: vec![],
            mac: Mac([2, 0, 0, 0, 0, mac]),
        }))
    }

    /// Feeds the changes in order; returns `EVENT SLAVE ADDRESS` lines, as a hook would log.
    fn run(changes: &[Change]) -> Vec<String> {
        let mut a = Announced::default();
        let mut lines = Vec::new();
        for c in changes {
            let (next, out) = a.next(c);
            a = next;
            for x in out {
                let env: std::collections::HashMap<_, _> = x.env("bond0").into_iter().collect();
                lines.push(
                    format!(
                        "{} {} {}",
                        env["HOTBOND_EVENT"], env["HOTBOND_ACTIVE_SLAVE"], env["HOTBOND_ADDRESS"]
                    )
                    .trim_end()
                    .to_string(),
                );
            }
        }
        lines
    }

    /// Feeds the changes, a lease's round trip from eth0 to wlan0 and back, its loss and the
    /// job's end, and asserts a hook sees it as such, whichever client leased.
    fn assert_failover_round_trip(changes: &[Change]) {
        assert_eq!(
            run(changes),
            [
                "bond-up eth0",
                "lease eth0 10.9.0.50/24",
                "failover wlan0 10.9.0.50/24",
                "lease wlan0 10.9.0.50/24",
                "failover eth0 10.9.0.50/24",
                "lease eth0 10.9.0.50/24",
                "lease-lost eth0 10.9.0.50/24",
                "bond-down eth0",
            ]
        );
    }

    #[test]
    fn the_failover_round_trip_a_user_sees() {
        assert_failover_round_trip(&[
            Change::BondIs(Some(4)),
            on(4, "eth0", 1),
            leased(50, 1),
            // Renewed, unchanged: nothing to tell.
            leased(50, 1),
            on(4, "wlan0", 7),
            // The same address, now granted to wlan0's MAC.
            leased(50, 7),
            on(4, "eth0", 1),
            leased(50, 1),
            Change::LeaseLost,
            // The release removes it a second time: once is enough.
            Change::LeaseLost,
            Change::JobEnds,
        ]);
    }

    #[test]
    fn settling_again_on_the_same_slave_is_no_event() {
        // A flap that ends where it was, or a MAC move without another slave.
        assert_eq!(
            run(&[on(4, "eth0", 1), on(4, "eth0", 1), on(4, "eth0", 2)]),
            ["bond-up eth0"]
        );
    }

    #[test]
    fn a_bond_that_disappears_loses_its_lease_then_goes_down_once() {
        let lines = run(&[
            on(4, "eth0", 1),
            leased(50, 1),
            Change::BondIs(None),
            Change::BondIs(None),
            // Made again: another interface, up anew.
            Change::BondIs(Some(9)),
            on(9, "eth0", 1),
            Change::JobEnds,
        ]);
        assert_eq!(
            lines,
            [
                "bond-up eth0",
                "lease eth0 10.9.0.50/24",
                "lease-lost eth0 10.9.0.50/24",
                "bond-down eth0",
                "bond-up eth0",
                "bond-down eth0",
            ]
        );
    }

    #[test]
    fn made_again_unseen_is_down_then_up() {
        // The delete and the new bond fell between two looks: only the ifindex tells.
        assert_eq!(
            run(&[on(4, "eth0", 1), on(9, "wlan0", 7)]),
            ["bond-up eth0", "bond-down eth0", "bond-up wlan0"]
        );
    }

    #[test]
    fn a_bond_never_up_has_no_down() {
        assert!(run(&[Change::BondIs(None), Change::LeaseLost, Change::JobEnds]).is_empty());
    }

    #[test]
    fn a_new_address_is_lost_then_leased() {
        let lines = run(&[
            on(4, "eth0", 1),
            leased(50, 1),
            Change::LeaseLost,
            leased(51, 1),
        ]);
        assert_eq!(
            lines,
            [
                "bond-up eth0",
                "lease eth0 10.9.0.50/24",
                "lease-lost eth0 10.9.0.50/24",
                "lease eth0 10.9.0.51/24",
            ]
        );
    }

    #[test]
    fn the_environment_names_everything() {
        let mut a = Announced::default();
        a = a.next(&on(4, "eth0", 1)).0;
        let (_, out) = a.next(&leased(50, 1));
        let env = out[0].env("bond0");
        let get = |k: &str| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("HOTBOND_EVENT"), Some("lease"));
        assert_eq!(get("HOTBOND_BOND"), Some("bond0"));
        assert_eq!(get("HOTBOND_MAC"), Some("02:00:00:00:00:01"));
        assert_eq!(get("HOTBOND_GATEWAY"), Some("10.9.0.1"));
        assert_eq!(get("HOTBOND_DNS"), Some("10.9.0.1 9.9.9.9"));
        // Before any lease: set, and empty.
        let up = Announced::default().next(&on(4, "eth0", 1)).1;
        let env = up[0].env("bond0");
        assert!(env.contains(&("HOTBOND_ADDRESS", String::new())));
        assert!(env.contains(&("HOTBOND_DNS", String::new())));
    }

    #[test]
    fn an_external_clients_round_trip_as_the_kernel_shows_it() {
        assert_failover_round_trip(&[
            // An address left on the bond before the job's client ran: not its lease.
            seen(50, 1, 1),
            on(4, "eth0", 1),
            seen(50, 1, 1),
            // A renewal sets the address again: the same lease, nothing to tell.
            seen(50, 1, 1),
            on(4, "wlan0", 7),
            seen(50, 1, 7),
            on(4, "eth0", 1),
            seen(50, 1, 1),
            // dhclient's release removes the address before its exit ends the job.
            Change::Observed(None),
            Change::JobEnds,
        ]);
    }

    #[test]
    fn an_external_lease_that_moves_or_changes_its_gateway() {
        let lines = run(&[
            on(4, "eth0", 1),
            seen(50, 1, 1),
            // Another gateway: the lease changed.
            seen(50, 254, 1),
            // Another address without a moment with none: the old one is lost first.
            seen(51, 254, 1),
            // The job ends with the lease still on the bond: lost, then down.
            Change::JobEnds,
        ]);
        assert_eq!(
            lines,
            [
                "bond-up eth0",
                "lease eth0 10.9.0.50/24",
                "lease eth0 10.9.0.50/24",
                "lease-lost eth0 10.9.0.50/24",
                "lease eth0 10.9.0.51/24",
                "lease-lost eth0 10.9.0.51/24",
                "bond-down eth0",
            ]
        );
    }
}
