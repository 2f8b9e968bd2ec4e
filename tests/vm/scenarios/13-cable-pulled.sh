#!/bin/bash
# boot: systemd
# timeout: 240
# Beyond issue 3's list: the everyday case of scenarios 3 and 4 on a laptop with a built-in wired
# NIC. The cable is pulled out (the device stays, so udev sees nothing: only the carrier goes):
# failover to Wi-Fi, the DHCP client re-acquires with the Wi-Fi MAC, same IP, ping; cable back in:
# wired active again, lease MAC wired again.
set -euo pipefail
. vm-lib
step "wired and Wi-Fi"
bring_up_wired eth1
bring_up_wifi wlan0
IP=$(lease_ip); WMAC=$(mac_of wlan0); EMAC=$(mac_of eth1)
step "pull the cable"
vm-carrier-wired off eth1
wait_for "wlan0 became the active slave" 15 active_is wlan0
wait_for "bond0 carries the Wi-Fi MAC" 15 bond_mac_is "$WMAC"
wait_for "the server's lease moved to the Wi-Fi MAC" 90 lease_matches_bond
show_status
expect_eq "lease address (kept)" "$(lease_ip)" "$IP"
expect_eq "DHCP clients running" "$(dhcp_client_count)" 1
expect "ping the LAN's server" vm-ping-lan
step "cable back in"
vm-carrier-wired on eth1
wait_for "eth1 is the active slave again" 15 active_is eth1
wait_for "bond0 carries the wired MAC" 15 bond_mac_is "$EMAC"
wait_for "the server's lease moved back to the wired MAC" 90 lease_matches_bond
show_status
expect_eq "lease address (kept)" "$(lease_ip)" "$IP"
expect_eq "DHCP clients running" "$(dhcp_client_count)" 1
expect "ping the LAN's server" vm-ping-lan
