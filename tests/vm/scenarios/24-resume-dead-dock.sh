#!/bin/bash
# boot: systemd
# timeout: 420
# Scenario 24: the laptop wakes in its dock, whose NIC (eth1, the bond's primary and active
# slave) comes back with carrier but passes nothing; Wi-Fi is up as the backup. The sleep hook's
# `post` has the bond's job confirm its lease and ARP-probe the gateway through the bond: no
# answer, so the job sets eth1 down (the primary would otherwise take the bond back) and the bond
# fails over to wlan0, keeping its address, which the server now leases to wlan0's MAC. Once the
# dock works again, `hotbond replay eth1` brings eth1 back and the bond onto it, same address.
# A second resume on the dead dock ends with a replug (udev remove + add) instead.
set -euo pipefail
. vm-lib
vm-hotbond-config "${HB_DHCP_CLIENT:-builtin}"
HOOK=/usr/lib/systemd/system-sleep/hotbond
PEER=srv-eth1
LINE="bond0: eth1 passes no traffic after resume (gateway $SRV_IP did not answer ARP); failing over to wlan0"
carrier() { sysval /sys/class/net/eth1/carrier; }
# Out of the bridge, the peer would still answer ARP for the LAN's addresses itself (Linux
# replies for any local address on any interface): arp_ignore=8 makes it answer nothing.
peer_arp_ignore() { ip netns exec srv sysctl -qw "net.ipv4.conf.$PEER.arp_ignore=$1"; }
dock_dead() { ip -n srv link set "$PEER" nomaster; peer_arp_ignore 8; }
dock_works() { peer_arp_ignore 0; ip -n srv link set "$PEER" master br0; }
lease_names() { [ "$(lease_mac_of "$IP")" = "$(mac_of "$1")" ]; }
ping_gw() { ping -q -n -c 2 -i 0.2 -w 6 -I "$IP" "$SRV_IP" >/dev/null; }
said_once() { [ "$(journalctl -q -t hotbond --since=@"$1" | grep -cF "$LINE")" = 1 ]; }
eth1_down() { ! ip -o link show eth1 | grep -q '[<,]UP[,>]'; }

step "wired and Wi-Fi up"
bring_up_wired eth1
bring_up_wifi wlan0
IP=$(lease_ip)
expect "a lease on 192.0.2.0/24 for eth1's MAC" lease_names eth1
expect "eth1 is active" active_is eth1

# resume_on_dead_dock: suspend, the dock dies (carrier stays), resume; wlan0 takes over
resume_on_dead_dock() {
  local since t0
  step "suspend; the dock's NIC goes dead while its carrier stays up"
  expect "pre succeeds" "$HOOK" pre suspend
  dock_dead
  expect_eq "eth1's carrier" "$(carrier)" 1
  expect "$PEER is out of the LAN's bridge" not sh -c "ip -n srv -o link show $PEER | grep -q 'master br0'"
  step "resume: $HOOK post suspend"
  since=$(date +%s); t0=$(ms)
  expect "post succeeds" "$HOOK" post suspend
  wait_for "wlan0 is the active slave" 15 active_is wlan0
  echo "post -> failover to wlan0: $(( $(ms) - t0 )) ms"
  wait_for "the server leases $IP to wlan0's MAC" 20 lease_names wlan0
  echo "post -> lease for wlan0's MAC: $(( $(ms) - t0 )) ms"
  expect "vm-wait-settled" vm-wait-settled bond0 30
  expect "bond0 keeps $IP" has_addr bond0 "$IP/24"
  expect "eth1 was set down" eth1_down
  expect "eth1 is still a slave" is_slave eth1
  expect "ping the gateway from $IP" ping_gw
  expect_eq "DHCP clients running" "$(dhcp_client_count)" 1
  expect "one log line says why" said_once "$since"
  show_status
  expect "status says eth1 was set aside and why" sh -c \
    "hotbond status bond0 | grep -F 'set aside' | grep -qF 'did not answer ARP'"
}

# back_on_eth1 HOW: the dock works again; after HOW, wired is active again with the same address
back_on_eth1() {
  wait_for "eth1 is the active slave again" 20 active_is eth1
  wait_for "the server leases $IP to eth1's MAC" 20 lease_names eth1
  expect "vm-wait-settled" vm-wait-settled bond0 30
  expect "bond0 keeps $IP" has_addr bond0 "$IP/24"
  expect "ping the gateway from $IP" ping_gw
  expect_eq "DHCP clients running" "$(dhcp_client_count)" 1
  expect "status no longer says set aside" not sh -c "hotbond status bond0 | grep -qF 'set aside'"
}

resume_on_dead_dock
step "the dock works again; hotbond replay eth1"
dock_works
expect "replay succeeds" hotbond replay eth1
back_on_eth1

resume_on_dead_dock
step "the dock works again; eth1 is replugged (udev remove + add)"
dock_works
vm-unplug-wired eth1
vm-plug-wired eth1
wait_for "eth1 enslaved again" 30 is_slave eth1
back_on_eth1
