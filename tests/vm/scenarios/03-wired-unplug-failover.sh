#!/bin/bash
# boot: systemd
# timeout: 240
# Scenario 3, wired unplug: failover to Wi-Fi; after settle the DHCP client re-acquired with the
# Wi-Fi MAC; the same IP address is kept (stable client-id); ping works.
# HB_DHCP_CLIENT picks the DHCP client (default builtin, the project's default; scenario 9 runs this with the external clients).
set -euo pipefail
. vm-lib
CLIENT=${HB_DHCP_CLIENT:-builtin}
vm-hotbond-config "$CLIENT"

step "wired and Wi-Fi (DHCP client: $CLIENT)"
bring_up_wired eth1
bring_up_wifi wlan0
IP=$(lease_ip); WMAC=$(mac_of wlan0)
echo "lease $IP on wired MAC $(mac_of eth1); Wi-Fi MAC $WMAC"

step "unplug the wired NIC"
vm-unplug-wired eth1
wait_for "wlan0 became the active slave" 15 active_is wlan0
wait_for "bond0 carries the Wi-Fi MAC" 15 bond_mac_is "$WMAC"
wait_for "the server's lease moved to the Wi-Fi MAC" 90 lease_matches_bond
expect "bond0 settled (vm-wait-settled)" vm-wait-settled bond0 30
show_status
expect_eq "MAC the server leased $IP to" "$(vm-lease-mac "$IP")" "$WMAC"
expect_eq "lease address (kept across failover)" "$(lease_ip)" "$IP"
expect_eq "DHCP clients running" "$(dhcp_client_count)" 1
expect "ping the LAN's server over Wi-Fi" vm-ping-lan
