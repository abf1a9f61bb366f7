#!/usr/bin/env bash
# The development broker (crvs-devbroker: librdkafka's mock cluster, in
# memory, for development and tests ONLY; nothing survives a restart).
#
#   broker.sh start BUILDDIR RUNDIR [PARTITIONS]
#       starts BUILDDIR/services/devbroker/crvs-devbroker in the background and
#       waits until it has written RUNDIR/bootstrap (host:port[,host:port...]);
#       pid in RUNDIR/devbroker.pid, log in RUNDIR/devbroker.log.
#       Already running for RUNDIR: ok, nothing done.
#   broker.sh stop RUNDIR
#       SIGTERM, wait, SIGKILL after CRVS_BROKER_STOP_TIMEOUT s (default 10).
#   broker.sh status RUNDIR
#       exit 0 and print the bootstrap address when running, 3 when not.
#
# Environment: CRVS_BROKER_START_TIMEOUT (s, default 15), CRVS_BROKER_ARGS
# (extra crvs-devbroker options, e.g. "--brokers 3").
set -euo pipefail

PROG=broker.sh
START_TIMEOUT=${CRVS_BROKER_START_TIMEOUT:-15}
STOP_TIMEOUT=${CRVS_BROKER_STOP_TIMEOUT:-10}

die() { echo "$PROG: $*" >&2; exit 1; }
usage() {
    sed -n '4,13p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

# shellcheck source=deploy/dev/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# Prints the pid of the broker of RUNDIR when it is alive.
running_pid() {
    local run=$1 pid
    [ -f "$run/devbroker.pid" ] || return 1
    pid=$(cat "$run/devbroker.pid" 2>/dev/null) || return 1
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    pid_alive "$pid" || return 1
    # A recycled pid is some other program: check it is a devbroker.
    grep -q crvs-devbroker "/proc/$pid/cmdline" 2>/dev/null || return 1
    echo "$pid"
}

broker_start() {
    if [ $# -lt 2 ] || [ $# -gt 3 ]; then usage; fi
    local build=$1 run=$2 partitions=${3:-3} bin pid
    bin="$build/services/devbroker/crvs-devbroker"
    [ -x "$bin" ] || die "$bin is not built (meson compile -C $build)"
    mkdir -p "$run"
    if pid=$(running_pid "$run") && [ -s "$run/bootstrap" ]; then
        echo "$PROG: already running (pid $pid, bootstrap $(cat "$run/bootstrap"))" >&2
        return 0
    fi
    rm -f "$run/bootstrap" "$run/devbroker.pid"
    echo "ts=$(date -u +%Y-%m-%dT%H:%M:%SZ) level=info svc=broker.sh event=launch bin=$bin" \
        >>"$run/devbroker.log"
    # setsid: the broker must not get the terminal's SIGINT meant for the
    # script that started it; it is stopped through its pid file.
    # shellcheck disable=SC2086 # CRVS_BROKER_ARGS is a list of options
    setsid -w "$bin" --partitions "$partitions" ${CRVS_BROKER_ARGS:-} \
        --bootstrap-file "$run/bootstrap" --pid-file "$run/devbroker.pid" \
        >>"$run/devbroker.log" 2>&1 </dev/null &
    pid=$!
    local deadline=$((SECONDS + START_TIMEOUT))
    until [ -s "$run/bootstrap" ]; do
        if ! pid_alive "$pid"; then
            echo "$PROG: crvs-devbroker exited at start; end of $run/devbroker.log:" >&2
            tail -n 20 "$run/devbroker.log" >&2
            exit 1
        fi
        if [ $SECONDS -ge $deadline ]; then
            kill -KILL "$pid" 2>/dev/null || true
            echo "$PROG: no $run/bootstrap after ${START_TIMEOUT} s; end of $run/devbroker.log:" >&2
            tail -n 20 "$run/devbroker.log" >&2
            exit 1
        fi
        sleep 0.1
    done
    echo "$PROG: ready on $(cat "$run/bootstrap") (pid $pid, log $run/devbroker.log)" >&2
}

broker_stop() {
    [ $# -eq 1 ] || usage
    local run=$1 pid
    if ! pid=$(running_pid "$run"); then
        rm -f "$run/devbroker.pid" "$run/bootstrap"
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + STOP_TIMEOUT))
    while pid_alive "$pid"; do
        if [ $SECONDS -ge $deadline ]; then
            echo "$PROG: crvs-devbroker (pid $pid) ignored SIGTERM for ${STOP_TIMEOUT} s; SIGKILL" >&2
            kill -KILL "$pid" 2>/dev/null || true
            break
        fi
        sleep 0.1
    done
    # Still there after SIGKILL: give the kernel a moment.
    local _
    for _ in $(seq 1 20); do pid_alive "$pid" || break; sleep 0.1; done
    ! pid_alive "$pid" || die "crvs-devbroker (pid $pid) does not go away"
    rm -f "$run/devbroker.pid" "$run/bootstrap"
    echo "$PROG: stopped (pid $pid)" >&2
}

broker_status() {
    [ $# -eq 1 ] || usage
    local pid
    if pid=$(running_pid "$1"); then
        echo "running: pid $pid, bootstrap $(cat "$1/bootstrap" 2>/dev/null)"
        return 0
    fi
    echo "stopped"
    return 3
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
start) broker_start "$@" ;;
stop) broker_stop "$@" ;;
status) broker_status "$@" ;;
*) usage ;;
esac
