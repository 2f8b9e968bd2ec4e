#!/bin/bash
# boot: systemd
# timeout: 420
# deb: yes
# Scenario 20, install / uninstall / reinstall, with install.sh and with the Debian package:
# `install.sh --uninstall` and `dpkg -r` stop hotbond's jobs and supplicants (the bond keeps
# its address) and leave no unit, udev rule, sleep hook or hotbond process; `dpkg --purge` also removes
# /var/lib/hotbond; hotbond works again after each reinstall. Runs with either install method
# (tests/vm/run --deb or not) and leaves hotbond installed the way the runner installed it.
set -euo pipefail
. vm-lib
. /mnt/host/env
R=/mnt/repo
[ -n "${VM_DEB:-}" ] && [ -f "$R/$VM_DEB" ] || fail "no Debian package in the share (VM_DEB='${VM_DEB:-}')"
DEB=$R/$VM_DEB

by_deb() { dpkg-query -W -f='${Status}' hotbond 2>/dev/null | grep -q 'install ok installed'; }
install_sh() { (cd $R && ./install.sh --no-build "$@"); }
# every process hotbond runs or started: its binaries, and whatever names them or its state
# (wpa_cli -a hotbond-wpa, dhclient with /var/lib/hotbond/...)
hotbond_procs() { pgrep -af hotbond | grep -v -e pgrep -e install-cycle || true; }
no_hotbond_procs() { [ -z "$(hotbond_procs)" ]; }

# gone HOW: after an uninstall, nothing of hotbond is installed, loaded or running, and the
# network stays up: bond0 keeps its address
gone() {
  local how=$1 f
  hash -r
  expect "$how: no hotbond-udev on PATH" not command -v hotbond-udev
  for f in /etc/udev/rules.d /usr/lib/udev/rules.d /lib/udev/rules.d; do
    expect "$how: no $f/90-hotbond.rules" not test -e $f/90-hotbond.rules
  done
  expect "$how: no sleep hook" not test -e /usr/lib/systemd/system-sleep/hotbond
  expect_eq "$how: hotbond unit files" "$(systemctl list-unit-files --no-legend 'hotbond*' | xargs)" ""
  expect_eq "$how: hotbond units running or failed" \
    "$(systemctl list-units --no-legend --plain --state=active,activating,deactivating,failed 'hotbond*' | xargs)" ""
  wait_for "$how: no hotbond process, supplicant or DHCP client" 15 no_hotbond_procs
  expect "$how: no wpa_supplicant on wlan0" not has_supplicant wlan0
  expect "$how: bond0 kept its address $IP" sh -c "ip -4 -o addr show dev bond0 | grep -q ' $IP/'"
  step "$how: a replugged wired NIC is left alone"
  vm-unplug-wired eth1
  vm-plug-wired eth1
  udevadm settle -t 15
  expect "$how: eth1 is not enslaved" not is_slave eth1
  vm-unplug-wired eth1
}

# works HOW: plugging the wired NIC brings bond0 up on it with a lease, as in scenario 1
works() {
  step "$1: plug the wired NIC"
  bring_up_wired eth1
  expect "$1: hotbond status runs" hotbond status bond0
  expect "$1: the sleep hook is installed" test -x /usr/lib/systemd/system-sleep/hotbond
  expect_eq "$1: hotbond.service (the bonds at boot)" "$(systemctl is-enabled hotbond.service)" enabled
}

install_deb() { dpkg -i "$DEB"; }
uninstall_deb() { dpkg -r hotbond; }

ORIGINAL=install.sh; by_deb && ORIGINAL=deb
step "installed by $ORIGINAL; wired and Wi-Fi up"
bring_up_wired eth1
bring_up_wifi wlan0
IP=$(lease_ip)
expect "a lease on bond0" test -n "$IP"
expect "hotbond's state directory exists" test -d /var/lib/hotbond

step "uninstall ($ORIGINAL)"
if [ "$ORIGINAL" = deb ]; then uninstall_deb; else install_sh --uninstall; fi
gone "$ORIGINAL uninstalled"

step "install.sh: install, use, uninstall"
install_sh
works "install.sh"
install_sh --uninstall
gone "install.sh --uninstall"
expect "install.sh --uninstall removed /var/lib/hotbond" not test -e /var/lib/hotbond
expect "the administrator's configuration is kept" test -f /etc/hotbond/hotbond.toml

step "the Debian package: install, use, remove, purge"
install_deb
expect_eq "package status" "$(dpkg-query -W -f='${Status}' hotbond)" "install ok installed"
expect "the example is a conffile, not in effect" sh -c \
  "dpkg-query --showformat='\${Conffiles}' -W hotbond | grep -q /etc/hotbond/hotbond.toml.example"
# (the guest image's dpkg excludes /usr/share/man, so the package's list is what says so)
expect "the package holds the man pages" sh -c "dpkg-deb -c '$DEB' | grep -q 'usr/share/man/man8/hotbond.8.gz'"
expect "the package holds the sleep hook" sh -c "dpkg-deb -c '$DEB' | grep -q 'usr/lib/systemd/system-sleep/hotbond\$'"
step "dpkg -i: without a configuration nothing is taken over"
mv /etc/hotbond/hotbond.toml /run/hotbond.toml.saved
vm-plug-wired eth1
udevadm settle -t 15
expect "eth1 is left alone" not is_slave eth1
expect "hotbond check fails: no configuration" not hotbond check
vm-unplug-wired eth1
mv /run/hotbond.toml.saved /etc/hotbond/hotbond.toml
works "dpkg -i"
expect "hotbond's state directory exists" test -d /var/lib/hotbond
uninstall_deb
gone "dpkg -r"
expect "dpkg -r keeps /var/lib/hotbond" test -d /var/lib/hotbond
dpkg --purge hotbond
expect "dpkg --purge removed /var/lib/hotbond" not test -e /var/lib/hotbond
expect "dpkg --purge removed the example" not test -e /etc/hotbond/hotbond.toml.example
expect "the administrator's configuration is kept" test -f /etc/hotbond/hotbond.toml
expect_eq "package status after purge" "$(dpkg-query -W -f='${Status}' hotbond 2>/dev/null || true)" ""

step "reinstall as the runner did ($ORIGINAL)"
if [ "$ORIGINAL" = deb ]; then install_deb; else install_sh; fi
works "reinstalled"
