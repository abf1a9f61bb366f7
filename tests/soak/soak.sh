#!/usr/bin/env bash
# The soak under faults: continuous mixed load on the three topics while
# services, PostgreSQL and Kafka brokers fail at random; then an exact
# account of every message and a comparison with a fault-free run.
#
#   tests/soak/soak.sh [--minutes M] [--rate R] [--interval S] [--seed N] [--out FILE]
#
#   --minutes M    length of the load (default 2); faults run while it lasts
#   --rate R       records per second per topic (default 40)
#   --interval S   mean seconds between two faults (default 8)
#   --seed N       the load's and the faults' random seed (default 1)
#   --out FILE     the figures as JSON (default: none)
#
# Runs on Apache Kafka (ITEST_KAFKA=apache, which it sets): the shared
# cluster of ITEST_KAFKA_DIR, or its own of 3 brokers. Needs
# MESON_BUILD_ROOT (default build/). ./dev soak runs it; ./dev test runs a
# short one (test `soak`).
#
# The load: `crvsctl loadgen --publish` per topic at --rate, with duplicates,
# corrections and invalid records mixed in, and every ~20 s a burst of
# poison frames (not Avro, truncated, unknown schema id, bad UTF-8). Two
# instances of each service share a consumer group.
#
# The faults, one at a time every --interval seconds on average (the first
# five are one of each kind, so a short run sees them all):
#   kill     kill -9 of a service instance, restarted after 0-2 s
#   fence    SIGSTOP of a writing instance until another took its partitions
#            (at most 60 s), then SIGCONT: its batch in hand must be refused
#            by the fenced offset store (event=offset_conflict)
#   pg       PostgreSQL immediate shutdown (SIGQUIT), restarted after 1-4 s
#   broker   kill -9 of the broker leading a random partition, restarted
#            after 3-10 s
#   cluster  kill -9 of every broker, the cluster started again after 5-15 s
#
# At the end, per topic: published (the log ends) = created + corrected +
# duplicates + dead letters (audit), no offset audited twice, no gap, stored
# offsets = log ends; a fencing seen once two stops saw a takeover; no service exited by
# itself. Then one instance per service consumes the same topics into a new
# database with no faults, and the registry, persons, marriages and dead
# letters of both must be equal (digests), and so must their open
# reconciliation items.
set -euo pipefail
MINUTES=2 RATE=40 INTERVAL=8 SEED=1 OUT=""
while [ $# -gt 0 ]; do
    case "$1" in
    --minutes) MINUTES=$2; shift 2 ;;
    --rate) RATE=$2; shift 2 ;;
    --interval) INTERVAL=$2; shift 2 ;;
    --seed) SEED=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    *) sed -n '4,11p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
    esac
done
export ITEST_KAFKA=apache
. "$(dirname "$0")/../integration/hub.sh"
itest_require kcat
TOPICS=(birth-certificate death-notice divorce-judgment)
SERVICES=(birth-certificate death-notice divorce-judgment)
SESSION_S=6 # kafka.session.timeout.ms of the test configs (hub.sh)
RANDOM=$SEED
# A batch lingers up to 500 ms for more records (5 ms as shipped): at this
# load an instance almost always holds records not yet written, so one
# stopped past its session comes back with a batch its successor has
# already stored, and the fencing is exercised, not only possible.
export HUB_BATCH_LINGER=500

hub_setup
for s in "${SERVICES[@]}"; do hub_start_service "$s" 1; hub_start_service "$s" 2; done

# ---------------------------------------------------------------- load

# One producer per topic for the length of the load. A producer that meets
# a fatal error is started again for the time left, with new record numbers,
# as a hospital's system must recreate its producer: after every broker was
# killed, librdkafka's idempotent producer may find its sequence numbers out
# of step with the brokers' ("out of order sequence number") and stop. The
# accounting needs no count from the producers: it reads the log ends.
load_until=$((SECONDS + MINUTES * 60))
loader() {
    local t=$1 round=0 left
    while left=$((load_until - SECONDS)) && [ $left -gt 0 ]; do
        if hub_ctl loadgen --topic "$t" --count $((left * RATE)) --seed "$((SEED + round))" \
                --start $((round * 10000000 + 1)) --duplicate-share 0.04 --correction-share 0.03 \
                --invalid-share 0.02 --publish --rate "$RATE" \
                >>"$ITEST_DIR/loadgen-$t.out" 2>>"$ITEST_DIR/loadgen-$t.log"; then
            return 0
        fi
        echo "$t" >>"$ITEST_DIR/producer-restarts"
        round=$((round + 1))
    done
}
loaders=()
for t in "${TOPICS[@]}"; do
    loader "$t" &
    loaders+=($!)
