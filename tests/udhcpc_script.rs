//! hotbond's udhcpc event script (`hotbond-udhcpc-script EVENT`), run as udhcpc runs it:
//! the lease in its environment, on an interface in a fresh network namespace. What it
//! leaves on the interface, the routes and resolv.conf is what a user gets from a lease.
//!
//! resolv.conf: `ip netns exec` mounts /etc/netns/NS/resolv.conf over /etc/resolv.conf,
//! so the script's write lands in the test's own file (checked before each run).

mod common;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use common::{Env, Run, UDHCPC_SCRIPT};

/// A namespace with a veth `hbv0` (up) for the script to configure.
fn script_env() -> Option<Env> {
    let env = Env::new("hotbond.toml", "")?;
    env.veth("hbv0", "hbp0", None);
    Some(env)
}

/// Runs the script for `event` with udhcpc's variables `vars` (interface=hbv0 added).
fn script(env: &Env, event: &str, vars: &[(&str, &OsStr)]) -> Run {
    let mut all = vec![("interface", OsStr::new("hbv0"))];
    all.extend_from_slice(vars);
    env.run_env_os(UDHCPC_SCRIPT, &[event], &all)
}

#[test]
fn raw_bytes_from_the_dhcp_server_do_not_abort_the_script() {
    let Some(env) = script_env() else { return };
    env.ip(&["link", "set", "hbv0", "down"]);
    let raw = OsStr::from_bytes(b"\xff\xfe pxelinux.0 \x80");
    for event in ["deconfig", "leasefail", "nak"] {
        let r = script(
            &env,
            event,
            &[("boot_file", raw), ("sname", raw), ("message", raw)],
        );
        r.assert_ok();
    }
    // deconfig brought the interface up, as it does without the raw bytes.
    assert!(env.admin_up("hbv0"));
}
