//! A lease's DNS written to the real path, /etc/resolv.conf, and taken back: in a private
//! mount namespace (`unshare --mount`) whose /etc is the test's own directory, so the
//! host's file is never touched. The test binary re-runs itself in there as the child.
//!
//! Two shapes of /etc/resolv.conf: a plain file (replaced by rename) and a file with
//! another one bind-mounted over it, as `ip netns exec` makes it (rewritten in place).

mod common;

use std::fs;
use std::net::IpAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use hotbond::dns;
use hotbond::net::IfName;

/// Set in the child: the marker its /etc/resolv.conf must start with.
const CHILD_VAR: &str = "HOTBOND_TEST_DNS_MARKER";
const NAME: &str = "lease_dns_lands_in_etc_resolv_conf_and_goes_again";

#[test]
fn lease_dns_lands_in_etc_resolv_conf_and_goes_again() {
    if let Some(marker) = std::env::var_os(CHILD_VAR) {
        return child(&marker.to_string_lossy());
    }
    if !common::root_or_skip() {
        return;
    }
    let host_before = fs::read("/etc/resolv.conf").ok();
    for shape in ["file", "mount-point"] {
        let dir =
            std::env::temp_dir().join(format!("hotbond-dns-ns-{shape}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("etc")).unwrap();
        let marker = format!("# hotbond test {shape} {}", std::process::id());
        let original = format!("{marker}\nnameserver 10.255.0.1\n");
        let over = if shape == "file" {
            fs::write(dir.join("etc/resolv.conf"), &original).unwrap();
            ""
        } else {
            fs::write(dir.join("etc/resolv.conf"), "# under the mount\n").unwrap();
            fs::write(dir.join("bound"), &original).unwrap();
            "mount --bind \"$1/bound\" /etc/resolv.conf"
        };
        // `set -e`: if a mount fails the child never runs (and it checks the marker too).
        let script = format!(
            "set -e\nmount --bind \"$1/etc\" /etc\n{over}\n\
             exec \"$2\" --exact {NAME} --nocapture --test-threads=1"
        );
        let exe = std::env::current_exe().unwrap();
        let out = Command::new("unshare")
            .args(["--mount", "--propagation", "private", "--", "sh", "-c"])
            .arg(&script)
            .arg("sh")
            .arg(&dir)
            .arg(&exe)
            .env(CHILD_VAR, &marker)
            .env("HOTBOND_STATE_DIR", dir.join("state"))
            .env(dns::RESOLVED_SOCKET_VAR, dir.join("no-resolved"))
            .env_remove(dns::RESOLV_CONF_VAR)
            .output()
            .expect("run unshare");
        let log = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{shape}: {log}");
        assert!(
            log.contains("1 passed"),
            "{shape}: the child did not run: {log}"
        );
        if log.contains("SKIP") {
            fs::remove_dir_all(&dir).unwrap();
            return;
        }
        // The child's work shows in the directory that was its /etc.
        let ours = if shape == "file" {
            "etc/resolv.conf"
        } else {
            "bound"
        };
        assert_eq!(
            fs::read_to_string(dir.join(ours)).unwrap(),
            original,
            "{shape}"
        );
        fs::remove_dir_all(&dir).unwrap();
    }
    assert_eq!(
        fs::read("/etc/resolv.conf").ok(),
        host_before,
        "the host's file changed"
    );
}

/// In the namespace: apply a lease's DNS through the public API, look, revert, look.
fn child(marker: &str) {
    let etc = Path::new("/etc/resolv.conf");
    let original = fs::read_to_string(etc).unwrap();
    assert!(
        original.starts_with(marker),
        "not the test's own /etc/resolv.conf: {original:?}"
    );
    let sys = dns::System::from_env();
    let backend = dns::choose(&sys.facts());
    if backend != dns::Backend::ResolvConfFile {
        // A host with resolvconf installed: its program would change the host's state.
        common::not_applicable(&format!("this host's DNS backend is {backend:?}"));
        return;
    }
    let bond = IfName::new("bond0").unwrap();
    let servers: Vec<IpAddr> = vec!["192.0.2.53".parse().unwrap()];
    let domains = vec!["example.org".to_string(), "bad domain".to_string()];
    dns::apply(&bond, &servers, &domains).unwrap();
    let text = fs::read_to_string(etc).unwrap();
    assert!(
        text.ends_with("search example.org\nnameserver 192.0.2.53\n"),
        "{text}"
    );
    let mode = fs::metadata(etc).unwrap().permissions().mode() & 0o777;
    assert_eq!(
        mode & 0o644,
        0o644,
        "readable by every program that resolves"
    );
    dns::revert(&bond).unwrap();
    assert_eq!(fs::read_to_string(etc).unwrap(), original);
    dns::revert(&bond).unwrap();
    assert_eq!(fs::read_to_string(etc).unwrap(), original);
}
