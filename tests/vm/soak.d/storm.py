#!/usr/bin/env python3
"""The soak storm, guest side: run by tests/vm/soak (through `tests/vm/run --scenario`) in the
test bed's prepared guest (the LAN up, hotbond installed, state reset).

One bond (bond0: wired eth1 as primary, Wi-Fi wlan0) goes through a seeded random sequence of
events with short random gaps: the wired NIC plugged/unplugged, its cable out/in, the Wi-Fi NIC
plugged/unplugged, the access point deauthenticating the station or going off/on, the DHCP
server off/on, `hotbond replay`, `udevadm trigger`. After every few events, once hotbond is quiet
and the bond has had time to settle, the invariants a user relies on are checked (see
problems()); a check polls until they hold or its generous deadline passes, and what still fails
then is a violation. The job's open files and resident memory are sampled at every check; at the
end its CPU time is measured while the bond cannot carry traffic.

The sequence (events, gaps, when to check) depends only on the seed: a failing run is replayed
with the same seed. Timing does not, so a replay reproduces the sequence, not every race.

Environment (tests/vm/soak sets it): SOAK_EVENTS, SOAK_SEED, SOAK_CLIENT (hotbond's DHCP client),
SOAK_GAP_MAX (longest gap between events, s), SOAK_BUDGET (s: no new event starts after it),
SOAK_IDLE (s of each idle CPU measurement). Writes results/soak-summary.json and, on a violation,
results/soak-violation.txt (the first violation's diagnostics) to the host share.
"""

import json
import os
import random
import subprocess
import sys
import time

BOND, WIRED, WIFI = "bond0", "eth1", "wlan0"
VMLAN = "/run/vmlan"
HOSTAPD_CLI = ["hostapd_cli", "-p", f"{VMLAN}/hostapd", "-i", "ap0"]
RESULTS = "/mnt/host/results" if os.access("/mnt/host/results", os.W_OK) else "/run"
JOB_PID_FILE = f"/run/hotbond/jobs/hotbond-settle@{BOND}.pid"

EVENTS = int(os.environ.get("SOAK_EVENTS", "30"))
SEED = int(os.environ.get("SOAK_SEED", "1"))
CLIENT = os.environ.get("SOAK_CLIENT", "builtin")
GAP_MAX = float(os.environ.get("SOAK_GAP_MAX", "1.5"))
BUDGET = float(os.environ.get("SOAK_BUDGET", "1200"))
IDLE = float(os.environ.get("SOAK_IDLE", "10"))

CHECK_SECS = 120      # a check waits this long for every invariant to hold
QUIET_SECS = 60       # ... after waiting this long for udev and hotbond's hooks to finish
WARM_CHECKS = 4       # fd/RSS: the baseline is the highest of the first checks
FD_SLACK = 3          # more open files than the baseline + this is a leak
RSS_SLACK_KIB = 1024  # more resident memory than the baseline + this is a leak
IDLE_SHARE = 0.02     # a bond that cannot carry traffic: at most this share of one CPU
MAX_BAD_CHECKS = 3    # stop the storm after this many checks with violations

T0 = time.monotonic()


def log(msg):
    print(f"[{time.monotonic() - T0:8.1f}] {msg}", flush=True)


def run(argv, timeout=60):
    """Runs a command; returns (exit status, stdout + stderr). Never raises on failure."""
    try:
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=timeout, text=True, errors="replace")
        return p.returncode, p.stdout.strip()
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        return 124, (out + f"\n(timed out after {timeout} s)").strip()
    except OSError as e:
        return 127, str(e)


def lib(expr, timeout=60):
    """Runs a bash expression with the test bed's vm-lib loaded."""
    return run(["bash", "-c", ". vm-lib; " + expr], timeout)


