#!/usr/bin/env bash
# Synthetic load for every topic, through the three services at once: what
# crvsctl loadgen says it made (records, duplicates, corrections, invalid)
# is what the registry and the dead letters hold.
set -euo pipefail
. "$(dirname "$0")/hub.sh"
hub_setup

declare -A table=([birth-certificate]=birth_certificate [death-notice]=death_notice [divorce-judgment]=divorce_judgment)
for t in birth-certificate death-notice divorce-judgment; do
    hub_start_service "$t"
    "$CTL" loadgen --topic "$t" --count 1500 --seed 17 --duplicate-share 0.03 \
        --correction-share 0.03 --invalid-share 0.04 >"$ITEST_DIR/$t.jsonl" 2>"$ITEST_DIR/$t.loadgen"
    hub_ctl publish --topic "$t" "$ITEST_DIR/$t.jsonl" >/dev/null
done
for t in birth-certificate death-notice divorce-judgment; do hub_wait_stored 180 "$t"; done

for t in birth-certificate death-notice divorce-judgment; do
    # "loadgen: 1500 records (D duplicates, C corrections, I invalid)"
    read -r dups corrs invalid < <(sed -E 's/.*\(([0-9]+) duplicates, ([0-9]+) corrections, ([0-9]+) invalid\).*/\1 \2 \3/' "$ITEST_DIR/$t.loadgen")
    itest_log "$t: $dups duplicates, $corrs corrections, $invalid invalid"
    [ "$invalid" -gt 0 ] && [ "$corrs" -gt 0 ] && [ "$dups" -gt 0 ] || itest_fail "$t: loadgen made no duplicates, corrections or invalid records"
    stored=$(itest_psql "SELECT count(*) FROM crvs.${table[$t]}")
    itest_assert_eq "$stored" "$((1500 - dups - corrs - invalid))" "$t: registry rows (records less repeats and invalid ones)"
    itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.dead_letter WHERE source_topic = '$t'")" "$invalid" "$t: dead letters"
    itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.dead_letter WHERE source_topic = '$t' AND reason NOT LIKE 'validation.%'")" 0 "$t: dead letters other than validation"
    # A correction that changes nothing is a duplicate, so corrections can be
    # fewer than loadgen made, never more; duplicates at least as many.
    c=$(itest_psql "SELECT count(*) FROM crvs.audit_log WHERE entity = '${table[$t]}' AND action = 'correct'")
    d=$(itest_psql "SELECT count(*) FROM crvs.audit_log WHERE entity = '${table[$t]}' AND action = 'duplicate'")
    [ "$((c + d))" -eq "$((corrs + dups))" ] || itest_fail "$t: $c corrections + $d duplicates audited, loadgen made $corrs + $dups"
done

# Persons: every death notice with an ID made its person deceased.
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.death_notice n LEFT JOIN crvs.person p ON p.personal_id = n.deceased_personal_id WHERE n.deceased_personal_id IS NOT NULL AND p.vital_status IS DISTINCT FROM 'DECEASED'")" 0 "deceased persons not marked"
if grep -E '[0-9]{12}' "$ITEST_DIR"/*.1.log; then itest_fail "a service log holds a 12-digit number"; fi

# Benchmark options (bench/run.sh). --max-lag: with the service stopped,
# loadgen produces exactly that many records, then holds.
hub_stop_service birth-certificate
rc=0
timeout 8 "$CTL" -c "$ITEST_DIR/ctl.conf" loadgen --topic birth-certificate --count 100 --seed 5 \
    --start 700000 --publish --max-lag 40 --timestamps "$ITEST_DIR/held.tsv" 2>/dev/null || rc=$?
itest_assert_eq "$rc" 124 "loadgen --max-lag 40 with nothing consuming: still holding after 8 s"
itest_assert_eq "$(wc -l <"$ITEST_DIR/held.tsv")" 40 "records produced while held"
# With the service running it finishes, and --timestamps names every record
# once, with a produce time within this test's run.
hub_start_service birth-certificate 2
t0=$(date +%s)
timeout 120 "$CTL" -c "$ITEST_DIR/ctl.conf" loadgen --topic birth-certificate --count 600 --seed 6 \
    --start 800000 --publish --max-lag 40 --timestamps "$ITEST_DIR/stamps.tsv" 2>/dev/null \
    || itest_fail "loadgen --max-lag 40 did not finish with the service consuming"
hub_wait_stored 120 birth-certificate
t1=$(date +%s)
itest_assert_eq "$(cut -f1 "$ITEST_DIR/stamps.tsv" | sort -u | wc -l)" 600 "distinct keys in the timestamps file"
itest_assert_eq "$(awk -F'\t' -v a="$t0" -v b="$t1" '$2 >= a * 1e6 && $2 < (b + 1) * 1e6' "$ITEST_DIR/stamps.tsv" | wc -l)" 600 "produce times within the run"
psql -XAtq -v ON_ERROR_STOP=1 -c "CREATE TABLE stamps (key text, us bigint)" \
    -c "\\copy stamps FROM '$ITEST_DIR/stamps.tsv'" >/dev/null
itest_assert_eq "$(itest_psql "SELECT count(DISTINCT s.key) FROM stamps s JOIN crvs.audit_log a ON a.entity = 'birth_certificate' AND a.entity_key = s.key AND a.action = 'create'")" 600 "timestamped records registered (audit create rows)"
itest_log "ok"