done

# Poison frames made from a valid one (hex), as a careless producer sends them.
hub_ctl loadgen --topic birth-certificate --count 1 --seed "$SEED" --start 900000 \
    | hub_ctl publish --topic birth-certificate --dry-run --print-hex - 2>/dev/null | cut -f2 >"$ITEST_DIR/valid.hex"
valid_hex=$(head -n 1 "$ITEST_DIR/valid.hex")
[ -n "$valid_hex" ] || itest_fail "could not encode a record to make poison frames from"
poison_sent=0
send_poison() {
    local t=${TOPICS[RANDOM % 3]}
    {
        echo "7b226e6f74223a226176726f227d"            # JSON, not Avro
        echo "00000003e7${valid_hex:10}"                # unknown schema id 999
        echo "${valid_hex:0:$(( ${#valid_hex} / 2 ))}"  # truncated
        echo "${valid_hex:0:20}ff${valid_hex:22}"       # a byte of the body replaced
    } >"$ITEST_DIR/poison.hex"
    if hub_ctl publish --topic "$t" --raw-hex "$ITEST_DIR/poison.hex" >>"$ITEST_DIR/poison.log" 2>&1; then
        poison_sent=$((poison_sent + 4))
    else
        itest_log "poison publish to $t failed (a broker fault?): not counted, the log ends count"
    fi
}

# ---------------------------------------------------------------- faults

declare -A faults=([kill]=0 [fence]=0 [pg]=0 [broker]=0 [cluster]=0)
instances=()
for s in "${SERVICES[@]}"; do instances+=("$s 1" "$s 2"); done

loading() {
    local p
    for p in "${loaders[@]}"; do kill -0 "$p" 2>/dev/null && return 0; done
    return 1
}

# A service that exited without being killed by us is a failure of the run.
check_services() {
    local i name inst pid
    for i in "${instances[@]}"; do
        read -r name inst <<<"$i"
        pid=$(cat "$ITEST_DIR/$name.$inst.pid")
        itest_pid_alive "$pid" || itest_fail "service $name.$inst exited by itself (log: $name.$inst.log)"
    done
}

random_instance() { echo "${instances[RANDOM % ${#instances[@]}]}"; }

fault_kill() {
    local name inst
    read -r name inst <<<"$(random_instance)"
    kill -KILL "$(cat "$ITEST_DIR/$name.$inst.pid")"
    wait "$(cat "$ITEST_DIR/$name.$inst.pid")" 2>/dev/null || true
    sleep "$((RANDOM % 3))"
    hub_start_service "$name" "$inst"
    itest_log "fault kill: $name.$inst"
}

