#!/usr/bin/env bash
# The integration-test environment itself (tests/integration/lib.sh): a
# private PostgreSQL that the service role can reach, a development broker
# that accepts connections and has the hub's topics, and nothing left
# running once both are stopped.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
itest_setup

# PostgreSQL: superuser and the services' role, on the test's own port.
itest_assert_eq "$(itest_psql "SELECT current_user || '@' || current_database()")" \
    "crvs_admin@crvs" "superuser connects to crvs"
itest_assert_eq "$(itest_psql "SELECT current_user || '@' || current_database()" -U crvs_service)" \
    "crvs_service@crvs" "service role connects to crvs"
itest_assert_eq "$(itest_psql "SELECT rolsuper FROM pg_roles WHERE rolname = 'crvs_service'")" f \
    "crvs_service is not a superuser"
itest_assert_eq "$(itest_psql 'SHOW port')" "$PGPORT" "server port"
itest_assert_eq "$(itest_psql 'SHOW listen_addresses')" 127.0.0.1 "listens on loopback only"
itest_assert_eq "$(itest_psql 'SHOW fsync')" on "fsync stays on"
itest_assert_eq "$(itest_psql 'SHOW server_encoding')" UTF8 "server encoding"
# bootstrap is idempotent
"$ITEST_SRC/deploy/dev/pg.sh" bootstrap "$ITEST_DIR/pg" "$PGPORT" || itest_fail "second bootstrap failed"
# start is idempotent
"$ITEST_SRC/deploy/dev/pg.sh" start "$ITEST_DIR/pg" "$PGPORT" 2>/dev/null || itest_fail "second start failed"

# Broker: the bootstrap file holds host:port and that port accepts TCP.
[[ $ITEST_BOOTSTRAP =~ ^[0-9.]+:[0-9]+(,[0-9.]+:[0-9]+)*$ ]] \
    || itest_fail "bootstrap file holds '$ITEST_BOOTSTRAP', not host:port"
first=${ITEST_BOOTSTRAP%%,*}
host=${first%:*} port=${first##*:}
(exec 3<>"/dev/tcp/$host/$port") 2>/dev/null || itest_fail "broker at $first does not accept connections"
itest_log "ok: broker accepts connections at $first"
# Speaks Kafka, with the three topics of 3 partitions (when kcat is there).
if command -v kcat >/dev/null 2>&1; then
    meta=$(kcat -L -b "$ITEST_BOOTSTRAP" -m 10 2>&1) || itest_fail "kcat -L failed: $meta"
    for t in birth-certificate death-notice divorce-judgment; do
        grep -q "topic \"$t\" with 3 partitions" <<<"$meta" || itest_fail "topic $t with 3 partitions missing: $meta"
    done
    itest_log "ok: three topics with 3 partitions"
else
    itest_log "kcat not installed: Kafka metadata not checked"
fi

# Stopping leaves nothing behind.
broker_pid=$(cat "$ITEST_DIR/devbroker.pid")
pg_pid=$(head -n 1 "$ITEST_DIR/pg/postmaster.pid")
itest_stop_servers
if itest_pid_alive "$broker_pid"; then itest_fail "broker (pid $broker_pid) still running after stop"; fi
if itest_pid_alive "$pg_pid"; then itest_fail "PostgreSQL (pid $pg_pid) still running after stop"; fi
[ ! -e "$ITEST_DIR/bootstrap" ] || itest_fail "bootstrap file left behind after stop"
[ ! -e "$ITEST_DIR/pg/postmaster.pid" ] || itest_fail "postmaster.pid left behind after stop"
left=$(pgrep -f -- "$ITEST_DIR/" | grep -vx "$$" || true)
[ -z "$left" ] || itest_fail "processes still running in $ITEST_DIR: $(ps -o pid,user,args -p "${left//$'\n'/,}")"
itest_log "ok: nothing left running"
