//! The two sockets a DHCP client needs (as systemd, dhcpcd and n-dhcp4 have them):
//! a packet socket for the exchanges made without an address (INIT-REBOOT, SELECTING,
//! REQUESTING) or with every server (REBINDING), and a UDP socket bound to the leased
//! address for RENEWING with the server that granted it. Both are non-blocking, for the
//! bond's job to poll. The `AF_PACKET` helpers at the end serve the ARP socket too.

use std::io;
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use anyhow::{Context, Result};
use etherparse::{Ipv4Slice, PacketBuilder, UdpSlice};

use dhcproto::v4::{CLIENT_PORT, SERVER_PORT};

/// The largest datagram read: an Ethernet MTU's worth, and more for jumbo frames.
const RECV_BUF: usize = 9216;
const BOOTREPLY: u32 = 2;
const ETH_P_IP: u16 = libc::ETH_P_IP as u16;

/// `AF_PACKET`/`SOCK_DGRAM` for IPv4 on one interface, filtered in the kernel down to
/// BOOTREPLYs for our transaction; sends self-built 0.0.0.0:68 -> 255.255.255.255:67.
pub struct PacketSocket {
    fd: OwnedFd,
    ifindex: u32,
}

impl PacketSocket {
    pub fn open(ifindex: u32, xid: u32) -> Result<PacketSocket> {
        let fd = packet_socket().context("cannot open a packet socket")?;
        let s = PacketSocket { fd, ifindex };
        // Filter before binding, so nothing unfiltered is queued.
        s.set_xid(xid)?;
        set_int(&s.fd, libc::SOL_PACKET, libc::PACKET_AUXDATA, 1)
            .context("cannot ask for packet auxiliary data")?;
        bind_to_link(&s.fd, ifindex, ETH_P_IP)
            .with_context(|| format!("cannot bind a packet socket to ifindex {ifindex}"))?;
        Ok(s)
    }

    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// Replaces the kernel filter with one for transaction `xid`.
    pub fn set_xid(&self, xid: u32) -> Result<()> {
        let mut prog = filter(xid);
        let fprog = libc::sock_fprog {
            len: prog.len() as u16,
            filter: prog.as_mut_ptr(),
        };
        // SAFETY: fprog points at `prog`, alive for the call; the kernel copies it.
        let r = unsafe {
            libc::setsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_ATTACH_FILTER,
                (&fprog as *const libc::sock_fprog).cast(),
                std::mem::size_of::<libc::sock_fprog>() as libc::socklen_t,
            )
        };
        if r < 0 {
            return Err(io::Error::last_os_error()).context("cannot attach the DHCP filter");
        }
        Ok(())
    }

    /// Broadcasts a DHCP message from 0.0.0.0:68 to 255.255.255.255:67.
    pub fn send(&self, payload: &[u8]) -> Result<()> {
        let frame = broadcast_datagram(payload)?;
        broadcast_on_link(&self.fd, self.ifindex, ETH_P_IP, &frame)
            .context("cannot broadcast a DHCP message")
    }

    /// The DHCP payload of the next valid datagram, None when none is waiting.
    pub fn recv(&self) -> Result<Option<Vec<u8>>> {
        let mut buf = vec![0u8; RECV_BUF];
        loop {
            let Some((len, csum_ready, outgoing)) = self.recv_one(&mut buf)? else {
                return Ok(None);
            };
            // Our own requests, seen again on their way out.
            if outgoing {
                continue;
            }
            if let Some(p) = dhcp_payload(&buf[..len], csum_ready) {
                return Ok(Some(p.to_vec()));
            }
        }
    }

    /// One datagram: its length, whether its UDP checksum is filled in, and whether we
    /// sent it.
    fn recv_one(&self, buf: &mut [u8]) -> Result<Option<(usize, bool, bool)>> {
        let mut sll: libc::sockaddr_ll = zeroed_sll();
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        // Room for one cmsghdr with a tpacket_auxdata, 8-byte aligned.
        let mut control = [0u64; 8];
        // SAFETY: msghdr is plain data; all-zero is a valid empty value.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_name = (&mut sll as *mut libc::sockaddr_ll).cast();
        msg.msg_namelen = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = std::mem::size_of_val(&control);
        // SAFETY: msg points at buffers that live across the call, with their sizes.
        let n = unsafe { libc::recvmsg(self.fd.as_raw_fd(), &mut msg, libc::MSG_TRUNC) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::WouldBlock {
                return Ok(None);
            }
            return Err(e).context("cannot read from the packet socket");
        }
        let len = (n as usize).min(buf.len());
        let mut csum_ready = true;
        // SAFETY: the CMSG_* walk stays within msg_control as the kernel filled it.
        unsafe {
            let mut c = libc::CMSG_FIRSTHDR(&msg);
            while !c.is_null() {
                if (*c).cmsg_level == libc::SOL_PACKET && (*c).cmsg_type == libc::PACKET_AUXDATA {
                    let aux: libc::tpacket_auxdata =
                        std::ptr::read_unaligned(libc::CMSG_DATA(c).cast());
                    csum_ready = aux.tp_status & libc::TP_STATUS_CSUMNOTREADY == 0;
                }
                c = libc::CMSG_NXTHDR(&msg, c);
            }
        }
        Ok(Some((
            len,
            csum_ready,
            sll.sll_pkttype == libc::PACKET_OUTGOING,
        )))
    }
}

