#!/usr/bin/env bash
# A throw-away PostgreSQL 15 + PostGIS server for the tests and benchmarks, in a folder of its own.
#
#   bash scripts/postgis.sh start DIR   # new cluster in DIR (made if missing), started, with the
#                                       # database hotspot_policing_test and CREATE EXTENSION postgis
#   bash scripts/postgis.sh env DIR     # prints the export lines of its connection (eval them)
#   bash scripts/postgis.sh stop DIR    # stops it and removes DIR
#
# It listens on a Unix socket inside DIR and on 127.0.0.1 at a free port, with trust
# authentication (superuser "postgres"), and is tuned for speed over durability (no fsync).
# initdb refuses to run as root: as root the server runs as the "postgres" system user that
# Debian's postgresql-common package creates, and DIR is handed to it. Needs postgresql-15
# and postgresql-15-postgis-3 (scripts/install_system_deps.sh installs them).
set -euo pipefail

BIN=${HOTSPOT_POLICING_PGBIN:-/usr/lib/postgresql/15/bin}
DATABASE=hotspot_policing_test
SUPERUSER=postgres

usage() {
  echo "usage: $0 start|stop|env DIR" >&2
  exit 2
}
[ $# -eq 2 ] || usage
command=$1
DIR=$2
case "$DIR" in /*) ;; *) DIR="$(pwd)/$DIR" ;; esac

as_owner() {  # run a command as the cluster's owner (postgres when we are root), from DIR
  if [ "$(id -u)" -eq 0 ]; then
    (cd "$DIR" && runuser -u postgres -- "$@")
  else
    (cd "$DIR" && "$@")
  fi
}

free_port() {
  /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start() {
  [ -x "$BIN/initdb" ] || { echo "postgis.sh: no $BIN/initdb: run scripts/install_system_deps.sh (postgresql-15)" >&2; exit 1; }
  [ -f /usr/share/postgresql/15/extension/postgis.control ] ||
    { echo "postgis.sh: PostGIS is not installed: run scripts/install_system_deps.sh (postgresql-15-postgis-3)" >&2; exit 1; }
  if [ -e "$DIR/data" ]; then
    echo "postgis.sh: $DIR already holds a cluster" >&2
    exit 1
  fi
  mkdir -p "$DIR"
  if [ "$(id -u)" -eq 0 ]; then
    getent passwd postgres >/dev/null || { echo "postgis.sh: no 'postgres' system user (postgresql-common makes it)" >&2; exit 1; }
    chown postgres: "$DIR"
    runuser -u postgres -- test -w "$DIR" ||
      { echo "postgis.sh: the postgres user cannot reach $DIR: choose a folder under /tmp (or set TMPDIR)" >&2; exit 1; }
  fi
  chmod 700 "$DIR"
  as_owner "$BIN/initdb" -D "$DIR/data" -U "$SUPERUSER" --auth=trust --encoding=UTF8 --locale=C.UTF-8 --no-sync >"$DIR/initdb.log" 2>&1 ||
    { cat "$DIR/initdb.log" >&2; exit 1; }
  cat >>"$DIR/data/postgresql.conf" <<EOF
# throw-away test server (scripts/postgis.sh)
listen_addresses = '127.0.0.1'
unix_socket_directories = '$DIR'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 50
timezone = 'UTC'
log_timezone = 'UTC'
EOF
  local port tries=0
  while :; do
    port=$(free_port)
    if as_owner "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -o "-p $port" -w -t 30 start >/dev/null; then
      break
    fi
    tries=$((tries + 1))
    if [ $tries -ge 5 ]; then
      echo "postgis.sh: the server did not start; its log:" >&2
      cat "$DIR/server.log" >&2
      exit 1
    fi
  done
  echo "$port" >"$DIR/port"
  as_owner "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$DIR" -p "$port" -U "$SUPERUSER" -d postgres \
    -c "CREATE DATABASE $DATABASE" >/dev/null
  as_owner "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$DIR" -p "$port" -U "$SUPERUSER" -d "$DATABASE" \
    -c "CREATE EXTENSION postgis" >/dev/null
  echo "PostgreSQL + PostGIS for the tests: 127.0.0.1:$port and $DIR, database $DATABASE (scripts/postgis.sh stop $DIR)" >&2
}

env_lines() {
  [ -f "$DIR/port" ] || { echo "postgis.sh: no server started in $DIR" >&2; exit 1; }
  local port
  port=$(cat "$DIR/port")
  echo "export HOTSPOT_POLICING_PGHOST=127.0.0.1"
  echo "export HOTSPOT_POLICING_PGPORT=$port"
  echo "export HOTSPOT_POLICING_PGDATABASE=$DATABASE"
  echo "export HOTSPOT_POLICING_PGUSER=$SUPERUSER"
  echo "export HOTSPOT_POLICING_PGSOCKET=$DIR"
}

stop() {
  if [ -f "$DIR/data/postmaster.pid" ]; then
    # fast shutdown: running sessions are ended; the data is thrown away anyway
    as_owner "$BIN/pg_ctl" -D "$DIR/data" -m fast -w -t 30 stop >/dev/null ||
      as_owner "$BIN/pg_ctl" -D "$DIR/data" -m immediate -w -t 30 stop >/dev/null || true
  fi
  rm -rf "$DIR"
}

case "$command" in
  start) start ;;
  stop) stop ;;
  env) env_lines ;;
  *) usage ;;
esac
