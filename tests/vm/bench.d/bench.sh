#!/bin/bash
# hotbond: yes
# timeout: 1200
# The benchmark, guest side: run by tests/vm/bench (through `tests/vm/run --scenario`), in the
# test bed's prepared guest (systemd PID 1, the LAN up, hotbond installed by install.sh).
#
# Measures, on this one guest, hotbond and systemd-networkd in two forms (its defaults, and with
# its DHCPv4 IAID pinned: networkd/40-bond0.network.d/) managing the same bond (see
# networkd/*.netdev|network and hotbond.toml), taking turns, each figure BENCH_N times after one
# untimed warm-up trial of each, the order of the implementations rotating from trial to trial;
# then hotbond's hook cost and the DHCP clients' start-up with and without the options hotbond
# adds. Never fails on a slow figure: a trial that does not reach its end point within its wait
# gives "nan" and a note (the report counts it as that wait). Results are "@@BENCH IMPL METRIC N
# VALUE" lines (from analyze.py and the hook meter) that the host aggregates.
#
# Environment (tests/vm/bench sets them): BENCH_N trials per figure (5), BENCH_PARTS
# ("networkd hotbond hooks dhcp"), BENCH_FIGS ("wired wifi switch"), BENCH_CLIENT hotbond's DHCP
# client for the main figures (builtin), BENCH_HOOK_RUNS (5), BENCH_HOOKMETER (the static hook
# meter), BENCH_BUDGET (seconds for the networkd and hotbond trials; a trial that would start
# later is skipped, with a note, so that the run ends inside the harness' timeout; the hook
# cost and the DHCP clients run in any case, bounded by their counts).
# The event log goes straight to the host share (results/bench-events.log): the host analyses
# it (analyze.py), so even a run cut short leaves its figures.
set -uo pipefail
. vm-lib

N=${BENCH_N:-5}
PARTS=${BENCH_PARTS:-networkd hotbond hooks dhcp}
FIGS=${BENCH_FIGS:-wired wifi switch}
CLIENT=${BENCH_CLIENT:-builtin}
HOOK_RUNS=${BENCH_HOOK_RUNS:-5}
BUDGET=${BENCH_BUDGET:-600}
D=/mnt/repo/tests/vm/bench.d
HOOKMETER=${BENCH_HOOKMETER:-/mnt/repo/target/bench-tools/hookmeter}
B=/run/bench
R=/mnt/host/results
EV=$R/bench-events.log
CTL=$B/ctl
RULE=/etc/udev/rules.d/90-hotbond.rules
NDUNITS="systemd-networkd.service systemd-networkd.socket"
# How long a trial waits for its end point (s); a trial that misses it counts as this long.
WAIT_WIRED=30 WAIT_WIFI=40 WAIT_SWITCH=15

say() { echo "[$(uptime_s)] bench: $*"; }
note() { echo "@@BENCH-NOTE $*"; say "NOTE: $*"; }
result() { echo "@@BENCH $*"; }
ctl() { echo "$*" > "$CTL"; }
mark() { ctl "mark $EPOCHREALTIME $1"; }
# wait_until SECS CMD... : poll every 0.2 s (the figures come from the recorder, not from here)
wait_until() {
  local end=$(( $(ms) + $1 * 1000 )); shift
  until "$@" >/dev/null 2>&1; do
    [ "$(ms)" -ge "$end" ] && return 1
    sleep 0.2
  done
}

# --- the event recorder ----------------------------------------------------------------------
mkdir -p $B
[ -d $R ] && [ -w $R ] || { R=$B; EV=$B/bench-events.log; }
rm -f "$EV" "$CTL"; mkfifo "$CTL"
python3 $D/nlwatch.py "$EV" "$CTL" "$LEASES" 2>$B/nlwatch.err &
WATCHER=$!
wait_until 30 grep -q ' ready$' "$EV" || { cat $B/nlwatch.err; echo "FAIL: nlwatch.py did not start"; exit 1; }
START=$(ms)
over_budget() { [ $(( ($(ms) - START) / 1000 )) -ge "$BUDGET" ]; }
finish() {
  trap - EXIT TERM INT
  ctl quit 2>/dev/null; wait "$WATCHER" 2>/dev/null
  say "recorded $(wc -l < "$EV") events in $(( ($(ms) - START) / 1000 )) s"
  # the raw material, for whoever wants to look closer (tests/vm/bench keeps them)
  timeout 20 journalctl -q -o short-unix --no-pager > $R/bench-journal.log 2>/dev/null
  cp $B/dc-*.log $R/ 2>/dev/null
  true
}
trap finish EXIT
trap 'note "stopped by a signal"; exit 1' TERM INT

