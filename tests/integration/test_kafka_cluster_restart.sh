#!/usr/bin/env bash
# Apache Kafka: the whole cluster stops for 30 s in the middle of a stream
# and starts again (its data kept on disk). The three services stay up,
# say that they reach no broker (log and crvs_kafka_brokers_up 0), resume
# when the cluster is back, and store every record exactly once, the
# records published before the stop and after it.
set -euo pipefail
. "$(dirname "$0")/hub.sh"
itest_require_apache
itest_require curl
hub_setup
itest_on_exit 'itest_kafka start >/dev/null 2>&1 || true'
OUTAGE_S=${OUTAGE_S:-30}

port=$(itest_free_port) || itest_fail "no free port"
cat >>"$ITEST_DIR/birth-certificate.conf" <<EOC
http.port = $port
kafka.statistics.interval.ms = 1000
EOC
metric() { # NAME: its value on the birth service's /metrics, "" when absent
    curl -sf --max-time 5 "http://127.0.0.1:$port/metrics" | awk -v n="$1" '$1 ~ "^"n"[{ ]" { print $2 }'
}

# Before the stop: 30,000 birth certificates (the cluster stops while they
# are read), half the death notices and divorce judgments; after: the rest.
N=32000 N1=30000 D=3000 J=2000
"$CTL" loadgen --topic birth-certificate --count $N --seed 21 > "$ITEST_DIR/births.jsonl"
"$CTL" loadgen --topic death-notice --count $D --seed 22 > "$ITEST_DIR/deaths.jsonl"
"$CTL" loadgen --topic divorce-judgment --count $J --seed 23 > "$ITEST_DIR/divorces.jsonl"
split_at() { # FILE LINES: the first LINES lines in FILE.1, the rest in FILE.2
    head -n "$2" "$1" > "$1.1"
    tail -n +$(($2 + 1)) "$1" > "$1.2"
}
split_at "$ITEST_DIR/births.jsonl" $N1
split_at "$ITEST_DIR/deaths.jsonl" $((D / 2))
split_at "$ITEST_DIR/divorces.jsonl" $((J / 2))

for svc in birth-certificate death-notice divorce-judgment; do hub_start_service "$svc"; done
hub_ctl publish --topic birth-certificate "$ITEST_DIR/births.jsonl.1" >/dev/null
hub_ctl publish --topic death-notice "$ITEST_DIR/deaths.jsonl.1" >/dev/null
hub_ctl publish --topic divorce-judgment "$ITEST_DIR/divorces.jsonl.1" >/dev/null

# Stop the cluster while the birth certificates are being stored.
for _ in $(seq 1 600); do
    [ "$(itest_psql "SELECT count(*) FROM crvs.birth_certificate")" -ge 1000 ] && break
    sleep 0.1
done
itest_assert_eq "$(metric crvs_kafka_brokers_up | awk '{ print ($1 >= 1) }')" 1 "the birth service reaches a broker"
itest_kafka stop 2>>"$ITEST_DIR/broker-start.log"
at=$(itest_psql "SELECT count(*) FROM crvs.birth_certificate")
itest_log "cluster stopped with $at of $N1 certificates stored; waiting $OUTAGE_S s"
[ "$at" -lt $N1 ] || itest_fail "the certificates published before the stop were all stored before it"

sleep "$OUTAGE_S"
for svc in birth-certificate death-notice divorce-judgment; do
    itest_pid_alive "$(cat "$ITEST_DIR/$svc.1.pid")" || itest_fail "service $svc exited while the cluster was down"
done
itest_assert_eq "$(metric crvs_kafka_brokers_up)" 0 "brokers the birth service reaches during the outage"
# librdkafka reports each broker it was connected to as unreachable
# (_TRANSPORT), and _ALL_BROKERS_DOWN once every broker it knows is.
grep -qE 'event=kafka_error code=(_ALL_BROKERS_DOWN|_TRANSPORT) .*Connection refused' "$ITEST_DIR/birth-certificate.1.log" \
    || itest_fail "the birth service did not log that the brokers are unreachable"

itest_kafka start 2>>"$ITEST_DIR/broker-start.log" || itest_fail "the cluster did not start again"
itest_log "cluster started again"
hub_ctl publish --topic birth-certificate "$ITEST_DIR/births.jsonl.2" >/dev/null
hub_ctl publish --topic death-notice "$ITEST_DIR/deaths.jsonl.2" >/dev/null
hub_ctl publish --topic divorce-judgment "$ITEST_DIR/divorces.jsonl.2" >/dev/null
hub_wait_stored 300 birth-certificate
hub_wait_stored 120 death-notice
hub_wait_stored 120 divorce-judgment

itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.birth_certificate")" $N "birth certificates"
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.death_notice")" $D "death notices"
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.divorce_judgment")" $J "divorce judgments"
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.audit_log WHERE action = 'create' AND entity IN ('birth_certificate', 'death_notice', 'divorce_judgment')")" \
    $((N + D + J)) "create audit rows of the records"
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.audit_log WHERE action IN ('duplicate', 'correct')")" 0 \
    "duplicate or correction audit rows (a record read twice would show)"
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.dead_letter")" 0 "dead letters"
itest_assert_eq "$(itest_psql "SELECT sum(next_offset) FROM crvs.consumer_offset")" $((N + D + J)) \
    "sum of stored offsets (the log ends)"
deadline=$((SECONDS + 30))
until [ "$(metric crvs_kafka_brokers_up)" -ge 1 ] 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || itest_fail "crvs_kafka_brokers_up still '$(metric crvs_kafka_brokers_up)' after the cluster came back"
    sleep 0.5
done
itest_log "ok: crvs_kafka_brokers_up $(metric crvs_kafka_brokers_up) after the restart"
itest_log "ok"
