#!/usr/bin/env bash
# The throughput and latency benchmark (docs/performance.md). Not a test:
# it prints figures and writes them as JSON; it fails only when a run is
# invalid (records lost or miscounted) or something does not start.
#
#   bench/run.sh [--count N] [--count-other N] [--topics "T ..."] [--latency-seconds S]
#                [--rates "R ..."] [--two-count N] [--linger MS] [--kafka devbroker|apache]
#                [--no-peer] [--backfill] [--pg-set NAME=VALUE]... [--out FILE] [--build DIR]
#
#   --count N           records of the birth-certificate hub run (default 1000000)
#   --count-other N     records of the death-notice and divorce-judgment hub runs (default 100000)
#   --topics "T ..."    topics to measure (default: all three)
#   --latency-seconds S length of each fixed-rate latency run (default 15)
#   --rates "R ..."     fixed rates in records/s (default "500 1000 5000")
#   --two-count N       records of the two-instance run per topic (default: the hub run's / 4, at most 100000)
#   --linger MS         the services' batch.linger.ms (default 5, as shipped and in the tests)
#   --kafka K           the broker: devbroker (default, the development broker) or apache
#                       (a local Apache Kafka cluster of CRVS_DEVKAFKA_BROKERS brokers, default 3;
#                       deploy/dev/kafka.sh; replication 3, min.insync.replicas 2)
#   --no-peer           skip the peer (bench/peer/peer.py, a plain at-least-once consumer)
#   --backfill          only step 1 (the hub run, with its checks and its progress every
#                       minute) per topic: a backfill of --count records through one instance,
#                       on a PostgreSQL set up for one (docs/operations.md, "PostgreSQL
#                       for a backfill": shared_buffers 2GB, max_wal_size 16GB,
#                       checkpoint_timeout 15min, wal_compression lz4)
#   --pg-set NAME=VALUE a PostgreSQL setting for the run (after --backfill's), repeatable
#   --out FILE          results (default bench/results/bench-<UTC time>.json)
#   --build DIR         release build folder (default build-bench)
#
# One PostgreSQL server (fsync and synchronous_commit on, track_commit_timestamp
# on for exact commit times) and one broker (the development broker, or an
# Apache Kafka cluster) with 2 partitions per topic are started in a
# temporary folder on free ports (tests/integration/lib.sh, hub.sh) and
# stopped at the end. Per topic, on the same tables:
#   1. hub: one service instance; `crvsctl loadgen --publish --max-lag`
#      streams N records (2% duplicates, 1% corrections, 0.5% invalid) while
#      the service consumes; timed from the first produce to the last stored
#      offset. The run is valid only if exactly the expected rows landed.
#   2. limit: the registry, audit and dead-letter rows that run wrote are
#      copied out and COPYed into empty tables with the same indexes in one
#      session and one transaction, timed (and again with the linkage facts).
#   3. peer: bench/peer/peer.py, a plain at-least-once consumer in Python
#      (upserts and audit rows into tables of its own, schema peer, offsets
#      committed to Kafka after the COMMIT), reads the same topic from the
#      beginning in a new group; timed from the assignment of its partitions
#      to its last offset commit. Valid only if it wrote one audit row per record.
#   4. latency: after VACUUM (ANALYZE) and a CHECKPOINT (settle), for each
#      rate, records produced at that rate; each record's
#      latency is the commit time of the transaction that wrote its audit row
#      (pg_xact_commit_timestamp) minus the time loadgen handed it to the
#      producer (--timestamps).
#   5. two instances of the service, one partition each.
#   6. linker catch-up: records stored with the instance's linker off (the
#      queue fills), then the instance started with its linker on, timed from
#      the start until the queue is empty.
# The hub runs also time "linked": from the first produce until the linker's
# queue is empty; the latency runs also give the linker's delay per record
# (its batch's commit to the commit of the fold that last changed its persons).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
COUNT=1000000
COUNT_OTHER=100000
TOPICS="birth-certificate death-notice divorce-judgment"
LAT_SECONDS=15
RATES="500 1000 5000"
TWO_COUNT=""
OUT=""
BUILD_DIR="$ROOT/build-bench"
# Records produced but not yet stored, at most: the development broker keeps
# about 5 MiB per partition (docs/kafka.md); 5000 records of < 1 KiB over 2
# partitions stay far below, and keep 10 batches of 500 waiting.
MAX_LAG=5000
PARTITIONS=2
PEER=1
BACKFILL=0
PG_SET=()
# The shipped batch.max.messages (the tests' configuration has 500);
# HUB_BATCH_MAX=N overrides.
export HUB_BATCH_MAX=${HUB_BATCH_MAX:-1000}

