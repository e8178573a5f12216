#!/usr/bin/env bash
# The kiosk's footprint on a real window under Xvfb: resident memory (RSS) and CPU (% of one
# core) while it scans 1280x720 frames at 10 a second, first with no code in view (an empty
# scene replayed through --source: one flat grey frame, so every frame is alike; a real
# camera's noise makes frames differ more), then running the demo (a pass held up every 7 s).
# Budgets (issue "The camera path"): under 150 MB RSS, and under 25 % of a core with no code in
# view. Usage: scripts/footprint.sh [SECONDS]   (each run measures SECONDS after a 5 s start;
# default 30). KIOSK_BIN: a kiosk binary already built, else a release build.
set -euo pipefail
seconds=${1:-30}
[[ $seconds =~ ^[0-9]+$ ]] || { echo "error: SECONDS must be a whole number" >&2; exit 2; }
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_cargo
ensure_pkgs "${BUILD_PKGS[@]}" "${RUNTIME_PKGS[@]}" "${XVFB_PKGS[@]}" imagemagick
bin=$(kiosk_bin)

pids=()
work=$(mktemp -d)
trap 'kill ${pids[@]+"${pids[@]}"} 2>/dev/null || true; rm -rf "$work"' EXIT
fifo="$work/displayfd"; mkfifo "$fifo"
Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp 3>"$fifo" >/dev/null 2>&1 & pids+=($!)
read -r -t 15 number <"$fifo" || { echo "error: Xvfb did not start" >&2; exit 1; }
export DISPLAY=:$number
matchbox-window-manager -use_titlebar no >/dev/null 2>&1 & pids+=($!)
mkdir -p "$work/empty"
/usr/bin/convert -size 1280x720 xc:gray50 "$work/empty/scene.png"
ticks=$(getconf CLK_TCK)

# measure NAME ARGS...: starts the kiosk in a fresh folder, waits 5 s, then samples its RSS
# every second and its CPU time over SECONDS; prints one line.
measure() {
  local name=$1; shift
  local dir; dir=$(mktemp -d "$work/run.XXXX")
  (cd "$dir" && exec "$bin" "$@") >"$dir/kiosk.log" 2>&1 & local pid=$!
  pids+=("$pid")
  sleep 5
  kill -0 "$pid" 2>/dev/null || { echo "error: the kiosk stopped; its log:" >&2; cat "$dir/kiosk.log" >&2; exit 1; }
  cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
  local start; start=$(cpu)
  local t0; t0=$(date +%s.%N)
  local peak=0 rss i
  for ((i = 0; i < seconds; i++)); do
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")
    ((rss > peak)) && peak=$rss
    sleep 1
  done
  # Mesa's software renderer (llvmpipe: libLLVM, the swrast driver) is what Xvfb gives; a
  # kiosk with a GPU loads its own driver instead, so its share is printed apart.
  local soft; soft=$(awk '/^[0-9a-f]+-[0-9a-f]+ / {lib = ($6 ~ /libLLVM|swrast_dri|libgallium/)} /^Rss:/ && lib {s += $2} END {print s + 0}' "/proc/$pid/smaps")
  local used; used=$(( $(cpu) - start ))
  local t1; t1=$(date +%s.%N)
  kill "$pid" 2>/dev/null || { echo "error: the kiosk stopped while measured; its log:" >&2; cat "$dir/kiosk.log" >&2; exit 1; }
  wait "$pid" 2>/dev/null || true
  awk -v n="$name" -v p="$peak" -v u="$used" -v hz="$ticks" -v a="$t0" -v b="$t1" -v s="$soft" \
    'BEGIN { printf "%-32s RSS peak %6.1f MB (%5.1f MB without software OpenGL)   CPU %5.1f %% of one core\n", n, p / 1024, (p - s) / 1024, 100 * u / hz / (b - a) }'
}

echo "== $bin, 1280x720 frames at 10 a second, ${seconds} s each, under Xvfb"
measure "no code in view (empty scene)" --demo --windowed --source "$work/empty"
measure "demo (a pass every 7 s)" --demo --windowed
echo "budget: RSS under 150 MB; CPU under 25 % of one core with no code in view"
