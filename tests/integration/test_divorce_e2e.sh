#!/usr/bin/env bash
# Divorce judgments end to end (tests/data/divorce-judgments.jsonl, see
# tests/data/README.md): ten valid judgments of the four kinds land once with
# their audit rows and typed values; a re-sent judgment is a duplicate and a
# changed one a correction; each invalid judgment is a dead letter with its
# own reason; the spouses reach the person registry (a cancelled divorce is
# left out, a corrected effective date moves the status date); the logs hold
# no personal ID and no name; SIGTERM stops cleanly.
set -euo pipefail
. "$(dirname "$0")/hub.sh"
DATA="$MESON_SOURCE_ROOT/tests/data/divorce-judgments.jsonl"
[ -x "$MESON_BUILD_ROOT/services/divorce-judgment/crvs-divorce-judgment" ] \
    || itest_skip "crvs-divorce-judgment is not built in $MESON_BUILD_ROOT"
hub_setup

hub_start_service divorce-judgment
out=$(hub_ctl publish --topic divorce-judgment "$DATA")
itest_assert_eq "$out" "published 18, refused 0, delivery failures 0" "publish summary"
hub_wait_stored 60 divorce-judgment

q() { itest_psql "$1"; }
row() { # row COURT NUMBER EXPR: one value of one judgment
    q "SELECT $3 FROM crvs.divorce_judgment WHERE court_code = '$1' AND judgment_number = '$2'"
}

# Registry rows and their audit trail.
itest_assert_eq "$(q "SELECT count(*) FROM crvs.divorce_judgment")" 10 "registry rows"
itest_assert_eq "$(q "SELECT string_agg(kind || '=' || n, ',' ORDER BY kind) FROM (SELECT kind, count(*) AS n FROM crvs.divorce_judgment GROUP BY kind) k")" \
    "CONSENSUAL_DIVORCE=2,DIVORCE_JUDGMENT=5,MARRIAGE_ANNULMENT=2,REVIEW_CANCELLATION=1" "rows by kind"
itest_assert_eq "$(q "SELECT string_agg(action || '=' || n, ',' ORDER BY action) FROM (SELECT action, count(*) AS n FROM crvs.audit_log WHERE entity = 'divorce_judgment' GROUP BY action) a")" \
    "correct=1,create=10,duplicate=1" "audit rows by action"
itest_assert_eq "$(q "SELECT count(*) FROM crvs.divorce_judgment d WHERE NOT EXISTS (SELECT 1 FROM crvs.audit_log a WHERE a.entity = 'divorce_judgment' AND a.action = 'create' AND a.entity_key = d.court_code || '/' || d.judgment_number)")" \
    0 "judgments without a create audit row keyed court/judgment"
itest_assert_eq "$(q "SELECT entity_key FROM crvs.audit_log WHERE entity = 'divorce_judgment' AND action = 'duplicate'")" \
    "TAND-HCM-Q1/210/2025/QĐST-HNGĐ" "the duplicate's key"
itest_assert_eq "$(q "SELECT entity_key || ' ' || (before->>'effective_date') || '->' || (after->>'effective_date') FROM crvs.audit_log WHERE entity = 'divorce_judgment' AND action = 'correct'")" \
    "TAND-HN-BD/45/2025/HNGĐ-ST 2025-04-10->2025-04-11" "correction audit before/after"
itest_assert_eq "$(row TAND-HN-BD 45/2025/HNGĐ-ST "effective_date || ' v' || version || ' ' || event_id")" \
    "2025-04-11 v2 5b0c6d1e-2f43-4a8e-9c11-0a7e3b5d9f11" "corrected row"
itest_assert_eq "$(row TAND-HCM-Q1 210/2025/QĐST-HNGĐ version)" 1 "the duplicate changed nothing"

