#!/bin/sh
# Build and install hotbond: binaries, udev rule, systemd units (hotbond.service enabled: it
# brings the configured bonds up at boot, once a configuration exists), the systemd-sleep hook,
# manual pages, bash completion, the event hooks directory (/etc/hotbond/hooks.d, empty), and
# the example configuration (as /etc/hotbond/hotbond.toml.example: in effect only once copied to hotbond.toml).
#   ./install.sh               build (cargo, release) and install
#   ./install.sh --no-build    install binaries already built in target/release
#   ./install.sh --uninstall   stop hotbond's jobs, then remove what was installed
# PREFIX (default /usr/local) sets where binaries go; DESTDIR stages into another root.
# Safe to run twice.
set -eu

PREFIX=${PREFIX:-/usr/local}
DESTDIR=${DESTDIR:-}
BINDIR=$PREFIX/bin
SRC=$(cd "$(dirname "$0")" && pwd)
BUILT=${HOTBOND_BUILT:-$SRC/target/release}
BINS="hotbond hotbond-udev hotbond-wpa hotbond-settle hotbond-udhcpc-script"
UNITS="hotbond.service hotbond-settle@.service hotbond-supplicant@.service"
# Units of earlier versions, removed on install and uninstall (the DHCP client is now run by
# the settle job itself).
OLD_UNITS="hotbond-dhcp@.service"
# A distribution's files (PREFIX=/usr, as a package installs) go where the distribution's
# go, leaving /etc to the administrator; a local install goes to /etc.
if [ "$PREFIX" = /usr ]; then
  RULESDIR=/usr/lib/udev/rules.d UNITDIR=/usr/lib/systemd/system
else
  RULESDIR=/etc/udev/rules.d UNITDIR=/etc/systemd/system
fi
RULES=$RULESDIR/90-hotbond.rules
# systemd-sleep and elogind run every executable here around a suspend or hibernation: hotbond
# confirms the leases on waking. Only the /usr/lib directory is read by every version.
SLEEP_HOOK=/usr/lib/systemd/system-sleep/hotbond
MANDIR=$PREFIX/share/man
COMPDIR=$PREFIX/share/bash-completion/completions
CONF=/etc/hotbond/hotbond.toml
HOOKSDIR=/etc/hotbond/hooks.d
STATEDIR=/var/lib/hotbond

build=1 uninstall=0
for a in "$@"; do
  case $a in
    --no-build) build=0 ;;
    --uninstall) uninstall=1 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $a" >&2; exit 2 ;;
  esac
done

# >>> stop_jobs (packaging/deb/build copies this block into the package's prerm)
live() { [ -z "${DESTDIR:-}" ]; }
systemd_runs() { [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; }

# Stops every bond job (with its DHCP client) and every supplicant, as `hotbond down` would
# not: the bonds, their slaves and addresses stay, so the network stays up until the lease
# runs out (and Wi-Fi loses its association with its supplicant).
stop_jobs() {
  live || return 0
  # Supplicants first: a supplicant that stops reports DISCONNECTED, and hotbond-wpa then
  # starts the bond's job if it is not running; stopped second, the jobs stay stopped.
  if systemd_runs; then
    for u in 'hotbond-supplicant@*.service' 'hotbond-settle@*.service'; do
      systemctl stop "$u" 2>/dev/null || true
      # A job killed on stop may count as failed: forget it, so that no unit stays loaded.
      systemctl reset-failed "$u" 2>/dev/null || true
    done
  fi
  # Detached jobs (no systemd as PID 1): each leads its own session, named by its pid file.
  # The bond's job gets SIGKILL, like its unit, so that its DHCP client deconfigures nothing.
  for f in /run/hotbond/jobs/hotbond-supplicant@*.pid /run/hotbond/jobs/hotbond-settle@*.pid; do
    [ -f "$f" ] || continue
    # pid, start time, executable: one a line. A stale file may name a recycled pid, so only
    # that very process (start time: field 22 of /proc/PID/stat) is signalled.
    { read -r pid; read -r start; read -r exe; } < "$f" 2>/dev/null || continue
    case $pid in ''|*[!0-9]*) continue ;; esac
    [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$exe" ] || continue
    [ "$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f20)" = "$start" ] || continue
    case $f in */hotbond-settle@*) sig=KILL ;; *) sig=TERM ;; esac
    kill -s "$sig" -- "-$pid" 2>/dev/null || true
    rm -f "$f"
  done
}
# <<< stop_jobs

# hotbond.service at boot (multi-user.target): enabled on the live system only; a package
# enables it in its postinst.
enable_boot() {
  live && command -v systemctl >/dev/null 2>&1 || return 0
  systemctl enable --quiet hotbond.service 2>/dev/null ||
    echo "install.sh: could not enable hotbond.service (bonds come up on the first hotplug event)"
}
disable_boot() {
  if live && command -v systemctl >/dev/null 2>&1; then
    systemctl disable --quiet hotbond.service 2>/dev/null || true
  fi
  rm -f "$DESTDIR/etc/systemd/system/multi-user.target.wants/hotbond.service"
}

reload() {
  # Only on the live system, and only where the tools exist.
  live || return 0
  if command -v udevadm >/dev/null 2>&1; then udevadm control --reload 2>/dev/null || true; fi
  if systemd_runs; then systemctl daemon-reload || true; fi
}

