#!/usr/bin/env bash
# A private PostgreSQL server in a data folder, for development and tests.
# No system service is touched: the server listens on 127.0.0.1:PORT and on a
# unix socket in DATADIR/socket only, and lives as long as you keep it.
#
#   pg.sh start DATADIR PORT       initdb when DATADIR is new, start, wait until ready
#                                  (already running: ok, nothing done)
#   pg.sh stop DATADIR             fast shutdown, wait (not running: ok)
#   pg.sh status DATADIR           exit 0 when running, 3 when not
#   pg.sh bootstrap DATADIR PORT   database `crvs` and role `crvs_service` if missing
#                                  (`pg.sh bootstrap PORT` works too)
#
# Who runs the server: initdb refuses to run as root, so as root the server
# runs as the system user `crvs` (created when missing; CRVS_DEVPG_USER
# chooses another) and DATADIR is owned by it; an existing DATADIR keeps the
# user that owns it. Every folder above DATADIR must be traversable by that
# user (a checkout under /root is not). As any other user the server runs as
# that user.
#
# Clients: superuser `crvs_admin`, trust authentication (local development
# and tests only, never production), e.g.
#   psql -h 127.0.0.1 -p PORT -U crvs_admin -d crvs
# The server log is DATADIR/server.log.
#
# Environment: CRVS_PGBIN (folder with initdb/pg_ctl; default: the highest
# /usr/lib/postgresql/*/bin), CRVS_DEVPG_USER (default crvs),
# CRVS_DEVPG_START_TIMEOUT (seconds, default 30).
set -euo pipefail

PROG=pg.sh
ADMIN=crvs_admin
SERVICE_ROLE=crvs_service
DATABASE=crvs
OS_USER=${CRVS_DEVPG_USER:-crvs}
START_TIMEOUT=${CRVS_DEVPG_START_TIMEOUT:-30}

