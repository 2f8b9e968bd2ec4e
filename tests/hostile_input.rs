//! Input a network, a udev event or a user can make hostile, given to the binaries as they
//! run in the field: names with newlines and of any length, bytes that are not UTF-8. Each
//! must end in a clear refusal (or a harmless ignore), never an abort or a forged log line.
//! None of these reach the kernel, so they need neither root nor a namespace.

mod common;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::process::{Command, Stdio};

use common::{HOTBOND, SETTLE, UDEV, UDHCPC_SCRIPT, WPA};

/// Runs `program ARGS` with only PATH inherited and hotbond's log on stderr (debug too);
/// returns (exit code, stderr).
fn run(program: &str, args: &[&OsStr]) -> (Option<i32>, String) {
    let out = Command::new(program)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOTBOND_LOG_STDERR", "1")
        .env("HOTBOND_DEBUG", "1")
        .env("HOTBOND_CONFIG", "/nonexistent/hotbond.toml")
        .env("HOTBOND_RUN_DIR", "/nonexistent/run")
        .stdin(Stdio::null())
        .output()
        .expect("run the binary");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn os(s: &str) -> &OsStr {
    OsStr::new(s)
}

#[test]
fn a_newline_in_a_name_cannot_forge_a_log_line() {
    let evil = "x\nhotbond: forged";
    for (program, args) in [
        (WPA, [os(evil), os("SCANNING")]),
        (WPA, [os("wlan0"), os(evil)]),
        (UDEV, [os("change"), os(evil)]),
        (UDEV, [os(evil), os("eth0")]),
        (UDEV, [os("add"), os(evil)]),
    ] {
        let (code, stderr) = run(program, &args);
        assert!(code.is_some(), "{program} {args:?}: killed: {stderr}");
        assert!(
            stderr.lines().all(|l| !l.starts_with("hotbond: forged")),
            "{program} {args:?}: a forged line: {stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "{program} {args:?}: {stderr}");
    }
}

#[test]
fn a_huge_name_is_not_echoed_whole() {
    let huge = "n".repeat(100_000);
    for (program, args) in [
        (UDEV, [os("add"), os(&huge)]),
        (UDEV, [os("change"), os(&huge)]),
        (UDEV, [os(&huge), os("eth0")]),
        (WPA, [os(&huge), os("CONNECTED")]),
        (WPA, [os(&huge), os("SCANNING")]),
    ] {
        let (code, stderr) = run(program, &args);
        assert!(code.is_some(), "{program}: killed");
        assert!(
            stderr.len() < 400,
            "{program}: {} bytes on stderr: {}...",
            stderr.len(),
            &stderr[..300.min(stderr.len())]
        );
        assert!(stderr.contains("nnnn..."), "{program}: {stderr}");
    }
}

#[test]
fn arguments_that_are_not_utf8_are_refused_with_one_line() {
    let bad = OsStr::from_bytes(b"\xff");
    for (program, args) in [
        (UDEV, vec![os("add"), bad]),
        (UDEV, vec![bad, os("eth0")]),
        (WPA, vec![bad, os("CONNECTED")]),
        (HOTBOND, vec![os("status"), bad]),
        (HOTBOND, vec![bad]),
        (SETTLE, vec![bad]),
        (UDHCPC_SCRIPT, vec![bad]),
    ] {
        let (code, stderr) = run(program, &args);
        assert_eq!(code, Some(2), "{program} {args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{program} {args:?}: {stderr}");
        assert!(stderr.contains("not valid UTF-8"), "{program}: {stderr}");
    }
}

#[test]
fn a_name_that_starts_with_a_dash_is_refused_everywhere() {
    for (program, args) in [
        (UDEV, [os("add"), os("-r")]),
        (UDEV, [os("remove"), os("-r")]),
        (WPA, [os("-r"), os("CONNECTED")]),
    ] {
        let (code, stderr) = run(program, &args);
        assert_eq!(code, Some(1), "{program} {args:?}: {stderr}");
        assert!(
            stderr.contains(r#""-r": starts with '-'"#),
            "{program} {args:?}: {stderr}"
        );
    }
}

#[test]
fn a_bond_named_like_an_option_is_refused_by_the_configuration() {
    // The configuration must be root's; elsewhere this cannot run.
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        common::cannot_run("needs root (the configuration must be root-owned)");
        return;
    }
    let dir = common::private_dir(&format!("hotbond-dash-{}", std::process::id()));
    let conf = dir.join("hotbond.toml");
    std::fs::write(
        &conf,
        "[[bond]]\nname = \"-r\"\n[bond.dhcp]\nclient = \"dhclient\"\n[[bond.slave]]\nname = \"eth*\"\n",
    )
    .unwrap();
    let (code, stderr) = run(HOTBOND, &[os("check"), conf.as_os_str()]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("starts with '-'"), "{stderr}");
}
