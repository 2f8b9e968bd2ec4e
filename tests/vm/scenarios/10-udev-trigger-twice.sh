#!/bin/bash
# boot: systemd
# timeout: 300
# Scenario 10, `udevadm trigger --action=add --subsystem-match=net` twice (as a boot's coldplug
# or an admin would): no duplicate addresses, exactly one DHCP client, one supplicant, same state.
set -euo pipefail
. vm-lib

step "wired and Wi-Fi"
bring_up_wired eth1
bring_up_wifi wlan0
IP=$(lease_ip)

for i in 1 2; do
  step "udevadm trigger --action=add --subsystem-match=net (#$i)"
  udevadm trigger --action=add --subsystem-match=net
  wait_quiet
done
expect "bond0 settled (vm-wait-settled)" vm-wait-settled bond0 60
wait_quiet
show_status
ip -4 -o addr show dev bond0
dups=$(ip -o addr show dev bond0 | awk '{print $4}' | sort | uniq -d | xargs)
expect_eq "duplicate addresses on bond0" "$dups" ""
expect_eq "leased addresses on bond0" "$(ipv4_addrs bond0 | grep -c '^192\.0\.2\.1[0-9][0-9]/')" 1
expect_eq "static fail-safe addresses on bond0" "$(ipv4_addrs bond0 | grep -c '^192\.0\.2\.250/')" 1
expect_eq "DHCP clients running" "$(dhcp_client_count)" 1
expect_eq "supplicants on wlan0" "$(supplicant_pids wlan0 | wc -w)" 1
expect_eq "active slave" "$(bond_active)" eth1
expect_eq "lease address" "$(lease_ip)" "$IP"
expect "ping the LAN's server" vm-ping-lan
