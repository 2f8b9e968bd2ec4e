#!/bin/bash
# boot: nosystemd
# timeout: 180
# Scenario 11, non-systemd boot (udevd only, no systemd): scenario 1 passes.
[ ! -d /run/systemd/system ] || { echo "FAIL: this boot runs systemd"; exit 1; }
exec bash "$(dirname "$0")/01-wired-plug.sh"
