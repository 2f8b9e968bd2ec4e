#!/bin/bash
# boot: systemd
# timeout: 300
# A Wi-Fi NIC is plugged while its radio is switched off (airplane mode on): it cannot go up,
# so it is not enslaved and no supplicant runs for it, and hotbond status says why. Once its
# radio is switched on it is enslaved and authorised with no user action, and it can carry the
# bond: the cable pulled, Wi-Fi takes over with the same IP address.
set -euo pipefail
. vm-lib

step "wired first"
bring_up_wired eth1
IP=$(lease_ip)

step "plug Wi-Fi wlan0 with its radio switched off"
# Hold udev's queue so that the radio is switched off before hotbond hears of the NIC, as
# when it is plugged in airplane mode; and keep systemd-rfkill from restoring the state it
# saved for this radio in an earlier scenario (switched on) when it hears of the new switch.
RFK_UNITS=(systemd-rfkill.socket systemd-rfkill.service)
systemctl mask --runtime --now "${RFK_UNITS[@]}" >/dev/null 2>&1 || true
udevadm control --stop-exec-queue
trap 'udevadm control --start-exec-queue; systemctl unmask --runtime "${RFK_UNITS[@]}" >/dev/null 2>&1; systemctl start systemd-rfkill.socket' EXIT
vm-hwsim new vm-wlan0 >/dev/null
vm_wait 10 sh -c 'ls -d /sys/class/ieee80211/vm-wlan0/rfkill*' || fail "radio vm-wlan0 has no rfkill switch"
RF=$(ls -d /sys/class/ieee80211/vm-wlan0/rfkill* | head -1)
echo 1 > "$RF/soft"
udevadm control --start-exec-queue
wait_for "wlan0 appeared" 20 test -e /sys/class/net/wlan0
WMAC=$(mac_of wlan0)
wait_quiet
show_status
expect "wlan0 is not enslaved while its radio is off" not is_slave wlan0
expect "no supplicant runs on wlan0" not has_supplicant wlan0
expect "hotbond status says wlan0's radio is blocked" sh -c "hotbond status | grep -E '^ +wlan0 +radio blocked by rfkill \(soft\): joins once switched on'"
expect_eq "active slave" "$(bond_active)" eth1
expect "ping the LAN's server over the wire" vm-ping-lan

step "switch wlan0's radio on"
echo 0 > "$RF/soft"
wait_for "wlan0 enslaved to bond0" 30 is_slave wlan0
wait_for "wpa_supplicant runs on wlan0" 30 has_supplicant wlan0
wait_for "wlan0 authorised by the AP (wpa_state COMPLETED)" 60 wifi_ready wlan0
wait_quiet
show_status
expect_eq "active slave (the wire is still preferred)" "$(bond_active)" eth1
expect_eq "supplicants on wlan0" "$(supplicant_pids wlan0 | wc -w)" 1

step "pull the cable: Wi-Fi carries the bond"
vm-carrier-wired off
wait_for "wlan0 became the active slave" 30 active_is wlan0
wait_for "bond0 carries the Wi-Fi MAC" 15 bond_mac_is "$WMAC"
wait_for "the server's lease moved to the Wi-Fi MAC" 90 lease_matches_bond
expect "bond0 settled (vm-wait-settled)" vm-wait-settled bond0 30
expect_eq "lease address (kept)" "$(lease_ip)" "$IP"
expect_eq "DHCP clients running" "$(dhcp_client_count)" 1
expect "ping the LAN's server over Wi-Fi" vm-ping-lan