def sysval(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return ""


def present(ifname):
    return os.path.exists(f"/sys/class/net/{ifname}")


def mac_of(ifname):
    return sysval(f"/sys/class/net/{ifname}/address")


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
    except OSError:
        return []


def pids():
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def comm(pid):
    return sysval(f"/proc/{pid}/comm")


# --- facts ---------------------------------------------------------------------------------------

def job_pids():
    """The processes of bond0's job (hotbond-settle bond0), whatever started them."""
    return sorted(p for p in pids()
                  if comm(p) == "hotbond-settle" and cmdline(p)[1:2] == [BOND])


def supplicants():
    """wpa_supplicant processes: {pid: interface}."""
    out = {}
    for p in pids():
        if comm(p) != "wpa_supplicant":
            continue
        args = cmdline(p)
        ifname = "?"
        for i, a in enumerate(args):
            if a == "-i" and i + 1 < len(args):
                ifname = args[i + 1]
            elif a.startswith("-i") and len(a) > 2:
                ifname = a[2:]
        out[p] = ifname
    return out


def mentioning(ifname):
    """Processes that mention IF as a word on their command line (hooks, supplicant, wpa_cli,
    clients): none may be left once IF is gone."""
    me = os.getpid()
    out = []
    for p in pids():
        if p == me:
            continue
        args = cmdline(p)
        if any(a == ifname or a.endswith("/" + ifname) or a.endswith("@" + ifname)
               or a.endswith("=" + ifname) or a == "-i" + ifname for a in args):
            out.append(f"{p} {' '.join(args)}")
    return out


def wpa_state():
    rc, out = run(["wpa_cli", "-p", "/run/wpa_supplicant", "-i", WIFI, "status"], 10)
    for line in out.splitlines():
        if line.startswith("wpa_state="):
            return line.split("=", 1)[1]
    return ""


def leases():
    """dnsmasq's leases: {ip: mac}."""
    out = {}
    for line in sysval(f"{VMLAN}/dnsmasq.leases").splitlines():
        f = line.split()
        if len(f) >= 3:
            out[f[2]] = f[1]
    return out


def lease_ip():
    """The DHCP-leased address on bond0 (one in dnsmasq's range 192.0.2.100-199)."""
    rc, out = run(["ip", "-4", "-o", "addr", "show", "dev", BOND], 10)
    for line in out.splitlines():
        f = line.split()
        if len(f) >= 4:
            ip = f[3].split("/")[0]
            o = ip.split(".")
            if ip.startswith("192.0.2.") and 100 <= int(o[3]) <= 199:
                return ip
    return ""


def status_json():
    rc, out = run(["hotbond", "status", BOND, "--json"], 20)
    try:
        st = json.loads(out)
    except ValueError:
        return None, out
    if isinstance(st, list):
        st = next((s for s in st if s.get("bond") == BOND), {})
    return st, out


def proc_sample(pid):
    """(open files, VmRSS KiB) of a process, or None when it is gone."""
    try:
        fds = len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None
    rss = 0
    for line in sysval(f"/proc/{pid}/status").splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1])
    return fds, rss


def cpu_ticks(pid):
    """utime + stime of a process (clock ticks), 0 when gone."""
    st = sysval(f"/proc/{pid}/stat")
    if ")" not in st:
        return 0
    f = st.rsplit(")", 1)[1].split()
    return int(f[11]) + int(f[12])


def descendants(pid):
    kids, frontier = [], [pid]
    parent = {}
    for p in pids():
        for line in sysval(f"/proc/{p}/status").splitlines():
            if line.startswith("PPid:"):
                parent[p] = int(line.split()[1])
    while frontier:
        q = frontier.pop()
        for p, pp in parent.items():
            if pp == q:
                kids.append(p)
                frontier.append(p)
    return kids


# --- the world as the storm made it ------------------------------------------------------------

