#!/bin/bash
# boot: systemd
# timeout: 240
# Scenario 5, wireless-only start (the seed's failure case): only Wi-Fi is present when the bond
# comes up, while the primary is the (absent) wired NIC. The lease carries the Wi-Fi MAC, and the
# server never heard a DHCP request from any other MAC (the seed's dhclient would start before the
# supplicant authorised wlan0, with the wrong MAC). Then plugging wired switches to it cleanly.
# HB_DHCP_CLIENT picks the DHCP client (default builtin, the project's default; scenario 9 runs this with the external clients).
set -euo pipefail
. vm-lib
CLIENT=${HB_DHCP_CLIENT:-builtin}
vm-hotbond-config "$CLIENT"

step "only Wi-Fi (DHCP client: $CLIENT)"
vm-plug-wifi wlan0
WMAC=$(mac_of wlan0)
wait_for "wlan0 enslaved to bond0" 30 is_slave wlan0
wait_for "wlan0 authorised by the AP (wpa_state COMPLETED)" 45 wifi_ready wlan0
wait_for "wlan0 is the active slave" 20 active_is wlan0
expect "bond0 settled (vm-wait-settled)" vm-wait-settled bond0 60
wait_for "bond0 has a lease for its MAC" 60 lease_matches_bond
show_status
IP=$(lease_ip)
expect_eq "MAC the server leased $IP to" "$(vm-lease-mac "$IP")" "$WMAC"
expect_eq "MACs the server heard DHCP requests from" "$(dhcp_sender_macs)" "$WMAC"
expect_eq "DHCP clients running" "$(dhcp_client_count)" 1
expect "ping the LAN's server over Wi-Fi" vm-ping-lan

step "plug the wired NIC"
vm-plug-wired eth1
EMAC=$(mac_of eth1)
wait_for "eth1 enslaved" 30 is_slave eth1
wait_for "eth1 (primary) is the active slave" 30 active_is eth1
wait_for "the server's lease moved to the wired MAC" 90 lease_matches_bond
expect "bond0 settled (vm-wait-settled)" vm-wait-settled bond0 30
show_status
expect_eq "MAC the server leased $IP to" "$(vm-lease-mac "$IP")" "$EMAC"
expect_eq "lease address (kept)" "$(lease_ip)" "$IP"
expect_eq "DHCP clients running" "$(dhcp_client_count)" 1
expect "ping the LAN's server" vm-ping-lan