# Dead letters: one per invalid judgment, each with its own reason.
itest_assert_eq "$(q "SELECT string_agg(reason || '=' || n, ',' ORDER BY reason) FROM (SELECT reason, count(*) AS n FROM crvs.dead_letter WHERE source_topic = 'divorce-judgment' GROUP BY reason) r")" \
    "validation.cancels=1,validation.effective_before_decision=1,validation.future_date=1,validation.marriage_date=1,validation.personal_id=1,validation.spouses=1" \
    "dead letters by reason"
itest_assert_eq "$(q "SELECT count(*) FROM crvs.dead_letter WHERE message = '' OR raw IS NULL OR message ~ '[0-9]{12}'")" 0 \
    "dead letters without message or bytes, or with a full ID in the message"
itest_assert_eq "$(q "SELECT count(*) FROM crvs.audit_log WHERE action = 'dead_letter'")" 6 "dead letters audited"

# Typed values.
itest_assert_eq "$(row TAND-HN-BD 45/2025/HNGĐ-ST "court_name || '|' || kind || '|' || decision_date || '|' || to_char(issued_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI') || '|' || source_system")" \
    "Tòa án nhân dân quận Ba Đình, TP Hà Nội|DIVORCE_JUDGMENT|2025-03-10|2025-04-14T01:00|qlva-hanoi" "judgment columns"
itest_assert_same "$(row TAND-HN-BD 45/2025/HNGĐ-ST "spouse_a_personal_id || '|' || spouse_a_name || '|' || spouse_a_name_key || '|' || spouse_a_birth_date || '|' || spouse_a_sex || '|' || spouse_b_sex")" \
    "001085004512|Nguyễn Văn Hùng|NGUYEN VAN HUNG|1985-02-14|MALE|FEMALE" "spouse columns"
itest_assert_eq "$(row TAND-HN-BD 45/2025/HNGĐ-ST "marriage_registration_number || '|' || marriage_registration_date || '|' || marriage_registry_office || '|' || quality_flags::text")" \
    "112/2010|2010-10-09|UBND phường Kim Mã|{}" "marriage columns, no flags"
itest_assert_eq "$(row TAND-CC-HN 92/2026/HNGĐ-GĐT "cancels_court_code || '|' || cancels_judgment_number")" \
    "TAND-NA|17/2026/HNGĐ-ST" "the cancellation names the judgment it cancels"
itest_assert_eq "$(q "SELECT count(*) FROM crvs.divorce_judgment WHERE cancels_court_code IS NOT NULL")" 1 "only the cancellation cancels"
itest_assert_eq "$(row TAND-TN 03/2025/QĐST-HNGĐ "quality_flags::text")" "{child_marriage}" "annulled child marriage flagged"
itest_assert_eq "$(row TAND-KV1-DN 88/2025/HNGĐ-ST "coalesce(spouse_b_personal_id, 'null') || ' ' || quality_flags::text")" \
    "null {spouse_b_personal_id_missing}" "spouse without an ID"
itest_assert_eq "$(row TAND-KV2-HCM 145/2025/QĐST-HNGĐ "quality_flags::text || ' ' || (marriage_registration_number IS NULL)")" \
    "{marriage_unknown} true" "judgment without a marriage"
itest_assert_eq "$(row TAND-KV3-HP 31/2026/HNGĐ-ST "spouse_b_sex || ' ' || quality_flags::text")" \
    "FEMALE {spouse_b_sex_mismatch}" "sex contradicting the ID kept and flagged"
itest_assert_eq "$(q "SELECT count(*) FROM crvs.divorce_judgment WHERE spouse_a_name <> normalize(spouse_a_name, NFC) OR spouse_b_name_key !~ '^[A-Z ]+\$'")" \
    0 "names not NFC or keys not folded"

# Person facts reached the registry (crvs.person_link, docs/linkage.md).
itest_assert_eq "$(q "SELECT count(*) FROM crvs.person_fact WHERE source_entity = 'divorce_judgment'")" 19 "person facts (spouses with an ID)"
itest_assert_eq "$(q "SELECT string_agg(kind || '=' || n, ',' ORDER BY kind) FROM (SELECT kind, count(*) AS n FROM crvs.person_fact WHERE source_entity = 'divorce_judgment' GROUP BY kind) k")" \
    "annulment=4,cancellation=2,divorce=13" "person facts by kind"
itest_assert_eq "$(q "SELECT count(*) FROM crvs.person")" 17 "persons"
person() { q "SELECT marital_status || ' ' || coalesce(marital_since::text, '-') || ' ' || sex FROM crvs.person WHERE personal_id = '$1'"; }
itest_assert_eq "$(person 001085004512)" "DIVORCED 2025-04-11 MALE" "divorced from the corrected effective date"
itest_assert_eq "$(person 019308004522)" "ANNULLED 2025-07-17 FEMALE" "annulment"
itest_assert_eq "$(person 040083005566)" "UNKNOWN - MALE" "a divorce cancelled on review is left out"
itest_assert_eq "$(person 031091067890)" "DIVORCED 2026-02-16 MALE" "the registry takes the ID's sex"
itest_assert_eq "$(q "SELECT string_agg(reason || '=' || n, ',' ORDER BY reason) FROM (SELECT reason, count(*) AS n FROM crvs.reconciliation WHERE status = 'open' AND scope LIKE 'record:divorce_judgment:%' GROUP BY reason) r")" \
    "spouse_sex_mismatch=1,spouse_unidentified=1" "record-level reconciliation items"
itest_assert_same "$(q "SELECT source_a || ' ' || personal_id || ' ' || detail FROM crvs.reconciliation WHERE reason = 'spouse_sex_mismatch'")" \
    "divorce_judgment:TAND-KV3-HP/31/2026/HNGĐ-ST 031091067890 spouse_b: record says FEMALE, ID sex digit says MALE" "sex mismatch item"
itest_assert_eq "$(q "SELECT count(*) FROM crvs.reconciliation WHERE reason = 'cancelled_judgment_not_found' AND status = 'open'")" 0 "the cancelled judgment was found"
# The marriage register, loaded after the judgments: the divorced marriage is
# dissolved, the one whose divorce was cancelled stays registered.
q "SELECT crvs.register_marriage('UBND phường Kim Mã', '112/2010', '2010-10-09', '001085004512', '001187019833', 'test')" >/dev/null
q "SELECT crvs.register_marriage('UBND xã Nghi Phú', '9/2009', '2009-09-09', '040083005566', '040186007788', 'test')" >/dev/null
itest_assert_eq "$(q "SELECT string_agg(registration_number || ' ' || status || ' ' || coalesce(status_since::text, '-'), ',' ORDER BY registration_number) FROM crvs.marriage")" \
    "112/2010 DISSOLVED 2025-04-11,9/2009 REGISTERED -" "marriages after the judgments"
itest_assert_eq "$(person 040186007788)" "MARRIED 2009-09-09 FEMALE" "married again once the divorce is cancelled"

# Logs never hold a full personal ID or a name.
if grep -E '[0-9]{12}' "$ITEST_DIR"/divorce-judgment.*.log; then itest_fail "a service log holds a 12-digit number"; fi
while IFS= read -r name; do
    if grep -qF "$name" "$ITEST_DIR"/divorce-judgment.*.log; then itest_fail "a service log holds a spouse's name"; fi
done < <(jq -r '.spouse_a.name, .spouse_b.name' "$DATA" | sort -u)

# SIGTERM: clean exit with status 0.
pid=$(cat "$ITEST_DIR/divorce-judgment.1.pid")
kill -TERM "$pid"
status=0; wait "$pid" || status=$?
rm -f "$ITEST_DIR/divorce-judgment.1.pid"
itest_assert_eq "$status" 0 "service exit status after SIGTERM"
grep -q 'event=stopped' "$ITEST_DIR"/divorce-judgment.1.log || itest_fail "no event=stopped in the service log"
itest_log "ok"
