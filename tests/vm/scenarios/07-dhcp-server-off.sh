#!/bin/bash
# boot: systemd
# timeout: 240
# Scenario 7, DHCP server off: the static fail-safe address from the config is on bond0, the LAN's
# server is reachable through it, and exactly one DHCP client keeps asking; once the server is
# back, that client gets a lease for the bond's MAC.
set -euo pipefail
. vm-lib

step "no DHCP server on the LAN; plug wired"
vm-dhcp-server off
vm-plug-wired eth1
wait_for "eth1 is the active slave" 30 active_is eth1
wait_for "bond0 has the static fail-safe address 192.0.2.250/24" 30 has_addr bond0 192.0.2.250/24
expect "bond0 settled, a DHCP client started for its MAC (vm-wait-settled)" vm-wait-settled bond0 60
wait_quiet
show_status
expect_eq "leased address on bond0" "$(lease_ip)" ""
expect_eq "DHCP clients on bond0" "$(dhcp_client_count)" 1
expect "ping the LAN's server from the static address" vm-ping-lan

step "the DHCP server comes back"
MAC=$(bond_mac)
vm-dhcp-server on
# The client retries on its own (hotbond's clients retry every few seconds).
wait_for "bond0 has a lease for its MAC" 60 lease_matches_bond
show_status
IP=$(lease_ip)
expect_eq "MAC the server leased $IP to" "$(vm-lease-mac "$IP")" "$MAC"
expect_eq "bond0's MAC" "$(bond_mac)" "$MAC"
expect "bond0 keeps the static fail-safe address" has_addr bond0 192.0.2.250/24
expect_eq "DHCP clients on bond0" "$(dhcp_client_count)" 1
expect "ping the LAN's server" vm-ping-lan
