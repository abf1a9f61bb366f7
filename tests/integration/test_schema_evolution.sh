#!/usr/bin/env bash
# Schema evolution: birth certificates written with version 1 (id 1001) and
# version 2 (id 1002) of the schema land side by side, read as version 2:
# defaults where version 1 lacks a field, the renamed field's value kept,
# and the same certificate in either version is the same document (a
# duplicate, not a correction). A producer's later draft (new enum symbol
# read as the reader enum's default, a new field dropped) lands too; an enum
# symbol the reader lacks refuses only the messages that use it; an
# incompatible schema is refused. `crvsctl schema check` says so in advance.
set -euo pipefail
. "$(dirname "$0")/hub.sh"
hub_setup

FIX="$MESON_SOURCE_ROOT/tests/data/schemas"

# `schema check` against the topic's current schema (version 2).
out=$(hub_ctl schema check --topic birth-certificate "$MESON_SOURCE_ROOT/schemas/avro/birth-certificate.v1.avsc") \
    || itest_fail "schema check of version 1 failed: $out"
itest_assert_eq "$out" "compatible: data written with $MESON_SOURCE_ROOT/schemas/avro/birth-certificate.v1.avsc can be read by vn.gov.crvs.BirthCertificate v2" "schema check of version 1"
hub_ctl schema check --topic birth-certificate "$FIX/birth-certificate.next.avsc" >/dev/null \
    || itest_fail "schema check refused the compatible draft"
status=0; out=$(hub_ctl schema check --topic birth-certificate "$FIX/birth-certificate.bad.avsc") || status=$?
itest_assert_eq "$status" 1 "schema check exit status of an incompatible schema"
grep -qx "incompatible: mother.name: reader field has no default and is not in the writer" <<<"$out" \
    || itest_fail "schema check did not name mother.name: $out"
grep -q "^incompatible: child.weight_grams: writer string matches no branch" <<<"$out" \
    || itest_fail "schema check did not name child.weight_grams: $out"
status=0; out=$(hub_ctl schema check --topic birth-certificate "$FIX/birth-certificate.new-sex.avsc") || status=$?
itest_assert_eq "$status" 1 "schema check exit status of an enum symbol without a reader default"
itest_assert_eq "$out" "incompatible: child.sex: enum symbol INTERSEX is not in the reader enum Sex, which has no default (messages with INTERSEX are refused)" "schema check of the new symbol"
status=0; hub_ctl schema check --topic birth-certificate >/dev/null 2>&1 || status=$?
itest_assert_eq "$status" 2 "schema check exit status without a file"