usage() {
    sed -n '6,28p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}
while [ $# -gt 0 ]; do
    case "$1" in
    --count) COUNT=$2; shift 2 ;;
    --count-other) COUNT_OTHER=$2; shift 2 ;;
    --topics) TOPICS=$2; shift 2 ;;
    --latency-seconds) LAT_SECONDS=$2; shift 2 ;;
    --rates) RATES=$2; shift 2 ;;
    --two-count) TWO_COUNT=$2; shift 2 ;;
    --linger) export HUB_BATCH_LINGER=$2; shift 2 ;;
    --kafka)
        case "${2:-}" in devbroker | apache) export ITEST_KAFKA=$2 ;; *) usage ;; esac
        shift 2
        ;;
    --no-peer) PEER=0; shift ;;
    --backfill) BACKFILL=1; shift ;;
    --pg-set)
        [[ ${2:-} =~ ^[a-z_]+=[^\']+$ ]] || usage
        PG_SET+=("$2")
        shift 2
        ;;
    --out) OUT=$2; shift 2 ;;
    --build) BUILD_DIR=$2; shift 2 ;;
    -h | --help) usage ;;
    *) usage ;;
    esac
done
case "$BUILD_DIR" in /*) ;; *) BUILD_DIR="$(pwd)/$BUILD_DIR" ;; esac
[ -n "$OUT" ] || OUT="$ROOT/bench/results/bench-$(date -u +%Y%m%dT%H%M%SZ).json"

"$ROOT/deploy/dev/deps.sh"
echo "==> release build in $BUILD_DIR" >&2
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
    meson setup "$BUILD_DIR" "$ROOT" -Dbuildtype=release -Dtests=disabled >/dev/null
fi
meson compile -C "$BUILD_DIR" >/dev/null

export MESON_SOURCE_ROOT=$ROOT MESON_BUILD_ROOT=$BUILD_DIR ITEST_PARTITIONS=$PARTITIONS
export ITEST_KAFKA_BROKERS=${CRVS_DEVKAFKA_BROKERS:-3}
unset ITEST_KAFKA_DIR # the benchmark's own cluster, never a shared one
# shellcheck source=tests/integration/hub.sh
. "$ROOT/tests/integration/hub.sh"
# shellcheck disable=SC2034 # lib.sh prefixes its log lines with it
ITEST_NAME=bench
hub_setup
export PGOPTIONS="-c client_min_messages=warning"
itest_psql "ALTER SYSTEM SET track_commit_timestamp = on" >/dev/null
if [ "$BACKFILL" -eq 1 ]; then
    PG_SET=(shared_buffers=2GB max_wal_size=16GB checkpoint_timeout=15min wal_compression=lz4 "${PG_SET[@]}")
fi
for kv in "${PG_SET[@]}"; do
    itest_psql "ALTER SYSTEM SET ${kv%%=*} = '${kv#*=}'" >/dev/null
done
itest_pg_stop 2>/dev/null
itest_pg_start 2>/dev/null
CLK_TCK=$(getconf CLK_TCK)
RESULTS="$ITEST_DIR/results.jsonl"
: >"$RESULTS"

now() { date +%s.%N; }
fsub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a - b }'; }
fdiv() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "null"; else printf "%.3f", a / b }'; }

# CPU seconds (user + system) of PIDs.
cpu_of() {
    local pid t=0 v
    for pid in "$@"; do
        v=$(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null || echo 0)
        t=$((t + v))
    done
    fdiv "$t" "$CLK_TCK"
}
# The PostgreSQL server's processes (postmaster and its children).
pg_pids() {
    local pm
    pm=$(sed -n 1p "$ITEST_DIR/pg/postmaster.pid")
    echo "$pm"
    pgrep -P "$pm" || true
}
# The PostgreSQL server's CPU seconds, with those of its processes that
# ended (the postmaster's cutime and cstime): a client's backend ends with
# the client, before its CPU could be read.
pg_cpu_all() {
    local pm
    pm=$(sed -n 1p "$ITEST_DIR/pg/postmaster.pid")
    # shellcheck disable=SC2046 # a list of pids
    awk -v a="$(cpu_of $(pg_pids))" -v k="$CLK_TCK" '{ printf "%.3f", a + ($16 + $17) / k }' "/proc/$pm/stat"
}
kib() { awk -v k="$2" '$1 == k":" { print $2 }' "/proc/$1/status"; }
# The broker's processes: the development broker, or every Apache Kafka broker.
broker_pids() {
    if [ "${ITEST_KAFKA:-devbroker}" = apache ]; then
        cat "$ITEST_KAFKA_CLUSTER"/broker-*/broker.pid
    else
        cat "$ITEST_DIR/devbroker.pid"
    fi
}

