//! The plain /etc/resolv.conf backend: written whole and atomically, and the file it
//! replaced put back on revert, unless someone changed it since.

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// What hotbond replaced and what it wrote, kept with the bond's DNS record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replaced {
    /// The file before hotbond wrote it; None when there was none.
    pub original: Option<String>,
    pub written: String,
}

/// What to remember before writing `text` over a file that reads `current`, given what
/// was remembered last time: the original survives hotbond's own rewrites (a renewal, a
/// new lease), but a file someone else wrote since becomes the new original.
pub fn replacing(current: Option<String>, before: Option<Replaced>, text: &str) -> Replaced {
    let original = match before {
        Some(b) if current.as_deref() == Some(b.written.as_str()) => b.original,
        _ => current,
    };
    Replaced {
        original,
        written: text.to_owned(),
    }
}

/// The file's text, None when there is none.
pub fn read(path: &Path) -> Result<Option<String>> {
    match fs::read_to_string(path) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Puts the original back if the file is still the one hotbond wrote; returns whether it
/// did.
pub fn restore(path: &Path, r: &Replaced) -> Result<bool> {
    if read(path)?.as_deref() != Some(r.written.as_str()) {
        return Ok(false);
    }
    match &r.original {
        Some(t) => write_atomic(path, t, 0o644)?,
        None => fs::remove_file(path)
            .or_else(|e| match e.kind() {
                ErrorKind::NotFound => Ok(()),
                _ => Err(e),
            })
            .with_context(|| format!("cannot remove {}", path.display()))?,
    }
    Ok(true)
}

/// Replaces `path` with `text`: a new file beside it (so the rename stays on one file
/// system), synced, then renamed over it, so a reader sees the old or the new file, never
/// half of one. A path that is a mount point (`ip netns exec` binds
/// /etc/netns/NS/resolv.conf there) cannot be renamed over: it is rewritten in place.
pub fn write_atomic(path: &Path, text: &str, mode: u32) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .with_context(|| format!("{} names no file", path.display()))?;
    let tmp = dir.join(format!(
        ".{}.hotbond-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let _ = fs::remove_file(&tmp);
    let written = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)
        .and_then(|mut f| {
            // Exactly `mode`, whatever the umask.
            f.set_permissions(fs::Permissions::from_mode(mode))?;
            f.write_all(text.as_bytes())?;
            f.sync_all()
        })
        .with_context(|| format!("cannot write {}", tmp.display()));
    let renamed = written.and_then(|()| {
        fs::rename(&tmp, path).with_context(|| format!("cannot replace {}", path.display()))
    });
    let Err(e) = renamed else { return Ok(()) };
    let _ = fs::remove_file(&tmp);
    let busy = e
        .downcast_ref::<std::io::Error>()
        .is_some_and(|io| io.raw_os_error() == Some(libc::EBUSY));
    if !busy {
        return Err(e);
    }
    fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(original: Option<&str>, written: &str) -> Replaced {
        Replaced {
            original: original.map(str::to_owned),
            written: written.to_owned(),
        }
    }

    #[test]
    fn the_original_survives_our_own_rewrites_only() {
        let sys = Some("nameserver 10.0.0.1\n".to_string());
        // First lease: the file found is the original.
        let first = replacing(sys.clone(), None, "ours 1");
        assert_eq!(first, r(Some("nameserver 10.0.0.1\n"), "ours 1"));
        // Renewal over our own file: still the system's original.
        let second = replacing(Some("ours 1".into()), Some(first.clone()), "ours 2");
        assert_eq!(second, r(Some("nameserver 10.0.0.1\n"), "ours 2"));
        // An admin edited it in between: their file is what comes back.
        let third = replacing(Some("admin".into()), Some(second), "ours 3");
        assert_eq!(third, r(Some("admin"), "ours 3"));
        // No file at all before.
        assert_eq!(replacing(None, None, "ours"), r(None, "ours"));
    }

    #[test]
    fn atomic_write_and_restore_only_our_own_file() {
        let dir = std::env::temp_dir().join(format!("hotbond-dns-file-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let p = dir.join("resolv.conf");
        write_atomic(&p, "ours\n", 0o644).unwrap();
        assert_eq!(read(&p).unwrap().as_deref(), Some("ours\n"));
        let mode = fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644);
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1, "no temporary left");

        // Ours: the original comes back; none: the file goes.
        assert!(restore(&p, &r(Some("theirs\n"), "ours\n")).unwrap());
        assert_eq!(read(&p).unwrap().as_deref(), Some("theirs\n"));
        write_atomic(&p, "ours\n", 0o644).unwrap();
        assert!(restore(&p, &r(None, "ours\n")).unwrap());
        assert_eq!(read(&p).unwrap(), None);
        // Someone else's file now: left as it is.
        fs::write(&p, "edited\n").unwrap();
        assert!(!restore(&p, &r(Some("theirs\n"), "ours\n")).unwrap());
        assert_eq!(read(&p).unwrap().as_deref(), Some("edited\n"));
        fs::remove_dir_all(&dir).unwrap();
    }
}
