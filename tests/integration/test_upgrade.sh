#!/usr/bin/env bash
# Upgrade from the last release (schemas/sql/RELEASES) to the current
# migrations on a database holding data:
# 1. the release's own crvsctl and services, built from `git archive` of its
#    commit (cached in BUILD/upgrade-cache/COMMIT, built once), migrate an
#    empty database with the release's migrations and fill it through Kafka:
#    births, deaths, divorces with duplicates, corrections and invalid
#    records, the linkage events with marriage register entries, poison
#    messages;
# 2. the current crvsctl migrate applies exactly the files added since the
#    release, in order (with none, a test-only migration of the usual kinds
#    stands in: a column, an index, a table filled from existing rows);
# 3. nothing was lost or changed: every table of the crvs schema has the same
#    rows (count and digest over the columns it had) as before the upgrade:
#    registry, persons, marriages, audit, dead letters, offsets...;
# 4. everything works: the current services resume from the stored offsets
#    (nothing re-read) and store new records and a correction of an old one;
#    crvsctl status, stats and migrate --status answer; the audit chain
#    (the release's rows chained by the upgrade, then the new ones) verifies.
# Skips (77) when the git history lacks the release's commit (a shallow or
# exported checkout).
set -euo pipefail
. "$(dirname "$0")/hub.sh"

SQL_DIR=$MESON_SOURCE_ROOT/schemas/sql
read -r VERSION COMMIT < <(grep -v '^#' "$SQL_DIR/RELEASES" | grep . | tail -n 1)
[ -n "${COMMIT:-}" ] || itest_fail "schemas/sql/RELEASES names no release"
itest_require git tar meson
git -C "$MESON_SOURCE_ROOT" cat-file -e "$COMMIT^{commit}" 2>/dev/null \
    || itest_skip "release $VERSION ($COMMIT) is not in the git history of $MESON_SOURCE_ROOT (a shallow or exported checkout): its migrations and services cannot be taken from it"

# The release's binaries, built once per commit.
OLD=$MESON_BUILD_ROOT/upgrade-cache/$COMMIT
SERVICES="birth-certificate death-notice divorce-judgment"
if [ ! -f "$OLD/built" ]; then
    itest_log "building release $VERSION ($COMMIT) in $OLD (once; later runs reuse it)"
    rm -rf "$OLD"
    mkdir -p "$OLD/src"
    git -C "$MESON_SOURCE_ROOT" archive "$COMMIT" | tar -x -C "$OLD/src"
    t0=$SECONDS
    targets="crvsctl"
    for s in $SERVICES; do targets+=" crvs-$s"; done
    # shellcheck disable=SC2086 # one word per target
    { meson setup "$OLD/build" "$OLD/src" && meson compile -C "$OLD/build" $targets; } >"$OLD/build.log" 2>&1 \
        || { tail -n 30 "$OLD/build.log" >&2; itest_fail "release $VERSION does not build (log: $OLD/build.log)"; }
    touch "$OLD/built"
    itest_log "release $VERSION built in $((SECONDS - t0)) s"
fi

itest_setup
hub_write_configs
# The release's tools read the release's schemas and migrations.
sed -e "s|^schema.catalog = .*|schema.catalog = $OLD/src/schemas/avro|" \
    -e "s|^sql.dir = .*|sql.dir = $OLD/src/schemas/sql|" "$ITEST_DIR/ctl.conf" >"$ITEST_DIR/old-ctl.conf"
for s in $SERVICES; do
    sed -i "s|^schema.catalog = .*|schema.catalog = $OLD/src/schemas/avro|" "$ITEST_DIR/$s.conf"
done
old_ctl() { "$OLD/build/services/ctl/crvsctl" -c "$ITEST_DIR/old-ctl.conf" "$@"; }

