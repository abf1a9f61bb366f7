#!/usr/bin/env bash
# The metrics endpoint and the console over HTTPS (libmicrohttpd with
# GnuTLS; docs/security.md, "Encrypted connections"): with a certificate
# from a test CA made here, a service serves /metrics, /healthz and /readyz
# over TLS 1.2 or newer to a client that trusts the CA, refuses plain HTTP
# on that port and older TLS, and a client without the CA refuses the
# server; a certificate without its key is refused at start with the reason.
# crvsctl serve does the same for the console, its API still wanting the
# token.
set -euo pipefail
. "$(dirname "$0")/hub.sh"
itest_require openssl curl
hub_setup

tls=$ITEST_DIR/tls
itest_make_ca "$tls" ca
itest_make_cert "$tls" ca server

# A certificate without its key: the service does not start, and says why.
port=$(itest_free_port)
cp "$ITEST_DIR/birth-certificate.conf" "$ITEST_DIR/plain.conf"
printf 'http.port = %s\nhttp.tls.cert = %s\n' "$port" "$tls/server.crt" >>"$ITEST_DIR/birth-certificate.conf"
rc=0; timeout 20 "$MESON_BUILD_ROOT/services/birth-certificate/crvs-birth-certificate" \
    -c "$ITEST_DIR/birth-certificate.conf" >"$ITEST_DIR/no-key.log" 2>&1 || rc=$?
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || { cat "$ITEST_DIR/no-key.log" >&2; itest_fail "a service with a certificate and no key started (exit $rc)"; }
grep -q "HTTPS needs both a certificate and a key file" "$ITEST_DIR/no-key.log" \
    || { cat "$ITEST_DIR/no-key.log" >&2; itest_fail "no reason given"; }

# The service's endpoints over HTTPS.
printf 'http.port = %s\nhttp.tls.cert = %s\nhttp.tls.key = %s\n' "$port" "$tls/server.crt" "$tls/server.key" \
    | cat "$ITEST_DIR/plain.conf" - >"$ITEST_DIR/birth-certificate.conf"
hub_start_service birth-certificate
base=https://localhost:$port
code=000
for _ in $(seq 1 100); do
    code=$(curl -s --cacert "$tls/ca.crt" -o "$ITEST_DIR/metrics.txt" -w '%{http_code}' "$base/metrics" || true)
    [ "$code" = 200 ] && break
    sleep 0.1
done
itest_assert_eq "$code" 200 "GET /metrics over HTTPS, the CA trusted"
grep -q '^crvs_build_info{service="birth-certificate"' "$ITEST_DIR/metrics.txt" || itest_fail "not the service's metrics"
itest_assert_eq "$(curl -s --cacert "$tls/ca.crt" -o /dev/null -w '%{http_code}' "https://127.0.0.1:$port/healthz")" 200 \
    "GET /healthz over HTTPS by address"
rc=0; curl -s -o /dev/null "$base/metrics" || rc=$?
itest_assert_eq "$rc" 60 "curl without the CA: the server's certificate refused (curl exit 60)"
rc=0; curl -s -m 5 -o /dev/null "http://localhost:$port/metrics" || rc=$?
[ "$rc" -ne 0 ] || itest_fail "plain HTTP answered on the HTTPS port"
rc=0; curl -s --cacert "$tls/ca.crt" --tlsv1.0 --tls-max 1.1 -o /dev/null "$base/metrics" || rc=$?
[ "$rc" -ne 0 ] || itest_fail "TLS 1.1 accepted"
proto=$(curl -s --cacert "$tls/ca.crt" -o /dev/null -w '%{scheme} %{http_version}' -v "$base/metrics" 2>&1 | grep -o 'SSL connection using TLSv1\.[23]' | head -n 1)
[ -n "$proto" ] || itest_fail "no TLS 1.2 or 1.3 connection"
grep -q 'event=http_listening .* tls=on' "$ITEST_DIR/birth-certificate.1.log" || itest_fail "the service does not log tls=on"
itest_log "ok: the service's endpoints over HTTPS ($proto)"
hub_stop_service birth-certificate

# The console over HTTPS.
printf '%s\n' "$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$ITEST_DIR/console.token"
chmod 600 "$ITEST_DIR/console.token"
token=$(cat "$ITEST_DIR/console.token")
cport=$(itest_free_port)
"$CTL" -c "$ITEST_DIR/ctl.conf" serve --port "$cport" --token-file "$ITEST_DIR/console.token" --interval 1 \
    --tls-cert "$tls/server.crt" --tls-key "$tls/server.key" >"$ITEST_DIR/serve.log" 2>&1 &
serve_pid=$!
itest_on_exit "kill $serve_pid 2>/dev/null || true"
code=000
for _ in $(seq 1 100); do
    code=$(curl -s --cacert "$tls/ca.crt" -H "Authorization: Bearer $token" -o "$ITEST_DIR/api.json" -w '%{http_code}' \
        "https://localhost:$cport/api/status" || true)
    [ "$code" = 200 ] && break
    sleep 0.2
done
itest_assert_eq "$code" 200 "console API over HTTPS with the token"
jq -e '.services' "$ITEST_DIR/api.json" >/dev/null || itest_fail "the API did not answer the status"
itest_assert_eq "$(curl -s --cacert "$tls/ca.crt" -o /dev/null -w '%{http_code}' "https://localhost:$cport/api/status")" 401 \
    "console API over HTTPS without the token"
itest_assert_eq "$(curl -s --cacert "$tls/ca.crt" -o /dev/null -w '%{http_code}' "https://localhost:$cport/")" 200 "console page over HTTPS"
grep -q "console on https://" "$ITEST_DIR/serve.log" || itest_fail "crvsctl serve does not say https"
kill "$serve_pid"
wait "$serve_pid" 2>/dev/null || true
itest_log "ok"
