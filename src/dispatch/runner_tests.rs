use super::*;
use std::os::unix::fs::symlink;

/// A fresh directory of hooks, root's and 0755 as an administrator makes it.
fn hooks_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("hotbond-hooks-{tag}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    fs::set_permissions(&d, fs::Permissions::from_mode(0o755)).unwrap();
    d
}

fn hook(dir: &Path, name: &str, body: &str, mode: u32) -> PathBuf {
    let p = dir.join(name);
    fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
    fs::set_permissions(&p, fs::Permissions::from_mode(mode)).unwrap();
    p
}

fn delivery(event: &str) -> Delivery {
    Delivery {
        event: event.into(),
        env: vec![
            ("HOTBOND_EVENT", event.into()),
            ("HOTBOND_BOND", "bond0".into()),
            ("HOTBOND_ADDRESS", "10.9.0.50/24".into()),
        ],
    }
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

#[test]
fn names_left_out_as_run_parts_does() {
    for n in [
        ".hidden",
        "50-vpn~",
        "50-vpn.dpkg-old",
        "50-vpn.dpkg-dist",
        "x.ucf-new",
        "",
    ] {
        assert!(skipped_name(n), "{n}");
    }
    for n in ["50-vpn", "10_firewall", "ntp.sh"] {
        assert!(!skipped_name(n), "{n}");
    }
}

#[test]
fn trust_is_root_owned_and_written_by_root_only() {
    assert_eq!(untrusted(0, 0o100755), None);
    assert_eq!(untrusted(0, 0o100700), None);
    assert!(untrusted(1000, 0o100755).unwrap().contains("uid 1000"));
    assert!(untrusted(0, 0o100775).unwrap().contains("group or others"));
    assert!(untrusted(0, 0o100757).is_some());
}

#[test]
fn hooks_run_in_name_order_with_only_the_events_environment() {
    if !is_root() {
        return;
    }
    let d = hooks_dir("order");
    let out = d.join("out");
    let log = format!(
        "echo \"$(basename \"$0\") $HOTBOND_EVENT $HOTBOND_BOND $HOTBOND_ADDRESS PATH=$PATH HOME=${{HOME-unset}} in=$(cat)\" >> {}",
        out.display()
    );
    hook(&d, "20-second", &log, 0o755);
    hook(&d, "10-first", &log, 0o755);
    hook(&d, "30-third", &log, 0o700);
    // Left out: a backup, a dotfile, a non-executable, a directory.
    hook(&d, "15-first~", &log, 0o755);
    hook(&d, ".25-hidden", &log, 0o755);
    hook(&d, "26-not-exec", &log, 0o644);
    fs::create_dir(d.join("27-dir")).unwrap();
    // A symlink to a trusted executable is run, as run-parts does.
    symlink(d.join("10-first"), d.join("40-link")).unwrap();
    let done = run_all("bond0", &d, Duration::from_secs(5), &delivery("lease"));
    let names: Vec<_> = done
        .iter()
        .map(|(p, o)| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                o.clone(),
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            ("10-first".to_string(), Outcome::Exited(0)),
            ("20-second".to_string(), Outcome::Exited(0)),
            ("30-third".to_string(), Outcome::Exited(0)),
            ("40-link".to_string(), Outcome::Exited(0)),
        ]
    );
    let lines = fs::read_to_string(&out).unwrap();
    let want = |n: &str| format!("{n} lease bond0 10.9.0.50/24 PATH={PATH} HOME=unset in=");
    assert_eq!(
        lines.lines().collect::<Vec<_>>(),
        [
            want("10-first"),
            want("20-second"),
            want("30-third"),
            want("40-link")
        ]
    );
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_hook_that_hangs_is_killed_at_the_limit_and_the_next_one_runs() {
    if !is_root() {
        return;
    }
    let d = hooks_dir("hang");
    let out = d.join("out");
    hook(&d, "10-hang", "sleep 30 & sleep 30", 0o755);
    hook(&d, "20-fails", "exit 3", 0o755);
    hook(
        &d,
        "30-after",
        &format!("echo ran > {}", out.display()),
        0o755,
    );
    let t0 = Instant::now();
    let done = run_all(
        "bond0",
        &d,
        Duration::from_millis(300),
        &delivery("failover"),
    );
    let took = t0.elapsed();
    let outcomes: Vec<_> = done.into_iter().map(|(_, o)| o).collect();
    assert_eq!(
        outcomes,
        [Outcome::Killed, Outcome::Exited(3), Outcome::Exited(0)]
    );
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert_eq!(fs::read_to_string(&out).unwrap(), "ran\n");
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn hooks_others_could_write_are_not_run() {
    if !is_root() {
        return;
    }
    let d = hooks_dir("trust");
    let out = d.join("out");
    let log = format!("basename \"$0\" >> {}", out.display());
    hook(&d, "10-users", &log, 0o755);
    nix::unistd::chown(&d.join("10-users"), Some(1000.into()), None).unwrap();
    let w = hook(&d, "20-group-writable", &log, 0o775);
    // set_permissions is not subject to the umask, but say it plainly.
    fs::set_permissions(&w, fs::Permissions::from_mode(0o775)).unwrap();
    hook(&d, "30-roots", &log, 0o755);
    run_all("bond0", &d, Duration::from_secs(5), &delivery("bond-up"));
    assert_eq!(fs::read_to_string(&out).unwrap(), "30-roots\n");
    // The directory itself others may write: nothing in it runs.
    fs::remove_file(&out).unwrap();
    fs::set_permissions(&d, fs::Permissions::from_mode(0o777)).unwrap();
    assert!(run_all("bond0", &d, Duration::from_secs(5), &delivery("bond-up")).is_empty());
    assert!(!out.exists());
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn no_directory_no_hooks() {
    let d = std::env::temp_dir().join("hotbond-hooks-none-such");
    assert!(run_all("bond0", &d, Duration::from_secs(1), &delivery("bond-up")).is_empty());
}

#[test]
fn the_thread_delivers_events_in_order_without_blocking_the_sender() {
    if !is_root() {
        return;
    }
    let d = hooks_dir("thread");
    let out = d.join("out");
    hook(
        &d,
        "10-slow",
        &format!("sleep 0.2; echo $HOTBOND_EVENT >> {}", out.display()),
        0o755,
    );
    let r = Runner::spawn("bond0", d.clone(), Duration::from_secs(5));
    let t0 = Instant::now();
    for e in [
        "bond-up",
        "lease",
        "failover",
        "lease",
        "lease-lost",
        "bond-down",
    ] {
        r.send(delivery(e));
    }
    // Queued, not run: the job goes on at once.
    assert!(t0.elapsed() < Duration::from_millis(100));
    // At most: six events (one running, five queued), one hook, 5 s each.
    assert!(r.longest_left() <= Duration::from_secs(30));
    assert!(r.longest_left() >= Duration::from_secs(20));
    r.finish();
    assert_eq!(
        fs::read_to_string(&out).unwrap(),
        "bond-up\nlease\nfailover\nlease\nlease-lost\nbond-down\n"
    );
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn hooks_start_with_no_signal_blocked() {
    // The thread blocks every signal (they are the job's); a hook must still hear its own.
    if !is_root() {
        return;
    }
    let d = hooks_dir("signals");
    let out = d.join("out");
    hook(
        &d,
        "10-mask",
        &format!("grep SigBlk /proc/self/status > {}", out.display()),
        0o755,
    );
    let r = Runner::spawn("bond0", d.clone(), Duration::from_secs(5));
    r.send(delivery("bond-up"));
    r.finish();
    assert_eq!(
        fs::read_to_string(&out).unwrap().split_whitespace().nth(1),
        Some("0000000000000000")
    );
    fs::remove_dir_all(&d).unwrap();
}
