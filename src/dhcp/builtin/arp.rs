//! An ARP socket on the bond, for the bond's job to ask whether the default gateway answers
//! through the active slave (after a resume, a dock's NIC may have carrier and pass nothing).
//! An `AF_PACKET`/`SOCK_DGRAM` socket like the DHCP client's, opened, bound and sent on
//! with the same helpers in `socket`; non-blocking, polled by the job.

use std::io;
use std::net::Ipv4Addr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use anyhow::{Context, Result};

use super::socket::{bind_to_link, broadcast_on_link, packet_socket, zeroed_sll};
use crate::net::Mac;

const ETH_P_ARP: u16 = libc::ETH_P_ARP as u16;
const ARPHRD_ETHER: u16 = 1;
const ARPOP_REQUEST: u16 = 1;
const ARPOP_REPLY: u16 = 2;
/// An Ethernet/IPv4 ARP packet: 8 bytes of header, two (MAC, IPv4) pairs.
const ARP_LEN: usize = 28;

/// `AF_PACKET`/`SOCK_DGRAM` for ARP on one interface (a bond: what its active slave
/// receives, as an inactive slave's frames never reach the bond).
pub struct ArpSocket {
    fd: OwnedFd,
    ifindex: u32,
    mac: Mac,
}

impl ArpSocket {
    pub fn open(ifindex: u32, mac: Mac) -> Result<ArpSocket> {
        let fd = packet_socket().context("cannot open an ARP socket")?;
        bind_to_link(&fd, ifindex, ETH_P_ARP)
            .with_context(|| format!("cannot bind an ARP socket to ifindex {ifindex}"))?;
        Ok(ArpSocket { fd, ifindex, mac })
    }

    /// Broadcasts "who has `target`? tell `sender`" from the interface's MAC.
    pub fn request(&self, sender: Ipv4Addr, target: Ipv4Addr) -> Result<()> {
        let pkt = request(self.mac, sender, target);
        broadcast_on_link(&self.fd, self.ifindex, ETH_P_ARP, &pkt)
            .with_context(|| format!("cannot send an ARP request for {target}"))
    }

    /// Reads all that is waiting; whether any of it was an ARP packet from `from` that
    /// arrived (a reply, or a request of its own: either way it got through).
    pub fn heard_from(&self, from: Ipv4Addr) -> Result<bool> {
        let mut heard = false;
        let mut buf = [0u8; 64];
        loop {
            let mut sll = zeroed_sll();
            let mut len = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
            // SAFETY: buf and sll are writable for the sizes passed.
            let n = unsafe {
                libc::recvfrom(
                    self.fd.as_raw_fd(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    0,
                    (&mut sll as *mut libc::sockaddr_ll).cast(),
                    &mut len,
                )
            };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::WouldBlock {
                    return Ok(heard);
                }
                return Err(e).context("cannot read from the ARP socket");
            }
            let incoming = sll.sll_pkttype != libc::PACKET_OUTGOING;
            let len = (n as usize).min(buf.len());
            heard |= incoming && sender_ip(&buf[..len]) == Some(from);
        }
    }
}

impl AsFd for ArpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// An ARP request for `target` from (`mac`, `sender`); `sender` 0.0.0.0 makes it a probe
/// (RFC 5227), which changes no neighbour's cache.
pub fn request(mac: Mac, sender: Ipv4Addr, target: Ipv4Addr) -> [u8; ARP_LEN] {
    let mut p = [0u8; ARP_LEN];
    p[0..2].copy_from_slice(&ARPHRD_ETHER.to_be_bytes());
    p[2..4].copy_from_slice(&(libc::ETH_P_IP as u16).to_be_bytes());
    p[4] = 6;
    p[5] = 4;
    p[6..8].copy_from_slice(&ARPOP_REQUEST.to_be_bytes());
    p[8..14].copy_from_slice(&mac.0);
    p[14..18].copy_from_slice(&sender.octets());
    // The target's MAC (18..24) is what is asked for: zero.
    p[24..28].copy_from_slice(&target.octets());
    p
}

/// The sender's IPv4 address of an Ethernet/IPv4 ARP request or reply, None for anything
/// else (short, another hardware or protocol, another operation).
pub fn sender_ip(p: &[u8]) -> Option<Ipv4Addr> {
    let p: &[u8; ARP_LEN] = p.get(..ARP_LEN)?.try_into().ok()?;
    let be = |i: usize| u16::from_be_bytes([p[i], p[i + 1]]);
    let op = be(6);
    let ours = be(0) == ARPHRD_ETHER
        && be(2) == libc::ETH_P_IP as u16
        && p[4] == 6
        && p[5] == 4
        && (op == ARPOP_REQUEST || op == ARPOP_REPLY);
    ours.then(|| Ipv4Addr::new(p[14], p[15], p[16], p[17]))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GW: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
    const ME: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 150);

    #[test]
    fn a_request_reads_back_as_from_its_sender() {
        let mac = Mac([2, 0xee, 0, 0, 0, 1]);
        let p = request(mac, ME, GW);
        assert_eq!(&p[..8], &[0, 1, 8, 0, 6, 4, 0, 1]);
        assert_eq!(&p[8..14], &mac.0);
        assert_eq!(&p[24..], &GW.octets());
        assert_eq!(sender_ip(&p), Some(ME));
    }

    #[test]
    fn a_reply_names_the_gateway_and_nothing_else_does() {
        // The gateway's reply: operation 2, its MAC and address first.
        let mut reply = request(Mac([2, 0, 0, 0, 0, 9]), GW, ME);
        reply[7] = 2;
        assert_eq!(sender_ip(&reply), Some(GW));
        // Trailing padding (a short Ethernet frame) is fine.
        let mut padded = reply.to_vec();
        padded.extend([0; 18]);
        assert_eq!(sender_ip(&padded), Some(GW));
        assert_eq!(sender_ip(&reply[..27]), None, "short");
        let mut rarp = reply;
        rarp[7] = 3;
        assert_eq!(sender_ip(&rarp), None, "another operation");
        let mut v6 = reply;
        v6[2] = 0x86;
        assert_eq!(sender_ip(&v6), None, "another protocol");
    }
}