stored() { # stored records of TOPIC (sum of stored offsets)
    itest_psql "SELECT coalesce(sum(greatest(next_offset, 0)), 0) FROM crvs.consumer_offset
                WHERE consumer_group = 'crvs-$1' AND topic = '$1'"
}
# progress_start TOPIC BASE / progress_stop: "seconds stored" every minute
# in $ITEST_DIR/progress while a hub run goes on (the records it stored).
progress_start() {
    : >"$ITEST_DIR/progress"
    (
        t0=$SECONDS
        while sleep 60; do echo "$((SECONDS - t0)) $(($(stored "$1") - $2))" >>"$ITEST_DIR/progress"; done
    ) &
    PROGRESS_PID=$!
}
progress_stop() { kill "$PROGRESS_PID" 2>/dev/null || true; wait "$PROGRESS_PID" 2>/dev/null || true; }
wait_stored() { # TOPIC EXPECTED TIMEOUT_S: polls every 0.1 s
    local deadline=$((SECONDS + $3)) v
    while :; do
        v=$(stored "$1")
        [ "$v" -ge "$2" ] && return 0
        [ $SECONDS -lt $deadline ] || itest_fail "$1: $v of $2 records stored after $3 s"
        sleep 0.1
    done
}
queued() { itest_psql "SELECT records FROM crvs.link_lag(100000000)"; }
wait_linked() { # TIMEOUT_S: until the linker's queue is empty
    local deadline=$((SECONDS + $1)) v
    while :; do
        v=$(queued)
        [ "$v" -eq 0 ] && return 0
        [ $SECONDS -lt $deadline ] || itest_fail "$v records not linked after $1 s"
        sleep 0.1
    done
}
audit_rows() { itest_psql "SELECT count(*) FROM crvs.audit_log WHERE source_topic = '$1'"; }

entity_of() { echo "${1//-/_}"; }

start_instances() { # TOPIC N: N instances, waits until all partitions are assigned
    local topic=$1 n=$2 i deadline
    for i in $(seq 1 "$n"); do
        [ -f "$ITEST_DIR/$topic.$i.log" ] && mv "$ITEST_DIR/$topic.$i.log" "$ITEST_DIR/$topic.$i.log.prev"
        hub_start_service "$topic" "$i"
    done
    deadline=$((SECONDS + 60))
    while :; do
        local parts=0
        for i in $(seq 1 "$n"); do
            parts=$((parts + $(grep -c "event=partitions_assigned" "$ITEST_DIR/$topic.$i.log" || true)))
        done
        local owned
        owned=$(itest_psql "SELECT count(*) FROM crvs.consumer_offset WHERE topic = '$topic'")
        if [ "$parts" -ge "$n" ] && [ "$owned" -ge "$PARTITIONS" ]; then break; fi
        [ $SECONDS -lt $deadline ] || itest_fail "$topic: $n instance(s) not assigned within 60 s"
        sleep 0.2
    done
    sleep 1
}

