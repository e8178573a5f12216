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
for size in "${sizes[@]}"; do
  [[ $size =~ ^[0-9]+x[0-9]+$ ]] || { echo "error: $size is not WxH (say 800x480)" >&2; exit 2; }
done
cd "$(dirname "$0")/.."
mkdir -p "$out"
out=$(cd "$out" && pwd)
. scripts/lib.sh
ensure_cargo
ensure_pkgs "${BUILD_PKGS[@]}" "${RUNTIME_PKGS[@]}" "${XVFB_PKGS[@]}" imagemagick xdotool
# KIOSK_BIN: a kiosk binary already built (say target/debug/kiosk, from the repository's
# root), else a release build.
bin=$(kiosk_bin)

pids=()
work=
fifo=
trap 'kill ${pids[@]+"${pids[@]}"} 2>/dev/null || true; [ -z "$work" ] || rm -rf "$work"; [ -z "$fifo" ] || rm -f "$fifo"' EXIT
for size in "${sizes[@]}"; do
  dir="$out/$size"
  mkdir -p "$dir"
  # Xvfb picks a free display itself and says which (a fixed guess can land on another's).
  fifo=$(mktemp -u); mkfifo "$fifo"
  Xvfb -displayfd 3 -screen 0 "${size}x24" -nolisten tcp 3>"$fifo" >/dev/null 2>&1 & pids+=($!)
  read -r -t 15 number <"$fifo" || { echo "error: Xvfb did not start at $size" >&2; exit 1; }
  rm -f "$fifo"; fifo=
  display=:$number
  DISPLAY=$display matchbox-window-manager -use_titlebar no >/dev/null 2>&1 & pids+=($!)
  # A fresh log each time: the demo's playlist starts again at green.
  work=$(mktemp -d)
  (cd "$work" && DISPLAY=$display exec "$bin" --demo) >"$dir/kiosk.log" 2>&1 & kiosk=$!
  pids+=($kiosk)
  # The kiosk's own window, once mapped, must cover the whole panel (the root window always
  # does: checking the screenshot's size alone would prove nothing).
  window=$(DISPLAY=$display timeout 30 xdotool search --sync --onlyvisible --pid "$kiosk" | head -1) || true
  [ -n "$window" ] || { echo "error: no kiosk window at $size; its log:" >&2; cat "$dir/kiosk.log" >&2; exit 1; }
  shoot() {
    DISPLAY=$display import -window root "$dir/$1.png"
    local geometry; geometry=$(DISPLAY=$display xdotool getwindowgeometry --shell "$window")
    local w h; w=$(sed -n 's/^WIDTH=//p' <<<"$geometry"); h=$(sed -n 's/^HEIGHT=//p' <<<"$geometry")
    [ "${w}x${h}" = "$size" ] || { echo "error: the kiosk window is ${w}x${h}, not $size" >&2; exit 1; }
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
  rm -rf "$work"; work=
done
