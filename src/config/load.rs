//! Finding and reading the configuration: which file is used, and the
//! trust checks on it before a byte is parsed.

use std::ffi::OsString;
use std::fs::OpenOptions;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::pos::Src;
use super::{Config, CONFIG_VAR, ENV_FILE_VAR, INSECURE_VAR};

/// A configuration is a few hundred bytes; refuse anything absurd rather
/// than reading a runaway file into memory as root (every hook loads it).
const MAX_CONFIG_BYTES: u64 = 1 << 20;
const MAX_CONFIG_SHOWN: &str = "1 MiB";

pub(super) fn insecure_ok() -> bool {
    std::env::var_os(INSECURE_VAR).is_some_and(|v| v == "1")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Format {
    Toml,
    Env,
}

/// `Config::load` with its inputs explicit, so tests need not touch the
/// process environment (shared by all test threads).
pub(super) fn load_with(
    var: &dyn Fn(&str) -> Option<OsString>,
    default_path: &Path,
    default_env: &Path,
    insecure_ok: bool,
) -> Result<Config> {
    let set = |k: &str| var(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(path) = set(CONFIG_VAR) {
        return load_file(&path, None, insecure_ok);
    }
    if exists(default_path)? {
        return load_file(default_path, Some(Format::Toml), insecure_ok);
    }
    let env_path = set(ENV_FILE_VAR).unwrap_or_else(|| default_env.to_path_buf());
    if exists(&env_path)? {
        return load_file(&env_path, Some(Format::Env), insecure_ok);
    }
    Err(NoConfig(default_path.to_path_buf()).into())
}

/// No configuration file exists at all: hotbond is installed but not enabled. The udev
/// hook then leaves every interface alone without an error; the commands still fail.
#[derive(Debug)]
pub struct NoConfig(pub PathBuf);

impl std::fmt::Display for NoConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "no configuration: create {}", self.0.display())
    }
}

impl std::error::Error for NoConfig {}

/// Like Path::exists, but a permission error is an error, not "absent":
/// silently falling through to another source would be a surprise.
fn exists(path: &Path) -> Result<bool> {
    path.try_exists()
        .with_context(|| format!("{}: cannot check whether it exists", path.display()))
}

pub(super) fn load_file(path: &Path, format: Option<Format>, insecure_ok: bool) -> Result<Config> {
    let text = read_trusted(path, insecure_ok)?;
    let format = format.unwrap_or_else(|| guess_format(path, &text));
    match format {
        Format::Toml => super::toml::parse(&text, path),
        Format::Env => super::envfile::parse(&text, path),
    }
}

fn guess_format(path: &Path, text: &str) -> Format {
    if path.extension().is_some_and(|e| e == "toml") {
        return Format::Toml;
    }
    // An env file never has a line starting with '[': a TOML config under
    // another name (HOTBOND_CONFIG=/tmp/x.conf) always has [[bond]].
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with(';'));
    match first {
        Some(l) if l.starts_with('[') => Format::Toml,
        _ => Format::Env,
    }
}

/// Why a file or directory that anybody but root could change is not to
/// be trusted, or None. Root (hotbond runs as root) trusts only itself.
fn untrusted(meta: &std::fs::Metadata) -> Option<String> {
    if meta.uid() != 0 {
        return Some(format!(
            "owned by uid {} (it must be owned by root; {INSECURE_VAR}=1 allows it, for tests only)",
            meta.uid()
        ));
    }
    if meta.mode() & 0o022 != 0 {
        return Some(format!(
            "that is group- or world-writable (mode {:o}): run chmod go-w on it",
            meta.mode() & 0o7777
        ));
    }
    None
}

/// Every directory from / down to the file, along the path as given and
/// along the one its symlinks lead to, must be as trusted as the file:
/// whoever can write one of them can put another file (or a symlink to
/// any file) in its place.
fn trusted_dirs(path: &Path) -> Result<()> {
    let shown = path.display();
    let given = std::path::absolute(path).with_context(|| format!("{shown}: cannot resolve"))?;
    let real = std::fs::canonicalize(path).with_context(|| format!("{shown}: cannot resolve"))?;
    for dir in given.ancestors().skip(1).chain(real.ancestors().skip(1)) {
        let meta = std::fs::metadata(dir)
            .with_context(|| format!("{shown}: cannot stat {}", dir.display()))?;
        if let Some(why) = untrusted(&meta) {
            bail!(
                "{shown}: refusing a configuration in {}, a directory {why}",
                dir.display()
            );
        }
    }
    Ok(())
}

