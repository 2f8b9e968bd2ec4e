#!/bin/bash
# boot: systemd
# timeout: 300
# Scenario 4, wired replug: after a failover to Wi-Fi, plugging the cable's NIC back makes it the
# active slave again (it is the primary); the lease MAC is the wired MAC again; ping works.
set -euo pipefail
. vm-lib

step "wired and Wi-Fi, then unplug wired"
bring_up_wired eth1
bring_up_wifi wlan0
IP=$(lease_ip)
vm-unplug-wired eth1
wait_for "wlan0 became the active slave" 15 active_is wlan0
wait_for "the server's lease moved to the Wi-Fi MAC" 90 lease_matches_bond

step "plug the wired NIC back"
vm-plug-wired eth1
EMAC=$(mac_of eth1)
wait_for "eth1 enslaved again" 30 is_slave eth1
wait_for "eth1 is the active slave again" 30 active_is eth1
expect_eq "primary" "$(bond_primary)" eth1
wait_for "bond0 carries the wired MAC" 15 bond_mac_is "$EMAC"
wait_for "the server's lease moved back to the wired MAC" 90 lease_matches_bond
expect "bond0 settled (vm-wait-settled)" vm-wait-settled bond0 30
show_status
expect_eq "MAC the server leased $IP to" "$(vm-lease-mac "$IP")" "$EMAC"
expect_eq "lease address" "$(lease_ip)" "$IP"
expect_eq "DHCP clients running" "$(dhcp_client_count)" 1
expect "wlan0 is still a slave (backup)" is_slave wlan0
expect "ping the LAN's server" vm-ping-lan
