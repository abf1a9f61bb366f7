# Integration-test library (bash); source it, then call itest_setup:
#
#   set -euo pipefail
#   . "$(dirname "$0")/lib.sh"
#   itest_setup
#   itest_assert_eq "$(itest_psql 'SELECT 1')" 1 "PostgreSQL answers"
#
# itest_setup gives the test its own PostgreSQL server (initdb in a temporary
# folder, own port on 127.0.0.1; deploy/dev/pg.sh) and a Kafka broker, and
# registers an EXIT trap that stops what it started and removes the folder.
# The broker is chosen by ITEST_KAFKA:
#   devbroker (default)  the test's own development broker (librdkafka's mock
#                        cluster; deploy/dev/broker.sh)
#   apache               Apache Kafka (deploy/dev/kafka.sh): the running
#                        cluster in ITEST_KAFKA_DIR, shared by the tests of one
#                        run (./dev test starts one of 3 brokers), or else the
#                        test's own cluster of ITEST_KAFKA_BROKERS (default 3)
#                        brokers. The hub's topics are deleted and created
#                        anew for every test (ITEST_PARTITIONS partitions,
#                        replication 3, min.insync.replicas 2 on 3 brokers).
# After it returns:
#   ITEST_DIR        the test's folder (/tmp/crvs-itest.XXXXXX); put files and
#                    logs (*.log, printed on failure) and pid files there
#   ITEST_BOOTSTRAP  the broker's bootstrap address (host:port[,host:port...])
#   ITEST_KAFKA_CLUSTER  with apache: the cluster's folder (kafka.sh DIR)
#   PGHOST=127.0.0.1 PGPORT PGUSER=crvs_admin PGDATABASE=crvs (exported, so a
#                    bare psql reaches the test's database as its superuser;
#                    the services' role is crvs_service)
#   ITEST_SRC / ITEST_BUILD (= MESON_SOURCE_ROOT / MESON_BUILD_ROOT, exported)
#
# Helpers: itest_psql SQL [psql options], itest_wait_for SQL EXPECTED TIMEOUT_S,
# itest_assert_eq ACTUAL EXPECTED WHAT, itest_fail MSG, itest_skip MSG,
# itest_log MSG, itest_require CMD..., itest_pid_alive PID, itest_on_exit CMD (cleanup run before
# the servers stop; do not set your own EXIT trap), itest_pg_stop /
# itest_pg_start (outage tests), itest_stop_servers, itest_require_apache
# (skip unless on Apache Kafka), itest_kafka CMD [ARGS] (deploy/dev/kafka.sh
# CMD on the test's cluster), itest_reset_topics (empty topics).
# A function named hub_stop_all_services (tests/integration/hub.sh) is called
# on exit too.
#
# Exit status 77 means skipped (meson): used when something the test needs is
# not installed or not built, never for a failure.
#
# Environment: ITEST_KEEP=1 keeps the folder (and stops the servers);
# ITEST_KEEP=fail keeps it only when the test fails; ITEST_PARTITIONS
# (default 3) partitions per topic; MESON_SOURCE_ROOT / MESON_BUILD_ROOT
# (default: this checkout and its build/ folder).

