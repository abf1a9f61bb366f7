#!/usr/bin/env bash
# Registrations matched to what they register (016_registration_match.sql,
# docs/linkage.md "Registrations"), whatever the order: the sample
# registrations, certificates, notices and judgments are published
# registrations first into one database, and the records first into
# another; both give the same matches, and those are the expected ones:
# the birth of GCS-0000001 by its certificate, the late home birth of
# GCS-0000002 by the mother's ID and the date, the divorce by its
# judgment; the death registration was cancelled, so the notice it named
# is matched by nothing. Twins registered without their certificates, and a
# second registration naming a registered certificate, are conflicts, not
# matches. The worklists follow: an item leaves its list when its
# registration arrives.
set -euo pipefail
. "$(dirname "$0")/hub.sh"
hub_setup
itest_psql "CREATE DATABASE order_b TEMPLATE crvs" >/dev/null

DATA="$MESON_SOURCE_ROOT/tests/data"
publish() { hub_ctl publish --topic "$1" "$DATA/$2" >/dev/null || itest_fail "publish of $2 failed"; }
publish_records() {
    publish birth-certificate birth-certificates.jsonl
    publish death-notice death-notices.jsonl
    publish divorce-judgment divorce-judgments.jsonl
}
publish_registrations() { publish civil-registration civil-registrations.jsonl; }
wait_all() {
    local t
    for t in birth-certificate death-notice divorce-judgment civil-registration; do hub_wait_stored 60 "$t"; done
}
start_all() {
    local s
    for s in birth-certificate death-notice divorce-judgment civil-registration; do hub_start_service "$s" "$1"; done
}
matches() {
    psql -XAtq -d "$1" -c "SELECT office_code, registration_number, source_entity, source_key, matched_by
                           FROM crvs.registration_match ORDER BY 1, 2"
}

# Order A: the registrations first.
start_all 1
publish_registrations
wait_all
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.registration_match")" 0 "matches before the records"
publish_records
wait_all
matches crvs >"$ITEST_DIR/a.txt"

