#!/bin/bash
# boot: systemd
# timeout: 180
# Scenario 12, a user of the seed recipe switches: no hotbond.toml, the seed's
# /etc/conf.d/network.conf used verbatim. The primary (enp3s0) and the static address are applied.
set -euo pipefail
. vm-lib

step "the seed's /etc/conf.d/network.conf, verbatim; no hotbond.toml"
rm -f /etc/hotbond/hotbond.toml
mkdir -p /etc/conf.d
# verbatim from the seed document ("Static Network configuration")
cat > /etc/conf.d/network.conf <<'CONF'
# These Environment names are formed by prefixing the base variable name with the interface names.
# Remember, here, these are systemd.service Environment variables, not shell variables.
# Variables that are not set or that are set to the empty string will have no effect.
# Add a list of interface names here, in the form of a comment, for reference.
# wlp2s0 enp3s0 bond0

# PRIMARY is the name of the preferred network interface in the bonded group of interfaces.
bond0PRIMARY='enp3s0'

# ADDRS is a single-quoted space separated list of IPv4 and IPv6 addresses to apply to the interface.
# The ADDRESS must be followed by a slash and a decimal number which encodes the network prefix length.
# interfaceADDRS='address1/length address2/length ...'
bond0ADDRS='192.168.0.2/24'
wlp2s0ADDRS=
enp3s0ADDRS=

# ROUTES is a single-quoted space separated list of double-quoted ip-route ROUTE specifications.
# A PREFIX must be followed by a slash and a decimal number which encodes the network prefix length.
# Remember, to be able to add a route, the host must first be able to reach the gateway.
# interfaceROUTES='"to prefix1/length] via gateway1" "to prefix2/length via gateway2" ...'
bond0ROUTES=
CONF
chmod 0644 /etc/conf.d/network.conf
expect "hotbond check accepts it" hotbond check

step "plug the seed's wired NIC enp3s0"
vm-plug-wired enp3s0
wait_for "enp3s0 enslaved to bond0" 30 is_slave enp3s0
wait_for "bond0 has the static address 192.168.0.2/24" 30 has_addr bond0 192.168.0.2/24
wait_for "enp3s0 is the active slave" 30 active_is enp3s0
wait_quiet
show_status
expect_eq "bond0's primary" "$(bond_primary)" enp3s0
expect_eq "bond0's MAC" "$(bond_mac)" "$(mac_of enp3s0)"
expect_eq "bonding mode" "$(cut -d' ' -f1 /sys/class/net/bond0/bonding/mode)" active-backup
expect_eq "fail_over_mac" "$(cut -d' ' -f1 /sys/class/net/bond0/bonding/fail_over_mac)" active
