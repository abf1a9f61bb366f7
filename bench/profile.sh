#!/usr/bin/env bash
# Where PostgreSQL spends a service's time (docs/performance.md): streams N
# records of TOPIC through one service instance with track_functions = all
# and auto_explain of the apply call, then prints the SQL functions by total
# and own (self) time, per record.
#
#   bench/profile.sh [TOPIC [N]]     defaults birth-certificate 5000
#
# Uses the release build of bench/run.sh (build-bench; BUILD_DIR overrides).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOPIC=${1:-birth-certificate}
N=${2:-5000}
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
itest_psql "SELECT pg_reload_conf()" >/dev/null
hub_start_service "$TOPIC" 1
hub_ctl loadgen --topic "$TOPIC" --count "$N" --duplicate-share 0.02 --correction-share 0.01 \
    --invalid-share 0.005 --publish --max-lag 5000 2>/dev/null
hub_wait_stored 3600 "$TOPIC"
sleep 1 # statistics are sent at transaction end, at most every 0.5 s
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
