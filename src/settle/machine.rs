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
    /// Ready, and unchanged since `since`. `settled` is what was acted on before this change
    /// while the bond stayed ready: a flap back to it needs nothing.
    Debouncing {
        since: Instant,
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

pub struct Machine {
    bond: String,
    /// Long enough to coalesce one failover's burst of link events, short enough to be
    /// invisible next to DHCP itself.
    debounce: Duration,
    state: State,
}

impl Machine {
    pub fn new(bond: &str, debounce: Duration) -> Machine {
        Machine {
            bond: bond.to_string(),
            debounce,
            state: State::Waiting {
                reason: String::new(),
            },
        }
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    /// Takes in what the bond looks like `now` and says what to do.
    pub fn step(&mut self, r: &Readiness, now: Instant) -> Step {
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
                since, fingerprint, ..
            } if *fingerprint == fp => self.debounced(*since, now, on),
            _ => {
                let settled = match &self.state {
                    State::Settled { fingerprint } => Some(fingerprint.clone()),
                    State::Debouncing { settled, .. } => settled.clone(),
                    State::Waiting { .. } => None,
                };
                let why = describe(&fp);
                self.set(
                    State::Debouncing {
                        since: now,
                        fingerprint: fp,
                        settled,
                    },
                    &why,
                );
                self.debounced(now, now, on)
            }
        }
    }

    fn debounced(&self, since: Instant, now: Instant, on: SettledOn) -> Step {
        let end = since + self.debounce;
        if now >= end {
            Step::Act(on)
        } else {
            Step::WaitUntil(end)
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

    const DEBOUNCE: Duration = Duration::from_millis(20);

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
    fn drive(m: &mut Machine, r: &Readiness, now: Instant) -> Step {
        let step = m.step(r, now);
        if matches!(step, Step::Act(_)) {
            m.acted(DhcpAction::Started, now);
        }
        step
    }

    #[test]
    fn acts_once_after_the_debounce_window() {
        let t0 = Instant::now();
        let mut m = Machine::new("bond0", DEBOUNCE);
        let r = ready(4, "eth0", 1);
        assert_eq!(m.step(&r, t0), Step::WaitUntil(ms(t0, 20)));
        assert_eq!(m.step(&r, ms(t0, 10)), Step::WaitUntil(ms(t0, 20)));
        let Step::Act(on) = m.step(&r, ms(t0, 20)) else {
            panic!("{:?}", m.state())
        };
        assert_eq!((on.index, on.mac.0[5]), (4, 1));
        assert_eq!(m.acted(DhcpAction::Started, ms(t0, 21)), 21);
        assert!(matches!(m.state(), State::Settled { .. }));
        // Nothing changed: nothing more to do.
        assert_eq!(m.step(&r, ms(t0, 500)), Step::Wait);
    }

    #[test]
    fn a_second_change_restarts_the_debounce() {
        let t0 = Instant::now();
        let mut m = Machine::new("bond0", DEBOUNCE);
        m.step(&ready(4, "eth0", 1), t0);
        // The MAC moves 15 ms in: the window starts again from the second change.
        assert_eq!(
            m.step(&ready(4, "wlan0", 7), ms(t0, 15)),
            Step::WaitUntil(ms(t0, 35))
        );
        assert_eq!(
            m.step(&ready(4, "wlan0", 7), ms(t0, 25)),
            Step::WaitUntil(ms(t0, 35))
        );
        let Step::Act(on) = m.step(&ready(4, "wlan0", 7), ms(t0, 35)) else {
            panic!("{:?}", m.state())
        };
        assert_eq!(on.mac.0[5], 7);
        assert_eq!(on.active.as_deref(), Some("wlan0"));
    }

    #[test]
    fn a_mac_flip_after_settling_acts_again_on_the_new_mac() {
        let t0 = Instant::now();
        let mut m = Machine::new("bond0", DEBOUNCE);
        drive(&mut m, &ready(4, "eth0", 1), t0);
        drive(&mut m, &ready(4, "eth0", 1), ms(t0, 20));
        // Failover: the bond now carries wlan0's MAC.
        assert_eq!(
            m.step(&ready(4, "wlan0", 7), ms(t0, 100)),
            Step::WaitUntil(ms(t0, 120))
        );
        assert!(
            matches!(m.step(&ready(4, "wlan0", 7), ms(t0, 120)), Step::Act(on) if on.mac.0[5] == 7)
        );
    }

    #[test]
    fn flapping_back_within_the_window_needs_nothing() {
        let t0 = Instant::now();
        let mut m = Machine::new("bond0", DEBOUNCE);
        drive(&mut m, &ready(4, "eth0", 1), t0);
        drive(&mut m, &ready(4, "eth0", 1), ms(t0, 20));
        // eth0 -> wlan0 -> eth0 -> wlan0 -> eth0, each faster than the window.
        for (i, (a, mac)) in [("wlan0", 7), ("eth0", 1), ("wlan0", 7), ("eth0", 1)]
            .into_iter()
            .enumerate()
        {
            let step = m.step(&ready(4, a, mac), ms(t0, 100 + 5 * i as u64));
            assert!(!matches!(step, Step::Act(_)), "{i}: {step:?}");
        }
        // Back where it settled: the client that runs is right, nothing to do.
        assert!(
            matches!(m.state(), State::Settled { fingerprint } if fingerprint.mac.unwrap().0[5] == 1)
        );
        assert_eq!(m.step(&ready(4, "eth0", 1), ms(t0, 200)), Step::Wait);
    }

    #[test]
    fn flapping_that_ends_elsewhere_acts_once_it_stays() {
        let t0 = Instant::now();
        let mut m = Machine::new("bond0", DEBOUNCE);
        let mut acts = 0;
        for i in 0..10u64 {
            let r = if i % 2 == 0 {
                ready(4, "eth0", 1)
            } else {
                ready(4, "wlan0", 7)
            };
            if matches!(drive(&mut m, &r, ms(t0, 5 * i)), Step::Act(_)) {
                acts += 1;
            }
        }
        assert_eq!(acts, 0, "no action while it flaps");
        let last = ready(4, "wlan0", 7);
        assert!(matches!(drive(&mut m, &last, ms(t0, 45 + 20)), Step::Act(on) if on.mac.0[5] == 7));
        assert_eq!(drive(&mut m, &last, ms(t0, 300)), Step::Wait);
    }

    #[test]
    fn a_bond_made_again_settles_anew() {
        let t0 = Instant::now();
        let mut m = Machine::new("bond0", DEBOUNCE);
        drive(&mut m, &ready(4, "eth0", 1), t0);
        drive(&mut m, &ready(4, "eth0", 1), ms(t0, 20));
        // Deleted: waiting, and whatever was settled is forgotten.
        assert_eq!(
            m.step(&not_ready("the master does not exist"), ms(t0, 50)),
            Step::Wait
        );
        assert!(matches!(m.state(), State::Waiting { .. }));
        // Made again: same slave, same MAC, another interface.
        assert_eq!(
            m.step(&ready(9, "eth0", 1), ms(t0, 60)),
            Step::WaitUntil(ms(t0, 80))
        );
        assert!(matches!(m.step(&ready(9, "eth0", 1), ms(t0, 80)), Step::Act(on) if on.index == 9));
    }

    #[test]
    fn made_again_without_being_seen_gone_is_a_change_too() {
        // The delete and the new bond fell between two looks: only the ifindex tells.
        let t0 = Instant::now();
        let mut m = Machine::new("bond0", DEBOUNCE);
        drive(&mut m, &ready(4, "eth0", 1), t0);
        drive(&mut m, &ready(4, "eth0", 1), ms(t0, 20));
        assert_eq!(
            m.step(&ready(9, "eth0", 1), ms(t0, 50)),
            Step::WaitUntil(ms(t0, 70))
        );
    }

    #[test]
    fn not_ready_during_the_window_starts_over() {
        let t0 = Instant::now();
        let mut m = Machine::new("bond0", DEBOUNCE);
        m.step(&ready(4, "wlan0", 7), t0);
        assert_eq!(
            m.step(&not_ready("active slave wlan0 is dormant"), ms(t0, 10)),
            Step::Wait
        );
        assert_eq!(
            m.step(&ready(4, "wlan0", 7), ms(t0, 30)),
            Step::WaitUntil(ms(t0, 50))
        );
    }

    #[test]
    fn a_new_reason_to_wait_is_a_transition() {
        let mut m = Machine::new("bond0", DEBOUNCE);
        let t0 = Instant::now();
        m.step(&not_ready("bond0 has no active slave"), t0);
        let before = m.state().clone();
        m.step(&not_ready("bond0 has no active slave"), t0);
        assert_eq!(m.state(), &before);
        m.step(&not_ready("active slave wlan0 is dormant"), t0);
        assert_ne!(m.state(), &before);
    }
}
