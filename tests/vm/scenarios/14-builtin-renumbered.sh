#!/bin/bash
# boot: systemd
# timeout: 240
# The built-in client when the DHCP server forgot its lease and hands out other addresses: the
# server restarts with an empty leases file and a new range; the next request for the old
# address (a failover asks again at once, INIT-REBOOT) is refused (DHCPNAK), the old address goes
# and a new lease from the new range follows; the static fail-safe address is left alone.
set -euo pipefail
. vm-lib
vm-hotbond-config builtin

step "wired and Wi-Fi (DHCP client: builtin)"
bring_up_wired eth1
bring_up_wifi wlan0
OLD=$(lease_ip)
if [ "${OLD##*.}" -lt 150 ]; then LO=150 HI=199; else LO=100 HI=149; fi

step "the server restarts with an empty leases file and the addresses 192.0.2.$LO-$HI"
vm-dhcp-server reset "$LO" "$HI"

step "pull the cable: the client asks again for $OLD, from the Wi-Fi MAC"
vm-carrier-wired off eth1
wait_for "wlan0 became the active slave" 15 active_is wlan0
nak() { grep -q "DHCPNAK(br0) $OLD " "$DHCP_LOG"; }
wait_for "the server refused $OLD (DHCPNAK)" 30 nak
wait_for "bond0 has a new lease for its MAC" 60 lease_matches_bond
NEW=$(lease_ip)
show_status
expect "the new lease $NEW is from the new range" test "${NEW##*.}" -ge "$LO" -a "${NEW##*.}" -le "$HI"
expect "$OLD is gone from bond0" not has_addr bond0 "$OLD/24"
expect "bond0 keeps the static fail-safe address" has_addr bond0 192.0.2.250/24
expect_eq "DHCP clients running" "$(dhcp_client_count)" 1
expect "ping the LAN's server" vm-ping-lan
