//! The `hotbond` command's invocation, end to end: a mistyped option or an extra argument
//! does nothing and exits 2 with the usage; `--help` works everywhere; the bash completion
//! shipped in the repository is the one the command line declares.

mod common;

use std::process::Command;

use common::{Env, HOTBOND, SETTLE, UDEV, UDHCPC_SCRIPT, WPA};

const BRIDGE: &str = r#"[[bond]]
name = "br0"
kind = "bridge"
addresses = ["10.56.0.1/24"]
[bond.dhcp]
client = "none"
[[bond.slave]]
name = "hbv*"
"#;

#[test]
fn a_mistyped_option_changes_nothing_and_exits_2() {
    let Some(env) = Env::new("hotbond.toml", BRIDGE) else {
        return;
    };
    env.veth("hbv0", "hbp0", None);
    let before = env.snapshot();
    for args in [
        &["replay", "--dryrun"][..],
        &["replay", "--dryrun", "hbv0"],
        &["replay", "hbv0", "--dry_run"],
        &["up", "br0", "extra"],
        &["up", "--force", "br0"],
        &["down", "--dryrun", "br0"],
        &["status", "br0", "br1"],
        &["check", "a.toml", "b.toml"],
        &["exec-supplicant", "hbv0", "extra"],
        &["frobnicate"],
        &[],
    ] {
        let r = env.hotbond(args);
        assert_eq!(r.code, Some(2), "{args:?}: {r:#?}");
        assert!(r.stderr.contains("Usage: hotbond"), "{args:?}: {r:#?}");
        assert!(r.stdout.is_empty(), "{args:?}: {r:#?}");
        assert_eq!(env.snapshot(), before, "{args:?} changed the network");
        assert!(!env.exists("br0"), "{args:?} created the bridge");
        assert!(env.processes().is_empty(), "{args:?} started a job");
        assert!(
            !env.run_dir.join("slaves").exists(),
            "{args:?} recorded a slave"
        );
    }
    // The spelling that exists still works.
    env.hotbond(&["replay", "--dry-run"]).assert_ok();
    assert_eq!(env.snapshot(), before);
}

#[test]
fn help_is_printed_and_succeeds() {
    for args in [
        &["--help"][..],
        &["-h"],
        &["help"],
        &["status", "--help"],
        &["up", "--help"],
        &["down", "--help"],
        &["replay", "--help"],
        &["check", "--help"],
        &["help", "replay"],
    ] {
        let out = Command::new(HOTBOND).args(args).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{args:?}: {out:?}");
        assert!(stdout.contains("Usage: hotbond"), "{args:?}: {stdout}");
    }
    let out = Command::new(HOTBOND).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for sub in ["status", "up", "down", "replay", "check"] {
        assert!(help.contains(sub), "{sub} missing from {help}");
    }
    assert!(!help.contains("exec-supplicant"), "{help}");
    // The fixed-shape binaries: --help alone prints their usage.
    for program in [UDEV, WPA, SETTLE, UDHCPC_SCRIPT] {
        let out = Command::new(program).arg("--help").output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{program}: {out:?}");
        assert!(stdout.starts_with("usage: hotbond-"), "{program}: {stdout}");
    }
}

#[test]
fn the_fixed_shape_binaries_refuse_wrong_counts() {
    let cases: &[(&str, &[&str])] = &[
        (UDEV, &["--dry-run"]),
        (UDEV, &["--help", "add", "eth0"]),
        (UDEV, &["add", "eth0", "extra"]),
        (UDEV, &["add"]),
        (WPA, &["wlan0"]),
        (SETTLE, &[]),
        (SETTLE, &["bond0", "bond1"]),
        (UDHCPC_SCRIPT, &[]),
        (UDHCPC_SCRIPT, &["bound", "extra"]),
    ];
    for (program, args) in cases {
        let out = Command::new(program)
            .args(*args)
            .env("HOTBOND_CONFIG", "/nonexistent/hotbond.toml")
            .env("HOTBOND_RUN_DIR", "/nonexistent/run")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{program} {args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{program} {args:?}: {stderr}");
        assert!(stderr.contains("usage: hotbond-"), "{program}: {stderr}");
    }
}

/// `completions/hotbond.bash` is generated from the command line's declaration; this fails
/// when they drift apart. `HOTBOND_BLESS=1 cargo test --test cli` rewrites the file.
#[test]
fn the_shipped_bash_completion_is_current() {
    use clap::CommandFactory;
    // Hidden commands are internal entry points: not offered.
    let full = hotbond::cli::parse::Cli::command();
    let shown = full.get_subcommands().filter(|s| !s.is_hide_set()).cloned();
    let mut cmd = clap::Command::new("hotbond").subcommands(shown);
    let mut out = Vec::new();
    clap_complete::generate(clap_complete::Shell::Bash, &mut cmd, "hotbond", &mut out);
    let generated = String::from_utf8(out).unwrap();
    assert!(
        !generated.contains("exec-supplicant"),
        "a hidden command leaked"
    );
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("completions/hotbond.bash");
    if std::env::var_os("HOTBOND_BLESS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let shipped = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        shipped == generated,
        "{} is stale: run HOTBOND_BLESS=1 cargo test --test cli",
        path.display()
    );
}
