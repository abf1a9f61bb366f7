#!/usr/bin/env bash
# The linker (docs/linkage.md, "The linker"): records stored by a service
# whose linker is off wait in the queue, and an operator sees it (status,
# its threshold, wait); a marriage load folds only its own record; a
# service with its linker on folds them; of two
# linkers one is active and the other stands by, and takes over when the
# active one is killed; the fold's figures reach /metrics; a linker killed
# between folds loses nothing and folds nothing twice.
set -euo pipefail
. "$(dirname "$0")/hub.sh"
hub_setup
itest_require curl jq

# until TIMEOUT WHAT CMD...: runs CMD every 0.2 s until it succeeds.
until_ok() {
    local deadline=$((SECONDS + $1)) what=$2
    shift 2
    until "$@"; do
        [ $SECONDS -lt $deadline ] || itest_fail "waited for $what"
        sleep 0.2
    done
}

# Births stored by a service whose linker is off.
"$CTL" loadgen --topic birth-certificate --count 20 --seed 5 > "$ITEST_DIR/births.jsonl"
hub_ctl publish --topic birth-certificate "$ITEST_DIR/births.jsonl" >/dev/null
CRVS_LINKER_ENABLED=false hub_start_service birth-certificate
itest_wait_for "SELECT count(*) FROM crvs.birth_certificate" 20 60
sleep 1 # a linker, were one on, would have folded by now
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.link_queue")" 20 "records queued"
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.person")" 0 "persons before any linker"
itest_assert_eq "$(itest_psql "SELECT count(DISTINCT source_key) FROM crvs.person_fact")" 20 "facts stated by the ingest"

# What an operator sees: status (screen, JSON, threshold) and wait.
out=$(hub_ctl status) || itest_fail "status failed: $out"
grep -q "^linker: 20 records waiting (oldest .*); 0 linkers connected, none active: NOTHING FOLDS" <<<"$out" \
    || itest_fail "status does not show the waiting records: $(grep linker <<<"$out")"
itest_assert_eq "$(hub_ctl status --json | jq -c '.linker | [.queue_records, .linkers_connected, .active]')" \
    '[20,0,null]' "status --json linker"
rc=0; out=$(hub_ctl status --max-linker-age 0) || rc=$?
itest_assert_eq "$rc" 2 "status --max-linker-age 0 exit status"
grep -q "BREACHED linker: oldest queued record .* > --max-linker-age 0 (20 queued, 0 linkers connected)" <<<"$out" \
    || itest_fail "no linker breach: $(grep -i breach <<<"$out")"
rc=0; hub_ctl wait --topic birth-certificate --timeout 2 >/dev/null 2>"$ITEST_DIR/wait.err" || rc=$?
itest_assert_eq "$rc" 1 "wait exit status with records not linked"
grep -q "all 20 messages stored but 20 records not yet linked" "$ITEST_DIR/wait.err" \
    || itest_fail "wait does not say why: $(cat "$ITEST_DIR/wait.err")"

# A marriage load folds its own record at once, and only it: the backlog
# stays the linker's.
printf 'registry_office,registration_number,registration_date,spouse_a_personal_id,spouse_b_personal_id\nUBND Thử,7/2020,2020-02-02,001090000911,001190000912\n' \
    | hub_ctl marriage load - >/dev/null || itest_fail "marriage load failed"
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.link_queue")" 20 "queue after a marriage load"
itest_assert_eq "$(itest_psql "SELECT string_agg(marital_status, ' ') FROM crvs.person
                               WHERE personal_id IN ('001090000911', '001190000912')")" "MARRIED MARRIED" \
    "spouses folded by the load"

# A service with its linker on (another topic's) folds them.
port=$(itest_free_port)
CRVS_HTTP_PORT=$port hub_start_service death-notice 1
hub_wait_stored 60 birth-certificate
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.link_queue")" 0 "queue after the linker"
mothers=$(jq -r '.mother.personal_id' "$ITEST_DIR/births.jsonl" | sort -u | wc -l)
itest_assert_eq "$(itest_psql "SELECT count(DISTINCT personal_id) FROM crvs.person p JOIN crvs.person_fact f USING (personal_id)
                               WHERE f.role = 'mother'")" "$mothers" "mothers in the person registry"
grep -q "event=linker_active" "$ITEST_DIR/death-notice.1.log" || itest_fail "the death-notice linker did not become active"
if grep -q "event=linker_started" "$ITEST_DIR/birth-certificate.1.log"; then
    itest_fail "the birth-certificate service started a linker with linker.enabled = false"
