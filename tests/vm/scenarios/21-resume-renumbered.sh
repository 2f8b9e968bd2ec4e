#!/bin/bash
# boot: systemd
# timeout: 240
# Scenario 21: the laptop wakes from a suspend on another network, the cable in all along (no
# link event at all). The sleep hook's `post` has the bond's job confirm its lease at once: the
# built-in client asks for its address again (INIT-REBOOT), the server of the new subnet refuses
# it (DHCPNAK), the old address goes and a lease on the new subnet follows within seconds; the
# static fail-safe address stays, one DHCP client runs, the new gateway answers. Running `post`
# again is harmless; a wrong phase or kind is refused with exit 2. HB_DHCP_CLIENT=dhclient
# (21-resume-renumbered-dhclient.sh) runs the same with dhclient, which is restarted instead.
set -euo pipefail
. vm-lib
CLIENT=${HB_DHCP_CLIENT:-builtin}
vm-hotbond-config "$CLIENT"
HOOK=/usr/lib/systemd/system-sleep/hotbond
NEW_GW=$RENUMBERED_NET.1
# the address leased on the renumbered subnet (dnsmasq's range .100-.199)
new_lease_ip() { ipv4_addrs bond0 | sed -n "s#^\(${RENUMBERED_NET//./\\.}\.1[0-9][0-9]\)/24\$#\1#p" | head -1; }
new_lease_matches_bond() {
  local ip; ip=$(new_lease_ip); [ -n "$ip" ] || return 1
  [ "$(lease_mac_of "$ip")" = "$(bond_mac)" ]
}
carrier_changes() { sysval /sys/class/net/eth1/carrier_changes; }

step "the sleep hook is installed; wired up (DHCP client: $CLIENT)"
expect "$HOOK is executable" test -x "$HOOK"
expect "hotbond sleep --help" hotbond sleep --help
bring_up_wired eth1
OLD=$(lease_ip)
expect "a lease on 192.0.2.0/24" test -n "$OLD"
JOB=$(dhcp_client_pids)
CARRIER=$(carrier_changes)

step "suspend: $HOOK pre suspend"
expect "pre succeeds" "$HOOK" pre suspend
expect "pre changed nothing: $OLD still on bond0" has_addr bond0 "$OLD/24"

step "while asleep the LAN moves to $RENUMBERED_NET.0/24 (gateway $NEW_GW), the cable stays in"
vm-dhcp-server renumber
expect "the gateway is now $NEW_GW" sh -c "ip -n srv -4 -o addr show dev br0 | grep -q ' $NEW_GW/24'"

step "resume: $HOOK post suspend"
t0=$(ms)
expect "post succeeds" "$HOOK" post suspend
nak() { grep -q "DHCPNAK(br0) $OLD " "$DHCP_LOG"; }
wait_for "the server of the new subnet refused $OLD (DHCPNAK)" 10 nak
wait_for "bond0 has a lease on $RENUMBERED_NET.0/24 for its MAC" 15 new_lease_matches_bond
NEW=$(new_lease_ip)
echo "post -> new lease $NEW: $(( $(ms) - t0 )) ms"
show_status
expect "$OLD is gone from bond0" not has_addr bond0 "$OLD/24"
expect "bond0 keeps the static fail-safe address" has_addr bond0 192.0.2.250/24
expect_eq "DHCP clients running" "$(dhcp_client_count)" 1
if [ "$CLIENT" = builtin ]; then
  expect_eq "the bond's job is the one that ran before the sleep" "$(dhcp_client_pids)" "$JOB"
fi
expect_eq "eth1's carrier changes (no link event)" "$(carrier_changes)" "$CARRIER"
expect "the default route goes by $NEW_GW" sh -c "ip -4 route show default dev bond0 | grep -q 'via $NEW_GW '"
ping_gw() { ping -q -n -c 2 -i 0.2 -w 6 -I "$NEW" "$NEW_GW" >/dev/null; }
expect "ping the new gateway $NEW_GW from $NEW" ping_gw

step "post again: harmless"
expect "post succeeds again" "$HOOK" post suspend
wait_quiet
kept() { [ "$(new_lease_ip)" = "$NEW" ] && new_lease_matches_bond; }
wait_for "bond0 still has $NEW for its MAC" 15 kept
expect_eq "DHCP clients running" "$(dhcp_client_count)" 1
expect "ping the new gateway $NEW_GW from $NEW" ping_gw

step "bad input: one line, exit 2"
bad() {
  local rc=0 err; err=$("$HOOK" "$@" 2>&1 >/dev/null) || rc=$?
  echo "  $HOOK $*: exit $rc: $err"
  [ "$rc" = 2 ] && [ "$(printf '%s\n' "$err" | grep -c .)" = 1 ]
}
expect "an unknown kind" bad post nap
expect "an unknown phase" bad resume suspend
expect "no arguments" bad
expect "a refusal is in syslog" sh -c "journalctl -t hotbond --since=-1min | grep -q 'unknown sleep kind'"
expect "bond0 still has $NEW" has_addr bond0 "$NEW/24"
