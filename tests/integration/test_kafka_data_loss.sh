#!/usr/bin/env bash
# Apache Kafka: broker data loss for real; the service never skips.
#   1. Records deleted before they were stored: the service stopped,
#      certificates published, Kafka's own kafka-delete-records tool
#      (DeleteRecordsCommand) moves partition 0's log start past the stored
#      offset. The service stops partition 0 only, with the numbers in its
#      log, crvs.partition_fault, the metrics, `status` (exit 2) and `wait`
#      (exit 3); partitions 1 and 2 keep flowing. After `crvsctl offsets
#      reset --to earliest --reason` (audited) the records the broker still
#      holds are stored: everything published is accounted for but the
#      deleted ones.
#   1b. The same while the service runs behind: the broker refuses its next
#      fetch (auto.offset.reset = error), the partition stops.
#   2. The topic deleted and created anew (fewer records than the stored
#      offsets): every partition stops, ahead of the log end; after the
#      resets the new topic's certificates are stored.
set -euo pipefail
export ITEST_PARTITIONS=3
. "$(dirname "$0")/hub.sh"
itest_require_apache
itest_require curl
hub_setup

SVC=birth-certificate
LOG="$ITEST_DIR/$SVC.1.log"
PORT=$(itest_free_port) || itest_fail "no free port"
printf 'http.port = %s\noffsets.fault.poll.ms = 300\n' "$PORT" >> "$ITEST_DIR/$SVC.conf"
where="consumer_group = 'crvs-$SVC' AND topic = '$SVC'"
stored() { itest_psql "SELECT next_offset FROM crvs.consumer_offset WHERE $where AND partition = $1"; }
status_json() { hub_ctl status --topic "$SVC" --json > "$ITEST_DIR/status.json" || true; }
part_field() { jq -r ".services[0].partitions[] | select(.partition == $1) | $2" "$ITEST_DIR/status.json"; }
metric() { curl -sf "http://127.0.0.1:$PORT/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
audited_messages() {
    itest_psql "SELECT count(DISTINCT (source_partition, source_offset)) FROM crvs.audit_log
                WHERE service = '$SVC' AND action IN ('create', 'correct', 'duplicate', 'dead_letter')"
}

hub_ctl loadgen --topic $SVC --count 90 --seed 1 --publish >/dev/null
hub_start_service $SVC
hub_wait_stored 90
hub_stop_service $SVC

# ---- 1. records deleted before they were stored ---------------------------
hub_ctl loadgen --topic $SVC --count 60 --seed 2 --start 51000000 --publish >/dev/null
s0=$(stored 0)
status_json
hi0=$(part_field 0 .log_end)
del_to=$((hi0 - 2))
[ "$del_to" -gt "$s0" ] || itest_fail "partition 0 got too few new records to delete (stored $s0, end $hi0)"
missing0=$((del_to - s0))
printf '{"partitions": [{"topic": "%s", "partition": 0, "offset": %d}], "version": 1}\n' $SVC "$del_to" \
    > "$ITEST_DIR/delete-records.json"
chmod 644 "$ITEST_DIR/delete-records.json"
itest_kafka tool org.apache.kafka.tools.DeleteRecordsCommand \
    --offset-json-file "$ITEST_DIR/delete-records.json" >"$ITEST_DIR/delete-records.log" 2>&1 \
    || { cat "$ITEST_DIR/delete-records.log" >&2; itest_fail "kafka-delete-records failed"; }
status_json
itest_assert_eq "$(part_field 0 .log_start)" "$del_to" "log start of partition 0 after delete-records"
itest_log "partition 0: stored $s0, records deleted up to $del_to, log end $hi0: $missing0 never stored"

hub_start_service $SVC
itest_wait_for "SELECT kind, stored_offset, log_start, log_end, missing FROM crvs.partition_fault WHERE $where" \
    "behind_log_start|$s0|$del_to|$hi0|$missing0" 60
grep -q "level=error.*event=partition_data_loss topic=$SVC partition=0 kind=behind_log_start stored=$s0 log_start=$del_to log_end=$hi0 missing=$missing0 action=stop" "$LOG" \
    || itest_fail "no error event with the numbers: $(grep partition_data_loss "$LOG")"
itest_assert_eq "$(grep -c 'event=partition_data_loss' "$LOG")" 1 "error events"
itest_assert_eq "$(metric "crvs_partition_data_loss{service=\"$SVC\",topic=\"$SVC\",partition=\"0\"}")" 1 \
    "crvs_partition_data_loss of partition 0"
itest_assert_eq "$(metric "crvs_messages_missing{service=\"$SVC\",topic=\"$SVC\",partition=\"0\"}")" "$missing0" \
    "crvs_messages_missing of partition 0"

# Partitions 1 and 2 flow, before and after more certificates.
hub_ctl loadgen --topic $SVC --count 30 --seed 3 --start 52000000 --publish >/dev/null
status_json
for p in 1 2; do
    itest_wait_for "SELECT next_offset FROM crvs.consumer_offset WHERE $where AND partition = $p" \
        "$(part_field $p .log_end)" 60
done
itest_log "ok: partitions 1 and 2 stored to their ends while 0 is stopped"
itest_assert_eq "$(stored 0)" "$s0" "stored offset of partition 0 (not moved)"
rc=0; hub_ctl status --topic $SVC > "$ITEST_DIR/status.txt" || rc=$?
itest_assert_eq "$rc" 2 "status exit (breached)"
grep -q "BROKEN: broker data loss (behind_log_start): stored $s0, log start $del_to, log end $hi0, $missing0 messages missing; stopped by $SVC" "$ITEST_DIR/status.txt" \
    || { cat "$ITEST_DIR/status.txt" >&2; itest_fail "status does not show partition 0 broken with its numbers"; }
rc=0; hub_ctl wait --topic $SVC --timeout 20 2> "$ITEST_DIR/wait.err" || rc=$?
itest_assert_eq "$rc" 3 "wait exit (data loss)"
grep -q "$SVC\[0\]: broker data loss (behind_log_start): stored $s0, log start $del_to" "$ITEST_DIR/wait.err" \
    || { cat "$ITEST_DIR/wait.err" >&2; itest_fail "wait does not name partition 0 with its numbers"; }

hub_ctl offsets reset --topic $SVC --partition 0 --to earliest --by tester \
    --reason "records deleted before they were stored; producers asked to re-send" >/dev/null \
    || itest_fail "reset failed"
hub_wait_stored 90
itest_assert_eq "$(itest_psql "SELECT detail->>'by', detail->>'from', detail->>'to', detail->'fault'->>'missing'
                               FROM crvs.audit_log WHERE action = 'offset_reset'")" \
    "tester|$s0|$del_to|$missing0" "audit of the reset"
status_json
total=$(jq '[.services[0].partitions[].log_end] | add' "$ITEST_DIR/status.json")
itest_assert_eq "$(audited_messages)" "$((total - missing0))" "messages accounted for (all but the $missing0 deleted)"
itest_assert_eq "$(metric "crvs_partition_data_loss{service=\"$SVC\",topic=\"$SVC\",partition=\"0\"}")" 0 \
    "crvs_partition_data_loss of partition 0 after the reset"

# ---- 1b. records deleted while the service runs behind -------------------
# The service is held back (the offsets table locked, so its batches wait;
# librdkafka fetches one producer batch at a time and little ahead) while
# records it has not fetched yet are deleted: the broker refuses its next
# fetch of partition 0. The records are 60 one-record batches of junk (dead
# letters if ever read).
hub_stop_service $SVC
printf 'batch.max.messages = 5\nkafka.queued.min.messages = 5\nkafka.queued.max.messages.kbytes = 1\nkafka.max.partition.fetch.bytes = 1\n' \
    >> "$ITEST_DIR/$SVC.conf"
assigned=$(grep -c 'event=partitions_assigned' "$LOG")
hub_start_service $SVC
for _ in $(seq 1 150); do
    [ "$(grep -c 'event=partitions_assigned' "$LOG")" -gt "$assigned" ] && break
    sleep 0.2
done
sleep 0.5
psql -XAtq -c "BEGIN; LOCK TABLE crvs.consumer_offset IN EXCLUSIVE MODE; SELECT pg_sleep(25); COMMIT" \
    >/dev/null 2>>"$ITEST_DIR/lock.log" &
lock_pid=$!
sleep 0.5
for i in $(seq 1 60); do echo "junk record $i"; done \
    | kcat -P -b "$ITEST_BOOTSTRAP" -t $SVC -p 0 -X linger.ms=0 -X batch.num.messages=1 2>>"$ITEST_DIR/kcat.log" \
    || itest_fail "kcat could not publish"
status_json
del_to=$(($(part_field 0 .log_end) - 2))
printf '{"partitions": [{"topic": "%s", "partition": 0, "offset": %d}], "version": 1}\n' $SVC "$del_to" \
    > "$ITEST_DIR/delete-records.json"
itest_kafka tool org.apache.kafka.tools.DeleteRecordsCommand \
    --offset-json-file "$ITEST_DIR/delete-records.json" >"$ITEST_DIR/delete-records.log" 2>&1 \
    || { cat "$ITEST_DIR/delete-records.log" >&2; itest_fail "kafka-delete-records failed"; }
wait $lock_pid || itest_fail "the lock holder failed: $(cat "$ITEST_DIR/lock.log")"
itest_wait_for "SELECT count(*) FROM crvs.partition_fault WHERE $where AND partition = 0" 1 60
grep -q "event=partition_data_loss topic=$SVC partition=0 kind=behind_log_start .*log_start=$del_to .*action=stop found=fetch" "$LOG" \
    || itest_fail "the refused fetch was not judged behind the log start: $(grep 'partition=0 kind' "$LOG")"
IFS='|' read -r f_stored f_missing <<<"$(itest_psql "SELECT stored_offset, missing FROM crvs.partition_fault WHERE $where")"
itest_assert_eq "$f_missing" "$((del_to - f_stored))" "missing = log start - stored"
hub_ctl offsets reset --topic $SVC --partition 0 --to earliest --reason "deleted while behind" >/dev/null \
    || itest_fail "reset failed"
hub_wait_stored 90
status_json
total=$(jq '[.services[0].partitions[].log_end] | add' "$ITEST_DIR/status.json")
itest_assert_eq "$(audited_messages)" "$((total - missing0 - f_missing))" \
    "messages accounted for (all but the $missing0 and $f_missing deleted)"

# ---- 2. the topic deleted and created anew ---------------------------------
hub_stop_service $SVC
itest_reset_topics
hub_ctl loadgen --topic $SVC --count 6 --seed 4 --start 53000000 --publish >/dev/null
hub_start_service $SVC
itest_wait_for "SELECT count(*) FROM crvs.partition_fault WHERE $where AND kind = 'ahead_of_log_end'" 3 60
rc=0; hub_ctl wait --topic $SVC --timeout 20 2> "$ITEST_DIR/wait2.err" || rc=$?
itest_assert_eq "$rc" 3 "wait after the topic was made anew"
grep -q "$SVC\[1\]: broker data loss (ahead_of_log_end): stored $(stored 1), log start 0" "$ITEST_DIR/wait2.err" \
    || { cat "$ITEST_DIR/wait2.err" >&2; itest_fail "wait does not name partition 1"; }
before=$(itest_psql "SELECT count(*) FROM crvs.birth_certificate")
for p in 0 1 2; do
    hub_ctl offsets reset --topic $SVC --partition $p --to earliest --reason "topic made anew" >/dev/null \
        || itest_fail "reset of partition $p failed"
done
hub_wait_stored 90
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.birth_certificate")" "$((before + 6))" \
    "certificates of the new topic stored"
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.audit_log WHERE action = 'offset_reset'")" 5 "resets audited"
itest_log "ok"