die() { echo "$PROG: $*" >&2; exit 1; }
usage() {
    sed -n '6,11p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}
# shellcheck source=deploy/dev/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

find_pgbin() {
    if [ -n "${CRVS_PGBIN:-}" ]; then
        [ -x "$CRVS_PGBIN/pg_ctl" ] || die "CRVS_PGBIN=$CRVS_PGBIN has no pg_ctl"
        echo "$CRVS_PGBIN"
        return
    fi
    local d best=""
    # sort -V: 9.6 < 15 < 16
    for d in $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V); do
        [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && best=$d
    done
    [ -n "$best" ] || {
        echo "$PROG: no PostgreSQL server binaries in /usr/lib/postgresql/*/bin;" \
             "install them with deploy/dev/deps.sh (Debian package postgresql)" >&2
        exit 3
    }
    echo "$best"
}

# The OS user the server of DATADIR runs as (see the header).
server_user() {
    local data=$1 owner
    if ! is_root; then
        id -un
        return
    fi
    if [ -f "$data/PG_VERSION" ]; then
        owner=$(stat -c %U "$data")
        [ "$owner" != root ] || die "$data is owned by root; a PostgreSQL data folder cannot be"
        echo "$owner"
    else
        echo "$OS_USER"
    fi
}

# Fails clearly when USER cannot reach DATADIR because a folder above it is
# not traversable (the usual case: a checkout under /root).
check_reachable() {
    local user=$1 data=$2 d
    as_user "$user" test -r "$data" -a -w "$data" -a -x "$data" && return 0
    # The first folder from / down that the user cannot enter is the culprit.
    local path="" part
    local -a parts
    IFS=/ read -r -a parts <<<"${data#/}"
    for part in "${parts[@]}"; do
        d=${path:-/}
        path="$path/$part"
        if ! as_user "$user" test -x "$d"; then
            echo "$PROG: user $user cannot traverse $d (mode $(stat -c %A "$d"), owner $(stat -c %U "$d"))," \
                 "so it cannot reach the data folder $data." >&2
            die "put the data folder elsewhere (e.g. under /var/lib or /tmp) or allow traversal: chmod o+x $d"
        fi
    done
    die "user $user cannot read and write $data"
}

pick_locale() {
    if locale -a 2>/dev/null | grep -qiE '^c\.utf-?8$'; then echo C.UTF-8; else echo C; fi
}

# Settings rewritten on every start (port, socket), included from
# postgresql.conf, so that a data folder can be started on another port.
write_dev_conf() {
    local user=$1 data=$2 port=$3 sockdir
    sockdir="$data/socket"
    # A unix socket path must fit in sun_path (107 bytes).
    if [ ${#sockdir} -gt 90 ]; then
        echo "$PROG: $sockdir is too long for a unix socket; listening on TCP only" >&2
        sockdir=""
    fi
    as_user "$user" tee "$data/crvs-dev.conf" >/dev/null <<EOC
# Written by deploy/dev/pg.sh at every start; edit postgresql.conf instead.
# Development and tests only.
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$sockdir'
# A refused row's DETAIL ("Failing row contains (...)") and CONTEXT quote
# personal data: the server log keeps the message only (docs/operations.md).
log_error_verbosity = terse
EOC
}

pg_start() {
    [ $# -eq 2 ] || usage
    local data port user pgbin
    data=$(abspath "$1")
    port=$2
    if ! [[ $port =~ ^[0-9]+$ ]] || [ "$port" -lt 1024 ] || [ "$port" -gt 65535 ]; then
        die "port '$port': want a number in 1024..65535"
    fi
    pgbin=$(find_pgbin)

    if [ -f "$data/PG_VERSION" ] && [ -f "$data/postmaster.pid" ]; then
        user=$(server_user "$data")
        if as_user "$user" "$pgbin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
            local running_port
            running_port=$(sed -n 4p "$data/postmaster.pid")
            [ "$running_port" = "$port" ] \
                || die "the server of $data already runs on port $running_port, not $port"
            echo "$PROG: already running ($data, port $port)" >&2
            return 0
        fi
    fi

    if ! is_root && [ -e "$data" ] && [ "$(stat -c %U "$data")" != "$(id -un)" ]; then
        die "$data belongs to $(stat -c %U "$data"); run this as root or as that user"
    fi
    ensure_os_user "$OS_USER"
    mkdir -p "$data"
    user=$(server_user "$data")
    if is_root && [ ! -f "$data/PG_VERSION" ]; then
        chown "$user:" "$data"
        chmod 700 "$data"
    fi
    check_reachable "$user" "$data"

    if [ ! -f "$data/PG_VERSION" ]; then
        [ -z "$(ls -A "$data")" ] || die "$data is neither empty nor a PostgreSQL data folder"
        local loc out
        loc=$(pick_locale)
        echo "$PROG: initdb $data (user $user, superuser $ADMIN, locale $loc)" >&2
        if ! out=$(as_user "$user" "$pgbin/initdb" -D "$data" --auth=trust --username="$ADMIN" \
                --encoding=UTF8 --locale="$loc" 2>&1); then
            echo "$out" >&2
            die "initdb failed for $data"
        fi
        as_user "$user" tee -a "$data/postgresql.conf" >/dev/null <<'EOC'

# --- crvs-hub development / test server (deploy/dev/pg.sh) ---
# Bulk loads write a lot of WAL (audit rows): fewer forced checkpoints.
max_wal_size = 1GB
# Durability as in production: fsync and synchronous_commit stay on.
fsync = on
synchronous_commit = on
logging_collector = off
log_line_prefix = '%m [%p] %q%u@%d '
# Listen address, port and socket folder (rewritten at every start):
include_if_exists = 'crvs-dev.conf'
EOC
    fi
    as_user "$user" mkdir -p "$data/socket"
    as_user "$user" chmod 700 "$data/socket"
    write_dev_conf "$user" "$data" "$port"

    # Refuse early when the port is taken, rather than after a 30 s wait.
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        die "127.0.0.1:$port is already in use by another program"
    fi

    if ! as_user "$user" "$pgbin/pg_ctl" -D "$data" -l "$data/server.log" -w \
            -t "$START_TIMEOUT" start >/dev/null 2>&1; then
        echo "$PROG: PostgreSQL did not start within ${START_TIMEOUT} s; end of $data/server.log:" >&2
        tail -n 30 "$data/server.log" >&2 2>/dev/null || true
        exit 1
    fi
    local isready=pg_isready deadline=$((SECONDS + START_TIMEOUT))
    [ -x "$pgbin/pg_isready" ] && isready="$pgbin/pg_isready"
    until "$isready" -q -h 127.0.0.1 -p "$port" -U "$ADMIN" -d postgres -t 2; do
        if [ $SECONDS -ge $deadline ]; then
            echo "$PROG: PostgreSQL not ready on 127.0.0.1:$port after ${START_TIMEOUT} s; end of $data/server.log:" >&2
            tail -n 30 "$data/server.log" >&2 2>/dev/null || true
            exit 1
        fi
        sleep 0.2
    done
    echo "$PROG: ready on 127.0.0.1:$port (data $data, user $user, log $data/server.log)" >&2
}

pg_stop() {
    [ $# -eq 1 ] || usage
    local data user pgbin
    data=$(abspath "$1")
    [ -f "$data/PG_VERSION" ] || { echo "$PROG: no data folder at $data; nothing to stop" >&2; return 0; }
    [ -f "$data/postmaster.pid" ] || return 0
    pgbin=$(find_pgbin)
    user=$(server_user "$data")
    as_user "$user" "$pgbin/pg_ctl" -D "$data" status >/dev/null 2>&1 || return 0
    local pid
    pid=$(sed -n 1p "$data/postmaster.pid" 2>/dev/null || true)
    if ! as_user "$user" "$pgbin/pg_ctl" -D "$data" -m fast -w -t 30 stop >/dev/null 2>&1; then
        echo "$PROG: fast shutdown did not finish in 30 s; immediate shutdown" >&2
        as_user "$user" "$pgbin/pg_ctl" -D "$data" -m immediate -w -t 30 stop >/dev/null 2>&1 \
            || die "cannot stop the server of $data; end of server.log: $(tail -n 5 "$data/server.log" 2>/dev/null)"
    fi
    # pg_ctl returns once postmaster.pid is gone, a moment before the
    # postmaster itself: callers rely on "stopped" meaning no process.
    if [[ $pid =~ ^[0-9]+$ ]]; then
        local deadline=$((SECONDS + 10))
        while pid_alive "$pid"; do
            [ $SECONDS -lt $deadline ] || die "postmaster (pid $pid) still running after stop"
            sleep 0.05
        done
    fi
    echo "$PROG: stopped ($data)" >&2
}

pg_status() {
    [ $# -eq 1 ] || usage
    local data user pgbin
    data=$(abspath "$1")
    if [ ! -f "$data/PG_VERSION" ]; then
        echo "no data folder at $data"
        return 3
    fi
    pgbin=$(find_pgbin)
    user=$(server_user "$data")
    if as_user "$user" "$pgbin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        echo "running: data $data, port $(sed -n 4p "$data/postmaster.pid"), pid $(sed -n 1p "$data/postmaster.pid"), user $user"
        return 0
    fi
    echo "stopped: data $data"
    return 3
}

pg_bootstrap() {
    local port
    case $# in
    1) port=$1 ;;
    2) port=$2 ;;
    *) usage ;;
    esac
    local psql=psql
    command -v psql >/dev/null 2>&1 || psql="$(find_pgbin)/psql"
    q() { "$psql" -XAtq -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U "$ADMIN" -d postgres -c "$1"; }
    if [ "$(q "SELECT count(*) FROM pg_roles WHERE rolname = '$SERVICE_ROLE'")" = 0 ]; then
        q "CREATE ROLE $SERVICE_ROLE LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE" >/dev/null
        echo "$PROG: created role $SERVICE_ROLE" >&2
    fi
    if [ "$(q "SELECT count(*) FROM pg_database WHERE datname = '$DATABASE'")" = 0 ]; then
        q "CREATE DATABASE $DATABASE OWNER $ADMIN ENCODING 'UTF8' TEMPLATE template0" >/dev/null
        echo "$PROG: created database $DATABASE" >&2
    fi
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
start) pg_start "$@" ;;
stop) pg_stop "$@" ;;
status) pg_status "$@" ;;
bootstrap) pg_bootstrap "$@" ;;
*) usage ;;
esac