class World:
    """What the storm did: the state each invariant is judged against."""

    def __init__(self):
        self.wired = False
        self.cable = True
        self.wifi = False
        self.ap = True
        self.dhcp = True

    def expected_slave(self):
        if self.wired and self.cable:
            return WIRED
        if self.wifi and self.ap:
            return WIFI
        return None

    def events(self):
        """The events possible now, with their weights: what restores a link weighs more than
        what breaks one, so that the bond spends most of the storm able to carry traffic and
        switching between wired and Wi-Fi, rather than with nothing at all."""
        ev = [("wired-unplug", 2) if self.wired else ("wired-plug", 4)]
        if self.wired:
            ev.append(("cable-out", 3) if self.cable else ("cable-in", 4))
        ev.append(("wifi-unplug", 2) if self.wifi else ("wifi-plug", 4))
        if self.wifi and self.ap:
            ev.append(("deauth", 1))
        ev.append(("ap-off", 1) if self.ap else ("ap-on", 3))
        ev.append(("dhcp-off", 1) if self.dhcp else ("dhcp-on", 3))
        ev.append(("replay", 1))
        ev.append(("trigger", 1))
        return ev

    def describe(self):
        return (f"wired={'cable-in' if self.wired and self.cable else 'cable-out' if self.wired else 'absent'}"
                f" wifi={'present' if self.wifi else 'absent'} ap={'on' if self.ap else 'off'}"
                f" dhcp={'on' if self.dhcp else 'off'}")


def ap_running():
    rc, out = run(HOSTAPD_CLI + ["status"], 10)
    return rc == 0 and "state=ENABLED" in out


def ap_off():
    pid = sysval(f"{VMLAN}/hostapd.pid")
    if pid.isdigit():
        run(["kill", pid])
        end = time.monotonic() + 10
        while os.path.exists(f"/proc/{pid}") and time.monotonic() < end:
            time.sleep(0.1)
    return 0, "hostapd stopped"


def ap_on():
    rc, out = run(["ip", "netns", "exec", "srv", "hostapd", "-B", "-P", f"{VMLAN}/hostapd.pid",
                   "-f", f"{VMLAN}/hostapd.log", f"{VMLAN}/hostapd.conf"], 30)
    end = time.monotonic() + 20
    while not ap_running():
        if time.monotonic() > end:
            return 1, out + "\nhostapd not ENABLED within 20 s"
        time.sleep(0.2)
    return rc, out


def do_event(w, ev):
    """Performs one event and updates the world; returns (exit status, output). An event that
    hotbond runs (replay) must succeed; the test bed's own ones failing is reported as well."""
    if ev == "wired-plug":
        r = run(["vm-plug-wired", WIRED])
        w.wired, w.cable = True, True
    elif ev == "wired-unplug":
        r = run(["vm-unplug-wired", WIRED])
        w.wired = False
    elif ev == "cable-out":
        r = run(["vm-carrier-wired", "off", WIRED])
        w.cable = False
    elif ev == "cable-in":
        r = run(["vm-carrier-wired", "on", WIRED])
        w.cable = True
    elif ev == "wifi-plug":
        r = run(["vm-plug-wifi", WIFI])
        w.wifi = True
    elif ev == "wifi-unplug":
        r = run(["vm-unplug-wifi", WIFI])
        w.wifi = False
    elif ev == "deauth":
        r = run(HOSTAPD_CLI + ["deauthenticate", mac_of(WIFI)], 10)
    elif ev == "ap-off":
        r = ap_off()
        w.ap = False
    elif ev == "ap-on":
        r = ap_on()
        w.ap = True
    elif ev == "dhcp-off":
        r = run(["vm-dhcp-server", "off"])
        w.dhcp = False
    elif ev == "dhcp-on":
        r = run(["vm-dhcp-server", "on"])
        w.dhcp = True
    elif ev == "replay":
        r = run(["hotbond", "replay"], 60)
    elif ev == "trigger":
        r = run(["udevadm", "trigger", "--action=add", "--subsystem-match=net"], 30)
    else:
        raise ValueError(ev)
    # the test bed's helpers refuse what does not fit reality: follow reality then
    w.wired = present(WIRED)
    w.wifi = present(WIFI)
    return r