# hub_run TOPIC N INSTANCES LABEL FIRST_NUMBER SEED: streams N records into
# the running instances, checks what landed, appends a JSON line.
hub_run() {
    local topic=$1 n=$2 inst=$3 label=$4 start=$5 seed=$6
    local entity table base audit0 dl0 reg0 pids=() i
    entity=$(entity_of "$topic")
    table="crvs.$entity"
    for i in $(seq 1 "$inst"); do pids+=("$(cat "$ITEST_DIR/$topic.$i.pid")"); done
    base=$(stored "$topic")
    audit0=$(audit_rows "$topic")
    dl0=$(itest_psql "SELECT count(*) FROM crvs.dead_letter WHERE source_topic = '$topic'")
    reg0=$(itest_psql "SELECT count(*) FROM $table")
    local svc_cpu0 pg_cpu0 broker_cpu0 t0 t1 t2
    svc_cpu0=$(cpu_of "${pids[@]}")
    # shellcheck disable=SC2046 # a list of pids
    pg_cpu0=$(cpu_of $(pg_pids))
    # shellcheck disable=SC2046
    broker_cpu0=$(cpu_of $(broker_pids))
    itest_log "$label: $topic, $n records, $inst instance(s)"
    t0=$(now)
    progress_start "$topic" "$base"
    hub_ctl loadgen --topic "$topic" --count "$n" --seed "$seed" --start "$start" \
        --duplicate-share 0.02 --correction-share 0.01 --invalid-share 0.005 \
        --publish --max-lag "$MAX_LAG" 2>"$ITEST_DIR/loadgen.out" \
        || { cat "$ITEST_DIR/loadgen.out" >&2; itest_fail "loadgen failed"; }
    # A second per 500 records at the least, an hour at the least.
    wait_stored "$topic" $((base + n)) $((n / 500 > 3600 ? n / 500 : 3600))
    t1=$(now)
    progress_stop
    wait_linked $((n / 500 > 3600 ? n / 500 : 3600))
    t2=$(now)
    # The batches (the services' batch_committed lines): how many, their
    # records, and the time inside their transactions (BEGIN to COMMIT,
    # attempts included). The writer thread logs a batch just after its
    # COMMIT: the last lines may need a moment to reach the logs.
    local k batches records tx_s
    for k in $(seq 1 50); do
        read -r batches records tx_s < <(for i in $(seq 1 "$inst"); do cat "$ITEST_DIR/$topic.$i.log"; done |
            awk '/event=batch_committed/ { b++; for (f = 1; f <= NF; f++) {
                     if ($f ~ /^records=/) r += substr($f, 9); if ($f ~ /^ms=/) t += substr($f, 4) } }
                 END { printf "%d %d %.3f\n", b, r, t / 1000 }')
        [ "$records" -ge "$n" ] && break
        sleep 0.1
    done
    local svc_cpu1 pg_cpu1 broker_cpu1 rss_peak=0 rss_now=0
    svc_cpu1=$(cpu_of "${pids[@]}")
    # shellcheck disable=SC2046
    pg_cpu1=$(cpu_of $(pg_pids))
    # shellcheck disable=SC2046
    broker_cpu1=$(cpu_of $(broker_pids))
    for i in "${pids[@]}"; do
        local h r
        h=$(kib "$i" VmHWM); r=$(kib "$i" VmRSS)
        [ "$h" -gt "$rss_peak" ] && rss_peak=$h
        [ "$r" -gt "$rss_now" ] && rss_now=$r
    done
    # The invariant: every record produced has one audit row (create,
    # correct, duplicate or dead_letter); the invalid ones are dead letters;
    # new registry rows are the records with a new business key.
    local line n_dup n_corr n_inval audit dl reg
    line=$(grep '^loadgen:' "$ITEST_DIR/loadgen.out")
    read -r n_dup n_corr n_inval < <(sed -E 's/.*\(([0-9]+) duplicates, ([0-9]+) corrections, ([0-9]+) invalid\).*/\1 \2 \3/' <<<"$line")
    audit=$(($(audit_rows "$topic") - audit0))
    dl=$(($(itest_psql "SELECT count(*) FROM crvs.dead_letter WHERE source_topic = '$topic'") - dl0))
    reg=$(($(itest_psql "SELECT count(*) FROM $table") - reg0))
    itest_assert_eq "$audit" "$n" "$label: audit rows = records produced"
    itest_assert_eq "$dl" "$n_inval" "$label: dead letters = invalid records produced"
    itest_assert_eq "$reg" $((n - n_dup - n_corr - n_inval)) "$label: new registry rows = records with a new key"
    local secs
    secs=$(fsub "$t1" "$t0")
    jq -nc --arg kind hub --arg topic "$topic" --arg lbl "$label" --argjson n "$n" \
        --argjson instances "$inst" --argjson seconds "$secs" \
        --argjson rps "$(fdiv "$n" "$secs")" \
        --argjson linked_seconds "$(fsub "$t2" "$t0")" \
        --argjson linked_rps "$(fdiv "$n" "$(fsub "$t2" "$t0")")" \
        --argjson cpu_per_1k "$(fdiv "$(fsub "$svc_cpu1" "$svc_cpu0")" "$(fdiv "$n" 1000)")" \
        --argjson pg_cpu_per_1k "$(fdiv "$(fsub "$pg_cpu1" "$pg_cpu0")" "$(fdiv "$n" 1000)")" \
        --argjson broker_cpu_per_1k "$(fdiv "$(fsub "$broker_cpu1" "$broker_cpu0")" "$(fdiv "$n" 1000)")" \
        --argjson rss_peak_mib "$(fdiv "$rss_peak" 1024)" --argjson rss_end_mib "$(fdiv "$rss_now" 1024)" \
        --argjson duplicates "$n_dup" --argjson corrections "$n_corr" --argjson invalid "$n_inval" \
        --argjson progress "$(jq -Rsc '[split("\n")[] | select(. != "") | split(" ") | map(tonumber)
                                         | {seconds:.[0], stored:.[1]}]' "$ITEST_DIR/progress")" \
        --argjson batches "$batches" --argjson tx_share "$(fdiv "$tx_s" "$(awk -v s="$secs" -v i="$inst" 'BEGIN { print s * i }')")" \
        '{kind:$kind, topic:$topic, "label":$lbl, records:$n, instances:$instances, seconds:$seconds,
          records_per_s:$rps, linked_seconds:$linked_seconds, linked_records_per_s:$linked_rps,
          service_cpu_s_per_1k:$cpu_per_1k, postgres_cpu_s_per_1k:$pg_cpu_per_1k,
          broker_cpu_s_per_1k:$broker_cpu_per_1k,
          rss_peak_mib:$rss_peak_mib, rss_end_mib:$rss_end_mib, batches:$batches,
          records_per_batch:($n / $batches), transaction_time_share:$tx_share,
          produced:{duplicates:$duplicates, corrections:$corrections, invalid:$invalid},
          progress:$progress, verified:true}' >>"$RESULTS"
    itest_log "$label: $(fdiv "$n" "$secs") records/s"
}

