#!/bin/bash
# boot: systemd
# timeout: 180
# Scenario 7, DHCP server off: the static fail-safe address from the config is on bond0, and the
# LAN's server is reachable through it.
set -euo pipefail
. vm-lib

step "no DHCP server on the LAN; plug wired"
vm-dhcp-server off
vm-plug-wired eth1
wait_for "eth1 is the active slave" 30 active_is eth1
wait_for "bond0 has the static fail-safe address 192.0.2.250/24" 30 has_addr bond0 192.0.2.250/24
wait_quiet
show_status
expect_eq "leased address on bond0" "$(lease_ip)" ""
n=$(dhcp_client_count)
[ "$n" -le 1 ] || fail "$n DHCP clients on bond0: $(dhcp_clients)"
pass "at most one DHCP client ($n) keeps asking"
expect "ping the LAN's server from the static address" vm-ping-lan
