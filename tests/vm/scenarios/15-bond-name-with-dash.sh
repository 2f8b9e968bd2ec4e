#!/bin/bash
# boot: systemd
# timeout: 240
# Scenario 15, a bond named bond-home: systemd units take '-' in an instance name for '/', so
# hotbond escapes the instance as systemd-escape does (hotbond-settle@bond\x2dhome.service) and
# the unit hands the job its real name back (%I). Wired plug, lease, failover to Wi-Fi, and the
# job never restarted.
set -euo pipefail
. vm-lib
B=bond-home
UNIT='hotbond-settle@bond\x2dhome.service'
umask 022
cat > /etc/hotbond/hotbond.toml <<CONF
# written by scenario 15
[[bond]]
name = "$B"
primary = "eth1"
addresses = ["192.0.2.250/24"]
[bond.dhcp]
client = "dhclient"
[[bond.slave]]
name = "eth*"
[[bond.slave]]
name = "wlan*"
supplicant = { config = "/etc/wpa_supplicant/wpa_supplicant.conf", driver = "nl80211" }
CONF
expect "hotbond check accepts the configuration" hotbond check

step "plug the wired NIC eth1 into $B"
vm-plug-wired eth1
wait_for "eth1 enslaved to $B" 30 is_slave eth1 "$B"
wait_for "eth1 is the active slave" 30 active_is eth1 "$B"
expect "$B settled (vm-wait-settled)" vm-wait-settled "$B" 60
wait_for "$B has a lease for its MAC" 60 lease_matches_bond "$B"
show_status
IP=$(lease_ip "$B")
expect_eq "the job's unit" "$(systemctl show -p Id --value "$UNIT")" "$UNIT"
expect_eq "the job's unit is" "$(systemctl is-active "$UNIT")" active
pgrep -f "^[^ ]*hotbond-settle $B\$" >/dev/null || fail "no hotbond-settle $B: $(pgrep -af hotbond-settle | xargs)"
pass "the job runs as hotbond-settle $B"
expect "$B has the static fail-safe address too" has_addr "$B" 192.0.2.250/24
expect_eq "DHCP clients running" "$(dhcp_client_count)" 1
expect "ping the LAN's server from the lease" vm-ping-lan "$B"

step "plug Wi-Fi, then pull the wired NIC"
vm-plug-wifi wlan0
wait_for "wlan0 enslaved to $B" 30 is_slave wlan0 "$B"
wait_for "wlan0 authorised by the AP (wpa_state COMPLETED)" 45 wifi_ready wlan0
expect_eq "the supplicant's unit is" "$(systemctl is-active hotbond-supplicant@wlan0.service)" active
wait_quiet
WMAC=$(mac_of wlan0)
vm-unplug-wired eth1
wait_for "wlan0 became the active slave" 15 active_is wlan0 "$B"
wait_for "$B carries the Wi-Fi MAC" 15 bond_mac_is "$WMAC" "$B"
wait_for "the server's lease moved to the Wi-Fi MAC" 90 lease_matches_bond "$B"
expect "$B settled (vm-wait-settled)" vm-wait-settled "$B" 30
show_status
expect_eq "lease address (kept across failover)" "$(lease_ip "$B")" "$IP"
expect_eq "DHCP clients running" "$(dhcp_client_count)" 1
expect_eq "restarts of the job" "$(systemctl show -p NRestarts --value "$UNIT")" 0
expect "ping the LAN's server over Wi-Fi" vm-ping-lan "$B"