# limit_run TOPIC N: COPY of exactly the rows the hub run wrote.
limit_run() {
    local topic=$1 n=$2 entity d
    entity=$(entity_of "$topic")
    d="$ITEST_DIR/copy"
    mkdir -p "$d"
    psql -XAtq -v ON_ERROR_STOP=1 <<EOS
\copy (SELECT * FROM crvs.$entity) TO '$d/registry'
\copy (SELECT * FROM crvs.audit_log WHERE source_topic = '$topic') TO '$d/audit'
\copy (SELECT * FROM crvs.dead_letter WHERE source_topic = '$topic') TO '$d/dead_letter'
\copy (SELECT * FROM crvs.person_fact WHERE source_entity = '$entity') TO '$d/person_fact'
\copy (SELECT * FROM crvs.linked_record WHERE source_entity = '$entity') TO '$d/linked_record'
EOS
    local rows_reg rows_audit rows_dl
    rows_reg=$(wc -l <"$d/registry"); rows_audit=$(wc -l <"$d/audit"); rows_dl=$(wc -l <"$d/dead_letter")
    local secs=() with_linkage
    for with_linkage in 0 1; do
        psql -XAtq -v ON_ERROR_STOP=1 >/dev/null <<EOS
DROP SCHEMA IF EXISTS bench CASCADE;
CREATE SCHEMA bench;
CREATE TABLE bench.registry (LIKE crvs.$entity INCLUDING ALL);
CREATE TABLE bench.audit (LIKE crvs.audit_log INCLUDING ALL);
CREATE TABLE bench.dead_letter (LIKE crvs.dead_letter INCLUDING ALL);
CREATE TABLE bench.person_fact (LIKE crvs.person_fact INCLUDING ALL);
CREATE TABLE bench.linked_record (LIKE crvs.linked_record INCLUDING ALL);
CHECKPOINT;
EOS
        local extra="" t0 t1
        if [ $with_linkage -eq 1 ]; then
            extra="\\copy bench.person_fact FROM '$d/person_fact'
\\copy bench.linked_record FROM '$d/linked_record'"
        fi
        t0=$(now)
        psql -XAtq -v ON_ERROR_STOP=1 >/dev/null <<EOS
BEGIN;
\copy bench.registry FROM '$d/registry'
\copy bench.audit FROM '$d/audit'
\copy bench.dead_letter FROM '$d/dead_letter'
$extra
COMMIT;
EOS
        t1=$(now)
        secs+=("$(fsub "$t1" "$t0")")
    done
    itest_psql "DROP SCHEMA bench CASCADE" >/dev/null
    rm -rf "$d"
    jq -nc --arg topic "$topic" --argjson n "$n" --argjson reg "$rows_reg" --argjson audit "$rows_audit" \
        --argjson dl "$rows_dl" --argjson s0 "${secs[0]}" --argjson s1 "${secs[1]}" \
        --argjson r0 "$(fdiv "$n" "${secs[0]}")" --argjson r1 "$(fdiv "$n" "${secs[1]}")" \
        '{kind:"limit", topic:$topic, records:$n, rows:{registry:$reg, audit:$audit, dead_letter:$dl},
          seconds:$s0, records_per_s:$r0, with_linkage_facts:{seconds:$s1, records_per_s:$r1}}' >>"$RESULTS"
    itest_log "limit $topic: COPY $(fdiv "$n" "${secs[0]}") records/s"
}

