#!/usr/bin/env bash
# Screenshots of every web console page, as a tracer (English) and an operator (Chinese, on a
# phone-sized window) see them: runs the Chromium test (tests/console_browser.rs) with
# CONSOLE_SCREENSHOTS set. Usage: bash scripts/console-screenshots.sh [DIR] (default
# target/console-screenshots). Installs Chromium and starts a throwaway PostgreSQL if needed.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
out=$(realpath -m "${1:-target/console-screenshots}")
ensure_cargo
ensure_pkgs "${BUILD_PKGS[@]}" "${BROWSER_PKGS[@]}" fonts-noto-cjk postgresql
start_throwaway_postgres
mkdir -p "$out"
CONSOLE_SCREENSHOTS="$out" cargo test --locked -p trace-server --features testkit --test console_browser -q
ls "$out"/*.png
