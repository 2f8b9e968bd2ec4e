//! hotbond's run and state directories, as a careless or hostile host leaves them: a umask
//! of 000, a directory another user owns or may write. What hotbond reads back from them
//! decides which process it signals, so it makes them private and refuses them otherwise.
//!
//! Run as root (`cargo test`), each in a fresh network namespace; otherwise each test prints
//! "SKIP: needs root" and passes, unless `HOTBOND_FULL_TESTS=1`.

mod common;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::time::Duration;

use common::{Env, UDEV};

const SETTLE: Duration = Duration::from_secs(10);

const BRIDGE: &str = r#"[[bond]]
name = "br0"
kind = "bridge"
[bond.dhcp]
client = "none"
[[bond.slave]]
name = "hbv*"
"#;

/// Every directory and file below `root`, with its mode.
fn modes(root: &Path) -> Vec<(String, u32)> {
    let mut v = Vec::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(d) = todo.pop() {
        let m = fs::symlink_metadata(&d).unwrap();
        v.push((d.display().to_string(), m.mode() & 0o7777));
        if m.is_dir() {
            todo.extend(fs::read_dir(&d).unwrap().map(|e| e.unwrap().path()));
        }
    }
    v
}

/// The hooks under `umask 000`: the run directory they make is root's, readable by `hotbond
/// status` as any user, and nothing in it is writable by anyone else.
#[test]
fn directories_are_private_whatever_the_umask() {
    let Some(env) = Env::new("hotbond.toml", BRIDGE) else {
        return;
    };
    env.veth("hbv0", "hbp0", None);
    let run = env.dir.join("fresh-run");
    let run_s = run.to_str().unwrap();
    let r = env.run_env(
        "sh",
        &["-c", &format!("umask 000; exec {UDEV} add hbv0")],
        &[("HOTBOND_RUN_DIR", run_s)],
    );
    r.assert_ok();
    // The detached job (also umask 000) writes its pid file and its record.
    assert!(common::wait_for(SETTLE, || run.join("br0.json").exists()));
    assert!(common::wait_for(SETTLE, || run.join("jobs").exists()));
    let all = modes(&run);
    for (p, mode) in &all {
        assert_eq!(
            mode & 0o022,
            0,
            "{p} is writable by others: {mode:o} ({all:?})"
        );
    }
    let mode_of = |p: &Path| fs::metadata(p).unwrap().mode() & 0o7777;
    assert_eq!(mode_of(&run), 0o755, "{all:?}");
    assert_eq!(mode_of(&run.join("jobs")), 0o700, "{all:?}");
    assert_eq!(mode_of(&run.join("slaves")), 0o700, "{all:?}");
    assert_eq!(fs::metadata(&run).unwrap().uid(), 0);
}

/// A run directory another user owns, or that group or others may write, is refused with
/// one line naming it, before anything changes.
#[test]
fn a_run_directory_others_control_is_refused() {
    let Some(env) = Env::new("hotbond.toml", BRIDGE) else {
        return;
    };
    env.veth("hbv0", "hbp0", None);
    let run = &env.run_dir;
    let name = run.display().to_string();

    nix::unistd::chown(run, Some(nix::unistd::Uid::from_raw(65534)), None).unwrap();
    let line = env.udev("add", "hbv0").assert_one_line_failure();
    assert!(
        line.contains(&name) && line.contains("owned by uid 65534"),
        "{line}"
    );
    assert!(!env.exists("br0"), "nothing done");

    nix::unistd::chown(run, Some(nix::unistd::Uid::from_raw(0)), None).unwrap();
    fs::set_permissions(run, fs::Permissions::from_mode(0o777)).unwrap();
    let line = env.udev("add", "hbv0").assert_one_line_failure();
    assert!(
        line.contains(&name) && line.contains("writable by group or others"),
        "{line}"
    );
    assert!(!env.exists("br0"), "nothing done");

    fs::set_permissions(run, fs::Permissions::from_mode(0o755)).unwrap();
    env.udev("add", "hbv0").assert_ok();
    assert!(env.exists("br0"));
}

/// Links planted where hotbond writes its records and takes its locks are replaced or
/// refused, never followed: the file they point at stays as it was.
#[test]
fn links_in_the_run_directory_are_not_followed() {
    let Some(env) = Env::new("hotbond.toml", BRIDGE) else {
        return;
    };
    env.veth("hbv0", "hbp0", None);
    let victim = env.dir.join("victim");
    fs::write(&victim, "precious").unwrap();
    let run = &env.run_dir;
    fs::create_dir_all(run.join("slaves")).unwrap();
    for name in ["br0.json", "br0.tmp", "slaves/hbv0"] {
        std::os::unix::fs::symlink(&victim, run.join(name)).unwrap();
    }
    env.udev("add", "hbv0").assert_ok();
    env.wait_settled("br0", true, SETTLE);
    assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
    assert_eq!(env.slave_record("hbv0").as_deref(), Some("br0"));
    for name in ["br0.json", "slaves/hbv0"] {
        let m = fs::symlink_metadata(run.join(name)).unwrap();
        assert!(m.file_type().is_file(), "{name} is a file of its own now");
    }
}

/// A DHCP record naming a process the job did not start (here a root shell whose command
/// line mentions the bond, as the record's "client") must not make the bond's job kill it:
/// only the very process a job started, by pid, start time and executable, is signalled.
#[test]
fn a_forged_dhcp_record_kills_nothing() {
    let Some(env) = Env::new("hotbond.toml", BRIDGE) else {
        return;
    };
    let mut victim = std::process::Command::new("bash")
        .args(["-c", "sleep 60; : br0"])
        .spawn()
        .unwrap();
    let pid = victim.id();
    let dhcp = env.run_dir.join("dhcp");
    fs::create_dir_all(&dhcp).unwrap();
    fs::write(
        dhcp.join("br0.json"),
        format!(r#"{{"client": "bash", "mac": "02:00:00:00:00:01", "pid": {pid}, "updated_unix_ms": 0}}"#),
    )
    .unwrap();
    env.veth("hbv0", "hbp0", None);
    env.udev("add", "hbv0").assert_ok();
    env.wait_settled("br0", true, SETTLE);
    let st = env.status("br0");
    assert_eq!(st["dhcp"]["running"], false, "{st:#}");
    assert_eq!(victim.try_wait().unwrap(), None, "the job killed {pid}");
    victim.kill().unwrap();
    victim.wait().unwrap();
}