# Order B: the records first, into another database.
hub_stop_all_services
itest_reset_topics
hub_write_configs
sed -i "s/^pg.dbname = .*/pg.dbname = order_b/" "$ITEST_DIR"/*.conf
start_all 2
publish_records
wait_all
# The worklists (017_worklist.sql, crvsctl worklist) as a reader sees them:
# before the registrations, every certificate is on the births list.
itest_psql "CREATE ROLE clerk LOGIN IN ROLE crvs_reader" >/dev/null
wl() { CRVS_PG_USER=clerk hub_ctl worklist "$@"; }
wl --kind births --csv >"$ITEST_DIR/wl-before.csv" || itest_fail "worklist births failed"
itest_assert_eq "$(($(wc -l <"$ITEST_DIR/wl-before.csv") - 1))" \
    "$(psql -XAtq -d order_b -c "SELECT count(*) FROM crvs.birth_certificate")" "births on the list before any registration"
grep -q ',BV15036/GCS-0000001,' "$ITEST_DIR/wl-before.csv" || itest_fail "GCS-0000001 not on the list before its registration"
wl --kind births --unit 15165 >"$ITEST_DIR/wl-unit.txt" || itest_fail "worklist --unit failed"
itest_assert_eq "$(grep -c 'GCS-' "$ITEST_DIR/wl-unit.txt")" \
    "$(psql -XAtq -d order_b -c "SELECT count(*) FROM crvs.birth_certificate WHERE place_commune_code = '15165'")" "births on commune 15165's list"
publish_registrations
wait_all
matches order_b >"$ITEST_DIR/b.txt"

diff "$ITEST_DIR/a.txt" "$ITEST_DIR/b.txt" >&2 || itest_fail "the matches depend on the order"

# After the registrations: the registered births leave the list; every
# notice stays (its one registration was cancelled); the registration made
# without a document is on the undocumented list; overdue items only with
# --overdue; personal IDs masked.
wl --kind births --csv >"$ITEST_DIR/wl-after.csv" || itest_fail "worklist births failed"
if grep -q 'GCS-0000001,\|GCS-0000002,' "$ITEST_DIR/wl-after.csv"; then itest_fail "a registered birth is still on the list"; fi
itest_assert_eq "$(($(wc -l <"$ITEST_DIR/wl-after.csv") - 1))" \
    "$(psql -XAtq -d order_b -c "SELECT count(*) FROM crvs.birth_certificate WHERE certificate_number NOT IN ('GCS-0000001', 'GCS-0000002')")" \
    "births on the list after the registrations"
itest_assert_eq "$(wl --kind deaths --json | jq length)" \
    "$(psql -XAtq -d order_b -c "SELECT count(*) FROM crvs.death_notice")" "deaths on the list (the registration was cancelled)"
itest_assert_eq "$(wl --kind undocumented --json | jq -r '.[].record')" "40076/KS-01/2025-0077" "registrations without their document"
itest_assert_eq "$(wl --kind births --overdue --json | jq length)" \
    "$(psql -XAtq -d order_b -c "SELECT count(*) FROM crvs.birth_certificate WHERE certificate_number NOT IN ('GCS-0000001', 'GCS-0000002')
                                 AND birth_date + 60 < (now() AT TIME ZONE 'Asia/Ho_Chi_Minh')::date")" "overdue births"
if cat "$ITEST_DIR"/wl-*.csv "$ITEST_DIR/wl-unit.txt" | grep -qE '[0-9]{12}'; then itest_fail "a worklist shows a full personal ID"; fi
itest_assert_eq "$(cat "$ITEST_DIR/a.txt")" "00004|LH-01/2025-0002|divorce_judgment|TAND-HN-BD/45/2025/HNGĐ-ST|document
15165|KS-01/2026-0412|birth_certificate|BV15036/GCS-0000001|document
40076|KS-01/2025-0077|birth_certificate|BV40004/GCS-0000002|persons" "the matches"

# Conflicts: twins registered without their certificates (two certificates
# of one mother and date), and a second registration of a registered birth.
export PGDATABASE=order_b
itest_psql "
INSERT INTO crvs.birth_certificate (facility_code, certificate_number, facility_name, issued_at,
    event_id, source_system, child_sex, birth_time, birth_date, place_kind, place_province_code,
    plurality, birth_order, mother_name, mother_name_key, mother_personal_id, document,
    content_hash, source_partition, source_offset, schema_id)
SELECT 'BVTEST', 'TWIN-' || n, 'test', now(), 'e' || n, 'test', 'FEMALE', now(), '2026-01-02', 'HOME',
       '01', 2, n, 'm', 'M', '001190000777', '{}', 'h', 0, 0, 1002
FROM generate_series(1, 2) AS n;
INSERT INTO crvs.civil_registration (office_code, registration_number, office_name, kind, status,
    registration_date, event_date, late_registration, issued_at, event_id, source_system,
    mother_personal_id, source_kind, source_issuer, source_number, document, content_hash,
    source_partition, source_offset, schema_id)
VALUES ('00001', 'KS-TWIN-1', 'o', 'BIRTH', 'REGISTERED', '2026-01-10', '2026-01-02', false, now(),
        'r1', 't', '001190000777', NULL, NULL, NULL, '{\"persons\": []}', 'h', 0, 0, 4001),
       ('00001', 'KS-DUP-1', 'o', 'BIRTH', 'REGISTERED', '2026-11-10', '2026-10-22', false, now(),
        'r2', 't', '027195691832', 'BIRTH_CERTIFICATE', 'BV15036', 'GCS-0000001', '{\"persons\": []}',
        'h', 0, 0, 4001)" >/dev/null
itest_assert_eq "$(itest_psql "SELECT string_agg(registration_number || ' ' || reason || ' ' || source_key, ', '
                               ORDER BY registration_number, source_key) FROM crvs.registration_conflict")" \
    "KS-01/2026-0412 registration_duplicate BV15036/GCS-0000001, KS-DUP-1 registration_duplicate BV15036/GCS-0000001, KS-TWIN-1 registration_ambiguous BVTEST/TWIN-1, KS-TWIN-1 registration_ambiguous BVTEST/TWIN-2" \
    "conflicts"
itest_assert_eq "$(itest_psql "SELECT string_agg(registration_number, ', ' ORDER BY registration_number) FROM crvs.registration_match")" \
    "KS-01/2025-0077, LH-01/2025-0002" "matches once the conflicts are stored"
itest_log "ok"
