#!/bin/bash
# boot: systemd
# timeout: 240
# Scenario 23, the bonds at boot: hotbond.service (enabled by the installer) runs
# `hotbond up --all`, which makes every configured bond and starts its job before any NIC is
# plugged, as systemd-networkd makes its netdevs at boot. A NIC plugged later joins a bond whose
# job already waits for it. Running it again is harmless; without a configuration it does
# nothing at all.
set -euo pipefail
. vm-lib
CLIENT=${HB_DHCP_CLIENT:-builtin}
vm-hotbond-config "$CLIENT"
job_pid() { systemctl show -P MainPID hotbond-settle@bond0.service; }
job_active() { systemctl -q is-active hotbond-settle@bond0.service; }

step "hotbond.service is enabled; without a configuration it does nothing"
expect_eq "systemctl is-enabled hotbond.service" "$(systemctl is-enabled hotbond.service)" enabled
mv /etc/hotbond/hotbond.toml /run/hotbond.toml.saved
expect "systemctl start hotbond.service succeeds" systemctl start hotbond.service
expect "no bond was made" not bond_exists bond0
expect "no job runs" not job_active
systemctl stop hotbond.service
mv /run/hotbond.toml.saved /etc/hotbond/hotbond.toml

step "boot: systemctl start hotbond.service with no NIC present"
t0=$(ms)
expect "hotbond.service starts" systemctl start hotbond.service
expect "bond0 exists" bond_exists bond0
wait_for "bond0's job runs" 30 job_active
echo "start -> job active: $(( $(ms) - t0 )) ms"
expect_eq "bond0's slaves" "$(bond_slaves)" ""
expect "bond0 has the static fail-safe address" has_addr bond0 192.0.2.250/24
expect_eq "DHCP clients running (no slave yet)" "$(dhcp_client_count)" 0
JOB=$(job_pid)
wait_quiet

step "again (systemctl restart hotbond.service): harmless"
expect "hotbond.service restarts" systemctl restart hotbond.service
wait_quiet
expect_eq "the same job" "$(job_pid)" "$JOB"
expect_eq "bonds" "$(sysval /sys/class/net/bonding_masters)" bond0

step "plug the wired NIC: it joins the waiting bond"
t0=$(ms)
bring_up_wired eth1
echo "plug -> lease: $(( $(ms) - t0 )) ms"
expect_eq "the same job" "$(job_pid)" "$JOB"
IP=$(lease_ip)
expect_eq "MAC the server leased $IP to" "$(vm-lease-mac "$IP")" "$(mac_of eth1)"
expect_eq "DHCP clients running" "$(dhcp_client_count)" 1
expect "ping the LAN's server" vm-ping-lan

step "a NIC present at boot is enslaved by hotbond.service itself (udev's rule off)"
hotbond down bond0 >/dev/null
systemctl stop hotbond.service
expect "bond0 is gone" not bond_exists bond0
RULE=
for f in /etc/udev/rules.d/90-hotbond.rules /usr/lib/udev/rules.d/90-hotbond.rules; do
  [ -e "$f" ] && RULE=$f
done
[ -n "$RULE" ] || fail "hotbond's udev rule is not installed"
mv "$RULE" /run/90-hotbond.rules.saved
udevadm control --reload
expect "hotbond.service starts" systemctl start hotbond.service
wait_for "eth1 enslaved to bond0" 30 is_slave eth1
wait_for "bond0 has a lease for its MAC" 60 lease_matches_bond
mv /run/90-hotbond.rules.saved "$RULE"
udevadm control --reload
show_status
