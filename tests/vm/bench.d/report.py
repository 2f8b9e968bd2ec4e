#!/usr/bin/env python3
"""report.py RESULTS [HEADER] : the benchmark's tables (host side), from the @@BENCH lines of a
run (bench.sh and analyze.py in the guest, binary sizes from tests/vm/bench).

Prints: the DHCP clients' before/after table, notes, and last the main table
  figure | hotbond | networkd | ratio
Each cell is "median (min-max)" over the trials; "k/n none" when k of n trials never got there
(e.g. no lease within the wait). ratio = hotbond median / networkd median (below 1: hotbond is
faster or loses fewer pings).
"""
import statistics
import sys

vals, nans, notes, argvs = {}, {}, [], []
with open(sys.argv[1], errors="replace") as f:
    for line in f:
        line = line.strip()
        if line.startswith("@@BENCH-NOTE "):
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


def cell(impl, metric, unit="ms"):
    v = vals.get((impl, metric), [])
    k = nans.get((impl, metric), 0)
    if not v and not k:
        return "-", None
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
for c in ("dhclient", "dhcpcd", "udhcpc"):
    b1, _ = cell("dhcp", c + ".before.first_ms")  # noqa
    b2, bm = cell("dhcp", c + ".before.lease_ms")
    a1, _ = cell("dhcp", c + ".after.first_ms")
    a2, am = cell("dhcp", c + ".after.lease_ms")
    if b2 == "-" and a2 == "-":
        continue
    ratio = "%.2fx" % (am / bm) if am is not None and bm else "-"
    drows.append([c, b1, b2, a1, a2, ratio])
if drows:
    print("\nDHCP clients on a plain NIC, started as hotbond starts them (ms; median (min-max)):")
    print("before = hotbond's command line without the start-up options it now adds; after = as now;")
    print("clock from the client's exec\n")
    table(drows, ["client", "before: exec -> 1st packet", "before: exec -> address",
                  "after: exec -> 1st packet", "after: exec -> address", "after/before"])
    sp = []
    for c in ("dhclient", "dhcpcd", "udhcpc"):
        sp += vals.get(("dhcp", c + ".after.spawn_ms"), [])
    if sp:
        print("  (before that exec, `hotbond-settle` itself took %.0f ms (median, %.0f-%.0f)"
              " from the shell's fork)" % (statistics.median(sp), min(sp), max(sp)))
    for a in argvs:
        print("  " + a)

if notes:
    print("\nnotes:")
    for n in notes:
        print("  - " + n)

# --- the main table --------------------------------------------------------------------------
SW = [("failover", "cable pulled", "Wi-Fi"), ("failback", "cable back", "wire"),
      ("unplug", "wired NIC unplugged", "Wi-Fi"), ("replug", "wired NIC replugged", "wire")]
rows = []


def row(label, metric, unit="ms", impls=("hotbond", "networkd"), ratio=True):
    h, hm = cell("hotbond", metric, unit) if "hotbond" in impls else ("-", None)
    n, nm = cell("networkd", metric, unit) if "networkd" in impls else ("-", None)
    if h == "-" and n == "-":
        return
    r = "%.2fx" % (hm / nm) if ratio and hm is not None and nm else "-"
    rows.append([label, h, n, r])


row("wired plug -> lease (ms)", "wired.lease_ms")
row("Wi-Fi CONNECTED -> lease, wireless-only start (ms)", "wifi.lease_ms")
row("Wi-Fi plug -> lease, wireless-only start (ms)", "wifi.plug_lease_ms")
for fig, what, new in SW:
    mac = "Wi-Fi" if new == "Wi-Fi" else "wired"
    row("%s -> first ping answered over %s (ms)" % (what, new), fig + ".first_ping_ms")
    row("%s: pings lost (of 10/s)" % what, fig + ".lost", unit="n")
    row("%s -> lease re-acquired with the %s MAC (ms)" % (what, mac), fig + ".reacq_ms")
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

print("\nhotbond vs systemd-networkd, same guest, same run (median (min-max) over the trials):\n")
table(rows, ["figure", "hotbond", "networkd", "ratio"])
