//! hotbond's own directories and files (under [`paths::run_dir`] and [`paths::state_dir`]):
//! made with the modes hotbond wants whatever the caller's umask, trusted only while they
//! belong to the user hotbond runs as and nobody else may write them, and written without
//! following a link someone planted (a new file beside the target, then a rename).
//!
//! What hotbond reads back from them decides which process it signals and what it
//! configures, so a directory another user could write would let that user steer root.

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{bail, Context, Result};

use crate::paths;

/// Directories `hotbond status` reads as any user: the run directory and its DHCP records.
const PUBLIC_DIR: u32 = 0o755;
/// Everything else (locks, pid files, slave records, lease files) is root's alone.
const PRIVATE_DIR: u32 = 0o700;

/// The mode a directory of hotbond's is made with.
fn dir_mode(p: &Path) -> u32 {
    let run = paths::run_dir();
    if p == run || p == run.join("dhcp") {
        PUBLIC_DIR
    } else {
        PRIVATE_DIR
    }
}

/// The chain of directories from hotbond's root that holds `p` down to `p` itself; just `p`
/// when it is under neither root. The roots' own parents (e.g. /run, or a test's /tmp) are
/// not hotbond's to judge.
fn chain(p: &Path) -> Vec<PathBuf> {
    for root in [paths::run_dir(), paths::state_dir()] {
        if let Ok(rest) = p.strip_prefix(&root) {
            let mut v = vec![root.clone()];
            let mut cur = root;
            for c in rest.components() {
                cur = cur.join(c);
                v.push(cur.clone());
            }
            return v;
        }
    }
    vec![p.to_path_buf()]
}

