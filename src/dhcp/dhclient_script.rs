//! ISC dhclient's script (`-sf`), hotbond's instead of Debian's dhclient-script: that one
//! flushes every address of the interface when the leased address changes (the static
//! fail-safe address with it) and writes /etc/resolv.conf with nothing to take it back.
//! This one applies a lease as the udhcpc script does (the new address beside the old, then
//! the old one out; the router; DNS through [`crate::dns`], which `hotbond down` reverts),
//! and on the lease's end removes only the address it added.
//!
//! dhclient runs its script without arguments, the event in `reason` and the lease in
//! `new_*` variables; `hotbond-udhcpc-script` is both clients' script and tells them apart
//! by that.

use std::collections::HashMap;
use std::ffi::OsString;

use anyhow::{bail, Context, Result};

use super::udhcpc_script;

/// What a dhclient event asks of the script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// Before the first packet: make sure the link is up.
    Preinit,
    /// A lease to apply (BOUND, RENEW, REBIND, REBOOT), as the udhcpc script's `bound`.
    Lease,
    /// The lease is over (EXPIRE, FAIL, RELEASE, STOP).
    Over,
    /// No server: dhclient asks whether its old lease still works. hotbond does not guess.
    Timeout,
    /// Nothing to do (IPv6 events, MEDIUM, ARPCHECK, ARPSEND, NBI).
    Nothing,
}

/// The event of dhclient's `reason`; an unknown one is refused.
pub fn event(reason: &str) -> Result<Event> {
    Ok(match reason {
        "PREINIT" => Event::Preinit,
        "BOUND" | "RENEW" | "REBIND" | "REBOOT" => Event::Lease,
        "EXPIRE" | "FAIL" | "RELEASE" | "STOP" => Event::Over,
        "TIMEOUT" => Event::Timeout,
        "PREINIT6" | "BOUND6" | "RENEW6" | "REBIND6" | "REBOOT6" | "DEPREF6" | "EXPIRE6"
        | "RELEASE6" | "STOP6" | "MEDIUM" | "ARPCHECK" | "ARPSEND" | "NBI" => Event::Nothing,
        other => bail!(
            "unknown dhclient reason {}",
            crate::net::ifname::shown(other)
        ),
    })
}

/// dhclient's variables under the names the udhcpc script reads (interface, ip, subnet,
/// router, dns, domain, lease). Values that are not UTF-8 are kept lossily, to be refused with the
/// rest of a malformed lease.
pub fn as_udhcpc_env(
    vars: impl IntoIterator<Item = (OsString, OsString)>,
) -> HashMap<String, String> {
    let mut from: HashMap<String, String> = HashMap::new();
    for (k, v) in vars {
        if let Ok(k) = k.into_string() {
            from.insert(k, v.to_string_lossy().into_owned());
        }
    }
    let mut env = HashMap::new();
    let mut take = |to: &str, names: &[&str]| {
        if let Some(v) = names
            .iter()
            .find_map(|n| from.get(*n).filter(|v| !v.trim().is_empty()))
        {
            env.insert(to.to_string(), v.clone());
        }
    };
    take("interface", &["interface"]);
    take("ip", &["new_ip_address"]);
    take("subnet", &["new_subnet_mask"]);
    take("router", &["new_routers"]);
    take("dns", &["new_domain_name_servers"]);
    take("lease", &["new_dhcp_lease_time"]);
    // The search list when there is one, else the domain name.
    take("domain", &["new_domain_search", "new_domain_name"]);
    env
}

/// Handles one dhclient event: `reason` and the environment dhclient gave.
pub fn handle(reason: &str, vars: impl IntoIterator<Item = (OsString, OsString)>) -> Result<()> {
    let env = as_udhcpc_env(vars);
    let iface = env
        .get("interface")
        .context("dhclient gave no interface")?
        .clone();
    match event(reason)? {
        Event::Preinit => udhcpc_script::handle("deconfig", &env),
        Event::Lease => udhcpc_script::handle("bound", &env),
        Event::Over => udhcpc_script::unconfigure(&iface),
        Event::Timeout => bail!("{iface}: no DHCP server answers; not trying the old lease"),
        Event::Nothing => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(v: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
        v.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect()
    }

    #[test]
    fn reasons() {
        assert_eq!(event("BOUND").unwrap(), Event::Lease);
        assert_eq!(event("REBOOT").unwrap(), Event::Lease);
        assert_eq!(event("RELEASE").unwrap(), Event::Over);
        assert_eq!(event("PREINIT").unwrap(), Event::Preinit);
        assert_eq!(event("BOUND6").unwrap(), Event::Nothing);
        let e = event("EVIL\nhotbond: forged").unwrap_err().to_string();
        assert_eq!(e.lines().count(), 1, "{e}");
    }

    #[test]
    fn a_dhclient_lease_reads_as_a_udhcpc_one() {
        let env = as_udhcpc_env(vars(&[
            ("reason", "BOUND"),
            ("interface", "bond0"),
            ("new_ip_address", "192.0.2.150"),
            ("new_subnet_mask", "255.255.255.0"),
            ("new_routers", "192.0.2.1"),
            ("new_domain_name_servers", "192.0.2.1 192.0.2.2"),
            ("new_domain_name", "example.org"),
            ("new_dhcp_lease_time", "600"),
            ("old_ip_address", "192.0.2.120"),
        ]));
        let lease = udhcpc_script::lease_from(&env).unwrap();
        assert_eq!(lease.address.to_string(), "192.0.2.150/24");
        assert_eq!(lease.lease_secs, Some(600));
        assert_eq!(lease.router.as_deref(), Some("192.0.2.1"));
        assert_eq!(lease.dns.as_deref(), Some("192.0.2.1 192.0.2.2"));
        assert_eq!(lease.domain.as_deref(), Some("example.org"));
        // The search list wins over the domain name; empty values are no values.
        let env = as_udhcpc_env(vars(&[
            ("new_domain_name", "example.org"),
            ("new_domain_search", "a.example b.example"),
            ("new_routers", " "),
        ]));
        assert_eq!(env["domain"], "a.example b.example");
        assert!(!env.contains_key("router"));
    }
}
