#!/usr/bin/env bash
# Where PostgreSQL spends a service's time (docs/performance.md): streams N
# records of TOPIC through one service instance with track_functions = all
# and pg_stat_statements (every statement, nested ones included, with its
# planning time), then prints the SQL functions by total and own (self)
# time, and the statements by execution time, per record.
#
#   bench/profile.sh [TOPIC [N [RATE]]]     defaults birth-certificate 5000
#
# Without RATE the records are streamed as fast as the service takes them
# (full batches: throughput); with RATE, N records are first streamed so, then
# N more are produced at RATE/s and only those are profiled (small batches:
# latency).
#
# Uses the release build of bench/run.sh (build-bench; BUILD_DIR overrides).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOPIC=${1:-birth-certificate}
N=${2:-5000}
RATE=${3:-}
BUILD_DIR=${BUILD_DIR:-$ROOT/build-bench}
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
    meson setup "$BUILD_DIR" "$ROOT" -Dbuildtype=release -Dtests=disabled >/dev/null
fi
meson compile -C "$BUILD_DIR" >/dev/null

export MESON_SOURCE_ROOT=$ROOT MESON_BUILD_ROOT=$BUILD_DIR ITEST_PARTITIONS=2
# shellcheck source=tests/integration/hub.sh
. "$ROOT/tests/integration/hub.sh"
# shellcheck disable=SC2034 # lib.sh prefixes its log lines with it
ITEST_NAME=profile
hub_setup
itest_psql "ALTER SYSTEM SET track_functions = 'all'" >/dev/null
itest_psql "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'" >/dev/null
itest_pg_stop
itest_pg_start
# Its settings exist only once the library is loaded.
itest_psql "ALTER SYSTEM SET pg_stat_statements.track = 'all'" >/dev/null
itest_psql "ALTER SYSTEM SET pg_stat_statements.track_planning = on" >/dev/null
itest_psql "SELECT pg_reload_conf()" >/dev/null
itest_psql "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null
hub_start_service "$TOPIC" 1
# The benchmark's mix of duplicates, corrections and invalid records.
mix=(--duplicate-share 0.02 --correction-share 0.01 --invalid-share 0.005)
hub_ctl loadgen --topic "$TOPIC" --count "$N" "${mix[@]}" --publish --max-lag 5000 2>/dev/null
hub_wait_stored 3600 "$TOPIC"
log="$ITEST_DIR/$TOPIC.1.log"
if [ -n "$RATE" ]; then
    sleep 1
    itest_psql "SELECT pg_stat_statements_reset(), pg_stat_reset()" >/dev/null
    echo "=== profiled" >>"$log"
    hub_ctl loadgen --topic "$TOPIC" --count "$N" --seed 2 --start 50000000 --rate "$RATE" \
        "${mix[@]}" --publish --max-lag 20000 2>/dev/null
    hub_wait_stored 3600 "$TOPIC"
fi
# A backend sends its function statistics at most once a second, and all of
# them when it exits: stop the service before reading them.
hub_stop_service "$TOPIC" 1
sleep 1
from=1
[ -z "$RATE" ] || from='/=== profiled/'
sed -n "$from,\$p" "$log" | awk -F'ms=' '/event=batch_committed/ {
        split($0, r, "records="); split(r[2], n, " "); recs += n[1]; ms += $2; b++ }
    END { if (b) printf "%d batches of %.1f records on average, %.1f ms each (the service'"'"'s view, COMMIT included)\n", b, recs / b, ms / b }'
psql -X -P footer=off -v ON_ERROR_STOP=1 <<EOS
\echo SQL functions for $N records of $TOPIC (ms per record; total includes callees)
SELECT funcname, calls, round((total_time / $N)::numeric, 3) AS total_ms_per_record,
       round((self_time / $N)::numeric, 3) AS self_ms_per_record
FROM pg_stat_user_functions ORDER BY self_time DESC LIMIT 15;
EOS
psql -X -P footer=off -v ON_ERROR_STOP=1 <<EOS
\echo Tables: sequential scans and the rows they read, per record (a growing table scanned per record makes the hub slower as the registry grows)
SELECT relname, seq_scan, round(seq_tup_read::numeric / $N, 1) AS seq_rows_per_record, idx_scan,
       n_live_tup
FROM pg_stat_user_tables WHERE schemaname = 'crvs' ORDER BY seq_tup_read DESC LIMIT 8;
EOS
psql -X -P footer=off -v ON_ERROR_STOP=1 <<EOS
\echo Statements, nested ones included, by execution time (ms per record; plan: planning time)
SELECT calls, round((total_plan_time / $N)::numeric, 4) AS plan_ms_per_record,
       round((total_exec_time / $N)::numeric, 4) AS exec_ms_per_record, rows,
       left(regexp_replace(query, '\s+', ' ', 'g'), 90) AS statement
FROM pg_stat_statements WHERE query !~ 'pg_stat' ORDER BY total_exec_time DESC LIMIT 20;
EOS
