#!/usr/bin/env bash
# The person registry's fold (schemas/sql/003_person.sql) on its own: a set
# of records' facts applied through crvs.person_link in many orders, each in
# a fresh database, must give the same persons, marriages and open
# reconciliation items, and those must be the ones docs/linkage.md defines.
# (test_linkage_order.sh does the same through Kafka and the services.)
set -euo pipefail
. "$(dirname "$0")/hub.sh"
hub_setup

# Personal IDs: province, sex/century digit, year, serial (docs/domain.md).
A=079190001234  # woman, 1990
B=001088005678  # man, 1988
D=038050000111  # man, 1950
E=031080000222  # man, 1980
F=031182000333  # woman, 1982
G=001160000444  # woman, 1960

fact() { # fact ID ROLE KIND DATE [SEX] [BIRTH_DATE] [extra json]
    local extra=${7:-}
    printf '{"personal_id":"%s","role":"%s","kind":"%s","effective_date":"%s"%s%s%s}' \
        "$1" "$2" "$3" "$4" "${5:+,\"sex\":\"$5\"}" "${6:+,\"birth_date\":\"$6\"}" "${extra:+,$extra}"
}
link() { # link ENTITY KEY FACTS-JSON [RECONCILE-JSON]
    printf "SELECT crvs.person_link('%s', '%s', '%s'::jsonb, '%s'::jsonb, '{}');" \
        "$1" "$2" "$3" "${4:-[]}"
}

# One event per line: NAME<TAB>SQL. c_* must follow the event it corrects.
EVENTS=$(cat <<EOF
b1	$(link birth_certificate BV1/GCS-1 "[$(fact $A mother identity 2020-01-10 FEMALE 1990-05-01 '"name":"Nguyễn Thị An","name_key":"NGUYEN THI AN"'),$(fact $B father identity 2020-01-10 MALE 1988-02-02)]")
b2	$(link birth_certificate BV1/GCS-2 "[$(fact $A mother identity 2022-03-03 FEMALE 1990-05-02 '"name":"Nguyễn Thị An","name_key":"NGUYEN THI AN"')]")
j1	$(link divorce_judgment TA1/1/2025 "[$(fact $A spouse_a divorce 2025-03-01 FEMALE 1990-05-01 '"marriage":{"registration_number":"12/2015","registry_office":"UBND1"}'),$(fact $B spouse_b divorce 2025-03-01 MALE)]")
d1	$(link death_notice BV2/TB-1 "[$(fact $D deceased death 2026-01-10 MALE 1950-07-07)]")
d2	$(link death_notice BV3/TB-9 "[$(fact $D deceased death 2026-01-11 MALE 1950-07-07)]")
j2	$(link divorce_judgment TA2/5/2024 "[$(fact $E spouse_a divorce 2024-06-01 MALE '' '"marriage":{"registration_number":"99/2010","registry_office":"UBND2"}'),$(fact $F spouse_b divorce 2024-06-01 FEMALE)]")
j3	$(link divorce_judgment TA2/7/2024 "[$(fact $E spouse_a cancellation 2024-09-01 MALE '' '"cancels":"TA2/5/2024"'),$(fact $F spouse_b cancellation 2024-09-01 FEMALE '' '"cancels":"TA2/5/2024"')]")
j4	$(link divorce_judgment TA3/2/2026 "[$(fact $D spouse_a divorce 2026-02-01 MALE),$(fact $G spouse_b divorce 2026-02-01 FEMALE)]")
j5	$(link divorce_judgment TA4/9/2026 "[$(fact $E spouse_a cancellation 2026-03-01 MALE '' '"cancels":"TA9/404/2020"')]" '[{"reason":"spouse_unidentified","detail":"spouse_b has no personal ID"}]')
m1	SELECT crvs.register_marriage('UBND1', '12/2015', '2015-06-01', '$A', '$B', 'test');
m2	SELECT crvs.register_marriage('UBND3', '5/2000', '2000-01-01', '$E', '$F', 'test');
c_d1	$(link death_notice BV2/TB-1 "[$(fact $D deceased death 2026-01-05 MALE 1950-07-07)]")
EOF
)


# A migrated template, then one database per order.
itest_psql "CREATE DATABASE linkage_tpl TEMPLATE crvs" >/dev/null

