#!/usr/bin/env python3
"""analyze.py EVENTS : turn nlwatch.py's event log into the benchmark's figures (guest side).

Trials are delimited by marks "begin:IMPL:FIG:N" and "end:IMPL:FIG:N" written by bench.sh;
N "w" is a warm-up trial, left out here. Prints one line per figure and trial:
  @@BENCH IMPL METRIC N VALUE
(VALUE "nan" when the trial did not reach that point within its wait; the host aggregates
median/min/max and counts such a trial as its wait).

Definitions (all times from the kernel's rtnetlink events, the DHCP server's leases file, the
packets the guest sent, and the 10/s ping, as recorded by nlwatch.py). The end point of every
"lease" figure is the same for every implementation: the server's record, in its leases file,
of a lease ACKed to the MAC in question after the figure's start (a new line or a new expiry
for that MAC); "addr" figures end when bond0 also holds that address (each client's own work
after the ACK: a script, netlink).
  wired.lease_ms      eth1 appears (udev "add") -> the server's lease for eth1's MAC
  wired.addr_ms       eth1 appears -> bond0 holds an address leased to eth1's MAC
  wifi.lease_ms       wlan0 authorised (operstate UP: wpa_supplicant CONNECTED) -> the server's
                      lease for wlan0's MAC (wireless-only start)
  wifi.addr_ms        wlan0 authorised -> bond0 holds an address leased to wlan0's MAC
  wifi.plug_lease_ms  wlan0 appears -> the server's lease for wlan0's MAC
  FIG.gate_ms         the bond became ready (last change of bond0's MAC/state or of the active
                      slave's state before DHCP went out) -> first DHCP packet with that MAC
  failover.*          t0 = eth1 loses carrier (cable pulled); failback.*: eth1 regains it;
  unplug.*            t0 = eth1 goes (NIC unplugged: its first event, down, then deleted);
  replug.*            t0 = eth1 appears again
    first_ping_ms     t0 -> first reply to a ping sent after bond0 took the new slave's MAC
    lost              pings of the 10/s background ping that got no reply, in the trial
    reacq_ms          t0 -> the server's lease for the new slave's MAC, ACKed after t0 (a DHCP
                      exchange with the new MAC; nan: none within the trial)
    addr_ms           t0 -> bond0 holds that lease's address
    same_ip           1 when the server's lease for the new MAC is for the address bond0 had
                      before t0
  dhcp:C.V            (plain NIC dc0) the client's exec -> first DHCP packet (first_ms),
                      -> address (lease_ms); spawn_ms: from the shell's start to that exec;
                      total_ms: from the shell's start (the fork of hotbond-settle for "after")
                      to the address. The in-process client has no exec: its clock starts at
                      the fork (spawn_ms 0).
hotbond's own records (/run/hotbond/bond0.json and bond0.dhcp.json, as nlwatch.py saw them):
  FIG.settle_ms       settle_overhead_ms of the settle decision that started or re-acquired
                      the DHCP client during the trial (nan: none did)
  FIG.exec_ms         bond ready (as for gate_ms) -> the DHCP client exec'd or signalled with
                      the new MAC (updated_unix_ms of bond0.dhcp.json)
"""
import sys

LEASE_LO, LEASE_HI = 100, 199   # the test LAN's DHCP range 192.0.2.100-199


def in_range(ip):
    p = ip.split(".")
    return len(p) == 4 and p[:3] == ["192", "0", "2"] and LEASE_LO <= int(p[3]) <= LEASE_HI


events = []
with open(sys.argv[1]) as f:
    for i, line in enumerate(f):
        w = line.split()
        if len(w) < 2:
            continue
        try:
            events.append((float(w[0]), i, w[1:]))
        except ValueError:
            continue
events.sort()


