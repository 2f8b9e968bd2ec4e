//! The environment udhcpc (and dhclient) give hotbond-udhcpc-script: any variables, any
//! bytes. Reading it and checking the lease never panics, and a lease taken is one hotbond
//! can configure.
#![no_main]

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

use hotbond::dhcp::{dhclient_script, udhcpc_script};
use libfuzzer_sys::fuzz_target;

/// `KEY=VALUE` pairs separated by NUL, as in /proc/PID/environ; the first is the event.
fn vars(data: &[u8]) -> (String, Vec<(OsString, OsString)>) {
    let mut it = data.split(|&b| b == 0);
    let event = String::from_utf8_lossy(it.next().unwrap_or_default()).into_owned();
    let vars = it
        .map(|kv| {
            let eq = kv.iter().position(|&b| b == b'=').unwrap_or(kv.len());
            let v = kv.get(eq + 1..).unwrap_or_default();
            (
                OsString::from_vec(kv[..eq].to_vec()),
                OsString::from_vec(v.to_vec()),
            )
        })
        .collect();
    (event, vars)
}

fuzz_target!(|data: &[u8]| {
    let (event, vars) = vars(data);
    for env in [
        udhcpc_script::env(vars.clone()),
        dhclient_script::as_udhcpc_env(vars),
    ] {
        if let Ok((_, Some(lease))) = udhcpc_script::checked(&event, &env) {
            let p = lease.address.prefix;
            assert!((1..=32).contains(&p), "{lease:?}");
            assert!(lease.address.is_ipv4());
        }
        let _ = udhcpc_script::lease_from(&env);
        if let Some(r) = env.get("router") {
            if let Ok(gw) = udhcpc_script::router_from(r) {
                assert!(!gw.is_unspecified() && !gw.is_broadcast() && !gw.is_multicast());
            }
        }
    }
    let _ = dhclient_script::event(&event);
});
