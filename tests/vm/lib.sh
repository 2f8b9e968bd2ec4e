# Shared host-side helpers of tests/vm/{build,run,demo}. Sourced, not run.
VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$VM_DIR/../.." && pwd)
CACHE=${VM_CACHE:-$VM_DIR/.cache}

say() { echo "vm: $*" >&2; }
die() { echo "vm: error: $*" >&2; exit 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# Host tools the harness needs; installed on first use (Debian/Ubuntu host, as root).
ensure_host_tools() {
  local need=() c
  for c in qemu-system-x86_64:qemu-system-x86 mmdebstrap:mmdebstrap cpio:cpio; do
    command -v "${c%%:*}" >/dev/null || need+=("${c#*:}")
  done
  [ -x /bin/busybox ] && dpkg -s busybox-static >/dev/null 2>&1 || need+=(busybox-static)
  [ ${#need[@]} -eq 0 ] && return 0
  [ "$(id -u)" = 0 ] || die "need root to install: ${need[*]}"
  say "installing host packages: ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
}

# The image cache key: everything that goes into the image (not the guest runtime scripts,
# which are read from the repo share at boot, so editing them never rebuilds the image).
image_key() {
  cat "$VM_DIR/build" "$VM_DIR/packages.txt" "$VM_DIR"/image/* | sha256sum | cut -c1-16
}
image_dir() { echo "$CACHE/image-$(image_key)"; }

# Build the hotbond binaries when they are missing or older than the sources.
# Returns non-zero when cargo fails (the caller decides whether that is fatal).
ensure_hotbond_built() {
  local bins=(hotbond hotbond-udev hotbond-wpa hotbond-settle hotbond-udhcpc-script) b stale=
  [ -f "$REPO/Cargo.toml" ] || return 1
  for b in "${bins[@]}"; do
    [ -x "$REPO/target/release/$b" ] || { stale=1; break; }
    if [ -n "$(find "$REPO/src" "$REPO/Cargo.toml" "$REPO/Cargo.lock" -newer "$REPO/target/release/$b" 2>/dev/null | head -1)" ]; then
      stale=1; break
    fi
  done
  [ -z "$stale" ] && return 0
  say "cargo build --release (binaries missing or older than the sources)"
  local t0; t0=$(now)
  if (cd "$REPO" && cargo build --release --bins 2>&1 | tail -20 >&2; exit "${PIPESTATUS[0]}"); then
    say "cargo build done in $(elapsed "$t0") s"
  else
    say "cargo build --release FAILED: hotbond scenarios will fail (see above)"
    return 1
  fi
}
