#!/usr/bin/env bash
# crvsctl status: figures, thresholds and exit codes (0 healthy, 2 breached,
# 1 error), --json and --watch. crvsctl dlq replay and discard: documents a
# producer wrote with a schema id the service did not know yet are
# dead-lettered (schema.unknown_id); once the service has the schema,
# replaying lands each exactly once, a second replay does nothing; bulk
# replays go in chunks with progress; discarding is audited.
set -euo pipefail
. "$(dirname "$0")/hub.sh"
hub_setup

# The producer's catalog knows schema id 1999, a newer version of the birth
# certificate (the content of the latest one, registered under a new id);
# the service's catalog does not yet.
full="$ITEST_DIR/catalog-full"
cp -r "$MESON_SOURCE_ROOT/schemas/avro" "$full"
latest=$(awk -F'\t' '$2 == "birth-certificate" && $3 + 0 > v { v = $3 + 0; f = $4 } END { print f }' "$full/catalog.tsv")
[ -n "$latest" ] || itest_fail "no birth-certificate schema in the catalog"
printf '1999\tbirth-certificate\t99\t%s\n' "$latest" >> "$full/catalog.tsv"
echo "schema.catalog = $full" > "$ITEST_DIR/ctl-v2.conf"
publish_v2() { "$CTL" -c "$ITEST_DIR/ctl.conf" -c "$ITEST_DIR/ctl-v2.conf" publish --topic birth-certificate "$1" >/dev/null; }
rows() { itest_psql "SELECT count(*) FROM crvs.birth_certificate"; }
# status_rc ARGS...: runs crvsctl status, output in $ITEST_DIR/status.out, prints the exit status.
status_rc() { local rc=0; hub_ctl status "$@" >"$ITEST_DIR/status.out" 2>"$ITEST_DIR/status.err" || rc=$?; echo "$rc"; }

"$CTL" loadgen --topic birth-certificate --count 300 --seed 21 > "$ITEST_DIR/all.jsonl"
sed -n 1,20p "$ITEST_DIR/all.jsonl" > "$ITEST_DIR/first.jsonl"
sed -n 21,30p "$ITEST_DIR/all.jsonl" > "$ITEST_DIR/waiting.jsonl"
sed -n 31,281p "$ITEST_DIR/all.jsonl" > "$ITEST_DIR/v2.jsonl"   # 251 documents

# ---- healthy
hub_start_service birth-certificate
hub_ctl publish --topic birth-certificate "$ITEST_DIR/first.jsonl" >/dev/null
hub_wait_stored 60
itest_assert_eq "$(status_rc --max-lag 0 --max-commit-age 1 --max-dead-letters-per-hour 0)" 0 "status exit, healthy"
grep -q '^birth-certificate  (topic birth-certificate, group crvs-birth-certificate)' "$ITEST_DIR/status.out" \
    || { cat "$ITEST_DIR/status.out" >&2; itest_fail "status does not show the birth-certificate service"; }
grep -q '^thresholds: ok' "$ITEST_DIR/status.out" || itest_fail "status does not say thresholds ok"
grep -q '^reconciliation items open: [0-9]' "$ITEST_DIR/status.out" || itest_fail "status does not show reconciliation items"
itest_assert_eq "$(status_rc --json)" 0 "status --json exit"
json="$ITEST_DIR/status.out"
bc='.services[] | select(.service == "birth-certificate")'
itest_assert_eq "$(jq "$bc | .partitions | length" "$json")" 3 "partitions shown"
itest_assert_eq "$(jq "[$bc | .partitions[].stored_offset] | add" "$json")" 20 "stored offsets add up"
itest_assert_eq "$(jq "[$bc | .partitions[].log_end] | add" "$json")" 20 "log end offsets add up"
itest_assert_eq "$(jq "$bc | .lag_messages" "$json")" 0 "lag"
itest_assert_eq "$(jq "$bc | .throughput_5m.created" "$json")" 20 "created in the last 5 minutes"
itest_assert_eq "$(jq "[$bc | .partitions[].last_commit_age_seconds | . >= 0 and . < 120] | all" "$json")" true "commit ages"
itest_assert_eq "$(jq -r '.ok' "$json")" true "json ok"

# ---- a document with a schema id the service does not know
head -n 1 "$ITEST_DIR/v2.jsonl" > "$ITEST_DIR/v2-one.jsonl"
publish_v2 "$ITEST_DIR/v2-one.jsonl"
hub_wait_stored 60
itest_assert_eq "$(itest_psql "SELECT reason || ' ' || schema_id || ' ' || status FROM crvs.dead_letter")" "schema.unknown_id 1999 new" "dead letter"
id=$(itest_psql "SELECT id FROM crvs.dead_letter")
itest_assert_eq "$(status_rc --max-dead-letters-per-hour 0)" 2 "status exit, one dead letter with at most 0 per hour"
grep -q 'BREACHED birth-certificate: 1 dead letters in the last hour' "$ITEST_DIR/status.out" \
    || { cat "$ITEST_DIR/status.out" >&2; itest_fail "the dead-letter breach is not printed"; }
