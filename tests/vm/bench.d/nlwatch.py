#!/usr/bin/env python3
"""nlwatch.py LOG CTL : the benchmark's event recorder (runs in the guest, python3-minimal only).

Writes one line per event to LOG, each starting with a wall-clock timestamp (seconds since the
epoch, CLOCK_REALTIME, the clock of bash's $EPOCHREALTIME and of hotbond's *_unix_ms fields):

  T link IDX NAME oper=N lower=0|1 up=0|1 mac=MAC master=IDX   a link changed (only real changes)
  T dellink IDX NAME
  T addr+ NAME A.B.C.D/LEN        T addr- NAME A.B.C.D/LEN       IPv4 addresses (rtnetlink)
  T lease IP MAC CLIENTID EXPIRY  T lease- IP                    the DHCP server's leases file
                                  (a new EXPIRY: the server just ACKed that lease again)
  T dhcp NAME TYPE CHADDR XID      an outgoing DHCP client packet (any interface; AF_PACKET)
  T ping SEQ / T pong SEQ / T pingerr SEQ ERRNO                  the 10/s background ping
  T mark LABEL / T info LABEL K=V...                             written by the benchmark script
  T hotbond FILE K=V...           a new version of hotbond's /run/hotbond/bond0.json (settle
                                  decision) or bond0.dhcp.json (the DHCP client's start)

Link, address and DHCP events are timestamped when the kernel hands them over (a few ms late
under TCG at worst); lease changes by the leases file's mtime (polled every 10 ms).
Commands on the FIFO CTL, one a line:
  mark EPOCH LABEL | info EPOCH LABEL K=V... | ping on DST | ping off | quit
"""
import os
import select
import socket
import struct
import sys
import time

LOG, CTL = sys.argv[1], sys.argv[2]
LEASES = sys.argv[3] if len(sys.argv) > 3 else "/run/vmlan/dnsmasq.leases"

out = open(LOG, "a", buffering=1)


def emit(t, text):
    out.write("%.6f %s\n" % (t, text))


# --- rtnetlink -------------------------------------------------------------------------------
RTMGRP_LINK, RTMGRP_IPV4_IFADDR = 0x1, 0x10
RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK = 16, 17, 18
RTM_NEWADDR, RTM_DELADDR, RTM_GETADDR = 20, 21, 22
NLMSG_DONE, NLM_F_REQUEST, NLM_F_DUMP = 3, 1, 0x300
IFLA_ADDRESS, IFLA_IFNAME, IFLA_MASTER, IFLA_OPERSTATE = 1, 3, 10, 16
IFA_LOCAL, IFA_LABEL = 2, 3
IFF_UP, IFF_LOWER_UP = 0x1, 0x10000

nl = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)
nl.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
nl.bind((0, RTMGRP_LINK | RTMGRP_IPV4_IFADDR))

names = {}   # ifindex -> name
links = {}   # ifindex -> last printed state tuple


def attrs(b):
    a = {}
    while len(b) >= 4:
        ln, ty = struct.unpack("HH", b[:4])
        if ln < 4:
            break
        a[ty & 0x3FFF] = b[4:ln]
        b = b[(ln + 3) & ~3:]
    return a


def cstr(v):
    return v.split(b"\0", 1)[0].decode(errors="replace")


def handle_nl(data, t):
    while len(data) >= 16:
        ln, ty, _fl, _seq, _pid = struct.unpack("IHHII", data[:16])
        if ln < 16:
            break
        body = data[16:ln]
        data = data[(ln + 3) & ~3:]
        if ty in (RTM_NEWLINK, RTM_DELLINK):
            _fam, _pad, _typ, idx, flags, _chg = struct.unpack("BBHiII", body[:16])
            a = attrs(body[16:])
            name = cstr(a[IFLA_IFNAME]) if IFLA_IFNAME in a else names.get(idx, "?")
            if ty == RTM_DELLINK:
                if idx in links:
                    emit(t, "dellink %d %s" % (idx, name))
                links.pop(idx, None)
                names.pop(idx, None)
                continue
            names[idx] = name
            mac = ":".join("%02x" % c for c in a.get(IFLA_ADDRESS, b""))
            oper = a[IFLA_OPERSTATE][0] if IFLA_OPERSTATE in a else 0
            master = struct.unpack("I", a[IFLA_MASTER][:4])[0] if IFLA_MASTER in a else 0
            st = (name, oper, int(bool(flags & IFF_LOWER_UP)), int(bool(flags & IFF_UP)), mac, master)
            if links.get(idx) != st:
                links[idx] = st
                emit(t, "link %d %s oper=%d lower=%d up=%d mac=%s master=%d" % ((idx,) + st))
        elif ty in (RTM_NEWADDR, RTM_DELADDR):
            fam, plen, _f, _sc, idx = struct.unpack("BBBBI", body[:8])
            if fam != socket.AF_INET:
                continue
            a = attrs(body[8:])
            if IFA_LOCAL not in a:
                continue
            name = names.get(idx) or (cstr(a[IFA_LABEL]) if IFA_LABEL in a else "?")
            ip = socket.inet_ntoa(a[IFA_LOCAL][:4])
            emit(t, "%s %s %s/%d" % ("addr+" if ty == RTM_NEWADDR else "addr-", name, ip, plen))


