#!/bin/bash
# boot: systemd
# timeout: 240
# Scenario 21 (21-resume-renumbered.sh) with dhclient: on waking the bond's job restarts it,
# and it asks again for its lease.
HB_DHCP_CLIENT=dhclient exec bash "$(dirname "$0")/21-resume-renumbered.sh"
