#!/usr/bin/env bash
# The tamper-evident audit trail (012_audit_chain.sql, crvsctl audit): the
# rows the services write (batches, dead letters, corrections, duplicates,
# the linker's) and an operator's are chained and verify clean; then, as a
# superuser who disables the table's triggers, an edited row, a deleted row,
# an inserted row and a removed tail are each reported with the exact row
# (and the chain verifies clean again once the row is put back); a tail cut
# back together with its head passes a plain verify but not one against an
# anchor taken before; --since walks only the newer rows.
set -euo pipefail
. "$(dirname "$0")/hub.sh"
hub_setup

# verify_rc [ARGS]: crvsctl audit verify, output in $ITEST_DIR/verify.out, prints the exit status.
verify_rc() { local rc=0; hub_ctl audit verify "$@" >"$ITEST_DIR/verify.out" 2>&1 || rc=$?; echo "$rc"; }
expect_clean() {
    itest_assert_eq "$(verify_rc "$@")" 0 "verify exit, $*: clean"
    grep -q ': 0 problems$' "$ITEST_DIR/verify.out" || { cat "$ITEST_DIR/verify.out" >&2; itest_fail "verify does not say 0 problems"; }
}
# expect_reported WHAT LINE: verify exits 1 and its first problem is LINE (a fixed string).
expect_reported() {
    itest_assert_eq "$(verify_rc)" 1 "verify exit, $1"
    local first
    first=$(grep -m1 '^audit verify: ' "$ITEST_DIR/verify.out")
    [[ "$first" == *"$2"* ]] || { cat "$ITEST_DIR/verify.out" >&2; itest_fail "$1: expected '$2', got '$first'"; }
    itest_log "ok: $1 reported: ${first#audit verify: }"
}
as_tamperer() { itest_psql "ALTER TABLE crvs.audit_log DISABLE TRIGGER USER; $1; ALTER TABLE crvs.audit_log ENABLE TRIGGER USER" >/dev/null; }

# Records through the service: creates, duplicates, corrections and invalid
# ones (dead letters: their audit rows come by the trigger, the batch's by
# its own statement, in the same chains).
hub_start_service birth-certificate
hub_ctl loadgen --topic birth-certificate --count 400 --seed 7 --duplicate-share 0.05 \
    --correction-share 0.05 --invalid-share 0.03 --publish >/dev/null 2>"$ITEST_DIR/loadgen.out"
hub_wait_stored 120
hub_ctl loadgen --topic birth-certificate --count 200 --seed 8 --start 401 --correction-share 0.2 \
    --publish >/dev/null 2>>"$ITEST_DIR/loadgen.out"
hub_wait_stored 120
itest_wait_for "SELECT count(*) FROM crvs.link_lag(100000000) WHERE records = 0" 1 60
# An operator's decision: a chain of its own (no partition).
itest_psql "INSERT INTO crvs.audit_log (service, action, entity, entity_key, detail)
            VALUES ('crvsctl', 'note', 'test', 'k1', '{\"why\": \"a test\"}')" >/dev/null

# Rows chained by the trigger in every shape a transaction gives: single
# rows and a statement of 2,000 (the linker's status changes) into the
# operators' chain and a partition's, a savepoint rolled back in between,
# a statement whose own function inserts more rows.
itest_psql "CREATE FUNCTION pg_temp.nested(k text) RETURNS text LANGUAGE plpgsql AS \$\$
            BEGIN
                INSERT INTO crvs.audit_log (service, action, entity, entity_key) VALUES ('crvsctl', 'nested', 'test', k);
                RETURN k;
            END \$\$;
            BEGIN;
            INSERT INTO crvs.audit_log (service, action, entity, entity_key) VALUES ('crvsctl', 'note', 'test', 'a');
            INSERT INTO crvs.audit_log (service, action, entity, entity_key, source_topic, source_partition)
            SELECT 'linkage', 'marriage_status', 'marriage', 'm' || g, 'birth-certificate', 1 FROM generate_series(1, 2000) g;
            SAVEPOINT s;
            INSERT INTO crvs.audit_log (service, action, entity, entity_key) SELECT 'crvsctl', 'gone', 'test', 'g' || g FROM generate_series(1, 5) g;
            ROLLBACK TO SAVEPOINT s;
            INSERT INTO crvs.audit_log (service, action, entity, entity_key) SELECT 'crvsctl', 'outer', 'test', pg_temp.nested('n' || g) FROM generate_series(1, 3) g;
            COMMIT" >/dev/null
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.audit_log WHERE action = 'gone'")" 0 "rows of the rolled-back savepoint"
itest_assert_eq "$(itest_psql "SELECT seq FROM crvs.audit_chain WHERE chain = 'crvsctl'")" \
    "$(itest_psql "SELECT count(*) FROM crvs.audit_log WHERE chain = 'crvsctl'")" "the operators' head after nested statements"