grep -q 'schema.unknown_id' "$ITEST_DIR/status.out" || itest_fail "status does not list the reason"
itest_assert_eq "$(status_rc --max-dead-letters-per-hour 1)" 0 "status exit, one dead letter with at most 1 per hour"
itest_assert_eq "$(status_rc --json)" 0 "status --json exit"
itest_assert_eq "$(jq -c "$bc | .dead_letters | [.last_hour, .last_day, .new, .by_reason[0].reason]" "$json")" '[1,1,1,"schema.unknown_id"]' "dead letters in json"

# ---- the service stopped while messages wait
hub_stop_service birth-certificate
hub_ctl publish --topic birth-certificate "$ITEST_DIR/waiting.jsonl" >/dev/null
sleep 1.2
itest_assert_eq "$(status_rc --max-lag 5)" 2 "status exit, lag 10 with at most 5"
grep -q 'BREACHED birth-certificate birth-certificate\[[0-9]\]: lag' "$ITEST_DIR/status.out" \
    || { cat "$ITEST_DIR/status.out" >&2; itest_fail "the lag breach is not printed"; }
itest_assert_eq "$(status_rc --max-lag 10)" 0 "status exit, lag 10 with at most 10"
itest_assert_eq "$(status_rc --max-commit-age 0)" 2 "status exit, commit age with lag"
grep -q 'BREACHED .*last commit' "$ITEST_DIR/status.out" || itest_fail "the commit-age breach is not printed"
itest_assert_eq "$(status_rc --json --max-lag 5)" 2 "status --json exit, breached"
itest_assert_eq "$(jq "$bc | .lag_messages" "$json")" 10 "lag while stopped"
itest_assert_eq "$(jq -r '.ok' "$json")" false "json ok while breached"
itest_assert_eq "$(jq '.breaches | length > 0' "$json")" true "json breaches"
# Lag age: the oldest waiting message was published over a second ago.
itest_assert_eq "$(jq "[$bc | .partitions[] | select(.lag_messages > 0) | .lag_seconds >= 1] | all" "$json")" true "lag ages"
# Errors are exit 1, not 2.
rc=0; CRVS_PG_PORT=1 hub_ctl status >/dev/null 2>&1 || rc=$?
itest_assert_eq "$rc" 1 "status exit without PostgreSQL"
rc=0; hub_ctl status --max-lag x >/dev/null 2>&1 || rc=$?
itest_assert_eq "$rc" 1 "status exit on bad usage (2 means breached only)"
# --watch redraws until interrupted.
rc=0; timeout -s INT 3 "$CTL" -c "$ITEST_DIR/ctl.conf" status --watch 1 >"$ITEST_DIR/watch.out" 2>&1 || rc=$?
[ "$(grep -c '^crvs-hub status at' "$ITEST_DIR/watch.out")" -ge 2 ] || itest_fail "status --watch 1 did not redraw"

# ---- many more documents with the new id, then the service learns it
hub_start_service birth-certificate
sed -n '2,$p' "$ITEST_DIR/v2.jsonl" > "$ITEST_DIR/v2-rest.jsonl"
publish_v2 "$ITEST_DIR/v2-rest.jsonl"
hub_wait_stored 120
itest_assert_eq "$(rows)" 30 "rows before the schema is known"
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.dead_letter WHERE reason = 'schema.unknown_id' AND status = 'new'")" 251 "dead letters waiting"
hub_stop_service birth-certificate
echo "schema.catalog = $full" >> "$ITEST_DIR/birth-certificate.conf"
hub_start_service birth-certificate

out=$(hub_ctl dlq replay --all-matching --dry-run)
itest_assert_eq "$out" "251 dead letters would be replayed (ids $id to $(itest_psql "SELECT max(id) FROM crvs.dead_letter"))" "dry run"
# Asked for, the usage goes to stdout with exit 0; after a usage error to
# stderr with exit 2. An id that is not a number is a usage error, not SQL.
rc=0; "$CTL" --help >"$ITEST_DIR/help.out" 2>"$ITEST_DIR/help.err" || rc=$?
itest_assert_eq "$rc|$(head -c 20 "$ITEST_DIR/help.out")|$(wc -c <"$ITEST_DIR/help.err")" "0|usage: crvsctl [-c F|0" "crvsctl --help: exit, stdout, stderr"
rc=0; "$CTL" >"$ITEST_DIR/help.out" 2>"$ITEST_DIR/help.err" || rc=$?
itest_assert_eq "$rc|$(wc -c <"$ITEST_DIR/help.out")|$(head -c 20 "$ITEST_DIR/help.err")" "2|0|usage: crvsctl [-c F" "crvsctl without a command: exit, stdout, stderr"
rc=0; hub_ctl dlq show abc >"$ITEST_DIR/show.out" 2>&1 || rc=$?
itest_assert_eq "$rc" 2 "dlq show abc: exit"
grep -q "not a dead letter id" "$ITEST_DIR/show.out" || { cat "$ITEST_DIR/show.out" >&2; itest_fail "dlq show abc: no plain reason"; }
if grep -qi "sqlstate\|syntax\|bigint" "$ITEST_DIR/show.out"; then itest_fail "dlq show abc printed an SQL error"; fi
# Publishing an empty file says so and fails.
: >"$ITEST_DIR/empty.jsonl"
rc=0; hub_ctl publish --topic birth-certificate "$ITEST_DIR/empty.jsonl" >/dev/null 2>"$ITEST_DIR/empty.err" || rc=$?
itest_assert_eq "$rc" 1 "publish of an empty file: exit"
grep -q "the input holds no document" "$ITEST_DIR/empty.err" || itest_fail "publish of an empty file said nothing"
rc=0; hub_ctl dlq replay >/dev/null 2>&1 || rc=$?
itest_assert_eq "$rc" 2 "replay without a selection"

