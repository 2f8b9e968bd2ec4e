#!/bin/bash
# boot: systemd
# timeout: 240
# Beyond issue 3's list: the everyday case of scenarios 3 and 4 on a laptop with a built-in wired
# NIC. The cable is pulled out (the device stays, so udev sees nothing: only the carrier goes):
# failover to Wi-Fi, the DHCP client re-acquires with the Wi-Fi MAC, same IP, ping; cable back in:
# wired active again, lease MAC wired again. Then a pull shorter than the driver's link
# monitor interval (slowed to 30 s): the bond's job hears the carrier go and come back and
# switches the bond itself, both ways. Last, a cable back that the driver would see only at
# its next look, 30 s away, with Wi-Fi active or with no slave active: the job asks it to look
# now.
set -euo pipefail
. vm-lib
# The driver takes a new interval only at its pending look (a 30 s one would stand): 0 first
# cancels that look, and the new interval starts with a look now.
miimon() { echo 0 > /sys/class/net/bond0/bonding/miimon; echo "$1" > /sys/class/net/bond0/bonding/miimon; }
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

step "a short pull the driver never sees (miimon 30 s): the job hands over and back"
# Once miimon is set, the driver looks now and then every 30 s: the cable is out and back
# before its next look. Without the job the bond would not fail over at all; and once the
# job has handed the bond to wlan0, the driver, which never saw eth1 go, has no reason to
# put its primary back: only the job does.
miimon 30000
sleep 0.3
T0=$(date +%s); M0=$(ms)
vm-carrier-wired off eth1
wait_for "wlan0 became the active slave" 10 active_is wlan0
echo "eth1 carrier off -> wlan0 active: $(( $(ms) - M0 )) ms (the driver alone: up to 30 s)"
said() { journalctl -q -t hotbond --since=@"$T0" | grep -qF "$1"; }
wait_for "the job handed the bond to wlan0 (its log)" 10 said "eth1 lost its carrier: wlan0 carries the bond now"
wait_for "the server's lease moved to the Wi-Fi MAC" 10 lease_matches_bond
expect_eq "lease address (kept)" "$(lease_ip)" "$IP"
M1=$(ms)
vm-carrier-wired on eth1
wait_for "eth1 is the active slave again" 10 active_is eth1
echo "eth1 carrier on -> eth1 active: $(( $(ms) - M1 )) ms; cable out for $(( M1 - M0 )) ms"
expect "the driver had not looked yet (under 30 s since miimon was set)" test $(( $(ms) - M0 )) -lt 30000
wait_for "the job put the primary back (its log)" 10 said "eth1, the primary, has link: it carries the bond again"
miimon 100
wait_for "the server's lease moved back to the wired MAC" 30 lease_matches_bond
expect_eq "lease address (kept)" "$(lease_ip)" "$IP"
expect "ping the LAN's server" vm-ping-lan

step "a cable back the driver saw go (miimon 30 s): the job makes it look now"
mii() { cat /sys/class/net/eth1/bonding_slave/mii_status; }
vm-carrier-wired off eth1
wait_for "wlan0 became the active slave" 10 active_is wlan0
wait_for "the driver saw eth1's link go" 10 test "$(mii)" = down
wait_for "the server's lease moved to the Wi-Fi MAC" 30 lease_matches_bond
miimon 30000
sleep 0.3
T0=$(date +%s); M0=$(ms); D0=$(dmesg | wc -l)
vm-carrier-wired on eth1
wait_for "eth1 is the active slave again" 10 active_is eth1
echo "eth1 carrier on -> eth1 active: $(( $(ms) - M0 )) ms (the driver alone: up to 30 s)"
expect "the driver looked at once, not at its next tick (30 s)" test $(( $(ms) - M0 )) -lt 30000
wait_for "the job asked the driver to look (its log)" 10 said "eth1, the primary, has its carrier back: asked the driver to look at it now"
expect_eq "the driver's interval (as it was set)" "$(cat /sys/class/net/bond0/bonding/miimon)" 30000
expect_eq "eth1's link, for the driver" "$(mii)" up
expect "no refusal in the kernel's log" sh -c "! dmesg | tail -n +$((D0 + 1)) | grep -q 'Could not set as active slave'"
miimon 100
wait_for "the server's lease moved back to the wired MAC" 30 lease_matches_bond
expect_eq "lease address (kept)" "$(lease_ip)" "$IP"
expect "ping the LAN's server" vm-ping-lan

step "no slave carries the bond, and the cable goes back in (miimon 30 s): the driver looks now"
vm-unplug-wifi wlan0
vm-carrier-wired off eth1
no_active() { [ -z "$(cat /sys/class/net/bond0/bonding/active_slave)" ]; }
wait_for "bond0 has no active slave" 15 no_active
miimon 30000
sleep 0.3
T0=$(date +%s); M0=$(ms)
vm-carrier-wired on eth1
wait_for "eth1 is the active slave again" 10 active_is eth1
echo "eth1 carrier on -> eth1 active: $(( $(ms) - M0 )) ms (the driver alone: up to 30 s)"
expect "the driver looked at once, not at its next tick (30 s)" test $(( $(ms) - M0 )) -lt 30000
wait_for "the job asked the driver to look (its log)" 10 said "eth1 has its carrier and no slave carries the bond: asked the driver to look at it now"
expect_eq "the driver's interval (as it was set)" "$(cat /sys/class/net/bond0/bonding/miimon)" 30000
miimon 100
wait_for "the server's lease is for the wired MAC" 30 lease_matches_bond
expect_eq "lease address (kept)" "$(lease_ip)" "$IP"
expect "ping the LAN's server" vm-ping-lan