# 1. The release's database, filled by the release's services.
old_ctl migrate >"$ITEST_DIR/old-migrate.log" 2>&1 || { cat "$ITEST_DIR/old-migrate.log" >&2; itest_fail "release $VERSION's migrate failed"; }
for s in $SERVICES; do MESON_BUILD_ROOT=$OLD/build hub_start_service "$s" old; done
publish_old() { old_ctl publish --topic "$1" "$2" >/dev/null || itest_fail "release $VERSION: publishing $2 failed"; }
seed=11
for topic in $SERVICES; do
    old_ctl loadgen --topic "$topic" --count 300 --seed $((seed++)) --duplicate-share 0.05 \
        --correction-share 0.05 --invalid-share 0.05 >"$ITEST_DIR/old-$topic.jsonl"
    publish_old "$topic" "$ITEST_DIR/old-$topic.jsonl"
done
EVENTS=$OLD/src/tests/data/linkage-events.jsonl
for topic in $SERVICES; do
    jq -c --arg t "$topic" 'select(.topic == $t) | .doc' "$EVENTS" >"$ITEST_DIR/old-linkage-$topic.jsonl"
    publish_old "$topic" "$ITEST_DIR/old-linkage-$topic.jsonl"
done
{ echo "registry_office,registration_number,registration_date,spouse_a_personal_id,spouse_b_personal_id"
  jq -r 'select(has("marriage")) | .marriage' "$EVENTS"; } >"$ITEST_DIR/old-marriages.csv"
old_ctl marriage load "$ITEST_DIR/old-marriages.csv" >/dev/null || itest_fail "release $VERSION: marriage load failed"
old_ctl publish --topic birth-certificate --raw-hex "$OLD/src/tests/data/birth-certificates.invalid.hex" >/dev/null \
    || itest_fail "release $VERSION: publishing poison messages failed"
