//! The one request hotbond makes of systemd on its own: start a unit, as `systemctl
//! --no-block start` does, but over systemd's private D-Bus socket instead of by running
//! systemctl. The hooks ask for the bond's job this way: under emulation a systemctl run
//! costs hundreds of milliseconds before systemd even sees the request, and the job's start
//! is on the path to the first DHCP packet. Split in two ([`StartUnit::send`],
//! [`StartUnit::accepted`]) so that the caller works while systemd queues the start.
//!
//! The private socket speaks D-Bus peer to peer (no bus daemon, no Hello) and only to root;
//! the message format is the D-Bus specification's, little-endian.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context, Result};

const PRIVATE: &str = "/run/systemd/private";
/// systemd answers in milliseconds; a caller that hears nothing for this long asks by
/// systemctl instead (which waits up to 25 s), rather than hold up a hook.
const TIMEOUT: Duration = Duration::from_secs(5);
const METHOD_CALL: u8 = 1;
const METHOD_RETURN: u8 = 2;
const ERROR: u8 = 3;

/// A StartUnit call sent and not yet answered.
pub struct StartUnit {
    unit: String,
    conn: BufReader<UnixStream>,
}

impl StartUnit {
    /// Connects, authenticates as this process' user and sends StartUnit(`unit`,
    /// "replace"). An error means nothing was asked: the caller can fall back to systemctl.
    pub fn send(unit: &str) -> Result<StartUnit> {
        Self::send_to(Path::new(PRIVATE), unit)
    }

    fn send_to(socket: &Path, unit: &str) -> Result<StartUnit> {
        let stream = UnixStream::connect(socket)
            .with_context(|| format!("cannot connect to {}", socket.display()))?;
        stream.set_read_timeout(Some(TIMEOUT))?;
        stream.set_write_timeout(Some(TIMEOUT))?;
        let mut conn = BufReader::new(stream);
        let uid = nix::unistd::getuid().as_raw().to_string();
        let hex: String = uid.bytes().map(|b| format!("{b:02x}")).collect();
        // BEGIN with AUTH, as sd-bus's own clients send them, and the call only once the
        // answer is in: systemd reads the call only when new data wakes it, so a call that
        // arrived in the same read as BEGIN would wait, unread, until the connection closes.
        conn.get_mut()
            .write_all(format!("\0AUTH EXTERNAL {hex}\r\nBEGIN\r\n").as_bytes())?;
        let mut line = String::new();
        conn.read_line(&mut line)
            .context("no answer to the D-Bus authentication")?;
        if !line.starts_with("OK ") {
            bail!("D-Bus authentication refused: {}", line.trim_end());
        }
        conn.get_mut()
            .write_all(&start_unit_call(unit, 1))
            .context("cannot send StartUnit")?;
        Ok(StartUnit {
            unit: unit.to_string(),
            conn,
        })
    }

    /// Waits for systemd's answer: Ok once it has queued the start.
    pub fn accepted(mut self) -> Result<()> {
        loop {
            let (kind, reply_to, body) = read_message(&mut self.conn)
                .with_context(|| format!("no answer from systemd to starting {}", self.unit))?;
            match (kind, reply_to) {
                (METHOD_RETURN, Some(1)) => return Ok(()),
                (ERROR, Some(1)) => bail!(
                    "systemd refused to start {}: {}",
                    self.unit,
                    first_string(&body).unwrap_or_default()
                ),
                // Anything else (a signal) is not the answer.
                _ => continue,
            }
        }
    }
}

/// Appends zero bytes until `buf`'s length is a multiple of `to`.
fn pad(buf: &mut Vec<u8>, to: usize) {
    while buf.len() % to != 0 {
        buf.push(0);
    }
}

/// A D-Bus STRING or OBJECT_PATH: aligned to 4, length, bytes, NUL.
fn put_str(buf: &mut Vec<u8>, s: &str) {
    pad(buf, 4);
    buf.extend((s.len() as u32).to_le_bytes());
    buf.extend(s.as_bytes());
    buf.push(0);
}

