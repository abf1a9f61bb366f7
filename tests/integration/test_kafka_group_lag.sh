#!/usr/bin/env bash
# Apache Kafka: the services' consumer groups as Kafka's own tool shows them
# (kafka-consumer-groups, the ConsumerGroupCommand class). The services
# store offsets in PostgreSQL and commit them to Kafka after each batch for
# exactly this: an operator's standard tools see the lag. After the
# services stored everything, every partition's committed offset is its log
# end (lag 0) and equals the offset stored in PostgreSQL; with the service
# stopped and more messages published, the tool shows them as lag.
set -euo pipefail
. "$(dirname "$0")/hub.sh"
itest_require_apache
hub_setup
GROUP_CMD=org.apache.kafka.tools.consumer.group.ConsumerGroupCommand

# describe GROUP: "topic partition current-offset log-end-offset lag" lines.
# describe GROUP: its rows (partition, committed, log end, lag, consumer).
# Kafka's tool, a JVM, can time out against the coordinator on loaded cores
# and print nothing (a CI run beside another cluster did): up to three tries.
describe() {
    local out="" try
    for try in 1 2 3; do
        out=$(itest_kafka tool "$GROUP_CMD" --describe --group "$1" 2>"$ITEST_DIR/groups.err" \
              | awk -v g="$1" '$1 == g { print $2, $3, $4, $5, $6 }' | sort)
        [ -z "$out" ] || break
        sleep 2
    done
    [ -z "$out" ] || echo "$out"
}
# total_lag GROUP: the sum of the LAG column ("-" counts as unknown: -1).
total_lag() {
    describe "$1" | awk '{ if ($5 == "-") unknown = 1; else s += $5 } END { print unknown ? -1 : s + 0 }'
}
# wait_lag GROUP EXPECTED: the Kafka-side commits follow the batches.
wait_lag() {
    local deadline=$((SECONDS + 60)) lag=""
    while [ $SECONDS -lt $deadline ]; do
        lag=$(total_lag "$1")
        [ "$lag" = "$2" ] && return 0
        sleep 1
    done
    cat "$ITEST_DIR/groups.err" >&2
    itest_fail "kafka-consumer-groups: lag of $1 is '$lag', expected $2"
}

N=3000 D=1000
hub_start_service birth-certificate
hub_start_service death-notice
hub_ctl loadgen --topic birth-certificate --count $N --seed 31 --publish >/dev/null
hub_ctl loadgen --topic death-notice --count $D --seed 32 --publish >/dev/null
hub_wait_stored 120 birth-certificate
hub_wait_stored 120 death-notice

wait_lag crvs-birth-certificate 0
wait_lag crvs-death-notice 0
itest_log "ok: kafka-consumer-groups shows lag 0 for both groups"
# Per partition: Kafka's committed offset = log end = PostgreSQL's stored offset.
kafka_side=$(describe crvs-birth-certificate | awk '{ print $2, $3 }')
pg_side=$(itest_psql "SELECT partition, next_offset FROM crvs.consumer_offset
                      WHERE consumer_group = 'crvs-birth-certificate' ORDER BY partition" -F ' ')
itest_assert_eq "$kafka_side" "$pg_side" "committed offsets in Kafka and stored offsets in PostgreSQL"
itest_assert_eq "$(describe crvs-birth-certificate | awk '{ s += $3 } END { print s }')" $N \
    "sum of committed offsets in Kafka"
itest_assert_eq "$(describe crvs-birth-certificate | awk '$3 != $4' | wc -l)" 0 \
    "partitions whose committed offset is not the log end"

# Stopped, with 500 more published: the tool sees 500 waiting.
hub_stop_service birth-certificate
hub_ctl loadgen --topic birth-certificate --count 500 --seed 33 --start 60000000 --publish >/dev/null
wait_lag crvs-birth-certificate 500
itest_log "ok: 500 messages waiting show as lag while the service is stopped"
hub_start_service birth-certificate 2
hub_wait_stored 120 birth-certificate
wait_lag crvs-birth-certificate 0
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.birth_certificate")" $((N + 500)) "birth certificates"
itest_log "ok"
