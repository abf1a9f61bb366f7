#!/usr/bin/env bash
# Order independence at scale: some 650 events about 160 couples
# (tests/support/linkage_events.py: births naming mothers and fathers, death
# notices with second notices and corrected dates, divorce judgments naming
# registered, unregistered or no marriages, cancellations on review, re-sends,
# and the marriage register) go through Kafka and the three services in
# several orders, each on a fresh broker and database:
#   1. date order: each run of events of one topic published and stored
#      before the next run (the reference);
#   2-4. shuffled: the shuffled list cut in four; each chunk's records
#      published topic by topic at once and its marriages loaded while the
#      services work on the previous ones; then everything waited for.
# Every order must end in the state of the date order, and that state must
# hold what the generated data implies (counted here with jq, not by the hub).
set -euo pipefail
. "$(dirname "$0")/hub.sh"
hub_setup
GEN="$MESON_SOURCE_ROOT/tests/support/linkage_events.py"
SEED=${LINKAGE_SEED:-2026}
HEADER=registry_office,registration_number,registration_date,spouse_a_personal_id,spouse_b_personal_id
TOPICS="birth-certificate death-notice divorce-judgment"
for s in $TOPICS; do
    [ -x "$MESON_BUILD_ROOT/services/$s/crvs-$s" ] || itest_fail "crvs-$s is not built"
done
itest_require python3 jq
itest_psql "CREATE DATABASE linkage_tpl TEMPLATE crvs" >/dev/null

EVENTS="$ITEST_DIR/events.jsonl"
python3 "$GEN" --seed "$SEED" > "$EVENTS" 2>"$ITEST_DIR/generate.log" || itest_fail "the generator failed"
records=$(jq -s 'map(select(.topic)) | length' "$EVENTS")
itest_log "seed $SEED: $(cat "$ITEST_DIR/generate.log"), $records records, $(jq -s "map(select(.marriage)) | length" "$EVENTS") marriages"
[ "$records" -ge 500 ] || itest_fail "the generator made only $records records"

# publish FILE: FILE's records, each topic's at once, and its marriages.
publish() {
    local t
    for t in $TOPICS; do
        jq -c --arg t "$t" 'select(.topic == $t) | .doc' "$1" > "$1.$t"
        [ -s "$1.$t" ] || continue
        hub_ctl publish --topic "$t" "$1.$t" >/dev/null || itest_fail "publish to $t failed"
    done
    jq -r 'select(.marriage) | .marriage' "$1" > "$1.marriages"
    if [ -s "$1.marriages" ]; then
        { echo "$HEADER"; cat "$1.marriages"; } | hub_ctl marriage load - >/dev/null \
            || itest_fail "the marriage register extract was not loaded"
    fi
}

wait_all() {
    local t
    for t in $TOPICS; do hub_wait_stored 120 "$t"; done
}

# Order 1, by date: consecutive events of one topic (or marriages) form a
# run; each run is published and stored before the next.
run_by_date() {
    local run="$ITEST_DIR/run.jsonl" prev="" line kind runs=0
    python3 "$GEN" --date-order "$EVENTS" > "$ITEST_DIR/order.1"
    hub_fresh_run 1 linkage_1
    : > "$run"
    while IFS= read -r line; do
        kind=$(jq -r '.topic // "marriage"' <<<"$line")
        if [ -n "$prev" ] && [ "$kind" != "$prev" ]; then
            publish "$run"; wait_all; : > "$run"; runs=$((runs + 1))
        fi
        echo "$line" >> "$run"
        prev=$kind
    done < "$ITEST_DIR/order.1"
    publish "$run"; wait_all; runs=$((runs + 1))
    itest_log "order 1 (date order): $runs runs"
    hub_save_state 1 linkage_1
}

run_shuffled() {
    local n=$1 seed=$2 lines chunk=0
    python3 "$GEN" --seed "$seed" --shuffle "$EVENTS" > "$ITEST_DIR/order.$n"
    hub_fresh_run "$n" "linkage_$n"
    lines=$(wc -l < "$ITEST_DIR/order.$n")
    split -l $(((lines + 3) / 4)) -d "$ITEST_DIR/order.$n" "$ITEST_DIR/chunk.$n."
    for f in "$ITEST_DIR/chunk.$n".*; do
        publish "$f"
        chunk=$((chunk + 1))
    done
    wait_all
    itest_log "order $n (shuffled, seed $seed): $chunk chunks"
    hub_save_state "$n" "linkage_$n"
}

start=$SECONDS
run_by_date
itest_log "date order took $((SECONDS - start)) s"
n=1
for seed in 5 17 42; do
    n=$((n + 1))
    run_shuffled "$n" "$((SEED + seed))"
done
hub_same_states "$n"

# What the generated data implies, counted from the events themselves.
q() { itest_psql "$1" linkage_1; }
docs() { jq -c --arg t "$1" 'select(.topic == $t) | .doc' "$EVENTS"; }
keys() { jq -r --arg t "$1" 'select(.topic == $t) | .key' "$EVENTS" | sort -u | wc -l; }
itest_assert_eq "$(tail -n 1 "$ITEST_DIR/state.1")" \
    "records|$(keys birth-certificate)|$(keys death-notice)|$(keys divorce-judgment)|0" \
    "one registry row per business key in each topic, no dead letters"
ids=$( { docs birth-certificate | jq -r '.mother.personal_id, .father.personal_id // empty'
         docs death-notice | jq -r '.deceased.personal_id'
         docs divorce-judgment | jq -r '.spouse_a.personal_id // empty, .spouse_b.personal_id // empty'
         jq -r 'select(.marriage) | .marriage | split(",") | .[3], .[4]' "$EVENTS"; } | sort -u | wc -l)
itest_assert_eq "$(q "SELECT count(*) FROM crvs.person")" "$ids" "one person per personal ID named anywhere"
# The last version of each death notice (re-sends and corrections follow their original).
deceased=$(jq -s -r 'map(select(.topic == "death-notice")) | group_by(.key) | map(last.doc.deceased.personal_id)
                     | unique | length' "$EVENTS")
itest_assert_eq "$(q "SELECT count(*) FROM crvs.person WHERE vital_status = 'DECEASED'")" "$deceased" \
    "every person with a death notice is deceased"
dup_deaths=$(jq -s -r 'map(select(.topic == "death-notice")) | group_by(.key) | map(last.doc.deceased.personal_id)
                       | group_by(.) | map(select(length > 1)) | length' "$EVENTS")
itest_assert_eq "$(q "SELECT count(*) FROM crvs.reconciliation WHERE reason = 'duplicate_death' AND status = 'open'")" \
    "$dup_deaths" "one duplicate_death item per person with two notices"
for reason in birth_date_mismatch divorce_after_death duplicate_death marriage_not_found \
              cancelled_judgment_not_found spouse_unidentified spouse_sex_mismatch; do
    c=$(q "SELECT count(*) FROM crvs.reconciliation WHERE reason = '$reason' AND status = 'open'")
    [ "$c" -gt 0 ] || itest_fail "the data makes $reason items, the registry has none"
done
itest_log "open items: $(q "SELECT string_agg(reason || '=' || n, ' ' ORDER BY reason) FROM (SELECT reason, count(*) n
    FROM crvs.reconciliation WHERE status = 'open' GROUP BY reason) x")"
if grep -E '[0-9]{12}' "$ITEST_DIR"/*-*.?.log; then itest_fail "a service log holds a 12-digit number"; fi
itest_log "ok"