/// One header field: a STRUCT (aligned to 8) of its code and a VARIANT of `sig`.
fn put_field(buf: &mut Vec<u8>, code: u8, sig: &str, value: &str) {
    pad(buf, 8);
    buf.push(code);
    buf.push(sig.len() as u8);
    buf.extend(sig.as_bytes());
    buf.push(0);
    if sig == "g" {
        buf.push(value.len() as u8);
        buf.extend(value.as_bytes());
        buf.push(0);
    } else {
        put_str(buf, value);
    }
}

/// The method call `org.freedesktop.systemd1.Manager.StartUnit(unit, "replace")`.
fn start_unit_call(unit: &str, serial: u32) -> Vec<u8> {
    let mut body = Vec::new();
    put_str(&mut body, unit);
    put_str(&mut body, "replace");
    let mut fields = Vec::new();
    put_field(&mut fields, 1, "o", "/org/freedesktop/systemd1");
    put_field(&mut fields, 2, "s", "org.freedesktop.systemd1.Manager");
    put_field(&mut fields, 3, "s", "StartUnit");
    put_field(&mut fields, 6, "s", "org.freedesktop.systemd1");
    put_field(&mut fields, 8, "g", "ss");
    let mut msg = vec![b'l', METHOD_CALL, 0, 1];
    msg.extend((body.len() as u32).to_le_bytes());
    msg.extend(serial.to_le_bytes());
    msg.extend((fields.len() as u32).to_le_bytes());
    // The fields' array starts at 16, a multiple of 8, so their alignment holds as built.
    msg.extend(fields);
    pad(&mut msg, 8);
    msg.extend(body);
    msg
}

fn u32_at(b: &[u8], at: usize, little: bool) -> Option<u32> {
    let a: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
    Some(if little {
        u32::from_le_bytes(a)
    } else {
        u32::from_be_bytes(a)
    })
}

/// Reads one message: its type, the serial it replies to (header field 5) and its body.
fn read_message(r: &mut impl Read) -> Result<(u8, Option<u32>, Vec<u8>)> {
    let mut fixed = [0u8; 16];
    r.read_exact(&mut fixed)?;
    let little = match fixed[0] {
        b'l' => true,
        b'B' => false,
        e => bail!("not a D-Bus message (endianness {e:#x})"),
    };
    let body_len = u32_at(&fixed, 4, little).unwrap_or(0) as usize;
    let fields_len = u32_at(&fixed, 12, little).unwrap_or(0) as usize;
    if body_len > 1 << 20 || fields_len > 1 << 20 {
        bail!("D-Bus message too large");
    }
    let padded = fields_len.div_ceil(8) * 8;
    let mut rest = vec![0u8; padded + body_len];
    r.read_exact(&mut rest)?;
    let reply_to = reply_serial(&rest[..fields_len], little);
    Ok((fixed[1], reply_to, rest.split_off(padded)))
}

/// Header field 5 (REPLY_SERIAL, a UINT32) of a message's fields. Offsets in `fields` are
/// relative to 16, a multiple of 8, so alignment can be computed on them directly.
fn reply_serial(fields: &[u8], little: bool) -> Option<u32> {
    let mut at = 0;
    while at < fields.len() {
        at = at.div_ceil(8) * 8;
        let code = *fields.get(at)?;
        let sig_len = *fields.get(at + 1)? as usize;
        let sig = fields.get(at + 2..at + 2 + sig_len)?;
        let mut v = at + 2 + sig_len + 1;
        match sig {
            b"u" => {
                v = v.div_ceil(4) * 4;
                if code == 5 {
                    return u32_at(fields, v, little);
                }
                at = v + 4;
            }
            b"s" | b"o" => {
                v = v.div_ceil(4) * 4;
                at = v + 4 + u32_at(fields, v, little)? as usize + 1;
            }
            b"g" => at = v + 1 + *fields.get(v)? as usize + 1,
            _ => return None,
        }
    }
    None
}

