#!/bin/bash
# boot: systemd
# timeout: 180
# Scenario 9, the DHCP-client matrix: scenario 1 (01-wired-plug.sh) with udhcpc.
# (Scenarios 1, 3 and 5 themselves run with the test bed's default, the built-in client.)
HB_DHCP_CLIENT=udhcpc exec bash "$(dirname "$0")/01-wired-plug.sh"
