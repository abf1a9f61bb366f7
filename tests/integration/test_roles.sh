#!/usr/bin/env bash
# Roles by job (013_roles.sql, docs/security.md "Roles"): for the services'
# role, an operator's login and a reader's login, what their jobs need
# works and what an insider would try is refused.
#   crvs_service: the service stores and dead-letters through the write
#     path's functions; it may not delete or change a registry row, write or
#     delete an audit row, read personal data, run DDL, disable a trigger,
#     call an operator's function, or run the batch function over a staging
#     table of its own making.
#   crvs_operator: dlq show (audited, naming the login), --reveal, discard,
#     replay, reconcile list and resolve, marriage load, offsets reset; refused: ALTER TABLE, disabling a trigger, deleting a
#     dead letter or an audit row, reading the dead letters' bytes directly.
#   crvs_reader: stats, report, status, reconcile list; refused: any dead
#     letter's bytes (dlq show, masked or revealed), registry and person
#     tables, the audit rows' contents, an operator's action.
set -euo pipefail
. "$(dirname "$0")/hub.sh"
hub_setup

itest_psql "CREATE ROLE alice LOGIN IN ROLE crvs_operator; CREATE ROLE rita LOGIN IN ROLE crvs_reader" >/dev/null

# as ROLE SQL: runs SQL as ROLE; prints the exit status, the error in $ITEST_DIR/as.err.
as() {
    local rc=0
    psql -XAtq -v ON_ERROR_STOP=1 -U "$1" -c "$2" >"$ITEST_DIR/as.out" 2>"$ITEST_DIR/as.err" || rc=$?
    echo "$rc"
}
# refused ROLE WHAT SQL: SQL as ROLE fails with a permission error.
refused() {
    local rc
    rc=$(as "$1" "$3")
    [ "$rc" != 0 ] || itest_fail "$1 may $2"
    grep -qiE 'permission denied|must be owner|must be superuser' "$ITEST_DIR/as.err" \
        || { cat "$ITEST_DIR/as.err" >&2; itest_fail "$1, $2: refused for another reason"; }
    itest_log "ok: $1 may not $2"
}
allowed() {
    local rc
    rc=$(as "$1" "$3")
    [ "$rc" = 0 ] || { cat "$ITEST_DIR/as.err" >&2; itest_fail "$1 may not $2"; }
    itest_log "ok: $1 may $2"
}
# ctl_as ROLE ARGS...: crvsctl connected as ROLE; output in $ITEST_DIR/ctl.out, prints the exit status.
ctl_as() {
    local role=$1 rc=0
    shift
    CRVS_PG_USER=$role hub_ctl "$@" >"$ITEST_DIR/ctl.out" 2>&1 || rc=$?
    echo "$rc"
}

# The service, as crvs_service (its config), stores and dead-letters.
hub_start_service birth-certificate
hub_ctl loadgen --topic birth-certificate --count 300 --seed 11 --invalid-share 0.05 \
    --duplicate-share 0.05 --correction-share 0.05 --publish >/dev/null 2>"$ITEST_DIR/loadgen.out"
