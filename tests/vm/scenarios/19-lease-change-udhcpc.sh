#!/bin/bash
# boot: systemd
# timeout: 300
# Scenario 19 (19-lease-change-dhclient.sh) with udhcpc.
HB_DHCP_CLIENT=udhcpc exec bash "$(dirname "$0")/19-lease-change-dhclient.sh"