def dump(kind):
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)
    s.bind((0, 0))
    payload = struct.pack("BBHiII", 0, 0, 0, 0, 0, 0) if kind == RTM_GETLINK else struct.pack("BBBBI", socket.AF_INET, 0, 0, 0, 0)
    s.send(struct.pack("IHHII", 16 + len(payload), kind, NLM_F_REQUEST | NLM_F_DUMP, 1, 0) + payload)
    while True:
        data = s.recv(1 << 16)
        done = False
        d = data
        while len(d) >= 16:
            ln, ty = struct.unpack("IH", d[:6])
            if ty == NLMSG_DONE:
                done = True
            d = d[(ln + 3) & ~3:]
        handle_nl(data, time.time())
        if done:
            break
    s.close()


# --- outgoing DHCP client packets, on every interface -----------------------------------------
# (outgoing packets reach only ETH_P_ALL taps: the filter is here, on the ethertype)
ETH_P_ALL, PACKET_OUTGOING = 0x0003, 4
pk = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
pk.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
DHCP_TYPES = {1: "DISCOVER", 3: "REQUEST", 4: "DECLINE", 7: "RELEASE", 8: "INFORM"}


def handle_pk(t):
    try:
        data, addr = pk.recvfrom(2048)
    except BlockingIOError:
        return
    if addr[2] != PACKET_OUTGOING or len(data) < 14 + 20 + 8 + 240 or data[12:14] != b"\x08\x00":
        return
    ip = data[14:]
    ihl = (ip[0] & 0xF) * 4
    if ip[9] != 17:
        return
    udp = ip[ihl:]
    if struct.unpack("!H", udp[2:4])[0] != 67:
        return
    bootp = udp[8:]
    if len(bootp) < 240 or bootp[0] != 1:
        return
    xid = struct.unpack("!I", bootp[4:8])[0]
    chaddr = ":".join("%02x" % c for c in bootp[28:34])
    opts, mtype, i = bootp[240:], 0, 0
    while i < len(opts) and opts[i] != 255:
        if opts[i] == 0:
            i += 1
            continue
        if i + 1 >= len(opts):
            break
        if opts[i] == 53 and opts[i + 1] >= 1:
            mtype = opts[i + 2]
            break
        i += 2 + opts[i + 1]
    emit(t, "dhcp %s %s %s %08x" % (addr[0], DHCP_TYPES.get(mtype, str(mtype)), chaddr, xid))


# --- leases file ------------------------------------------------------------------------------
lease_mtime, lease_state = None, {}


def poll_leases():
    global lease_mtime, lease_state
    try:
        st = os.stat(LEASES)
    except OSError:
        return
    if st.st_mtime_ns == lease_mtime:
        return
    lease_mtime = st.st_mtime_ns
    t = min(time.time(), st.st_mtime_ns / 1e9)
    new = {}
    try:
        with open(LEASES) as f:
            for line in f:
                p = line.split()
                if len(p) >= 4:
                    new[p[2]] = (p[1], p[4] if len(p) > 4 else "*", p[0])
    except OSError:
        return
    for ip, v in new.items():
        if lease_state.get(ip) != v:
            emit(t, "lease %s %s %s %s" % (ip, v[0], v[1], v[2]))
    for ip in lease_state:
        if ip not in new:
            emit(t, "lease- %s" % ip)
    lease_state = new


# --- hotbond's records (the documented state files; polled like the leases file) ----------------
import re
# (the DHCP record is /run/hotbond/dhcp/BOND.json now, BOND.dhcp.json in older versions; both
# are logged as bond0.dhcp.json)
HB_FILES = ["/run/hotbond/bond0.json", "/run/hotbond/dhcp/bond0.json", "/run/hotbond/bond0.dhcp.json"]
HB_KEYS = ("settled", "active_slave", "mac", "dhcp_action", "settle_overhead_ms", "client",
           "updated_unix_ms")