# peer_run TOPIC N: bench/peer/peer.py, a plain at-least-once consumer,
# reads the records of the hub run from the beginning of the topic (a new
# group) into tables of its own (schema peer, LIKE the hub's, without the
# CHECK constraints: it does not validate), with the hub's instance stopped.
# On the development broker a partition keeps only about 5 MiB
# (docs/kafka.md): of a large hub run the peer reads what is left, the last
# records. Checks that it wrote one audit row per record it read, and one
# registry row per business key; appends a JSON line.
peer_run() {
    local topic=$1 n=$2 entity
    entity=$(entity_of "$topic")
    psql -XAtq -v ON_ERROR_STOP=1 >/dev/null <<EOS
DROP SCHEMA IF EXISTS peer CASCADE;
CREATE SCHEMA peer;
CREATE TABLE peer.$entity (LIKE crvs.$entity INCLUDING ALL EXCLUDING CONSTRAINTS);
CREATE SEQUENCE peer.${entity}_id_seq OWNED BY peer.$entity.id;
ALTER TABLE peer.$entity ALTER id SET DEFAULT nextval('peer.${entity}_id_seq');
CREATE TABLE peer.audit_log (LIKE crvs.audit_log INCLUDING ALL);
CREATE SEQUENCE peer.audit_log_id_seq OWNED BY peer.audit_log.id;
ALTER TABLE peer.audit_log ALTER id SET DEFAULT nextval('peer.audit_log_id_seq');
CHECKPOINT;
EOS
    local pg_cpu0 pg_cpu1 broker_cpu0 broker_cpu1 out
    pg_cpu0=$(pg_cpu_all)
    # shellcheck disable=SC2046
    broker_cpu0=$(cpu_of $(broker_pids))
    itest_log "peer: $topic, $n records"
    out=$(/usr/bin/python3 "$ROOT/bench/peer/peer.py" --bootstrap "$ITEST_BOOTSTRAP" --topic "$topic" \
        --count "$n" --group "peer-$topic" --schemas "$ROOT/schemas/avro" 2>"$ITEST_DIR/peer.log") \
        || { cat "$ITEST_DIR/peer.log" >&2; itest_fail "peer: $topic failed"; }
    pg_cpu1=$(pg_cpu_all)
    # shellcheck disable=SC2046
    broker_cpu1=$(cpu_of $(broker_pids))
    local records first end audit reg keys
    read -r records first end < <(jq -r '"\(.records) \(.topic_first_offset) \(.topic_end_offset)"' <<<"$out")
    itest_assert_eq "$end" "$n" "peer: the topic's end = records of the hub run"
    itest_assert_eq "$records" $((end - first)) "peer: records read = records the broker kept"
    if [ "$first" -gt 0 ]; then
        [ "${ITEST_KAFKA:-devbroker}" = devbroker ] || itest_fail "peer: $first records gone from $topic"
        itest_log "peer: the development broker kept the last $records of $n records (about 5 MiB per partition)"
    fi
    audit=$(itest_psql "SELECT count(*) FROM peer.audit_log WHERE source_topic = '$topic'")
    reg=$(itest_psql "SELECT count(*) FROM peer.$entity")
    itest_assert_eq "$audit" "$records" "peer: audit rows = records read"
    if [ "$first" -eq 0 ]; then # every record: one row per key, valid or not, as the hub's rows and dead letters
        keys=$(itest_psql "SELECT (SELECT count(*) FROM crvs.$entity)
                                  + (SELECT count(*) FROM crvs.dead_letter WHERE source_topic = '$topic')")
        itest_assert_eq "$reg" "$keys" "peer: registry rows = the hub's registry rows and dead letters"
    fi
    local hub_rps
    hub_rps=$(jq -s --arg t "$topic" 'map(select(.kind == "hub" and .label == "hub" and .topic == $t))[0].records_per_s' "$RESULTS")
    jq -c --arg topic "$topic" --argjson n "$n" --argjson reg "$reg" \
        --argjson pg_cpu_per_1k "$(fdiv "$(fsub "$pg_cpu1" "$pg_cpu0")" "$(fdiv "$records" 1000)")" \
        --argjson broker_cpu_per_1k "$(fdiv "$(fsub "$broker_cpu1" "$broker_cpu0")" "$(fdiv "$records" 1000)")" \
        --argjson hub_rps "$hub_rps" \
        '{kind:"peer", topic:$topic, records:.records, hub_records:$n, seconds:.seconds,
          records_per_s:.records_per_s, service_cpu_s_per_1k:(if .records > 0 then .cpu_seconds / .records * 1e6 | round / 1000 else null end),
          postgres_cpu_s_per_1k:$pg_cpu_per_1k, broker_cpu_s_per_1k:$broker_cpu_per_1k,
          registry_rows:$reg, topic_first_offset:.topic_first_offset,
          hub_over_peer:(if .records_per_s and $hub_rps then $hub_rps / .records_per_s * 1000 | round / 1000 else null end),
          verified:true}' <<<"$out" >>"$RESULTS"
    itest_psql "DROP SCHEMA peer CASCADE" >/dev/null
    itest_log "peer $topic: $(jq -r .records_per_s <<<"$out") records/s"
}

# settle: the latency runs measure the hub in steady state, not the vacuum
# and write-out of what the bulk run and the COPY left behind (after a
# million records autovacuum and a checkpoint took a core for minutes and put
# p99 at 500/s anywhere between 0.1 and 2 s): VACUUM (ANALYZE) what
# autovacuum would, then CHECKPOINT.
settle() {
    local t0=$SECONDS
    itest_psql "VACUUM (ANALYZE)" >/dev/null
    itest_psql "CHECKPOINT" >/dev/null
    itest_log "settled: VACUUM (ANALYZE) and CHECKPOINT in $((SECONDS - t0)) s"
}