for topic in $SERVICES; do
    old_ctl wait --topic "$topic" --timeout 180 >/dev/null || {
        tail -n 20 "$ITEST_DIR"/*.old.log >&2
        itest_fail "release $VERSION's services did not store $topic within 180 s"
    }
done
for s in $SERVICES; do hub_stop_service "$s" old; done
for t in birth_certificate death_notice divorce_judgment person marriage audit_log dead_letter consumer_offset; do
    [ "$(itest_psql "SELECT count(*) > 0 FROM crvs.$t")" = t ] || itest_fail "release $VERSION left crvs.$t empty: the upgrade would prove nothing about it"
done

# Every table's rows: "table count digest", over the columns listed in
# $ITEST_DIR/columns (taken before the upgrade: a new column is not a change).
itest_psql "SELECT c.relname, string_agg(quote_ident(a.attname), ',' ORDER BY a.attnum)
            FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
            WHERE c.relnamespace = 'crvs'::regnamespace AND c.relkind IN ('r', 'p')
              AND c.relname <> 'schema_migration' AND a.attnum > 0 AND NOT a.attisdropped
            GROUP BY c.relname ORDER BY c.relname" -F ' ' >"$ITEST_DIR/columns"
table_digests() {
    local table cols
    while read -r table cols; do
        echo "$table $(itest_psql "SELECT count(*) || ' ' || md5(coalesce(string_agg(r, E'\n' ORDER BY r), ''))
                                   FROM (SELECT ROW($cols)::text AS r FROM crvs.$table) s" 2>&1)"
    done <"$ITEST_DIR/columns"
}
table_digests >"$ITEST_DIR/before"
itest_log "release $VERSION's database: $(wc -l <"$ITEST_DIR/before") tables, $(itest_psql "SELECT count(*) FROM crvs.audit_log") audit rows, $(itest_psql "SELECT count(*) FROM crvs.dead_letter") dead letters"

# 2. The upgrade by the current crvsctl. Its folder: the current migrations,
# and the stand-in when there is nothing new since the release.
cp -r "$SQL_DIR" "$ITEST_DIR/sql"
sed -i "s|^sql.dir = .*|sql.dir = $ITEST_DIR/sql|" "$ITEST_DIR/ctl.conf"
mapfile -t added < <(comm -23 <(cd "$SQL_DIR" && ls [0-9][0-9][0-9]_*.sql) \
                              <(git -C "$MESON_SOURCE_ROOT" ls-tree --name-only "$COMMIT" schemas/sql/ | sed 's|.*/||' | sort))
if [ ${#added[@]} -eq 0 ]; then
    itest_log "no migration added since release $VERSION: a test-only one stands in"
    cat >"$ITEST_DIR/sql/999_upgrade_standin.sql" <<'EOF'
-- test_upgrade.sh only: a forward migration of the usual kinds on a
-- database holding data (a new registry column is nullable: the generic
-- apply writes every column from the service's row, docs/architecture.md).
ALTER TABLE crvs.birth_certificate ADD COLUMN upgrade_standin text;
CREATE INDEX birth_certificate_upgrade_standin ON crvs.birth_certificate (upgrade_standin);
CREATE TABLE crvs.upgrade_standin AS
    SELECT facility_code, certificate_number FROM crvs.birth_certificate;
EOF
    added=(999_upgrade_standin.sql)
fi
out=$(hub_ctl migrate --status 2>&1) || itest_fail "migrate --status before the upgrade failed: $out"
itest_assert_eq "$(sed -n 's/^pending  *\([^ ]*\).*/\1/p' <<<"$out" | paste -sd' ')" "${added[*]}" "pending before the upgrade"
out=$(hub_ctl migrate 2>&1) || itest_fail "the upgrade failed: $out"
itest_log "crvsctl migrate: $(paste -sd';' <<<"$out")"
itest_assert_eq "$(sed -n 's/^applied  \([^ ]*\) .*/\1/p' <<<"$out" | paste -sd' ')" "${added[*]}" "files the upgrade applied"
out=$(hub_ctl migrate 2>&1) || itest_fail "migrate after the upgrade failed: $out"
grep -q " 0 applied now" <<<"$out" || itest_fail "migrate after the upgrade applied something: $out"

# 3. Nothing lost or changed.
table_digests >"$ITEST_DIR/after"
diff -u "$ITEST_DIR/before" "$ITEST_DIR/after" >&2 || itest_fail "tables changed by the upgrade (table, rows, digest)"
itest_log "ok: $(wc -l <"$ITEST_DIR/before") tables unchanged by the upgrade"
if [ "${added[0]}" = 999_upgrade_standin.sql ]; then
    itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.upgrade_standin")" \
        "$(itest_psql "SELECT count(*) FROM crvs.birth_certificate")" "rows of the stand-in's table"
fi

# 4. The current services on the upgraded database.
hub_write_configs
sed -i "s|^sql.dir = .*|sql.dir = $ITEST_DIR/sql|" "$ITEST_DIR/ctl.conf"
audit_before=$(itest_psql "SELECT count(*) FROM crvs.audit_log")
dead_before=$(itest_psql "SELECT count(*) FROM crvs.dead_letter")
births_before=$(itest_psql "SELECT count(*) FROM crvs.birth_certificate")
for s in $SERVICES; do hub_start_service "$s" new; done
new=0
for topic in $SERVICES; do
    "$CTL" loadgen --topic "$topic" --count 100 --seed $((seed++)) --start 900000 >"$ITEST_DIR/new-$topic.jsonl"
    hub_ctl publish --topic "$topic" "$ITEST_DIR/new-$topic.jsonl" >/dev/null || itest_fail "publishing $topic after the upgrade failed"
    new=$((new + 100))
done
# A correction of a certificate stored before the upgrade.
old_birth=$(jq -c 'select(.event_id | startswith("lk-"))' "$ITEST_DIR/old-linkage-birth-certificate.jsonl" | head -n 1)
key="$(jq -r .facility.code <<<"$old_birth")/$(jq -r .certificate_number <<<"$old_birth")"
version_before=$(itest_psql "SELECT version FROM crvs.birth_certificate WHERE facility_code || '/' || certificate_number = '$key'")
jq -c '.child.weight_grams = 3456 | .event_id = "upgrade-correction"' <<<"$old_birth" >"$ITEST_DIR/new-correction.jsonl"
hub_ctl publish --topic birth-certificate "$ITEST_DIR/new-correction.jsonl" >/dev/null || itest_fail "publishing the correction failed"
new=$((new + 1))
# Documents stored by the release sent again unchanged (another event_id):
# duplicates, which they are only if the content hash the current services
# compute (in C, common/hub_jsonb.c) is the one the release stored.
resent=0
for topic in $SERVICES; do
    itest_psql "SELECT document FROM crvs.${topic//-/_} ORDER BY id LIMIT 40" \
        | jq -c '.event_id = "resent-" + (.event_id | tostring)' >"$ITEST_DIR/resent-$topic.jsonl"
    hub_ctl publish --topic "$topic" "$ITEST_DIR/resent-$topic.jsonl" >/dev/null || itest_fail "publishing stored $topic documents again failed"
    resent=$((resent + $(wc -l <"$ITEST_DIR/resent-$topic.jsonl")))
done
new=$((new + resent))
for topic in $SERVICES; do hub_wait_stored 120 "$topic"; done
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.audit_log WHERE event_id LIKE 'resent-%' AND action = 'duplicate'")" \
    "$resent" "stored documents sent again after the upgrade, audited as duplicates"
# One audit row per new message: nothing stored before was read again.
itest_assert_eq "$(($(itest_psql "SELECT count(*) FROM crvs.audit_log") - audit_before))" "$new" "audit rows after the upgrade"
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.dead_letter")" "$dead_before" "dead letters after the upgrade"
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.birth_certificate")" \
    "$((births_before + $(itest_psql "SELECT count(*) FROM crvs.audit_log WHERE id > (SELECT max(id) FROM crvs.audit_log) - $new AND entity = 'birth_certificate' AND action = 'create'")))" \
    "birth certificates after the upgrade"
itest_assert_eq "$(itest_psql "SELECT version - $version_before || ' ' || weight_grams FROM crvs.birth_certificate WHERE facility_code || '/' || certificate_number = '$key'")" \
    "1 3456" "a certificate of the release corrected after the upgrade"
if grep -l 'event=batch_failed' "$ITEST_DIR"/*.new.log; then itest_fail "a current service failed a batch on the upgraded database"; fi
hub_ctl status >"$ITEST_DIR/status.out" 2>&1 || { cat "$ITEST_DIR/status.out" >&2; itest_fail "crvsctl status failed after the upgrade"; }
hub_ctl stats --list >"$ITEST_DIR/stats-list.out" 2>&1 || itest_fail "crvsctl stats --list failed after the upgrade"
indicator=$(awk 'NR > 1 && NF { print $1; exit }' "$ITEST_DIR/stats-list.out")
hub_ctl stats "$indicator" >"$ITEST_DIR/stats.out" 2>&1 || { cat "$ITEST_DIR/stats.out" >&2; itest_fail "crvsctl stats $indicator failed after the upgrade"; }
# The release's audit rows were chained by the upgrade, the new ones after them.
hub_ctl audit verify >"$ITEST_DIR/verify.out" 2>&1 || { cat "$ITEST_DIR/verify.out" >&2; itest_fail "crvsctl audit verify failed after the upgrade"; }
grep -q "^audit verify: $(itest_psql "SELECT count(*) FROM crvs.audit_log") rows in .*: 0 problems$" "$ITEST_DIR/verify.out" \
    || { cat "$ITEST_DIR/verify.out" >&2; itest_fail "audit verify after the upgrade did not walk every row clean"; }
out=$(hub_ctl migrate --status 2>&1) || itest_fail "migrate --status after the upgrade failed: $out"
grep -q "0 pending, 0 changed, 0 missing" <<<"$out" || itest_fail "migrate --status after the upgrade: $out"
itest_log "ok: release $VERSION ($COMMIT) upgraded with ${#added[@]} migration(s), nothing lost, $new new messages stored"