impl AsFd for PacketSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// UDP from the leased address:68 on one interface, for unicast with the server.
pub struct UdpUnicast {
    sock: UdpSocket,
    pub address: Ipv4Addr,
}

impl UdpUnicast {
    pub fn open(ifindex: u32, address: Ipv4Addr) -> Result<UdpUnicast> {
        // SAFETY: plain syscall with constant arguments; the result is checked.
        let raw = unsafe {
            libc::socket(
                libc::AF_INET,
                libc::SOCK_DGRAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                0,
            )
        };
        if raw < 0 {
            return Err(io::Error::last_os_error()).context("cannot open a UDP socket");
        }
        // SAFETY: raw is a fresh descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        set_int(&fd, libc::SOL_SOCKET, libc::SO_REUSEADDR, 1).context("SO_REUSEADDR")?;
        // Without it a renewal could leave through the default route of another link.
        set_int(
            &fd,
            libc::SOL_SOCKET,
            libc::SO_BINDTOIFINDEX,
            ifindex as i32,
        )
        .with_context(|| format!("cannot bind a UDP socket to ifindex {ifindex}"))?;
        // A RELEASE may go out just as the address is being removed.
        set_int(&fd, libc::IPPROTO_IP, libc::IP_FREEBIND, 1).context("IP_FREEBIND")?;
        let sin = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: CLIENT_PORT.to_be(),
            sin_addr: libc::in_addr {
                s_addr: u32::from(address).to_be(),
            },
            sin_zero: [0; 8],
        };
        // SAFETY: sin is a valid sockaddr_in and its size is passed.
        let r = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&sin as *const libc::sockaddr_in).cast(),
                std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
            )
        };
        if r < 0 {
            return Err(io::Error::last_os_error())
                .with_context(|| format!("cannot bind UDP {address}:{CLIENT_PORT}"));
        }
        let sock = UdpSocket::from(fd);
        Ok(UdpUnicast { sock, address })
    }

    pub fn send(&self, server: Ipv4Addr, payload: &[u8]) -> Result<()> {
        self.sock
            .send_to(payload, SocketAddrV4::new(server, SERVER_PORT))
            .with_context(|| format!("cannot send a DHCP message to {server}"))?;
        Ok(())
    }

    pub fn recv(&self) -> Result<Option<Vec<u8>>> {
        let mut buf = vec![0u8; RECV_BUF];
        match self.sock.recv(&mut buf) {
            Ok(n) => {
                buf.truncate(n);
                Ok(Some(buf))
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
            Err(e) => Err(e).context("cannot read from the UDP socket"),
        }
    }
}

impl AsFd for UdpUnicast {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.sock.as_fd()
    }
}

fn set_int(fd: &OwnedFd, level: i32, name: i32, value: i32) -> Result<()> {
    // SAFETY: value is an int that lives across the call, its size passed.
    let r = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&value as *const i32).cast(),
            std::mem::size_of::<i32>() as libc::socklen_t,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error().into());
    }
    Ok(())
}

