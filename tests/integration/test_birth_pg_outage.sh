#!/usr/bin/env bash
# PostgreSQL stops for a few seconds in the middle of a stream and comes
# back: the service waits, reconnects and resumes; nothing lost or doubled.
set -euo pipefail
. "$(dirname "$0")/hub.sh"
hub_setup
N=6000

"$CTL" loadgen --topic birth-certificate --count $N --seed 5 > "$ITEST_DIR/births.jsonl"
hub_start_service birth-certificate
head -n 2000 "$ITEST_DIR/births.jsonl" > "$ITEST_DIR/part1.jsonl"
tail -n +2001 "$ITEST_DIR/births.jsonl" > "$ITEST_DIR/part2.jsonl"
hub_ctl publish --topic birth-certificate "$ITEST_DIR/part1.jsonl" >/dev/null
itest_wait_for "SELECT count(*) > 0 FROM crvs.birth_certificate" t 60

itest_pg_stop
hub_ctl publish --topic birth-certificate "$ITEST_DIR/part2.jsonl" >/dev/null
sleep 4
itest_pg_start
hub_wait_stored 180

itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.birth_certificate")" $N "registry rows"
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.audit_log WHERE action = 'create'")" $N "create audit rows"
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.audit_log WHERE action <> 'create'")" 0 "other audit rows"
grep -qE 'event=(batch_retry|pg_unavailable)' "$ITEST_DIR"/birth-certificate.1.log || itest_fail "the service never saw the outage"
kill -0 "$(cat "$ITEST_DIR/birth-certificate.1.pid")" || itest_fail "the service died during the outage"
itest_log "ok"