/// An error reply's message: its body's first STRING.
fn first_string(body: &[u8]) -> Option<String> {
    let len = u32_at(body, 0, true)? as usize;
    Some(String::from_utf8_lossy(body.get(4..4 + len)?).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixListener;

    #[test]
    fn the_call_is_the_message_sd_bus_sends() {
        let m = start_unit_call("hotbond-settle@bond0.service", 1);
        // Fixed header: little-endian method call, version 1, serial 1.
        assert_eq!(&m[..4], &[b'l', 1, 0, 1]);
        let body_len = u32::from_le_bytes(m[4..8].try_into().unwrap()) as usize;
        let fields_len = u32::from_le_bytes(m[12..16].try_into().unwrap()) as usize;
        let body_at = (16 + fields_len).div_ceil(8) * 8;
        assert_eq!(m.len(), body_at + body_len);
        let body = &m[body_at..];
        assert_eq!(
            first_string(body).as_deref(),
            Some("hotbond-settle@bond0.service")
        );
        // The second argument, aligned to 4 after the first's NUL.
        let second = (4 + 28 + 1usize).div_ceil(4) * 4;
        assert_eq!(first_string(&body[second..]).as_deref(), Some("replace"));
        let fields = &m[16..16 + fields_len];
        for want in [
            &b"/org/freedesktop/systemd1\0"[..],
            b"org.freedesktop.systemd1.Manager\0",
            b"StartUnit\0",
            b"\x02ss\0",
        ] {
            assert!(fields.windows(want.len()).any(|w| w == want), "{want:?}");
        }
    }

    /// A reply as systemd sends it: REPLY_SERIAL (5, u) after other fields.
    fn reply(kind: u8, to: u32, body: &[u8]) -> Vec<u8> {
        let mut fields = Vec::new();
        put_field(&mut fields, 6, "s", ":1.7");
        pad(&mut fields, 8);
        fields.extend([5, 1, b'u', 0]);
        fields.extend(to.to_le_bytes());
        put_field(&mut fields, 8, "g", "o");
        let mut m = vec![b'l', kind, 1, 1];
        m.extend((body.len() as u32).to_le_bytes());
        m.extend(9u32.to_le_bytes());
        m.extend((fields.len() as u32).to_le_bytes());
        m.extend(fields);
        pad(&mut m, 8);
        m.extend(body);
        m
    }

    fn socket_path(tag: &str) -> std::path::PathBuf {
        let p = std::env::temp_dir().join(format!("hotbond-bus-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_file(&p);
        p
    }

    fn fake_systemd(path: &Path, answers: Vec<Vec<u8>>) -> std::thread::JoinHandle<Vec<u8>> {
        let listener = UnixListener::bind(path).unwrap();
        std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut auth = Vec::new();
            r.read_until(b'\n', &mut auth).unwrap();
            assert!(auth.starts_with(b"\0AUTH EXTERNAL "), "{auth:?}");
            let mut begin = Vec::new();
            r.read_until(b'\n', &mut begin).unwrap();
            assert_eq!(begin, b"BEGIN\r\n");
            s.write_all(b"OK 0123456789abcdef\r\n").unwrap();
            let (kind, _, body) = read_message(&mut r).unwrap();
            assert_eq!(kind, METHOD_CALL);
            for a in answers {
                s.write_all(&a).unwrap();
            }
            body
        })
    }

    #[test]
    fn a_start_is_accepted_by_the_reply_to_it() {
        let mut path_body = Vec::new();
        put_str(&mut path_body, "/org/freedesktop/systemd1/job/42");
        // A signal first (not the answer), then the reply.
        let path = socket_path("ok");
        let t = fake_systemd(
            &path,
            vec![reply(4, 0, &[]), reply(METHOD_RETURN, 1, &path_body)],
        );
        let call = StartUnit::send_to(&path, "x@bond0.service").unwrap();
        call.accepted().unwrap();
        assert_eq!(
            first_string(&t.join().unwrap()).as_deref(),
            Some("x@bond0.service")
        );
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn a_refusal_says_why() {
        let mut msg = Vec::new();
        put_str(&mut msg, "Unit x@bond0.service not found.");
        let path = socket_path("refused");
        let t = fake_systemd(&path, vec![reply(ERROR, 1, &msg)]);
        let call = StartUnit::send_to(&path, "x@bond0.service").unwrap();
        let e = call.accepted().unwrap_err();
        assert!(format!("{e:#}").contains("not found"), "{e:#}");
        t.join().unwrap();
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn no_socket_is_an_error_to_fall_back_on() {
        assert!(StartUnit::send_to(&socket_path("none"), "x.service").is_err());
    }
}
