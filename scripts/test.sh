#!/usr/bin/env bash
# The one gate: formatting, lints, and every test of the workspace. CI runs this (.ci/run).
# Run as root on a fresh Debian machine it installs what it needs; it starts a throwaway
# PostgreSQL (unless DATABASE_URL is set) and stops it however the tests end, then runs the
# tests again on a throwaway Citus cluster (built from ../shared/citus on first use).
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
run_tests() {
  if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace --locked --no-fail-fast --features trace-server/testkit
  else
    cargo test --workspace --locked --no-fail-fast --features trace-server/testkit
  fi
}
echo "== tests"
run_tests
# The same tests against a Citus cluster (a coordinator and two workers, scripts/citus.sh):
# the server's migrations distribute passages by venue there, and every query must still
# work. The build is reused; only the database differs. SKIP_CITUS=1 skips it.
if [ -z "${SKIP_CITUS:-}" ] && [ ! -f /usr/lib/postgresql/15/lib/citus.so ] &&
  [ ! -f "${CITUS_SRC:-../shared/citus}/citus-13.2.2.tar.gz" ]; then
  echo "note: no Citus installed and no source in ../shared/citus (or CITUS_SRC): the Citus run is skipped" >&2
  SKIP_CITUS=1
fi
if [ -z "${SKIP_CITUS:-}" ]; then
  echo "== tests on Citus"
  (
    citus_dir=$(mktemp -d -u /tmp/citus.XXXXXX)
    trap 'bash scripts/citus.sh stop "$citus_dir"' EXIT
    citus_url=$(bash scripts/citus.sh start "$citus_dir" | sed -n 's/^DATABASE_URL=//p')
    [ -n "$citus_url" ] || { echo "error: the Citus cluster did not start" >&2; exit 2; }
    DATABASE_URL=$citus_url run_tests
  )
fi
echo "== README.md's commands"
bash scripts/readme-check.sh
echo "== packaging"
bash packaging/check-debs.sh