# One entry: it lands exactly once.
cert=$(jq -r '.facility.code + "/" + .certificate_number' "$ITEST_DIR/v2-one.jsonl")
hub_ctl dlq replay "$id" > "$ITEST_DIR/replay1.out"
hub_wait_stored 60
itest_assert_eq "$(rows)" 31 "rows after replaying one"
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.birth_certificate WHERE facility_code || '/' || certificate_number = '$cert'")" 1 "the replayed certificate"
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.audit_log WHERE action = 'create' AND entity_key = '$cert'")" 1 "its create audit row"
itest_assert_eq "$(itest_psql "SELECT status || ' ' || (status_at IS NOT NULL) FROM crvs.dead_letter WHERE id = $id")" "replayed true" "dead letter status"
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.audit_log WHERE action = 'dlq_replay' AND entity_key = '$id'")" 1 "replay audited"
# Twice: nothing happens.
out=$(hub_ctl dlq replay "$id")
grep -q "is replayed" <<<"$out" || itest_fail "second replay: $out"
hub_wait_stored 60
itest_assert_eq "$(rows)" 31 "rows after replaying it again"
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.audit_log WHERE action = 'dlq_replay'")" 1 "replay audit rows after the second replay"

# The other 250, by reason: chunks of 100 with progress on stderr.
hub_ctl dlq replay --reason schema.unknown_id --topic birth-certificate >"$ITEST_DIR/replay.out" 2>"$ITEST_DIR/replay.err"
itest_assert_eq "$(grep -c 'crvsctl dlq replay: .*replayed' "$ITEST_DIR/replay.err")" 3 "progress lines"
grep -q '250/250 replayed, 0 failed' "$ITEST_DIR/replay.err" || itest_fail "no final progress line: $(cat "$ITEST_DIR/replay.err")"
itest_assert_eq "$(cat "$ITEST_DIR/replay.out")" "replayed 250 of 250 dead letters" "replay summary"
hub_wait_stored 120
itest_assert_eq "$(rows)" 281 "rows after the bulk replay"
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.dead_letter WHERE status = 'replayed'")" 251 "dead letters replayed"
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.dead_letter")" 251 "no new dead letters from the replay"
itest_assert_eq "$(hub_ctl dlq replay --all-matching)" "no dead letter with status 'new' matches; nothing to do" "replay with nothing left"
itest_assert_eq "$(rows)" 281 "rows unchanged"

# ---- discard
echo "000000" > "$ITEST_DIR/short.hex"
hub_ctl publish --topic birth-certificate --raw-hex "$ITEST_DIR/short.hex" >/dev/null
hub_wait_stored 60
short=$(itest_psql "SELECT id FROM crvs.dead_letter WHERE reason = 'frame.too_short'")
rc=0; hub_ctl dlq discard "$short" >/dev/null 2>&1 || rc=$?
itest_assert_eq "$rc" 2 "discard without a comment"
hub_ctl dlq discard "$short" --comment "test message from the hospital's staging system" --by duty-officer >/dev/null
itest_assert_eq "$(itest_psql "SELECT status || '|' || status_comment FROM crvs.dead_letter WHERE id = $short")" "discarded|test message from the hospital's staging system" "discarded entry"
itest_assert_eq "$(itest_psql "SELECT detail->>'by' FROM crvs.audit_log WHERE action = 'dlq_discard' AND entity_key = '$short'")" duty-officer "discard audited"
hub_ctl dlq discard "$short" --comment again >/dev/null || itest_fail "discarding twice failed"
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.audit_log WHERE action = 'dlq_discard'")" 1 "discard audit rows after discarding twice"
out=$(hub_ctl dlq replay "$short")
grep -q "is discarded" <<<"$out" || itest_fail "replay of a discarded entry did something: $out"
rc=0; hub_ctl dlq discard "$id" --comment "no" >/dev/null 2>&1 || rc=$?
itest_assert_eq "$rc" 1 "discarding a replayed entry"
out=$(hub_ctl dlq list --status discarded)
grep -q "frame.too_short" <<<"$out" || itest_fail "dlq list --status discarded: $out"

itest_assert_eq "$(status_rc --max-lag 0 --max-commit-age 60)" 0 "status exit at the end"
if grep -E '[0-9]{12}' "$ITEST_DIR"/birth-certificate.*.log; then itest_fail "a service log holds a 12-digit number"; fi
itest_log "ok"