fi
curl -sf "http://127.0.0.1:$port/metrics" > "$ITEST_DIR/metrics.txt" || itest_fail "GET /metrics failed"
itest_assert_eq "$(awk '/^crvs_linker_records_total/ { print $2 }' "$ITEST_DIR/metrics.txt")" 20 "crvs_linker_records_total"
itest_assert_eq "$(awk '/^crvs_linker_delay_seconds_count/ { print $2 }' "$ITEST_DIR/metrics.txt")" 20 "crvs_linker_delay_seconds_count"
gauge() { curl -sf "http://127.0.0.1:$port/metrics" | grep -q '^crvs_linker_queue_records{service="death-notice"} 0$'; }
until_ok 10 "the queue gauge" gauge
out=$(hub_ctl status)
grep -q "^linker: 0 records waiting; 1 linker connected, active: death-notice-linker" <<<"$out" \
    || itest_fail "status after the fold: $(grep linker <<<"$out")"

# A second linker stands by; the active one killed, it takes over.
hub_start_service divorce-judgment 1
until_ok 20 "the divorce-judgment linker standing by" grep -q "event=linker_standing_by" "$ITEST_DIR/divorce-judgment.1.log"
hub_stop_service death-notice 1 KILL
until_ok 20 "the divorce-judgment linker active" grep -q "event=linker_active" "$ITEST_DIR/divorce-judgment.1.log"
"$CTL" loadgen --topic birth-certificate --count 5 --seed 6 --start 1000 > "$ITEST_DIR/more.jsonl"
hub_ctl publish --topic birth-certificate "$ITEST_DIR/more.jsonl" >/dev/null
hub_wait_stored 60 birth-certificate
itest_assert_eq "$(itest_psql "SELECT count(DISTINCT personal_id) FROM crvs.person p JOIN crvs.person_fact f USING (personal_id)
                               WHERE f.role = 'mother'")" \
    "$(cat "$ITEST_DIR/births.jsonl" "$ITEST_DIR/more.jsonl" | jq -r '.mother.personal_id' | sort -u | wc -l)" \
    "mothers after the takeover"

# kill -9 of the active linker in the middle of a backlog: folds of 200
# records, the process killed once some committed and some did not.
hub_stop_all_services
CRVS_LINKER_ENABLED=false hub_start_service birth-certificate 2
"$CTL" loadgen --topic birth-certificate --count 3000 --seed 7 --start 5000 > "$ITEST_DIR/backlog.jsonl"
hub_ctl publish --topic birth-certificate "$ITEST_DIR/backlog.jsonl" >/dev/null
itest_wait_for "SELECT count(*) FROM crvs.link_queue" 3000 120
CRVS_LINKER_BATCH=200 hub_start_service death-notice 2
queued() { itest_psql "SELECT count(*) FROM crvs.link_queue"; }
part_folded() { local q; q=$(queued); [ "$q" -lt 2600 ] && [ "$q" -gt 0 ]; }
until_ok 60 "some folds committed" part_folded
hub_stop_service death-notice 2 KILL
left=$(queued)
[ "$left" -gt 0 ] || itest_fail "the linker finished before it was killed (premise)"
itest_log "killed the active linker with $left of 3000 records queued"
hub_start_service death-notice 3
hub_wait_stored 120 birth-certificate
all=$(cat "$ITEST_DIR"/births.jsonl "$ITEST_DIR"/more.jsonl "$ITEST_DIR"/backlog.jsonl | jq -r '.mother.personal_id' | sort -u | wc -l)
itest_assert_eq "$(itest_psql "SELECT count(DISTINCT personal_id) FROM crvs.person p JOIN crvs.person_fact f USING (personal_id)
                               WHERE f.role = 'mother'")" "$all" "mothers after the kill"
itest_assert_eq "$(itest_psql "SELECT count(*) FROM (SELECT personal_id FROM crvs.person_history WHERE field = 'person'
                               AND new_value = 'present' GROUP BY personal_id HAVING count(*) > 1) d")" 0 \
    "persons entered into the history twice"
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.person p WHERE NOT EXISTS (
                               SELECT 1 FROM crvs.person_history h WHERE h.personal_id = p.personal_id AND h.field = 'person')")" 0 \
    "persons without their history row"
itest_log "ok"
