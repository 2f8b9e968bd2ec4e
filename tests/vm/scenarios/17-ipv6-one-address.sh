#!/bin/bash
# boot: systemd
# timeout: 300
# One IPv6 identity across failover: the LAN advertises fd00:2::/64 (SLAAC). The bond has one
# global address from it, and the same one, and no other, after failover to Wi-Fi (whose MAC
# the bond then carries), after failback, and after `hotbond down` + `hotbond up` (ipv6 =
# "stable", the default: stable-privacy addresses from a secret of the bond).
set -euo pipefail
. vm-lib
# bond0's global addresses from the advertised prefix, "ADDR/LEN" or "ADDR/LEN tentative"
v6_globals() {
  ip -6 -o addr show dev bond0 scope global 2>/dev/null \
    | awk -v p="${RA_PREFIX%%::*}:" 'index($4, p) == 1 { print $4 ($0 ~ /tentative/ ? " tentative" : "") }'
}
one_v6() { [ "$(v6_globals | wc -l)" = 1 ] && ! v6_globals | grep -q tentative; }
# router advertisements the LAN sent (dnsmasq logs each one)
ra_count() { grep -c 'RTR-ADVERT' "$DHCP_LOG" || true; }
ra_count_above() { [ "$(ra_count)" -gt "$1" ]; }
# the LAN sent two more, each solicited: the bond heard at least one whole one after now (the
# periodic ones are seconds apart, and come anyway if a solicitation goes unanswered)
wait_for_ra() {
  local n; n=$(ra_count)
  vm-solicit-router bond0
  wait_for "the LAN sent a router advertisement $1" 60 ra_count_above "$n"
  vm-solicit-router bond0
  wait_for "the LAN sent another router advertisement $1" 60 ra_count_above $(( n + 1 ))
}

vm-dhcp-server ra
step "wired and Wi-Fi; the LAN advertises $RA_PREFIX"
bring_up_wired eth1
bring_up_wifi wlan0
expect_eq "bond0's addr_gen_mode (stable privacy)" "$(cat /proc/sys/net/ipv6/conf/bond0/addr_gen_mode)" 2
wait_for "one global address from $RA_PREFIX on bond0, not tentative" 60 one_v6
A=$(v6_globals)
echo "bond0: $A (MAC $(bond_mac))"

step "pull the cable: failover to Wi-Fi"
vm-carrier-wired off
wait_for "wlan0 became the active slave" 15 active_is wlan0
wait_for "bond0 carries the Wi-Fi MAC" 15 bond_mac_is "$(mac_of wlan0)"
wait_for_ra "after failover"
ip -6 addr show dev bond0
expect_eq "bond0's global addresses after failover" "$(v6_globals)" "$A"

step "put the cable back: failback to the wire"
vm-carrier-wired on
wait_for "eth1 is the active slave again" 15 active_is eth1
wait_for "bond0 carries the wired MAC" 15 bond_mac_is "$(mac_of eth1)"
wait_for_ra "after failback"
expect_eq "bond0's global addresses after failback" "$(v6_globals)" "$A"

step "hotbond down, hotbond up"
hotbond down bond0
expect "bond0 is gone" not bond_exists bond0
hotbond up bond0
wait_for "eth1 is the active slave" 30 active_is eth1
wait_for "one global address from $RA_PREFIX on bond0, not tentative" 60 one_v6
ip -6 addr show dev bond0
expect_eq "bond0's global addresses after down and up" "$(v6_globals)" "$A"