# --- switching between the two network managers --------------------------------------------
hotbond_rule_off() {
  [ -e $RULE ] || return 0
  mv $RULE $B/90-hotbond.rules.off
  udevadm control --reload
}
hotbond_rule_on() {
  [ -e $B/90-hotbond.rules.off ] || return 0
  mv $B/90-hotbond.rules.off $RULE
  udevadm control --reload
}
hotbond_config() {  # CLIENT
  sed "s/@CLIENT@/$1/" $D/hotbond.toml > /etc/hotbond/hotbond.toml
  chmod 0644 /etc/hotbond/hotbond.toml
}
networkd_files() {  # install networkd|networkd-iaid, or remove
  local f
  for f in $D/networkd/*.netdev $D/networkd/*.network; do
    if [ "$1" = install ]; then install -D -m 0644 "$f" /etc/systemd/network/"$(basename "$f")"
    else rm -f /etc/systemd/network/"$(basename "$f")"; fi
  done
  # the IAID-pinned form: the same files plus the drop-in that pins [DHCPv4] IAID=
  rm -rf /etc/systemd/network/40-bond0.network.d
  if [ "$1" = install ] && [ "${2:-}" = networkd-iaid ]; then
    install -D -m 0644 $D/networkd/40-bond0.network.d/50-iaid.conf \
      /etc/systemd/network/40-bond0.network.d/50-iaid.conf
  fi
  if [ "$1" = install ]; then
    install -m 0644 $D/networkd/99-bench-wpa.rules /etc/udev/rules.d/
    cp /etc/wpa_supplicant/wpa_supplicant.conf /etc/wpa_supplicant/wpa_supplicant-wlan0.conf
  else
    rm -f /etc/udev/rules.d/99-bench-wpa.rules /etc/wpa_supplicant/wpa_supplicant-wlan0.conf
  fi
  udevadm control --reload
}
# As at boot: hotbond.service makes the bond and starts its job before any NIC is plugged, as
# networkd makes bond0 from its .netdev when it starts.
hotbond_waiting() { bond_exists bond0 && systemctl -q is-active hotbond-settle@bond0; }
hotbond_start() {
  systemctl start hotbond.service || note "hotbond.service failed to start"
  wait_until 20 hotbond_waiting ||
    note "hotbond.service: no bond0 with a running job within 20 s"
}
networkd_start() {
  systemctl start systemd-networkd.service
  wait_until 20 bond_exists bond0 || note "networkd did not create bond0 within 20 s"
}
networkd_stop() {
  systemctl stop $NDUNITS 'wpa_supplicant@*' 2>/dev/null
  rm -rf /run/systemd/netif/leases/* 2>/dev/null
}

# A clean slate for the next trial, quicker than the test bed's vm-reset (which also undoes
# what any scenario may have done): the NICs unplugged with hotbond's udev rule off (so the
# teardown runs no hook), the bond deleted, the implementation's units and any client or
# supplicant stopped, their state removed. The DHCP server keeps its leases (a LAN's server
# knows its laptop; restarting it costs seconds here): every trial still makes a full
# DISCOVER/REQUEST exchange, since the client has no lease file left.
JOBS_RE='^[^ ]*(hotbond-(settle|udev|wpa)|hotbond exec-[a-z]+|wpa_cli|wpa_supplicant|dhclient|dhcpcd|udhcpc|busybox udhcpc)( |:|$)'
reset_for() {  # networkd|networkd-iaid|hotbond
  local t0 r steps=""; t0=$(ms)
  step_t() { steps+=" $1=$(( $(ms) - t0 ))"; }
  hotbond_rule_off
  if [ "$1" != hotbond ]; then networkd_stop
  else timeout 30 systemctl stop hotbond.service 'hotbond-*@*' 2>/dev/null
    systemctl reset-failed hotbond.service 'hotbond-*@*' 2>/dev/null
  fi
  step_t units
  ip link del bond0 2>/dev/null
  for d in eth1 eth2 dc0; do [ -e /sys/class/net/$d ] && ip link del $d 2>/dev/null; done
  for r in /sys/class/ieee80211/vm-*; do [ -e "$r" ] && vm-hwsim del "${r##*/}"; done
  step_t nics
  udevadm settle -t 10
  step_t settle
  if pgrep -f "$JOBS_RE" >/dev/null; then
    pkill -TERM -f "$JOBS_RE"
    wait_until 5 sh -c "! pgrep -f '$JOBS_RE'" || pkill -KILL -f "$JOBS_RE"
    steps+=" (left: $(pgrep -af "$JOBS_RE" | cut -c1-60 | xargs))"
  fi
  step_t procs
  rm -rf /run/hotbond /var/lib/hotbond/* /run/wpa_supplicant/* /var/lib/dhcpcd/* /run/dhcpcd* \
    /run/systemd/netif/leases/* 2>/dev/null
  ip neigh flush all 2>/dev/null; ip -n srv neigh flush all 2>/dev/null
  step_t state
  if [ "$1" != hotbond ]; then networkd_start
  else hotbond_config "$CLIENT"; hotbond_rule_on; hotbond_start
  fi
  step_t start
  echo "[$(uptime_s)] reset for $1 in $(( $(ms) - t0 )) ms:$steps"
}

lease_via() {  # SLAVE: bond0 holds an address leased to its current MAC, and SLAVE is active
  [ "$(bond_active bond0)" = "$1" ] && lease_matches_bond bond0
}
wlan_ready() {  # wlan0 is a slave of bond0 and authorised
  is_slave wlan0 bond0 && [ "$(sysval /sys/class/net/wlan0/operstate)" = up ]
}
hotbond_idle() {  # no hook of hotbond's running and its bond job, if any, has settled (a late
  # one would blur a trial)
  ! pgrep -x 'hotbond-(udev|wpa)' && { ! systemctl -q is-active hotbond-settle@bond0 ||
    grep -q '"settled": true' /run/hotbond/bond0.json 2>/dev/null; }
}
quiet() {  # IMPL : let the set-up's own events die down before the clock starts
  if [ "$1" = hotbond ]; then
    wait_until 30 hotbond_idle || note "hotbond still busy 30 s after the set-up"
  fi
  sleep 2
}

# --- the figures ------------------------------------------------------------------------------
trial_wired() {  # IMPL N
  reset_for "$1"
  mark "begin:$1:wired:$2"
  vm-plug-wired eth1 >/dev/null
  wait_until $WAIT_WIRED lease_via eth1 || note "$1 wired trial $2: no lease on bond0 within $WAIT_WIRED s"
  sleep 0.5
  mark "end:$1:wired:$2"
  say "$1 wired $2: $(lease_ip bond0) $(bond_mac bond0)"
}

trial_wifi() {  # IMPL N
  reset_for "$1"
  mark "begin:$1:wifi:$2"
  vm-plug-wifi wlan0 >/dev/null
  wait_until $WAIT_WIFI lease_via wlan0 || note "$1 Wi-Fi trial $2: no lease on bond0 within $WAIT_WIFI s"
  sleep 0.5
  mark "end:$1:wifi:$2"
  say "$1 wifi $2: $(lease_ip bond0) $(bond_mac bond0)"
}

switch_trial() {  # IMPL FIG N NEWSLAVE CMD... : one switch between the slaves, pinged 10/s
  local impl=$1 fig=$2 n=$3 new=$4; shift 4
  mark "begin:$impl:$fig:$n"; sleep 0.5
  "$@" >/dev/null
  wait_until $WAIT_SWITCH lease_via "$new" ||
    note "$impl $fig $n: bond0 has no lease with $new's MAC $WAIT_SWITCH s later"
  sleep 1.5
  mark "end:$impl:$fig:$n"
  say "$impl $fig $n: active $(bond_active bond0), $(lease_ip bond0) $(bond_mac bond0)"
}

switch_round() {  # IMPL N : from a fresh set-up (wired active, Wi-Fi authorised backup, 10/s
  # ping): cable out, cable in, wired NIC unplugged, plugged back
  local n=$2
  reset_for "$1"
  vm-plug-wired eth1 >/dev/null
  wait_until 30 lease_via eth1 || note "$1 switch round $n set-up: no wired lease"
  vm-plug-wifi wlan0 >/dev/null
  wait_until 40 wlan_ready || note "$1 switch round $n set-up: wlan0 not enslaved and authorised"
  quiet "$1"
  ctl "ping on $SRV_IP"
  sleep 1
  switch_trial "$1" failover "$n" wlan0 vm-carrier-wired off
  switch_trial "$1" failback "$n" eth1 vm-carrier-wired on
  switch_trial "$1" unplug "$n" wlan0 vm-unplug-wired eth1
  switch_trial "$1" replug "$n" eth1 vm-plug-wired eth1
  ctl "ping off"
}

# --- one figure for each implementation in turn --------------------------------------------
# networkd's units are unmasked once, for the run, and masked again at its end: (un)masking
# reloads systemd, which takes seconds here. While hotbond runs they are stopped (the socket
# too, or netlink traffic would start networkd again) and its udev rule for wpa_supplicant@ is
# gone; while networkd runs (either form: reset_for restarts it, so it reads the form's files),
# hotbond's udev rule is gone and its units are stopped.
USING= UNMASKED=
use() {  # networkd|networkd-iaid|hotbond : make it the only manager of bond0
  [ "$USING" = "$1" ] && return 0
  USING=$1
  if [ "$1" != hotbond ]; then
    hotbond_rule_off
    timeout 30 systemctl stop 'hotbond-*@*' 2>/dev/null
    networkd_files install "$1"
    [ -n "$UNMASKED" ] || { systemctl unmask -q $NDUNITS; UNMASKED=1; }
  else
    networkd_stop
    networkd_files remove
    ip link del bond0 2>/dev/null
    systemctl is-active -q $NDUNITS && note "systemd-networkd is running during hotbond's trials"
  fi
}
networkd_done() {  # after the last trial: hotbond's, networkd masked again
  use hotbond
  [ -n "$UNMASKED" ] && systemctl mask -q $NDUNITS
  UNMASKED=
}

order() {  # K : the implementations rotated by K places, so that each goes first in turn
  local a=($IMPLS) i
  for ((i = 0; i < ${#a[@]}; i++)); do echo "${a[$(( (i + $1) % ${#a[@]} ))]}"; done
}
figure() {  # FIG : a warm-up trial "w" of each implementation (not counted: the first run of
  # a code path pays for cold caches), then N trials of each, interleaved (trial 1 of each, then
  # trial 2, ...) so that drift in the machine's load and the time budget touch all alike, and
  # in rotating order (trial n starts with a different implementation than trial n-1), so that
  # none always runs first on a machine the previous trial has just left
  local impl n
  for n in w $(seq 1 "$N"); do
    for impl in $(order "${n/w/0}"); do
      if over_budget; then note "time budget spent: $impl $1 trial $n skipped"; continue; fi
      use "$impl"
      case $1 in
        wired) trial_wired "$impl" "$n" ;;
        wifi) trial_wifi "$impl" "$n" ;;
        switch) switch_round "$impl" "$n" ;;
      esac
    done
  done
}

# --- hotbond's hooks: wall time and peak RSS per event -----------------------------------------
hook_lines() {  # NAME : hookmeter lines on stdin -> results
  local line n=0 wall_us self_kb tree_kb rc
  while read -r line; do
    case "$line" in wall_us=*) ;; *) continue ;; esac
    wall_us= self_kb= tree_kb= rc=
    for kv in $line; do case "$kv" in
      wall_us=*) wall_us=${kv#*=} ;; self_kb=*) self_kb=${kv#*=} ;;
      tree_kb=*) tree_kb=${kv#*=} ;; rc=*) rc=${kv#*=} ;; esac; done
    n=$((n + 1))
    result "hotbond hook.$1.wall_ms $n $(awk -v u="$wall_us" 'BEGIN {printf "%.2f", u / 1000}')"
    result "hotbond hook.$1.self_kb $n $self_kb"
    result "hotbond hook.$1.tree_kb $n $tree_kb"
    [ "$rc" = 0 ] || note "hook $1 run $n exited $rc"
  done
}

hooks() {
  local udev wpa i
  udev=$(command -v hotbond-udev) wpa=$(command -v hotbond-wpa)
  [ -x "$HOOKMETER" ] || { note "no hook meter at $HOOKMETER: hook cost skipped"; return; }
  # the set-up of the failover trials: eth1 active, wlan0 authorised backup
  reset_for hotbond
  vm-plug-wired eth1 >/dev/null; wait_until 40 lease_via eth1
  vm-plug-wifi wlan0 >/dev/null; wait_until 60 wlan_ready
  quiet hotbond
  say "hook cost: $HOOK_RUNS runs per event"
  # as udev runs it: its environment is the device's properties, no PATH
  env -i ACTION=add INTERFACE=eth1 SUBSYSTEM=net "$HOOKMETER" "$HOOK_RUNS" 400 "$udev" | hook_lines udev-add-again
  env -i "$HOOKMETER" "$HOOK_RUNS" 400 "$wpa" wlan0 CONNECTED | hook_lines wpa-connected
  env -i "$HOOKMETER" "$HOOK_RUNS" 400 "$wpa" wlan0 DISCONNECTED | hook_lines wpa-disconnected
  # a NIC's first add (enslave) and its remove, by hand, udev's hotbond rule off meanwhile
  hotbond_rule_off
  for i in $(seq 1 "$HOOK_RUNS"); do
    ip link add eth2 type veth peer name srv-eth2 netns srv
    env -i ACTION=add INTERFACE=eth2 SUBSYSTEM=net "$HOOKMETER" 1 0 "$udev" | hook_lines udev-add-enslave
    ip link del eth2
    env -i ACTION=remove INTERFACE=eth2 SUBSYSTEM=net "$HOOKMETER" 1 0 "$udev" | hook_lines udev-remove
    sleep 0.4
  done
  hotbond_rule_on
  # what the meter reports for the smallest program: the floor of these figures
  env -i "$HOOKMETER" "$HOOK_RUNS" 100 /bin/true | hook_lines floor-true
}

# --- DHCP clients: start -> first packet -> address, before/after hotbond's start-up options ---
# "after": exactly as hotbond starts the client now (its job `hotbond-settle`, on a plain NIC dc0
# configured as a one-port "bridge", so that the job finds it ready at once);
# "before": that same command line without the options that remove the clients' start-up waits
# (hotbond's command line before it had them). STRIP_ARGS / STRIP_CONF list those options.
# The in-process client (when it is the run's client) has "after" only: it has no command line.
STRIP_ARGS_dhclient="" STRIP_CONF_dhclient="^initial-delay "
STRIP_ARGS_dhcpcd="--nodelay --noarp" STRIP_CONF_dhcpcd=""
STRIP_ARGS_udhcpc="" STRIP_CONF_udhcpc=""

dc_clean() {  # a fresh start: no address, no lease files (so each run starts with DISCOVER)
  ip -4 addr flush dev dc0 2>/dev/null
  rm -rf /var/lib/hotbond/*dc0* /run/hotbond/dhclient-dc0.pid /var/lib/dhcp/*dc0* \
    /var/lib/dhcpcd/*dc0* /run/dhcpcd/* 2>/dev/null
}
dc_has_lease() { ip -4 -o addr show dev dc0 | grep -q ' 192\.0\.2\.1[0-9][0-9]/'; }
dc_run() {  # CLIENT VARIANT N CMD... : one start, measured by the recorder
  local c=$1 v=$2 n=$3 pid t; shift 3
  dc_clean
  rm -f $B/dc-exec /run/hotbond/dhcp/dc0.json /run/hotbond/dc0.dhcp.json
  mark "begin:dhcp:$c.$v:$n"
  if [ "$v" = after ]; then
    setsid "$@" > $B/dc-$c-$v-$n.log 2>&1 &
  else  # the moment of the client's exec, as hotbond-settle records it for "after"
    setsid bash -c 'printf "%s" "$EPOCHREALTIME" > '$B'/dc-exec; exec "$@"' dc-run "$@" > $B/dc-$c-$v-$n.log 2>&1 &
  fi
  pid=$!
  wait_until 30 dc_has_lease || note "dhcp $c $v $n: no address within 30 s ($(tail -2 $B/dc-$c-$v-$n.log | xargs))"
  sleep 0.3
  if [ "$v" = after ]; then
    # (the job's DHCP record: /run/hotbond/dhcp/dc0.json; dc0.dhcp.json in older versions)
    t=$(sed -n 's/.*"updated_unix_ms": *\([0-9]*\).*/\1/p' /run/hotbond/dhcp/dc0.json \
      /run/hotbond/dc0.dhcp.json 2>/dev/null | head -1)
  else  # seconds.microseconds -> milliseconds
    t=$(cat $B/dc-exec 2>/dev/null); t=${t/./}; t=${t:0:13}
  fi
  ctl "info $EPOCHREALTIME dcexec:dhcp:$c.$v:$n ms=${t:-}"
  mark "end:dhcp:$c.$v:$n"
  kill -KILL -- -"$pid" 2>/dev/null; wait "$pid" 2>/dev/null
}
dhcp_clients() {
  local c n cfg argv strip conf a i keep
  reset_for hotbond
  vm-plug-wired dc0 >/dev/null
  ip link set dc0 up
  wait_until 10 sh -c '[ "$(cat /sys/class/net/dc0/carrier)" = 1 ]'
  for c in dhclient dhcpcd udhcpc $([ "$CLIENT" = builtin ] && echo builtin); do
    cfg=$B/dc-$c.toml
    printf '[[bond]]\nname = "dc0"\nkind = "bridge"\n[bond.dhcp]\nclient = "%s"\n[[bond.slave]]\nname = "dcs*"\n' "$c" > $cfg
    chmod 0644 $cfg
    for n in $(seq 1 "$N"); do dc_run $c after "$n" env HOTBOND_CONFIG=$cfg hotbond-settle dc0; done
    [ "$c" = builtin ] && continue
    # the command line hotbond started (its log line "dc0: run ARGV"; "exec" in older versions)
    argv=$(journalctl -q -t hotbond -o cat 2>/dev/null | sed -n -E 's/^dc0: (exec|run) //p' | tail -1)
    if [ -z "$argv" ]; then note "dhcp $c: hotbond's 'dc0: run ...' line not in the journal: 'before' skipped"; continue; fi
    echo "@@BENCH-ARGV $c after: $argv"
    eval "strip=\$STRIP_ARGS_$c conf=\$STRIP_CONF_$c"
    keep=()
    for a in $argv; do [[ " $strip " == *" $a "* ]] || keep+=("$a"); done
    if [ -n "$conf" ]; then  # dhclient: the config file hotbond wrote, without those statements
      grep -v -E "$conf" /run/hotbond/dhclient-dc0.conf > $B/dc-before.conf
      for ((i = 0; i < ${#keep[@]} - 1; i++)); do
        [ "${keep[$i]}" = -cf ] && keep[$((i + 1))]=$B/dc-before.conf
      done
      echo "@@BENCH-ARGV $c after, config: $(grep -v '^#' /run/hotbond/dhclient-dc0.conf | xargs)"
      echo "@@BENCH-ARGV $c before, config: $(grep -v '^#' $B/dc-before.conf | xargs)"
    fi
    echo "@@BENCH-ARGV $c before: ${keep[*]}"
    for n in $(seq 1 "$N"); do dc_run $c before "$n" "${keep[@]}"; done
  done
  vm-unplug-wired dc0 >/dev/null
}

# --- the run ----------------------------------------------------------------------------------
IMPLS=
[[ " $PARTS " == *" hotbond "* ]] && IMPLS+=" hotbond"
[[ " $PARTS " == *" networkd "* ]] && IMPLS+=" networkd networkd-iaid"
# the waits, for the report (a trial that missed its end point counts as its wait)
echo "@@BENCH-WAIT wired $WAIT_WIRED"
echo "@@BENCH-WAIT wifi $WAIT_WIFI"
echo "@@BENCH-WAIT switch $WAIT_SWITCH"
say "N=$N implementations:$IMPLS figures='$FIGS' parts='$PARTS' hotbond's DHCP client $CLIENT," \
  "budget ${BUDGET}s; $(networkctl --version | head -1); $(nproc) CPUs; kernel $(uname -r)"
T0=$(ms)
vm-dhcp-server reset > /dev/null || note "vm-dhcp-server reset failed"
if [ -n "$IMPLS" ]; then
  for f in wired wifi switch; do [[ " $FIGS " == *" $f "* ]] && figure $f; done
  networkd_done   # the rest runs on hotbond
fi
[[ " $PARTS " == *" hooks "* ]] && hooks
[[ " $PARTS " == *" dhcp "* ]] && dhcp_clients
say "all parts done in $(( ($(ms) - T0) / 1000 )) s"
exit 0
