#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests, in one directory, on 127.0.0.1 only.
#
#   eval "$(scripts/pg_test_cluster.sh start /tmp/optimo-pg)"   # prints the exports
#   .venv/bin/python -m pytest
#   scripts/pg_test_cluster.sh stop /tmp/optimo-pg               # stops it, removes the dir
#
# `restart DIR` stops and starts the server; `pause DIR` stops it and `resume DIR` starts it
# again, keeping its data (the restart test uses them). `start` needs the
# server binaries (`initdb`, `pg_ctl`; Debian: apt-get install postgresql). Run as root, the
# cluster runs as `nobody`, since initdb refuses root. Nothing outside DIR is touched.
set -euo pipefail

command=${1:-}
dir=${2:-}
if [[ -z $command || -z $dir ]]; then
    echo "usage: $0 start|stop|restart|pause|resume DIR" >&2
    exit 2
fi

bindir() {
    local found
    if found=$(command -v pg_ctl 2>/dev/null) && [[ -x $(dirname "$found")/initdb ]]; then
        dirname "$(readlink -f "$found")"
        return
    fi
    found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [[ -z $found ]]; then
        echo "no PostgreSQL server binaries (pg_ctl, initdb) found" >&2
        exit 1
    fi
    echo "$found"
}

as_owner() {
    if [[ $(id -u) == 0 ]]; then
        runuser -u nobody -- "$@"
    else
        "$@"
    fi
}

bin=$(bindir)
data=$dir/data

case $command in
start)
    mkdir -p "$dir"
    if [[ $(id -u) == 0 ]]; then chown nobody "$dir"; fi
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    as_owner "$bin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
        --no-sync >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
    {
        echo "listen_addresses = '127.0.0.1'"
        echo "port = $port"
        echo "unix_socket_directories = '$dir'"
        echo "max_connections = 200"
        echo "shared_buffers = 64MB"
    } | as_owner tee -a "$data/postgresql.conf" >/dev/null
    as_owner "$bin/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 60 start >/dev/null \
        || { cat "$dir/server.log" >&2; exit 1; }
    as_owner "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -q -c 'CREATE DATABASE optimo_test' \
        postgres >/dev/null
    echo "export OPTIMO_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:$port/optimo_test"
    echo "export OPTIMO_TEST_POSTGRES_DIR=$dir"
    ;;
restart)
    as_owner "$bin/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 60 -m fast restart >/dev/null
    ;;
pause)
    as_owner "$bin/pg_ctl" -D "$data" -w -t 60 -m fast stop >/dev/null
    ;;
resume)
    as_owner "$bin/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 60 start >/dev/null
    ;;
stop)
    if [[ -d $data ]]; then
        as_owner "$bin/pg_ctl" -D "$data" -w -t 60 -m fast stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
*)
    echo "usage: $0 start|stop|restart|pause|resume DIR" >&2
    exit 2
    ;;
esac
