#!/bin/bash
# boot: systemd
# timeout: 300
# Scenario 19 (19-lease-change-dhclient.sh) with dhcpcd.
HB_DHCP_CLIENT=dhcpcd exec bash "$(dirname "$0")/19-lease-change-dhclient.sh"
