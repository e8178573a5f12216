#!/usr/bin/env bash
# The one gate: formatting, lints, and every test of the workspace. CI runs this (.ci/run).
# Run as root on a fresh Debian machine it installs what it needs; it starts a throwaway
# PostgreSQL (unless DATABASE_URL is set) and stops it however the tests end.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

ensure_cargo
ensure_pkgs "${BUILD_PKGS[@]}" "${RUNTIME_PKGS[@]}" xvfb postgresql curl

# Real QR images for decoder regression tests (never committed into this repository).
if [ -z "${QR_SAMPLES:-}" ] && [ -d ../shared/qr-samples ]; then
  export QR_SAMPLES="$(cd ../shared/qr-samples && pwd)"
fi

# A throwaway PostgreSQL for the trace-server and sync tests: a temp directory, a free port,
# run as the unprivileged postgres user (initdb refuses root).
if [ -z "${DATABASE_URL:-}" ]; then
  pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  pgdir=$(mktemp -d)
  as_pg=()
  if [ "$(id -u)" = 0 ]; then chown postgres "$pgdir"; as_pg=(runuser -u postgres --); fi
  trap '"${as_pg[@]}" "$pgbin/pg_ctl" -D "$pgdir/data" -m immediate stop >/dev/null 2>&1; rm -rf "$pgdir"' EXIT
  "${as_pg[@]}" "$pgbin/initdb" -D "$pgdir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  # A port can be taken between the probe and the start: try a few.
  for attempt in 1 2 3 4 5; do
    port=$(free_port)
    if "${as_pg[@]}" "$pgbin/pg_ctl" -D "$pgdir/data" -l "$pgdir/pg.log" -w \
      -o "-p $port -k $pgdir -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null; then
      break
    fi
    [ "$attempt" = 5 ] && { echo "error: PostgreSQL did not start; its log:" >&2; cat "$pgdir/pg.log" >&2; exit 2; }
  done
  export DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
  echo "== PostgreSQL on port $port"
fi

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
