#!/usr/bin/env bash
# Apache Kafka over its SASL_SSL listener (SCRAM-SHA-512 over TLS, the
# broker's certificate checked against the test CA): crvsctl publishes and
# the birth service reads and stores as on the plaintext listener. A wrong
# password or a CA that did not sign the broker's certificate gets nothing
# through: the service logs why, stays up and stores nothing. ACLs: each
# service's principal reads its own topic and group only (another topic,
# another group and publishing are refused with the reason), crvsctl's
# publishes.
set -euo pipefail
. "$(dirname "$0")/hub.sh"
itest_require_apache
hub_setup

# use_sasl FILE USER: the SASL_SSL client settings of USER replace the plaintext bootstrap list.
use_sasl() {
    local file=$1 user=$2
    sed -i '/^kafka\.bootstrap\.servers/d' "$file"
    itest_kafka client-config sasl_ssl "$user" >>"$file"
}
use_sasl "$ITEST_DIR/ctl.conf" crvs-ctl
use_sasl "$ITEST_DIR/birth-certificate.conf" crvs-birth-certificate
grep -q '^kafka.security.protocol = SASL_SSL' "$ITEST_DIR/birth-certificate.conf" || itest_fail "no SASL_SSL settings"

hub_start_service birth-certificate
hub_ctl loadgen --topic birth-certificate --count 1000 --seed 41 --publish >/dev/null \
    || itest_fail "publishing over SASL_SSL failed"
hub_wait_stored 120
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.birth_certificate")" 1000 "certificates stored over SASL_SSL"
hub_stop_service birth-certificate

# Refused: a wrong password, then a CA that is not the broker's. Each time
# the service stays up, says why, and nothing more is stored.
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=another CA" \
    -keyout "$ITEST_DIR/other-ca.key" -out "$ITEST_DIR/other-ca.pem" 2>/dev/null
inst=2
for case in password ca; do
    cp "$ITEST_DIR/birth-certificate.conf" "$ITEST_DIR/good.conf"
    if [ $case = password ]; then
        echo "kafka.sasl.password = not-the-password" >>"$ITEST_DIR/birth-certificate.conf"
        expect='Authentication failed|SASL authentication error'
    else
        echo "kafka.ssl.ca.location = $ITEST_DIR/other-ca.pem" >>"$ITEST_DIR/birth-certificate.conf"
        expect='certificate verify failed|SSL handshake failed'
    fi
    hub_ctl loadgen --topic birth-certificate --count 10 --seed $((41 + inst)) --start $((70000000 + inst * 100)) \
        --publish >/dev/null
    hub_start_service birth-certificate $inst
    log="$ITEST_DIR/birth-certificate.$inst.log"
    deadline=$((SECONDS + 30))
    until grep -qE "$expect" "$log"; do
        [ $SECONDS -lt $deadline ] || { tail -n 20 "$log" >&2; itest_fail "the service did not log why it is refused ($case)"; }
        sleep 0.5
    done
    itest_pid_alive "$(cat "$ITEST_DIR/birth-certificate.$inst.pid")" || itest_fail "the service exited ($case)"
    itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.birth_certificate")" 1000 \
        "certificates stored with a bad $case"
    itest_log "ok: refused with a bad $case: $(grep -oE "$expect" "$log" | head -n 1)"
    hub_stop_service birth-certificate $inst
    mv "$ITEST_DIR/good.conf" "$ITEST_DIR/birth-certificate.conf"
    inst=$((inst + 1))
done

# Back with the right settings, the 20 waiting certificates are stored.
hub_start_service birth-certificate $inst
hub_wait_stored 120
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.birth_certificate")" 1020 "certificates after the refusals"
# The password never reaches the log.
pw=$(awk '$1 == "crvs-birth-certificate" { print $2 }' "$ITEST_KAFKA_CLUSTER/users")
if grep -qF "$pw" "$ITEST_DIR"/birth-certificate.*.log; then itest_fail "a service log holds the SASL password"; fi

# ACLs: each service's principal may read its own topic and commit its own
# group, nothing else. The birth service's principal is refused the
# death-notice topic, the death-notice group, and writing to its own topic.
hub_ctl loadgen --topic death-notice --count 10 --seed 51 --publish >/dev/null || itest_fail "publishing deaths failed"
# refused NAME CONF EXPECT: a service started with CONF logs EXPECT, stays up and stores nothing.
refused() {
    local name=$1 conf=$2 expect=$3 log pid table before
    table=crvs.${name//-/_}
    before=$(itest_psql "SELECT count(*) FROM $table")
    log="$ITEST_DIR/$name.refused.log"
    "$MESON_BUILD_ROOT/services/$name/crvs-$name" -c "$conf" >"$log" 2>&1 &
    pid=$!
    local deadline=$((SECONDS + 30))
    until grep -qE "$expect" "$log"; do
        [ $SECONDS -lt $deadline ] || { kill "$pid"; tail -n 20 "$log" >&2; itest_fail "$name with $conf: no '$expect' logged"; }
        sleep 0.5
    done
    itest_pid_alive "$pid" || itest_fail "$name with $conf exited"
    kill "$pid"; wait "$pid" 2>/dev/null || true
    itest_assert_eq "$(itest_psql "SELECT count(*) - $before FROM $table")" 0 "records stored by $name with ${conf##*/}"
    if grep -qF "$pw" "$log"; then itest_fail "the log holds the SASL password"; fi
    itest_log "ok: refused: $(grep -oE "$expect" "$log" | head -n 1)"
}
hub_stop_all_services
# Another topic (in its own group, so that only the topic is refused).
cp "$ITEST_DIR/death-notice.conf" "$ITEST_DIR/death-as-birth.conf"
use_sasl "$ITEST_DIR/death-as-birth.conf" crvs-birth-certificate
echo "kafka.group.id = crvs-birth-certificate" >>"$ITEST_DIR/death-as-birth.conf"
refused death-notice "$ITEST_DIR/death-as-birth.conf" 'Topic authorization failed|TOPIC_AUTHORIZATION_FAILED'
# Its own topic, another service's group.
cp "$ITEST_DIR/birth-certificate.conf" "$ITEST_DIR/birth-other-group.conf"
echo "kafka.group.id = crvs-death-notice" >>"$ITEST_DIR/birth-other-group.conf"
refused birth-certificate "$ITEST_DIR/birth-other-group.conf" 'Group authorization failed|GROUP_AUTHORIZATION_FAILED'
# A service's principal cannot publish.
cp "$ITEST_DIR/ctl.conf" "$ITEST_DIR/ctl-as-birth.conf"
use_sasl "$ITEST_DIR/ctl-as-birth.conf" crvs-birth-certificate
rc=0; "$CTL" -c "$ITEST_DIR/ctl-as-birth.conf" loadgen --topic birth-certificate --count 1 --seed 52 --start 80000000 \
    --publish >"$ITEST_DIR/publish-as-birth.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || itest_fail "the birth service's principal could publish"
grep -qiE 'authorization failed|AUTHORIZATION_FAILED' "$ITEST_DIR/publish-as-birth.out" \
    || { cat "$ITEST_DIR/publish-as-birth.out" >&2; itest_fail "the refused publish does not say why"; }
itest_log "ok: a service's principal cannot publish"
# The death-notice service with its own principal stores its records.
use_sasl "$ITEST_DIR/death-notice.conf" crvs-death-notice
hub_start_service death-notice
hub_wait_stored 120 death-notice
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.death_notice")" 10 "death notices stored by their own service's principal"
itest_log "ok"