run_order() { # run_order N LINES...: applies the events in the given order
    local n=$1; shift
    itest_psql "CREATE DATABASE linkage_$n TEMPLATE linkage_tpl" >/dev/null
    local line
    for line in "$@"; do
        psql -XAtq -d "linkage_$n" -v ON_ERROR_STOP=1 -c "${line#*	}" >/dev/null \
            || itest_fail "order $n: event ${line%%	*} failed"
    done
    hub_registry_state "linkage_$n" > "$ITEST_DIR/state.$n"
}

mapfile -t lines <<<"$EVENTS"
# Order 1: as listed (date order but for the correction, which comes last).
run_order 1 "${lines[@]}"
# Order 2: reversed, the correction moved right after its original.
rev=()
for ((i = ${#lines[@]} - 1; i >= 0; i--)); do
    case ${lines[i]} in c_*) ;; d1*) rev+=("${lines[i]}" "${lines[-1]}") ;; *) rev+=("${lines[i]}") ;; esac
done
run_order 2 "${rev[@]}"
# Orders 3..8: seeded shuffles; a correction moves to just after its original
# when the shuffle put it before.
for n in 3 4 5 6 7 8; do
    mapfile -t shuffled < <(printf '%s\n' "${lines[@]}" | shuf --random-source=<(yes "$n"))
    fixed=(); pending=""
    for l in "${shuffled[@]}"; do
        case $l in
            c_d1*) if printf '%s\n' "${fixed[@]}" | grep -q '^d1	'; then fixed+=("$l"); else pending=$l; fi ;;
            d1*) fixed+=("$l"); [ -z "$pending" ] || { fixed+=("$pending"); pending=""; } ;;
            *) fixed+=("$l") ;;
        esac
    done
    itest_log "order $n: $(printf '%s\n' "${fixed[@]}" | cut -f1 | tr '\n' ' ')"
    run_order "$n" "${fixed[@]}"
done

for n in 2 3 4 5 6 7 8; do
    diff -u "$ITEST_DIR/state.1" "$ITEST_DIR/state.$n" >&2 \
        || itest_fail "order $n ends in a different registry state than order 1"
done
itest_log "8 orders, one state"

# The state is the one docs/linkage.md defines.
person() { hub_person "$1" linkage_1; }
itest_assert_eq "$(person $A)" "ALIVE - DIVORCED 2025-03-01 1990-05-01" "A: divorced, birth date by majority"
itest_assert_eq "$(person $B)" "ALIVE - DIVORCED 2025-03-01 1988-02-02" "B"
itest_assert_eq "$(person $D)" "DECEASED 2026-01-05 DIVORCED 2026-02-01 1950-07-07" "D: death date as corrected"
itest_assert_eq "$(person $E)" "ALIVE - MARRIED 2000-01-01 -" "E: the cancelled divorce is reversed"
itest_assert_eq "$(person $F)" "ALIVE - MARRIED 2000-01-01 -" "F: the cancelled divorce is reversed"
itest_assert_eq "$(person $G)" "ALIVE - DIVORCED 2026-02-01 -" "G"
itest_assert_eq "$(itest_psql "SELECT string_agg(registration_number || ' ' || status, ', ' ORDER BY registration_number) FROM crvs.marriage" linkage_1)" \
    "12/2015 DISSOLVED, 5/2000 REGISTERED" "marriage register"
itest_assert_eq "$(itest_psql "SELECT string_agg(reason, ' ' ORDER BY reason) FROM crvs.reconciliation WHERE status = 'open'" linkage_1)" \
    "birth_date_mismatch cancelled_judgment_not_found divorce_after_death duplicate_death marriage_not_found spouse_unidentified" "open items"
itest_assert_eq "$(itest_psql "SELECT source_a || ' ' || source_b FROM crvs.reconciliation WHERE reason = 'duplicate_death'" linkage_1)" \
    "death_notice:BV2/TB-1 death_notice:BV3/TB-9" "duplicate death names both notices"

# History: D's vital status changed with its effective date and source.
itest_assert_eq "$(itest_psql "SELECT new_value || ' ' || effective_date || ' ' || source FROM crvs.person_history WHERE personal_id = '$D' AND field = 'vital_status' ORDER BY id DESC LIMIT 1" linkage_1)" \
    "DECEASED 2026-01-05 2026-01-05 death_notice:BV2/TB-1" "D's last vital status change"