/// Makes sure `p` (and the directories of hotbond's above it) exist, with hotbond's modes,
/// and may be trusted; a one-line error naming the directory otherwise.
pub fn ensure_dir(p: &Path) -> Result<()> {
    for d in chain(p) {
        match DirBuilder::new().mode(dir_mode(&d)).create(&d) {
            // The umask may have taken bits away from a public directory: give them back.
            Ok(()) => fs::set_permissions(&d, fs::Permissions::from_mode(dir_mode(&d)))
                .with_context(|| format!("cannot set the mode of {}", d.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e).with_context(|| format!("cannot create {}", d.display())),
        }
        check_dir(&d)?;
    }
    Ok(())
}

/// Whether `p` and the directories of hotbond's above it may be trusted (without making
/// anything): a directory, not a link, owned by the user hotbond runs as, and writable by
/// nobody else.
pub fn trusted(p: &Path) -> Result<()> {
    chain(p).iter().try_for_each(|d| check_dir(d))
}

fn check_dir(d: &Path) -> Result<()> {
    let m = fs::symlink_metadata(d).with_context(|| format!("cannot read {}", d.display()))?;
    let me = nix::unistd::geteuid().as_raw();
    if !m.file_type().is_dir() {
        bail!("{} is not a directory: refusing to use it", d.display());
    }
    // Root's directories are also read by `hotbond status` run as another user.
    if m.uid() != me && m.uid() != 0 {
        bail!(
            "{} is owned by uid {}, not {me}: refusing to use it",
            d.display(),
            m.uid()
        );
    }
    if m.mode() & 0o022 != 0 {
        bail!(
            "{} is writable by group or others (mode {:o}): refusing to use it",
            d.display(),
            m.mode() & 0o7777
        );
    }
    Ok(())
}

/// Replaces `path` with `data` (mode `mode`): written to a new file beside it, which cannot
/// be a link (O_EXCL, O_NOFOLLOW), then renamed over it, so that a link planted at either
/// name is replaced, never followed, and a reader sees the old file or the new one whole.
pub fn write_file(path: &Path, data: &[u8], mode: u32) -> Result<()> {
    static N: AtomicU64 = AtomicU64::new(0);
    let dir = path
        .parent()
        .with_context(|| format!("{} has no directory", path.display()))?;
    ensure_dir(dir)?;
    let name = path
        .file_name()
        .with_context(|| format!("{} has no file name", path.display()))?
        .to_string_lossy();
    let n = N.fetch_add(1, Ordering::Relaxed);
    let tmp = dir.join(format!(".{name}.{}.{n}.tmp", std::process::id()));
    let written = OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(libc::O_NOFOLLOW)
        .mode(mode)
        .open(&tmp)
        .and_then(|mut f| f.write_all(data))
        .and_then(|_| fs::rename(&tmp, path));
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written.with_context(|| format!("cannot write {}", path.display()))
}

/// Opens (creating it, mode 0600) a file to lock; a link there is refused, not followed.
pub fn open_lock(path: &Path) -> Result<File> {
    if let Some(d) = path.parent() {
        ensure_dir(d)?;
    }
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .custom_flags(libc::O_NOFOLLOW)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot open lock {}", path.display()))
}

/// The text of one of hotbond's files, if its directory may be trusted and it is a regular
/// file (a link is not followed).
pub fn read_to_string(path: &Path) -> Option<String> {
    trusted(path.parent()?).ok()?;
    let mut f = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .ok()?;
    let mut s = String::new();
    f.read_to_string(&mut s).ok()?;
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("hotbond-statefs-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn a_directory_others_may_write_is_refused() {
        let d = scratch("open");
        ensure_dir(&d).unwrap();
        assert_eq!(fs::metadata(&d).unwrap().mode() & 0o777, 0o700);
        fs::set_permissions(&d, fs::Permissions::from_mode(0o777)).unwrap();
        let e = ensure_dir(&d).unwrap_err().to_string();
        assert!(e.contains("writable by group or others"), "{e}");
        assert_eq!(e.lines().count(), 1);
        assert!(trusted(&d).is_err());
        fs::set_permissions(&d, fs::Permissions::from_mode(0o1777)).unwrap();
        assert!(trusted(&d).is_err(), "sticky is no better");
        fs::set_permissions(&d, fs::Permissions::from_mode(0o755)).unwrap();
        trusted(&d).unwrap();
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_directory_of_another_user_is_refused() {
        if !nix::unistd::geteuid().is_root() {
            return; // only root can give a directory away
        }
        let d = scratch("owner");
        ensure_dir(&d).unwrap();
        nix::unistd::chown(&d, Some(nix::unistd::Uid::from_raw(65534)), None).unwrap();
        let e = ensure_dir(&d).unwrap_err().to_string();
        assert!(e.contains("owned by uid 65534"), "{e}");
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_link_in_place_of_a_directory_is_refused() {
        let d = scratch("link");
        fs::create_dir_all(&d).unwrap();
        let l = d.join("sub");
        std::os::unix::fs::symlink("/tmp", &l).unwrap();
        let e = ensure_dir(&l).unwrap_err().to_string();
        assert!(e.contains("not a directory"), "{e}");
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn writes_replace_links_instead_of_following_them() {
        let d = scratch("write");
        ensure_dir(&d).unwrap();
        let victim = d.join("victim");
        fs::write(&victim, "precious").unwrap();
        let target = d.join("rec.json");
        std::os::unix::fs::symlink(&victim, &target).unwrap();
        write_file(&target, b"new", 0o644).unwrap();
        assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
        assert!(fs::symlink_metadata(&target).unwrap().file_type().is_file());
        assert_eq!(read_to_string(&target).as_deref(), Some("new"));
        // Nothing left beside it.
        assert_eq!(fs::read_dir(&d).unwrap().count(), 2);
        // A lock file that is a link is refused, and its target not created.
        let lock = d.join("x.lock");
        std::os::unix::fs::symlink(d.join("made"), &lock).unwrap();
        assert!(open_lock(&lock).is_err());
        assert!(!d.join("made").exists());
        // Nor is a link read through.
        assert_eq!(read_to_string(&lock), None);
        fs::remove_dir_all(&d).unwrap();
    }
}
