#!/usr/bin/env bash
# Start (or stop) a throwaway PostgreSQL server on 127.0.0.1 for the multi-worker tests.
#
#   tests/support/postgres.sh start   # prints the database URL on its last line
#   tests/support/postgres.sh stop
#
# Uses Debian's postgresql packages (apt-get install postgresql). The cluster lives in $PGTEST_DIR
# (default /tmp/automl-gpt-postgres) and runs as the 'postgres' system user when started by root.
set -euo pipefail
PGTEST_DIR="${PGTEST_DIR:-/tmp/automl-gpt-postgres}"
PGTEST_PORT="${PGTEST_PORT:-54329}"
BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
[[ -n "$BIN" ]] || { echo "PostgreSQL server binaries not found: apt-get install postgresql" >&2; exit 1; }

as_owner() {
    if [[ "$(id -u)" == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-start}" in
start)
    if [[ ! -f "$PGTEST_DIR/PG_VERSION" ]]; then
        mkdir -p "$PGTEST_DIR"
        [[ "$(id -u)" == 0 ]] && chown postgres "$PGTEST_DIR"
        as_owner "$BIN/initdb" -D "$PGTEST_DIR" -U automl --auth=trust >/dev/null
    fi
    if ! as_owner "$BIN/pg_ctl" -D "$PGTEST_DIR" status >/dev/null 2>&1; then
        as_owner "$BIN/pg_ctl" -D "$PGTEST_DIR" -l "$PGTEST_DIR/server.log" -w \
            -o "-c listen_addresses=127.0.0.1 -p $PGTEST_PORT -c unix_socket_directories=$PGTEST_DIR -c max_connections=200 -c fsync=off" \
            start >/dev/null
    fi
    as_owner "$BIN/psql" -h 127.0.0.1 -p "$PGTEST_PORT" -U automl -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname='automl_gpt_test'" | grep -q 1 ||
        as_owner "$BIN/createdb" -h 127.0.0.1 -p "$PGTEST_PORT" -U automl automl_gpt_test
    echo "postgresql+psycopg://automl@127.0.0.1:$PGTEST_PORT/automl_gpt_test"
    ;;
stop)
    as_owner "$BIN/pg_ctl" -D "$PGTEST_DIR" -m fast stop >/dev/null 2>&1 || true
    ;;
*)
    echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
