#!/usr/bin/env python3
"""report.py RESULTS [HEADER] : the benchmark's tables (host side), from the @@BENCH lines of a
run (bench.sh and analyze.py in the guest, binary sizes from tests/vm/bench).

Prints: the DHCP clients' before/after table, notes, and last the main table
  figure | hotbond | networkd (defaults) | networkd (IAID pinned) | ratio
Each cell is "median (min-max)" over the trials. A trial that never reached a timed end point
within its wait counts as that wait (bench.sh's @@BENCH-WAIT lines: "k/n timed out"), in the
median and in the range; for the other figures "k/n none" says in how many trials the figure
had no value, and the median is of the rest. ratio = hotbond's median / the better (lower) of
the two networkd medians (below 1: hotbond is faster or loses fewer pings).
"""
import statistics
import sys

vals, nans, notes, argvs = {}, {}, [], []
# s; bench.sh says its own; "native": examples/dhcp_bench's wait on the host
waits = {"wired": 30.0, "wifi": 40.0, "switch": 15.0, "native": 10.0}
with open(sys.argv[1], errors="replace") as f:
    for line in f:
        line = line.strip()
        if line.startswith("@@BENCH-WAIT "):
            w = line.split()
            if len(w) == 3:
                waits[w[1]] = float(w[2])
        elif line.startswith("@@BENCH-NOTE "):
            notes.append(line[len("@@BENCH-NOTE "):])
        elif line.startswith("@@BENCH-ARGV "):
            argvs.append(line[len("@@BENCH-ARGV "):])
        elif line.startswith("@@BENCH "):
            w = line.split()
            if len(w) < 5:
                continue
            key = (w[1], w[2])
            try:
                v = float(w[4])
            except ValueError:
                continue
            if v != v:  # nan
                nans[key] = nans.get(key, 0) + 1
            else:
                vals.setdefault(key, []).append(v)

if len(sys.argv) > 2:
    with open(sys.argv[2]) as f:
        sys.stdout.write(f.read())


def num(v, unit):
    if unit == "kib":
        return "%.0f" % v
    if unit == "ms":
        return "%.0f" % v if v >= 10 else "%.1f" % v
    return "%.0f" % v


SWITCH_FIGS = ("failover", "failback", "unplug", "replug")


def timeout_ms(metric):
    """The wait a trial that never reached METRIC's end point counts as, or None when METRIC is
    not timed to an end point the trial waits for."""
    fig, _, what = metric.partition(".")
    if what not in ("lease_ms", "addr_ms", "plug_lease_ms", "reacq_ms", "first_ping_ms"):
        return None
    group = "switch" if fig in SWITCH_FIGS else ("native" if fig in ("start", "mac") else fig)
    return waits[group] * 1000.0 if group in waits else None


def cell(impl, metric, unit="ms"):
    v = vals.get((impl, metric), [])
    k = nans.get((impl, metric), 0)
    if not v and not k:
        return "-", None
    tmo = timeout_ms(metric) if unit == "ms" else None
    if tmo is not None and k:
        v = v + [tmo] * k
        med = statistics.median(v)
        s = num(med, unit)
        if len(v) > 1:
            s += " (%s-%s)" % (num(min(v), unit), num(max(v), unit))
        return s + ", %d/%d timed out" % (k, len(v)), med
    if unit == "bool":  # "yes (3/3)"; trials with no re-acquired lease count as "none"
        if not v:
            return "none (%d/%d)" % (k, k), None
        yes = int(sum(v))
        word = "yes" if yes == len(v) else ("no" if yes == 0 else "mixed")
        s = "%s (%d/%d)" % (word, yes, len(v))
        if k:
            s += ", %d/%d none" % (k, k + len(v))
        return s, None
    if not v:
        return "none (%d/%d)" % (k, k), None
    med = statistics.median(v)
    s = num(med, unit)
    if len(v) > 1:
        s += " (%s-%s)" % (num(min(v), unit), num(max(v), unit))
    if k:
        s += ", %d/%d none" % (k, k + len(v))
    return s, med


