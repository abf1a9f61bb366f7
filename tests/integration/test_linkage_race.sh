#!/usr/bin/env bash
# Two batches of the linkage racing, as two instances of the divorce service
# writing two partitions at the same moment do: the first holds its locks
# (its transaction open), the second has read what it touches and waits for
# them, then the first commits. The state after must be the one applying the
# two batches one after the other leaves (docs/linkage.md, "Concurrent
# batches"):
#   1. a cancellation holds, the judgment it names waits;
#   2. the judgment holds, its cancellation waits;
#   3. the judgment holds, a cancellation naming no person waits (the
#      spouses are known only through the judgment).
# The test interleaves the two transactions itself, through a third session
# holding an advisory lock the first waits on before COMMIT: no timing.
set -euo pipefail
. "$(dirname "$0")/hub.sh"
hub_setup

E=031080000222  # man, 1980
F=031182000333  # woman, 1982
GATE=4242       # the advisory lock of the test's third session

fact() { # fact ID ROLE KIND DATE SEX [extra json]
    printf '{%s"role":"%s","kind":"%s","effective_date":"%s","sex":"%s"%s}' \
        "${1:+\"personal_id\":\"$1\",}" "$2" "$3" "$4" "$5" "${6:+,$6}"
}
link() { # link KEY FACTS-JSON: one divorce-judgment record's facts
    printf "SELECT crvs.person_link('divorce_judgment', '%s', '%s'::jsonb, '[]'::jsonb, '{}');" "$1" "$2"
}

MARRIAGE='"marriage":{"registration_number":"99/2010","registry_office":"UBND2"}'
JUDGMENT=$(link TA2/5/2024 "[$(fact $E spouse_a divorce 2024-06-01 MALE "$MARRIAGE"),$(fact $F spouse_b divorce 2024-06-01 FEMALE)]")
CANCEL=$(link TA2/7/2024 "[$(fact $E spouse_a cancellation 2024-09-01 MALE '"cancels":"TA2/5/2024"'),$(fact $F spouse_b cancellation 2024-09-01 FEMALE '"cancels":"TA2/5/2024"')]")
CANCEL_NO_PERSON=$(link TA2/8/2024 "[$(fact '' spouse_a cancellation 2024-09-01 MALE '"cancels":"TA2/5/2024"')]")
MARRY="SELECT crvs.register_marriage('UBND2', '99/2010', '2010-01-01', '$E', '$F', 'test');"

itest_psql "CREATE DATABASE race_tpl TEMPLATE crvs" >/dev/null
itest_psql "$MARRY" -d race_tpl >/dev/null

waiting() { # waiting DB: advisory locks waited for in DB
    itest_psql "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database
                WHERE l.locktype = 'advisory' AND NOT l.granted AND d.datname = '$1'"
}

wait_for_waiting() { # wait_for_waiting DB N
    local deadline=$((SECONDS + 60)) n
    while n=$(waiting "$1"); [ "$n" != "$2" ]; do
        [ $SECONDS -lt $deadline ] || itest_fail "$1: waited 60 s for $2 sessions to wait on a lock (now $n)"
        sleep 0.1
    done
}

# race NAME FIRST-SQL SECOND-SQL: FIRST holds its locks until SECOND waits.
race() {
    local db=race_$1 first=$2 second=$3
    itest_psql "CREATE DATABASE $db TEMPLATE race_tpl" >/dev/null
    coproc GATE_SESSION { psql -XAtq -d "$db" -v ON_ERROR_STOP=1; }
    local gate_in=${GATE_SESSION[1]} gate_out=${GATE_SESSION[0]} gate_pid=$GATE_SESSION_PID reply
    echo "SELECT pg_advisory_lock($GATE); SELECT 'gate';" >&"$gate_in"
    read -r reply <&"$gate_out"; read -r reply <&"$gate_out"
    [ "$reply" = gate ] || itest_fail "$db: the gate session did not take its lock"

    psql -XAtq -d "$db" -v ON_ERROR_STOP=1 >/dev/null <<EOS &
BEGIN;
$first
SELECT pg_advisory_xact_lock($GATE);
COMMIT;
EOS
    local p1=$!
    wait_for_waiting "$db" 1
    psql -XAtq -d "$db" -v ON_ERROR_STOP=1 -c "$second" >/dev/null &
    local p2=$!
    wait_for_waiting "$db" 2
    echo "SELECT pg_advisory_unlock($GATE);" >&"$gate_in"
    exec {gate_in}>&-
    wait "$gate_pid" || true
    wait "$p1" || itest_fail "$db: the first batch failed"
    wait "$p2" || itest_fail "$db: the second batch failed"
    hub_registry_state "$db" > "$ITEST_DIR/state.$1"
}

# one_after_other NAME SQL...: the same batches, each committed before the next.
one_after_other() {
    local name=$1 db=seq_$1 sql
    shift
    itest_psql "CREATE DATABASE $db TEMPLATE race_tpl" >/dev/null
    for sql in "$@"; do itest_psql "$sql" -d "$db" >/dev/null; done
    hub_registry_state "$db" > "$ITEST_DIR/state.seq_$name"
}

check() { # check NAME WHAT
    diff -u "$ITEST_DIR/state.seq_$1" "$ITEST_DIR/state.$1" >&2 \
        || itest_fail "$2: the raced state differs from the sequential one (above)"
    local open marriage spouses
    open=$(itest_psql "SELECT count(*) FROM crvs.reconciliation
                       WHERE status = 'open' AND reason = 'cancelled_judgment_not_found'" -d "race_$1")
    marriage=$(itest_psql "SELECT status FROM crvs.marriage WHERE registration_number = '99/2010'" -d "race_$1")
    spouses=$(itest_psql "SELECT string_agg(marital_status, ' ' ORDER BY personal_id) FROM crvs.person
                          WHERE personal_id IN ('$E', '$F')" -d "race_$1")
    itest_assert_eq "$open" 0 "$2: open cancelled_judgment_not_found items"
    itest_assert_eq "$marriage" REGISTERED "$2: the marriage (its divorce is cancelled)"
    itest_assert_eq "$spouses" "MARRIED MARRIED" "$2: the spouses' marital status"
}

race cancel_first "$CANCEL" "$JUDGMENT"
one_after_other cancel_first "$CANCEL" "$JUDGMENT"
check cancel_first "a cancellation holding, its judgment waiting"

race judgment_first "$JUDGMENT" "$CANCEL"
one_after_other judgment_first "$JUDGMENT" "$CANCEL"
check judgment_first "a judgment holding, its cancellation waiting"

race no_person "$JUDGMENT" "$CANCEL_NO_PERSON"
one_after_other no_person "$JUDGMENT" "$CANCEL_NO_PERSON"
check no_person "a judgment holding, a cancellation naming no person waiting"

itest_log "three races of two batches: the sequential state each time"
