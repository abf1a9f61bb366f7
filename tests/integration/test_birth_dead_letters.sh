#!/usr/bin/env bash
# Bad input never blocks a partition: each kind lands in the dead letters
# with its own reason and the raw bytes, and the valid messages around it
# still land.
set -euo pipefail
. "$(dirname "$0")/hub.sh"
hub_setup

"$CTL" loadgen --topic birth-certificate --count 6 --seed 11 > "$ITEST_DIR/valid.jsonl"
# Two more documents made invalid by the hub's rules (the schema accepts them).
"$CTL" loadgen --topic birth-certificate --count 2 --seed 12 --start 100 > "$ITEST_DIR/base.jsonl"
sed -n 1p "$ITEST_DIR/base.jsonl" | jq -c '.child.birth_time = "2031-01-01T00:00:00Z" | .issued_at = "2031-01-02T00:00:00Z"' > "$ITEST_DIR/future.jsonl"
sed -n 2p "$ITEST_DIR/base.jsonl" | jq -c '.mother.personal_id = (.mother.personal_id[0:3] + "0" + .mother.personal_id[4:])' > "$ITEST_DIR/badid.jsonl"

enc() { hub_ctl publish --topic birth-certificate --dry-run --print-hex "$1" 2>/dev/null | cut -f2; }
valid_hex=$(enc "$ITEST_DIR/valid.jsonl" | head -n 1)
# A name in the first valid message, as hex, to corrupt into invalid UTF-8.
name=$(sed -n 1p "$ITEST_DIR/valid.jsonl" | jq -r .mother.name)
name_hex=$(printf '%s' "$name" | od -An -tx1 -v | tr -d ' \n')
bad_utf8_hex=${valid_hex/$name_hex/ff${name_hex:2}}
[ "$bad_utf8_hex" != "$valid_hex" ] || itest_fail "could not find the name bytes to corrupt"
{
    echo "c0ffee"                                   # 3 bytes: shorter than the header
    echo "01${valid_hex:2}"                         # wrong magic byte
    echo "00000003e7${valid_hex:10}"                # unknown schema id 999
    echo "${valid_hex:0:$(( ${#valid_hex} - 40 ))}" # truncated Avro body
    echo "$bad_utf8_hex"                            # invalid UTF-8 in a name
} > "$ITEST_DIR/raw.hex"

hub_start_service birth-certificate
# Interleave valid and invalid messages.
sed -n 1,3p "$ITEST_DIR/valid.jsonl" > "$ITEST_DIR/v1.jsonl"
sed -n 4,6p "$ITEST_DIR/valid.jsonl" > "$ITEST_DIR/v2.jsonl"
hub_ctl publish --topic birth-certificate "$ITEST_DIR/v1.jsonl" >/dev/null
hub_ctl publish --topic birth-certificate --raw-hex "$ITEST_DIR/raw.hex" >/dev/null
hub_ctl publish --topic birth-certificate "$ITEST_DIR/future.jsonl" >/dev/null
hub_ctl publish --topic birth-certificate "$ITEST_DIR/badid.jsonl" >/dev/null
hub_ctl publish --topic birth-certificate "$ITEST_DIR/v2.jsonl" >/dev/null
hub_wait_stored 60

itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.birth_certificate")" 6 "valid certificates stored"
reasons=$(itest_psql "SELECT string_agg(reason, ',' ORDER BY reason) FROM crvs.dead_letter")
itest_assert_eq "$reasons" "avro.decode,encoding.utf8,frame.bad_magic,frame.too_short,schema.unknown_id,validation.future_date,validation.personal_id" "dead-letter reasons"
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.dead_letter WHERE message = '' OR raw IS NULL")" 0 "dead letters without message or bytes"
# The sending system is known for a record that decoded, not for bytes that did not.
itest_assert_eq "$(itest_psql "SELECT string_agg(reason || '=' || coalesce(source_system, '-'), ' ' ORDER BY reason)
                               FROM crvs.dead_letter")" \
    "avro.decode=- encoding.utf8=- frame.bad_magic=- frame.too_short=- schema.unknown_id=- validation.future_date=$(jq -r .source_system "$ITEST_DIR/future.jsonl") validation.personal_id=$(jq -r .source_system "$ITEST_DIR/badid.jsonl")" \
    "source system of each dead letter"
itest_assert_same "$(itest_psql "SELECT encode(raw, 'hex') FROM crvs.dead_letter WHERE reason = 'frame.bad_magic'")" "01${valid_hex:2}" "raw bytes kept as sent"
itest_assert_eq "$(itest_psql "SELECT schema_id FROM crvs.dead_letter WHERE reason = 'schema.unknown_id'")" 999 "schema id of the unknown-schema message"
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.audit_log WHERE action = 'dead_letter'")" 7 "dead letters audited"

# Operators see them without SQL; personal data masked unless revealed.
hub_ctl dlq list > "$ITEST_DIR/dlq.txt"
for r in frame.too_short schema.unknown_id validation.personal_id; do
    grep -q "$r" "$ITEST_DIR/dlq.txt" || itest_fail "dlq list does not show $r"
done
id=$(itest_psql "SELECT id FROM crvs.dead_letter WHERE reason = 'validation.future_date'")
hub_ctl dlq show "$id" > "$ITEST_DIR/show.txt"
grep -q '"certificate_number"' "$ITEST_DIR/show.txt" || itest_fail "dlq show did not decode the message"
mother=$(jq -r .mother.name "$ITEST_DIR/future.jsonl")
if grep -qF "$mother" "$ITEST_DIR/show.txt"; then itest_fail "dlq show printed a full name without --reveal"; fi
if grep -qE '[0-9]{12}' "$ITEST_DIR/show.txt"; then itest_fail "dlq show printed a full personal ID without --reveal"; fi
hub_ctl dlq show "$id" --reveal | grep -qF "$mother" || itest_fail "dlq show --reveal did not show the name"
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.audit_log WHERE action = 'reveal'")" 1 "reveal audited"
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.audit_log WHERE action = 'read_masked' AND entity_key = '$id'")" 1 "masked read audited"
# A role that may read the dead letters' table (a reader, and here even
# its bytes) but not call the audited crvs.dlq_read gets nothing from
# crvsctl: the reveal's audit row comes with the bytes.
itest_psql "CREATE ROLE dl_reader LOGIN IN ROLE crvs_reader; GRANT USAGE ON SCHEMA crvs TO dl_reader;
            GRANT SELECT ON crvs.dead_letter TO dl_reader" >/dev/null
rc=0; CRVS_PG_USER=dl_reader hub_ctl dlq show "$id" --reveal >"$ITEST_DIR/reveal-ro.txt" 2>&1 || rc=$?
itest_assert_eq "$rc" 1 "dlq show --reveal as a role that cannot write the audit: exit"
if grep -qF "$mother" "$ITEST_DIR/reveal-ro.txt"; then itest_fail "an unaudited reveal printed the name"; fi
if grep -qE '[0-9]{12}' "$ITEST_DIR/reveal-ro.txt"; then itest_fail "an unaudited reveal printed a personal ID"; fi
grep -q "refused or could not be audited (nothing shown)" "$ITEST_DIR/reveal-ro.txt" || { cat "$ITEST_DIR/reveal-ro.txt" >&2; itest_fail "no reason given"; }
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.audit_log WHERE action = 'reveal'")" 1 "reveals audited after the refused one"
if grep -E '[0-9]{12}' "$ITEST_DIR"/birth-certificate.*.log; then itest_fail "a service log holds a 12-digit number"; fi
itest_log "ok"
