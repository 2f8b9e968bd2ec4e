#!/bin/bash
# boot: systemd
# timeout: 180
# The built-in client hands the lease's name servers and search domains to the system. This guest
# has neither systemd-resolved nor resolvconf, so they land in /etc/resolv.conf (a plain file);
# `hotbond down` puts the previous file back and leaves no record behind.
set -euo pipefail
. vm-lib
vm-hotbond-config builtin
[ ! -L /etc/resolv.conf ] || fail "this scenario needs a plain /etc/resolv.conf"
BEFORE=$(cat /etc/resolv.conf 2>/dev/null || echo MISSING)

step "the server names two name servers, a domain and a search list"
VM_DHCP_OPTS="--dhcp-option=option:dns-server,192.0.2.53,192.0.2.54 \
--dhcp-option=option:domain-name,lan.example \
--dhcp-option=option:domain-search,lan.example,corp.example" vm-dhcp-server reset

step "plug the wired NIC (DHCP client: builtin)"
bring_up_wired eth1
show_status
want=$'search lan.example corp.example\nnameserver 192.0.2.53\nnameserver 192.0.2.54'
resolv_is_lease() { [ "$(grep -v '^#' /etc/resolv.conf 2>/dev/null)" = "$want" ]; }
wait_for "/etc/resolv.conf carries the lease's DNS" 30 resolv_is_lease
expect "it says hotbond wrote it" grep -q '^# Written by hotbond from the DHCP lease of bond0' /etc/resolv.conf
expect_eq "its mode" "$(stat -c %a /etc/resolv.conf)" 644
expect "what was done is recorded" test -s /var/lib/hotbond/dns/bond0.json

step "hotbond down bond0"
hotbond down bond0
expect_eq "/etc/resolv.conf is the one from before" "$(cat /etc/resolv.conf 2>/dev/null || echo MISSING)" "$BEFORE"
expect "no DNS record is left" not test -e /var/lib/hotbond/dns/bond0.json
