#!/bin/bash
# boot: systemd
# timeout: 300
# The story tests/vm/demo tells, run inside the guest like any scenario: plug wired, plug Wi-Fi,
# yank the cable, plug it back; after each step what hotbond says, which network card the DHCP
# server thinks it is talking to, and whether the laptop can reach the network.
set -euo pipefail
. vm-lib
trap 'echo; echo "   ✘ the demo stopped: \"$BASH_COMMAND\" did not succeed in time (log: tests/vm/.cache/last-run-systemd/)"' ERR

say() { echo "$*"; }
para() { echo; fold -s -w 96 <<<"$*"; }
heading() { echo; echo "────────────────────────────────────────────────────────────────────────"; echo "$*"; echo; }
status() { hotbond status bond0 2>&1 | sed 's/^/      │ /'; }
reach() {
  if vm-ping-lan >/dev/null 2>&1; then say "   ✔ ping to the LAN's server 192.0.2.1: it answers"
  else say "   ✘ ping to the LAN's server 192.0.2.1: NO ANSWER"; fi
}
lease() {
  local ip; ip=$(lease_ip)
  if [ -z "$ip" ]; then say "   address from the DHCP server: none yet"; return; fi
  local m; m=$(vm-lease-mac "$ip")
  say "   address from the DHCP server: $ip"
  say "   the server's records say $ip belongs to card $m ($(who_has "$m"))"
}
who_has() {
  case "$1" in
    "$(mac_of eth1)") echo "the wired card eth1" ;;
    "$(mac_of wlan0)") echo "the Wi-Fi card wlan0" ;;
    *) echo "a card that is no longer here" ;;
  esac
}
elapsed() { echo "$(( ($(ms) - $1) ))"; }
MISSED=
missed() { say "   ✘ $*"; MISSED+="   ✘ $*"$'\n'; }

heading "hotbond demo: one laptop, two network cards, one identity"
para "This virtual laptop has no network yet. We will plug in a wired network card (eth1) and a \
Wi-Fi card (wlan0), pull the cable out and plug it back in. Each network card has its own hardware \
address (MAC). The network's DHCP server hands out IP addresses and remembers which MAC it gave each \
one to: if the laptop suddenly speaks with another card, the server has to be told, or the laptop \
loses its address."
para "hotbond joins both cards into one virtual card, bond0 (Linux \"bonding\", active-backup): one \
card carries the traffic, the other waits. The wired card is preferred. When the active card goes, \
the other takes over, bond0 takes over that card's MAC, and hotbond waits until the new card really \
works (Wi-Fi: connected and authorised) before it asks the DHCP server again, for the same address."

heading "1. Plug in the network cable (wired card eth1)"
t0=$(ms)
vm-plug-wired eth1 >/dev/null
vm_wait 30 active_is eth1
vm-wait-settled bond0 60 >/dev/null
vm_wait 60 lease_matches_bond
say "   hotbond created bond0 with eth1 in it and got an address in $(elapsed "$t0") ms."
lease; reach
say "   hotbond status:"; status

heading "2. Switch on Wi-Fi (card wlan0) while the cable is in"
PIDS=$(dhcp_client_pids); IP=$(lease_ip)
t0=$(ms)
vm-plug-wifi wlan0 >/dev/null
vm_wait 30 is_slave wlan0; vm_wait 45 wifi_ready wlan0; (wait_quiet >/dev/null) || missed "hotbond was still busy 45 s later"
say "   Wi-Fi joined bond0 and connected to the access point in $(elapsed "$t0") ms."
say "   It waits in reserve: the active card is still $(bond_active)."
[ "$(dhcp_client_pids)" = "$PIDS" ] && say "   Nothing was interrupted: same DHCP client process, same address $(lease_ip)."
lease; reach
say "   hotbond status:"; status

heading "3. Yank the cable out (the wired card stays in the laptop)"
t0=$(ms)
vm-carrier-wired off eth1 >/dev/null
vm_wait 15 active_is wlan0
t_fail=$(elapsed "$t0")
say "   The Wi-Fi card took over after $t_fail ms; bond0 now uses the Wi-Fi card's MAC."
if vm_wait 60 lease_matches_bond; then
  say "   hotbond told the DHCP server about the new card; $(elapsed "$t0") ms after the cable went, the"
  say "   server confirmed the SAME address for it:"
else
  missed "60 s after the cable went, the DHCP server still has the old card's MAC: hotbond did not re-acquire"
fi
(wait_quiet >/dev/null) || missed "hotbond was still busy 45 s later"
lease; reach
say "   hotbond status:"; status
para "(Without hotbond, the DHCP client would go on speaking with the wired card's MAC, which bond0 \
no longer answers to: the server's answers would never arrive. The classic recipe waited a fixed 8 seconds \
before starting DHCP and hoped the Wi-Fi was ready by then.)"

heading "4. Plug the cable back in"
t0=$(ms)
vm-carrier-wired on eth1 >/dev/null
vm_wait 30 active_is eth1
say "   The wired card is preferred: it is the active one again after $(elapsed "$t0") ms, Wi-Fi back in reserve."
if vm_wait 60 lease_matches_bond; then
  say "   $(elapsed "$t0") ms after the cable went back in, the server had the wired card's MAC for the same address:"
else
  missed "60 s after the cable went back in, the DHCP server still has another card's MAC: hotbond did not re-acquire"
fi
(wait_quiet >/dev/null) || missed "hotbond was still busy 45 s later"
lease; reach
say "   hotbond status:"; status

heading "In short"
if [ -z "$MISSED" ]; then
  say "   The laptop kept one address, $(lease_ip), through cable in, Wi-Fi on, cable out, cable in;"
  say "   at every step the DHCP server knew which card was speaking, and the network answered."
else
  say "   Not everything went as it should:"; printf '%s' "$MISSED"; exit 1
fi