hub_wait_stored 120
stored=$(itest_psql "SELECT count(*) FROM crvs.birth_certificate")
dead=$(itest_psql "SELECT count(*) FROM crvs.dead_letter")
[ "$stored" -gt 200 ] || itest_fail "the service as crvs_service stored only $stored certificates"
[ "$dead" -gt 0 ] || itest_fail "no dead letters"
itest_log "ok: the service as crvs_service stored $stored certificates, $dead dead letters"
key=$(itest_psql "SELECT certificate_number FROM crvs.birth_certificate ORDER BY id LIMIT 1")
# The service.
allowed crvs_service "read its offsets" "SELECT count(*) FROM crvs.consumer_offset"
refused crvs_service "delete a registry row" "DELETE FROM crvs.birth_certificate WHERE certificate_number = '$key'"
refused crvs_service "change a registry row" "UPDATE crvs.birth_certificate SET version = version + 1"
refused crvs_service "insert an audit row" "INSERT INTO crvs.audit_log (service, action, entity) VALUES ('x', 'x', 'x')"
refused crvs_service "delete an audit row" "DELETE FROM crvs.audit_log"
refused crvs_service "move a chain head" "UPDATE crvs.audit_chain SET seq = 0"
refused crvs_service "read persons" "SELECT count(*) FROM crvs.person"
refused crvs_service "read registry rows" "SELECT count(*) FROM crvs.birth_certificate"
refused crvs_service "read dead letters' bytes" "SELECT raw FROM crvs.dead_letter"
refused crvs_service "alter a registry table" "ALTER TABLE crvs.birth_certificate ADD COLUMN x integer"
refused crvs_service "disable a trigger" "ALTER TABLE crvs.audit_log DISABLE TRIGGER USER"
refused crvs_service "create a table in crvs" "CREATE TABLE crvs.x (a integer)"
refused crvs_service "reveal a dead letter" "SELECT crvs.dlq_read(1, 'x', true)"
refused crvs_service "redefine the write path" "SELECT crvs.apply_define('birth_certificate', 'a', 'b')"
# A staging table of the service's own (which could carry a trigger run
# with the owner's rights) is refused by the batch function.
rc=$(as crvs_service "CREATE TEMP TABLE hub_stage (ord integer);
                      SELECT crvs.apply_batch_birth_certificate('x', 'birth-certificate', true)")
[ "$rc" != 0 ] && grep -q "no staging table made by crvs.apply_stage" "$ITEST_DIR/as.err" \
    || { cat "$ITEST_DIR/as.err" >&2; itest_fail "the batch function ran over the service's own staging table"; }
itest_log "ok: the batch function refuses a staging table the service made"
rc=$(as crvs_service "CREATE TEMP TABLE hub_outcome (ord integer); SELECT crvs.apply_stage('birth_certificate')")
[ "$rc" != 0 ] || itest_fail "apply_stage went on over a table the service made"
itest_log "ok: apply_stage refuses to go on over a table of the service's"

# The operator.
id=$(itest_psql "SELECT min(id) FROM crvs.dead_letter WHERE reason LIKE 'validation.%'")
itest_assert_eq "$(ctl_as alice dlq show "$id")" 0 "operator: dlq show exit"
grep -q "personal data masked" "$ITEST_DIR/ctl.out" || { cat "$ITEST_DIR/ctl.out" >&2; itest_fail "operator: dlq show did not decode"; }
itest_assert_eq "$(ctl_as alice dlq show "$id" --reveal)" 0 "operator: dlq show --reveal exit"
grep -q "revealed" "$ITEST_DIR/ctl.out" || itest_fail "operator: the reveal showed nothing"
itest_assert_eq "$(itest_psql "SELECT action || ' ' || (detail->>'db_user') FROM crvs.audit_log
                               WHERE entity = 'dead_letter' AND entity_key = '$id' AND service = 'crvsctl'
                               ORDER BY id")" "read_masked alice
reveal alice" "operator: the reads audited, naming the login"
itest_assert_eq "$(ctl_as alice dlq discard "$id" --comment "roles test")" 0 "operator: dlq discard exit"
itest_assert_eq "$(itest_psql "SELECT status FROM crvs.dead_letter WHERE id = $id")" discarded "operator: discarded"
itest_assert_eq "$(itest_psql "SELECT detail->>'db_user' FROM crvs.audit_log WHERE action = 'dlq_discard' AND entity_key = '$id'")" \
    alice "operator: the discard's audit row names the login"
itest_assert_eq "$(ctl_as alice reconcile list --status all)" 0 "operator: reconcile list exit"
itest_assert_eq "$(ctl_as alice marriage load "$MESON_SOURCE_ROOT/tests/data/marriages.csv")" 0 "operator: marriage load exit"
[ "$(itest_psql "SELECT count(*) FROM crvs.marriage")" -gt 0 ] || itest_fail "operator: no marriage loaded"
itest_assert_eq "$(itest_psql "SELECT string_agg(DISTINCT detail->>'db_user', ',') FROM crvs.audit_log WHERE action = 'register'")" \
    alice "operator: the marriages' audit rows name the login"
rid=$(itest_psql "SELECT min(id) FROM crvs.dead_letter WHERE status = 'new'")
itest_assert_eq "$(ctl_as alice dlq replay "$rid")" 0 "operator: dlq replay exit"
itest_assert_eq "$(itest_psql "SELECT status || ' ' || (SELECT detail->>'db_user' FROM crvs.audit_log
                               WHERE action = 'dlq_replay' AND entity_key = '$rid')
                               FROM crvs.dead_letter WHERE id = $rid")" "replayed alice" "operator: replayed, audited naming the login"
itest_assert_eq "$(ctl_as alice status)" 0 "operator: status exit"
itest_psql "INSERT INTO crvs.reconciliation (reason, scope, natural_key, detail)
            VALUES ('roles_test', 'test', 'roles-test-1', 'an item for the roles test')" >/dev/null
item=$(itest_psql "SELECT id FROM crvs.reconciliation WHERE natural_key = 'roles-test-1'")
itest_assert_eq "$(ctl_as alice reconcile resolve "$item" --comment "roles test")" 0 "operator: reconcile resolve exit"
itest_assert_eq "$(itest_psql "SELECT r.status || ' ' || (a.detail->>'db_user') FROM crvs.reconciliation r
                               JOIN crvs.audit_log a ON a.action = 'resolve' AND a.entity_key = r.id::text
                               WHERE r.id = $item")" "resolved alice" "operator: resolved, audited naming the login"
hub_stop_service birth-certificate
at=$(itest_psql "SELECT next_offset FROM crvs.consumer_offset WHERE consumer_group = 'crvs-birth-certificate' AND partition = 0")
itest_assert_eq "$(ctl_as alice offsets reset --topic birth-certificate --partition 0 --to "$at" --reason "roles test")" 0 "operator: offsets reset exit"
itest_assert_eq "$(itest_psql "SELECT detail->>'db_user' FROM crvs.audit_log WHERE action = 'offset_reset'")" alice \
    "operator: the offset reset audited naming the login"
refused alice "alter a registry table" "ALTER TABLE crvs.birth_certificate ADD COLUMN x integer"
refused alice "disable the audit triggers" "ALTER TABLE crvs.audit_log DISABLE TRIGGER USER"
refused alice "delete a dead letter" "DELETE FROM crvs.dead_letter"
refused alice "change an audit row" "UPDATE crvs.audit_log SET action = 'x'"
refused alice "read the dead letters' bytes unaudited" "SELECT raw FROM crvs.dead_letter"
refused alice "read persons" "SELECT count(*) FROM crvs.person"
refused alice "read full personal IDs of reconciliation items" "SELECT personal_id FROM crvs.reconciliation"
refused alice "write the batch path" "SELECT crvs.apply_stage('birth_certificate')"
allowed alice "read dead letters' reasons" "SELECT reason, count(*) FROM crvs.dead_letter GROUP BY 1"

# The reader.
itest_assert_eq "$(ctl_as rita stats births --from 2020-01-01 --to 2030-12-31)" 0 "reader: stats exit"
grep -q '[0-9]' "$ITEST_DIR/ctl.out" || itest_fail "reader: stats printed no figure"
itest_assert_eq "$(ctl_as rita report --year "$(date +%Y)" --out "$ITEST_DIR/report.html")" 0 "reader: report exit"
itest_assert_eq "$(ctl_as rita status)" 0 "reader: status exit"
itest_assert_eq "$(ctl_as rita reconcile list --status all)" 0 "reader: reconcile list exit"
id2=$(itest_psql "SELECT min(id) FROM crvs.dead_letter WHERE status = 'new'")
n_audit=$(itest_psql "SELECT count(*) FROM crvs.audit_log")
itest_assert_eq "$(ctl_as rita dlq show "$id2" --reveal)" 1 "reader: dlq show --reveal exit"
grep -qE "nothing shown|permission denied" "$ITEST_DIR/ctl.out" || { cat "$ITEST_DIR/ctl.out" >&2; itest_fail "reader: no reason given for the refused reveal"; }
if grep -q "decoded" "$ITEST_DIR/ctl.out"; then itest_fail "reader: dlq show --reveal showed the message"; fi
itest_assert_eq "$(ctl_as rita dlq show "$id2")" 1 "reader: dlq show (masked) exit"
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.audit_log")" "$n_audit" "audit rows after the reader's refused reads"
itest_assert_eq "$(ctl_as rita dlq discard "$id2" --comment x)" 1 "reader: dlq discard exit"
refused rita "read the dead letters' bytes" "SELECT raw FROM crvs.dead_letter"
refused rita "read the dead letters' keys" "SELECT msg_key FROM crvs.dead_letter"
refused rita "read registry rows" "SELECT count(*) FROM crvs.birth_certificate"
refused rita "read the audit rows' contents" "SELECT after FROM crvs.audit_log"
refused rita "read the persons queued for linkage" "SELECT before_ids FROM crvs.link_queue"
refused rita "reveal" "SELECT crvs.dlq_read($id2, 'x', true)"
refused rita "resolve a reconciliation item" "SELECT crvs.reconcile_resolve(1, 'x', 'x')"
allowed rita "count audit rows by action" "SELECT action, count(*) FROM crvs.audit_log GROUP BY 1"

# Whatever was tried, the audit chain is whole.
hub_ctl audit verify >"$ITEST_DIR/verify.out" 2>&1 || { cat "$ITEST_DIR/verify.out" >&2; itest_fail "the audit chain does not verify"; }
itest_log "ok"