# latency_run TOPIC RATE FIRST_NUMBER SEED: RATE x LAT_SECONDS new records.
latency_run() {
    local topic=$1 rate=$2 start=$3 seed=$4 n base t0 t1 entity
    entity=$(entity_of "$topic")
    n=$((rate * LAT_SECONDS))
    base=$(stored "$topic")
    itest_log "latency $topic at $rate/s ($n records)"
    t0=$(now)
    hub_ctl loadgen --topic "$topic" --count "$n" --seed "$seed" --start "$start" --rate "$rate" \
        --publish --max-lag 20000 --timestamps "$ITEST_DIR/stamps" 2>"$ITEST_DIR/loadgen.out" \
        || { cat "$ITEST_DIR/loadgen.out" >&2; itest_fail "loadgen failed"; }
    t1=$(now)
    wait_stored "$topic" $((base + n)) 7200
    local stats
    stats=$(psql -XAtq -v ON_ERROR_STOP=1 -F ' ' <<EOS
CREATE TEMP TABLE produced (key text, us bigint);
\copy produced FROM '$ITEST_DIR/stamps'
SELECT count(*),
       percentile_disc(0.50) WITHIN GROUP (ORDER BY ms), percentile_disc(0.95) WITHIN GROUP (ORDER BY ms),
       percentile_disc(0.99) WITHIN GROUP (ORDER BY ms), max(ms)
FROM (SELECT round((extract(epoch FROM pg_xact_commit_timestamp(a.xmin)) * 1e6 - p.us) / 1e3, 1) AS ms
      FROM produced p JOIN crvs.audit_log a
        ON a.entity = '$entity' AND a.entity_key = p.key AND a.action = 'create') l;
EOS
)
    local cnt p50 p95 p99 mx
    read -r cnt p50 p95 p99 mx <<<"$stats"
    itest_assert_eq "$cnt" "$n" "latency $topic $rate/s: records with a commit time = records produced"
    # The linker's delay per record: from its batch's commit to the commit
    # of the fold that last changed the persons it names (an upper bound: a
    # later fold that changes one of them again counts).
    wait_linked 600
    local lstats lcnt l50 l99 lmx
    lstats=$(psql -XAtq -v ON_ERROR_STOP=1 -F ' ' <<EOS
CREATE TEMP TABLE produced (key text, us bigint);
\copy produced FROM '$ITEST_DIR/stamps'
SELECT count(*), percentile_disc(0.50) WITHIN GROUP (ORDER BY ms),
       percentile_disc(0.99) WITHIN GROUP (ORDER BY ms), max(ms)
FROM (SELECT round(extract(epoch FROM max(pg_xact_commit_timestamp(pe.xmin))
                                      - pg_xact_commit_timestamp(a.xmin)) * 1e3, 1) AS ms
      FROM produced p
      JOIN crvs.audit_log a ON a.entity = '$entity' AND a.entity_key = p.key AND a.action = 'create'
      JOIN crvs.person_fact f ON f.source_key = p.key AND f.source_entity = '$entity'
      JOIN crvs.person pe ON pe.personal_id = f.personal_id
      GROUP BY p.key, a.xmin) l;
EOS
)
    read -r lcnt l50 l99 lmx <<<"$lstats"
    jq -nc --arg topic "$topic" --argjson rate "$rate" --argjson n "$n" \
        --argjson achieved "$(fdiv "$n" "$(fsub "$t1" "$t0")")" \
        --argjson p50 "$p50" --argjson p95 "$p95" --argjson p99 "$p99" --argjson max "$mx" \
        --argjson lcnt "${lcnt:-0}" --argjson l50 "${l50:-null}" --argjson l99 "${l99:-null}" \
        --argjson lmx "${lmx:-null}" \
        '{kind:"latency", topic:$topic, rate:$rate, records:$n, produced_per_s:$achieved,
          ms:{p50:$p50, p95:$p95, p99:$p99, max:$max},
          linker_ms:{records:$lcnt, p50:$l50, p99:$l99, max:$lmx}}' >>"$RESULTS"
    itest_log "latency $topic at $rate/s: p50 $p50 ms, p99 $p99 ms, max $mx ms; linker p50 $l50 ms, p99 $l99 ms ($lcnt records)"
}

