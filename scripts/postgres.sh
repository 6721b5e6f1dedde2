#!/usr/bin/env bash
# Start (or reuse) a throwaway PostgreSQL server on 127.0.0.1 for the tests, installing Debian's
# postgresql package first if it is missing. Prints the admin URL on stdout.
#   scripts/postgres.sh start | stop
set -euo pipefail
PORT=${TRIAGE_TEST_PGPORT:-54329}
DATA=${TRIAGE_TEST_PGDATA:-/tmp/triage-pg-$PORT}

pgbin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

BIN=$(pgbin)
if [ -z "$BIN" ]; then
  bash "$(dirname "$0")/apt_install.sh" postgres.sh postgresql
  BIN=$(pgbin)
fi

# The server refuses to run as root: run it as the package's postgres user then.
as_owner() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

case "${1:-start}" in
  start)
    if ! as_owner "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
      rm -rf "$DATA"
      mkdir -p "$DATA"
      [ "$(id -u)" = 0 ] && chown postgres "$DATA"
      as_owner "$BIN/initdb" -D "$DATA" -A trust -U postgres -E UTF8 >/dev/null
      as_owner "$BIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w \
        -o "-p $PORT -k $DATA -c listen_addresses=127.0.0.1 -c max_connections=200" start >&2
    fi
    echo "postgresql://postgres@127.0.0.1:$PORT/postgres"
    ;;
  stop)
    as_owner "$BIN/pg_ctl" -D "$DATA" -m fast stop >&2 || true
    ;;
  *)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
