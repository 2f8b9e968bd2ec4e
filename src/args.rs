//! The binaries' invocation as text. The kernel hands over bytes; `std::env::args()` panics on
//! bytes that are not UTF-8 (an abort, with `panic = "abort"`), so they are refused here with
//! one line instead.

use std::ffi::OsString;

use anyhow::{anyhow, Result};

use crate::net::ifname::shown;

/// Exit status for an invocation that cannot be read (as for a usage error).
pub const BAD_INVOCATION: u8 = 2;

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
}
