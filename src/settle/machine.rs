//! The settle job's state, as a pure state machine: it is fed what the job read of the bond
//! ([`Readiness`]) and the time, and says what to do next ([`Step`]). Every change of state
//! goes through one function, `Machine::set`, which logs it.

use std::fmt;
use std::time::{Duration, Instant};

use super::readiness::{Fingerprint, Readiness};
use crate::dhcp::supervise::{DhcpAction, SettledOn};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum State {
    /// The bond is not ready for DHCP; `reason` says why (for `hotbond status`).
    Waiting { reason: String },
    /// Ready, and unchanged since `since`, for a window of `window`. `settled` is what was
    /// acted on before this change while the bond stayed ready: a flap back to it needs
    /// nothing.
    Debouncing {
        since: Instant,
        window: Duration,
        fingerprint: Fingerprint,
        settled: Option<Fingerprint>,
    },
    /// Acted on: the DHCP client speaks for this.
    Settled { fingerprint: Fingerprint },
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::Waiting { .. } => "Waiting",
            State::Debouncing { .. } => "Debouncing",
            State::Settled { .. } => "Settled",
        })
    }
}

/// How the job came to read what it feeds the machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seen {
    /// Right after the link events that announced the change, all of them read: the
    /// kernel's burst for one change (a failover, an authorisation) has been taken in.
    LinkEvent,
    /// A look of the job's own (its first, after lost events, at a timer): nothing says
    /// how long the bond has been like this, or whether a change is still under way.
    Look,
}

/// What the job does next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Sleep until something changes (a link event, the DHCP client).
    Wait,
    /// Sleep until the debounce window ends, or something changes before.
    WaitUntil(Instant),
    /// The bond settled on this: act (then [`Machine::acted`]).
    Act(SettledOn),
}

/// The debounce windows: how long a ready bond must stay unchanged before the job acts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Windows {
    /// After a look of the job's own: long enough to coalesce a failover's burst of link
    /// events, short enough to be invisible next to DHCP itself.
    pub look: Duration,
    /// After the link events of the change were read: only what still trails the burst
    /// needs catching, and a failover's re-acquisition is what this costs.
    pub event: Duration,
}

pub struct Machine {
    bond: String,
    windows: Windows,
    state: State,
}