/// An `AF_PACKET`/`SOCK_DGRAM` socket, non-blocking, that receives nothing until
/// [`bind_to_link`] names its ethertype and link, so that a filter can be attached first.
/// Made with protocol 0, as systemd's client does: with a protocol the kernel hooks the
/// socket up to every interface at once, and the bind to one link must unhook it again,
/// which waits for an RCU grace period (15-30 ms under emulation, on every failover).
pub(super) fn packet_socket() -> io::Result<OwnedFd> {
    // SAFETY: plain syscall with integer arguments; the result is checked.
    let raw = unsafe {
        libc::socket(
            libc::AF_PACKET,
            libc::SOCK_DGRAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        )
    };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: raw is a fresh descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

/// Binds a packet socket to `ethertype` on `ifindex`: from then on it receives that.
pub(super) fn bind_to_link(fd: &OwnedFd, ifindex: u32, ethertype: u16) -> io::Result<()> {
    let sll = link_addr(ifindex, ethertype);
    // SAFETY: sll is a valid sockaddr_ll and its size is passed.
    let r = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&sll as *const libc::sockaddr_ll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Sends `bytes` (what follows the Ethernet header) as `ethertype` to the link-layer
/// broadcast address on `ifindex`.
pub(super) fn broadcast_on_link(
    fd: &OwnedFd,
    ifindex: u32,
    ethertype: u16,
    bytes: &[u8],
) -> io::Result<()> {
    let sll = link_addr(ifindex, ethertype);
    // SAFETY: bytes and sll are valid for the call and their sizes are passed.
    let r = unsafe {
        libc::sendto(
            fd.as_raw_fd(),
            bytes.as_ptr().cast(),
            bytes.len(),
            0,
            (&sll as *const libc::sockaddr_ll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

pub(super) fn zeroed_sll() -> libc::sockaddr_ll {
    // SAFETY: sockaddr_ll is plain data; all-zero is valid.
    unsafe { std::mem::zeroed() }
}

/// The link-layer broadcast address on `ifindex`, for `ethertype`.
fn link_addr(ifindex: u32, ethertype: u16) -> libc::sockaddr_ll {
    let mut sll = zeroed_sll();
    sll.sll_family = libc::AF_PACKET as u16;
    sll.sll_protocol = ethertype.to_be();
    sll.sll_ifindex = ifindex as i32;
    sll.sll_halen = 6;
    sll.sll_addr[..6].copy_from_slice(&[0xff; 6]);
    sll
}

/// IPv4 + UDP around a DHCP message, 0.0.0.0:68 -> 255.255.255.255:67.
pub fn broadcast_datagram(payload: &[u8]) -> Result<Vec<u8>> {
    let b =
        PacketBuilder::ipv4([0, 0, 0, 0], [255, 255, 255, 255], 64).udp(CLIENT_PORT, SERVER_PORT);
    let mut out = Vec::with_capacity(b.size(payload.len()));
    b.write(&mut out, payload)
        .context("cannot build the IPv4/UDP headers")?;
    Ok(out)
}

/// The DHCP message inside an IPv4 datagram, if it is a whole, unfragmented UDP datagram
/// to port 68 with valid checksums. A UDP checksum of 0 means none was computed; one not
/// yet filled in (`csum_ready` false: offloaded on a local path) is taken as it is.
pub fn dhcp_payload(datagram: &[u8], csum_ready: bool) -> Option<&[u8]> {
    let ip = Ipv4Slice::from_slice(datagram).ok()?;
    let h = ip.header();
    if ip.is_payload_fragmented() || h.protocol() != etherparse::IpNumber::UDP {
        return None;
    }
    if h.to_header().calc_header_checksum() != h.header_checksum() {
        return None;
    }
    let udp = UdpSlice::from_slice(ip.payload().payload).ok()?;
    if udp.destination_port() != CLIENT_PORT {
        return None;
    }
    if csum_ready && udp.checksum() != 0 {
        let sum = udp
            .to_header()
            .calc_checksum_ipv4_raw(h.source(), h.destination(), udp.payload())
            .ok()?;
        if sum != udp.checksum() {
            return None;
        }
    }
    Some(udp.payload())
}

/// Classic BPF on the IPv4 header up: UDP, not a fragment, to port 68, a BOOTREPLY, our
/// xid. Everything else stays in the kernel.
fn filter(xid: u32) -> Vec<libc::sock_filter> {
    let stmt = |code: u32, k: u32| libc::sock_filter {
        code: code as u16,
        jt: 0,
        jf: 0,
        k,
    };
    let jeq = |k: u32, jt: u8, jf: u8| libc::sock_filter {
        code: (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16,
        jt,
        jf,
        k,
    };
    let (ld, abs, ind, b, h, w) = (
        libc::BPF_LD,
        libc::BPF_ABS,
        libc::BPF_IND,
        libc::BPF_B,
        libc::BPF_H,
        libc::BPF_W,
    );
    vec![
        stmt(ld | b | abs, 9),                // 0: A = protocol
        jeq(libc::IPPROTO_UDP as u32, 0, 10), // 1: UDP, else drop (12)
        stmt(ld | h | abs, 6),                // 2: A = flags/fragment offset
        libc::sock_filter {
            code: (libc::BPF_JMP | libc::BPF_JSET | libc::BPF_K) as u16,
            jt: 8,
            jf: 0,
            k: 0x1fff,
        }, // 3: a fragment: drop (12)
        stmt(libc::BPF_LDX | b | libc::BPF_MSH, 0), // 4: X = IP header length
        stmt(ld | h | ind, 2),                // 5: A = UDP destination port
        jeq(u32::from(CLIENT_PORT), 0, 5),    // 6: port 68, else drop (12)
        stmt(ld | b | ind, 8),                // 7: A = op (8 = UDP header)
        jeq(BOOTREPLY, 0, 3),                 // 8: BOOTREPLY, else drop (12)
        stmt(ld | w | ind, 8 + 4),            // 9: A = xid
        jeq(xid, 0, 1),                       // 10: ours, else drop (12)
        stmt(libc::BPF_RET | libc::BPF_K, u32::MAX), // 11: accept all of it
        stmt(libc::BPF_RET | libc::BPF_K, 0), // 12: drop
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn datagram(payload: &[u8], dport: u16) -> Vec<u8> {
        let b = PacketBuilder::ipv4([192, 0, 2, 1], [192, 0, 2, 50], 64).udp(SERVER_PORT, dport);
        let mut out = Vec::new();
        b.write(&mut out, payload).unwrap();
        out
    }

    #[test]
    fn broadcast_datagram_round_trips() {
        let d = broadcast_datagram(b"hello").unwrap();
        assert_eq!(d.len(), 20 + 8 + 5);
        assert_eq!(&d[12..20], &[0, 0, 0, 0, 255, 255, 255, 255]);
        // Our own broadcast goes to 67, not 68: not a payload for us.
        assert_eq!(dhcp_payload(&d, true), None);
    }

    #[test]
    fn checksums_are_checked_unless_absent_or_offloaded() {
        let good = datagram(b"reply", CLIENT_PORT);
        assert_eq!(dhcp_payload(&good, true), Some(&b"reply"[..]));
        let mut bad = good.clone();
        bad[20 + 6] ^= 0xff; // the UDP checksum
        assert_eq!(dhcp_payload(&bad, true), None);
        assert_eq!(
            dhcp_payload(&bad, false),
            Some(&b"reply"[..]),
            "partial checksum"
        );
        let mut none = good.clone();
        none[26] = 0;
        none[27] = 0;
        assert_eq!(dhcp_payload(&none, true), Some(&b"reply"[..]), "checksum 0");
        let mut bad_ip = good.clone();
        bad_ip[10] ^= 0xff;
        assert_eq!(dhcp_payload(&bad_ip, true), None);
        assert_eq!(dhcp_payload(&datagram(b"x", 69), true), None);
        assert_eq!(dhcp_payload(&good[..25], true), None);
    }

    #[test]
    fn filter_jumps_land_on_accept_or_drop() {
        let f = filter(7);
        let last = f.len() - 1;
        for (i, ins) in f.iter().enumerate() {
            if ins.code & 0x07 == libc::BPF_JMP as u16 {
                let target = i + 1 + ins.jt.max(ins.jf) as usize;
                assert_eq!(target, last, "instruction {i} must branch to the drop");
            }
        }
        assert_eq!(f[last - 1].k, u32::MAX, "the one before is the accept");
    }
}
