#!/usr/bin/env bash
# README's first command: builds the kiosk and brings up the demo (signed demo passes shown
# to the scanner as camera frames; no camera needed). Run as root on a fresh Debian machine
# it installs what is missing; without a display it starts a virtual one (Xvfb).
# Usage: bash scripts/demo.sh [kiosk options, e.g. --windowed]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

ensure_cargo
ensure_pkgs "${BUILD_PKGS[@]}" "${RUNTIME_PKGS[@]}"

if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  ensure_pkgs "${XVFB_PKGS[@]}"
  n=$((90 + RANDOM % 9)); while [ -e "/tmp/.X11-unix/X$n" ]; do n=$((n + 1)); done
  export DISPLAY=":$n"
  Xvfb "$DISPLAY" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 & xvfb=$!
  for _ in $(seq 1 50); do [ -e "/tmp/.X11-unix/X$n" ] && break; sleep 0.1; done
  matchbox-window-manager -use_titlebar no >/dev/null 2>&1 & wm=$!
  trap 'kill $wm $xvfb 2>/dev/null || true' EXIT
  echo "== no display found: the kiosk runs on the virtual display $DISPLAY"
  echo "   look at it with: DISPLAY=$DISPLAY import -window root shot.png   (imagemagick)"
fi

echo "== building the kiosk (release; the first build takes several minutes)"
cargo build --release --locked --bin kiosk
echo "== starting the demo kiosk: operator screen F2, PIN 2468; close the window or Ctrl-C to stop"
./target/release/kiosk --demo "$@"