# --- the invariants ------------------------------------------------------------------------------

def problems(w, first_ip):
    """Every invariant that does not hold now (empty: all hold)."""
    bad = []
    exp = w.expected_slave()
    jobs = job_pids()
    if len(jobs) != 1:
        bad.append(f"{len(jobs)} processes of {BOND}'s job (want 1): {jobs}")
    if not os.path.isdir(f"/sys/class/net/{BOND}/bonding"):
        return bad + [f"{BOND} does not exist"]
    active = sysval(f"/sys/class/net/{BOND}/bonding/active_slave")
    bmac = mac_of(BOND)
    if exp:
        if active != exp:
            bad.append(f"active slave is '{active}', want {exp}")
        elif bmac != mac_of(exp):
            bad.append(f"{BOND} carries {bmac}, not {exp}'s MAC {mac_of(exp)}")
        st, raw = status_json()
        if st is None:
            bad.append(f"hotbond status --json is not JSON: {raw[:200]}")
        else:
            settle = st.get("settle") or {}
            d = st.get("dhcp") or {}
            if st.get("settled") is not True:
                bad.append(f"status: not settled ({settle.get('reason')})")
            elif settle.get("dhcp_action") != "none":
                if d.get("running") is not True:
                    bad.append(f"status: the DHCP client {d.get('client')} does not run")
                elif d.get("started_with_mac") != bmac:
                    bad.append(f"status: the DHCP client was started with {d.get('started_with_mac')},"
                               f" the bond has {bmac}")
    ip = lease_ip()
    if exp and w.dhcp:
        lm = leases().get(ip)
        if not ip:
            bad.append(f"no leased address on {BOND}")
        elif lm != bmac:
            bad.append(f"the server leased {ip} to {lm}, the bond has {bmac}")
        elif ping_fails(ip):
            bad.append(f"no ping to the LAN's server from {ip}")
    if ip and first_ip and ip != first_ip:
        bad.append(f"the leased address changed: {ip}, first {first_ip}")
    rc, out = lib("dhcp_clients", 20)
    clients = [c for c in out.splitlines() if c.strip()]
    want = "1" if exp else "at most 1"
    if len(clients) > 1 or (exp and len(clients) != 1):
        bad.append(f"{len(clients)} DHCP clients (want {want}): {clients}")
    sup = supplicants()
    want_sup = [WIFI] if w.wifi else []
    if sorted(sup.values()) != want_sup:
        bad.append(f"wpa_supplicant processes {sup} (want one for each of {want_sup})")
    for ifname, here in ((WIRED, w.wired), (WIFI, w.wifi)):
        if not here:
            left = mentioning(ifname)
            if left:
                bad.append(f"{ifname} is gone but processes still mention it: {left}")
    return bad


def ping_fails(ip):
    rc, _ = run(["ping", "-q", "-n", "-c", "1", "-W", "2", "-I", ip, "192.0.2.1"], 10)
    return rc != 0


class Stats:
    def __init__(self):
        self.samples = []    # (check, pid, fds, rss)

    def add(self, check, pid):
        s = proc_sample(pid)
        if s:
            self.samples.append((check, pid, s[0], s[1]))
        return s

    def baseline(self):
        warm = [s for s in self.samples if s[0] <= WARM_CHECKS]
        if len(warm) < WARM_CHECKS or len({s[1] for s in self.samples}) != 1:
            return None
        return max(s[2] for s in warm), max(s[3] for s in warm)

    def summary(self):
        if not self.samples:
            return {}
        fds = [s[2] for s in self.samples]
        rss = [s[3] for s in self.samples]
        return {"samples": len(self.samples), "job_pids": sorted({s[1] for s in self.samples}),
                "fd_first": fds[0], "fd_last": fds[-1], "fd_max": max(fds),
                "rss_kib_first": rss[0], "rss_kib_last": rss[-1], "rss_kib_max": max(rss)}


