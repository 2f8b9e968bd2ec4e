#!/bin/bash
# boot: systemd
# timeout: 240
# Scenario 2, Wi-Fi plug while wired is active: wlan0 is enslaved as the backup, its supplicant
# runs, and the DHCP client was not restarted (same process, still the wired MAC's lease).
set -euo pipefail
. vm-lib

step "wired first"
bring_up_wired eth1
PIDS=$(dhcp_client_pids); IP=$(lease_ip)
echo "DHCP client pid(s): $PIDS, lease $IP"

step "plug Wi-Fi wlan0 while eth1 is active"
bring_up_wifi wlan0
show_status
expect_eq "active slave" "$(bond_active)" eth1
expect_eq "supplicants on wlan0" "$(supplicant_pids wlan0 | wc -w)" 1
expect_eq "DHCP client pid(s) (not restarted)" "$(dhcp_client_pids)" "$PIDS"
expect_eq "bond0's MAC" "$(bond_mac)" "$(mac_of eth1)"
expect_eq "lease address" "$(lease_ip)" "$IP"
expect_eq "MAC the server leased $IP to" "$(vm-lease-mac "$IP")" "$(mac_of eth1)"
expect "ping the LAN's server" vm-ping-lan