ITEST_SRC=${MESON_SOURCE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
ITEST_BUILD=${MESON_BUILD_ROOT:-$ITEST_SRC/build}
export MESON_SOURCE_ROOT=$ITEST_SRC MESON_BUILD_ROOT=$ITEST_BUILD ITEST_SRC ITEST_BUILD
ITEST_NAME=$(basename "$0" .sh)
ITEST_DIR=${ITEST_DIR:-}
ITEST_BOOTSTRAP=${ITEST_BOOTSTRAP:-}
ITEST_EXIT_HOOKS=()
ITEST_START=$SECONDS

itest_log() { echo "[$ITEST_NAME +$((SECONDS - ITEST_START))s] $*" >&2; }
itest_skip() { itest_log "SKIP: $*"; exit 77; }
itest_fail() { itest_log "FAIL: $*"; exit 1; }

# itest_assert_eq ACTUAL EXPECTED WHAT
itest_assert_eq() {
    if [ "$1" != "$2" ]; then itest_fail "$3: expected '$2', got '$1'"; fi
    itest_log "ok: $3 = $2"
}

# itest_assert_same ACTUAL EXPECTED WHAT: as itest_assert_eq for values that
# hold personal data (IDs, names, raw documents): neither value is printed,
# a failure shows digests only.
itest_assert_same() {
    if [ "$1" != "$2" ]; then
        itest_fail "$3: differs (expected md5 $(printf '%s' "$2" | md5sum | cut -c1-12), got md5 $(printf '%s' "$1" | md5sum | cut -c1-12))"
    fi
    itest_log "ok: $3 (personal data, not shown)"
}

# itest_require CMD...: skip (77) when a command is not installed.
itest_require() {
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null 2>&1 || itest_skip "$c is not installed (deploy/dev/deps.sh installs what the tests need)"
    done
}

# itest_psql SQL [psql options]: prints the result unaligned, tuples only.
itest_psql() {
    local sql=$1
    shift
    psql -XAtq -v ON_ERROR_STOP=1 "$@" -c "$sql"
}

# itest_wait_for SQL EXPECTED TIMEOUT_S: polls until the query prints EXPECTED.
itest_wait_for() {
    local sql=$1 expected=$2 timeout=$3 v=""
    local deadline=$((SECONDS + timeout))
    while :; do
        v=$(itest_psql "$sql" 2>&1) || true
        [ "$v" = "$expected" ] && return 0
        [ $SECONDS -ge $deadline ] && break
        sleep 0.2
    done
    itest_fail "waited ${timeout} s for [$sql] to be '$expected'; last value '$v'"
}

# itest_pid_alive PID: true while PID runs (a zombie does not count).
itest_pid_alive() {
    local state
    kill -0 "$1" 2>/dev/null || return 1
    state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
    [ "$state" != Z ]
}

# itest_on_exit CMD: run CMD (eval'd) on exit, before the servers stop.
itest_on_exit() { ITEST_EXIT_HOOKS+=("$1"); }

# A TCP port on 127.0.0.1 nobody listens on (random, 20000-39999). The
# caller may still lose a race for it; pg.sh then fails and we retry.
itest_free_port() {
    local p _
    for _ in $(seq 1 100); do
        p=$((20000 + RANDOM % 20000))
        if command -v ss >/dev/null 2>&1; then
            [ -z "$(ss -Htan "sport = :$p" 2>/dev/null)" ] || continue
        fi
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && continue
        echo "$p"
        return 0
    done
    return 1
}

# itest_make_ca DIR NAME: a self-signed test CA, DIR/NAME.crt and DIR/NAME.key.
itest_make_ca() {
    mkdir -p "$1"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=crvs test $2" \
        -keyout "$1/$2.key" -out "$1/$2.crt" 2>/dev/null || itest_fail "openssl: CA $2"
}
# itest_make_cert DIR CA NAME: DIR/NAME.crt and DIR/NAME.key for localhost
# and 127.0.0.1, signed by the CA DIR/CA.crt.
itest_make_cert() {
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$1/$3.key" \
        -out "$1/$3.csr" 2>/dev/null || itest_fail "openssl: key $3"
    printf 'subjectAltName = DNS:localhost, IP:127.0.0.1\n' >"$1/$3.ext"
    openssl x509 -req -in "$1/$3.csr" -CA "$1/$2.crt" -CAkey "$1/$2.key" -CAcreateserial \
        -days 2 -extfile "$1/$3.ext" -out "$1/$3.crt" 2>/dev/null || itest_fail "openssl: certificate $3"
}
itest_pg_start() { "$ITEST_SRC/deploy/dev/pg.sh" start "$ITEST_DIR/pg" "$PGPORT"; }
itest_pg_stop() { "$ITEST_SRC/deploy/dev/pg.sh" stop "$ITEST_DIR/pg"; }

ITEST_KAFKA=${ITEST_KAFKA:-devbroker}
ITEST_KAFKA_CLUSTER=""
ITEST_KAFKA_OWN=0

# itest_kafka CMD [ARGS]: deploy/dev/kafka.sh CMD on this test's cluster.
itest_kafka() {
    local cmd=$1
    shift
    "$ITEST_SRC/deploy/dev/kafka.sh" "$cmd" "$ITEST_KAFKA_CLUSTER" "$@"
}

# itest_require_apache: skips a test that only means something on Apache
# Kafka (brokers stopped and killed, tools of Kafka's own).
itest_require_apache() {
    [ "$ITEST_KAFKA" = apache ] \
        || itest_skip "runs on Apache Kafka only (ITEST_KAFKA=apache; ./dev test runs it on a 3-broker cluster)"
}

# Writes a crvsctl configuration for the topics commands.
itest_kafka_ctl_conf() {
    echo "kafka.bootstrap.servers = $ITEST_BOOTSTRAP" >"$ITEST_DIR/kafka-admin.conf"
}

# itest_reset_topics: the hub's topics deleted and created anew, empty.
# With the development broker: a restarted broker (its topics live in memory).
itest_reset_topics() {
    if [ "$ITEST_KAFKA" = apache ]; then
        local ctl="$ITEST_BUILD/services/ctl/crvsctl" rf brokers
        brokers=$(itest_kafka bootstrap | tr ',' '\n' | wc -l)
        rf=$((brokers < 3 ? brokers : 3))
        {
            "$ctl" -c "$ITEST_DIR/kafka-admin.conf" topics delete --all --yes \
                && "$ctl" -c "$ITEST_DIR/kafka-admin.conf" topics create \
                    --partitions "${ITEST_PARTITIONS:-3}" --replication "$rf"
        } >>"$ITEST_DIR/topics.log" 2>&1 || { cat "$ITEST_DIR/topics.log" >&2; itest_fail "the hub's topics could not be made anew"; }
        # crvsctl returned once every broker lists the new topics: a
        # service started now is assigned their partitions.
        return 0
    fi
    "$ITEST_SRC/deploy/dev/broker.sh" stop "$ITEST_DIR" >/dev/null
    "$ITEST_SRC/deploy/dev/broker.sh" start "$ITEST_BUILD" "$ITEST_DIR" "${ITEST_PARTITIONS:-3}" \
        2>>"$ITEST_DIR/broker-start.log" || itest_fail "the broker did not restart"
    ITEST_BOOTSTRAP=$(cat "$ITEST_DIR/bootstrap")
}

# The broker of the test: its own development broker, or Apache Kafka.
itest_kafka_setup() {
    case "$ITEST_KAFKA" in
    devbroker)
        "$ITEST_SRC/deploy/dev/broker.sh" start "$ITEST_BUILD" "$ITEST_DIR" "${ITEST_PARTITIONS:-3}" \
            2>>"$ITEST_DIR/broker-start.log" \
            || { cat "$ITEST_DIR/broker-start.log" >&2; itest_fail "the development broker did not start"; }
        ITEST_BOOTSTRAP=$(cat "$ITEST_DIR/bootstrap")
        ;;
    apache)
        [ -x "$ITEST_BUILD/services/ctl/crvsctl" ] || itest_skip "crvsctl is not built in $ITEST_BUILD"
        if [ -n "${ITEST_KAFKA_DIR:-}" ]; then
            ITEST_KAFKA_CLUSTER=$ITEST_KAFKA_DIR
        else
            ITEST_KAFKA_CLUSTER="$ITEST_DIR/kafka"
            ITEST_KAFKA_OWN=1
        fi
        # Starts what is not running of a shared cluster (a test before this
        # one may have stopped a broker and failed), and waits until all of
        # it answers.
        local size=()
        [ $ITEST_KAFKA_OWN -eq 0 ] || size=("${ITEST_KAFKA_BROKERS:-3}")
        itest_kafka start "${size[@]}" 2>>"$ITEST_DIR/broker-start.log" \
            || { cat "$ITEST_DIR/broker-start.log" >&2; itest_fail "the Apache Kafka cluster did not start"; }
        ITEST_BOOTSTRAP=$(itest_kafka bootstrap)
        itest_kafka_ctl_conf
        itest_reset_topics
        ;;
    *) itest_fail "ITEST_KAFKA=$ITEST_KAFKA: want devbroker or apache" ;;
    esac
    export ITEST_BOOTSTRAP ITEST_KAFKA ITEST_KAFKA_CLUSTER
}

