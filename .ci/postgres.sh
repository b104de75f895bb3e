#!/usr/bin/env bash
# Start a throwaway PostgreSQL server on loopback for the distributed-worker tests and print its
# URL. Uses Debian's postgresql package (installed here when missing). Usage:
#   eval "$(.ci/postgres.sh start)"   # exports CODESIGN_TEST_POSTGRES_URL
#   .ci/postgres.sh stop
set -euo pipefail
PGDATA_DIR=${PGDATA_DIR:-/tmp/codesign-pg}
PORT=${PGPORT_TEST:-54329}
BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)

as_pg() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/bash -c "$*"; else bash -c "$*"; fi; }

case "${1:-start}" in
start)
  if [ -z "$BIN" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      (apt-get install -y -q postgresql >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q postgresql >/dev/null 2>&1; }) || true
      BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    fi
    [ -n "$BIN" ] || { echo "echo 'postgres: not available; postgres tests will be skipped' >&2"; exit 0; }
  fi
  if [ ! -f "$PGDATA_DIR/PG_VERSION" ]; then
    mkdir -p "$PGDATA_DIR"; [ "$(id -u)" = 0 ] && chown postgres "$PGDATA_DIR"
    as_pg "$BIN/initdb -D $PGDATA_DIR -U postgres --auth=trust >/dev/null"
  fi
  if ! as_pg "$BIN/pg_ctl -D $PGDATA_DIR status" >/dev/null 2>&1; then
    as_pg "$BIN/pg_ctl -D $PGDATA_DIR -l $PGDATA_DIR/server.log -w -o '-h 127.0.0.1 -p $PORT -k /tmp -c max_connections=200' start >/dev/null"
  fi
  as_pg "$BIN/psql -h 127.0.0.1 -p $PORT -U postgres -tAc \"SELECT 1 FROM pg_roles WHERE rolname='codesign'\"" | grep -q 1 || \
    as_pg "$BIN/psql -h 127.0.0.1 -p $PORT -U postgres -qc \"CREATE ROLE codesign LOGIN PASSWORD 'codesign-test' CREATEDB\""
  echo "export CODESIGN_TEST_POSTGRES_URL=postgresql://codesign:codesign-test@127.0.0.1:$PORT/postgres"
  echo "export CODESIGN_TEST_POSTGRES_ADMIN=postgresql://codesign:codesign-test@127.0.0.1:$PORT/postgres"
  ;;
stop)
  [ -n "$BIN" ] && as_pg "$BIN/pg_ctl -D $PGDATA_DIR -m fast stop" >/dev/null 2>&1 || true
  ;;
esac
