#!/usr/bin/env bash
# Civil registrations end to end (tests/data/civil-registrations.jsonl, its
# README section says what each line is): the five valid registrations (a
# birth from its certificate, a late home birth without one, a death, a
# marriage, a divorce recorded from its judgment) land once with their typed
# columns, a re-sent one is a duplicate, a cancellation is a correction of
# the same registration, each invalid one is a dead letter with its own
# reason, and no log holds a personal ID.
# (Personal IDs are compared in SQL: the test's output shows none.)
set -euo pipefail
. "$(dirname "$0")/hub.sh"
hub_setup

DATA="$MESON_SOURCE_ROOT/tests/data/civil-registrations.jsonl"
hub_start_service civil-registration
hub_ctl publish --topic civil-registration "$DATA" >/dev/null
hub_wait_stored 60 civil-registration

q() { itest_psql "$1"; }
itest_assert_eq "$(q "SELECT string_agg(registration_number || ' ' || kind || ' ' || status || ' v' || version, ', ' ORDER BY registration_number) FROM crvs.civil_registration")" \
    "KH-01/2026-0009 MARRIAGE REGISTERED v1, KS-01/2025-0077 BIRTH REGISTERED v1, KS-01/2026-0412 BIRTH REGISTERED v1, KT-01/2026-0031 DEATH CANCELLED v2, LH-01/2025-0002 DIVORCE REGISTERED v1" \
    "registry rows: kind, status, version"
itest_assert_eq "$(q "SELECT string_agg(action || ' ' || n, ', ' ORDER BY action) FROM (SELECT action, count(*) AS n FROM crvs.audit_log WHERE entity = 'civil_registration' GROUP BY action) s")" \
    "correct 1, create 5, duplicate 1" "audit rows by action"
itest_assert_eq "$(q "SELECT entity_key || ' ' || (before->>'status') || '->' || (after->>'status') FROM crvs.audit_log WHERE entity = 'civil_registration' AND action = 'correct'")" \
    "26740/KT-01/2026-0031 REGISTERED->CANCELLED" "the cancellation, audited with before and after"
itest_assert_eq "$(q "SELECT string_agg(reason, ', ' ORDER BY reason) FROM crvs.dead_letter WHERE source_topic = 'civil-registration'")" \
    "validation.event_date, validation.office, validation.persons, validation.source_document" "dead letters by reason"

row() { q "SELECT $2 FROM crvs.civil_registration WHERE registration_number = '$1'"; }
itest_assert_eq "$(row KS-01/2026-0412 "office_code || ' ' || registration_date || ' ' || event_date || ' ' || (subject_personal_id = '015226000123') || ' ' || (mother_personal_id = '027195691832') || ' ' || source_kind || ' ' || source_issuer || '/' || source_number || ' ' || cardinality(quality_flags)")" \
    "15165 2026-11-05 2026-10-22 true true BIRTH_CERTIFICATE BV15036/GCS-0000001 0" "birth from its certificate"
itest_assert_eq "$(row KS-01/2025-0077 "late_registration || ' ' || array_to_string(quality_flags, ',') || ' ' || coalesce(source_kind, '-')")" \
    "true source_document_missing -" "late home birth without a certificate"
itest_assert_eq "$(row LH-01/2025-0002 "event_date || ' ' || (spouse_a_personal_id = '001085004512') || ' ' || (spouse_b_personal_id = '001187019833') || ' ' || source_issuer || '/' || source_number")" \
    "2025-04-10 true true TAND-HN-BD/45/2025/HNGĐ-ST" "divorce recorded from its judgment"
itest_assert_eq "$(row KH-01/2026-0009 "coalesce(event_date::text, '-') || ' ' || (spouse_a_personal_id = '001092004871') || ' ' || cardinality(quality_flags)")" \
    "- true 0" "marriage"
itest_assert_eq "$(q "SELECT count(*) FROM crvs.civil_registration WHERE document->'persons'->0->>'name' <> normalize(document->'persons'->0->>'name', NFC)")" 0 \
    "names NFC in the documents"

# The service writes as crvs_service, through the write path's functions.
itest_assert_eq "$(q "SELECT has_table_privilege('crvs_service', 'crvs.civil_registration', 'INSERT')")" f \
    "crvs_service may not insert into crvs.civil_registration"

if grep -E '[0-9]{12}' "$ITEST_DIR"/civil-registration.*.log; then itest_fail "a service log holds a 12-digit number"; fi
pid=$(cat "$ITEST_DIR/civil-registration.1.pid")
kill -TERM "$pid"
status=0; wait "$pid" || status=$?
rm -f "$ITEST_DIR/civil-registration.1.pid"
itest_assert_eq "$status" 0 "service exit status after SIGTERM"
itest_log "ok"
