#!/bin/bash
# host-dhcp.sh BENCH N : the DHCP clients natively on this host (no TCG), in two network
# namespaces joined by a veth pair (the client's c0, the server's s0) with dnsmasq serving in
# one of them, as tests/dhcp_builtin.rs does.
#
# Run by tests/vm/bench on the host; BENCH is target/release/examples/dhcp_bench. For hotbond's
# in-process client, then for dhclient (when installed), N trials of: start -> the address on c0;
# c0's MAC changed -> the server's lease for the new MAC (dhclient: killed and started again with
# its lease file, as hotbond does with an external client). The client sends hotbond's stable
# client identifier, so the server keeps the address for the new MAC. Prints dhcp_bench's
# "@@BENCH IMPL METRIC N VALUE" lines; prints nothing when it cannot run (not root, no netns,
# no dnsmasq).
set -uo pipefail
BENCH=$1 N=$2
[ "$(id -u)" = 0 ] && [ -x "$BENCH" ] && command -v dnsmasq >/dev/null || exit 0
S=hbdsrv$$ C=hbdcli$$
TMP=$(mktemp -d)
cleanup() {
  local ns p
  for ns in "$C" "$S"; do
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
  done
  rm -rf "$TMP"
}
trap cleanup EXIT
ip netns add "$S" 2>/dev/null && ip netns add "$C" 2>/dev/null || exit 0
ip -n "$S" link add s0 type veth peer name c0 netns "$C"
ip -n "$S" addr add 10.78.0.1/24 dev s0
ip -n "$S" link set s0 up
ip -n "$S" link set lo up
ip -n "$C" link set c0 address 02:78:00:00:00:01 up
ip -n "$C" link set lo up
# no IPv6 on c0: only the DHCPv4 address counts
ip netns exec "$C" sysctl -q -w net.ipv6.conf.c0.disable_ipv6=1
: > "$TMP/leases"
ip netns exec "$S" dnsmasq --conf-file=/dev/null --port=0 --user=root --interface=s0 \
  --bind-interfaces --dhcp-authoritative --no-ping --dhcp-range=10.78.0.50,10.78.0.99,255.255.255.0,10m \
  --dhcp-leasefile="$TMP/leases" --pid-file="$TMP/dnsmasq.pid" --log-dhcp --log-facility="$TMP/dnsmasq.log"
for _ in $(seq 50); do [ -s "$TMP/dnsmasq.pid" ] && break; sleep 0.1; done
[ -s "$TMP/dnsmasq.pid" ] || { echo "dnsmasq did not start" >&2; cat "$TMP/dnsmasq.log" >&2; exit 1; }
A=02:78:00:00:00:01 B=02:78:00:00:00:02

# hotbond's in-process client, driven as the bond's job drives it
ip netns exec "$C" "$BENCH" c0 "$TMP/leases" "$N" $A $B

# dhclient as hotbond starts it (its configuration: no initial delay, 1 s first retransmission,
# hotbond's client identifier), with a fresh lease file for each trial
if command -v dhclient >/dev/null; then
  cid=$(ip netns exec "$C" "$BENCH" --client-id bond0)
  cat > "$TMP/dhclient.conf" <<EOF
initial-delay 0;
initial-interval 1;
backoff-cutoff 4;
send dhcp-client-identifier $cid;
EOF
  ip netns exec "$C" "$BENCH" c0 "$TMP/leases" "$N" $A $B --fresh "$TMP/dhclient.leases" -- \
    "$(command -v dhclient)" -4 -1 -d -cf "$TMP/dhclient.conf" -lf "$TMP/dhclient.leases" \
    -pf "$TMP/dhclient.pid" c0 2>>"$TMP/dhclient.log"
else
  echo "@@BENCH-NOTE native: dhclient is not installed on the host (isc-dhcp-client): no native dhclient figures"
fi
