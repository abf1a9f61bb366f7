#!/usr/bin/env bash
# Apache Kafka: a producer that writes in transactions. Every transaction
# leaves a marker in each partition it wrote to, which takes an offset and
# is never delivered; an aborted transaction's records are never delivered
# either (the services read committed records only). The service stores the
# committed certificates and none of the aborted ones, and its stored
# offsets reach the log ends (moved past the trailing markers): `crvsctl
# wait` returns and Kafka's own tool shows lag 0. Before, the stored offset
# stopped one short of each trailing marker and a lag of 1 stayed for ever.
set -euo pipefail
. "$(dirname "$0")/hub.sh"
itest_require_apache
hub_setup

"$CTL" loadgen --topic birth-certificate --count 300 --seed 51 > "$ITEST_DIR/first.jsonl"
"$CTL" loadgen --topic birth-certificate --count 200 --seed 52 --start 61000000 > "$ITEST_DIR/aborted.jsonl"
"$CTL" loadgen --topic birth-certificate --count 100 --seed 53 --start 62000000 > "$ITEST_DIR/last.jsonl"
hub_start_service birth-certificate
hub_ctl publish --topic birth-certificate --transaction hospital-a "$ITEST_DIR/first.jsonl" \
    || itest_fail "the first transaction failed"
hub_ctl publish --topic birth-certificate --transaction hospital-a --abort "$ITEST_DIR/aborted.jsonl" \
    || itest_fail "the aborted transaction failed"
hub_ctl publish --topic birth-certificate --transaction hospital-a "$ITEST_DIR/last.jsonl" \
    || itest_fail "the last transaction failed"

# Stored offsets = log ends, markers included.
hub_wait_stored 60
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.birth_certificate")" 400 \
    "certificates stored (300 + 100 committed, 200 aborted)"
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.audit_log WHERE action = 'create'")" 400 "create audit rows"
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.dead_letter")" 0 "dead letters"
aborted_keys=$(jq -r '.facility.code + "/" + .certificate_number' "$ITEST_DIR/aborted.jsonl" | sort)
stored_keys=$(itest_psql "SELECT facility_code || '/' || certificate_number FROM crvs.birth_certificate" | sort)
itest_assert_eq "$(comm -12 <(echo "$aborted_keys") <(echo "$stored_keys") | wc -l)" 0 \
    "certificates of the aborted transaction stored"
# 600 records and at least 3 markers per partition written to: the offsets
# went past the records.
sum=$(itest_psql "SELECT sum(greatest(next_offset, 0)) FROM crvs.consumer_offset WHERE topic = 'birth-certificate'")
[ "$sum" -gt 600 ] || itest_fail "stored offsets sum to $sum: not past the transaction markers"
itest_log "ok: stored offsets sum to $sum (600 records and the markers)"
grep -q 'event=offsets_past_markers' "$ITEST_DIR/birth-certificate.1.log" \
    || itest_fail "the service did not log moving past the markers"
# Kafka's own view: the committed offsets are the log ends too.
lag=$(itest_kafka tool org.apache.kafka.tools.consumer.group.ConsumerGroupCommand --describe \
        --group crvs-birth-certificate 2>/dev/null \
    | awk '$1 == "crvs-birth-certificate" { s += $6 } END { print s + 0 }')
itest_assert_eq "$lag" 0 "lag in kafka-consumer-groups"
itest_log "ok"
