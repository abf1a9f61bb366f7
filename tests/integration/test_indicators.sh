#!/usr/bin/env bash
# Registration indicators against an independent count: a generated dataset
# (crvsctl loadgen, a few thousand records of each topic with duplicates,
# corrections and refused records, plus hand-made cases: Hà Giang and Kiên
# Giang before the reform, injury-coded, uncoded and maternal deaths, child
# marriages, a marriage register extract) goes through the three services;
# indicators_expected.py computes every indicator again from the generated
# JSON (not with the hub's SQL) and compares each figure of
# `crvsctl stats --csv`. Also: the commune list loads with line-numbered
# errors or as a new version, and `stats` in its three output formats.
set -euo pipefail
. "$(dirname "$0")/hub.sh"
itest_require python3
hub_setup
here=$(dirname "$0")

# Reference data: a bad file is refused whole, with its lines named.
rc=0; hub_ctl refdata load units "$MESON_SOURCE_ROOT/tests/data/communes.invalid.csv" 2>"$ITEST_DIR/refdata.err" || rc=$?
itest_assert_eq "$rc" 1 "refdata load of a bad file: exit status"
for want in 'invalid.csv:3: commune code' 'invalid.csv:4: commune name is not in Unicode NFC' \
            "invalid.csv:5: province '02' is not one of the 34" 'invalid.csv:6: commune code 01001 repeats line 2' \
            "invalid.csv:7: kind 'thon'"; do
    grep -qF "$want" "$ITEST_DIR/refdata.err" || { cat "$ITEST_DIR/refdata.err" >&2; itest_fail "no error '$want'"; }
done
itest_assert_eq "$(itest_psql 'SELECT count(*) FROM crvs.commune_version')" 0 "versions after the bad file"
hub_ctl refdata load units --by itest --valid-from 2025-07-01 "$MESON_SOURCE_ROOT/tests/data/communes.csv" >/dev/null
hub_ctl refdata load units --by itest "$MESON_SOURCE_ROOT/tests/data/communes.csv" >/dev/null
itest_assert_eq "$(itest_psql "SELECT max(version), count(*) FILTER (WHERE version = 2) FROM crvs.commune")" "2|12" "second load: version 2 with 12 communes"
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.audit_log WHERE action = 'refdata_load'")" 2 "loads audited"
# refdata show: the two versions under the header, columns aligned.
hub_ctl refdata show units > "$ITEST_DIR/refdata-show.txt"
itest_assert_eq "$(sed -n '1,3p' "$ITEST_DIR/refdata-show.txt" | awk '{print $1, $NF}' | xargs)" \
    "VERSION SOURCE 1 $MESON_SOURCE_ROOT/tests/data/communes.csv 2 $MESON_SOURCE_ROOT/tests/data/communes.csv" \
    "refdata show lists the versions"
itest_assert_eq "$(sed -n '1,3p' "$ITEST_DIR/refdata-show.txt" | awk '{print index($0, $NF)}' | sort -u | wc -l)" 1 \
    "the last column starts at one position on every line"

# The dataset.
"$CTL" loadgen --topic birth-certificate --count 3000 --seed 71 --duplicate-share 0.02 \
    --correction-share 0.03 --invalid-share 0.02 >"$ITEST_DIR/birth-certificate.gen.jsonl" 2>/dev/null
"$CTL" loadgen --topic death-notice --count 2500 --seed 72 --duplicate-share 0.02 \
    --correction-share 0.03 --invalid-share 0.02 >"$ITEST_DIR/death-notice.gen.jsonl" 2>/dev/null
"$CTL" loadgen --topic divorce-judgment --count 1500 --seed 73 --duplicate-share 0.02 \
    --correction-share 0.03 --invalid-share 0.02 >"$ITEST_DIR/divorce-judgment.gen.jsonl" 2>/dev/null
python3 "$here/indicators_expected.py" prepare "$ITEST_DIR" >&2
hub_ctl marriage load "$ITEST_DIR/marriages.csv" >/dev/null
for t in birth-certificate death-notice divorce-judgment; do
    hub_start_service "$t"
    hub_ctl publish --topic "$t" "$ITEST_DIR/$t.jsonl" >/dev/null
done
for t in birth-certificate death-notice divorce-judgment; do hub_wait_stored 300 "$t"; done
today=$(TZ=Asia/Ho_Chi_Minh date +%F)
# when the hub received each judgment: raw registry data the independent
# count of the synchronisation delay starts from
itest_psql "SELECT court_code, judgment_number, received_at AT TIME ZONE 'UTC' FROM crvs.divorce_judgment" \
    >"$ITEST_DIR/divorce-received.txt"
# an operator resolves two items; marriage_not_found is counted independently
# from the data, the other reasons from a direct dump of the items (their
# source systems are looked up in the generated records)
itest_psql "SELECT id, source_a FROM crvs.reconciliation WHERE reason = 'marriage_not_found' ORDER BY id LIMIT 2" \
    >"$ITEST_DIR/resolve.txt"
itest_assert_eq "$(wc -l <"$ITEST_DIR/resolve.txt")" 2 "marriage_not_found items to resolve"
while IFS='|' read -r id source; do
    hub_ctl reconcile resolve "$id" --comment "marriage found on paper" --by itest >/dev/null
    printf '%s\n' "$source"
