#!/usr/bin/env bash
# Runs every command block of README.md, in order, in one bash session, so that the README
# cannot drift from the binaries: blocks fenced ```sh are executed; ```sh skip-ci blocks are
# listed as skipped (the README says why above each); any other fence is an error, so no
# example goes unclassified. scripts/test.sh runs this after the tests.
#
# What differs from a newcomer's run, and why:
# - HOME is a temporary folder (~/kiosk-try is made there), with cargo and rustup still found;
# - `cargo install …` copies the debug binaries the tests just built (the same workspace
#   build, so nothing is compiled twice: a real `cargo install` of one package alone would
#   rebuild most dependencies with other features, ~12 minutes of CI) into a temporary root
#   put first on PATH;
# - DATABASE_URL names a fresh database in the PostgreSQL the caller gives;
# - the README's port 8080 becomes a free port.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
repo=$PWD

: "${DATABASE_URL:?set DATABASE_URL to a PostgreSQL that may create databases (scripts/test.sh does)}"
ensure_pkgs curl
command -v psql >/dev/null || { echo "error: psql is missing: apt-get install postgresql-client" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
db="readme_$(date +%s)_$$"
psql -q "$DATABASE_URL" -c "CREATE DATABASE $db" >/dev/null
readme_db="${DATABASE_URL%/*}/$db"
port=$(free_port)

# The blocks, with the substitutions above; line numbers kept for the failure message.
script="$work/readme.sh"
awk -v port="$port" '
  /^```sh skip-ci/ { skipping = 1; printf "echo \"== README.md:%d skipped (skip-ci)\"\n", NR; next }
  /^```sh$/        { running = 1; printf "echo \"== README.md:%d\"\n", NR; next }
  /^```/ && (running || skipping) { running = 0; skipping = 0; next }
  /^```/           { printf "README.md:%d: a code block without `sh` or `sh skip-ci`\n", NR > "/dev/stderr"; bad = 1; next }
  running          { gsub(/127\.0\.0\.1:8080/, "127.0.0.1:" port); print }
  END              { exit bad }
' README.md >"$script.body"
{
  echo 'set -euo pipefail'
  echo 'trap '"'"'echo "error: a README command failed: $BASH_COMMAND" >&2'"'"' ERR'
  echo 'trap '"'"'kill $(jobs -p) 2>/dev/null || true'"'"' EXIT'
  echo 'cargo() { if [ "$1" = install ]; then command cargo build --locked --workspace --bins --features trace-server/testkit -q && mkdir -p "$CARGO_INSTALL_ROOT/bin" && cp "$CARGO_TARGET_DIR/debug/kiosk" "$CARGO_TARGET_DIR/debug/trace-server" "$CARGO_INSTALL_ROOT/bin/"; else command cargo "$@"; fi; }'
  cat "$script.body"
} >"$script"

echo "== running $(grep -c '^echo "== README.md:[0-9]*"$' "$script") README blocks (port $port, database $db)"
status=0
env HOME="$work/home" \
  CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}" RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}" \
  CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}" CARGO_INSTALL_ROOT="$work/root" \
  PATH="$work/root/bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH" \
  DATABASE_URL="$readme_db" USER="${USER:-$(id -un)}" \
  bash "$script" || status=$?
psql -q "$DATABASE_URL" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null || true
if [ "$status" != 0 ]; then
  echo "error: README.md's commands failed (exit $status); the failing command is named above" >&2
  exit "$status"
fi
echo "== README.md: every command block ran"