class State:
    """Replays events; remembers, per interface, what it looks like and when each part changed."""

    def __init__(self):
        self.links = {}      # name -> dict(oper, lower, up, mac, master)
        self.changed = {}    # (name, key) -> time of last change
        self.addrs = {}      # name -> set of "ip/len"
        self.leases = {}     # ip -> mac
        self.lease_t = {}    # ip -> when the server last ACKed it (a lease line changed)
        self.lease_v = {}    # ip -> its last line (kept when it goes: see is_ack)

    def apply(self, t, w):
        k = w[0]
        if k == "link":
            name = w[2]
            kv = dict(x.split("=", 1) for x in w[3:])
            old = self.links.get(name)
            for key, v in kv.items():
                if old is None or old.get(key) != v:
                    self.changed[(name, key)] = t
            self.links[name] = kv
        elif k == "dellink":
            self.links.pop(w[2], None)
            self.addrs.pop(w[2], None)
        elif k == "addr+":
            self.addrs.setdefault(w[1], set()).add(w[2])
        elif k == "addr-":
            self.addrs.get(w[1], set()).discard(w[2])
        elif k == "lease":
            if self.is_ack(w):
                self.lease_t[w[1]] = t
            self.leases[w[1]] = w[2]
            self.lease_v[w[1]] = w[2:]
        elif k == "lease-":
            self.leases.pop(w[1], None)

    def is_ack(self, w):
        """Whether lease event W is a new ACK: its line differs from the last one for that
        address. dnsmasq rewrites its leases file in place (truncate, then write), so a read
        between the two sees it empty, and the next one sees every line come back unchanged."""
        return w[0] == "lease" and self.lease_v.get(w[1]) != w[2:]

    def mac(self, name):
        return self.links.get(name, {}).get("mac")

    def lease_ips(self, name):
        return sorted(a.split("/")[0] for a in self.addrs.get(name, ()) if in_range(a.split("/")[0]))

    def leased_to(self, name, mac, since=None):
        """An address on NAME that the server leased (ACKed at or after SINCE) to MAC, or None."""
        for ip in self.lease_ips(name):
            if mac and self.leases.get(ip) == mac and (since is None or self.lease_t.get(ip, 0) >= since):
                return ip
        return None


def out(impl, metric, n, v):
    if v is None:
        print("@@BENCH %s %s %s nan" % (impl, metric, n))
    elif isinstance(v, float):
        print("@@BENCH %s %s %s %.1f" % (impl, metric, n, v))
    else:
        print("@@BENCH %s %s %s %s" % (impl, metric, n, v))


def ms(a, b):
    return None if a is None or b is None else (b - a) * 1000.0


# --- find the trials -------------------------------------------------------------------------
begins, ends, infos = {}, {}, {}
for t, _i, w in events:
    if w[0] == "mark" and len(w) >= 2:
        lab = w[1].split(":", 1)
        if lab[0] == "begin":
            begins[lab[1]] = t
        elif lab[0] == "end":
            ends[lab[1]] = t
    elif w[0] == "info" and len(w) >= 2 and ":" in w[1]:
        infos[w[1]] = dict(x.split("=", 1) for x in w[2:] if "=" in x)


def trial(key):
    """(state at begin, [(t, w)] events inside the trial)."""
    b, e = begins[key], ends.get(key, float("inf"))
    st = State()
    inside = []
    for t, _i, w in events:
        if t < b:
            st.apply(t, w)
        elif t <= e:
            inside.append((t, w))
    return st, inside


def ready_time(st_changes, t_dhcp, bond, slave):
    """Last change, before t_dhcp, of what makes the bond ready for DHCP."""
    keys = [(bond, "mac"), (bond, "oper"), (bond, "lower"), (slave, "oper"), (slave, "lower"),
            (slave, "master")]
    ts = [st_changes[k] for k in keys if k in st_changes and st_changes[k] <= t_dhcp]
    return max(ts) if ts else None


def run_until(st, evs, pred):
    """Apply events in order; return the time at which pred(st) first holds after an event."""
    for t, w in evs:
        st.apply(t, w)
        if pred(st, t, w):
            return t
    return None


def gate(evs, st0, t_from, bond, slave, mac):
    """(t_ready, t_first_dhcp) for the first DHCP packet from BOND with MAC after t_from."""
    st = st0
    changes = dict(st0.changed)
    for t, w in evs:
        st.apply(t, w)
        changes = st.changed
        if t >= t_from and w[0] == "dhcp" and w[1] == bond and w[3] == mac:
            return ready_time(changes, t, bond, slave), t
    return None, None


