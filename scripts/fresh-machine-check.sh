#!/usr/bin/env bash
# Proves README's two commands on a fresh Debian 12, as a newcomer would meet it: a
# `debootstrap --variant=minbase bookworm` root with only build-essential, git and the Rust
# toolchain (no python3, no clang, no pkg-config). Inside it, a clone of this repository's
# committed HEAD runs `bash scripts/demo.sh` (the kiosk window must come up and stay up) and
# then `bash scripts/test.sh` (must pass). Not run by CI: it takes two cold builds (~40 min).
#
# Usage, as root:  bash scripts/fresh-machine-check.sh [ROOT_DIR]
#   ROOT_DIR defaults to /var/tmp/kiosk-fresh (removed afterwards unless KEEP=1).
#   Logs and a screenshot of the demo go to $OUT (default /tmp/fresh-machine-check).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
[ "$(id -u)" = 0 ] || { echo "error: run as root (debootstrap, chroot and bind mounts need it)" >&2; exit 2; }
project=$(pwd)
root=${1:-/var/tmp/kiosk-fresh}
out=${OUT:-/tmp/fresh-machine-check}
mkdir -p "$out"
ensure_pkgs debootstrap x11-utils imagemagick

# The host's own Debian mirror (no address is written into this repository).
mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" {print $2; exit}' /etc/apt/sources.list)

mounts=()
demo_pid=
cleanup() {
  [ -n "$demo_pid" ] && kill -- "-$demo_pid" 2>/dev/null || true
  sleep 1
  local i
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do umount -l "${mounts[$i]}" 2>/dev/null || true; done
  if [ -z "${KEEP:-}" ]; then rm -rf --one-file-system "$root"; fi
}
trap cleanup EXIT
bind() { # bind SRC DEST [ro]
  mkdir -p "$2"; mount --bind "$1" "$2"; mounts+=("$2")
  [ "${3:-}" = ro ] && mount -o remount,bind,ro "$2"
  return 0
}
step() { echo "== [$(date +%T)] $*"; }

if [ -e "$root" ]; then echo "error: $root exists; remove it or name another folder" >&2; exit 2; fi
step "debootstrap --variant=minbase bookworm $root"
debootstrap --variant=minbase bookworm "$root" "$mirror" >"$out/debootstrap.log" 2>&1

# These machines reach the registries through a TLS-inspecting gateway whose CA only the
# host trusts: give the chroot the same trust, as a company machine would have.
mkdir -p "$root/usr/local/share/ca-certificates" "$root/etc/ssl/certs"
cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/" 2>/dev/null || true
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
cp /etc/resolv.conf "$root/etc/resolv.conf"
# No services start inside a chroot (postgresql's package would try).
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"; chmod +x "$root/usr/sbin/policy-rc.d"

bind /proc "$root/proc"; bind /sys "$root/sys"; bind /dev "$root/dev"; bind /dev/pts "$root/dev/pts"
bind "$HOME/.rustup" "$root/root/.rustup" ro
bind "$HOME/.cargo/bin" "$root/root/.cargo/bin" ro
mkdir -p /tmp/.X11-unix; chmod 1777 /tmp/.X11-unix
bind /tmp/.X11-unix "$root/tmp/.X11-unix"
[ -d ../shared ] && bind "$(cd ../shared && pwd)" "$root/work/shared" ro

# The host's toolchain is bound read-only at /root/.cargo/bin, so what the scripts `cargo
# install` (cargo-deb) goes to a folder of the root's own, first on PATH, as ~/.cargo/bin
# would be on a machine of its own.
in_root() {
  chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb CARGO_INSTALL_ROOT=/root/.cargo-tools \
    PATH=/root/.cargo-tools/bin:/root/.cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    bash -c "$1"
}

step "the newcomer's baseline: build-essential and git"
in_root 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq build-essential git ca-certificates >/dev/null' \
  >"$out/baseline.log" 2>&1
in_root 'for p in python3 clang pkg-config libclang-dev; do [ "$(dpkg-query -W -f="\${Status}" $p 2>/dev/null)" = "install ok installed" ] && echo "unexpected: $p is installed"; done; true'
git clone --quiet "$project" "$root/work/main"
echo "   testing commit $(git -C "$root/work/main" rev-parse --short HEAD)"

step "command 1: bash scripts/demo.sh (no display: it starts its own)"
setsid chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
  PATH=/root/.cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  bash -c 'cd /work/main && bash scripts/demo.sh' >"$out/demo.log" 2>&1 &
demo_pid=$!
display=
for _ in $(seq 1 3600); do # a cold release build: up to an hour
  kill -0 "$demo_pid" 2>/dev/null || { echo "error: demo.sh ended early; its log:" >&2; tail -40 "$out/demo.log" >&2; exit 1; }
  [ -z "$display" ] && display=$(grep -o 'virtual display :[0-9]*' "$out/demo.log" | grep -o ':[0-9]*' || true)
  if [ -n "$display" ] && xwininfo -display "$display" -name "Venue check-in" >/dev/null 2>&1; then break; fi
  sleep 1
done
xwininfo -display "$display" -name "Venue check-in" >"$out/window.txt" 2>&1 \
  || { echo "error: no kiosk window after an hour; see $out/demo.log" >&2; exit 1; }
sleep 15 # the demo shows its first pass after ~3 s; a crash on a frame would end it here
kill -0 "$demo_pid" 2>/dev/null || { echo "error: the demo kiosk exited; see $out/demo.log" >&2; exit 1; }
import -display "$display" -window root "$out/demo.png"
echo "   the kiosk window is up on $display ($(grep -o 'Width: [0-9]*\|Height: [0-9]*' "$out/window.txt" | tr '\n' ' ')); screenshot $out/demo.png"
kill -- "-$demo_pid" 2>/dev/null || true; wait "$demo_pid" 2>/dev/null || true; demo_pid=

step "command 2: bash scripts/test.sh"
if in_root 'cd /work/main && bash scripts/test.sh' >"$out/test.log" 2>&1; then
  grep -E 'Summary|test result' "$out/test.log" | tail -3
  step "both commands work on a fresh machine"
else
  echo "error: scripts/test.sh failed on the fresh machine; the end of its log:" >&2
  tail -40 "$out/test.log" >&2
  exit 1
fi
