#!/usr/bin/env bash
# Schema registry end to end, against tests/support/fake_registry (answers
# like the Confluent REST API; basic auth required):
#   - `crvsctl schema register` puts the birth schema in the registry under a
#     new id (not a local catalog id); `crvsctl publish` looks the id up
#     there; the service fetches the schema from the registry (after failing
#     over from a dead first URL) and stores the rows;
#   - a registry outage (503s, then hanging beyond the timeout) delays
#     messages written with a schema the service has not seen yet, without
#     dead letters; they land after the registry recovers;
#   - a frame naming an id the registry does not have is exactly one dead
#     letter, schema.unknown_id;
#   - no log holds the registry password.
set -euo pipefail
. "$(dirname "$0")/hub.sh"

FAKE="$MESON_BUILD_ROOT/tests/support/fake_registry"
[ -x "$FAKE" ] || itest_skip "fake_registry is not built in $MESON_BUILD_ROOT (needs libmicrohttpd)"
grep -q '#define HUB_HAVE_REGISTRY 1' "$MESON_BUILD_ROOT/hub_build.h" \
    || itest_skip "this build has no registry client (libcurl not found)"
hub_setup

SECRET="s3cret-$RANDOM$RANDOM"
"$FAKE" --first-id 7001 --auth "hub:$SECRET" --port-file "$ITEST_DIR/registry.port" \
    >>"$ITEST_DIR/fake-registry.1.log" 2>&1 &
echo $! > "$ITEST_DIR/fake-registry.1.pid" # stopped by hub_stop_all_services
for _ in $(seq 1 50); do [ -s "$ITEST_DIR/registry.port" ] && break; sleep 0.1; done
[ -s "$ITEST_DIR/registry.port" ] || itest_fail "fake_registry did not start"
REG_PORT=$(cat "$ITEST_DIR/registry.port")
REG_URL="http://127.0.0.1:$REG_PORT"

# reg_http METHOD PATH: the fake registry's answer body (control endpoints
# need no auth), over bash's /dev/tcp so that no curl program is needed.
reg_http() {
    local body
    exec 3<>"/dev/tcp/127.0.0.1/$REG_PORT"
    printf '%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n' "$1" "$2" >&3
    body=$(cat <&3)
    exec 3<&-
    printf '%s\n' "${body##*$'\r\n\r\n'}"
}
reg_control() {
    reg_http POST "/_fake/control?$1" | grep -q '"ok":true' || itest_fail "registry control $1 failed"
}
svc_log="$ITEST_DIR/birth-certificate.1.log"

# crvsctl: credentials inline; the service: from a file, and a dead first URL.
printf 'hub:%s\n' "$SECRET" > "$ITEST_DIR/registry.auth"
cat >> "$ITEST_DIR/ctl.conf" <<EOC
schema.registry.url = $REG_URL
schema.registry.basic.auth.user.info = hub:$SECRET
schema.registry.timeout.ms = 3000
EOC
cat >> "$ITEST_DIR/birth-certificate.conf" <<EOC
schema.registry.url = http://127.0.0.1:1, $REG_URL
schema.registry.basic.auth.file = $ITEST_DIR/registry.auth
schema.registry.connect.timeout.ms = 500
schema.registry.timeout.ms = 1500
EOC

# 1. Register; the id is the registry's, not the local catalog's 1001.
hub_ctl schema register --topic birth-certificate "$MESON_SOURCE_ROOT/schemas/avro/birth-certificate.v1.avsc" \
    > "$ITEST_DIR/register1.txt"
grep -q 'has no version yet' "$ITEST_DIR/register1.txt" || itest_fail "no compatibility verdict: $(cat "$ITEST_DIR/register1.txt")"
itest_assert_eq "$(sed -n 's/^registered subject=birth-certificate-value id=//p' "$ITEST_DIR/register1.txt")" 7001 "registry id of the birth schema"