impl Machine {
    pub fn new(bond: &str, windows: Windows) -> Machine {
        Machine {
            bond: bond.to_string(),
            windows,
            state: State::Waiting {
                reason: String::new(),
            },
        }
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    /// Takes in what the bond looks like `now`, `seen` as it says, and says what to do.
    pub fn step(&mut self, r: &Readiness, seen: Seen, now: Instant) -> Step {
        let fp = r.fingerprint();
        let on = fp.settled_on().filter(|_| r.ready);
        let Some(on) = on else {
            if !matches!(&self.state, State::Waiting { reason } if *reason == r.reason) {
                let why = r.reason.clone();
                self.set(
                    State::Waiting {
                        reason: why.clone(),
                    },
                    &why,
                );
            }
            return Step::Wait;
        };
        match &self.state {
            State::Settled { fingerprint } if *fingerprint == fp => Step::Wait,
            State::Debouncing {
                settled: Some(s), ..
            } if *s == fp => {
                self.set(
                    State::Settled { fingerprint: fp },
                    "back to what was settled",
                );
                Step::Wait
            }
            State::Debouncing {
                since,
                window,
                fingerprint,
                ..
            } if *fingerprint == fp => debounced(*since + *window, now, on),
            _ => {
                let settled = match &self.state {
                    State::Settled { fingerprint } => Some(fingerprint.clone()),
                    State::Debouncing { settled, .. } => settled.clone(),
                    State::Waiting { .. } => None,
                };
                let window = match seen {
                    Seen::LinkEvent => self.windows.event,
                    Seen::Look => self.windows.look,
                };
                let why = describe(&fp);
                self.set(
                    State::Debouncing {
                        since: now,
                        window,
                        fingerprint: fp,
                        settled,
                    },
                    &why,
                );
                debounced(now + window, now, on)
            }
        }
    }

    /// The job acted on the [`Step::Act`] the machine gave. Returns the milliseconds from the
    /// last change to now (the settle overhead `hotbond status` shows).
    pub fn acted(&mut self, action: DhcpAction, now: Instant) -> u64 {
        let State::Debouncing {
            since, fingerprint, ..
        } = &self.state
        else {
            return 0;
        };
        let ms = now.saturating_duration_since(*since).as_millis() as u64;
        let why = format!(
            "{}, DHCP {}, {ms} ms",
            describe(fingerprint),
            action.as_str()
        );
        let fingerprint = fingerprint.clone();
        self.set(State::Settled { fingerprint }, &why);
        ms
    }

    /// The one place the state changes: logs `BOND: settle: FROM -> TO (why)`.
    fn set(&mut self, to: State, why: &str) {
        let msg = format!("{}: settle: {} -> {to} ({why})", self.bond, self.state);
        if matches!(to, State::Settled { .. }) {
            crate::info!("{msg}");
        } else {
            crate::debug!("{msg}");
        }
        self.state = to;
    }
}

fn debounced(end: Instant, now: Instant, on: SettledOn) -> Step {
    if now >= end {
        Step::Act(on)
    } else {
        Step::WaitUntil(end)
    }
}

/// `active slave wlan0, 02:00:00:00:00:07` (or just the MAC for a bridge).
fn describe(fp: &Fingerprint) -> String {
    let mac = fp.mac.map(|m| m.to_string()).unwrap_or_default();
    match &fp.active {
        Some(a) => format!("active slave {a}, {mac}"),
        None => mac,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::Mac;

    const WINDOWS: Windows = Windows {
        look: Duration::from_millis(20),
        event: Duration::from_millis(5),
    };

    fn ready(index: u32, active: &str, mac: u8) -> Readiness {
        Readiness {
            ready: true,
            index: Some(index),
            active: Some(active.into()),
            mac: Some(Mac([2, 0, 0, 0, 0, mac])),
            reason: "ready".into(),
        }
    }

    fn not_ready(reason: &str) -> Readiness {
        Readiness {
            ready: false,
            index: None,
            active: None,
            mac: None,
            reason: reason.into(),
        }
    }

    fn ms(t0: Instant, n: u64) -> Instant {
        t0 + Duration::from_millis(n)
    }

    /// Steps the machine and, on Act, acts as the job does.
    fn drive(m: &mut Machine, r: &Readiness, seen: Seen, now: Instant) -> Step {
        let step = m.step(r, seen, now);
        if matches!(step, Step::Act(_)) {
            m.acted(DhcpAction::Started, now);
        }
        step
    }

    #[test]
    fn acts_once_after_the_debounce_window() {
        let t0 = Instant::now();
        let mut m = Machine::new("bond0", WINDOWS);
        let r = ready(4, "eth0", 1);
        assert_eq!(m.step(&r, Seen::Look, t0), Step::WaitUntil(ms(t0, 20)));
        assert_eq!(
            m.step(&r, Seen::Look, ms(t0, 10)),
            Step::WaitUntil(ms(t0, 20))
        );
        let Step::Act(on) = m.step(&r, Seen::Look, ms(t0, 20)) else {
            panic!("{:?}", m.state())
        };
        assert_eq!((on.index, on.mac.0[5]), (4, 1));
        assert_eq!(m.acted(DhcpAction::Started, ms(t0, 21)), 21);
        assert!(matches!(m.state(), State::Settled { .. }));
        // Nothing changed: nothing more to do.
        assert_eq!(m.step(&r, Seen::Look, ms(t0, 500)), Step::Wait);
    }

    #[test]
    fn a_change_its_link_events_announced_needs_only_the_short_window() {
        let t0 = Instant::now();
        let mut m = Machine::new("bond0", WINDOWS);
        drive(&mut m, &ready(4, "eth0", 1), Seen::Look, t0);
        drive(&mut m, &ready(4, "eth0", 1), Seen::Look, ms(t0, 20));
        // Failover, read right after its events: 5 ms, not 20.
        assert_eq!(
            m.step(&ready(4, "wlan0", 7), Seen::LinkEvent, ms(t0, 100)),
            Step::WaitUntil(ms(t0, 105))
        );
        // The timer's look keeps the window the change began with.
        assert!(matches!(
            m.step(&ready(4, "wlan0", 7), Seen::Look, ms(t0, 105)),
            Step::Act(on) if on.mac.0[5] == 7
        ));
    }

    #[test]
    fn a_change_found_by_a_look_waits_the_full_window() {
        // The job's first look (or one after lost events) cannot tell how fresh it is.
        let t0 = Instant::now();
        let mut m = Machine::new("bond0", WINDOWS);
        assert_eq!(
            m.step(&ready(4, "eth0", 1), Seen::Look, t0),
            Step::WaitUntil(ms(t0, 20))
        );
        // An event that changes nothing does not shorten it.
        assert_eq!(
            m.step(&ready(4, "eth0", 1), Seen::LinkEvent, ms(t0, 6)),
            Step::WaitUntil(ms(t0, 20))
        );
    }

    #[test]
    fn flapping_seen_by_events_still_acts_only_once_it_stays() {
        let t0 = Instant::now();
        let mut m = Machine::new("bond0", WINDOWS);
        drive(&mut m, &ready(4, "eth0", 1), Seen::Look, t0);
        drive(&mut m, &ready(4, "eth0", 1), Seen::Look, ms(t0, 20));
        // Every 3 ms another MAC: each change restarts the short window.
        let mut acts = 0;
        for i in 0..6u64 {
            let r = if i % 2 == 0 {
                ready(4, "wlan0", 7)
            } else {
                ready(4, "eth0", 1)
            };
            if matches!(
                drive(&mut m, &r, Seen::LinkEvent, ms(t0, 100 + 3 * i)),
                Step::Act(_)
            ) {
                acts += 1;
            }
        }
        assert_eq!(acts, 0, "no action while it flaps");
        // It ended on eth0, what was settled: nothing to do at all.
        assert!(
            matches!(m.state(), State::Settled { fingerprint } if fingerprint.mac.unwrap().0[5] == 1)
        );
    }

    #[test]
    fn a_second_change_restarts_the_debounce() {
        let t0 = Instant::now();
        let mut m = Machine::new("bond0", WINDOWS);
        m.step(&ready(4, "eth0", 1), Seen::Look, t0);
        // The MAC moves 15 ms in: the window starts again from the second change.
        assert_eq!(
            m.step(&ready(4, "wlan0", 7), Seen::Look, ms(t0, 15)),
            Step::WaitUntil(ms(t0, 35))
        );
        assert_eq!(
            m.step(&ready(4, "wlan0", 7), Seen::Look, ms(t0, 25)),
            Step::WaitUntil(ms(t0, 35))
        );
        let Step::Act(on) = m.step(&ready(4, "wlan0", 7), Seen::Look, ms(t0, 35)) else {
            panic!("{:?}", m.state())
        };
        assert_eq!(on.mac.0[5], 7);
        assert_eq!(on.active.as_deref(), Some("wlan0"));
    }

    #[test]
    fn a_mac_flip_after_settling_acts_again_on_the_new_mac() {
        let t0 = Instant::now();
        let mut m = Machine::new("bond0", WINDOWS);
        drive(&mut m, &ready(4, "eth0", 1), Seen::Look, t0);
        drive(&mut m, &ready(4, "eth0", 1), Seen::Look, ms(t0, 20));
        // Failover: the bond now carries wlan0's MAC.
        assert_eq!(
            m.step(&ready(4, "wlan0", 7), Seen::Look, ms(t0, 100)),
            Step::WaitUntil(ms(t0, 120))
        );
        assert!(
            matches!(m.step(&ready(4, "wlan0", 7), Seen::Look, ms(t0, 120)), Step::Act(on) if on.mac.0[5] == 7)
        );
    }

    #[test]
    fn flapping_back_within_the_window_needs_nothing() {
        let t0 = Instant::now();
        let mut m = Machine::new("bond0", WINDOWS);
        drive(&mut m, &ready(4, "eth0", 1), Seen::Look, t0);
        drive(&mut m, &ready(4, "eth0", 1), Seen::Look, ms(t0, 20));
        // eth0 -> wlan0 -> eth0 -> wlan0 -> eth0, each faster than the window.
        for (i, (a, mac)) in [("wlan0", 7), ("eth0", 1), ("wlan0", 7), ("eth0", 1)]
            .into_iter()
            .enumerate()
        {
            let step = m.step(&ready(4, a, mac), Seen::Look, ms(t0, 100 + 5 * i as u64));
            assert!(!matches!(step, Step::Act(_)), "{i}: {step:?}");
        }
        // Back where it settled: the client that runs is right, nothing to do.
        assert!(
            matches!(m.state(), State::Settled { fingerprint } if fingerprint.mac.unwrap().0[5] == 1)
        );
        assert_eq!(
            m.step(&ready(4, "eth0", 1), Seen::Look, ms(t0, 200)),
            Step::Wait
        );
    }

    #[test]
    fn flapping_that_ends_elsewhere_acts_once_it_stays() {
        let t0 = Instant::now();
        let mut m = Machine::new("bond0", WINDOWS);
        let mut acts = 0;
        for i in 0..10u64 {
            let r = if i % 2 == 0 {
                ready(4, "eth0", 1)
            } else {
                ready(4, "wlan0", 7)
            };
            if matches!(drive(&mut m, &r, Seen::Look, ms(t0, 5 * i)), Step::Act(_)) {
                acts += 1;
            }
        }
        assert_eq!(acts, 0, "no action while it flaps");
        let last = ready(4, "wlan0", 7);
        assert!(
            matches!(drive(&mut m, &last, Seen::Look, ms(t0, 45 + 20)), Step::Act(on) if on.mac.0[5] == 7)
        );
        assert_eq!(drive(&mut m, &last, Seen::Look, ms(t0, 300)), Step::Wait);
    }

    #[test]
    fn a_bond_made_again_settles_anew() {
        let t0 = Instant::now();
        let mut m = Machine::new("bond0", WINDOWS);
        drive(&mut m, &ready(4, "eth0", 1), Seen::Look, t0);
        drive(&mut m, &ready(4, "eth0", 1), Seen::Look, ms(t0, 20));
        // Deleted: waiting, and whatever was settled is forgotten.
        assert_eq!(
            m.step(
                &not_ready("the master does not exist"),
                Seen::Look,
                ms(t0, 50)
            ),
            Step::Wait
        );
        assert!(matches!(m.state(), State::Waiting { .. }));
        // Made again: same slave, same MAC, another interface.
        assert_eq!(
            m.step(&ready(9, "eth0", 1), Seen::Look, ms(t0, 60)),
            Step::WaitUntil(ms(t0, 80))
        );
        assert!(
            matches!(m.step(&ready(9, "eth0", 1), Seen::Look, ms(t0, 80)), Step::Act(on) if on.index == 9)
        );
    }

    #[test]
    fn made_again_without_being_seen_gone_is_a_change_too() {
        // The delete and the new bond fell between two looks: only the ifindex tells.
        let t0 = Instant::now();
        let mut m = Machine::new("bond0", WINDOWS);
        drive(&mut m, &ready(4, "eth0", 1), Seen::Look, t0);
        drive(&mut m, &ready(4, "eth0", 1), Seen::Look, ms(t0, 20));
        assert_eq!(
            m.step(&ready(9, "eth0", 1), Seen::Look, ms(t0, 50)),
            Step::WaitUntil(ms(t0, 70))
        );
    }

    #[test]
    fn not_ready_during_the_window_starts_over() {
        let t0 = Instant::now();
        let mut m = Machine::new("bond0", WINDOWS);
        m.step(&ready(4, "wlan0", 7), Seen::Look, t0);
        assert_eq!(
            m.step(
                &not_ready("active slave wlan0 is dormant"),
                Seen::Look,
                ms(t0, 10)
            ),
            Step::Wait
        );
        assert_eq!(
            m.step(&ready(4, "wlan0", 7), Seen::Look, ms(t0, 30)),
            Step::WaitUntil(ms(t0, 50))
        );
    }

    #[test]
    fn a_new_reason_to_wait_is_a_transition() {
        let mut m = Machine::new("bond0", WINDOWS);
        let t0 = Instant::now();
        m.step(&not_ready("bond0 has no active slave"), Seen::Look, t0);
        let before = m.state().clone();
        m.step(&not_ready("bond0 has no active slave"), Seen::Look, t0);
        assert_eq!(m.state(), &before);
        m.step(&not_ready("active slave wlan0 is dormant"), Seen::Look, t0);
        assert_ne!(m.state(), &before);
    }
}
