#!/usr/bin/env bash
# Death notices end to end (tests/data/death-notices.jsonl, its README
# section says what each line is): 13 valid notices land once with their
# typed cause-of-death columns and quality flags, a re-sent notice is a
# duplicate and a changed one a correction, each invalid notice is a dead
# letter with its own reason, the deceased become persons, and no log holds
# a personal ID.
set -euo pipefail
. "$(dirname "$0")/hub.sh"
hub_setup

DATA="$MESON_SOURCE_ROOT/tests/data/death-notices.jsonl"
hub_start_service death-notice
hub_ctl publish --topic death-notice "$DATA" >/dev/null
hub_wait_stored 60 death-notice

q() { itest_psql "$1"; }
itest_assert_eq "$(q "SELECT count(*) FROM crvs.death_notice")" 13 "registry rows"
itest_assert_eq "$(q "SELECT count(*) FROM crvs.audit_log WHERE entity = 'death_notice' AND action = 'create'")" 13 "create audit rows"
itest_assert_eq "$(q "SELECT entity_key FROM crvs.audit_log WHERE entity = 'death_notice' AND action = 'duplicate'")" \
    "TYT40127/GBT-2026-000214" "duplicate audit row (line 14 = line 2)"
itest_assert_eq "$(q "SELECT entity_key || ' ' || (before->>'underlying_cause') || '->' || (after->>'underlying_cause') FROM crvs.audit_log WHERE entity = 'death_notice' AND action = 'correct'")" \
    "BV79002/GBT-2026-000101 I21.9->I21.0" "correction audit row with before and after"
itest_assert_eq "$(q "SELECT underlying_cause || ' ' || underlying_category || ' v' || version FROM crvs.death_notice WHERE facility_code = 'BV79002' AND notice_number = 'GBT-2026-000101'")" \
    "I21.0 I21 v2" "corrected row"
itest_assert_eq "$(q "SELECT string_agg(reason || ' ' || n, ', ' ORDER BY reason) FROM (SELECT reason, count(*) AS n FROM crvs.dead_letter WHERE source_topic = 'death-notice' GROUP BY reason) s")" \
    "validation.cause_chain 1, validation.death_before_birth 1, validation.future_date 1, validation.icd10 1, validation.issued_before_death 1, validation.personal_id 1, validation.underlying_cause 1" \
    "dead letters by reason"
itest_assert_eq "$(q "SELECT count(*) FROM crvs.dead_letter WHERE reason = 'validation.icd10' AND message LIKE 'part1[1].icd10 %'")" 1 "the icd10 dead letter names the field"

# Typed values: chapter and category of the underlying cause, dates, flags.
row() { q "SELECT $2 FROM crvs.death_notice WHERE notice_number = '$1'"; }
itest_assert_eq "$(q "SELECT string_agg(underlying_category, ' ' ORDER BY notice_number) FROM crvs.death_notice")" \
    "C34 I21 I64 V89 R99 O72 P07 Y21 E11 X68 A15 K74 X99" "underlying categories (by notice number)"
itest_assert_eq "$(row GBT-2026-000377 "underlying_cause || ' ' || underlying_chapter || ' ' || manner || ' ' || death_date")" \
    "V89.2 XX ACCIDENT 2026-07-20" "injury death: external cause as underlying cause"
itest_assert_eq "$(row GBT-2026-000402 "underlying_chapter || ' ' || array_to_string(quality_flags, ',') || ' ' || age_years")" \
    "XVIII underlying_cause_ill_defined 89" "ill-defined cause, age as given"
itest_assert_eq "$(row GBT-2026-000518 "underlying_chapter || ' ' || pregnancy || ' ' || age_years")" \
    "XV WITHIN_42_DAYS 32" "maternal death"
itest_assert_eq "$(row GBT-2026-000633 "underlying_chapter || ' ' || age_years || ' ' || (document->'perinatal'->>'gestation_weeks')")" \
    "XVI 0 31" "perinatal death"
itest_assert_eq "$(row GBT-2026-000745 "coalesce(deceased_personal_id, 'none') || ' ' || coalesce(deceased_name, 'none') || ' ' || array_to_string(quality_flags, ',')")" \
    "none none personal_id_missing" "unidentified deceased"
itest_assert_eq "$(row GBT-2026-000214 "place_kind || ' ' || coalesce(place_facility_code, '-') || ' ' || death_date || ' ' || cardinality(quality_flags)")" \
    "HOME - 2026-08-02 0" "home death"
itest_assert_eq "$(row GBT-2026-000902 "array_to_string(quality_flags, ',')")" \
    "deceased.residence.province_code_retired,place.province_code_retired" "retired province code flagged"
itest_assert_eq "$(row GBT-2025-000811 "cardinality(quality_flags) || ' ' || place_province_code")" "0 30" "legacy province code before the reform"
itest_assert_eq "$(row GBT-2026-001348 "array_to_string(quality_flags, ',')")" "injury_details_missing" "external manner without injury details"
itest_assert_eq "$(row GBT-2026-001120 "underlying_cause || ' ' || (document->'part1'->1->>'icd10') || ' ' || (document->'part1'->0->>'icd10')")" \
    "A15.0 A15.0 J96.0" "codes normalised in the row and the document"
itest_assert_eq "$(q "SELECT count(*) FROM crvs.death_notice WHERE deceased_name <> normalize(deceased_name, NFC) OR deceased_name_key !~ '^[A-Z ]+\$'")" 0 \
    "names not NFC or keys not folded"

# Person registry: every identified deceased is a DECEASED person from the
# notice's local date; the unidentified one is a record-level item.
itest_assert_eq "$(q "SELECT count(*) FROM crvs.person WHERE vital_status = 'DECEASED'")" 12 "deceased persons"
itest_assert_eq "$(q "SELECT count(*) FROM crvs.death_notice n JOIN crvs.person p ON p.personal_id = n.deceased_personal_id WHERE p.vital_status = 'DECEASED' AND p.death_date = n.death_date")" 12 \
    "persons deceased on the notice's date"
itest_assert_eq "$(q "SELECT reason || ' ' || status FROM crvs.reconciliation WHERE source_a = 'death_notice:BV92003/GBT-2026-000745'")" \
    "deceased_unidentified open" "unidentified deceased reconciliation item"
itest_assert_eq "$(q "SELECT count(*) FROM crvs.person_fact WHERE source_entity = 'death_notice' AND kind = 'death' AND role = 'deceased'")" 12 "death facts"

# Logs never hold a full personal ID: no 12-digit run in any service log.
if grep -E '[0-9]{12}' "$ITEST_DIR"/death-notice.*.log; then itest_fail "a service log holds a 12-digit number"; fi

# SIGTERM: clean exit with status 0.
pid=$(cat "$ITEST_DIR/death-notice.1.pid")
kill -TERM "$pid"
status=0; wait "$pid" || status=$?
rm -f "$ITEST_DIR/death-notice.1.pid"
itest_assert_eq "$status" 0 "service exit status after SIGTERM"
grep -q 'event=stopped' "$ITEST_DIR"/death-notice.1.log || itest_fail "no event=stopped in the service log"
itest_log "ok"