def pooled(impl, suffix):
    """All of IMPL's metrics ending in SUFFIX, as one list (e.g. every settle_overhead_ms)."""
    v, k = [], 0
    for (i, m), xs in vals.items():
        if i == impl and m.endswith(suffix):
            v += xs
    for (i, m), c in nans.items():
        if i == impl and m.endswith(suffix):
            k += c
    vals[(impl, "*" + suffix)] = v
    nans[(impl, "*" + suffix)] = k
    return "*" + suffix


def table(rows, header):
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
    line = lambda r: "| " + " | ".join(c.ljust(widths[i]) for i, c in enumerate(r)) + " |"
    print(line(header))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print(line(r))


# --- DHCP clients: before/after ----------------------------------------------------------------
drows = []
for c in ("dhclient", "dhcpcd", "udhcpc", "builtin"):
    b1, _ = cell("dhcp", c + ".before.first_ms")  # noqa
    b2, bm = cell("dhcp", c + ".before.lease_ms")
    a1, _ = cell("dhcp", c + ".after.first_ms")
    a2, am = cell("dhcp", c + ".after.lease_ms")
    tot, _ = cell("dhcp", c + ".after.total_ms")
    if b2 == "-" and a2 == "-":
        continue
    ratio = "%.2fx" % (am / bm) if am is not None and bm else "-"
    drows.append([c, b1, b2, a1, a2, tot, ratio])
if drows:
    print("\nDHCP clients on a plain NIC, started as hotbond starts them (ms; median (min-max)):")
    print("before = hotbond's command line without the start-up options it now adds; after = as now;")
    print("clock from the client's exec (the in-process client: from the job's fork), and in the")
    print("last-but-one column from the fork of `hotbond-settle` for every client\n")
    table(drows, ["client", "before: exec -> 1st packet", "before: exec -> address",
                  "after: exec -> 1st packet", "after: exec -> address",
                  "after: job's fork -> address", "after/before"])
    sp = []
    for c in ("dhclient", "dhcpcd", "udhcpc"):
        sp += vals.get(("dhcp", c + ".after.spawn_ms"), [])
    if sp:
        print("  (before that exec, `hotbond-settle` itself took %.0f ms (median, %.0f-%.0f)"
              " from the shell's fork)" % (statistics.median(sp), min(sp), max(sp)))
    for a in argvs:
        print("  " + a)

# --- DHCP clients natively on the host (host-dhcp.sh) --------------------------------------------
nrows = []
for c, label in (("builtin_native", "hotbond's in-process client"), ("dhclient_native", "dhclient")):
    a, _ = cell(c, "start.addr_ms")
    m, _ = cell(c, "mac.lease_ms")
    if a != "-" or m != "-":
        nrows.append([label, a, m])
if nrows:
    print("\nDHCP clients natively on this host (no VM; veth + dnsmasq in two netns; ms, median (min-max)):")
    print("dhclient as hotbond runs it: on a MAC change killed and started again with its lease file\n")
    table(nrows, ["client", "start -> address on the NIC", "MAC changed -> server's lease for it"])

if notes:
    print("\nnotes:")
    for n in notes:
        print("  - " + n)

# --- the main table --------------------------------------------------------------------------
SW = [("failover", "cable pulled", "Wi-Fi"), ("failback", "cable back", "wire"),
      ("unplug", "wired NIC unplugged", "Wi-Fi"), ("replug", "wired NIC replugged", "wire")]
rows = []
IMPLS = ("hotbond", "networkd", "networkd-iaid")


def row(label, metric, unit="ms", impls=IMPLS, ratio=True):
    cells = [cell(i, metric, unit) if i in impls else ("-", None) for i in IMPLS]
    if all(c[0] == "-" for c in cells):
        return
    hm = cells[0][1]
    nds = [c[1] for c in cells[1:] if c[1] is not None]
    best = min(nds) if nds else None
    if not ratio or hm is None or best is None:
        r = "-"
    elif best:
        r = "%.2fx" % (hm / best)
    else:
        r = "=" if hm == 0 else "-"
    rows.append([label] + [c[0] for c in cells] + [r])