class Storm:
    def __init__(self):
        self.rng = random.Random(SEED)
        self.w = World()
        self.first_ip = None
        self.sequence = []
        self.checks = 0
        self.bad_checks = 0
        self.violations = []
        self.stats = Stats()
        self.idle = {}
        self.job = None

    def violate(self, where, bad):
        for b in bad:
            log(f"VIOLATION ({where}): {b}")
            self.violations.append(f"{where}: {b}")
        if self.violations and not os.path.exists(f"{RESULTS}/soak-violation.txt"):
            diag(where, bad, self)

    def check(self, where):
        """Waits until hotbond is quiet and every invariant holds (or the deadline passes)."""
        self.checks += 1
        t0 = time.monotonic()
        rc, out = lib(f"wait_quiet {QUIET_SECS}", QUIET_SECS + 30)
        bad = [] if rc == 0 else [f"hotbond's hooks still busy after {QUIET_SECS} s: {out[-300:]}"]
        exp = self.w.expected_slave()
        end = time.monotonic() + CHECK_SECS
        while True:
            now = problems(self.w, self.first_ip)
            if not now or time.monotonic() > end:
                break
            time.sleep(0.5)
        bad += now
        secs = time.monotonic() - t0
        ip = lease_ip()
        if self.first_ip is None and exp and self.w.dhcp and not bad:
            self.first_ip = ip
        jobs = job_pids()
        sample = self.stats.add(self.checks, jobs[0]) if len(jobs) == 1 else None
        if len(jobs) == 1 and self.job not in (None, jobs[0]):
            bad.append(f"{BOND}'s job restarted: pid {self.job}, now {jobs[0]}")
        if len(jobs) == 1:
            self.job = jobs[0]
        base = self.stats.baseline()
        if sample and base and self.checks > WARM_CHECKS:
            if sample[0] > base[0] + FD_SLACK:
                bad.append(f"the job holds {sample[0]} open files, {base[0]} once warm")
            if sample[1] > base[1] + RSS_SLACK_KIB:
                bad.append(f"the job's RSS is {sample[1]} KiB, {base[1]} KiB once warm")
        log(f"check {self.checks} ({where}; {self.w.describe()}; expect {exp or 'no slave'}):"
            f" {'OK' if not bad else 'VIOLATED'} after {secs:.1f} s; active"
            f" {sysval(f'/sys/class/net/{BOND}/bonding/active_slave') or '-'}, lease {ip or '-'},"
            f" job {jobs} fds/rss {sample}")
        if bad:
            self.bad_checks += 1
            self.violate(f"check {self.checks} after {where}", bad)

    def start(self):
        log(f"seed {SEED}, {EVENTS} events, DHCP client {CLIENT}, gaps up to {GAP_MAX} s")
        rc, out = run(["vm-hotbond-config", CLIENT])
        if rc != 0:
            sys.exit(f"vm-hotbond-config {CLIENT} failed: {out}")
        for ev in ("wired-plug", "wifi-plug"):
            rc, out = do_event(self.w, ev)
            log(f"start: {ev} (rc {rc})")
        # Wi-Fi must have joined before the first check: it is the backup from then on
        end = time.monotonic() + 60
        while wpa_state() != "COMPLETED" and time.monotonic() < end:
            time.sleep(0.2)
        self.check("start")

    def storm(self):
        done = 0
        since_check = 0
        next_check = self.rng.randint(2, 5)
        for n in range(1, EVENTS + 1):
            if time.monotonic() - T0 > BUDGET:
                log(f"budget of {BUDGET:.0f} s spent: stopping after {done} of {EVENTS} events")
                break
            if self.bad_checks >= MAX_BAD_CHECKS:
                log(f"{self.bad_checks} checks with violations: stopping after {done} events")
                break
            names, weights = zip(*self.w.events())
            ev = self.rng.choices(names, weights)[0]
            r = self.rng.random()
            gap = 0.0 if r < 0.3 else round(self.rng.uniform(0, GAP_MAX), 2)
            rc, out = do_event(self.w, ev)
            self.sequence.append(ev)
            done = n
            log(f"event {n}: {ev} (rc {rc}) -> {self.w.describe()}; gap {gap} s")
            if rc != 0:
                self.violate(f"event {n} {ev}", [f"exited {rc}: {out[-500:]}"])
            time.sleep(gap)
            since_check += 1
            if since_check >= next_check or n == EVENTS:
                self.check(f"event {n}")
                since_check = 0
                next_check = self.rng.randint(2, 5)
        return done

    def idle_cost(self):
        """CPU time of the job while the bond cannot carry traffic: the cable out without
        Wi-Fi, then no slave at all."""
        if self.w.wifi:
            self.idle_event("wifi-unplug")
        if self.w.wired:
            if self.w.cable:
                self.idle_event("cable-out")
            self.measure_idle("cable out, no Wi-Fi")
            self.idle_event("wired-unplug")
        self.measure_idle("no slave")

    def idle_event(self, ev):
        rc, out = do_event(self.w, ev)
        self.sequence.append(ev)
        log(f"idle: {ev} (rc {rc}) -> {self.w.describe()}")

    def measure_idle(self, name):
        self.check(f"idle: {name}")
        time.sleep(2)   # the job's reaction to the last change is not idling
        jobs = job_pids()
        if len(jobs) != 1:
            return
        procs = [jobs[0]] + descendants(jobs[0])
        before = {p: cpu_ticks(p) for p in procs}
        t0 = time.monotonic()
        time.sleep(IDLE)
        secs = time.monotonic() - t0
        hz = os.sysconf("SC_CLK_TCK")
        job = (cpu_ticks(jobs[0]) - before[jobs[0]]) / hz
        total = sum(max(cpu_ticks(p) - b, 0) for p, b in before.items()) / hz
        self.idle[name] = {"secs": round(secs, 1), "job_cpu_s": job, "with_children_cpu_s": total}
        log(f"idle ({name}): the job used {job:.2f} s of CPU in {secs:.1f} s"
            f" ({total:.2f} s with its {len(procs) - 1} children)")
        if total > IDLE_SHARE * secs:
            self.violate(f"idle: {name}", [f"the job used {total:.2f} s of CPU in {secs:.1f} s"
                                           f" while the bond could not carry traffic"])


