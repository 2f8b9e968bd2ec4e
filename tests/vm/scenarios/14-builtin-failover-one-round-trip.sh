#!/bin/bash
# boot: systemd
# timeout: 240
# The built-in client on failover: the cable pulled, the bond carries the Wi-Fi MAC, and the
# client asks for its address again from it in one round trip (one REQUEST, one ACK, no
# DISCOVER); the address never leaves the bond meanwhile.
set -euo pipefail
. vm-lib
vm-hotbond-config builtin

step "wired and Wi-Fi (DHCP client: builtin)"
bring_up_wired eth1
bring_up_wifi wlan0
IP=$(lease_ip); WMAC=$(mac_of wlan0)
L=$(wc -l < "$DHCP_LOG")

step "pull the cable, watching bond0's address"
WATCH=/run/addr-watch; : > "$WATCH"
( while :; do has_addr bond0 "$IP/24" || echo "gone at $(ms)" >> "$WATCH"; sleep 0.05; done ) &
watcher=$!
t0=$(ms)
vm-carrier-wired off eth1
wait_for "wlan0 became the active slave" 15 active_is wlan0
wait_for "the server's lease moved to the Wi-Fi MAC" 60 lease_matches_bond
echo "re-acquired $(( $(ms) - t0 )) ms after the cable was pulled"
kill "$watcher"; wait "$watcher" 2>/dev/null || true
after=$(tail -n +$(( L + 1 )) "$DHCP_LOG")
echo "$after" | grep -E 'DHCP(DISCOVER|OFFER|REQUEST|ACK|NAK)' || true
expect_eq "DHCPDISCOVERs since the failover" "$(grep -c DHCPDISCOVER <<< "$after" || true)" 0
expect_eq "DHCPREQUESTs for $IP from $WMAC" "$(grep -c "DHCPREQUEST(br0) $IP $WMAC" <<< "$after" || true)" 1
expect_eq "DHCPACKs for $IP to $WMAC" "$(grep -c "DHCPACK(br0) $IP $WMAC" <<< "$after" || true)" 1
expect_eq "times bond0 was without $IP" "$(wc -l < "$WATCH")" 0
expect_eq "lease address (kept)" "$(lease_ip)" "$IP"
expect_eq "DHCP clients running" "$(dhcp_client_count)" 1
show_status
expect "ping the LAN's server over Wi-Fi" vm-ping-lan
