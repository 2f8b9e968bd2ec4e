#!/bin/bash
# boot: systemd
# timeout: 300
# The Wi-Fi radio is switched off (rfkill soft block, as `rfkill block`, a switch or airplane
# mode) while Wi-Fi is the backup: the bond and the wired side go on untouched, and hotbond
# status says the radio is blocked. The cable is then pulled (no active slave left) and the
# radio switched on: with no user action Wi-Fi comes back as a working slave, takes over, and
# the bond keeps its IP address.
set -euo pipefail
. vm-lib
# the sysfs directory of IF's radio switch (rfkill device of its phy)
radio_switch() { ls -d /sys/class/net/"$1"/phy80211/rfkill* | head -1; }
admin_up() { (( $(cat /sys/class/net/"$1"/flags) & 1 )); }

step "wired and Wi-Fi"
bring_up_wired eth1
bring_up_wifi wlan0
IP=$(lease_ip); WMAC=$(mac_of wlan0); RF=$(radio_switch wlan0)
echo "lease $IP; Wi-Fi MAC $WMAC; radio switch $RF ($(cat "$RF/name"))"

step "switch wlan0's radio off"
echo 1 > "$RF/soft"
wait_for "the kernel set wlan0 down" 15 not admin_up wlan0
wait_quiet
show_status
expect "hotbond status says wlan0's radio is blocked" sh -c "hotbond status | grep -E '^ +wlan0 .*radio blocked by rfkill \(soft\)'"
expect "wlan0 is still a slave of bond0" is_slave wlan0
expect_eq "active slave" "$(bond_active)" eth1
expect_eq "lease address" "$(lease_ip)" "$IP"
expect "ping the LAN's server over the wire" vm-ping-lan

step "pull the cable: no slave can carry the bond"
vm-carrier-wired off
wait_for "bond0 has no active slave" 15 not active_is eth1

step "switch wlan0's radio on"
echo 0 > "$RF/soft"
wait_for "wlan0 is up again" 15 admin_up wlan0
wait_for "wlan0 authorised by the AP again (wpa_state COMPLETED)" 60 wifi_ready wlan0
wait_for "wlan0 became the active slave" 30 active_is wlan0
wait_for "bond0 carries the Wi-Fi MAC" 15 bond_mac_is "$WMAC"
wait_for "the server's lease moved to the Wi-Fi MAC" 90 lease_matches_bond
expect "bond0 settled (vm-wait-settled)" vm-wait-settled bond0 30
show_status
expect_eq "lease address (kept)" "$(lease_ip)" "$IP"
expect_eq "MAC the server leased $IP to" "$(vm-lease-mac "$IP")" "$WMAC"
expect_eq "supplicants on wlan0" "$(supplicant_pids wlan0 | wc -w)" 1
expect_eq "DHCP clients running" "$(dhcp_client_count)" 1
expect "hotbond status no longer says blocked" not sh -c "hotbond status | grep -q 'blocked by rfkill'"
expect "ping the LAN's server over Wi-Fi" vm-ping-lan
