#!/usr/bin/env bash
# Screenshots of `kiosk --demo` under Xvfb at every panel size a kiosk ships with: 7-inch
# 800x480, 10-inch 1280x800, 1920x1080 and a 1080x1920 portrait totem. Writes
# OUT_DIR/<W>x<H>/{idle,visitor-admit,visitor-refuse-yellow,visitor-refuse-red,pin,operator}.png,
# each exactly the panel's size. Usage: scripts/screenshot.sh OUT_DIR [WxH ...]
# Needs xvfb, xauth, imagemagick, matchbox-window-manager, xdotool (installed when root).
set -euo pipefail
out=${1:?usage: scripts/screenshot.sh OUT_DIR [WxH ...]}
shift
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(800x480 1280x800 1920x1080 1080x1920)
cd "$(dirname "$0")/.."
mkdir -p "$out"
out=$(cd "$out" && pwd)
. scripts/lib.sh
ensure_cargo
ensure_pkgs "${BUILD_PKGS[@]}" "${RUNTIME_PKGS[@]}" "${XVFB_PKGS[@]}" imagemagick xdotool
# KIOSK_BIN: a kiosk binary already built (say target/debug/kiosk), else a release build.
bin=${KIOSK_BIN:-}
if [ -z "$bin" ]; then
  cargo build --release --locked --quiet --bin kiosk
  bin=target/release/kiosk
fi
bin=$(realpath "$bin")

pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
for size in "${sizes[@]}"; do
  dir="$out/$size"
  mkdir -p "$dir"
  display=:$((60 + RANDOM % 30))
  Xvfb "$display" -screen 0 "${size}x24" -nolisten tcp >/dev/null 2>&1 & pids+=($!)
  sleep 1
  DISPLAY=$display matchbox-window-manager -use_titlebar no >/dev/null 2>&1 & pids+=($!)
  # A fresh log each time: the demo's playlist starts again at green.
  work=$(mktemp -d)
  (cd "$work" && DISPLAY=$display exec "$bin" --demo) >"$dir/kiosk.log" 2>&1 & kiosk=$!
  pids+=($kiosk)
  shoot() {
    DISPLAY=$display import -window root "$dir/$1.png"
    local got; got=$(identify -format '%wx%h' "$dir/$1.png")
    [ "$got" = "$size" ] || { echo "error: $dir/$1.png is $got, not $size" >&2; exit 1; }
    echo "saved $dir/$1.png"
  }
  # The demo shows a pass every 7 s, starting about 3 s after launch: green, yellow, red, ...
  sleep 2; shoot idle
  sleep 2.5; shoot visitor-admit
  sleep 7; shoot visitor-refuse-yellow
  sleep 7; shoot visitor-refuse-red
  DISPLAY=$display xdotool key F2; sleep 1; shoot pin
  DISPLAY=$display xdotool type --delay 80 2468; DISPLAY=$display xdotool key Return; sleep 2
  shoot operator
  kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
  pids=()
  rm -rf "$work"
done