# Stops the broker and PostgreSQL of this test (idempotent). A shared Apache
# Kafka cluster stays up for the next test.
itest_stop_servers() {
    [ -n "$ITEST_DIR" ] || return 0
    if [ "$ITEST_KAFKA" = apache ]; then
        if [ $ITEST_KAFKA_OWN -eq 1 ] && [ -f "$ITEST_KAFKA_CLUSTER/cluster.env" ]; then
            itest_kafka stop 2>/dev/null || itest_log "Kafka stop failed"
        fi
    else
        "$ITEST_SRC/deploy/dev/broker.sh" stop "$ITEST_DIR" 2>/dev/null || itest_log "broker stop failed"
    fi
    if [ -d "$ITEST_DIR/pg" ]; then
        "$ITEST_SRC/deploy/dev/pg.sh" stop "$ITEST_DIR/pg" 2>/dev/null || itest_log "PostgreSQL stop failed"
    fi
}

itest_cleanup() {
    local status=$? hook f
    set +e
    trap - EXIT INT TERM
    for hook in "${ITEST_EXIT_HOOKS[@]}"; do eval "$hook"; done
    if declare -F hub_stop_all_services >/dev/null; then hub_stop_all_services; fi
    itest_stop_servers
    if [ $status -ne 0 ] && [ $status -ne 77 ] && [ -d "$ITEST_DIR" ]; then
        for f in "$ITEST_DIR"/*.log "$ITEST_DIR/pg/server.log"; do
            [ -f "$f" ] || continue
            echo "----- last lines of ${f#"$ITEST_DIR"/}" >&2
            tail -n 25 "$f" >&2
        done
    fi
    local keep=0
    case "${ITEST_KEEP:-0}" in
    1) keep=1 ;;
    fail) if [ $status -ne 0 ] && [ $status -ne 77 ]; then keep=1; fi ;;
    esac
    if [ $keep -eq 1 ]; then itest_log "kept $ITEST_DIR"; else rm -rf "$ITEST_DIR"; fi
    if [ $status -eq 0 ]; then itest_log "passed"; elif [ $status -ne 77 ]; then itest_log "exit status $status"; fi
    exit $status
}

# PostgreSQL (pg_ctl) and the broker (setsid) run in sessions of their own,
# so a test killed outright (meson's timeout ends with SIGKILL) would leave
# them running. A detached watchdog cleans up once this shell is gone: it
# stops the servers, then ends whatever still names the folder in its command
# line (a broker.sh or pg.sh start that was under way, a server it started
# meanwhile), and removes the folder. After a normal exit the folder is gone
# already and the watchdog just ends (within 1 s).
itest_start_watchdog() {
    local keep=0
    [ "${ITEST_KEEP:-0}" = 0 ] || keep=1
    # Arguments through the environment: its own command line names nothing
    # (tests look for leftovers with pgrep -f "$ITEST_DIR/").
    # shellcheck disable=SC2016 # expanded by the watchdog's own shell
    ITEST_WD_PARENT=$$ ITEST_WD_DIR=$ITEST_DIR ITEST_WD_SRC=$ITEST_SRC ITEST_WD_KEEP=$keep \
        setsid bash -c '
        dir=$ITEST_WD_DIR
        while kill -0 "$ITEST_WD_PARENT" 2>/dev/null; do sleep 1; done
        [ -d "$dir" ] || exit 0
        for round in 1 2 3 4 5 6 7 8 9 10; do
            "$ITEST_WD_SRC/deploy/dev/broker.sh" stop "$dir"
            [ -d "$dir/pg" ] && "$ITEST_WD_SRC/deploy/dev/pg.sh" stop "$dir/pg"
            # the pattern from a file: grep'"'"'s own command line must not match
            pids=$(grep -alsF -f <(printf "%s\n" "$dir/") /proc/[0-9]*/cmdline | cut -d/ -f3 | grep -vx "$$")
            [ -n "$pids" ] || break
            kill -TERM $pids
            sleep 2
            [ $round -lt 5 ] || kill -KILL $pids
        done
        [ "$ITEST_WD_KEEP" = 1 ] || rm -rf "$dir"
    ' </dev/null >/dev/null 2>&1 &
}