def settle_info(impl, fig, n, evs, t_ready, mac):
    """hotbond's own records during the trial (the versions of /run/hotbond/bond0.json and
    bond0.dhcp.json that nlwatch.py saw): the settle decision that started or re-acquired the
    DHCP client, and when the client was exec'd (or signalled) with MAC."""
    if impl != "hotbond":
        return
    kv = lambda w: dict(x.split("=", 1) for x in w[2:] if "=" in x)
    dec = next((kv(w) for t, w in evs if w[0] == "hotbond" and w[1] == "bond0.json"
                and kv(w).get("dhcp_action") in ("started", "reacquired")), None)
    ov = dec.get("settle_overhead_ms") if dec else None
    out(impl, fig + ".settle_ms", n, ov if ov not in (None, "null") else None)
    t_exec = None
    for t, w in evs:
        if w[0] == "hotbond" and w[1] == "bond0.dhcp.json" and kv(w).get("mac") == mac:
            try:
                t_exec = int(kv(w)["updated_unix_ms"]) / 1000.0 or None  # 0: not started yet
            except (KeyError, ValueError):
                pass
            if t_exec:
                break
    out(impl, fig + ".exec_ms", n, ms(t_ready, t_exec) if t_ready else None)


def server_ack(st, evs, mac, since):
    """(t, ip) of the first lease the server recorded for MAC at or after SINCE, or (None, None);
    ST is the state at the trial's start."""
    if mac is None or since is None:
        return None, None
    s = copy_state(st)
    for t, w in evs:
        if t >= since and len(w) >= 3 and w[2] == mac and s.is_ack(w):
            return t, w[1]
        s.apply(t, w)
    return None, None


def first_mac(evs, name):
    for t, w in evs:
        if w[0] == "link" and w[2] == name:
            return dict(x.split("=", 1) for x in w[3:]).get("mac")
    return None


def copy_state(st):
    c = State()
    c.links = {k: dict(v) for k, v in st.links.items()}
    c.changed = dict(st.changed)
    c.addrs = {k: set(v) for k, v in st.addrs.items()}
    c.leases = dict(st.leases)
    c.lease_t = dict(st.lease_t)
    c.lease_v = dict(st.lease_v)
    return c


# the switches between the slaves: FIG -> (the slave that becomes active, what starts the clock)
SWITCHES = {
    "failover": ("wlan0", lambda w: w[0] == "link" and w[2] == "eth1" and "lower=0" in w),
    "failback": ("eth1", lambda w: w[0] == "link" and w[2] == "eth1" and "lower=1" in w),
    # (ip link del: the kernel first takes eth1 down and out of the bond, then deletes it)
    "unplug": ("wlan0", lambda w: w[0] in ("link", "dellink") and w[2] == "eth1"),
    "replug": ("eth1", lambda w: w[0] == "link" and w[2] == "eth1"),
}

