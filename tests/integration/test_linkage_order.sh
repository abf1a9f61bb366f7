#!/usr/bin/env bash
# Order independence end to end: the same births, death notices (with a
# correction), divorce judgments (with cancellations on review) and marriage
# register entries (tests/data/linkage-events.jsonl) go through Kafka and the
# three services one at a time in several orders, each order on a fresh broker
# and a fresh database. The persons, marriages and open reconciliation items
# must be identical, and the ones docs/linkage.md defines.
set -euo pipefail
. "$(dirname "$0")/hub.sh"
hub_setup
EVENTS="$MESON_SOURCE_ROOT/tests/data/linkage-events.jsonl"
SERVICES="birth-certificate death-notice divorce-judgment"
for s in $SERVICES; do
    [ -x "$MESON_BUILD_ROOT/services/$s/crvs-$s" ] || itest_fail "crvs-$s is not built"
done
itest_psql "CREATE DATABASE linkage_tpl TEMPLATE crvs" >/dev/null


# One order: a fresh broker (empty topics) and database, the services
# started on them, then each event published and waited for before the next.
run_order() {
    local n=$1; shift
    local db=linkage_$n name line topic
    hub_fresh_run "$n" "$db"
    for name in "$@"; do
        line=$(jq -c --arg n "$name" 'select(.name == $n)' "$EVENTS")
        if jq -e 'has("marriage")' <<<"$line" >/dev/null; then
            { echo "registry_office,registration_number,registration_date,spouse_a_personal_id,spouse_b_personal_id"
              jq -r .marriage <<<"$line"; } | hub_ctl marriage load - >/dev/null \
                || itest_fail "order $n: marriage $name not loaded"
        else
            topic=$(jq -r .topic <<<"$line")
            jq -c .doc <<<"$line" | hub_ctl publish --topic "$topic" - >/dev/null \
                || itest_fail "order $n: $name not published"
            hub_ctl wait --topic "$topic" --timeout 60 >/dev/null || {
                tail -n 20 "$ITEST_DIR"/*."$n".log >&2
                itest_fail "order $n: $name not stored within 60 s"
            }
        fi
    done
    hub_save_state "$n" "$db"
}

mapfile -t names < <(jq -r .name "$EVENTS")
# Each correction must follow what it corrects (same key, same partition:
# Kafka keeps their order; the registry row is the last version received).
fix_corrections() {
    local out=() pending=() l c
    for l in "$@"; do
        c=$(jq -r --arg n "$l" 'select(.name == $n) | .corrects // empty' "$EVENTS")
        if [ -n "$c" ] && ! printf '%s\n' "${out[@]}" | grep -qx "$c"; then pending+=("$l:$c"); continue; fi
        out+=("$l")
        for p in "${pending[@]}"; do [ "${p#*:}" = "$l" ] && out+=("${p%%:*}"); done
    done
    printf '%s\n' "${out[@]}"
}

orders=()
orders+=("${names[*]}")                                                      # as listed
orders+=("$(fix_corrections $(printf '%s\n' "${names[@]}" | tac) | xargs)")  # reversed
for seed in 11 23; do                                                        # shuffled
    orders+=("$(fix_corrections $(printf '%s\n' "${names[@]}" \
        | awk -v s="$seed" 'BEGIN { srand(s) } { printf "%f\t%s\n", rand(), $0 }' | sort -n | cut -f2) | xargs)")
done

n=0
for o in "${orders[@]}"; do
    n=$((n + 1))
    itest_log "order $n: $o"
    # shellcheck disable=SC2086
    run_order "$n" $o
done
hub_same_states "$n"

A=079190001234 B=001088005678 D=038050000111 E=031080000222 F=031182000333 G=001160000444
person() { hub_person "$1" linkage_1; }
itest_assert_eq "$(person $A)" "ALIVE - DIVORCED 2025-03-01 1990-05-01" "A: divorced; birth date by majority of three sources"
itest_assert_eq "$(person $B)" "ALIVE - DIVORCED 2025-03-01 1988-02-02" "B"
itest_assert_eq "$(person $D)" "DECEASED 2026-01-05 DIVORCED 2026-02-01 1950-07-07" "D: deceased from the corrected date"
itest_assert_eq "$(person $E)" "ALIVE - MARRIED 2000-01-01 -" "E: divorce cancelled on review"
itest_assert_eq "$(person $F)" "ALIVE - MARRIED 2000-01-01 -" "F: divorce cancelled on review"
itest_assert_eq "$(person $G)" "ALIVE - DIVORCED 2026-02-01 1960-03-03" "G"
itest_assert_eq "$(itest_psql "SELECT string_agg(registration_number || ' ' || status, ', ' ORDER BY registration_number) FROM crvs.marriage" linkage_1)" \
    "12/2015 DISSOLVED, 5/2000 REGISTERED" "marriage register"
itest_assert_eq "$(itest_psql "SELECT string_agg(reason, ' ' ORDER BY reason) FROM crvs.reconciliation WHERE status = 'open'" linkage_1)" \
    "birth_date_mismatch cancelled_judgment_not_found divorce_after_death duplicate_death marriage_not_found spouse_unidentified" \
    "open reconciliation items"
itest_assert_eq "$(tail -n 1 "$ITEST_DIR/state.1")" "records|2|2|5|0" "records stored, no dead letters"
if grep -E '[0-9]{12}' "$ITEST_DIR"/*-*.?.log; then itest_fail "a service log holds a 12-digit number"; fi
itest_log "ok"
