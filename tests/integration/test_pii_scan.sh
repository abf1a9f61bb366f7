#!/usr/bin/env bash
# Personal data kept out of sight: after records of all three topics went
# through the services (valid ones, duplicates, corrections, records the
# rules refuse, undecodable messages), everything an
# operator can see without an audited reveal is collected: the services'
# logs at debug level, their /metrics, crvsctl status (text and JSON), dlq
# list and dlq show of every dead letter, reconcile list, every indicator,
# the yearly report, the console's API, audit verify and anchor. None of it
# may hold a full personal ID or a full name of any record published.
set -euo pipefail
. "$(dirname "$0")/hub.sh"
hub_setup

topics="birth-certificate death-notice divorce-judgment"
seen=$ITEST_DIR/seen
mkdir -p "$seen"
declare -A port
for t in $topics; do
    port[$t]=$(itest_free_port)
    sed -i 's/^log.level = .*/log.level = debug/' "$ITEST_DIR/$t.conf"
    echo "http.port = ${port[$t]}" >>"$ITEST_DIR/$t.conf"
    hub_start_service "$t"
done

# What goes in: the sample documents, generated ones with duplicates,
# corrections and invalid records, raw frames that do not decode.
seed=40
for t in $topics; do
    "$CTL" loadgen --topic "$t" --count 400 --seed $((seed++)) --duplicate-share 0.05 \
        --correction-share 0.05 --invalid-share 0.1 >"$ITEST_DIR/in-$t.jsonl" 2>/dev/null
done
cat "$MESON_SOURCE_ROOT/tests/data/birth-certificates.jsonl" >>"$ITEST_DIR/in-birth-certificate.jsonl"
cat "$MESON_SOURCE_ROOT/tests/data/death-notices.jsonl" >>"$ITEST_DIR/in-death-notice.jsonl"
cat "$MESON_SOURCE_ROOT/tests/data/divorce-judgments.jsonl" >>"$ITEST_DIR/in-divorce-judgment.jsonl"
for t in $topics; do
    hub_ctl publish --topic "$t" "$ITEST_DIR/in-$t.jsonl" >/dev/null || itest_fail "publishing $t failed"
done
grep -v '^#' "$MESON_SOURCE_ROOT/tests/data/birth-certificates.invalid.hex" | grep . >"$ITEST_DIR/raw.hex" || true
[ -s "$ITEST_DIR/raw.hex" ] && hub_ctl publish --topic birth-certificate --raw-hex "$ITEST_DIR/raw.hex" >/dev/null
for t in $topics; do hub_wait_stored 180 "$t"; done
itest_wait_for "SELECT records FROM crvs.link_lag(100000000)" 0 120

# What must not come out: every personal ID and the full name of every
# person (child, parents, the deceased, spouses) of every record published.
cat "$ITEST_DIR"/in-*.jsonl | jq -r '
    [.child?, .mother?, .father?, .deceased?, .spouse_a?, .spouse_b?, .informant?]
    | map(select(type == "object")) | .[] | (.personal_id?, .name?) | strings | select(length >= 6)' \
    2>/dev/null | sort -u >"$ITEST_DIR/secrets.txt"
n_secrets=$(wc -l <"$ITEST_DIR/secrets.txt")
[ "$n_secrets" -gt 1000 ] || itest_fail "only $n_secrets personal IDs and names to look for"
dl=$(itest_psql "SELECT count(*) FROM crvs.dead_letter")
[ "$dl" -gt 50 ] || itest_fail "only $dl dead letters"
[ "$(itest_psql "SELECT count(*) FROM crvs.audit_log WHERE action = 'correct'")" -gt 0 ] || itest_fail "no corrections"

# What an operator sees.
hub_ctl status >"$seen/status.txt" 2>&1 || true
hub_ctl status --json >"$seen/status.json" 2>&1 || true
hub_ctl dlq list --limit 100000 >"$seen/dlq-list.txt" 2>&1 || itest_fail "dlq list failed"
for id in $(itest_psql "SELECT id FROM crvs.dead_letter ORDER BY id"); do
    hub_ctl dlq show "$id" >>"$seen/dlq-show.txt" 2>&1 || itest_fail "dlq show $id failed"
