#!/bin/bash
# boot: systemd
# timeout: 300
# Event hooks: an executable in /etc/hotbond/hooks.d hears, in order, bond-up and lease on the
# wired NIC, nothing when Wi-Fi joins as the backup, failover and lease (the same address, with the Wi-Fi MAC) on
# Wi-Fi when the cable is pulled, failover and lease back on the cable, then lease-lost and
# bond-down on `hotbond down`, which waits for a slow bond-down hook to finish. The built-in
# DHCP client; HB_DHCP_CLIENT=dhclient (22-event-hooks-dhclient.sh) hears the same events, the
# lease ones read by the bond's job from the address and route dhclient's script set.
set -euo pipefail
. vm-lib
CLIENT=${HB_DHCP_CLIENT:-builtin}
vm-hotbond-config "$CLIENT"
HOOKS=/etc/hotbond/hooks.d
REC=/run/hook-events
install -d -m 0755 -o root -g root "$HOOKS"
cat > "$HOOKS/50-record" <<HOOK
#!/bin/sh
echo "\$HOTBOND_EVENT \$HOTBOND_ACTIVE_SLAVE \$HOTBOND_ADDRESS" >> $REC
echo "\$HOTBOND_EVENT \$HOTBOND_MAC" >> $REC.mac
HOOK
chmod 0755 "$HOOKS/50-record"
# Slower than `hotbond down` used to wait for the job (5 s): down must wait for it.
SLOW=6
cat > "$HOOKS/70-slow" <<HOOK
#!/bin/sh
[ "\$HOTBOND_EVENT" = bond-down ] || exit 0
sleep $SLOW
echo finished >> $REC.slow
HOOK
chmod 0755 "$HOOKS/70-slow"
# Not root's to trust: never run.
printf '#!/bin/sh\necho untrusted >> %s\n' "$REC" > "$HOOKS/60-untrusted"
chmod 0777 "$HOOKS/60-untrusted"
: > "$REC"
rm -f "$REC.slow" "$REC.mac"
trap 'rm -f "$HOOKS/50-record" "$HOOKS/60-untrusted" "$HOOKS/70-slow"' EXIT
events() { sed 's/ *$//' "$REC" | paste -sd'|'; }
heard() { [ "$(events)" = "$1" ]; }
last_mac() { tail -1 "$REC.mac"; }

step "plug the wired NIC (DHCP client: $CLIENT)"
bring_up_wired eth1
IP=$(lease_ip)/24
WANT="bond-up eth1|lease eth1 $IP"
wait_for "hooks heard: $WANT" 20 heard "$WANT"

step "plug Wi-Fi (backup)"
bring_up_wifi wlan0
sleep 1
expect_eq "hooks heard (nothing new)" "$(events)" "$WANT"

step "pull the cable"
vm-carrier-wired off eth1
wait_for "wlan0 became the active slave" 15 active_is wlan0
wait_for "the server's lease moved to the Wi-Fi MAC" 60 lease_matches_bond
WANT="$WANT|failover wlan0 $IP|lease wlan0 $IP"
wait_for "hooks heard: failover, lease on wlan0" 20 heard "$WANT"
expect_eq "the lease's MAC (granted again to Wi-Fi's)" "$(last_mac)" "lease $(mac_of wlan0)"

step "cable back in"
vm-carrier-wired on eth1
wait_for "eth1 is the active slave again" 15 active_is eth1
wait_for "the server's lease moved back to the wired MAC" 60 lease_matches_bond
WANT="$WANT|failover eth1 $IP|lease eth1 $IP"
wait_for "hooks heard: failover, lease on eth1" 20 heard "$WANT"
expect_eq "the lease's MAC (the wired one again)" "$(last_mac)" "lease $(mac_of eth1)"

step "hotbond down bond0"
t0=$(ms)
hotbond down bond0
echo "hotbond down took $(( $(ms) - t0 )) ms (a bond-down hook of $SLOW s)"
WANT="$WANT|lease-lost eth1 $IP|bond-down eth1"
expect "hooks heard: lease-lost, bond-down, before down returned" heard "$WANT"
expect "down waited for the $SLOW s bond-down hook to finish" grep -qx finished "$REC.slow"
echo "--- events the hook recorded:"
sed 's/^/    /' "$REC"
expect "the untrusted hook never ran" not grep -q untrusted "$REC"
expect "the journal says why it was skipped" sh -c "journalctl -q -t hotbond | grep -q '60-untrusted skipped'"