# The producers' drafts get ids in a copy of the catalog (version 0: never
# the services' reader, which stays version 2).
mkdir "$ITEST_DIR/catalog"
cp "$MESON_SOURCE_ROOT"/schemas/avro/* "$FIX"/*.avsc "$ITEST_DIR/catalog/"
printf '1901\tbirth-certificate\t0\tbirth-certificate.next.avsc\n1902\tbirth-certificate\t0\tbirth-certificate.new-sex.avsc\n1903\tbirth-certificate\t0\tbirth-certificate.bad.avsc\n' \
    >> "$ITEST_DIR/catalog/catalog.tsv"
sed -i "s|^schema.catalog = .*|schema.catalog = $ITEST_DIR/catalog|" "$ITEST_DIR/ctl.conf" "$ITEST_DIR/birth-certificate.conf"

hub_start_service birth-certificate

"$CTL" loadgen --topic birth-certificate --count 10 --seed 21 > "$ITEST_DIR/all.jsonl" 2>/dev/null
to_v2='(.mother, .father) |= (if type == "object" and has("ethnicity") then .ethnic_group = .ethnicity | del(.ethnicity) else . end)'
sed -n 1,3p "$ITEST_DIR/all.jsonl" > "$ITEST_DIR/v1.jsonl"
sed -n 4,6p "$ITEST_DIR/all.jsonl" | jq -c "$to_v2"' | .child.apgar_5min = 9 | .language = "en"' > "$ITEST_DIR/v2.jsonl"
# certificate 1 again, written with version 2 and the same content
sed -n 1p "$ITEST_DIR/all.jsonl" | jq -c "$to_v2" > "$ITEST_DIR/v1-as-v2.jsonl"
sed -n 7p "$ITEST_DIR/all.jsonl" | jq -c "$to_v2"' | del(.language) | .child.place.kind = "IN_TRANSIT" | .ward = "A3"' > "$ITEST_DIR/next.jsonl"
sed -n 8p "$ITEST_DIR/all.jsonl" | jq -c "$to_v2" > "$ITEST_DIR/sex-ok.jsonl"
sed -n 9p "$ITEST_DIR/all.jsonl" | jq -c "$to_v2"' | .child.sex = "INTERSEX"' > "$ITEST_DIR/sex-new.jsonl"
sed -n 10p "$ITEST_DIR/all.jsonl" | jq -c "$to_v2"' | del(.mother.name) | (.father |= (if type == "object" then del(.name) else . end)) | .child.weight_grams = "3100"' > "$ITEST_DIR/bad.jsonl"

pub() { # pub ID FILE
    local out
    out=$(hub_ctl publish --topic birth-certificate --schema-id "$1" "$2") || itest_fail "publish $2 with schema $1: $out"
}
pub 1001 "$ITEST_DIR/v1.jsonl"
pub 1002 "$ITEST_DIR/v2.jsonl"
pub 1901 "$ITEST_DIR/next.jsonl"
pub 1902 "$ITEST_DIR/sex-ok.jsonl"
pub 1902 "$ITEST_DIR/sex-new.jsonl"
pub 1903 "$ITEST_DIR/bad.jsonl"
hub_wait_stored 60
pub 1002 "$ITEST_DIR/v1-as-v2.jsonl"
hub_wait_stored 60
# A version 2 document does not fit version 1: publish refuses it.
if hub_ctl publish --topic birth-certificate --schema-id 1001 --dry-run "$ITEST_DIR/v2.jsonl" >/dev/null 2>&1; then
    itest_fail "a version 2 document was encoded with version 1"
fi

itest_assert_eq "$(itest_psql "SELECT string_agg(schema_id || ':' || n, ',' ORDER BY schema_id) FROM (SELECT schema_id, count(*) n FROM crvs.birth_certificate GROUP BY 1) s")" \
    "1001:3,1002:3,1901:1,1902:1" "rows per writer schema"
itest_assert_eq "$(itest_psql "SELECT string_agg(reason, ',' ORDER BY reason) FROM crvs.dead_letter")" \
    "avro.resolve,schema.incompatible" "dead letters"
itest_assert_eq "$(itest_psql "SELECT schema_id FROM crvs.dead_letter WHERE reason = 'avro.resolve'")" 1902 "schema of the refused symbol"
itest_psql "SELECT message FROM crvs.dead_letter WHERE reason = 'avro.resolve'" | grep -q "child.sex: enum symbol INTERSEX" \
    || itest_fail "the avro.resolve dead letter does not name child.sex"

# Read as version 2, every document has version 2's shape.
row() { # row LINE_FILE SQL_EXPR
    local fac num
    fac=$(jq -r .facility.code "$1"); num=$(jq -r .certificate_number "$1")
    itest_psql "SELECT $2 FROM crvs.birth_certificate WHERE facility_code = '$fac' AND certificate_number = '$num'"
}
sed -n 1p "$ITEST_DIR/v1.jsonl" > "$ITEST_DIR/one-v1.jsonl"
sed -n 1p "$ITEST_DIR/v2.jsonl" > "$ITEST_DIR/one-v2.jsonl"
eth1=$(jq -r '.mother.ethnicity // "null"' "$ITEST_DIR/one-v1.jsonl")
eth2=$(jq -r '.mother.ethnic_group // "null"' "$ITEST_DIR/one-v2.jsonl")
itest_assert_eq "$(row "$ITEST_DIR/one-v1.jsonl" "document->>'language' || ' ' || (document->'child'->'apgar_5min')::text || ' ' || coalesce(mother_ethnicity, 'null') || ' ' || coalesce(document->'mother'->>'ethnic_group', 'null') || ' ' || (document->'mother' ? 'ethnicity')")" \
    "vi null $eth1 $eth1 false" "version 1 certificate: defaults, renamed field"
itest_assert_eq "$(row "$ITEST_DIR/one-v2.jsonl" "document->>'language' || ' ' || (document->'child'->'apgar_5min')::text || ' ' || coalesce(mother_ethnicity, 'null')")" \
    "en 9 $eth2" "version 2 certificate"
itest_assert_eq "$(row "$ITEST_DIR/one-v1.jsonl" "weight_grams")" "$(jq -r .child.weight_grams "$ITEST_DIR/one-v1.jsonl")" "version 1 weight"
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.birth_certificate WHERE NOT (document ? 'language' AND document->'child' ? 'apgar_5min') OR document->'mother' ? 'ethnicity'")" 0 "documents not in version 2's shape"
# The same certificate written with version 1 and then version 2 is a duplicate.
key=$(jq -r '.facility.code + "/" + .certificate_number' "$ITEST_DIR/one-v1.jsonl")
itest_assert_eq "$(itest_psql "SELECT string_agg(action, ',' ORDER BY id) FROM crvs.audit_log WHERE entity_key = '$key'")" "create,duplicate" "version 1 then version 2 of one certificate"
itest_assert_eq "$(row "$ITEST_DIR/one-v1.jsonl" "version || ' ' || schema_id")" "1 1001" "row after the version 2 duplicate"
# The draft's new place kind reads as the reader enum's default; its new field is dropped.
itest_assert_eq "$(row "$ITEST_DIR/next.jsonl" "place_kind || ' ' || (document->>'language') || ' ' || (document ? 'ward')")" "OTHER vi false" "the draft's certificate"
# Death notices and divorce judgments: version 1 and version 2 side by side.
hub_start_service death-notice
hub_start_service divorce-judgment
D="$MESON_SOURCE_ROOT/tests/data"
sed -n 1p "$D/death-notices.jsonl" | jq -c '.surgery_within_4_weeks = true' > "$ITEST_DIR/death-v1.jsonl"
sed -n 2p "$D/death-notices.jsonl" | jq -c 'del(.surgery_within_4_weeks) | .recent_surgery = false | .language = "en" | .certifier.phone = "0900000000"' > "$ITEST_DIR/death-v2.jsonl"
sed -n 1p "$D/divorce-judgments.jsonl" > "$ITEST_DIR/divorce-v1.jsonl"
sed -n 2p "$D/divorce-judgments.jsonl" | jq -c '.court.full_name = .court.name | del(.court.name) | .minor_children = 2' > "$ITEST_DIR/divorce-v2.jsonl"
for f in death-v1:death-notice:2001 death-v2:death-notice:2002 divorce-v1:divorce-judgment:3001 divorce-v2:divorce-judgment:3002; do
    IFS=: read -r file topic id <<<"$f"
    hub_ctl publish --topic "$topic" --schema-id "$id" "$ITEST_DIR/$file.jsonl" >/dev/null || itest_fail "publish $file with schema $id"
done
hub_wait_stored 60 death-notice
hub_wait_stored 60 divorce-judgment
dn() { itest_psql "SELECT $2 FROM crvs.death_notice WHERE notice_number = '$(jq -r .notice_number "$1")'"; }
itest_assert_eq "$(dn "$ITEST_DIR/death-v1.jsonl" "schema_id || ' ' || (document->>'recent_surgery') || ' ' || (document->>'language') || ' ' || coalesce(document->'certifier'->>'phone', 'null')")" \
    "2001 true vi null" "version 1 death notice: renamed field kept, defaults"
itest_assert_eq "$(dn "$ITEST_DIR/death-v2.jsonl" "schema_id || ' ' || (document->>'recent_surgery') || ' ' || (document->>'language') || ' ' || (document->'certifier'->>'phone')")" \
    "2002 false en 0900000000" "version 2 death notice"
dj() { itest_psql "SELECT $2 FROM crvs.divorce_judgment WHERE judgment_number = '$(jq -r .judgment_number "$1")'"; }
itest_assert_eq "$(dj "$ITEST_DIR/divorce-v1.jsonl" "schema_id || ' ' || court_name || ' ' || coalesce(document->>'minor_children', 'null')")" \
    "3001 $(jq -r .court.name "$ITEST_DIR/divorce-v1.jsonl") null" "version 1 judgment: court name read through the alias"
itest_assert_eq "$(dj "$ITEST_DIR/divorce-v2.jsonl" "schema_id || ' ' || court_name || ' ' || (document->>'minor_children')")" \
    "3002 $(jq -r .court.full_name "$ITEST_DIR/divorce-v2.jsonl") 2" "version 2 judgment"
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.dead_letter WHERE source_topic <> 'birth-certificate'")" 0 "dead letters for death and divorce versions"
itest_log "ok"