row("wired plug -> server's lease (ms)", "wired.lease_ms")
row("wired plug -> leased address on bond0 (ms)", "wired.addr_ms")
row("Wi-Fi CONNECTED -> server's lease, wireless-only start (ms)", "wifi.lease_ms")
row("Wi-Fi CONNECTED -> leased address on bond0 (ms)", "wifi.addr_ms")
row("Wi-Fi plug -> server's lease, wireless-only start (ms)", "wifi.plug_lease_ms")
for fig, what, new in SW:
    mac = "Wi-Fi" if new == "Wi-Fi" else "wired"
    row("%s -> first ping answered over %s (ms)" % (what, new), fig + ".first_ping_ms")
    row("%s: pings lost (of 10/s)" % what, fig + ".lost", unit="n")
    row("%s -> server's lease for the %s MAC (ms)" % (what, mac), fig + ".reacq_ms")
    row("%s -> that address on bond0 (ms)" % what, fig + ".addr_ms")
    row("%s: same IP address after it" % what, fig + ".same_ip", unit="bool", ratio=False)
for fig, what in [("wired", "wired plug"), ("wifi", "Wi-Fi start"), ("failover", "cable pulled"),
                  ("failback", "cable back"), ("unplug", "NIC unplugged"), ("replug", "NIC replugged")]:
    row("bond ready -> first DHCP packet, %s (ms)" % what, fig + ".gate_ms")
row("settle overhead: bond0.json settle_overhead_ms, all events (ms)",
    pooled("hotbond", ".settle_ms"), impls=("hotbond",))
row("settle gate: bond ready -> DHCP client started/signalled, all events (ms)",
    pooled("hotbond", ".exec_ms"), impls=("hotbond",))
LABELS = {"udev-add-first": "hotbond-udev add, first NIC (creates the master, starts the job)",
          "udev-add-enslave": "hotbond-udev add, new NIC (enslave)",
          "udev-add-again": "hotbond-udev add, NIC already enslaved",
          "udev-remove": "hotbond-udev remove",
          "wpa-connected": "hotbond-wpa CONNECTED",
          "wpa-disconnected": "hotbond-wpa DISCONNECTED",
          "floor-true": "/bin/true, for scale"}


def hook_rows(title, metric, hooks, children):
    for h in hooks:
        label = "%s %s" % (title, LABELS[h])
        row("%s: wall (ms)" % label, "%s.%s.wall_ms" % (metric, h), impls=("hotbond",))
        row("%s: peak RSS (KiB)" % label, "%s.%s.self_kb" % (metric, h), unit="kib",
            impls=("hotbond",))
        if children:
            row("%s: peak RSS with children (KiB)" % label, "%s.%s.tree_kb" % (metric, h),
                unit="kib", impls=("hotbond",))


# in the guest, under TCG; then natively on the host's kernel (bridge variant in a netns:
# host-hooks.sh), where the hooks wait for no child
hook_rows("hook", "hook", ["udev-add-enslave", "udev-add-again", "udev-remove", "wpa-connected",
                           "wpa-disconnected", "floor-true"], True)
hook_rows("native hook", "hook_native", ["udev-add-first", "udev-add-enslave", "udev-add-again",
                                         "udev-remove", "wpa-connected", "floor-true"], False)
for b in ("hotbond", "hotbond-udev", "hotbond-wpa", "hotbond-settle"):
    row("release binary %s (KiB)" % b, "size.%s_kib" % b, unit="kib", impls=("hotbond",))

print("\nhotbond vs systemd-networkd, same guest, same run (median (min-max) over the trials;")
print("ratio: hotbond / the better networkd):\n")
table(rows, ["figure", "hotbond", "networkd (defaults)", "networkd (IAID pinned)", "ratio"])