for key in sorted(begins, key=lambda k: begins[k]):
    parts = key.split(":")
    if len(parts) != 3:
        continue
    impl, fig, n = parts
    if n == "w":
        continue
    st, evs = trial(key)

    if fig == "wired":
        t0 = next((t for t, w in evs if w[0] == "link" and w[2] == "eth1"), None)
        mac = first_mac(evs, "eth1")
        out(impl, "wired.lease_ms", n, ms(t0, server_ack(st, evs, mac, t0)[0]))
        s = copy_state(st)
        t1 = run_until(s, evs, lambda s, t, w: t0 is not None and t >= t0
                       and s.leased_to("bond0", s.mac("eth1"), t0) is not None)
        out(impl, "wired.addr_ms", n, ms(t0, t1))
        tr, td = gate(evs, copy_state(st), t0 or 0, "bond0", "eth1", mac)
        out(impl, "wired.gate_ms", n, ms(tr, td))
        settle_info(impl, "wired", n, evs, tr, mac)

    elif fig == "wifi":
        tplug = next((t for t, w in evs if w[0] == "link" and w[2] == "wlan0"), None)
        t0 = next((t for t, w in evs if w[0] == "link" and w[2] == "wlan0" and "oper=6" in w), None)
        mac = first_mac(evs, "wlan0")
        ta = server_ack(st, evs, mac, t0)[0]
        out(impl, "wifi.lease_ms", n, ms(t0, ta))
        out(impl, "wifi.plug_lease_ms", n, ms(tplug, ta))
        s = copy_state(st)
        t1 = run_until(s, evs, lambda s, t, w: t0 is not None and t >= t0
                       and s.leased_to("bond0", s.mac("wlan0"), t0) is not None)
        out(impl, "wifi.addr_ms", n, ms(t0, t1))
        tr, td = gate(evs, copy_state(st), t0 or 0, "bond0", "wlan0", mac)
        out(impl, "wifi.gate_ms", n, ms(tr, td))
        settle_info(impl, "wifi", n, evs, tr, mac)

    elif fig in SWITCHES:
        new, is_t0 = SWITCHES[fig]
        t0 = next((t for t, w in evs if is_t0(w)), None)
        target = st.mac(new) or next((dict(x.split("=", 1) for x in w[3:]).get("mac")
                                      for t, w in evs if w[0] == "link" and w[2] == new), None)
        ip0 = st.lease_ips("bond0")
        ip0 = ip0[0] if ip0 else None
        if t0 is None or target is None:
            out(impl, fig + ".first_ping_ms", n, None)
            continue
        t_sw = next((t for t, w in evs if t >= t0 and w[0] == "link" and w[2] == "bond0"
                     and ("mac=" + target) in w), None)
        sent, answered = {}, {}
        for t, w in evs:
            if w[0] in ("ping", "pingerr"):
                sent[w[1]] = t
            elif w[0] == "pong" and w[1] in sent and w[1] not in answered:
                answered[w[1]] = t
        t_end = max(t for t, _w in evs)
        lost = sum(1 for q, ts in sent.items() if q not in answered and ts < t_end - 0.3)
        first = None
        if t_sw is not None:
            cands = [ta for q, ta in answered.items() if sent[q] >= t_sw]
            first = min(cands) if cands else None
        s = copy_state(st)
        t1 = run_until(s, evs, lambda s, t, w: t >= t0 and s.leased_to("bond0", target, t0) is not None)
        ta, ip1 = server_ack(st, evs, target, t0)
        out(impl, fig + ".first_ping_ms", n, ms(t0, first))
        out(impl, fig + ".lost", n, lost if sent else None)
        out(impl, fig + ".reacq_ms", n, ms(t0, ta))
        out(impl, fig + ".addr_ms", n, ms(t0, t1))
        out(impl, fig + ".same_ip", n, None if ip1 is None else int(ip1 == ip0))
        tr, td = gate(evs, copy_state(st), t0, "bond0", new, target)
        out(impl, fig + ".gate_ms", n, ms(tr, td))
        settle_info(impl, fig, n, evs, tr, target)

    elif impl == "dhcp":
        # fig is CLIENT.VARIANT, on the plain NIC dc0. t0: the client's exec (hotbond's record
        # in dc0.dhcp.json for "after", a timestamp just before exec for "before")
        try:
            t0 = int(infos.get("dcexec:" + key, {}).get("ms", "")) / 1000.0
        except ValueError:
            t0 = None
        if fig.startswith("builtin."):
            t0 = begins[key]
        td = next((t for t, w in evs if w[0] == "dhcp" and w[1] == "dc0"), None)
        s = copy_state(st)
        t1 = run_until(s, evs, lambda s, t, w: len(s.lease_ips("dc0")) > 0)
        out("dhcp", fig + ".first_ms", n, ms(t0, td))
        out("dhcp", fig + ".lease_ms", n, ms(t0, t1))
        out("dhcp", fig + ".spawn_ms", n, ms(begins[key], t0))
        out("dhcp", fig + ".total_ms", n, ms(begins[key], t1))
