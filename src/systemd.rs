//! A minimal D-Bus client for systemd's private socket, for the three calls the hooks make
//! on every event (start, restart, stop a unit, without waiting for the job). Spawning
//! `systemctl` costs more than the whole rest of a hook; this costs one socket round trip.
//! Anything else (and any failure here) goes through `systemctl`.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};

const PRIVATE: &str = "/run/systemd/private";

/// Calls `org.freedesktop.systemd1.Manager.<method>(unit, "replace")` and waits for the
/// reply (which comes once the job is queued, not done).
pub fn manager_call(method: &str, unit: &str) -> Result<()> {
    let mut s =
        UnixStream::connect(PRIVATE).with_context(|| format!("cannot connect to {PRIVATE}"))?;
    // systemd answers in milliseconds when idle, but not at all while it is busy (a
    // daemon-reload, a burst of device events under emulation). Past this bound the caller
    // falls back to systemctl (a repeated start/restart/stop is harmless).
    let deadline = Instant::now() + Duration::from_secs(10);
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    s.set_write_timeout(Some(Duration::from_secs(10)))?;
    // SASL EXTERNAL: our uid, hex-encoded ASCII digits.
    let uid = nix::unistd::getuid().as_raw().to_string();
    let hex: String = uid.bytes().map(|b| format!("{b:02x}")).collect();
    s.write_all(format!("\0AUTH EXTERNAL {hex}\r\n").as_bytes())?;
    let line = read_line(&mut s).context("no answer from systemd")?;
    if !line.starts_with("OK ") {
        bail!("systemd refused authentication: {line}");
    }
    s.write_all(b"BEGIN\r\n")?;
    s.write_all(&method_call(method, unit))?;
    read_reply(&mut s, deadline)
}

fn read_line(s: &mut UnixStream) -> Result<String> {
    let mut out = Vec::new();
    let mut b = [0u8; 1];
    while !out.ends_with(b"\r\n") {
        if s.read(&mut b)? == 0 {
            bail!("systemd closed the connection");
        }
        out.push(b[0]);
        if out.len() > 512 {
            bail!("systemd sent an overlong line");
        }
    }
    Ok(String::from_utf8_lossy(&out).trim_end().to_string())
}

fn pad(buf: &mut Vec<u8>, align: usize) {
    while buf.len() % align != 0 {
        buf.push(0);
    }
}

fn put_str(buf: &mut Vec<u8>, s: &str) {
    pad(buf, 4);
    buf.extend_from_slice(&(s.len() as u32).to_le_bytes());
    buf.extend_from_slice(s.as_bytes());
    buf.push(0);
}

fn put_sig(buf: &mut Vec<u8>, s: &str) {
    buf.push(s.len() as u8);
    buf.extend_from_slice(s.as_bytes());
    buf.push(0);
}

/// One header field: struct (byte code, variant).
fn put_field(buf: &mut Vec<u8>, code: u8, sig: &str, value: &str) {
    pad(buf, 8);
    buf.push(code);
    put_sig(buf, sig);
    if sig == "g" {
        put_sig(buf, value);
    } else {
        put_str(buf, value);
    }
}

/// A little-endian METHOD_CALL message with body (s unit, s mode).
fn method_call(method: &str, unit: &str) -> Vec<u8> {
    let mut body = Vec::new();
    put_str(&mut body, unit);
    put_str(&mut body, "replace");

    let mut fields = Vec::new();
    put_field(&mut fields, 1, "o", "/org/freedesktop/systemd1");
    put_field(&mut fields, 2, "s", "org.freedesktop.systemd1.Manager");
    put_field(&mut fields, 3, "s", method);
    put_field(&mut fields, 6, "s", "org.freedesktop.systemd1");
    put_field(&mut fields, 8, "g", "ss");

    let mut msg = vec![b'l', 1, 0, 1];
    msg.extend_from_slice(&(body.len() as u32).to_le_bytes());
    msg.extend_from_slice(&1u32.to_le_bytes()); // serial
    msg.extend_from_slice(&(fields.len() as u32).to_le_bytes());
    msg.extend_from_slice(&fields);
    pad(&mut msg, 8);
    msg.extend_from_slice(&body);
    msg
}

fn u32_at(b: &[u8], at: usize) -> Result<u32> {
    b.get(at..at + 4)
        .map(|x| u32::from_le_bytes([x[0], x[1], x[2], x[3]]))
        .ok_or_else(|| anyhow!("short D-Bus message"))
}

/// Reads messages until the reply to our call: METHOD_RETURN is success, ERROR carries
/// systemd's message.
fn read_reply(s: &mut UnixStream, deadline: Instant) -> Result<()> {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            bail!("no reply from systemd in time");
        }
        s.set_read_timeout(Some(left))?;
        let mut fixed = [0u8; 16];
        s.read_exact(&mut fixed).context("no reply from systemd")?;
        if fixed[0] != b'l' {
            bail!("unexpected big-endian D-Bus reply");
        }
        let body_len = u32_at(&fixed, 4)? as usize;
        let fields_len = u32_at(&fixed, 12)? as usize;
        let header_rest = fields_len.div_ceil(8) * 8;
        if body_len > 1 << 20 || fields_len > 1 << 16 {
            bail!("oversized D-Bus reply");
        }
        let mut rest = vec![0u8; header_rest + body_len];
        s.read_exact(&mut rest)?;
        match fixed[1] {
            2 => return Ok(()),
            3 => {
                let body = &rest[header_rest..];
                let msg = u32_at(body, 0)
                    .ok()
                    .and_then(|n| body.get(4..4 + n as usize))
                    .map(|m| String::from_utf8_lossy(m).into_owned())
                    .unwrap_or_else(|| "error".into());
                bail!("{msg}");
            }
            // A signal or anything else: not ours, keep reading.
            _ => continue,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_call_layout() {
        let m = method_call("StartUnit", "hotbond-settle@bond0.service");
        assert_eq!(&m[..4], &[b'l', 1, 0, 1]);
        let body_len = u32_at(&m, 4).unwrap() as usize;
        let fields_len = u32_at(&m, 12).unwrap() as usize;
        let body_at = 16 + fields_len.div_ceil(8) * 8;
        assert_eq!(m.len(), body_at + body_len);
        // The body starts with the unit name as a D-Bus string.
        assert_eq!(
            u32_at(&m, body_at).unwrap() as usize,
            "hotbond-settle@bond0.service".len()
        );
        assert_eq!(&m[body_at + 4..body_at + 4 + 7], b"hotbond");
    }
}
