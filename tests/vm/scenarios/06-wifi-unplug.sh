#!/bin/bash
# boot: systemd
# timeout: 240
# Scenario 6, Wi-Fi unplug: its supplicant stops; no hotbond, wpa or DHCP process is left behind
# for it; the wired side keeps working.
set -euo pipefail
. vm-lib

step "wired and Wi-Fi"
bring_up_wired eth1
bring_up_wifi wlan0
echo "processes for wlan0:"; procs_mentioning wlan0

step "unplug Wi-Fi"
vm-unplug-wifi wlan0
wait_for "wlan0's supplicant stopped" 30 not has_supplicant wlan0
wait_quiet
# The unit's stop ends wpa_supplicant first; its wpa_cli follows within moments (later on a
# loaded host), so wait for it rather than look once.
no_procs() { [ -z "$(procs_mentioning "$1")" ]; }
if ! vm_wait 20 no_procs wlan0; then fail "processes still about wlan0: $(procs_mentioning wlan0)"; fi
pass "no process left for wlan0"
if [ -d /run/systemd/system ]; then
  units=$(systemctl list-units --no-legend --plain --state=active,activating,failed '*wlan0*' | awk '$1 !~ /^sys-/ {print $1}' | xargs)
  expect_eq "active or failed units for wlan0" "$units" ""
fi
show_status
expect_eq "active slave" "$(bond_active)" eth1
expect_eq "slaves" "$(bond_slaves)" eth1
expect_eq "DHCP clients running" "$(dhcp_client_count)" 1
expect "ping the LAN's server" vm-ping-lan
