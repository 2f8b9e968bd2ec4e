//! The binaries' invocation as text. The kernel hands over bytes; `std::env::args()` panics on
//! bytes that are not UTF-8 (an abort, with `panic = "abort"`), so they are refused here with
//! one line instead.

use std::ffi::OsString;

use anyhow::{anyhow, Result};

use crate::net::ifname::shown;

/// Exit status for a bad invocation: unknown option, wrong argument count, unreadable bytes.
pub const BAD_INVOCATION: u8 = 2;

/// A bad invocation: nothing was done, and the exit status is [`BAD_INVOCATION`].
#[derive(Debug)]
pub struct Usage {
    /// What to say: one line, or the usage text.
    pub message: String,
    /// Already printed (clap prints its own usage): only the exit status is left to give.
    pub shown: bool,
}

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Usage {}

/// A bad invocation saying `message` (one line).
pub fn usage(message: impl Into<String>) -> anyhow::Error {
    Usage {
        message: message.into(),
        shown: false,
    }
    .into()
}

/// For the binaries other programs run with a fixed argument shape (udev, wpa_cli, udhcpc,
/// systemd): `-h` or `--help` as the only argument prints `help` and returns true (the
/// caller exits 0). Anything else is theirs to judge: a name that looks like an option is
/// refused as an interface name, the same as on every other entry point.
pub fn help_requested(args: &[String], help: &str) -> bool {
    let asked = matches!(args, [a] if a == "-h" || a == "--help");
    if asked {
        println!("{help}");
    }
    asked
}

/// The arguments as UTF-8 strings, or which one is not.
pub fn utf8(args: impl IntoIterator<Item = OsString>) -> Result<Vec<String>> {
    args.into_iter()
        .enumerate()
        .map(|(i, a)| {
            a.into_string().map_err(|a| {
                anyhow!(
                    "argument {} is not valid UTF-8: {}",
                    i + 1,
                    shown(&a.to_string_lossy())
                )
            })
        })
        .collect()
}

/// An environment variable as UTF-8: None when unset, an error saying so when not UTF-8.
pub fn env_var(name: &str) -> Result<Option<String>> {
    match std::env::var_os(name) {
        None => Ok(None),
        Some(v) => v
            .into_string()
            .map(Some)
            .map_err(|v| anyhow!("{name} is not valid UTF-8: {}", shown(&v.to_string_lossy()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStringExt;

    #[test]
    fn non_utf8_arguments_are_named_not_panicked_on() {
        let ok = utf8(["add".into(), "eth0".into()]).unwrap();
        assert_eq!(ok, ["add", "eth0"]);
        let bad = OsString::from_vec(b"et\xffh0".to_vec());
        let e = utf8(["add".into(), bad]).unwrap_err().to_string();
        assert_eq!(e, "argument 2 is not valid UTF-8: \"et\u{fffd}h0\"");
    }

    #[test]
    fn help_only_alone() {
        let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(help_requested(&v(&["--help"]), "usage: prog"));
        assert!(help_requested(&v(&["-h"]), "usage: prog"));
        assert!(!help_requested(&v(&["add", "eth0"]), "usage: prog"));
        assert!(!help_requested(&v(&[]), "usage: prog"));
        // Among other arguments it is an argument like any other (refused as a name).
        assert!(!help_requested(&v(&["add", "--help"]), "usage: prog"));
    }
}
