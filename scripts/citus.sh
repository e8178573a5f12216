#!/usr/bin/env bash
# A throwaway Citus cluster on 127.0.0.1, for running the trace server distributed:
#
#   scripts/citus.sh start DIR   builds and installs Citus from ../shared/citus when PostgreSQL
#                                lacks it (as root: installs the build packages), starts a
#                                coordinator and two workers on free ports under DIR, and prints
#                                DATABASE_URL=postgres://… of the coordinator on a line of its own
#   scripts/citus.sh stop DIR    stops them and removes DIR
#
# Citus (AGPL-3.0) is not packaged in Debian 12; ../shared/citus holds its 13.2.2 source and a
# patch for PostgreSQL 15.20 (see its README.md). CITUS_SRC may point elsewhere.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/scripts/lib.sh"

CITUS_VERSION=13.2.2
CITUS_SRC=${CITUS_SRC:-$here/../shared/citus}
# libicu-dev: PostgreSQL's server headers include ICU's (Debian builds it with ICU); Citus'
# COPY code reaches them. ../shared/citus/README.md's list lacks it (its machine had it).
CITUS_BUILD_PKGS=(postgresql postgresql-server-dev-15 build-essential libkrb5-dev liblz4-dev
  libzstd-dev libxml2-dev libxslt1-dev libselinux1-dev libpam0g-dev libssl-dev libreadline-dev
  zlib1g-dev libicu-dev)
WORKERS=2

usage() {
  echo "usage: scripts/citus.sh start DIR | stop DIR" >&2
  exit 2
}

pgbin() { ls -d /usr/lib/postgresql/15/bin 2>/dev/null || { echo "error: PostgreSQL 15 is not installed" >&2; exit 2; }; }

# Builds and installs Citus into PostgreSQL 15 unless its library is there already.
ensure_citus() {
  # Installed already (Debian's PostgreSQL 15 keeps extensions here): nothing to build.
  [ -f /usr/lib/postgresql/15/lib/citus.so ] && return 0
  local libdir
  ensure_pkgs "${CITUS_BUILD_PKGS[@]}"
  libdir=$("$(pgbin)/pg_config" --pkglibdir 2>/dev/null || /usr/bin/pg_config --pkglibdir)
  [ -f "$libdir/citus.so" ] && return 0
  if [ "$(id -u)" != 0 ]; then
    echo "error: Citus is not installed in $libdir; run this script as root to build it" >&2
    exit 2
  fi
  local tarball="$CITUS_SRC/citus-$CITUS_VERSION.tar.gz" build
  [ -f "$tarball" ] || { echo "error: no Citus source at $tarball (set CITUS_SRC)" >&2; exit 2; }
  build=$(mktemp -d)
  echo "== building Citus $CITUS_VERSION (about 6 minutes on two cores; log: $build/build.log)" >&2
  tar xzf "$tarball" -C "$build"
  local src
  src=$(find "$build" -maxdepth 1 -mindepth 1 -type d | head -n 1)
  # The patch renames Citus' own have_createdb_privilege() for PostgreSQL 15.20+, whose headers
  # export one; older 15.x (a mirror without bookworm-updates) has none, and needs Citus' own.
  if grep -q have_createdb_privilege /usr/include/postgresql/15/server/commands/dbcommands.h 2>/dev/null; then
    for p in "$CITUS_SRC"/*.patch; do
      [ -f "$p" ] && patch -d "$src" -p1 <"$p" >>"$build/build.log"
    done
  fi
  if ! (cd "$src" && PG_CONFIG="$(pgbin)/pg_config" ./configure --without-libcurl &&
    make -j"$(nproc)" && make install) >>"$build/build.log" 2>&1; then
    echo "error: building Citus failed; the end of its log:" >&2
    tail -n 30 "$build/build.log" >&2
    exit 2
  fi
  rm -rf "$build"
}

# Runs a command as the postgres user when root (initdb refuses root).
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

psql_at() {
  local port=$1
  shift
  as_pg "$(pgbin)/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d postgres "$@"
}

start_node() {
  local dir=$1 name=$2 port attempt
  as_pg "$(pgbin)/initdb" -D "$dir/$name" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  for attempt in 1 2 3 4 5; do
    port=$(free_port)
    # max_prepared_transactions: Citus commits writes to several nodes with two-phase commit.
    # max_worker_processes, max_connections: each database with Citus runs a maintenance worker
    # that keeps connections to the workers (the tests make a database each).
    # citus.max_adaptive_executor_pool_size: one connection per worker for a query's shards.
    # Here three nodes share the machine's cores, and a query over all 32 shards that opened up
    # to 16 connections per worker spent its time starting them (peaks of a day: 160-250 ms,
    # against 24 ms with one). A worker with cores of its own wants about one per core.
    if as_pg "$(pgbin)/pg_ctl" -D "$dir/$name" -l "$dir/$name.log" -w -o "-p $port -k $dir \
        -c listen_addresses=127.0.0.1 -c shared_preload_libraries=citus -c fsync=off \
        -c max_prepared_transactions=100 -c max_connections=1000 -c max_worker_processes=256 \
        -c citus.max_adaptive_executor_pool_size=1" start >/dev/null; then
      echo "$port" >"$dir/$name.port"
      psql_at "$port" -c "CREATE EXTENSION citus"
      return 0
    fi
  done
  echo "error: the Citus node $name did not start; its log:" >&2
  cat "$dir/$name.log" >&2
  exit 2
}

start() {
  local dir=$1
  [ -e "$dir" ] && { echo "error: $dir exists; stop that cluster first (scripts/citus.sh stop $dir)" >&2; exit 2; }
  ensure_citus
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  [ "$(id -u)" = 0 ] && chown postgres "$dir"
  start_node "$dir" coordinator
  local i coordinator
  coordinator=$(cat "$dir/coordinator.port")
  psql_at "$coordinator" -c "SELECT citus_set_coordinator_host('127.0.0.1', $coordinator)" >/dev/null
  for i in $(seq 1 $WORKERS); do
    start_node "$dir" "worker$i"
    psql_at "$coordinator" -c "SELECT citus_add_node('127.0.0.1', $(cat "$dir/worker$i.port"))" >/dev/null
  done
  echo "== Citus $CITUS_VERSION: coordinator on $coordinator, $WORKERS workers ($(cat "$dir"/worker*.port | tr '\n' ' '))" >&2
  echo "DATABASE_URL=postgres://postgres@127.0.0.1:$coordinator/postgres"
}

stop() {
  local dir=$1 node
  [ -d "$dir" ] || return 0
  for node in "$dir"/coordinator "$dir"/worker*; do
    [ -d "$node" ] && as_pg "$(pgbin)/pg_ctl" -D "$node" -m immediate stop >/dev/null 2>&1 || true
  done
  rm -rf "$dir"
}

[ $# = 2 ] || usage
case $1 in
  start) start "$2" ;;
  stop) stop "$2" ;;
  *) usage ;;
esac