audit=$(itest_psql "SELECT count(*) FROM crvs.audit_log")
[ "$audit" -ge 600 ] || itest_fail "only $audit audit rows"
[ "$(itest_psql "SELECT count(*) FROM crvs.audit_log WHERE action = 'dead_letter'")" -gt 0 ] || itest_fail "no dead letters"
[ "$(itest_psql "SELECT count(*) FROM crvs.audit_log WHERE action = 'correct'")" -gt 0 ] || itest_fail "no corrections"
itest_assert_eq "$(itest_psql "SELECT count(DISTINCT chain) FROM crvs.audit_log WHERE chain LIKE 'birth-certificate/%'")" 3 \
    "one chain per partition"
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.audit_chain c
                                WHERE c.seq = (SELECT count(*) FROM crvs.audit_log a WHERE a.chain = c.chain)")" \
    "$(itest_psql "SELECT count(*) FROM crvs.audit_chain")" "every head at its chain's row count"
expect_clean
grep -q "^audit verify: $audit rows in " "$ITEST_DIR/verify.out" || { cat "$ITEST_DIR/verify.out" >&2; itest_fail "verify did not walk every row"; }
hub_ctl audit anchor >"$ITEST_DIR/anchor.txt"
itest_assert_eq "$(grep -vc '^#' "$ITEST_DIR/anchor.txt")" "$(itest_psql "SELECT count(*) FROM crvs.audit_chain WHERE seq > 0")" \
    "one anchor line per chain"
grep -q "^birth-certificate/0 [0-9]* [0-9a-f]\{64\} [0-9]* 20" "$ITEST_DIR/anchor.txt" || { cat "$ITEST_DIR/anchor.txt" >&2; itest_fail "anchor line"; }