if [ "$uninstall" = 1 ]; then
  # The rule first, so that no hotplug event starts a job again meanwhile.
  rm -f "$DESTDIR$RULES"
  if live && command -v udevadm >/dev/null 2>&1; then udevadm control --reload 2>/dev/null || true; fi
  stop_jobs
  disable_boot
  for b in $BINS; do rm -f "$DESTDIR$BINDIR/$b"; done
  for u in $UNITS $OLD_UNITS; do rm -f "$DESTDIR$UNITDIR/$u"; done
  rm -f "$DESTDIR$SLEEP_HOOK"
  rm -f "$DESTDIR$MANDIR/man8/hotbond.8" "$DESTDIR$MANDIR/man5/hotbond.toml.5" \
        "$DESTDIR$COMPDIR/hotbond" "$DESTDIR$CONF.example"
  rm -rf "$DESTDIR$STATEDIR"
  if [ -f "$DESTDIR$CONF" ]; then
    if cmp -s "$DESTDIR$CONF" "$SRC/conf/hotbond.toml"; then
      rm -f "$DESTDIR$CONF"
    else
      echo "install.sh: keeping $CONF (edited)"
    fi
  fi
  # The administrator's hooks are theirs: the directory goes only when empty.
  if [ -d "$DESTDIR$HOOKSDIR" ]; then
    rmdir "$DESTDIR$HOOKSDIR" 2>/dev/null || echo "install.sh: keeping $HOOKSDIR (hooks in it)"
  fi
  rmdir "$DESTDIR/etc/hotbond" 2>/dev/null || true
  reload
  echo "hotbond uninstalled; its jobs and supplicants are stopped, the bonds and their addresses left as they are ('ip link del BOND' removes one)"
  exit 0
fi

if [ "$build" = 1 ]; then
  (cd "$SRC" && cargo build --release --locked)
fi
for b in $BINS; do
  [ -x "$BUILT/$b" ] || { echo "install.sh: $BUILT/$b is missing (build first, or drop --no-build)" >&2; exit 1; }
done

install -d "$DESTDIR$BINDIR" "$DESTDIR$RULESDIR" "$DESTDIR$UNITDIR" "$DESTDIR/etc/hotbond" \
  "$DESTDIR${SLEEP_HOOK%/*}" \
  "$DESTDIR$MANDIR/man8" "$DESTDIR$MANDIR/man5" "$DESTDIR$COMPDIR"
for b in $BINS; do install -m 0755 "$BUILT/$b" "$DESTDIR$BINDIR/$b"; done
# The rule and units name the binaries by absolute path: substitute the install's BINDIR.
subst() { sed "s|@BINDIR@|$BINDIR|g" "$1" > "$2.tmp" && chmod 0644 "$2.tmp" && mv "$2.tmp" "$2"; }
subst "$SRC/rules/90-hotbond.rules" "$DESTDIR$RULES"
for u in $UNITS; do subst "$SRC/rules/$u" "$DESTDIR$UNITDIR/$u"; done
subst "$SRC/rules/hotbond.system-sleep" "$DESTDIR$SLEEP_HOOK" && chmod 0755 "$DESTDIR$SLEEP_HOOK"
install -m 0644 "$SRC/man/hotbond.8" "$DESTDIR$MANDIR/man8/hotbond.8"
install -m 0644 "$SRC/man/hotbond.toml.5" "$DESTDIR$MANDIR/man5/hotbond.toml.5"
install -m 0644 "$SRC/completions/hotbond.bash" "$DESTDIR$COMPDIR/hotbond"
# Event hooks run as root: root's directory, writable by root only, or hotbond runs none.
install -d -m 0755 "$DESTDIR$HOOKSDIR"
# The example is never put in effect: a configuration matching enp* and wlp* would take
# every such NIC over at the next boot or `udevadm trigger`, NetworkManager's too.
install -m 0644 "$SRC/conf/hotbond.toml" "$DESTDIR$CONF.example"
# An upgrade on the live system: the DHCP clients of the old units (stopped with SIGKILL, so
# the addresses stay) are taken over by the new bond jobs, started once the units are loaded.
takeover=
if live && systemd_runs; then
  for u in $(systemctl list-units --plain --no-legend 'hotbond-dhcp@*' 2>/dev/null | awk '{print $1}'); do
    i=${u#hotbond-dhcp@}; takeover="$takeover ${i%.service}"
    systemctl stop "$u" || true
  done
fi
for u in $OLD_UNITS; do rm -f "$DESTDIR$UNITDIR/$u"; done
reload
enable_boot
for i in $takeover; do systemctl start "hotbond-settle@$i.service" || true; done
echo "hotbond installed to $DESTDIR$BINDIR"
if [ -e "$DESTDIR$CONF" ]; then
  echo "install.sh: $CONF is in effect (kept as it was); check it with: hotbond check"
elif [ -e "$DESTDIR/etc/conf.d/network.conf" ]; then
  echo "install.sh: /etc/conf.d/network.conf is in effect (no $CONF); check it with: hotbond check"
else
  echo "install.sh: not enabled yet: cp $CONF.example $CONF, edit it, run 'hotbond check' (see hotbond.toml(5))"
fi
