#!/bin/bash
# boot: systemd
# timeout: 180
# Scenario 1, wired plug: bond0 gets a lease; the server leased it to the wired NIC's MAC; ping works.
# HB_DHCP_CLIENT picks the DHCP client (default builtin, the project's default; scenario 9 runs this with the external clients).
set -euo pipefail
. vm-lib
CLIENT=${HB_DHCP_CLIENT:-builtin}
vm-hotbond-config "$CLIENT"

step "plug the wired NIC eth1 (DHCP client: $CLIENT)"
# udev runs hotbond-udev inside the add event; it must not wait for the network (udev kills slow
# RUN programs and holds later events back). How fast it returns is the benchmark's business
# (tests/vm/bench); here the bound only catches a hook that waits (for the settle job, DHCP,
# the supplicant), with room for a loaded emulated machine.
t0=$(ms)
vm-plug-wired eth1
udevadm settle -t 60
took=$(( $(ms) - t0 ))
[ "$took" -lt 20000 ] || fail "udev needed $took ms to process the plug: a RUN+= program (hotbond-udev) waits for something"
pass "udev processed the plug's events in $took ms"
wait_for "eth1 enslaved to bond0" 30 is_slave eth1
wait_for "eth1 is the active slave" 30 active_is eth1
expect "bond0 settled (vm-wait-settled)" vm-wait-settled bond0 60
wait_for "bond0 has a lease for its MAC" 60 lease_matches_bond
show_status
IP=$(lease_ip)
expect_eq "MAC the server leased $IP to" "$(vm-lease-mac "$IP")" "$(mac_of eth1)"
expect_eq "bond0's MAC" "$(bond_mac)" "$(mac_of eth1)"
expect "bond0 has the static fail-safe address too" has_addr bond0 192.0.2.250/24
expect_eq "DHCP clients running" "$(dhcp_client_count)" 1
dhcp_clients | grep -q "$CLIENT" || fail "the running DHCP client is not $CLIENT: $(dhcp_clients)"
pass "the running DHCP client is $CLIENT"
expect "ping the LAN's server" vm-ping-lan