# 2. Publish with the registry's id; the service fetches the schema.
"$CTL" loadgen --topic birth-certificate --count 30 --seed 21 > "$ITEST_DIR/births.jsonl"
sed -n 1,20p "$ITEST_DIR/births.jsonl" > "$ITEST_DIR/first.jsonl"
sed -n 21,30p "$ITEST_DIR/births.jsonl" > "$ITEST_DIR/second.jsonl"
hub_ctl publish --topic birth-certificate --dry-run --print-hex "$ITEST_DIR/first.jsonl" > "$ITEST_DIR/first.hex" 2>/dev/null
hex=$(head -n 1 "$ITEST_DIR/first.hex" | cut -f2)
itest_assert_eq "${hex:0:10}" "0000001b59" "frame header of a published message (id 7001)"
hub_start_service birth-certificate
hub_ctl publish --topic birth-certificate "$ITEST_DIR/first.jsonl" >/dev/null
hub_wait_stored 60
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.birth_certificate")" 20 "rows written with a registry schema"
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.dead_letter")" 0 "dead letters"
grep -q 'GET /schemas/ids/7001' "$ITEST_DIR/fake-registry.1.log" || itest_fail "the service did not ask the registry for id 7001"
grep -q 'event=registry_failover' "$svc_log" || itest_fail "no failover from the dead first URL in the service log"

# 3. A second version (same fields, another doc: a new id). The service is
#    stopped while it is registered and used, then starts during an outage.
hub_stop_service birth-certificate
jq -c '.doc = ((.doc // "") + " (second version)")' "$MESON_SOURCE_ROOT/schemas/avro/birth-certificate.v1.avsc" \
    > "$ITEST_DIR/birth-v2.avsc"
hub_ctl schema register --topic birth-certificate "$ITEST_DIR/birth-v2.avsc" > "$ITEST_DIR/register2.txt"
grep -q 'latest: compatible' "$ITEST_DIR/register2.txt" || itest_fail "no compatible verdict: $(cat "$ITEST_DIR/register2.txt")"
itest_assert_eq "$(sed -n 's/^registered subject=birth-certificate-value id=//p' "$ITEST_DIR/register2.txt")" 7002 "registry id of the second version"
hub_ctl publish --topic birth-certificate "$ITEST_DIR/second.jsonl" >/dev/null

reg_control "fail_count=1000000&fail_status=503"
hub_start_service birth-certificate
deadline=$((SECONDS + 30))
until grep -q 'event=decode_deferred.*schema.unavailable' "$svc_log"; do
    [ $SECONDS -lt $deadline ] || itest_fail "the service never deferred a message during the outage"
    sleep 0.2
done
sleep 2
reg_control "fail_count=0&delay_ms=4000" # now it hangs longer than the timeout
sleep 4
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.birth_certificate")" 20 "rows while the registry is down"
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.dead_letter")" 0 "dead letters while the registry is down"
grep -q 'event=decode_deferred.*unreachable within 1500 ms' "$svc_log" \
    || itest_fail "no timed-out registry call in the service log"
reg_control "delay_ms=0"
hub_wait_stored 60
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.birth_certificate")" 30 "rows after the registry recovered"
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.dead_letter")" 0 "dead letters after the outage"

# 4. An id the registry does not have: one dead letter, schema.unknown_id.
echo "00" "00001f3f" "${hex:10}" | tr -d ' ' > "$ITEST_DIR/unknown.hex"
hub_ctl publish --topic birth-certificate --raw-hex "$ITEST_DIR/unknown.hex" >/dev/null
hub_wait_stored 60
itest_assert_eq "$(itest_psql "SELECT count(*) || ' ' || string_agg(reason || ':' || schema_id, ',') FROM crvs.dead_letter")" \
    "1 schema.unknown_id:7999" "dead letters for an unknown registry id"
grep -q 'GET /schemas/ids/7999' "$ITEST_DIR/fake-registry.1.log" || itest_fail "the service did not ask the registry for id 7999"

# 5. Secrets stay out of every log and of crvsctl's output.
if grep -rqF "$SECRET" "$ITEST_DIR"/*.log "$ITEST_DIR"/*.txt; then itest_fail "a log holds the registry password"; fi
itest_log "ok"