def diag(where, bad, storm):
    """The first violation's diagnostics, to the host share and to this log."""
    rc, d = run(["vm-diag"], 60)
    text = "\n".join([f"first violation: {where}", *[f"  {b}" for b in bad],
                      f"world: {storm.w.describe()}; expected slave {storm.w.expected_slave()}",
                      f"seed {SEED}; events so far: {' '.join(storm.sequence)}", "", d])
    with open(f"{RESULTS}/soak-violation.txt", "w") as f:
        f.write(text + "\n")
    print("===== first violation's diagnostics\n" + text + "\n=====", flush=True)


def main():
    s = Storm()
    s.start()
    done = s.storm()
    s.idle_cost()
    summary = {
        "seed": SEED, "events_planned": EVENTS, "events_run": done, "client": CLIENT,
        "boot": "systemd" if os.path.isdir("/run/systemd/system") else "nosystemd",
        "sequence": s.sequence[:done], "checks": s.checks, "violations": len(s.violations),
        "violation_list": s.violations[:50], "first_ip": s.first_ip,
        "job": s.stats.summary(), "idle": s.idle,
        "secs": round(time.monotonic() - T0, 1),
    }
    with open(f"{RESULTS}/soak-summary.json", "w") as f:
        json.dump(summary, f, indent=1)
    log(f"done: {done} events, {s.checks} checks, {len(s.violations)} violations,"
        f" job {summary['job']}, idle {s.idle}")
    return 1 if s.violations else 0


if __name__ == "__main__":
    sys.exit(main())
