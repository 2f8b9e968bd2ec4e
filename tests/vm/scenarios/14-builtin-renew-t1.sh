#!/bin/bash
# boot: systemd
# timeout: 200
# The built-in client renews at T1, the renewal time the server gives (option 58): 15 s, in
# 2-minute leases (dnsmasq's shortest), where half the lease would be 60 s. The renewal is one
# REQUEST and its ACK (no DISCOVER); the address stays on the bond throughout and the kernel's
# lifetime of it is refreshed in place.
set -euo pipefail
. vm-lib
vm-hotbond-config builtin
VM_DHCP_OPTS=--dhcp-option=option:T1,15 vm-dhcp-server reset 100 199 2m

step "wired, with 2-minute leases and T1 15 s (DHCP client: builtin)"
bring_up_wired eth1
IP=$(lease_ip); MAC=$(mac_of eth1)
acks() { grep -c "DHCPACK(br0) $IP $MAC" "$DHCP_LOG" || true; }
valid_lft() { ip -4 -o addr show dev bond0 | grep " $IP/" | grep -o 'valid_lft [0-9]*' | grep -o '[0-9]*'; }
A0=$(acks); L0=$(valid_lft)
echo "lease $IP for $MAC, valid_lft $L0 s, $A0 ACK(s) so far"
expect "the kernel holds the lease's lifetime (at most 120 s)" test "${L0:-999}" -le 120

step "wait for the renewal at T1"
t0=$(ms)
renewed() { [ "$(acks)" -gt "$A0" ]; }
wait_for "the server acknowledged a renewal of $IP" 90 renewed
took=$(( $(ms) - t0 ))
# t0 is a few seconds after the lease was bound
expect "the renewal came at T1 (15 s), not before, nor at half the lease (after $took ms)" \
  test "$took" -ge 5000 -a "$took" -lt 45000
L1=$(valid_lft)
expect "the address's lifetime was refreshed ($L0 s -> $L1 s)" test "${L1:-0}" -ge 100
expect_eq "lease address (kept)" "$(lease_ip)" "$IP"
expect_eq "DHCPDISCOVERs (only the first)" "$(grep -c DHCPDISCOVER "$DHCP_LOG")" 1
state() { hotbond status bond0 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["dhcp"]["builtin"]["state"])'; }
expect_eq "DHCP state" "$(state)" BOUND
show_status
expect "ping the LAN's server" vm-ping-lan
