#!/usr/bin/env bash
# Broker data loss on the development broker, for real where it can lose
# data: the service never skips silently.
#   1. Behind the log start: with the service stopped, certificates are
#      published and partition 0 is flooded with large messages; the
#      broker keeps about 5 MiB per partition and drops the oldest,
#      certificates never stored among them.
#   2. Ahead of the log end: partition 1's stored offset is put past its
#      end (as a topic deleted and made anew leaves it).
#   The service stops those two partitions only: one error event each with
#   the numbers, the faults in crvs.partition_fault and the audit trail,
#   the metrics, `status` (exit 2, the numbers), `wait` (exit 3, naming the
#   partitions); partition 2 keeps flowing. The faults survive a restart of
#   the service. `crvsctl offsets reset ... --reason` (audited) lets each go
#   on, and what the broker still holds is stored.
#   3. A topic made anew for real: the development broker restarted (its
#      topics are empty again) under the same database: every partition
#      stops; reset to earliest, the new certificates are stored.
#   4. offsets.on.loss = continue (development only): the loss is logged,
#      counted and audited as a skip, and the partition goes on.
set -euo pipefail
export ITEST_PARTITIONS=3
. "$(dirname "$0")/hub.sh"
itest_require kcat curl
hub_setup

SVC=birth-certificate
LOG="$ITEST_DIR/$SVC.1.log"
PORT=$(itest_free_port) || itest_fail "no free port"
service_settings() {
    printf 'http.port = %s\noffsets.fault.poll.ms = 300\n' "$PORT" >> "$ITEST_DIR/$SVC.conf"
}
service_settings
where="consumer_group = 'crvs-$SVC' AND topic = '$SVC'"
stored() { itest_psql "SELECT next_offset FROM crvs.consumer_offset WHERE $where AND partition = $1"; }
status_json() { hub_ctl status --topic "$SVC" --json > "$ITEST_DIR/status.json" || true; }
part_field() { jq -r ".services[0].partitions[] | select(.partition == $1) | $2" "$ITEST_DIR/status.json"; }
metric() { curl -sf "http://127.0.0.1:$PORT/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
# loss_events PARTITION: error events logged for it so far.
loss_events() { grep -c "event=partition_data_loss topic=$SVC partition=$1 " "$LOG" || true; }
# audited_messages: distinct (partition, offset) the service accounted for.
audited_messages() {
    itest_psql "SELECT count(DISTINCT (source_partition, source_offset)) FROM crvs.audit_log
                WHERE service = '$SVC' AND action IN ('create', 'correct', 'duplicate', 'dead_letter')"
}

# ---- a normal start: 90 certificates stored -------------------------------
hub_ctl loadgen --topic $SVC --count 90 --seed 1 --publish >/dev/null
hub_start_service $SVC
hub_wait_stored 60
hub_stop_service $SVC
end1=$(stored 1)

# ---- 1 and 2: loss while the service is down ------------------------------
hub_ctl loadgen --topic $SVC --count 30 --seed 2 --start 51000000 --publish >/dev/null
s0=$(stored 0)
# 7 messages of 900 kB into partition 0: more than the 5 MiB it keeps.
for _ in 1 2 3 4 5 6 7; do head -c 900000 /dev/zero | tr '\0' 'x'; echo; done > "$ITEST_DIR/flood.txt"
kcat -P -b "$ITEST_BOOTSTRAP" -t $SVC -p 0 -l "$ITEST_DIR/flood.txt" 2>>"$ITEST_DIR/kcat.log" \
    || itest_fail "kcat could not publish the flood"
status_json
lo0=$(part_field 0 .log_start) hi0=$(part_field 0 .log_end)
[ "$lo0" -gt "$s0" ] || itest_fail "the broker kept partition 0 from $lo0: no loss to test (stored $s0)"
missing0=$((lo0 - s0))
itest_log "partition 0: stored $s0, log start $lo0, log end $hi0: $missing0 messages gone"
ahead1=$((end1 + 40))
itest_psql "UPDATE crvs.consumer_offset SET next_offset = $ahead1 WHERE $where AND partition = 1" >/dev/null
hi1=$(part_field 1 .log_end)

hub_start_service $SVC
itest_wait_for "SELECT count(*) FROM crvs.partition_fault WHERE $where" 2 30
itest_assert_eq "$(itest_psql "SELECT kind, stored_offset, log_start, log_end, missing, detected_by
                               FROM crvs.partition_fault WHERE $where AND partition = 0")" \
    "behind_log_start|$s0|$lo0|$hi0|$missing0|$SVC" "fault of partition 0"
itest_assert_eq "$(itest_psql "SELECT kind, stored_offset, log_end, missing IS NULL
                               FROM crvs.partition_fault WHERE $where AND partition = 1")" \
    "ahead_of_log_end|$ahead1|$hi1|t" "fault of partition 1"
itest_assert_eq "$(loss_events 0)" 1 "error events for partition 0"
itest_assert_eq "$(loss_events 1)" 1 "error events for partition 1"
grep -q "event=partition_data_loss topic=$SVC partition=0 kind=behind_log_start stored=$s0 log_start=$lo0 log_end=$hi0 missing=$missing0 action=stop found=assignment" "$LOG" \
    || itest_fail "the error event of partition 0 lacks its numbers: $(grep 'partition=0 kind' "$LOG")"
grep -q "level=error.*event=partition_data_loss topic=$SVC partition=1 kind=ahead_of_log_end stored=$ahead1 log_start=0 log_end=$hi1 missing=unknown action=stop" "$LOG" \
    || itest_fail "the error event of partition 1 lacks its numbers: $(grep 'partition=1 kind' "$LOG")"
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.audit_log WHERE action = 'partition_data_loss'")" 2 \
    "data loss audit rows"
itest_assert_eq "$(metric "crvs_partition_data_loss{service=\"$SVC\",topic=\"$SVC\",partition=\"0\"}")" 1 \
    "crvs_partition_data_loss of partition 0"
itest_assert_eq "$(metric "crvs_messages_missing{service=\"$SVC\",topic=\"$SVC\",partition=\"0\"}")" "$missing0" \
    "crvs_messages_missing of partition 0"
itest_assert_eq "$(metric "crvs_partition_data_loss{service=\"$SVC\",topic=\"$SVC\",partition=\"1\"}")" 1 \
    "crvs_partition_data_loss of partition 1"
itest_assert_eq "$(metric "crvs_messages_missing{service=\"$SVC\",topic=\"$SVC\",partition=\"1\"}")" "" \
    "crvs_messages_missing of partition 1 (not known: absent)"
itest_assert_eq "$(metric "crvs_data_loss_events_total{service=\"$SVC\",action=\"stop\"}")" 2 \
    "crvs_data_loss_events_total stop"

# Partition 2 flows: the 30 certificates published while down, and 30 more.
hub_ctl loadgen --topic $SVC --count 30 --seed 3 --start 52000000 --publish >/dev/null
status_json
hi2=$(part_field 2 .log_end)
itest_wait_for "SELECT next_offset FROM crvs.consumer_offset WHERE $where AND partition = 2" "$hi2" 30
itest_log "ok: partition 2 stored to its end $hi2 while 0 and 1 are stopped"
itest_assert_eq "$(stored 0)" "$s0" "stored offset of partition 0 (not moved)"
itest_assert_eq "$(stored 1)" "$ahead1" "stored offset of partition 1 (not moved)"

# status and wait: broken, with the numbers; never "stored", never lag 0.
rc=0; hub_ctl status --topic $SVC > "$ITEST_DIR/status.txt" || rc=$?
itest_assert_eq "$rc" 2 "status exit (breached)"
grep -q "BROKEN: broker data loss (behind_log_start): stored $s0, log start $lo0, log end $hi0, $missing0 messages missing; stopped by $SVC" "$ITEST_DIR/status.txt" \
    || { cat "$ITEST_DIR/status.txt" >&2; itest_fail "status does not show partition 0 broken with its numbers"; }
grep -q "BREACHED $SVC $SVC\[1\]: broker data loss (ahead_of_log_end): stored $ahead1, log start 0, log end $hi1, missing messages not known" "$ITEST_DIR/status.txt" \
    || { cat "$ITEST_DIR/status.txt" >&2; itest_fail "status does not list partition 1 as breached"; }
status_json
itest_assert_eq "$(part_field 0 '.data_loss.missing')" "$missing0" "status --json missing of partition 0"
itest_assert_eq "$(part_field 0 '.lag_messages')" "$(($(part_field 0 .log_end) - s0))" \
    "status --json lag of partition 0 (log end - stored: the missing included)"
itest_assert_eq "$(part_field 1 '.lag_messages')" null "status --json lag of partition 1 (not known)"
itest_assert_eq "$(jq -r .ok "$ITEST_DIR/status.json")" false "status --json ok"
rc=0; hub_ctl wait --topic $SVC --timeout 20 2> "$ITEST_DIR/wait.err" || rc=$?
itest_assert_eq "$rc" 3 "wait exit (data loss)"
grep -q "$SVC\[0\]: broker data loss (behind_log_start): stored $s0, log start $lo0, log end $hi0, $missing0 messages missing" "$ITEST_DIR/wait.err" \
    || { cat "$ITEST_DIR/wait.err" >&2; itest_fail "wait does not name partition 0 with its numbers"; }
grep -q "$SVC\[1\]: broker data loss (ahead_of_log_end)" "$ITEST_DIR/wait.err" \
    || { cat "$ITEST_DIR/wait.err" >&2; itest_fail "wait does not name partition 1"; }

# The console's status API shows them too.
cport=$(itest_free_port) || itest_fail "no free port"
"$CTL" -c "$ITEST_DIR/ctl.conf" serve --port "$cport" --interval 1 >>"$ITEST_DIR/serve.log" 2>&1 &
serve_pid=$!
itest_on_exit "kill $serve_pid 2>/dev/null; wait $serve_pid 2>/dev/null"
for _ in $(seq 1 50); do
    curl -sf -o "$ITEST_DIR/api.json" "http://127.0.0.1:$cport/api/status" && break
    sleep 0.3
done
itest_assert_eq "$(jq -r ".services[] | select(.service == \"$SVC\") | .partitions[] | select(.partition == 0) | .data_loss.kind" "$ITEST_DIR/api.json")" \
    behind_log_start "console API: partition 0"
jq -e '.breaches | map(select(test("broker data loss"))) | length == 2' "$ITEST_DIR/api.json" >/dev/null \
    || itest_fail "console API: the data loss is not among the breaches"
if [ -n "$HUB_CHROMIUM" ]; then
    hub_chromium --virtual-time-budget=8000 --dump-dom "http://127.0.0.1:$cport/" > "$ITEST_DIR/dom.html" \
        || itest_fail "chromium failed"
    grep -q '<section id="loss-section">' "$ITEST_DIR/dom.html" || itest_fail "the page hides its data loss table"
    k="loss:$SVC:0"
    itest_assert_eq "$(hub_dom_cell "$ITEST_DIR/dom.html" "$k:kind")|$(hub_dom_cell "$ITEST_DIR/dom.html" "$k:stored")|$(hub_dom_cell "$ITEST_DIR/dom.html" "$k:log_start")|$(hub_dom_cell "$ITEST_DIR/dom.html" "$k:missing")" \
        "behind_log_start|$s0|$lo0|$missing0" "console page: partition 0"
    itest_assert_eq "$(hub_dom_cell "$ITEST_DIR/dom.html" "loss:$SVC:1:missing")" "not known" "console page: partition 1 missing"
else
    itest_log "chromium is not installed: the console page itself is not checked (its API is)"
fi
kill $serve_pid 2>/dev/null; wait $serve_pid 2>/dev/null || true

# A restart finds the open faults: still stopped, no second error event.
hub_stop_service $SVC
hub_start_service $SVC
for _ in $(seq 1 100); do
    [ "$(grep -c 'event=partition_stopped reason=open_fault' "$LOG" || true)" -ge 2 ] && break
    sleep 0.2
done
itest_assert_eq "$(grep -c 'event=partition_stopped reason=open_fault' "$LOG" || true)" 2 \
    "open faults found at the restart"
itest_assert_eq "$(loss_events 0)$(loss_events 1)" 11 "error events after the restart (still one each)"
itest_assert_eq "$(stored 0)" "$s0" "stored offset of partition 0 after the restart"

# ---- the operator decides -------------------------------------------------
rc=0; hub_ctl offsets reset --topic $SVC --partition 0 --to earliest --reason "" 2>/dev/null || rc=$?
itest_assert_eq "$rc" 2 "reset without a reason"
rc=0; hub_ctl offsets reset --topic $SVC --partition 1 --to "$ahead1" --reason "beyond" 2>"$ITEST_DIR/reset.err" || rc=$?
itest_assert_eq "$rc" 1 "reset beyond the log end"
grep -q "outside what the broker holds" "$ITEST_DIR/reset.err" || itest_fail "no reason given: $(cat "$ITEST_DIR/reset.err")"
hub_ctl offsets reset --topic $SVC --partition 0 --to earliest --by tester \
    --reason "flood test: the oldest messages are gone, go on with what is left" >/dev/null \
    || itest_fail "reset of partition 0 failed"
hub_ctl offsets reset --topic $SVC --partition 1 --to "$end1" --by tester \
    --reason "the stored offset was moved by hand; the real position" >/dev/null \
    || itest_fail "reset of partition 1 failed"
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.partition_fault")" 0 "faults after the resets"
itest_assert_eq "$(itest_psql "SELECT entity_key, source_partition, detail->>'by', detail->>'from', detail->>'to',
                                      detail->'fault'->>'kind', detail->'fault'->>'missing', detail->>'reason'
                               FROM crvs.audit_log WHERE action = 'offset_reset' AND source_partition = 0")" \
    "crvs-$SVC|0|tester|$s0|$lo0|behind_log_start|$missing0|flood test: the oldest messages are gone, go on with what is left" \
    "audit of the reset of partition 0"
itest_assert_eq "$(itest_psql "SELECT detail->>'from', detail->>'to' FROM crvs.audit_log
                               WHERE action = 'offset_reset' AND source_partition = 1")" "$ahead1|$end1" \
    "audit of the reset of partition 1"
# The running service goes on: what the broker still holds is stored (the
# flood's messages as dead letters: they are not Avro).
hub_wait_stored 60
grep -q "event=partition_resumed topic=$SVC partition=0 offset=$lo0" "$LOG" || itest_fail "partition 0 not resumed at $lo0"
grep -q "event=partition_resumed topic=$SVC partition=1 offset=$end1" "$LOG" || itest_fail "partition 1 not resumed at $end1"
status_json
total=$(jq '[.services[0].partitions[].log_end] | add' "$ITEST_DIR/status.json")
itest_assert_eq "$(audited_messages)" "$((total - missing0))" "messages accounted for (all but the $missing0 lost)"
itest_assert_eq "$(itest_psql "SELECT count(*) > 0 AND bool_and(length(raw) = 900000) FROM crvs.dead_letter
                               WHERE source_partition = 0 AND source_offset >= $lo0")" t \
    "what partition 0 still held (the flood's messages) dead-lettered after the reset"
itest_assert_eq "$(metric "crvs_partition_data_loss{service=\"$SVC\",topic=\"$SVC\",partition=\"0\"}")" 0 \
    "crvs_partition_data_loss of partition 0 after the reset"
itest_assert_eq "$(loss_events 0)$(loss_events 1)" 11 "error events in all (one each)"

# ---- 5. loss while the service runs: the broker refuses its next fetch ----
# The service is held back (the offsets table locked, so batches wait;
# librdkafka fetches little ahead) while certificates are published and
# partition 0 is flooded past them. Its next fetch there is refused.
hub_stop_service $SVC
printf 'batch.max.messages = 5\nkafka.queued.min.messages = 5\nkafka.queued.max.messages.kbytes = 1\n' \
    >> "$ITEST_DIR/$SVC.conf"
assigned=$(grep -c 'event=partitions_assigned' "$LOG")
hub_start_service $SVC
for _ in $(seq 1 100); do
    [ "$(grep -c 'event=partitions_assigned' "$LOG")" -gt "$assigned" ] && break
    sleep 0.2
done
sleep 0.5
psql -XAtq -c "BEGIN; LOCK TABLE crvs.consumer_offset IN EXCLUSIVE MODE; SELECT pg_sleep(8); COMMIT" \
    >/dev/null 2>>"$ITEST_DIR/lock.log" &
lock_pid=$!
sleep 0.5
hub_ctl loadgen --topic $SVC --count 150 --seed 5 --start 54000000 --publish >/dev/null
kcat -P -b "$ITEST_BOOTSTRAP" -t $SVC -p 0 -l "$ITEST_DIR/flood.txt" 2>>"$ITEST_DIR/kcat.log" \
    || itest_fail "kcat could not publish the second flood"
wait $lock_pid || itest_fail "the lock holder failed: $(cat "$ITEST_DIR/lock.log")"
itest_wait_for "SELECT count(*) FROM crvs.partition_fault WHERE $where AND partition = 0" 1 30
itest_assert_eq "$(loss_events 0)" 2 "error events for partition 0 (a second loss)"
grep -q "event=partition_data_loss topic=$SVC partition=0 kind=behind_log_start .*action=stop found=fetch" "$LOG" \
    || itest_fail "the refused fetch was not judged behind the log start: $(grep 'partition=0 kind' "$LOG")"
fault=$(itest_psql "SELECT stored_offset, log_start, missing FROM crvs.partition_fault WHERE $where AND partition = 0")
IFS='|' read -r f_stored f_start f_missing <<<"$fault"
itest_assert_eq "$f_missing" "$((f_start - f_stored))" "missing = log start - stored"
itest_assert_eq "$(stored 0)" "$f_stored" "stored offset of partition 0 = the fault's"
# The other partitions are stored to their ends.
status_json
for p in 1 2; do
    itest_wait_for "SELECT next_offset FROM crvs.consumer_offset WHERE $where AND partition = $p" \
        "$(part_field $p .log_end)" 30
done
hub_ctl offsets reset --topic $SVC --partition 0 --to earliest --reason "second flood" >/dev/null \
    || itest_fail "reset of partition 0 failed"
hub_wait_stored 60
status_json
total=$(jq '[.services[0].partitions[].log_end] | add' "$ITEST_DIR/status.json")
itest_assert_eq "$(audited_messages)" "$((total - missing0 - f_missing))" \
    "messages accounted for (all but the $missing0 and $f_missing lost)"

# ---- 3. the topic made anew: the broker restarted, the database kept ------
hub_stop_service $SVC
itest_reset_topics
hub_write_configs
service_settings
hub_ctl loadgen --topic $SVC --count 12 --seed 4 --start 53000000 --publish >/dev/null
hub_start_service $SVC
itest_wait_for "SELECT count(*) FROM crvs.partition_fault WHERE $where AND kind = 'ahead_of_log_end'" 3 30
rc=0; hub_ctl wait --topic $SVC --timeout 10 2> "$ITEST_DIR/wait2.err" || rc=$?
itest_assert_eq "$rc" 3 "wait after the topic was made anew"
before=$(itest_psql "SELECT count(*) FROM crvs.birth_certificate")
for p in 0 1 2; do
    hub_ctl offsets reset --topic $SVC --partition $p --to earliest --reason "topic made anew: read it all" >/dev/null \
        || itest_fail "reset of partition $p failed"
done
hub_wait_stored 60
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.birth_certificate")" "$((before + 12))" \
    "certificates of the new topic stored"

# ---- 4. offsets.on.loss = continue ----------------------------------------
hub_stop_service $SVC
echo "offsets.on.loss = continue" >> "$ITEST_DIR/$SVC.conf"
end2=$(stored 2)
itest_psql "UPDATE crvs.consumer_offset SET next_offset = next_offset + 25 WHERE $where AND partition = 2" >/dev/null
hub_start_service $SVC
# (wait itself reports the loss while the offsets show it: first the skip.)
itest_wait_for "SELECT count(*) FROM crvs.audit_log WHERE action = 'offset_skip'" 1 30
hub_wait_stored 60
grep -q "event=partition_data_loss topic=$SVC partition=2 kind=ahead_of_log_end stored=$((end2 + 25)) .*action=continue" "$LOG" \
    || itest_fail "the skip was not logged"
itest_assert_eq "$(itest_psql "SELECT detail->>'from', detail->>'to', detail->>'kind' FROM crvs.audit_log WHERE action = 'offset_skip'")" \
    "$((end2 + 25))|0|ahead_of_log_end" "audit of the skip"
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.partition_fault")" 0 "faults with continue"
itest_assert_eq "$(metric "crvs_data_loss_events_total{service=\"$SVC\",action=\"continue\"}")" 1 \
    "crvs_data_loss_events_total continue"
itest_log "ok"
