#!/bin/bash
# boot: systemd
# timeout: 300
# Scenario 22 (22-event-hooks.sh) with dhclient: the same events in the same order, the lease
# ones derived by the bond's job from the address dhclient's script puts on the bond and the
# default route.
HB_DHCP_CLIENT=dhclient exec bash "$(dirname "$0")/22-event-hooks.sh"
