#!/usr/bin/env bash
# A backlog is written in full batches: batch.linger.ms bounds the wait for
# messages that have not arrived, not the decoding of those already fetched.
# With a linger of 0, 1,200 birth certificates waiting in the topic when the
# service starts are written in batches of batch.max.messages (500), not one
# by one, and every one of them lands.
set -euo pipefail
export ITEST_PARTITIONS=1 HUB_BATCH_LINGER=0 HUB_BATCH_MAX=500
. "$(dirname "$0")/hub.sh"
hub_setup

hub_ctl loadgen --topic birth-certificate --count 1200 --publish >/dev/null
hub_start_service birth-certificate
hub_wait_stored 120

log="$ITEST_DIR/birth-certificate.1.log"
sizes=$(sed -n 's/.*event=batch_committed records=\([0-9]*\) .*/\1/p' "$log" | tr '\n' ' ')
full=$(grep -c 'event=batch_committed records=500 ' "$log" || true)
[ "$full" -ge 2 ] || itest_fail "the backlog of 1,200 was not written in batches of 500: batch sizes $sizes"
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.birth_certificate")" 1200 "certificates stored"
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.audit_log WHERE action = 'create'")" 1200 "audit rows"
itest_log "ok: batch sizes $sizes"
