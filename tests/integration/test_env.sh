#!/usr/bin/env bash
# The integration-test environment itself (tests/integration/lib.sh): a
# private PostgreSQL that the service role can reach, a broker (the
# development broker or Apache Kafka) that accepts connections and has the
# hub's topics as they should be, and nothing left running once the test's
# servers are stopped.
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

# Broker: the bootstrap list holds host:port and its first port accepts TCP.
[[ $ITEST_BOOTSTRAP =~ ^[0-9.]+:[0-9]+(,[0-9.]+:[0-9]+)*$ ]] \
    || itest_fail "bootstrap list is '$ITEST_BOOTSTRAP', not host:port[,host:port...]"
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

if [ "$ITEST_KAFKA" = apache ]; then
    # Apache Kafka: as many brokers as the bootstrap list names, each topic
    # replicated on 3 of them (or all, when fewer) with min.insync.replicas
    # 2 on 3, every replica in sync; crvsctl reads it all back.
    brokers=$(tr ',' '\n' <<<"$ITEST_BOOTSTRAP" | wc -l)
    rf=$((brokers < 3 ? brokers : 3)) isr=$((brokers < 3 ? 1 : 2))
    itest_assert_eq "$(kcat -L -b "$ITEST_BOOTSTRAP" -m 10 2>/dev/null | grep -c '^  broker ')" "$brokers" "brokers in the metadata"
    desc=$("$ITEST_BUILD/services/ctl/crvsctl" -c "$ITEST_DIR/kafka-admin.conf" topics describe) \
        || itest_fail "crvsctl topics describe failed: $desc"
    for t in birth-certificate death-notice divorce-judgment; do
        grep -q "^$t: partitions=3 replication=$rf under_replicated=0 without_leader=0  min.insync.replicas=$isr " <<<"$desc" \
            || itest_fail "topic $t is not as created: $desc"
    done
    itest_log "ok: $brokers broker(s), topics of replication $rf, min.insync.replicas $isr, all in sync"
    [ -s "$ITEST_KAFKA_CLUSTER/bootstrap.sasl_ssl" ] || itest_fail "no SASL_SSL bootstrap list"
    # The brokers do not run as root.
    for pidf in "$ITEST_KAFKA_CLUSTER"/broker-*/broker.pid; do
        user=$(ps -o user= -p "$(cat "$pidf")")
        [ "$user" != root ] || itest_fail "a broker runs as root"
    done
    itest_log "ok: the brokers run as ${user:-?}"
fi

# Stopping leaves nothing behind (a shared Kafka cluster stays up for the
# next tests: only what this test started stops).
own_broker=""
[ "$ITEST_KAFKA" = devbroker ] && own_broker=$(cat "$ITEST_DIR/devbroker.pid")
pg_pid=$(head -n 1 "$ITEST_DIR/pg/postmaster.pid")
itest_stop_servers
if [ -n "$own_broker" ] && itest_pid_alive "$own_broker"; then itest_fail "broker (pid $own_broker) still running after stop"; fi
if itest_pid_alive "$pg_pid"; then itest_fail "PostgreSQL (pid $pg_pid) still running after stop"; fi
[ "$ITEST_KAFKA" = apache ] || [ ! -e "$ITEST_DIR/bootstrap" ] || itest_fail "bootstrap file left behind after stop"
[ ! -e "$ITEST_DIR/pg/postmaster.pid" ] || itest_fail "postmaster.pid left behind after stop"
left=$(pgrep -f -- "$ITEST_DIR/" | grep -vx "$$" || true)
[ -z "$left" ] || itest_fail "processes still running in $ITEST_DIR: $(ps -o pid,user,args -p "${left//$'\n'/,}")"
itest_log "ok: nothing left running"
