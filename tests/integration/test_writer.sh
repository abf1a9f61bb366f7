#!/usr/bin/env bash
# The batch writer's exactly-once core without a broker
# (tests/integration/writer_test.c): batches, the offset fence, duplicates
# and corrections, the per-record pass after a refused record, dead letters,
# a lost connection, offsets out of order; on this test's own PostgreSQL.
set -euo pipefail
. "$(dirname "$0")/hub.sh"
hub_setup
"$MESON_BUILD_ROOT/tests/integration/writer_test" || itest_fail "writer_test failed (above)"
itest_log "ok: writer_test"