# linker_run TOPIC N FIRST_NUMBER SEED: the linker's catch-up after a
# backlog: N records stored by the instance with its linker off (the queue
# fills; the ingest rate without the linker), then the instance restarted
# with its linker on, timed until the queue is empty.
linker_run() {
    local topic=$1 n=$2 start=$3 seed=$4 base t0 t1 t2 t3
    hub_stop_service "$topic" 1
    CRVS_LINKER_ENABLED=false start_instances "$topic" 1
    base=$(stored "$topic")
    itest_log "linker catch-up: $topic, $n records stored with the linker off"
    t0=$(now)
    hub_ctl loadgen --topic "$topic" --count "$n" --seed "$seed" --start "$start" \
        --publish --max-lag "$MAX_LAG" 2>"$ITEST_DIR/loadgen.out" \
        || { cat "$ITEST_DIR/loadgen.out" >&2; itest_fail "loadgen failed"; }
    wait_stored "$topic" $((base + n)) 3600
    t1=$(now)
    local backlog
    backlog=$(queued)
    itest_assert_eq "$backlog" "$n" "linker catch-up: records queued = records stored"
    hub_stop_service "$topic" 1
    settle
    # Timed from the process's start (its linker starts folding at once, as
    # the consumer joins its group) until the queue is empty.
    [ -f "$ITEST_DIR/$topic.1.log" ] && mv "$ITEST_DIR/$topic.1.log" "$ITEST_DIR/$topic.1.log.prev"
    t2=$(now)
    hub_start_service "$topic" 1
    wait_linked 3600
    t3=$(now)
    local deadline=$((SECONDS + 60)) # the latency runs need it assigned
    until grep -q "event=partitions_assigned" "$ITEST_DIR/$topic.1.log"; do
        [ $SECONDS -lt $deadline ] || itest_fail "$topic: not assigned within 60 s"
        sleep 0.2
    done
    sleep 1
    jq -nc --arg topic "$topic" --argjson n "$n" \
        --argjson ingest_rps "$(fdiv "$n" "$(fsub "$t1" "$t0")")" \
        --argjson catchup_s "$(fsub "$t3" "$t2")" --argjson catchup_rps "$(fdiv "$n" "$(fsub "$t3" "$t2")")" \
        '{kind:"linker", topic:$topic, records:$n, ingest_without_linker_per_s:$ingest_rps,
          catchup_seconds:$catchup_s, catchup_per_s:$catchup_rps}' >>"$RESULTS"
    itest_log "linker catch-up: $topic: ingest without the linker $(fdiv "$n" "$(fsub "$t1" "$t0")")/s, catch-up $(fdiv "$n" "$(fsub "$t3" "$t2")")/s"
}

seed=1
for topic in $TOPICS; do
    n=$COUNT
    [ "$topic" = birth-certificate ] || n=$COUNT_OTHER
    two=${TWO_COUNT:-$((n / 4 < 100000 ? n / 4 : 100000))}
    start_instances "$topic" 1
    hub_run "$topic" "$n" 1 hub 1 $((seed++))
    if [ "$BACKFILL" -eq 1 ]; then
        hub_stop_service "$topic" 1
        continue
    fi
    limit_run "$topic" "$n"
    if [ "$PEER" -eq 1 ]; then
        hub_stop_service "$topic" 1 # the peer has the machine to itself, as the hub had
        peer_run "$topic" "$n"
        start_instances "$topic" 1
    fi
    linker_run "$topic" "$two" 80000000 $((seed++))
    settle
    first=20000000
    for rate in $RATES; do
        latency_run "$topic" "$rate" "$first" $((seed++))
        first=$((first + 10000000))
    done
    hub_stop_service "$topic" 1
    start_instances "$topic" 2
    hub_run "$topic" "$two" 2 two_instances 90000000 $((seed++))
    hub_stop_service "$topic" 1
    hub_stop_service "$topic" 2
done

mkdir -p "$(dirname "$OUT")"
cores=$(nproc)
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
pgver=$(itest_psql "SHOW server_version")
broker="development broker (librdkafka mock cluster)"
if [ "${ITEST_KAFKA:-devbroker}" = apache ]; then
    # shellcheck disable=SC1091
    broker="Apache Kafka $(. "$ITEST_KAFKA_CLUSTER/cluster.env" && echo "$KAFKA_VERSION, $BROKERS broker(s)"), replication $((ITEST_KAFKA_BROKERS < 3 ? ITEST_KAFKA_BROKERS : 3))"
fi
jq -s --arg cpu "$cpu" --argjson cores "$cores" --arg pg "$pgver" --arg when "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    --arg broker "$broker" \
    --arg commit "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
    --argjson batch_max "$HUB_BATCH_MAX" --argjson linger "${HUB_BATCH_LINGER:-5}" \
    --argjson pgset "$(printf '%s\n' "${PG_SET[@]}" | jq -Rsc 'split("\n") | map(select(. != ""))')" \
    '{when:$when, commit:$commit, machine:{cpu:$cpu, cores:$cores, postgresql:$pg, postgresql_settings:$pgset}, broker:$broker,
      service:{batch_max_messages:$batch_max, batch_linger_ms:$linger}, results:.}' \
    "$RESULTS" >"$OUT"
"$ROOT/bench/report.sh" "$OUT"
echo "results: $OUT" >&2