/// Reads a config file, refusing one that a non-root user could have
/// written (unless `insecure_ok`). The checks use fstat on the opened file,
/// so a swap between check and read cannot slip another file in.
fn read_trusted(path: &Path, insecure_ok: bool) -> Result<String> {
    let shown = path.display();
    let file = OpenOptions::new()
        .read(true)
        // A FIFO would block the (udev-run) binary forever on open.
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .with_context(|| format!("{shown}: cannot open"))?;
    let meta = file
        .metadata()
        .with_context(|| format!("{shown}: cannot stat"))?;
    if !meta.is_file() {
        bail!("{shown}: not a regular file");
    }
    if !insecure_ok {
        if let Some(why) = untrusted(&meta) {
            bail!("{shown}: refusing a configuration {why}");
        }
        trusted_dirs(path)?;
    }
    if meta.len() > MAX_CONFIG_BYTES {
        bail!(
            "{shown}: refusing a configuration of {} bytes: the limit is {MAX_CONFIG_SHOWN}",
            meta.len()
        );
    }
    let mut bytes = Vec::new();
    file.take(MAX_CONFIG_BYTES + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("{shown}: cannot read"))?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        bail!("{shown}: refusing a configuration larger than {MAX_CONFIG_SHOWN}");
    }
    String::from_utf8(bytes).map_err(|e| {
        // Where the first bad byte is: the text before it is valid.
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let valid = std::str::from_utf8(valid).unwrap_or_default();
        Src::new(valid, path).err(valid.len()..valid.len(), "not valid UTF-8")
    })
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::CLASSIC_NETWORK_CONF;
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A fresh directory under the system temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new() -> TempDir {
            TempDir::new_in(&std::env::temp_dir())
        }

        fn new_in(base: &Path) -> TempDir {
            static N: AtomicUsize = AtomicUsize::new(0);
            let p = base.join(format!(
                "hotbond-config-test-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::create_dir_all(&p).unwrap();
            TempDir(p)
        }

        fn write(&self, name: &str, text: &str, mode: u32) -> PathBuf {
            use std::os::unix::fs::PermissionsExt;
            let p = self.0.join(name);
            std::fs::write(&p, text).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
            p
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    const MINI: &str = "[[bond]]\nname = \"bond7\"\n[[bond.slave]]\nany = true\n";

    #[test]
    fn refuses_writable_or_foreign_files() {
        let d = TempDir::new();
        let p = d.write("hotbond.toml", MINI, 0o666);
        let e = load_file(&p, None, false).unwrap_err().to_string();
        assert!(e.contains("refusing"), "{e}");
        assert!(e.starts_with(&p.display().to_string()), "{e}");
        // The test-only escape hatch lets it through.
        assert_eq!(load_file(&p, None, true).unwrap().bonds[0].name, "bond7");
        let p = d.write("group.toml", MINI, 0o620);
        assert!(load_file(&p, None, false)
            .unwrap_err()
            .to_string()
            .contains("refusing"));
        // A root-owned 0644 file is fine (only checkable when we are root),
        // in a directory only root can write to.
        let safe = TempDir::new_in(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/target")));
        let p = safe.write("ok.toml", MINI, 0o644);
        if nix::unistd::geteuid().is_root() && trusted_dirs(&p).is_ok() {
            assert!(load_file(&p, None, false).is_ok());
        } else if !nix::unistd::geteuid().is_root() {
            let e = load_file(&p, None, false).unwrap_err().to_string();
            assert!(e.contains("owned by uid"), "{e}");
        }
        // Bytes that are no text, with the position of the first bad one.
        let p = d.0.join("latin1.toml");
        std::fs::write(&p, b"# caf\xe9\n").unwrap();
        let e = load_file(&p, None, true).unwrap_err().to_string();
        assert_eq!(e, format!("{}:1:6: not valid UTF-8", p.display()));
        // Not a regular file.
        let e = load_file(&d.0, None, true).unwrap_err().to_string();
        assert!(e.contains("not a regular file"), "{e}");
    }

    /// The file is only as safe as the directories above it: in a directory
    /// others can write to, it (or a symlink to any file) could be swapped.
    #[test]
    fn refuses_a_file_under_a_writable_directory() {
        use std::os::unix::fs::PermissionsExt;
        let safe = TempDir::new_in(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/target")));
        let p = safe.write("ok.toml", MINI, 0o644);
        let open = safe.0.join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        let in_open = open.join("x.toml");
        std::fs::write(&in_open, MINI).unwrap();
        let link = open.join("link.toml");
        std::os::unix::fs::symlink(&p, &link).unwrap();
        for f in [&in_open, &link] {
            let e = load_file(f, None, false).unwrap_err().to_string();
            let why = if nix::unistd::geteuid().is_root() {
                format!(
                    "refusing a configuration in {}, a directory that is group- or world-writable (mode 777)",
                    open.display()
                )
            } else {
                "refusing".to_string()
            };
            assert!(e.contains(&why), "{e}");
            // The test-only escape hatch covers the directories too.
            assert_eq!(load_file(f, None, true).unwrap().bonds[0].name, "bond7");
        }
        // And a symlink to a file under a writable directory.
        let to_open = safe.0.join("to-open.toml");
        std::os::unix::fs::symlink(&in_open, &to_open).unwrap();
        let e = load_file(&to_open, None, false).unwrap_err().to_string();
        assert!(e.contains("refusing"), "{e}");
    }

    /// An error quotes at most a short, escaped excerpt of a line: a file
    /// that is no configuration (say, reached through a symlink) is not
    /// copied into logs.
    #[test]
    fn errors_quote_only_a_short_excerpt() {
        let secret = "root:$6$abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGH:19000:0:99999:7:::";
        let d = TempDir::new();
        let p = d.write("shadow", &format!("{secret}\n"), 0o644);
        let e = load_file(&p, Some(Format::Env), true)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            format!(
                "{}:1:1: expected KEY=VALUE, found \"{}...\"",
                p.display(),
                &secret[..40]
            )
        );
        let p = d.write(
            "x.conf",
            &format!("bond0PRIMARY='{secret}\x1b[2J'\n"),
            0o644,
        );
        let e = load_file(&p, None, true).unwrap_err().to_string();
        assert!(!e.contains(&secret[..41]) && e.contains("..."), "{e}");
        let p = d.write(
            "ctl.conf",
            "bond0ADDRS='1\x1b[2J'\nbond0PRIMARY=eth0\n",
            0o644,
        );
        let e = load_file(&p, None, true).unwrap_err().to_string();
        assert!(e.contains(r#""1\x1b[2J""#) && !e.contains('\x1b'), "{e}");
    }

    #[test]
    fn refuses_more_than_a_mebibyte() {
        let d = TempDir::new();
        let big = format!("{MINI}{}", "#".repeat(1 << 20));
        let p = d.write("big.toml", &big, 0o644);
        let e = load_file(&p, None, true).unwrap_err().to_string();
        assert_eq!(
            e,
            format!(
                "{}: refusing a configuration of {} bytes: the limit is 1 MiB",
                p.display(),
                big.len()
            )
        );
    }

    #[test]
    fn load_path_picks_the_format() {
        let d = TempDir::new();
        let p = d.write("x.toml", MINI, 0o644);
        assert_eq!(load_file(&p, None, true).unwrap().bonds[0].name, "bond7");
        // TOML under another name is recognised by its [[bond]] header.
        let p = d.write("x.conf", &format!("# comment\n\n{MINI}"), 0o644);
        assert_eq!(load_file(&p, None, true).unwrap().bonds[0].name, "bond7");
        let p = d.write("network.conf", CLASSIC_NETWORK_CONF, 0o644);
        let c = load_file(&p, None, true).unwrap();
        assert_eq!(c.bonds[0].name, "bond0");
        assert_eq!(c.source, p);
        // Errors name the real file.
        let p = d.write("bad.toml", "[[bond]]\nname = 1\n", 0o644);
        let e = load_file(&p, None, true).unwrap_err().to_string();
        assert_eq!(
            e,
            format!(
                "{}:2:8: invalid type: integer `1`, expected a string",
                p.display()
            )
        );
    }

    #[test]
    fn load_order() {
        let d = TempDir::new();
        let toml_path = d.0.join("hotbond.toml");
        let env_path = d.0.join("network.conf");
        let none = |_: &str| None;

        let e = load_with(&none, &toml_path, &env_path, true).unwrap_err();
        assert!(e.downcast_ref::<NoConfig>().is_some());
        assert_eq!(
            e.to_string(),
            format!("no configuration: create {}", toml_path.display())
        );

        d.write("network.conf", CLASSIC_NETWORK_CONF, 0o644);
        let c = load_with(&none, &toml_path, &env_path, true).unwrap();
        assert_eq!(c.source, env_path);

        let other_env = d.write("other.env", "bond3PRIMARY=eth0\n", 0o644);
        let vars = |k: &str| (k == ENV_FILE_VAR).then(|| other_env.clone().into_os_string());
        assert_eq!(
            load_with(&vars, &toml_path, &env_path, true).unwrap().bonds[0].name,
            "bond3"
        );

        d.write("hotbond.toml", MINI, 0o644);
        let c = load_with(&none, &toml_path, &env_path, true).unwrap();
        assert_eq!(c.source, toml_path);

        let explicit = d.write("explicit.toml", &MINI.replace("bond7", "bond9"), 0o644);
        let vars = |k: &str| (k == CONFIG_VAR).then(|| explicit.clone().into_os_string());
        assert_eq!(
            load_with(&vars, &toml_path, &env_path, true).unwrap().bonds[0].name,
            "bond9"
        );
        // HOTBOND_CONFIG naming a missing file is an error, not a fallback.
        let missing = d.0.join("missing.toml");
        let vars = |k: &str| (k == CONFIG_VAR).then(|| missing.clone().into_os_string());
        assert!(load_with(&vars, &toml_path, &env_path, true).is_err());
        // An empty variable counts as unset.
        let vars = |k: &str| (k == CONFIG_VAR).then(OsString::new);
        assert_eq!(
            load_with(&vars, &toml_path, &env_path, true)
                .unwrap()
                .source,
            toml_path
        );
    }
}
