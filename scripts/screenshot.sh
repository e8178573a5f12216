#!/usr/bin/env bash
# Screenshots of `kiosk --demo` under Xvfb: the visitor screen (admit and refuse) and the
# operator screen. Usage: scripts/screenshot.sh OUT_DIR
# Needs xvfb, xauth, imagemagick, matchbox-window-manager, xdotool (installed when root).
set -euo pipefail
out=${1:?usage: scripts/screenshot.sh OUT_DIR}
cd "$(dirname "$0")/.."
mkdir -p "$out"
. scripts/lib.sh
ensure_cargo
ensure_pkgs "${BUILD_PKGS[@]}" "${RUNTIME_PKGS[@]}" "${XVFB_PKGS[@]}" imagemagick xdotool
cargo build --release --locked --quiet --bin kiosk
display=:$((90 + RANDOM % 9))
Xvfb "$display" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 & xvfb=$!
sleep 1
DISPLAY=$display matchbox-window-manager -use_titlebar no >/dev/null 2>&1 & wm=$!
DISPLAY=$display ./target/release/kiosk --demo >"$out/kiosk.log" 2>&1 & kiosk=$!
trap 'kill $kiosk $wm $xvfb 2>/dev/null || true' EXIT

# The demo shows a pass every 7 s, starting about 3 s after launch: green, yellow, red, ...
shoot() { DISPLAY=$display import -window root "$out/$1.png"; echo "saved $out/$1.png"; }
sleep 4.5; shoot visitor-admit
sleep 7; shoot visitor-refuse-yellow
sleep 7; shoot visitor-refuse-red
DISPLAY=$display xdotool key F2; sleep 1; shoot pin
DISPLAY=$display xdotool type --delay 80 2468; DISPLAY=$display xdotool key Return; sleep 2
shoot operator
