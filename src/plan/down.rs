//! `hotbond down BOND`: the ordered teardown.

use super::{Action, MasterState, Plan, Stop};
use crate::config::Bond;

/// Ordered teardown, as the classic recipe's unit ordering does it: the lease is released
/// before anything else (the client must run for that; the job then ends by itself), then
/// the job is stopped (taking anything left with it), static routes and the addresses go
/// before the supplicants stop and the slaves are freed, and the master goes last.
///
/// `master` is the master as observed now; when it is gone, only its job and records are
/// seen to.
pub fn plan_down(bond: &Bond, master: Option<&MasterState>) -> Plan {
    let name = &bond.name;
    let mut actions = vec![
        Action::ReleaseLease {
            bond: Box::new(bond.clone()),
        },
        Action::StopBondJob {
            bond: name.clone(),
            stop: Stop::AndWait,
        },
    ];
    let Some(m) = master else {
        actions.push(Action::ForgetBond { bond: name.clone() });
        return Plan {
            reason: format!("{name} does not exist; nothing to tear down"),
            ensure_job: None,
            actions,
        };
    };
    actions.extend(bond.routes.iter().map(|r| Action::DeleteRoute {
        iface: name.clone(),
        route: r.clone(),
    }));
    // Every address, not only the static ones: whatever a DHCP client left goes too.
    actions.extend(m.addresses.iter().map(|a| Action::DeleteAddress {
        iface: name.clone(),
        address: a.clone(),
    }));
    // A supplicant may run on any slave (802.1X on a wire too), so every slave's is stopped.
    actions.extend(m.slaves.iter().map(|s| Action::StopSupplicant {
        iface: s.clone(),
        stop: Stop::AndWait,
    }));
    actions.extend(m.slaves.iter().map(|s| Action::ReleaseSlave {
        iface: s.clone(),
        master: name.clone(),
    }));
    actions.push(Action::DeleteLink { name: name.clone() });
    actions.push(Action::ForgetBond { bond: name.clone() });
    Plan {
        reason: format!("take {name} down"),
        ensure_job: None,
        actions,
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;

    fn stop_job(b: &str) -> Action {
        Action::StopBondJob {
            bond: i(b),
            stop: Stop::AndWait,
        }
    }

    fn release_lease(cfg: &crate::config::Config, b: &str) -> Action {
        Action::ReleaseLease {
            bond: Box::new(cfg.bond(b).unwrap().clone()),
        }
    }

    #[test]
    fn down_tears_down_in_the_recipes_order() {
        let cfg = cfg();
        let bond = cfg.bond("bond0").unwrap();
        // A DHCP address besides one static address: every address goes.
        let m = good_bond(
            &["enp3s0", "wlp2s0"],
            &["192.168.0.2/24", "192.168.0.77/24"],
        );
        let p = plan_down(bond, Some(&m));
        assert_eq!(p.ensure_job, None, "down starts no job");
        let del_route = |rt: &str| Action::DeleteRoute {
            iface: i("bond0"),
            route: r(rt),
        };
        let del_addr = |a: &str| Action::DeleteAddress {
            iface: i("bond0"),
            address: n(a),
        };
        let stop_sup = |s: &str| Action::StopSupplicant {
            iface: i(s),
            stop: Stop::AndWait,
        };
        let release = |s: &str| Action::ReleaseSlave {
            iface: i(s),
            master: i("bond0"),
        };
        assert_eq!(
            p.actions,
            vec![
                release_lease(&cfg, "bond0"),
                stop_job("bond0"),
                del_route("default via 192.168.0.1"),
                del_route("10.0.0.0/8 via 192.168.0.254 metric 50"),
                del_addr("192.168.0.2/24"),
                del_addr("192.168.0.77/24"),
                stop_sup("enp3s0"),
                stop_sup("wlp2s0"),
                release("enp3s0"),
                release("wlp2s0"),
                Action::DeleteLink { name: i("bond0") },
                Action::ForgetBond { bond: i("bond0") },
            ]
        );
    }

    #[test]
    fn down_of_a_missing_master_still_stops_its_job_and_forgets_it() {
        // A client or job left behind by a master deleted by someone else.
        let cfg = cfg();
        let p = plan_down(cfg.bond("br0").unwrap(), None);
        assert_eq!(
            p.actions,
            vec![
                release_lease(&cfg, "br0"),
                stop_job("br0"),
                Action::ForgetBond { bond: i("br0") },
            ]
        );
        assert!(p.reason.contains("does not exist"), "{}", p.reason);
    }

    #[test]
    fn down_of_an_empty_bridge_deletes_only_the_bridge() {
        let cfg = cfg();
        let p = plan_down(cfg.bond("br0").unwrap(), Some(&bridge(true, &[])));
        assert_eq!(
            p.actions[2..],
            [
                Action::DeleteRoute {
                    iface: i("br0"),
                    route: r("10.2.0.0/16 via 10.1.0.254"),
                },
                Action::DeleteLink { name: i("br0") },
                Action::ForgetBond { bond: i("br0") },
            ]
        );
    }

    #[test]
    fn down_steps_say_what_is_done() {
        let cfg = cfg();
        let mut m = bridge(true, &["10.1.0.1/24"]);
        m.slaves = vec![i("enx0011")];
        let steps = plan_down(cfg.bond("br0").unwrap(), Some(&m)).steps();
        assert_eq!(
            steps,
            [
                "release the DHCP lease of br0 (if its client runs)",
                "stop the settle job and DHCP client of br0 and wait until it is gone",
                "remove route 10.2.0.0/16 via 10.1.0.254 from br0",
                "remove address 10.1.0.1/24 from br0",
                "stop wpa_supplicant on enx0011 and wait until it is gone",
                "release enx0011 from br0",
                "delete br0",
                "forget the recorded state of br0",
            ]
        );
    }
}
