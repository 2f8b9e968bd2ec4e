#!/bin/bash
# host-hooks.sh METER RUNS : hotbond's hook cost on this host's own kernel, natively (no TCG).
#
# Run by tests/vm/bench on the host. The host kernel has no bonding driver, so this uses the
# bridge master variant, which takes the same path through the hook (configuration, lock,
# rtnetlink, sysfs, the job check), in a throw-away network namespace, with the jobs detached
# (as without systemd) and the release binaries. Prints "@@BENCH hotbond hook_native.NAME.*"
# lines (as bench.sh's hooks do in the guest); prints nothing when it cannot run (not root, no
# netns): the guest's figures stand alone then.
set -uo pipefail
METER=$1 RUNS=$2
REPO=$(cd "$(dirname "$0")/../../.." && pwd)
BIN=$REPO/target/release
[ "$(id -u)" = 0 ] && [ -x "$METER" ] && [ -x "$BIN/hotbond-udev" ] || exit 0
NS=hbhooks$$
TMP=$(mktemp -d -p /run)  # not under /tmp: hotbond refuses a config below a world-writable directory
cleanup() {
  local p
  for p in $(ip netns pids "$NS" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
  ip netns del "$NS" 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT
ip netns add "$NS" 2>/dev/null || exit 0
cat > "$TMP/hotbond.toml" <<'EOF'
[[bond]]
name = "br0"
kind = "bridge"
addresses = ["10.66.0.1/24"]
[bond.dhcp]
client = "none"
[[bond.slave]]
name = "hbv*"
EOF
chmod 0644 "$TMP/hotbond.toml"
in_ns() {
  ip netns exec "$NS" env -i HOTBOND_CONFIG="$TMP/hotbond.toml" HOTBOND_RUN_DIR="$TMP/run" \
    HOTBOND_STATE_DIR="$TMP/state" HOTBOND_SERVICE=detached "$@"
}
veth() { ip -n "$NS" link add "$1" type veth peer name "p$1" && ip -n "$NS" link set "p$1" up; }
lines() {  # NAME : hookmeter output -> @@BENCH lines
  local line n=0 kv w s t
  while read -r line; do
    case "$line" in wall_us=*) ;; *) continue ;; esac
    n=$((n + 1)) w= s= t=
    for kv in $line; do case "$kv" in
      wall_us=*) w=${kv#*=} ;; self_kb=*) s=${kv#*=} ;; tree_kb=*) t=${kv#*=} ;; esac; done
    echo "@@BENCH hotbond hook_native.$1.wall_ms $n $(awk -v u="$w" 'BEGIN {printf "%.3f", u / 1000}')"
    echo "@@BENCH hotbond hook_native.$1.self_kb $n $s"
    echo "@@BENCH hotbond hook_native.$1.tree_kb $n $t"
  done
}
veth hbv0
# the first add creates the bridge and starts the job; then the figures, each RUNS times
in_ns ACTION=add INTERFACE=hbv0 SUBSYSTEM=net "$METER" 1 0 "$BIN/hotbond-udev" | lines udev-add-first
in_ns ACTION=add INTERFACE=hbv0 SUBSYSTEM=net "$METER" "$RUNS" 50 "$BIN/hotbond-udev" | lines udev-add-again
in_ns "$METER" "$RUNS" 50 "$BIN/hotbond-wpa" hbv0 CONNECTED | lines wpa-connected
for i in $(seq 1 "$RUNS"); do
  veth hbv1
  in_ns ACTION=add INTERFACE=hbv1 SUBSYSTEM=net "$METER" 1 0 "$BIN/hotbond-udev" | lines udev-add-enslave
  ip -n "$NS" link del hbv1
  in_ns ACTION=remove INTERFACE=hbv1 SUBSYSTEM=net "$METER" 1 0 "$BIN/hotbond-udev" | lines udev-remove
done
in_ns "$METER" "$RUNS" 50 /bin/true | lines floor-true
