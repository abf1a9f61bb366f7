#!/usr/bin/env bash
# crvsctl migrate is forward only: it applies the pending files in order,
# each in a transaction of its own, and names what it applied; it refuses,
# changing nothing, a database whose applied file changed (checksum), a
# released file edited or removed (released.sha256), an applied file the
# folder does not have and a pending file that sorts before an applied one;
# a failing migration is rolled back entirely and stops the run; --status
# lists all of it and changes nothing.
set -euo pipefail
. "$(dirname "$0")/hub.sh"
itest_setup
hub_write_configs

# A copy of the migrations, to add, edit and remove files in.
SQL=$ITEST_DIR/sql
cp -r "$MESON_SOURCE_ROOT/schemas/sql" "$SQL"
sed -i "s|^sql.dir = .*|sql.dir = $SQL|" "$ITEST_DIR/ctl.conf"
mapfile -t files < <(cd "$SQL" && ls [0-9][0-9][0-9]_*.sql)
n=${#files[@]}

# migrate NAME [ARGS]: crvsctl migrate ARGS, both streams in $ITEST_DIR/NAME.log,
# the exit status in $rc and the output in $out.
migrate() {
    local name=$1
    shift
    rc=0
    hub_ctl migrate "$@" >"$ITEST_DIR/$name.log" 2>&1 || rc=$?
    out=$(cat "$ITEST_DIR/$name.log")
}
expect_in() { grep -qF -- "$2" <<<"$out" || itest_fail "$1: no '$2' in: $out"; }
# refused NAME WHAT TEXT...: crvsctl migrate fails and says each TEXT.
refused() {
    local name=$1 what=$2 text
    shift 2
    migrate "$name"
    [ "$rc" -ne 0 ] || itest_fail "migrate accepted $what: $out"
    for text in "$@"; do expect_in "$what" "$text"; done
    itest_log "ok: migrate refused $what"
}
exists() { itest_psql "SELECT to_regclass('$1') IS NOT NULL"; }
# The database's shape and migration records, to show a refusal changed nothing.
shape() {
    itest_psql "SELECT md5(string_agg(c.relname || ':' || a.attname || ':' || a.atttypid, ',' ORDER BY c.relname, a.attnum))
                FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
                WHERE c.relnamespace = 'crvs'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped"
    itest_psql "SELECT md5(string_agg(version || checksum || applied_at, ',' ORDER BY version)) FROM crvs.schema_migration"
}

# --status on an empty database: everything pending, nothing created.
migrate status-empty --status
itest_assert_eq "$rc" 0 "migrate --status exit status on an empty database"
itest_assert_eq "$(grep -c '^pending ' <<<"$out")" "$n" "files listed pending"
expect_in "--status" "$n pending, 0 changed"
itest_assert_eq "$(exists crvs.schema_migration)" f "schema_migration after --status"

# A first migrate applies every file, in order, and names each.
migrate first
itest_assert_eq "$rc" 0 "first migrate exit status"
itest_assert_eq "$(sed -n 's/^applied  \([^ ]*\) .*/\1/p' <<<"$out" | paste -sd' ')" "${files[*]}" "files applied, in order"
expect_in "first migrate" "migrations: $n known, $n applied now"
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.schema_migration")" "$n" "recorded migrations"
migrate second
itest_assert_eq "$rc" 0 "second migrate exit status"
expect_in "second migrate" "migrations: $n known, 0 applied now"
migrate status-applied --status
itest_assert_eq "$rc" 0 "migrate --status exit status when up to date"
itest_assert_eq "$(grep -c '^applied .* released$' <<<"$out")" "$(grep -c . "$SQL/released.sha256")" "files listed applied and released"

# A new file is applied on top, alone.
echo 'CREATE TABLE crvs.upgrade_marker (id integer);' >"$SQL/990_marker.sql"
migrate marker
itest_assert_eq "$rc" 0 "migrate of a new file"
itest_assert_eq "$(grep -c '^applied ' <<<"$out")" 1 "files applied"
expect_in "new file" "applied  990_marker.sql"
itest_assert_eq "$(exists crvs.upgrade_marker)" t "the new file's table"

# An applied file whose recorded checksum differs: refused before anything,
# the pending file after it is not applied.
itest_psql "UPDATE crvs.schema_migration SET checksum = md5('edited') WHERE version = '003_person.sql'"
echo 'CREATE TABLE crvs.after_refusal (id integer);' >"$SQL/991_after.sql"
before=$(shape)
refused changed "a changed applied file" "003_person.sql was applied to this database on" \
    "put the change in a new numbered file" "nothing was applied"
itest_assert_eq "$(exists crvs.after_refusal)" f "pending file applied despite the refusal"
itest_assert_eq "$(shape)" "$before" "database after the refusal"
migrate status-changed --status
itest_assert_eq "$rc" 1 "migrate --status exit status with a changed file"
expect_in "--status" "changed  003_person.sql"
expect_in "--status" "pending  991_after.sql"
itest_assert_eq "$(shape)" "$before" "database after --status"
itest_psql "UPDATE crvs.schema_migration SET checksum = '$(md5sum <"$SQL/003_person.sql" | cut -c1-32)' WHERE version = '003_person.sql'"

# A failing migration leaves nothing of itself and stops the run.
cat >"$SQL/991_after.sql" <<'EOF'
CREATE TABLE crvs.half_done (id integer);
INSERT INTO crvs.half_done VALUES (1);
ALTER TABLE crvs.upgrade_marker ADD COLUMN note text;
UPDATE crvs.half_done SET id = no_such_column;
EOF
echo 'CREATE TABLE crvs.after_failure (id integer);' >"$SQL/992_next.sql"
before=$(shape)
refused failing "a failing file" \
    "991_after.sql failed and was rolled back, nothing of it is applied: line 4: sqlstate=42703" \
    "the files after it were not tried"
itest_assert_eq "$(exists crvs.half_done)" f "table of the failed file"
itest_assert_eq "$(itest_psql "SELECT count(*) FROM pg_attribute WHERE attrelid = 'crvs.upgrade_marker'::regclass AND attname = 'note'")" 0 "column of the failed file"
itest_assert_eq "$(exists crvs.after_failure)" f "the file after the failed one"
itest_assert_eq "$(shape)" "$before" "database after the failed file"
# Fixed (it was never applied, so it may still change): both apply, in order.
sed -i '/no_such_column/d' "$SQL/991_after.sql"
migrate fixed
itest_assert_eq "$rc" 0 "migrate after the fix"
itest_assert_eq "$(sed -n 's/^applied  \([^ ]*\) .*/\1/p' <<<"$out" | paste -sd' ')" "991_after.sql 992_next.sql" "files applied after the fix"
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.half_done")" 1 "rows of the fixed file"

# A released file edited, or removed: refused, whatever the database holds.
echo 'CREATE TABLE crvs.after_edit (id integer);' >"$SQL/993_next.sql"
echo '-- an edit' >>"$SQL/002_birth_certificate.sql"
before=$(shape)
refused edited "an edited released file" \
    "002_birth_certificate.sql differs from the released file (released.sha256" \
    "released migrations are never edited"
itest_assert_eq "$(exists crvs.after_edit)" f "pending file applied despite the edited released file"
cp "$MESON_SOURCE_ROOT/schemas/sql/002_birth_certificate.sql" "$SQL/"
mv "$SQL/004_death_notice.sql" "$ITEST_DIR/"
refused removed "a removed released file" \
    "004_death_notice.sql is a released migration (released.sha256) and is missing"
itest_assert_eq "$(exists crvs.after_edit)" f "pending file applied despite the removed released file"
itest_assert_eq "$(shape)" "$before" "database after the refusals"
mv "$ITEST_DIR/004_death_notice.sql" "$SQL/"

# A database newer than the folder (an applied file it lacks), and a pending
# file before an applied one: refused.
itest_psql "INSERT INTO crvs.schema_migration (version, checksum) VALUES ('995_future.sql', md5('x'))"
before=$(shape)
refused newer "a database newer than its files" "995_future.sql was applied to this database on" \
    "the database is newer than these migrations" "993_next.sql is not applied but sorts before 995_future.sql"
itest_assert_eq "$(shape)" "$before" "database after the refusal"
itest_psql "DELETE FROM crvs.schema_migration WHERE version = '995_future.sql'"

# A file that commits on its own is reported (it breaks the one transaction).
rm "$SQL/993_next.sql"
printf 'CREATE TABLE crvs.self_committed (id integer);\nCOMMIT;\n' >"$SQL/994_commit.sql"
refused commit "a file that commits itself" "994_commit.sql ends the transaction itself"
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.schema_migration WHERE version = '994_commit.sql'")" 0 "record of the file with COMMIT"
itest_log "ok"
