#!/bin/bash
# boot: systemd
# timeout: 360
# Scenario 8, `hotbond down bond0`: the server saw the lease released, the addresses are gone, the
# slaves are freed, the bond is gone. `hotbond up bond0` then restores the working state.
set -euo pipefail
. vm-lib

step "wired and Wi-Fi"
bring_up_wired eth1
bring_up_wifi wlan0
IP=$(lease_ip)

step "hotbond down bond0"
hotbond down bond0
wait_for "the server logged a DHCPRELEASE of $IP" 15 grep -q "DHCPRELEASE(br0) $IP " "$DHCP_LOG"
expect_eq "server's lease for $IP" "$(vm-lease-mac "$IP" || true)" ""
expect "bond0 is gone" not test -e /sys/class/net/bond0
for s in eth1 wlan0; do
  expect "$s is freed (no master)" not test -e /sys/class/net/$s/master
  expect_eq "IPv4 addresses on $s" "$(ipv4_addrs $s | xargs)" ""
done
wait_quiet
expect_eq "DHCP clients running" "$(dhcp_client_count)" 0
show_status

step "hotbond up bond0"
hotbond up bond0
wait_for "bond0 is back with eth1 and wlan0" 30 sh -c 'grep -qw eth1 /sys/class/net/bond0/bonding/slaves && grep -qw wlan0 /sys/class/net/bond0/bonding/slaves'
wait_for "eth1 is the active slave" 30 active_is eth1
expect "bond0 settled (vm-wait-settled)" vm-wait-settled bond0 60
wait_for "bond0 has a lease for its MAC" 60 lease_matches_bond
wait_quiet
show_status
expect_eq "MAC the server leased $(lease_ip) to" "$(vm-lease-mac "$(lease_ip)")" "$(mac_of eth1)"
expect "static fail-safe address is back" has_addr bond0 192.0.2.250/24
expect_eq "DHCP clients running" "$(dhcp_client_count)" 1
expect "ping the LAN's server" vm-ping-lan
