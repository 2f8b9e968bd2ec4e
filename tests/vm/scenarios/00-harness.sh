#!/bin/bash
# boot: systemd
# hotbond: no
# timeout: 150
# The test bed itself, without hotbond: the helpers plug NICs that udev sees come and go with their
# final names, a wired NIC gets a lease from the LAN's DHCP server, a Wi-Fi NIC associates with the
# access point (WPA2) and gets a lease through it, the cable can be pulled, the server turned off.
# Uses names no hotbond config matches (tst0, tstw0), so it also passes with hotbond installed.
set -euo pipefail
. vm-lib

# record what RUN+= programs see (as hotbond-udev will): ACTION and INTERFACE of each net event
mkdir -p /run/udev/rules.d
cat > /run/vm-udev-log <<'EOF'
#!/bin/sh
echo "$ACTION $INTERFACE" >> /run/vm-udev-events
EOF
chmod +x /run/vm-udev-log; : > /run/vm-udev-events
echo 'SUBSYSTEM=="net", ACTION=="add|remove", RUN+="/run/vm-udev-log"' > /run/udev/rules.d/99-vm-harness.rules
udevadm control --reload
trap 'rm -f /run/udev/rules.d/99-vm-harness.rules; udevadm control --reload' EXIT
saw_event() { grep -qx "$1" /run/vm-udev-events; }

step "wired: plug tst0, manual dhclient on it"
vm-plug-wired tst0
wait_for "udev ran RUN+= for 'add tst0'" 10 saw_event "add tst0"
ip link set tst0 up
wait_for "tst0 has carrier" 10 sh -c '[ "$(cat /sys/class/net/tst0/carrier)" = 1 ]'
t0=$(ms)
dhclient -4 -1 -pf /run/tst0.pid -lf /run/tst0.leases tst0
pass "dhclient got a lease in $(( $(ms) - t0 )) ms"
IP=$(ipv4_addrs tst0 | head -1); IP=${IP%/*}
expect_eq "server's lease MAC for $IP" "$(vm-lease-mac "$IP")" "$(mac_of tst0)"
expect "ping the server over tst0" ping -q -c 2 -i 0.2 -w 6 -I tst0 192.0.2.1

step "wired: pull the cable, plug it back"
vm-carrier-wired off tst0
wait_for "tst0 lost carrier" 10 sh -c '[ "$(cat /sys/class/net/tst0/carrier)" = 0 ]'
expect "tst0 still exists" test -e /sys/class/net/tst0
vm-carrier-wired on tst0
wait_for "tst0 has carrier again" 10 sh -c '[ "$(cat /sys/class/net/tst0/carrier)" = 1 ]'
dhclient -r -pf /run/tst0.pid -lf /run/tst0.leases tst0 || true
ip addr flush dev tst0

step "Wi-Fi: plug tstw0, wpa_supplicant, manual dhclient"
vm-plug-wifi tstw0
wait_for "udev ran RUN+= for 'add tstw0' (the final name)" 10 saw_event "add tstw0"
expect "no add event carried another wlan name" sh -c '! grep -E "^add wlan" /run/vm-udev-events'
t0=$(ms)
wpa_supplicant -B -D nl80211 -i tstw0 -c /etc/wpa_supplicant/wpa_supplicant.conf -P /run/tstw0.wpa.pid
wait_for "tstw0 associated (wpa_state COMPLETED)" 30 sh -c '[ "$(wpa_cli -p /run/wpa_supplicant -i tstw0 status | sed -n "s/^wpa_state=//p")" = COMPLETED ]'
dhclient -4 -1 -pf /run/tstw0.pid -lf /run/tstw0.leases tstw0
pass "Wi-Fi lease $(( $(ms) - t0 )) ms after starting the supplicant"
IP=$(ipv4_addrs tstw0 | head -1); IP=${IP%/*}
expect_eq "server's lease MAC for $IP" "$(vm-lease-mac "$IP")" "$(mac_of tstw0)"
expect "ping the server over Wi-Fi" ping -q -c 2 -i 0.2 -w 6 -I tstw0 192.0.2.1

step "unplug both: udev sees remove"
dhclient -r -pf /run/tstw0.pid -lf /run/tstw0.leases tstw0 || true
kill "$(cat /run/tstw0.wpa.pid)"
vm-unplug-wifi tstw0
vm-unplug-wired tst0
wait_for "udev ran RUN+= for 'remove tstw0'" 10 saw_event "remove tstw0"
wait_for "udev ran RUN+= for 'remove tst0'" 10 saw_event "remove tst0"

step "DHCP server off and on"
vm-dhcp-server off
expect "dnsmasq stopped" sh -c '! pgrep -x dnsmasq'
vm-dhcp-server on
expect "dnsmasq running" pgrep -x dnsmasq
echo "udev events seen:"; cat /run/vm-udev-events
