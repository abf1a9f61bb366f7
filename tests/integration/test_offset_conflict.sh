#!/usr/bin/env bash
# The stored offset moves under a running service (another member stored it,
# or an operator replays without stopping the service): the service's next
# batch finds a stored offset it did not write, rolls back, drops that batch
# and the one it was filling behind it, re-reads the stored offsets and goes
# on from there. Nothing is lost and nothing is stored twice: the re-read
# certificates are duplicates, every certificate is created once.
set -euo pipefail
export ITEST_PARTITIONS=1 HUB_BATCH_MAX=50
. "$(dirname "$0")/hub.sh"
hub_setup

group_topic="consumer_group = 'crvs-birth-certificate' AND topic = 'birth-certificate' AND partition = 0"
hub_start_service birth-certificate
hub_ctl loadgen --topic birth-certificate --count 1000 --publish >/dev/null
hub_wait_stored 120
itest_assert_eq "$(itest_psql "SELECT next_offset FROM crvs.consumer_offset WHERE $group_topic")" 1000 \
    "stored offset after the first 1,000"

# Back to 100 while the service runs and believes 1,000 is stored.
itest_psql "UPDATE crvs.consumer_offset SET next_offset = 100 WHERE $group_topic" >/dev/null
hub_ctl loadgen --topic birth-certificate --count 500 --seed 2 --start 50000000 --publish >/dev/null
hub_wait_stored 120

log="$ITEST_DIR/birth-certificate.1.log"
grep -q 'event=offset_conflict action=drop_batch_and_resync' "$log" ||
    itest_fail "no offset conflict logged after the stored offset moved"
itest_assert_eq "$(itest_psql "SELECT next_offset FROM crvs.consumer_offset WHERE $group_topic")" 1500 \
    "stored offset at the end"
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.birth_certificate")" 1500 "certificates stored"
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.audit_log WHERE action = 'create'")" 1500 \
    "certificates created (once each)"
# Offsets 100 to 999 were read again: each is a duplicate now.
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.audit_log WHERE action = 'duplicate'")" 900 \
    "re-read certificates audited as duplicates"
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.dead_letter")" 0 "dead letters"
itest_log "ok: $(grep -c 'event=offset_conflict' "$log") conflict(s), 900 re-read as duplicates, 1500 created once"
