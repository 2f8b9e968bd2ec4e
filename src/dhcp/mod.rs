//! DHCP on the bond. The bond's job drives whatever speaks DHCP for it through one
//! interface, [`supervise::Supervisor`]: start, keep, re-acquire after a MAC change without a
//! release, stop. By default that is the built-in client inside the job ([`inproc`] over
//! [`builtin`]); otherwise an external client run in the foreground as the bond job's
//! child ([`external`]), one module per program behind the [`Client`] trait, which says three
//! things of it: how to start it with a stable client identifier and no start-up delay, how
//! to stop it for a restart with a new MAC without unconfiguring the address, and how to
//! release the lease.

pub mod builtin;
mod dhclient;
pub mod dhclient_script;
mod dhcpcd;
pub mod external;
pub mod inproc;
pub mod supervise;
mod udhcpc;
pub mod udhcpc_script;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::config::{Bond, ClientId, DhcpClient};
use crate::process::Identity;

pub use dhclient::Dhclient;
pub use dhcpcd::Dhcpcd;
pub use udhcpc::Udhcpc;

/// What every client is started with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    pub bond: String,
    /// DHCP option 61; None lets the client send its default (its MAC).
    pub client_id: Option<Vec<u8>>,
    pub hostname: Option<String>,
}

pub trait Client {
    fn name(&self) -> &'static str;
    /// The foreground command line (program first). May write the client's own config file.
    fn command(&self, opts: &Options) -> Result<Vec<String>>;
    /// Releases the lease and unconfigures the address; `running` is the client the job
    /// started, checked to be still that process.
    fn release(&self, opts: &Options, running: Option<&Identity>) -> Result<()>;
    /// The signal that stops the client for a restart with a new MAC while leaving the
    /// address on the bond and sending nothing to the server. SIGKILL unless the client can
    /// be told more gently.
    fn restart_signal(&self) -> nix::sys::signal::Signal {
        nix::sys::signal::Signal::SIGKILL
    }
}

/// Finds a program in the usual system directories (the hooks run with a minimal PATH).
pub fn find_program(name: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    for d in [
        "/usr/local/sbin",
        "/usr/local/bin",
        "/usr/sbin",
        "/usr/bin",
        "/sbin",
        "/bin",
    ] {
        dirs.push(PathBuf::from(d));
    }
    dirs.into_iter()
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Whether the bond's job runs the built-in client (`builtin`, and `auto`, which prefers it:
/// it is always there).
pub fn runs_builtin(kind: &DhcpClient) -> bool {
    matches!(kind, DhcpClient::Builtin | DhcpClient::Auto)
}

/// The external client the configuration names; None when no program runs for the bond
/// (`none`, or the built-in client inside the job).
pub fn client_for(kind: &DhcpClient) -> Result<Option<Box<dyn Client>>> {
    let by_name = client_by_name;
    let installed = |n: &str| match n {
        "udhcpc" => udhcpc::program().is_some(),
        _ => find_program(n).is_some(),
    };
    match kind {
        DhcpClient::None | DhcpClient::Builtin | DhcpClient::Auto => Ok(None),
        DhcpClient::Dhclient => named(by_name("dhclient"), installed("dhclient"), "dhclient"),
        DhcpClient::Dhcpcd => named(by_name("dhcpcd"), installed("dhcpcd"), "dhcpcd"),
        DhcpClient::Udhcpc => named(by_name("udhcpc"), installed("udhcpc"), "udhcpc"),
    }
}

fn named(c: Option<Box<dyn Client>>, installed: bool, n: &str) -> Result<Option<Box<dyn Client>>> {
    if !installed {
        bail!("DHCP client {n} is configured but not installed");
    }
    Ok(c)
}

/// The client by the name recorded when it was started.
pub fn client_by_name(n: &str) -> Option<Box<dyn Client>> {
    match n {
        "dhclient" => Some(Box::new(Dhclient)),
        "dhcpcd" => Some(Box::new(Dhcpcd)),
        "udhcpc" => Some(Box::new(Udhcpc)),
        _ => None,
    }
}

pub fn options(bond: &Bond) -> Result<Options> {
    let client_id = match &bond.dhcp.client_id {
        ClientId::Mac => None,
        ClientId::Raw(b) => Some(b.clone()),
        ClientId::Duid => Some(stable_client_id(bond.name.as_str(), &machine_id()?)),
    };
    Ok(Options {
        bond: bond.name.to_string(),
        client_id,
        hostname: bond.dhcp.hostname.clone(),
    })
}

/// `/etc/machine-id`: what hotbond's stable identities (the DHCP client identifier, the IPv6
/// stable secret) are derived from.
pub fn machine_id() -> Result<String> {
    let p = std::env::var_os("HOTBOND_MACHINE_ID_FILE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/etc/machine-id"));
    let id = std::fs::read_to_string(&p)
        .with_context(|| format!("cannot read {} for a stable identity", p.display()))?;
    Ok(id.trim().to_string())
}

/// RFC 4361 client identifier: type 255, an IAID from the bond's name, and a DUID-UUID
/// (RFC 6355) from the machine id. The same whichever slave (MAC) is active, so the server
/// keeps giving this host the same address across failover.
pub fn stable_client_id(bond: &str, machine_id: &str) -> Vec<u8> {
    let mut iaid: u32 = 0x811c_9dc5; // FNV-1a
    for b in bond.bytes() {
        iaid ^= u32::from(b);
        iaid = iaid.wrapping_mul(0x0100_0193);
    }
    let mut uuid = [0u8; 16];
    let hex: Vec<u8> = machine_id
        .bytes()
        .filter(|c| c.is_ascii_hexdigit())
        .collect();
    for (i, pair) in hex.chunks(2).take(16).enumerate() {
        let s = std::str::from_utf8(pair).unwrap_or("0");
        uuid[i] = u8::from_str_radix(s, 16).unwrap_or(0);
    }
    let mut id = vec![0xff];
    id.extend_from_slice(&iaid.to_be_bytes());
    id.extend_from_slice(&[0x00, 0x04]);
    id.extend_from_slice(&uuid);
    id
}

/// Runs a helper command (no shell) and fails with its stderr.
fn run(argv: &[String]) -> Result<()> {
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    crate::process::run(&argv)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_id_is_stable_and_rfc4361_shaped() {
        let a = stable_client_id("bond0", "0123456789abcdef0123456789abcdef");
        let b = stable_client_id("bond0", "0123456789abcdef0123456789abcdef\n");
        assert_eq!(a, b);
        assert_eq!(a.len(), 1 + 4 + 2 + 16);
        assert_eq!(a[0], 0xff);
        assert_eq!(&a[5..7], &[0, 4]);
        assert_eq!(a[7], 0x01);
        assert_ne!(
            a,
            stable_client_id("bond1", "0123456789abcdef0123456789abcdef")
        );
    }
}
