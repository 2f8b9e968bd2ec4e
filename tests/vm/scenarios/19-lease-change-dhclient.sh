#!/bin/bash
# boot: systemd
# timeout: 300
# Scenario 19, what a DHCP client's scripts undo (HB_DHCP_CLIENT, default dhclient; the
# 19-lease-change-{dhcpcd,udhcpc} scenarios run it with the others): the server renumbered (new
# range, leases forgotten) and the cable pulled: the old address goes, a new lease comes,
# and the static fail-safe address is on bond0 beside it. `hotbond down` then leaves none of the
# lease's DNS in /etc/resolv.conf.
set -euo pipefail
. vm-lib
CLIENT=${HB_DHCP_CLIENT:-dhclient}
NS=192.0.2.53
vm-hotbond-config "$CLIENT"
ORIG=$(cat /etc/resolv.conf)
has_lease_dns() { grep -q "^nameserver $NS\$" /etc/resolv.conf; }
# an address of bond0 in 192.0.2.LO-HI
lease_in() { ipv4_addrs bond0 | awk -F'[./]' -v lo="$1" -v hi="$2" '$4 >= lo && $4 <= hi {f=1} END {exit !f}'; }

step "leases from 192.0.2.100-149 with name server $NS; wired and Wi-Fi (DHCP client: $CLIENT)"
VM_DHCP_OPTS="--dhcp-option=option:dns-server,$NS" vm-dhcp-server reset 100 149
bring_up_wired eth1
bring_up_wifi wlan0
OLD=$(lease_ip)
wait_for "/etc/resolv.conf has the lease's name server $NS" 30 has_lease_dns
expect "bond0 has the static fail-safe address" has_addr bond0 192.0.2.250/24

step "the server renumbers to 192.0.2.150-199 and forgets its leases; pull the cable"
VM_DHCP_OPTS="--dhcp-option=option:dns-server,$NS" vm-dhcp-server reset 150 199
vm-carrier-wired off eth1
wait_for "wlan0 became the active slave" 15 active_is wlan0
# (dhclient and dhcpcd ask for $OLD again and get a DHCPNAK; udhcpc starts with a DISCOVER)
wait_for "bond0 has a lease from the new range" 90 lease_in 150 199
wait_quiet
show_status
echo "bond0: $(ipv4_addrs bond0 | xargs)"
expect "bond0 keeps the static fail-safe address beside the new lease" has_addr bond0 192.0.2.250/24
expect "$OLD is gone from bond0" not has_addr bond0 "$OLD/24"
expect_eq "DHCP clients running" "$(dhcp_client_count)" 1
expect "ping the LAN's server" vm-ping-lan

step "hotbond down bond0"
hotbond down bond0
wait_quiet
echo "--- /etc/resolv.conf:"; sed 's/^/    /' /etc/resolv.conf
expect "no name server from the lease is left in /etc/resolv.conf" not has_lease_dns
expect_eq "DHCP clients running" "$(dhcp_client_count)" 0
if [ "$CLIENT" != dhcpcd ]; then
  # hotbond's scripts hand DNS over through hotbond, which puts the file back as it was
  expect_eq "/etc/resolv.conf" "$(cat /etc/resolv.conf)" "$ORIG"
fi