if itest_psql "DELETE FROM crvs.person_history" linkage_1 >/dev/null 2>&1; then itest_fail "person_history is not append-only"; fi

# A correction that removes the cause closes the item (kept, status closed).
psql -XAtq -d linkage_1 -v ON_ERROR_STOP=1 -c "$(link death_notice BV3/TB-9 '[]')" >/dev/null
itest_assert_eq "$(itest_psql "SELECT status FROM crvs.reconciliation WHERE reason = 'duplicate_death'" linkage_1)" "closed" "duplicate death closed"

# crvsctl reconcile list / resolve, audited.
sed -i 's/^pg.dbname = .*/pg.dbname = linkage_1/' "$ITEST_DIR/ctl.conf"
out=$(hub_ctl reconcile list)
echo "$out" | grep -q "by reason: birth_date_mismatch 1" || itest_fail "reconcile list: $out"
if echo "$out" | grep -E '[0-9]{12}'; then itest_fail "reconcile list shows a full personal ID"; fi
id=$(itest_psql "SELECT id FROM crvs.reconciliation WHERE reason = 'birth_date_mismatch'" linkage_1)
hub_ctl reconcile resolve "$id" --comment "hospital confirmed 1990-05-01" --by tester >/dev/null
itest_assert_eq "$(itest_psql "SELECT status || ' ' || resolved_by FROM crvs.reconciliation WHERE id = $id" linkage_1)" "resolved tester" "item resolved"
itest_assert_eq "$(itest_psql "SELECT detail->>'comment' FROM crvs.audit_log WHERE entity = 'reconciliation' AND entity_key = '$id' AND action = 'resolve'" linkage_1)" \
    "hospital confirmed 1990-05-01" "resolution in the audit trail"
hub_ctl reconcile list --status resolved | grep -q "birth_date_mismatch" || itest_fail "resolved item not listed"
if hub_ctl reconcile resolve 999999 --comment x >/dev/null 2>&1; then itest_fail "resolving a missing item succeeded"; fi

# A marriage load that loses a deadlock is rolled back and run again. The
# load takes the linker lock before the marriage's row (crvs.register_marriage),
# so the hub's own transactions cannot deadlock with it; a session stands in
# for one that could: it locks the marriage's row, then (while the load holds
# the linker lock and waits for the row) the linker lock. Only the load checks
# for the deadlock (the session's deadlock_timeout is long), so the load is the
# one PostgreSQL aborts.
P1=001090000901 P2=001190000902
itest_psql "SELECT crvs.register_marriage('UBND xã Thử', '1/2020', '2020-02-02', '$P1', '$P2', 'test')" linkage_1 >/dev/null
psql -XAtq -d linkage_1 -v ON_ERROR_STOP=1 >"$ITEST_DIR/locker.log" 2>&1 <<EOS &
SET deadlock_timeout = '20s';
BEGIN;
SELECT 1 FROM crvs.marriage WHERE registration_number = '1/2020' FOR UPDATE;
SELECT pg_sleep(0.6);
SELECT crvs.linker_lock(true);
SELECT pg_sleep(0.5);
COMMIT;
EOS
locker=$!
sleep 0.2
out=$(printf 'registry_office,registration_number,registration_date,spouse_a_personal_id,spouse_b_personal_id\nUBND xã Thử,1/2020,2020-02-02,%s,%s\n' \
      "$P1" "$P2" | hub_ctl marriage load - 2>&1) || { echo "$out" | sed -E 's/[0-9]{12}/<id>/g' >&2; itest_fail "marriage load failed"; }
wait "$locker" || { cat "$ITEST_DIR/locker.log" >&2; itest_fail "the locking session failed"; }
echo "$out" | grep -q "deadlock detected" || itest_fail "the load did not meet the deadlock (timing); output: $(echo "$out" | head -c 300)"
itest_assert_eq "$(echo "$out" | grep -c 'trying again')" 1 "the load retried once"
itest_assert_eq "$(itest_psql "SELECT status FROM crvs.marriage WHERE registration_number = '1/2020'" linkage_1)" \
    "REGISTERED" "the marriage registered after the retry"
itest_log "ok"