# The row everything below tampers with: a correction in the middle of
# partition 0's chain, and the chain's last rows.
read -r id seq < <(itest_psql "SELECT id, seq FROM crvs.audit_log WHERE chain = 'birth-certificate/0'
                               AND action = 'correct' ORDER BY seq LIMIT 1 OFFSET 1" | tr '|' ' ')
itest_psql "CREATE TABLE saved AS SELECT * FROM crvs.audit_log WHERE chain = 'birth-certificate/0'" >/dev/null

# ---- an edited row (the action, then the document's content)
as_tamperer "UPDATE crvs.audit_log SET action = 'create' WHERE id = $id"
expect_reported "an edited action" "birth-certificate/0 #$seq (row id $id): its hash does not match its content"
as_tamperer "UPDATE crvs.audit_log SET action = 'correct' WHERE id = $id"
expect_clean
as_tamperer "UPDATE crvs.audit_log SET after = jsonb_set(after, '{registration_number}', '\"X\"') WHERE id = $id"
expect_reported "an edited document" "birth-certificate/0 #$seq (row id $id): its hash does not match its content"
as_tamperer "UPDATE crvs.audit_log a SET after = s.after FROM saved s WHERE a.id = $id AND s.id = $id"
expect_clean

# ---- a deleted row
as_tamperer "DELETE FROM crvs.audit_log WHERE id = $id"
next=$(itest_psql "SELECT id FROM crvs.audit_log WHERE chain = 'birth-certificate/0' AND seq = $seq + 1")
expect_reported "a deleted row" "birth-certificate/0 #$seq: missing (deleted) before row id $next"
as_tamperer "INSERT INTO crvs.audit_log SELECT * FROM saved WHERE id = $id"
expect_clean

# ---- an inserted row: in the middle, the rows after it renumbered and
# the head moved, so that numbers and heads look whole
itest_psql "ALTER TABLE crvs.audit_chain DISABLE TRIGGER USER" >/dev/null
as_tamperer "UPDATE crvs.audit_log SET seq = -seq WHERE chain = 'birth-certificate/0' AND seq > $seq;
             UPDATE crvs.audit_log SET seq = -seq + 1 WHERE chain = 'birth-certificate/0' AND seq < 0;
             INSERT INTO crvs.audit_log (id, at, service, action, entity, entity_key, chain, seq, hash)
             SELECT 999999, now(), 'crvs-birth-certificate', 'create', 'birth_certificate', 'forged',
                    'birth-certificate/0', $seq + 1, sha256('forged'::bytea);
             UPDATE crvs.audit_chain SET seq = seq + 1 WHERE chain = 'birth-certificate/0'"
expect_reported "an inserted row" "birth-certificate/0 #$((seq + 1)) (row id 999999): its hash does not match its content"
as_tamperer "DELETE FROM crvs.audit_log WHERE id = 999999;
             UPDATE crvs.audit_log SET seq = -seq WHERE chain = 'birth-certificate/0' AND seq > $seq + 1;
             UPDATE crvs.audit_log SET seq = -seq - 1 WHERE chain = 'birth-certificate/0' AND seq < 0;
             UPDATE crvs.audit_chain SET seq = seq - 1 WHERE chain = 'birth-certificate/0'"
itest_psql "ALTER TABLE crvs.audit_chain ENABLE TRIGGER USER" >/dev/null
expect_clean

# ---- a removed tail
read -r last last_id < <(itest_psql "SELECT seq, id FROM crvs.audit_chain WHERE chain = 'birth-certificate/0'" | tr '|' ' ')
as_tamperer "DELETE FROM crvs.audit_log WHERE chain = 'birth-certificate/0' AND seq > $last - 2"
expect_reported "a removed tail" "birth-certificate/0 #$((last - 1)) to #$last: missing at the end"
# ... and its head cut back with it: whole to a plain verify, not to the anchor.
itest_psql "ALTER TABLE crvs.audit_chain DISABLE TRIGGER USER;
            UPDATE crvs.audit_chain c SET seq = a.seq, hash = a.hash, id = a.id, at = a.at
            FROM crvs.audit_log a WHERE c.chain = 'birth-certificate/0' AND a.chain = c.chain AND a.seq = $last - 2;
            ALTER TABLE crvs.audit_chain ENABLE TRIGGER USER" >/dev/null
expect_clean
itest_assert_eq "$(verify_rc --anchor "$ITEST_DIR/anchor.txt")" 1 "verify --anchor exit, tail and head cut back"
grep -q "^audit verify: birth-certificate/0 #$last (row id $last_id, anchored): missing" "$ITEST_DIR/verify.out" \
    || { cat "$ITEST_DIR/verify.out" >&2; itest_fail "the anchored head is not reported missing"; }
as_tamperer "INSERT INTO crvs.audit_log SELECT * FROM saved WHERE seq > $last - 2"
itest_psql "ALTER TABLE crvs.audit_chain DISABLE TRIGGER USER;
            UPDATE crvs.audit_chain c SET seq = a.seq, hash = a.hash, id = a.id, at = a.at
            FROM crvs.audit_log a WHERE c.chain = 'birth-certificate/0' AND a.chain = c.chain AND a.seq = $last;
            ALTER TABLE crvs.audit_chain ENABLE TRIGGER USER" >/dev/null
expect_clean --anchor "$ITEST_DIR/anchor.txt"

# ---- the heads move only forward, and the table stays append-only, for
# everyone who does not disable triggers
for sql in "UPDATE crvs.audit_chain SET seq = seq - 1 WHERE chain = 'birth-certificate/0'" \
           "DELETE FROM crvs.audit_chain WHERE chain = 'birth-certificate/0'" \
           "UPDATE crvs.audit_log SET action = 'create' WHERE id = $id"; do
    if itest_psql "$sql" >/dev/null 2>&1; then itest_fail "allowed: $sql"; fi
done
itest_log "ok: heads only forward, audit rows unchangeable"

# ---- new rows after the anchor, and --since
sleep 1
since=$(itest_psql "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')")
hub_ctl loadgen --topic birth-certificate --count 50 --seed 9 --start 1001 --publish >/dev/null 2>>"$ITEST_DIR/loadgen.out"
hub_wait_stored 120
expect_clean --anchor "$ITEST_DIR/anchor.txt"
expect_clean --since "$since"
newer=$(itest_psql "SELECT count(*) FROM crvs.audit_log WHERE at >= '$since'")
[ "$newer" -ge 50 ] || itest_fail "only $newer audit rows since $since"
grep -q "^audit verify: $newer rows in .* (since the time given)" "$ITEST_DIR/verify.out" \
    || { cat "$ITEST_DIR/verify.out" >&2; itest_fail "--since did not walk exactly the $newer newer rows"; }
# An edit before that time is not the business of --since; one after is.
as_tamperer "UPDATE crvs.audit_log SET action = 'create' WHERE id = $id"
expect_clean --since "$since"
new_id=$(itest_psql "SELECT max(id) FROM crvs.audit_log")
as_tamperer "UPDATE crvs.audit_log SET entity_key = 'changed' WHERE id = $new_id"
itest_assert_eq "$(verify_rc --since "$since")" 1 "verify --since exit, a new row edited"
grep -q "(row id $new_id): its hash does not match" "$ITEST_DIR/verify.out" || { cat "$ITEST_DIR/verify.out" >&2; itest_fail "--since: the edited new row not reported"; }
itest_log "passed"