done <"$ITEST_DIR/resolve.txt" >"$ITEST_DIR/resolved.txt"
itest_psql "SELECT reason, status, coalesce(source_a, ''), coalesce(source_b, '') FROM crvs.reconciliation
            WHERE reason <> 'marriage_not_found'" >"$ITEST_DIR/reconciliation-other.txt"

# Every planned query through crvsctl stats --csv, then the comparison.
n=0
while IFS='|' read -r name from to by units param unit; do
    n=$((n + 1))
    [ "$from" = TODAY ] && from=$today
    [ "$to" = TODAY ] && to=$today
    args=("$name" --from "$from" --to "$to" --units "$units" --csv)
    [ -n "$by" ] && args+=(--by "$by")
    [ -n "$param" ] && args+=(--param "$param")
    [ -n "$unit" ] && args+=(--unit "$unit")
    hub_ctl stats "${args[@]}" >"$ITEST_DIR/actual.$n.csv" || itest_fail "crvsctl stats ${args[*]} failed"
done <"$ITEST_DIR/plan.txt"
[ "$(TZ=Asia/Ho_Chi_Minh date +%F)" = "$today" ] || itest_skip "the local date changed during the test (midnight in Asia/Ho_Chi_Minh); run it again"
python3 "$here/indicators_expected.py" check "$ITEST_DIR" "$today" >"$ITEST_DIR/check.out" || {
    grep -v '^ok:' "$ITEST_DIR/check.out" >&2; itest_fail "indicators differ from the independent count"; }
grep -v '^ok:' "$ITEST_DIR/check.out" >&2
itest_log "ok: $(grep -c '^ok:' "$ITEST_DIR/check.out") queries equal the independent count"

# Hà Giang and Kiên Giang records under today's provinces, by name.
hub_ctl stats births --from 2025-01-01 --to 2025-06-30 --by unit --units as-recorded --csv >"$ITEST_DIR/asrec.csv"
hub_ctl stats births --from 2025-01-01 --to 2025-06-30 --by unit --units current --csv >"$ITEST_DIR/current.csv"
count() { awk -F, -v u="$2" '$1 == u { print $3 }' "$1"; }
grep -q '^L02,Hà Giang,' "$ITEST_DIR/asrec.csv" || itest_fail "as recorded: no Hà Giang (L02) row"
grep -q '^L91,Kiên Giang,' "$ITEST_DIR/asrec.csv" || itest_fail "as recorded: no Kiên Giang (L91) row"
itest_assert_eq "$(count "$ITEST_DIR/current.csv" 08)" "$(( $(count "$ITEST_DIR/asrec.csv" L02) + $(count "$ITEST_DIR/asrec.csv" L08) ))" "Tuyên Quang today = Hà Giang + Tuyên Quang as recorded"
itest_assert_eq "$(count "$ITEST_DIR/current.csv" 91)" "$(( $(count "$ITEST_DIR/asrec.csv" L91) + $(count "$ITEST_DIR/asrec.csv" L89) ))" "An Giang today = Kiên Giang + An Giang as recorded"
grep -q '^91,An Giang,' "$ITEST_DIR/current.csv" || itest_fail "current: unit 91 is not named An Giang"
if grep -q '^L' "$ITEST_DIR/current.csv"; then itest_fail "current units show a legacy unit"; fi

# The same figures as a table and as JSON; usage errors.
hub_ctl stats deaths --from 2024-01-01 --to 2026-12-31 --by unit --json >"$ITEST_DIR/deaths.json"
hub_ctl stats deaths --from 2024-01-01 --to 2026-12-31 --by unit --csv >"$ITEST_DIR/deaths.csv"
itest_assert_eq "$(jq -r '.rows[] | [.unit, .value] | @csv' "$ITEST_DIR/deaths.json" | tr -d '"' | md5sum)" \
    "$(tail -n +2 "$ITEST_DIR/deaths.csv" | tr -d '\r' | cut -d, -f1,5 | md5sum)" "JSON rows = CSV rows"
hub_ctl stats deaths --from 2024-01-01 --to 2026-12-31 --by unit >"$ITEST_DIR/deaths.txt"
# the value column ends at the same display column on every line (UTF-8 names)
widths=$(tail -n +3 "$ITEST_DIR/deaths.txt" | while IFS= read -r line; do printf '%s\n' "$line" | wc -m; done | sort -u | wc -l)
itest_assert_eq "$widths" 1 "aligned table: one line width in characters"
rc=0; hub_ctl stats births --by nonsense >/dev/null 2>"$ITEST_DIR/bad.err" || rc=$?
itest_assert_eq "$rc" 1 "stats with an unknown dimension: exit status"
grep -q 'cannot be grouped by "nonsense"' "$ITEST_DIR/bad.err" || itest_fail "no reason given: $(cat "$ITEST_DIR/bad.err")"
itest_assert_eq "$(hub_ctl stats --list | grep -c '^[a-z]')" "$(itest_psql 'SELECT count(*) FROM crvs.indicator')" "stats --list lists every indicator"
itest_log "ok"
