#!/bin/sh
# Build and install hotbond: binaries, udev rule, systemd units, example configuration.
#   ./install.sh               build (cargo, release) and install
#   ./install.sh --no-build    install binaries already built in target/release
#   ./install.sh --uninstall   remove what was installed (an edited configuration is kept)
# PREFIX (default /usr/local) sets where binaries go; DESTDIR stages into another root.
# Safe to run twice.
set -eu

PREFIX=${PREFIX:-/usr/local}
DESTDIR=${DESTDIR:-}
BINDIR=$PREFIX/bin
SRC=$(cd "$(dirname "$0")" && pwd)
BUILT=${HOTBOND_BUILT:-$SRC/target/release}
BINS="hotbond hotbond-udev hotbond-wpa hotbond-settle hotbond-udhcpc-script"
UNITS="hotbond-settle@.service hotbond-supplicant@.service"
# Units of earlier versions, removed on install and uninstall (the DHCP client is now run by
# the settle job itself).
OLD_UNITS="hotbond-dhcp@.service"
RULES=/etc/udev/rules.d/90-hotbond.rules
UNITDIR=/etc/systemd/system
CONF=/etc/hotbond/hotbond.toml

build=1 uninstall=0
for a in "$@"; do
  case $a in
    --no-build) build=0 ;;
    --uninstall) uninstall=1 ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $a" >&2; exit 2 ;;
  esac
done

reload() {
  # Only on the live system, and only where the tools exist.
  [ -z "$DESTDIR" ] || return 0
  if command -v udevadm >/dev/null 2>&1; then udevadm control --reload 2>/dev/null || true; fi
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    systemctl daemon-reload || true
  fi
}

if [ "$uninstall" = 1 ]; then
  for b in $BINS; do rm -f "$DESTDIR$BINDIR/$b"; done
  rm -f "$DESTDIR$RULES" "$DESTDIR$CONF.example"
  for u in $UNITS $OLD_UNITS; do rm -f "$DESTDIR$UNITDIR/$u"; done
  if [ -f "$DESTDIR$CONF" ]; then
    if cmp -s "$DESTDIR$CONF" "$SRC/conf/hotbond.toml"; then
      rm -f "$DESTDIR$CONF"; rmdir "$DESTDIR/etc/hotbond" 2>/dev/null || true
    else
      echo "install.sh: keeping $CONF (edited)"
    fi
  fi
  reload
  echo "hotbond uninstalled"
  exit 0
fi

if [ "$build" = 1 ]; then
  (cd "$SRC" && cargo build --release --locked)
fi
for b in $BINS; do
  [ -x "$BUILT/$b" ] || { echo "install.sh: $BUILT/$b is missing (build first, or drop --no-build)" >&2; exit 1; }
done

install -d "$DESTDIR$BINDIR" "$DESTDIR/etc/udev/rules.d" "$DESTDIR$UNITDIR" "$DESTDIR/etc/hotbond"
for b in $BINS; do install -m 0755 "$BUILT/$b" "$DESTDIR$BINDIR/$b"; done
# The rule and units name the binaries by absolute path: substitute the install's BINDIR.
subst() { sed "s|@BINDIR@|$BINDIR|g" "$1" > "$2.tmp" && chmod 0644 "$2.tmp" && mv "$2.tmp" "$2"; }
subst "$SRC/rules/90-hotbond.rules" "$DESTDIR$RULES"
for u in $UNITS; do subst "$SRC/rules/$u" "$DESTDIR$UNITDIR/$u"; done
# An upgrade on the live system: the DHCP clients of the old units (stopped with SIGKILL, so
# the addresses stay) are taken over by the new bond jobs, started once the units are loaded.
takeover=
if [ -z "$DESTDIR" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  for u in $(systemctl list-units --plain --no-legend 'hotbond-dhcp@*' 2>/dev/null | awk '{print $1}'); do
    i=${u#hotbond-dhcp@}; takeover="$takeover ${i%.service}"
    systemctl stop "$u" || true
  done
fi
for u in $OLD_UNITS; do rm -f "$DESTDIR$UNITDIR/$u"; done
if [ -e "$DESTDIR$CONF" ]; then
  echo "install.sh: keeping existing $CONF"
elif [ -e "$DESTDIR/etc/conf.d/network.conf" ]; then
  # A user of the classic recipe: hotbond reads network.conf as it is, and a hotbond.toml
  # would take precedence over it, so the example goes beside it.
  install -m 0644 "$SRC/conf/hotbond.toml" "$DESTDIR$CONF.example"
  echo "install.sh: using /etc/conf.d/network.conf; example left at $CONF.example"
else
  install -m 0644 "$SRC/conf/hotbond.toml" "$DESTDIR$CONF"
fi
reload
for i in $takeover; do systemctl start "hotbond-settle@$i.service" || true; done
echo "hotbond installed to $DESTDIR$BINDIR; edit $CONF, then check it with: hotbond check"