hb_mtime = {}


def poll_hotbond():
    for path in HB_FILES:
        try:
            st = os.stat(path)
        except OSError:
            hb_mtime.pop(path, None)
            continue
        if hb_mtime.get(path) == st.st_mtime_ns:
            continue
        hb_mtime[path] = st.st_mtime_ns
        try:
            with open(path) as f:
                text = f.read()
        except OSError:
            continue
        kv = []
        for k in HB_KEYS:
            m = re.search(r'"%s"\s*:\s*("([^"]*)"|[^,}\s]+)' % k, text)
            if m:
                kv.append("%s=%s" % (k, m.group(2) if m.group(2) is not None else m.group(1)))
        name = "bond0.dhcp.json" if "dhcp" in path else os.path.basename(path)
        emit(min(time.time(), st.st_mtime_ns / 1e9), "hotbond %s %s" % (name, " ".join(kv)))


# --- the 10/s ping (raw ICMP; the kernel picks the source address per packet) ------------------
icmp = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
ping_id = os.getpid() & 0xFFFF
ping_dst, ping_next, ping_seq = None, 0.0, 0
PING_INTERVAL = 0.1


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def send_ping():
    global ping_seq
    ping_seq = (ping_seq + 1) & 0xFFFF
    hdr = struct.pack("!BBHHH", 8, 0, 0, ping_id, ping_seq)
    payload = b"hotbond-bench"
    pkt = struct.pack("!BBHHH", 8, 0, csum(hdr + payload), ping_id, ping_seq) + payload
    t = time.time()
    try:
        icmp.sendto(pkt, (ping_dst, 0))
        emit(t, "ping %d" % ping_seq)
    except OSError as e:
        emit(t, "pingerr %d %d" % (ping_seq, e.errno or 0))


def handle_icmp(t):
    data = icmp.recv(2048)
    ihl = (data[0] & 0xF) * 4
    ic = data[ihl:]
    if len(ic) >= 8 and ic[0] == 0:
        _ty, _code, _ck, pid, seq = struct.unpack("!BBHHH", ic[:8])
        if pid == ping_id:
            emit(t, "pong %d" % seq)


# --- control FIFO -----------------------------------------------------------------------------
ctl_fd = os.open(CTL, os.O_RDWR | os.O_NONBLOCK)
ctl_buf = b""


def handle_ctl():
    global ctl_buf, ping_dst, ping_next
    ctl_buf += os.read(ctl_fd, 65536)
    while b"\n" in ctl_buf:
        line, ctl_buf = ctl_buf.split(b"\n", 1)
        w = line.decode(errors="replace").split()
        if not w:
            continue
        if w[0] in ("mark", "info") and len(w) >= 3:
            emit(float(w[1]), " ".join([w[0]] + w[2:]))
        elif w[:2] == ["ping", "on"] and len(w) == 3:
            ping_dst, ping_next = w[2], time.time()
        elif w[:2] == ["ping", "off"]:
            ping_dst = None
        elif w[0] == "quit":
            sys.exit(0)


dump(RTM_GETLINK)
dump(RTM_GETADDR)
poll_leases()
emit(time.time(), "ready")
for s in (nl, pk, icmp):
    s.setblocking(False)
while True:
    now = time.time()
    timeout = 0.01
    if ping_dst is not None:
        timeout = max(0.0, min(timeout, ping_next - now))
    r, _, _ = select.select([nl, pk, icmp, ctl_fd], [], [], timeout)
    t = time.time()
    if nl in r:
        try:
            while True:
                handle_nl(nl.recv(1 << 16), t)
        except BlockingIOError:
            pass
        except OSError as e:  # ENOBUFS: events were lost; say so, keep going
            emit(t, "nl-overflow %d" % (e.errno or 0))
    if pk in r:
        for _ in range(64):
            try:
                handle_pk(t)
            except BlockingIOError:
                break
            r2, _, _ = select.select([pk], [], [], 0)
            if not r2:
                break
    if icmp in r:
        try:
            while True:
                handle_icmp(t)
        except BlockingIOError:
            pass
    if ctl_fd in r:
        handle_ctl()
    poll_leases()
    poll_hotbond()
    if ping_dst is not None and time.time() >= ping_next:
        send_ping()
        ping_next += PING_INTERVAL
        if ping_next < time.time():
            ping_next = time.time() + PING_INTERVAL
