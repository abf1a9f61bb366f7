#!/usr/bin/env bash
# One batch holding a certificate several times (crvs.apply_records applies
# a batch as a set): duplicates and corrections of a stored certificate and
# of one new in the same batch get the outcomes, versions, audit rows and
# final row that applying them one by one gives, and the person registry
# ends with the mother of the last version only.
set -euo pipefail
export ITEST_PARTITIONS=1 # one fetch holds the whole batch
. "$(dirname "$0")/hub.sh"
hub_setup

"$CTL" loadgen --topic birth-certificate --count 4 --seed 11 > "$ITEST_DIR/gen.jsonl"
A=$(sed -n 1p "$ITEST_DIR/gen.jsonl")
C=$(sed -n 2p "$ITEST_DIR/gen.jsonl")
M2=$(sed -n 3p "$ITEST_DIR/gen.jsonl" | jq -c .mother)
M3=$(sed -n 4p "$ITEST_DIR/gen.jsonl" | jq -c .mother)
key() { jq -r '.facility.code + "/" + .certificate_number' <<<"$1"; }
mother() { jq -r .mother.personal_id <<<"$1"; }
KA=$(key "$A"); KC=$(key "$C"); M1=$(mother "$A")
wA=$(jq -r .child.weight_grams <<<"$A"); wC=$(jq -r .child.weight_grams <<<"$C")

# A is stored before the batch.
echo "$A" > "$ITEST_DIR/first.jsonl"
hub_ctl publish --topic birth-certificate "$ITEST_DIR/first.jsonl" >/dev/null
hub_start_service birth-certificate
hub_wait_stored 60
hub_stop_service birth-certificate
id_before=$(itest_psql "SELECT id || ' ' || received_at FROM crvs.birth_certificate")

# Published while the service is stopped, so that it reads them as one batch:
# A again (duplicate), A with another mother (correction), that again
# (duplicate), A with a third mother and weight (correction); C new, C again,
# C corrected.
A1=$(jq -c --argjson m "$M2" '.event_id = "a-1" | .mother = $m' <<<"$A")
A2=$(jq -c --argjson m "$M3" '.event_id = "a-2" | .mother = $m | .child.weight_grams = 3002' <<<"$A")
{
    jq -c '.event_id = "a-0"' <<<"$A"
    echo "$A1"
    jq -c '.event_id = "a-1bis"' <<<"$A1"
    echo "$A2"
    echo "$C"
    jq -c '.event_id = "c-0"' <<<"$C"
    jq -c '.event_id = "c-1" | .child.weight_grams = 2999' <<<"$C"
} > "$ITEST_DIR/batch.jsonl"
hub_ctl publish --topic birth-certificate "$ITEST_DIR/batch.jsonl" >/dev/null
hub_start_service birth-certificate
hub_wait_stored 60
# The premise: the seven records were one batch.
grep -q 'event=batch_committed records=7 ' "$ITEST_DIR"/birth-certificate.1.log \
    || itest_fail "the seven records were not applied as one batch: $(grep batch_committed "$ITEST_DIR"/birth-certificate.1.log)"

# Outcomes and versions in the audit trail, in Kafka order per certificate.
audit() {
    itest_psql "SELECT string_agg(action || ' v' || (detail->>'version'), ', ' ORDER BY source_offset)
                FROM crvs.audit_log WHERE entity_key = '$1'"
}
itest_assert_eq "$(audit "$KA")" "create v1, duplicate v1, correct v2, duplicate v2, correct v3" "audit of the stored certificate"
itest_assert_eq "$(audit "$KC")" "create v1, duplicate v1, correct v2" "audit of the new certificate"
# Each correction keeps the document it replaced and the new one.
corrections() {
    itest_psql "SELECT string_agg((before->'child'->>'weight_grams') || '->' || (after->'child'->>'weight_grams')
                                  || ' ' || (before->>'event_id') || '->' || (after->>'event_id'), ', ' ORDER BY source_offset)
                FROM crvs.audit_log WHERE entity_key = '$1' AND action = 'correct'"
}
eA=$(jq -r .event_id <<<"$A"); eC=$(jq -r .event_id <<<"$C")
itest_assert_eq "$(corrections "$KA")" "$wA->$wA $eA->a-1, $wA->3002 a-1->a-2" "corrections of the stored certificate"
itest_assert_eq "$(corrections "$KC")" "$wC->2999 $eC->c-1" "correction of the new certificate"

# The rows: last version, same id and first receipt for the stored one.
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.birth_certificate")" 2 "registry rows"
itest_assert_eq "$(itest_psql "SELECT weight_grams || ' v' || version || ' ' || event_id FROM crvs.birth_certificate
                               WHERE facility_code || '/' || certificate_number = '$KA'")" "3002 v3 a-2" "stored certificate's row"
itest_assert_eq "$(itest_psql "SELECT id || ' ' || received_at FROM crvs.birth_certificate
                               WHERE facility_code || '/' || certificate_number = '$KA'")" "$id_before" "id and first receipt kept"
itest_assert_eq "$(itest_psql "SELECT weight_grams || ' v' || version || ' ' || event_id FROM crvs.birth_certificate
                               WHERE facility_code || '/' || certificate_number = '$KC'")" "2999 v2 c-1" "new certificate's row"

# Persons: the first mother is gone (no record names her any more), the
# second never stays, the third is there with her name, and A's facts are
# the last version's.
present() { itest_psql "SELECT count(*) FROM crvs.person WHERE personal_id = '$1'"; }
itest_assert_eq "$(present "$M1") $(present "$(jq -r .personal_id <<<"$M2")") $(present "$(jq -r .personal_id <<<"$M3")")" \
    "0 0 1" "first, second, third mother in the person registry"
itest_assert_same "$(itest_psql "SELECT name FROM crvs.person WHERE personal_id = '$(jq -r .personal_id <<<"$M3")'")" \
    "$(jq -r .name <<<"$M3")" "third mother's name"
itest_assert_eq "$(itest_psql "SELECT string_agg(role, ',') FROM crvs.person_fact
                               WHERE source_key = '$KA' AND personal_id = '$(jq -r .personal_id <<<"$M3")'")" "mother" "facts of the last version"
itest_assert_eq "$(itest_psql "SELECT field || ':' || coalesce(old_value, '-') || '->' || coalesce(new_value, '-')
                               FROM crvs.person_history WHERE personal_id = '$M1' ORDER BY id DESC LIMIT 1")" \
    "person:present->-" "the first mother's last history row"
itest_log "ok"