itest_setup() {
    [ -z "$ITEST_DIR" ] || itest_fail "itest_setup called twice"
    itest_require psql pg_isready jq
    compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null \
        || itest_skip "no PostgreSQL server binaries in /usr/lib/postgresql/*/bin (deploy/dev/deps.sh installs them)"
    if [ "$(id -u)" -eq 0 ]; then itest_require runuser; fi
    if [ "$ITEST_KAFKA" = devbroker ]; then
        [ -x "$ITEST_BUILD/services/devbroker/crvs-devbroker" ] \
            || itest_skip "crvs-devbroker is not built in $ITEST_BUILD (meson compile -C $ITEST_BUILD)"
    else
        itest_require java kcat openssl
    fi

    ITEST_DIR=$(mktemp -d /tmp/crvs-itest.XXXXXX) || itest_fail "mktemp failed"
    # PostgreSQL may run as another user (crvs) and must traverse it.
    chmod 755 "$ITEST_DIR"
    export ITEST_DIR
    trap itest_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM

    itest_start_watchdog

    export PGHOST=127.0.0.1 PGUSER=crvs_admin PGDATABASE=crvs PGCONNECT_TIMEOUT=5
    local attempt started=0
    for attempt in 1 2 3; do
        PGPORT=$(itest_free_port) || itest_fail "no free TCP port found"
        export PGPORT
        if itest_pg_start 2>>"$ITEST_DIR/pg-start.log"; then
            started=1
            break
        fi
        itest_log "PostgreSQL did not start on port $PGPORT (attempt $attempt)"
    done
    [ $started -eq 1 ] || { cat "$ITEST_DIR/pg-start.log" >&2; itest_fail "PostgreSQL did not start"; }
    "$ITEST_SRC/deploy/dev/pg.sh" bootstrap "$ITEST_DIR/pg" "$PGPORT" 2>>"$ITEST_DIR/pg-start.log" \
        || { cat "$ITEST_DIR/pg-start.log" >&2; itest_fail "PostgreSQL bootstrap (database crvs, role crvs_service) failed"; }

    itest_kafka_setup
    itest_log "PostgreSQL 127.0.0.1:$PGPORT, $ITEST_KAFKA broker $ITEST_BOOTSTRAP, folder $ITEST_DIR"
}
