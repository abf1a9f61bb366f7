#!/usr/bin/env bash
# Birth certificates end to end: 1,000 valid certificates land exactly once
# with their audit rows; a re-sent certificate is a duplicate and a changed
# one a correction; the audit trail refuses changes; SIGTERM stops cleanly.
set -euo pipefail
. "$(dirname "$0")/hub.sh"
hub_setup

# Migrating twice applies nothing the second time.
out=$(hub_ctl migrate)
echo "$out" | grep -q "0 applied now" || itest_fail "second migrate applied something: $out"

hub_start_service birth-certificate
"$CTL" loadgen --topic birth-certificate --count 1000 --seed 7 > "$ITEST_DIR/births.jsonl"
hub_ctl publish --topic birth-certificate "$ITEST_DIR/births.jsonl" >/dev/null
hub_wait_stored 120

itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.birth_certificate")" 1000 "registry rows"
itest_assert_eq "$(itest_psql "SELECT count(DISTINCT (facility_code, certificate_number)) FROM crvs.birth_certificate")" 1000 "distinct certificates"
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.audit_log WHERE action = 'create' AND entity = 'birth_certificate'")" 1000 "create audit rows"
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.birth_certificate b WHERE NOT EXISTS (SELECT 1 FROM crvs.audit_log a WHERE a.entity_key = b.facility_code || '/' || b.certificate_number AND a.action = 'create')")" 0 "certificates without an audit row"
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.dead_letter")" 0 "dead letters for valid input"
# Every input certificate is there, with its typed values.
first=$(head -n 1 "$ITEST_DIR/births.jsonl")
fac=$(jq -r .facility.code <<<"$first"); num=$(jq -r .certificate_number <<<"$first"); w=$(jq -r .child.weight_grams <<<"$first")
itest_assert_eq "$(itest_psql "SELECT coalesce(weight_grams::text, 'null') FROM crvs.birth_certificate WHERE facility_code = '$fac' AND certificate_number = '$num'")" "$w" "weight of the first certificate"
# Names are stored NFC with a diacritics-free match key.
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.birth_certificate WHERE mother_name <> normalize(mother_name, NFC) OR mother_name_key !~ '^[A-Z ]+\$'")" 0 "names not NFC or keys not folded"

# (b) duplicate and correction of the first certificate.
echo "$first" > "$ITEST_DIR/dup.jsonl"
jq -c '.child.weight_grams = 3333 | .event_id = "correction-1"' <<<"$first" > "$ITEST_DIR/fix.jsonl"
hub_ctl publish --topic birth-certificate "$ITEST_DIR/dup.jsonl" >/dev/null
hub_wait_stored 60
hub_ctl publish --topic birth-certificate "$ITEST_DIR/fix.jsonl" >/dev/null
hub_wait_stored 60
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.birth_certificate")" 1000 "rows after duplicate and correction"
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.audit_log WHERE action = 'duplicate' AND entity_key = '$fac/$num'")" 1 "duplicate audit rows"
itest_assert_eq "$(itest_psql "SELECT weight_grams || ' v' || version FROM crvs.birth_certificate WHERE facility_code = '$fac' AND certificate_number = '$num'")" "3333 v2" "corrected row"
itest_assert_eq "$(itest_psql "SELECT (before->'child'->>'weight_grams') || '->' || (after->'child'->>'weight_grams') FROM crvs.audit_log WHERE action = 'correct' AND entity_key = '$fac/$num'")" "$w->3333" "correction audit before/after"

# The audit trail is append-only, for the service role and the owner alike.
if psql -XAtq -U crvs_service -c "UPDATE crvs.audit_log SET action = 'x'" >/dev/null 2>&1; then itest_fail "crvs_service could update the audit log"; fi
if psql -XAtq -U crvs_service -c "DELETE FROM crvs.audit_log" >/dev/null 2>&1; then itest_fail "crvs_service could delete from the audit log"; fi
if itest_psql "DELETE FROM crvs.audit_log WHERE id = 1" >/dev/null 2>&1; then itest_fail "the owner could delete from the audit log"; fi
if itest_psql "TRUNCATE crvs.audit_log" >/dev/null 2>&1; then itest_fail "the owner could truncate the audit log"; fi

# Logs never hold a full personal ID: no 12-digit run in any service log.
if grep -E '[0-9]{12}' "$ITEST_DIR"/birth-certificate.*.log; then itest_fail "a service log holds a 12-digit number"; fi

# SIGTERM: clean exit with status 0.
pid=$(cat "$ITEST_DIR/birth-certificate.1.pid")
kill -TERM "$pid"
status=0; wait "$pid" || status=$?
rm -f "$ITEST_DIR/birth-certificate.1.pid"
itest_assert_eq "$status" 0 "service exit status after SIGTERM"
grep -q 'event=stopped' "$ITEST_DIR"/birth-certificate.1.log || itest_fail "no event=stopped in the service log"
itest_log "ok"
