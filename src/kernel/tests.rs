//! The facade and the event listener against a real kernel, each test in a network
//! namespace of its own (root only: skipped elsewhere).

use std::io::Write as _;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use super::*;

/// Moves this test's thread into a new network namespace. Where that is not allowed (not
/// root) the test cannot run: under `HOTBOND_FULL_TESTS=1` (every test must run) that fails
/// it, otherwise it says SKIP on stderr, past the harness's capture, and returns false.
fn own_netns() -> bool {
    // SAFETY: a plain syscall; it affects only the calling thread (the test's own).
    if unsafe { libc::unshare(libc::CLONE_NEWNET) } == 0 {
        return true;
    }
    let why = "cannot make a network namespace (needs root)";
    let full = std::env::var_os("HOTBOND_FULL_TESTS").is_some_and(|v| v == "1");
    assert!(
        !full,
        "cannot run here: {why} (HOTBOND_FULL_TESTS=1 wants every test to run)"
    );
    let _ = writeln!(std::io::stderr(), "SKIP: {why}");
    false
}

#[test]
fn links_addresses_and_routes_round_trip() {
    if !own_netns() {
        return;
    }
    let mut k = Kernel::open().unwrap();
    assert_eq!(k.link("hbt0").unwrap(), None);
    k.create_bridge("hbt0").unwrap();
    let e = k.create_bridge("hbt0").unwrap_err();
    assert_eq!(
        format!("{e:#}"),
        "cannot create bridge hbt0: File exists (os error 17)"
    );
    let br = k.link("hbt0").unwrap().unwrap();
    assert_eq!(br.kind.as_deref(), Some("bridge"));
    assert!(!br.up);
    assert_eq!(br.oper, OperState::Down);
    assert!(k.links().unwrap().iter().any(|l| l.name == "lo"));

    k.set_up(br.index, true).unwrap();
    assert!(k.link("hbt0").unwrap().unwrap().up);
    let net: IpNet = "192.0.2.5/24".parse().unwrap();
    k.add_address(br.index, &net).unwrap();
    k.add_address(br.index, &net).unwrap();
    assert_eq!(k.addresses(br.index).unwrap(), vec![net.clone()]);
    let r: Route = "198.51.100.0/24 via 192.0.2.1 metric 7".parse().unwrap();
    k.replace_route(br.index, &r).unwrap();
    k.replace_route(br.index, &r).unwrap();
    k.del_route(br.index, &r).unwrap();
    k.del_route(br.index, &r).unwrap();
    k.flush_addresses(br.index).unwrap();
    k.del_address(br.index, &net).unwrap();
    assert_eq!(k.addresses(br.index).unwrap(), vec![]);

    k.delete_link(br.index).unwrap();
    assert_eq!(k.link("hbt0").unwrap(), None);
    let e = k.delete_link(br.index).unwrap_err();
    assert_eq!(
        format!("{e:#}"),
        format!(
            "cannot delete link #{}: No such device (os error 19)",
            br.index
        )
    );
}

#[test]
fn wait_wakes_on_a_link_event_with_its_name() {
    if !own_netns() {
        return;
    }
    let mut events = LinkEvents::subscribe().unwrap();
    let mut k = Kernel::open().unwrap();
    k.create_bridge("hbt0").unwrap();
    let w = events.wait(None, &[]).unwrap();
    assert!(w.links.iter().any(|n| n == "hbt0"), "{w:?}");
    assert!(w.links_changed() && !w.deadline && w.also.is_empty());
    // Drained: nothing is left, and a deadline that has passed only looks.
    let w = events.wait(Some(Instant::now()), &[]).unwrap();
    assert_eq!(
        w,
        Wake {
            deadline: true,
            ..Wake::default()
        }
    );
}

#[test]
fn wait_wakes_when_an_address_or_a_route_is_removed() {
    if !own_netns() {
        return;
    }
    let mut k = Kernel::open().unwrap();
    k.create_bridge("hbt1").unwrap();
    let br = k.link("hbt1").unwrap().unwrap();
    k.set_up(br.index, true).unwrap();
    let net: crate::net::IpNet = "10.77.0.1/24".parse().unwrap();
    k.add_address(br.index, &net).unwrap();
    let route: crate::net::Route = "10.78.0.0/16 via 10.77.0.254".parse().unwrap();
    k.replace_route(br.index, &route).unwrap();
    let mut events = LinkEvents::subscribe().unwrap();
    k.del_route(br.index, &route).unwrap();
    let w = events.wait(None, &[]).unwrap();
    assert!(
        w.removed_from(br.index) && !w.removed_from(br.index + 1),
        "{w:?}"
    );
    k.del_address(br.index, &net).unwrap();
    let w = events.wait(None, &[]).unwrap();
    assert_eq!(w.removed_from.first(), Some(&br.index), "{w:?}");
    k.delete_link(br.index).unwrap();
}

#[test]
fn wait_wakes_on_a_deadline_or_another_descriptor() {
    if !own_netns() {
        return;
    }
    let mut events = LinkEvents::subscribe().unwrap();
    let t = Instant::now();
    let w = events
        .wait(Some(t + Duration::from_millis(50)), &[])
        .unwrap();
    assert!(w.deadline && !w.links_changed(), "{w:?}");
    assert!(t.elapsed() >= Duration::from_millis(50));

    let (quiet, _keep) = nix::unistd::pipe().unwrap();
    let (ready, writer) = nix::unistd::pipe().unwrap();
    nix::unistd::write(&writer, b"x").unwrap();
    let w = events.wait(None, &[quiet.as_fd(), ready.as_fd()]).unwrap();
    assert_eq!(w.also, vec![1]);
    assert!(!w.deadline && !w.links_changed());
}
