#!/usr/bin/env bash
# Starts a throwaway PostgreSQL server for the test suite and prints its URL.
#   scripts/postgres.sh start DIR   -> prints postgres://postgres@127.0.0.1:PORT/postgres
#   scripts/postgres.sh stop DIR
#   scripts/postgres.sh halt DIR     stops the server and keeps its data (an outage)
#   scripts/postgres.sh resume DIR   starts it again on the same port
# PostgreSQL refuses to run as root, so initdb and pg_ctl run as the `postgres` user on a folder
# it owns. Debian's `postgresql` package is installed when missing.
set -euo pipefail
command_name=${1:?usage: postgres.sh start|stop|halt|resume DIR}
dir=${2:?usage: postgres.sh start|stop|halt|resume DIR}

find_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

as_postgres() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_server() {
    as_postgres "$1/pg_ctl" -D "$2/data" -l "$2/server.log" -w -t 60 \
        -o "-p $(cat "$2/port") -k $2 -c listen_addresses=127.0.0.1 -c max_connections=1000 -c fsync=on" start >&2
}

case "$command_name" in
start)
    bin=$(find_bin)
    if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
        echo "installing PostgreSQL (Debian package postgresql)…" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >&2 && apt-get install -y -qq postgresql >&2
        bin=$(find_bin)
    fi
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then chown postgres: "$dir"; fi
    as_postgres "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 >"$dir/initdb.log" 2>&1
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
    echo "$port" >"$dir/port"
    start_server "$bin" "$dir"
    echo "postgres://postgres@127.0.0.1:$port/postgres"
    ;;
halt)
    # Fast shutdown: sessions are ended and the server stops, as a restart by an operator does.
    as_postgres "$(find_bin)/pg_ctl" -D "$dir/data" -m fast -w stop >&2
    ;;
resume)
    start_server "$(find_bin)" "$dir"
    ;;
stop)
    bin=$(find_bin)
    if [ -d "$dir/data" ]; then as_postgres "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || true; fi
    rm -rf "$dir"
    ;;
*)
    echo "usage: postgres.sh start|stop|halt|resume DIR" >&2
    exit 2
    ;;
esac
