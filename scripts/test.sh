#!/usr/bin/env bash
# The one gate: formatting, lints, and every test of the workspace. CI runs this (.ci/run).
# Run as root on a fresh Debian machine it installs what it needs; it starts a throwaway
# PostgreSQL (unless DATABASE_URL is set) and stops it however the tests end.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

ensure_cargo
ensure_pkgs "${BUILD_PKGS[@]}" "${RUNTIME_PKGS[@]}" "${BROWSER_PKGS[@]}" xvfb postgresql curl

# Real QR images for decoder regression tests (never committed into this repository).
if [ -z "${QR_SAMPLES:-}" ] && [ -d ../shared/qr-samples ]; then
  export QR_SAMPLES="$(cd ../shared/qr-samples && pwd)"
fi

# A throwaway PostgreSQL for the trace-server and sync tests (unless DATABASE_URL is set).
start_throwaway_postgres

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked --features trace-server/testkit -- -D warnings
echo "== tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast --features trace-server/testkit
else
  cargo test --workspace --locked --no-fail-fast --features trace-server/testkit
fi
echo "== README.md's commands"
bash scripts/readme-check.sh
echo "== packaging"
bash packaging/check-debs.sh
