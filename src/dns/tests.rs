//! The backends end to end on a system made of temporary files: a resolv.conf, fake
//! `resolvectl`/`resolvconf` programs that record how they were called, and a socket
//! standing in for resolved. The host's own DNS is never touched.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixListener;

use super::*;

const HOSTS_OWN: &str = "# the system's own\nnameserver 10.255.0.1\n";

struct Sys {
    dir: PathBuf,
    sys: System,
}

impl Sys {
    fn new(name: &str) -> Sys {
        let dir = std::env::temp_dir().join(format!("hotbond-dns-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("bin")).unwrap();
        fs::write(dir.join("resolv.conf"), HOSTS_OWN).unwrap();
        let sys = System {
            resolv_conf: dir.join("resolv.conf"),
            resolved_socket: dir.join("io.systemd.Resolve"),
            records: dir.join("records"),
            programs: Some(dir.join("bin")),
        };
        Sys { dir, sys }
    }

    /// A program that appends its name, its arguments (each in brackets) and, for `-a`,
    /// its stdin to `calls`, then exits with `rc`.
    fn fake(&self, name: &str, rc: u8) {
        let log = self.dir.join("calls");
        let script = format!(
            "#!/bin/sh\n\
             {{ printf %s {name}; for a in \"$@\"; do printf ' [%s]' \"$a\"; done; echo; }} >> {log}\n\
             if [ \"$1\" = -a ]; then cat >> {log}; fi\n\
             exit {rc}\n",
            log = log.display()
        );
        let p = self.dir.join("bin").join(name);
        fs::write(&p, script).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// What the fake programs were called with since the last look.
    fn calls(&self) -> String {
        let p = self.dir.join("calls");
        let text = fs::read_to_string(&p).unwrap_or_default();
        let _ = fs::remove_file(&p);
        text
    }

    fn resolv_conf(&self) -> Option<String> {
        fs::read_to_string(&self.sys.resolv_conf).ok()
    }

    fn recorded(&self) -> bool {
        self.sys.record_path(&bond()).exists()
    }
}

impl Drop for Sys {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn bond() -> IfName {
    IfName::new("bond0").unwrap()
}

fn ips(v: &[&str]) -> Vec<IpAddr> {
    v.iter().map(|s| s.parse().unwrap()).collect()
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn resolved_gets_the_servers_and_domains_on_the_bonds_link() {
    let s = Sys::new("resolved");
    s.fake("resolvectl", 0);
    // resolved's own resolvconf compatibility link: resolvectl is still the one used.
    std::os::unix::fs::symlink("resolvectl", s.dir.join("bin/resolvconf")).unwrap();
    let _resolved = UnixListener::bind(&s.sys.resolved_socket).unwrap();

    let servers = ips(&["192.0.2.53", "0.0.0.0", "2001:db8::53"]);
    let domains = strs(&["example.org", "x\ny"]);
    apply_on(&s.sys, &bond(), &servers, &domains).unwrap();
    assert_eq!(
        s.calls(),
        "resolvectl [dns] [bond0] [192.0.2.53] [2001:db8::53]\n\
         resolvectl [domain] [bond0] [example.org]\n"
    );
    // A renewal without domains clears the old ones.
    apply_on(&s.sys, &bond(), &ips(&["192.0.2.54"]), &[]).unwrap();
    assert_eq!(
        s.calls(),
        "resolvectl [dns] [bond0] [192.0.2.54]\nresolvectl [domain] [bond0] []\n"
    );
    revert_on(&s.sys, &bond()).unwrap();
    assert_eq!(s.calls(), "resolvectl [revert] [bond0]\n");
    revert_on(&s.sys, &bond()).unwrap();
    assert_eq!(s.calls(), "", "nothing left to revert");
    assert_eq!(s.resolv_conf().as_deref(), Some(HOSTS_OWN));
}

#[test]
fn resolvconf_gets_a_fragment_for_the_bond() {
    let s = Sys::new("resolvconf");
    s.fake("resolvconf", 0);
    // resolvectl installed but resolved not running: its socket file is left, nobody listens.
    s.fake("resolvectl", 0);
    drop(UnixListener::bind(&s.sys.resolved_socket).unwrap());

    let servers = ips(&["192.0.2.53"]);
    apply_on(&s.sys, &bond(), &servers, &strs(&["example.org."])).unwrap();
    assert_eq!(
        s.calls(),
        "resolvconf [-a] [bond0.dhcp]\nsearch example.org\nnameserver 192.0.2.53\n"
    );
    assert_eq!(s.resolv_conf().as_deref(), Some(HOSTS_OWN));
    revert_on(&s.sys, &bond()).unwrap();
    assert_eq!(s.calls(), "resolvconf [-d] [bond0.dhcp]\n");
    revert_on(&s.sys, &bond()).unwrap();
    assert_eq!(s.calls(), "");
}

#[test]
fn a_failing_revert_is_reported_once() {
    let s = Sys::new("failing");
    s.fake("resolvconf", 0);
    apply_on(&s.sys, &bond(), &ips(&["192.0.2.53"]), &[]).unwrap();
    s.fake("resolvconf", 1);
    let e = revert_on(&s.sys, &bond()).unwrap_err();
    assert!(format!("{e:#}").contains("bond0: dns: revert"), "{e:#}");
    assert!(!s.recorded());
    revert_on(&s.sys, &bond()).unwrap();
}

#[test]
fn the_file_is_written_and_the_systems_own_comes_back() {
    let s = Sys::new("file");
    let servers = ips(&["192.0.2.53", "192.0.2.54"]);
    apply_on(&s.sys, &bond(), &servers, &strs(&["example.org"])).unwrap();
    let ours = s.resolv_conf().unwrap();
    assert!(
        ours.ends_with("search example.org\nnameserver 192.0.2.53\nnameserver 192.0.2.54\n"),
        "{ours}"
    );
    let mode = fs::metadata(&s.sys.resolv_conf)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o644);
    let record = fs::metadata(s.sys.record_path(&bond())).unwrap();
    assert_eq!(record.permissions().mode() & 0o777, 0o600);
    // A new lease over our own file, then release: the system's file, not the first lease's.
    apply_on(&s.sys, &bond(), &ips(&["192.0.2.99"]), &[]).unwrap();
    assert!(s
        .resolv_conf()
        .unwrap()
        .ends_with("\nnameserver 192.0.2.99\n"));
    revert_on(&s.sys, &bond()).unwrap();
    assert_eq!(s.resolv_conf().as_deref(), Some(HOSTS_OWN));
    assert!(!s.recorded());
    revert_on(&s.sys, &bond()).unwrap();
    assert_eq!(s.resolv_conf().as_deref(), Some(HOSTS_OWN));
    assert_eq!(
        fs::read_dir(&s.dir).unwrap().count(),
        3,
        "no temporary left"
    );
}

#[test]
fn a_file_someone_else_changed_is_left_alone() {
    let s = Sys::new("edited");
    apply_on(&s.sys, &bond(), &ips(&["192.0.2.53"]), &[]).unwrap();
    fs::write(&s.sys.resolv_conf, "# the admin's\n").unwrap();
    revert_on(&s.sys, &bond()).unwrap();
    assert_eq!(s.resolv_conf().as_deref(), Some("# the admin's\n"));
}

#[test]
fn no_file_before_means_no_file_after() {
    let s = Sys::new("nofile");
    fs::remove_file(&s.sys.resolv_conf).unwrap();
    apply_on(&s.sys, &bond(), &ips(&["192.0.2.53"]), &[]).unwrap();
    assert!(s.resolv_conf().is_some());
    revert_on(&s.sys, &bond()).unwrap();
    assert_eq!(s.resolv_conf(), None);
}

#[test]
fn a_linked_resolv_conf_is_not_replaced() {
    let s = Sys::new("link");
    let target = s.dir.join("stub-resolv.conf");
    fs::write(&target, "nameserver 127.0.0.53\n").unwrap();
    fs::remove_file(&s.sys.resolv_conf).unwrap();
    std::os::unix::fs::symlink(&target, &s.sys.resolv_conf).unwrap();
    apply_on(&s.sys, &bond(), &ips(&["192.0.2.53"]), &[]).unwrap();
    let meta = fs::symlink_metadata(&s.sys.resolv_conf).unwrap();
    assert!(meta.file_type().is_symlink());
    assert_eq!(
        fs::read_to_string(&target).unwrap(),
        "nameserver 127.0.0.53\n"
    );
    assert!(!s.recorded());
    revert_on(&s.sys, &bond()).unwrap();
}

#[test]
fn a_lease_without_a_usable_server_takes_the_old_one_back() {
    let s = Sys::new("noserver");
    apply_on(&s.sys, &bond(), &ips(&["192.0.2.53"]), &[]).unwrap();
    apply_on(
        &s.sys,
        &bond(),
        &ips(&["127.0.0.1"]),
        &strs(&["example.org"]),
    )
    .unwrap();
    assert_eq!(s.resolv_conf().as_deref(), Some(HOSTS_OWN));
    assert!(!s.recorded());
}

#[test]
fn when_resolved_starts_the_file_is_given_back_first() {
    let s = Sys::new("handover");
    s.fake("resolvectl", 0);
    apply_on(&s.sys, &bond(), &ips(&["192.0.2.53"]), &[]).unwrap();
    assert!(s.resolv_conf().unwrap().contains("192.0.2.53"));
    let _resolved = UnixListener::bind(&s.sys.resolved_socket).unwrap();
    apply_on(&s.sys, &bond(), &ips(&["192.0.2.53"]), &[]).unwrap();
    assert_eq!(s.resolv_conf().as_deref(), Some(HOSTS_OWN));
    assert_eq!(
        s.calls(),
        "resolvectl [dns] [bond0] [192.0.2.53]\nresolvectl [domain] [bond0] []\n"
    );
    revert_on(&s.sys, &bond()).unwrap();
    assert_eq!(s.calls(), "resolvectl [revert] [bond0]\n");
}
