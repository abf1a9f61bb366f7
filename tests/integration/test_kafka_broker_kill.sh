#!/usr/bin/env bash
# Apache Kafka, 3 brokers: the leader of a partition the service reads is
# killed with SIGKILL while birth certificates stream in and death notices
# are read, and restarted a few seconds later. The partitions move to the
# other brokers (replication 3, min.insync.replicas 2: writes go on with two),
# the producer and the services follow them, and when all is read every
# record is in the registry exactly once: no loss, no double, no dead
# letter, the stored offsets equal the log ends.
set -euo pipefail
. "$(dirname "$0")/hub.sh"
itest_require_apache
hub_setup
[ "$(itest_kafka bootstrap | tr ',' '\n' | wc -l)" -ge 3 ] || itest_skip "needs a cluster of 3 brokers"
# A broker killed by this test is started again whatever happens, for the
# tests that share the cluster.
itest_on_exit 'itest_kafka start >/dev/null 2>&1 || true'

N=20000
D=6000
"$CTL" loadgen --topic death-notice --count $D --seed 12 > "$ITEST_DIR/deaths.jsonl"
hub_start_service birth-certificate
hub_start_service death-notice
# Birth certificates at 1,500/s: the producer is still sending while the
# broker is down and when it comes back.
hub_ctl loadgen --topic birth-certificate --count $N --seed 11 --rate 1500 --publish \
    > "$ITEST_DIR/publish.log" 2>&1 &
publisher=$!
hub_ctl publish --topic death-notice "$ITEST_DIR/deaths.jsonl" > "$ITEST_DIR/publish-deaths.log" 2>&1 &
publisher_deaths=$!

# Kill the leader of birth-certificate[0] once the stream is well under way.
for _ in $(seq 1 600); do
    [ "$(itest_psql "SELECT count(*) FROM crvs.birth_certificate")" -ge $((N / 5)) ] && break
    sleep 0.1
done
leader=$(itest_kafka leader birth-certificate 0)
itest_kafka kill "$leader"
at=$(itest_psql "SELECT count(*) FROM crvs.birth_certificate")
itest_log "killed broker $leader (leader of birth-certificate[0]) with $at of $N certificates stored"
kill -0 "$publisher" 2>/dev/null || itest_fail "the producer had finished before the broker was killed"

# The partition has another leader while the broker is down.
deadline=$((SECONDS + 60))
until new=$(itest_kafka leader birth-certificate 0 2>/dev/null) && [ "$new" != "$leader" ]; do
    [ $SECONDS -lt $deadline ] || itest_fail "birth-certificate[0] has no new leader 60 s after broker $leader died"
    sleep 0.5
done
itest_log "ok: birth-certificate[0] led by broker $new while broker $leader is down"
sleep 5
itest_kafka restart "$leader" 2>>"$ITEST_DIR/broker-start.log" || itest_fail "broker $leader did not come back"
itest_log "broker $leader restarted"

kill -0 "$publisher" 2>/dev/null && itest_log "ok: the producer was still sending when the broker came back"
wait "$publisher" || { cat "$ITEST_DIR/publish.log"; itest_fail "publish failed (a message not acknowledged)"; }
wait "$publisher_deaths" || { cat "$ITEST_DIR/publish-deaths.log"; itest_fail "publishing the death notices failed"; }
hub_wait_stored 300 birth-certificate
hub_wait_stored 120 death-notice

for svc in birth-certificate death-notice; do
    itest_pid_alive "$(cat "$ITEST_DIR/$svc.1.pid")" || itest_fail "service $svc died"
done
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.birth_certificate")" $N "birth certificates"
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.death_notice")" $D "death notices"
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.audit_log WHERE action = 'create'")" $((N + D)) \
    "create audit rows"
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.audit_log WHERE action <> 'create'")" 0 \
    "other audit rows (a message read or written twice would show as a duplicate)"
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.dead_letter")" 0 "dead letters"
# The idempotent producer wrote each message once, and the stored offsets
# reach the log ends: the sums equal the counts.
itest_assert_eq "$(itest_psql "SELECT sum(next_offset) FROM crvs.consumer_offset WHERE topic = 'birth-certificate'")" \
    $N "sum of stored offsets, birth-certificate"
itest_assert_eq "$(itest_psql "SELECT sum(next_offset) FROM crvs.consumer_offset WHERE topic = 'death-notice'")" \
    $D "sum of stored offsets, death-notice"
itest_log "ok"
