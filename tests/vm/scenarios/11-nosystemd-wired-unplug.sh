#!/bin/bash
# boot: nosystemd
# timeout: 240
# Scenario 11, non-systemd boot (udevd only, no systemd): scenario 3 passes.
[ ! -d /run/systemd/system ] || { echo "FAIL: this boot runs systemd"; exit 1; }
exec bash "$(dirname "$0")/03-wired-unplug-failover.sh"