done
hub_ctl reconcile list --status all --limit 100000 >"$seen/reconcile.txt" 2>&1 || itest_fail "reconcile list failed"
for name in $(itest_psql "SELECT name FROM crvs.indicator ORDER BY position"); do
    hub_ctl stats "$name" --from 2000-01-01 --to 2030-12-31 --csv >>"$seen/stats.csv" 2>&1 || itest_fail "stats $name failed"
done
for y in 2025 2026; do hub_ctl report --year "$y" --out "$seen/report-$y.html" >/dev/null 2>&1 || itest_fail "report $y failed"; done
for t in $topics; do curl -sf "http://127.0.0.1:${port[$t]}/metrics" >"$seen/metrics-$t.txt" || itest_fail "GET /metrics of $t failed"; done
cport=$(itest_free_port)
"$CTL" -c "$ITEST_DIR/ctl.conf" serve --port "$cport" --interval 1 >"$seen/serve.log" 2>&1 &
serve_pid=$!
itest_on_exit "kill $serve_pid 2>/dev/null || true"
for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$cport/api/status" >"$seen/console-api.json" 2>/dev/null && break
    sleep 0.2
done
kill "$serve_pid" 2>/dev/null || true
wait "$serve_pid" 2>/dev/null || true
[ -s "$seen/console-api.json" ] || itest_fail "the console's API did not answer"
hub_ctl audit verify >"$seen/audit-verify.txt" 2>&1 || itest_fail "audit verify failed"
hub_ctl audit anchor >"$seen/audit-anchor.txt" 2>&1 || itest_fail "audit anchor failed"
for t in $topics; do cp "$ITEST_DIR/$t.1.log" "$seen/log-$t.txt"; done
[ "$(cat "$seen"/log-*.txt | wc -l)" -gt 100 ] || itest_fail "the services logged almost nothing"
[ "$(grep -c . "$seen/dlq-show.txt")" -gt "$dl" ] || itest_fail "dlq show printed almost nothing"

# The scan finds what it looks for: an audited reveal of a dead letter the
# rules refused (it decoded) shows its personal data.
rid=$(itest_psql "SELECT min(id) FROM crvs.dead_letter WHERE reason LIKE 'validation.%' AND reason <> 'validation.personal_id'")
[ -n "$rid" ] || rid=$(itest_psql "SELECT min(id) FROM crvs.dead_letter WHERE source_system IS NOT NULL")
[ -n "$rid" ] || itest_fail "no dead letter that decoded"
hub_ctl dlq show "$rid" --reveal >"$ITEST_DIR/revealed.txt" 2>&1 || itest_fail "dlq show --reveal failed"
grep -qF -f "$ITEST_DIR/secrets.txt" "$ITEST_DIR/revealed.txt" || itest_fail "the scan does not find the personal data of a reveal"

# The scan: fixed strings, every file.
if grep -rnF -f "$ITEST_DIR/secrets.txt" "$seen" >"$ITEST_DIR/found.txt"; then
    # Say where, not what: the file, line and which secret (its position in the list).
    while IFS= read -r s; do
        grep -rlF -- "$s" "$seen" | sed "s|^$seen/|  in |;s|$| (secret #$(grep -nxF -- "$s" "$ITEST_DIR/secrets.txt" | cut -d: -f1))|"
    done < <(grep -oF -f "$ITEST_DIR/secrets.txt" "$ITEST_DIR/found.txt" | sort -u | head -n 20) >&2
    itest_fail "$(wc -l <"$ITEST_DIR/found.txt") lines an operator sees hold a full personal ID or name"
fi
itest_log "ok: $(cat "$seen"/* | wc -c) bytes in $(ls "$seen" | wc -l) files an operator sees, none holds any of $n_secrets personal IDs and names"