# busy_instance: "name inst" of an instance that committed a batch in the
# last 2 s (it owns partitions and records reach them), else a random one.
# Stopped past its session, such an instance comes back holding records its
# successor has stored meanwhile: the fencing is exercised, not only
# possible (an instance that owned nothing, just restarted after a kill,
# made a 2-minute run see no fencing).
busy_instance() {
    local name i
    declare -A before
    name=${SERVICES[RANDOM % ${#SERVICES[@]}]}
    for i in 1 2; do before[$i]=$(grep -c 'event=batch_committed' "$ITEST_DIR/$name.$i.log" || true); done
    sleep 2
    local busy=()
    for i in 1 2; do
        [ "$(grep -c 'event=batch_committed' "$ITEST_DIR/$name.$i.log" || true)" -gt "${before[$i]}" ] && busy+=("$i")
    done
    if [ ${#busy[@]} -eq 0 ]; then random_instance; else echo "$name ${busy[RANDOM % ${#busy[@]}]}"; fi
}

# count_in FILE PATTERN: lines of FILE matching PATTERN (0 when none).
count_in() { grep -c "$2" "$1" 2>/dev/null || true; }

# fault_fence: an instance stopped until its successor holds its partitions
# and has committed a batch there (on loaded cores the group may take longer
# than the session timeout to move them: a stop of a fixed length was once
# over before, and nothing was fenced), at most 60 s; then it goes on with
# the batch it held, which the fenced offset store must refuse. A stop that
# caught the instance inside its transaction holds the stored offset's row:
# the successor cannot claim the partition until it goes on, there is no
# takeover to fence, and the wait ends at 60 s. fence_takeovers counts the
# stops that saw the takeover.
fence_takeovers=0
fault_fence() {
    local name inst pid other log assigned committed waited=0
    read -r name inst <<<"$(busy_instance)"
    other=$((3 - inst))
    log="$ITEST_DIR/$name.$other.log"
    pid=$(cat "$ITEST_DIR/$name.$inst.pid")
    assigned=$(count_in "$log" 'event=partitions_assigned')
    kill -STOP "$pid"
    sleep "$SESSION_S"
    while [ "$(count_in "$log" 'event=partitions_assigned')" -le "$assigned" ] && [ $waited -lt 60 ]; do
        sleep 1; waited=$((waited + 1))
    done
    committed=$(count_in "$log" 'event=batch_committed')
    while [ "$(count_in "$log" 'event=batch_committed')" -le "$committed" ] && [ $waited -lt 60 ]; do
        sleep 1; waited=$((waited + 1))
    done
    kill -CONT "$pid"
    if [ $waited -lt 60 ]; then
        fence_takeovers=$((fence_takeovers + 1))
        itest_log "fault fence: $name.$inst stopped $((SESSION_S + waited)) s, until $name.$other took its partitions and wrote"
    else
        itest_log "fault fence: $name.$inst stopped $((SESSION_S + waited)) s; $name.$other did not take its partitions meanwhile (stopped inside its transaction)"
    fi
}

fault_pg() {
    local pm
    pm=$(head -n 1 "$ITEST_DIR/pg/postmaster.pid")
    kill -QUIT "$pm"
    while kill -0 "$pm" 2>/dev/null; do sleep 0.1; done
    sleep "$((1 + RANDOM % 4))"
    itest_pg_start >>"$ITEST_DIR/pg-restart.log" 2>&1 || itest_fail "PostgreSQL did not start again"
    itest_log "fault pg: immediate shutdown, restarted"
}

# Starts whatever broker is stopped and waits until the whole cluster
# answers. A broker that recovers slowly (kafka.sh waits 90 s for it; an
# hour of faults on 2 loaded cores has seen one take longer) is given three
# tries: the soak judges the hub, not how fast Kafka starts.
cluster_back() {
    local try
    for try in 1 2 3; do
        itest_kafka start >>"$ITEST_DIR/broker-faults.log" 2>&1 && return 0
        itest_log "the cluster is not whole yet after try $try: starting what is stopped again"
    done
    itest_fail "the Kafka cluster did not come back (broker-faults.log)"
}

fault_broker() {
    local t=${TOPICS[RANDOM % 3]} p=$((RANDOM % ${ITEST_PARTITIONS:-3})) leader
    leader=$(itest_kafka leader "$t" "$p" 2>/dev/null) || { itest_log "no leader for $t/$p now: fault skipped"; return 1; }
    itest_kafka kill "$leader" >>"$ITEST_DIR/broker-faults.log" 2>&1
    sleep "$((3 + RANDOM % 8))"
    itest_kafka restart "$leader" >>"$ITEST_DIR/broker-faults.log" 2>&1 || cluster_back
    itest_log "fault broker: leader $leader of $t/$p killed, restarted"
}

fault_cluster() {
    local id
    for id in $(seq 1 "$(itest_kafka bootstrap | tr ',' '\n' | wc -l)"); do
        itest_kafka kill "$id" >>"$ITEST_DIR/broker-faults.log" 2>&1 || true
    done
    sleep "$((5 + RANDOM % 11))"
    cluster_back
    itest_log "fault cluster: every broker killed, started again"
}

itest_on_exit 'for p in "${loaders[@]}"; do pkill -P "$p"; kill "$p"; done 2>/dev/null; itest_kafka start >/dev/null 2>&1 || true'
kinds=(kill fence pg broker cluster)
weighted=(kill kill kill kill kill kill kill kill kill kill kill kill fence pg pg broker broker cluster)
n=0 last_poison=$SECONDS
while loading; do
    sleep "$((INTERVAL / 2 + RANDOM % (INTERVAL + 1)))"
    loading || break
    check_services
    if [ $n -lt ${#kinds[@]} ]; then kind=${kinds[n]}; else kind=${weighted[RANDOM % ${#weighted[@]}]}; fi
    n=$((n + 1))
    if "fault_$kind"; then faults[$kind]=$((faults[$kind] + 1)); fi
    if [ $((SECONDS - last_poison)) -ge 20 ]; then send_poison; last_poison=$SECONDS; fi
done
for p in "${loaders[@]}"; do wait "$p"; done
restarts=0
[ ! -f "$ITEST_DIR/producer-restarts" ] || restarts=$(wc -l <"$ITEST_DIR/producer-restarts")
[ "$restarts" -eq 0 ] || itest_log "producers started again after a fatal error: $restarts (loadgen-*.log)"
send_poison
check_services
itest_log "load done; faults: kill=${faults[kill]} fence=${faults[fence]} pg=${faults[pg]} broker=${faults[broker]} cluster=${faults[cluster]}"

# ---------------------------------------------------------------- account

for t in "${TOPICS[@]}"; do hub_wait_stored 600 "$t"; done

# log_end TOPIC PARTITION: the broker's end offset (kcat -Q, timestamp -1).
log_end() {
    kcat -b "$ITEST_BOOTSTRAP" -Q -t "$1:$2:-1" 2>/dev/null | awk '{print $NF}'
}

published_total=0
for t in "${TOPICS[@]}"; do
    published=0
    for ((p = 0; p < ${ITEST_PARTITIONS:-3}; p++)); do
        end=$(log_end "$t" "$p")
        [[ $end =~ ^[0-9]+$ ]] || itest_fail "no log end for $t/$p from the broker ('$end')"
        published=$((published + end))
        # every offset of the partition audited exactly once, none missing
        itest_assert_eq "$(itest_psql "
            SELECT count(*) || ' ' || count(DISTINCT source_offset) || ' ' || coalesce(max(source_offset) + 1, 0)
            FROM crvs.audit_log
            WHERE source_topic = '$t' AND source_partition = $p
              AND action IN ('create', 'correct', 'duplicate', 'dead_letter')")" "$end $end $end" \
            "$t/$p: audited records, distinct offsets, highest offset + 1 = log end"
        itest_assert_eq "$(itest_psql "SELECT next_offset FROM crvs.consumer_offset
                                       WHERE topic = '$t' AND partition = $p")" "$end" "$t/$p: stored offset = log end"
    done
    read -r created corrected duplicates dead < <(itest_psql "
        SELECT count(*) FILTER (WHERE action = 'create'), count(*) FILTER (WHERE action = 'correct'),
               count(*) FILTER (WHERE action = 'duplicate'), count(*) FILTER (WHERE action = 'dead_letter')
        FROM crvs.audit_log WHERE source_topic = '$t'" -F ' ')
    itest_assert_eq "$((created + corrected + duplicates + dead))" "$published" \
        "$t: created $created + corrected $corrected + duplicates $duplicates + dead letters $dead = published"
    table=crvs.${t//-/_}
    itest_assert_eq "$(itest_psql "SELECT count(*) FROM $table")" "$created" "$t: registry rows = created"
    itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.dead_letter WHERE source_topic = '$t'")" "$dead" \
        "$t: dead-letter rows = audited dead letters"
    published_total=$((published_total + published))
done

fencings=$(cat "$ITEST_DIR"/*-*.[12].log | grep -c 'event=offset_conflict' || true)
# A takeover fences the stopped instance when it comes back holding records,
# almost always at this load; two takeovers without a fencing are a fault.
if [ "$fence_takeovers" -ge 2 ] && [ "$fencings" -eq 0 ]; then
    itest_fail "$fence_takeovers instances were stopped until another took their partitions, and no batch was ever refused by the fenced offset store"
fi
[ "$fencings" -gt 0 ] || itest_log "note: no batch was fenced ($fence_takeovers takeover(s) of ${faults[fence]} stop(s)); test_offset_conflict tests the fence itself"
itest_log "ok: fenced offset store refused $fencings batches"

# ---------------------------------------------------------------- compare

# The same topics into a new database, one instance per service, no faults.
itest_psql "CREATE DATABASE crvs_ref OWNER crvs_admin" >/dev/null
sed "s/^pg.dbname = .*/pg.dbname = crvs_ref/" "$ITEST_DIR/ctl.conf" >"$ITEST_DIR/ref-ctl.conf"
"$CTL" -c "$ITEST_DIR/ref-ctl.conf" migrate >"$ITEST_DIR/ref-migrate.log" 2>&1 \
    || { cat "$ITEST_DIR/ref-migrate.log"; itest_fail "migrating the reference database failed"; }
for s in "${SERVICES[@]}"; do
    { sed "s/^pg.dbname = .*/pg.dbname = crvs_ref/" "$ITEST_DIR/$s.conf"; echo "kafka.group.id = crvs-ref-$s"; } \
        >"$ITEST_DIR/$s.ref.conf"
    "$MESON_BUILD_ROOT/services/$s/crvs-$s" -c "$ITEST_DIR/$s.ref.conf" >>"$ITEST_DIR/$s.ref.log" 2>&1 &
    echo $! >"$ITEST_DIR/$s.ref.pid"
done
for s in "${SERVICES[@]}"; do
    "$CTL" -c "$ITEST_DIR/ref-ctl.conf" wait --topic "$s" --group "crvs-ref-$s" --timeout 600 \
        || itest_fail "the fault-free run did not store $s"
done

# digest DB: the registry rows by business key and content, persons,
# marriages and open reconciliation items (hub_registry_state) and dead
# letters.
digest() {
    {
        hub_registry_state "$1"
        psql -XAtq -d "$1" -v ON_ERROR_STOP=1 <<'EOS'
SELECT 'birth', facility_code, certificate_number, content_hash, version FROM crvs.birth_certificate ORDER BY 2, 3;
SELECT 'death', content_hash, version FROM crvs.death_notice ORDER BY 2;
SELECT 'divorce', content_hash, version FROM crvs.divorce_judgment ORDER BY 2;
SELECT 'dead_letter', source_topic, source_partition, source_offset, reason FROM crvs.dead_letter ORDER BY 2, 3, 4;
EOS
    } >"$ITEST_DIR/digest.$1"
    md5sum <"$ITEST_DIR/digest.$1" | cut -c1-32
}
d_soak=$(digest crvs)
d_ref=$(digest crvs_ref)
if [ "$d_soak" != "$d_ref" ]; then
    diff -u "$ITEST_DIR/digest.crvs_ref" "$ITEST_DIR/digest.crvs" | head -n 40 >&2
    itest_fail "the registry after the faults differs from the fault-free run's"
fi
itest_log "ok: registry, persons, marriages, open reconciliation items and dead letters equal the fault-free run's (md5 $d_soak)"

summary=$(jq -nc --argjson minutes "$MINUTES" --argjson rate "$RATE" --argjson published "$published_total" \
    --argjson poison "$poison_sent" --argjson kill "${faults[kill]}" --argjson fence "${faults[fence]}" \
    --argjson pg "${faults[pg]}" --argjson broker "${faults[broker]}" --argjson cluster "${faults[cluster]}" \
    --argjson fencings "$fencings" --arg digest "$d_soak" --argjson restarts "$restarts" \
    '{minutes: $minutes, rate_per_topic: $rate, published: $published, poison_frames: $poison,
      faults: {kill: $kill, fence: $fence, pg_crash: $pg, broker_kill: $broker, cluster_down: $cluster},
      fenced_batches: $fencings, producer_restarts: $restarts, digest: $digest, result: "exact"}')
echo "$summary"
[ -z "$OUT" ] || echo "$summary" >"$OUT"
itest_log "ok"
