#!/usr/bin/env bash
# The operators' console (crvsctl serve) in headless Chromium: for a known
# scenario (30 certificates stored, 4 undecodable messages dead-lettered, 5
# waiting while the service is stopped, one open reconciliation item) the
# page's DOM shows those counts, the masked personal ID and no full one;
# the status API wants the token, from the Authorization header only (the
# page takes it from its address's #fragment), never from the URL's query; a console bound beyond localhost without
# a token refuses to start; markup in the data (a published divorce
# judgment's marriage registry office, quoted by the linker's item, and an
# item's reason and detail) is shown as text, never made elements or run. The
# console connects as a reader (crvs_reader). A screenshot is kept as a test artifact:
# meson-logs/console.png in the build folder.
set -euo pipefail
. "$(dirname "$0")/hub.sh"

[ -n "$HUB_CHROMIUM" ] || itest_skip "chromium is not installed (Debian package chromium; deploy/dev/deps.sh installs it)"
itest_require curl jq
hub_setup

"$CTL" loadgen --topic birth-certificate --count 35 --seed 5 > "$ITEST_DIR/all.jsonl"
sed -n 1,30p "$ITEST_DIR/all.jsonl" > "$ITEST_DIR/stored.jsonl"
sed -n 31,35p "$ITEST_DIR/all.jsonl" > "$ITEST_DIR/waiting.jsonl"
hub_start_service birth-certificate
hub_ctl publish --topic birth-certificate "$ITEST_DIR/stored.jsonl" >/dev/null
hub_ctl publish --topic birth-certificate --raw-hex "$MESON_SOURCE_ROOT/tests/data/birth-certificates.invalid.hex" >/dev/null
hub_wait_stored 60
hub_stop_service birth-certificate
hub_ctl publish --topic birth-certificate "$ITEST_DIR/waiting.jsonl" >/dev/null
# One open reconciliation item with a (synthetic) personal ID.
itest_psql "INSERT INTO crvs.reconciliation (reason, scope, natural_key, personal_id, detail)
            VALUES ('console_test', 'test', 'console-test-1', '001203000123', 'an item for the console test')" >/dev/null
# A divorce judgment whose marriage's registry office carries markup: the
# marriage is not in the register, so the linker opens an item whose detail
# quotes the producer's text. The page must show it as text, never as
# elements or script.
head -n 1 "$MESON_SOURCE_ROOT/tests/data/divorce-judgments.jsonl" | jq -c '
    .judgment_number = "CONSOLE/2026" | .event_id = "console-markup-1"
    | .marriage.registration_number = "<b id=\"injected-number\">9</b>"
    | .marriage.registry_office = "<img src=x onerror=\"document.body.setAttribute(\u0027data-pwned\u0027,\u00273\u0027)\"><b id=\"injected-office\">office</b>"' \
    >"$ITEST_DIR/markup-divorce.jsonl"
hub_start_service divorce-judgment
hub_ctl publish --topic divorce-judgment "$ITEST_DIR/markup-divorce.jsonl" >/dev/null
itest_wait_for "SELECT count(*) FROM crvs.reconciliation WHERE reason = 'marriage_not_found'
                AND detail LIKE '%injected-office%'" 1 60
hub_stop_service divorce-judgment
# And an item whose reason and detail carry markup (written directly).
itest_psql "INSERT INTO crvs.reconciliation (reason, scope, natural_key, detail)
            VALUES ('<b id=\"injected-reason\">x</b>', 'test', 'console-test-2',
                    '<img src=x onerror=\"document.body.setAttribute(''data-pwned'',''1'')\"><script>document.body.setAttribute(''data-pwned'',''2'')</script><b id=\"injected\">bold</b>')" >/dev/null
open_items=$(itest_psql "SELECT count(*) FROM crvs.reconciliation WHERE status = 'open'")

# Beyond localhost, no token: refused at once.
rc=0; hub_ctl serve --bind 0.0.0.0 --port "$(itest_free_port)" >/dev/null 2>"$ITEST_DIR/refused.err" || rc=$?
itest_assert_eq "$rc" 1 "serve on 0.0.0.0 without a token"
grep -q "needs --token-file" "$ITEST_DIR/refused.err" || itest_fail "no reason given: $(cat "$ITEST_DIR/refused.err")"

token=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf '%s\n' "$token" > "$ITEST_DIR/console.token"
chmod 600 "$ITEST_DIR/console.token"
port=$(itest_free_port) || itest_fail "no free port"
# The console connects as a reader (crvs_reader: no personal data).
itest_psql "CREATE ROLE console_view LOGIN IN ROLE crvs_reader" >/dev/null
CRVS_PG_USER=console_view "$CTL" -c "$ITEST_DIR/ctl.conf" serve --port "$port" --token-file "$ITEST_DIR/console.token" --interval 1 --max-lag 0 \
    >>"$ITEST_DIR/serve.log" 2>&1 &
serve_pid=$!
itest_on_exit "kill $serve_pid 2>/dev/null; wait $serve_pid 2>/dev/null"
base="http://127.0.0.1:$port"

# The API: token required; the first gathering takes a moment.
deadline=$((SECONDS + 30)); code=""
while [ $SECONDS -lt $deadline ]; do
    code=$(curl -s -o "$ITEST_DIR/api.json" -w '%{http_code}' -H "Authorization: Bearer $token" "$base/api/status" || true)
    [ "$code" = 200 ] && break
    sleep 0.3
done
itest_assert_eq "$code" 200 "GET /api/status with the token"
itest_assert_eq "$(curl -s -o /dev/null -w '%{http_code}' "$base/api/status")" 401 "GET /api/status without a token"
itest_assert_eq "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer x$token" "$base/api/status")" 401 "GET /api/status with a wrong token"
itest_assert_eq "$(curl -s -o /dev/null -w '%{http_code}' "$base/api/status?token=$token")" 401 "GET /api/status?token= (never from the URL)"
itest_assert_eq "$(curl -s -o /dev/null -w '%{http_code}' "$base/")" 200 "GET / (no data, no token)"
itest_assert_eq "$(curl -s -o /dev/null -w '%{http_code}' "$base/nothing")" 404 "unknown path"
itest_assert_eq "$(curl -s -o /dev/null -w '%{http_code}' "$base/metrics")" 404 "no /metrics on the console"
csp=$(curl -s -D - -o /dev/null "$base/" | tr -d '\r' | sed -n 's/^Content-Security-Policy: //Ip')
case "$csp" in "default-src 'self'"*) ;; *) itest_fail "no restrictive Content-Security-Policy: '$csp'" ;; esac
bc='.services[] | select(.service == "birth-certificate")'
itest_assert_eq "$(jq "$bc | .lag_messages" "$ITEST_DIR/api.json")" 5 "lag in the API"
itest_assert_eq "$(jq "[.history.throughput.series[\"birth-certificate\"].stored[]] | add" "$ITEST_DIR/api.json")" 30 "throughput history, stored"
itest_assert_eq "$(jq "[.history.throughput.series[\"birth-certificate\"].dead_lettered[]] | add" "$ITEST_DIR/api.json")" 4 "throughput history, dead-lettered"

# The page in headless Chromium.
url="$base/#token=$token"
hub_chromium --virtual-time-budget=8000 --dump-dom "$url" > "$ITEST_DIR/dom.html" || itest_fail "chromium failed"
grep -q 'data-loaded="1"' "$ITEST_DIR/dom.html" || { head -c 3000 "$ITEST_DIR/dom.html" >&2; itest_fail "the page did not render the status"; }
# cell KEY: the text of the element with data-k="KEY".
cell() { hub_dom_cell "$ITEST_DIR/dom.html" "$1"; }
itest_assert_eq "$(cell 'created5m:birth-certificate')" 30 "page: created in the last 5 minutes"
itest_assert_eq "$(cell 'deadlettered5m:birth-certificate')" 4 "page: dead-lettered in the last 5 minutes"
itest_assert_eq "$(cell 'lag:birth-certificate')" 5 "page: lag"
itest_assert_eq "$(cell 'dl1h:birth-certificate')" 4 "page: dead letters in the last hour"
itest_assert_eq "$(cell 'dlwaiting:birth-certificate')" 4 "page: dead letters waiting"
for reason in frame.bad_magic frame.too_short schema.unknown_id avro.decode; do
    itest_assert_eq "$(cell "dl:birth-certificate:$reason:1h")" 1 "page: dead letters $reason"
done
itest_assert_eq "$(grep -o '<span id="reconciliation-open">[^<]*' "$ITEST_DIR/dom.html" | sed 's/.*>//')" "$open_items" "page: reconciliation items open"
grep -q '001\*\*\*\*\*\*\*23' "$ITEST_DIR/dom.html" || itest_fail "page: the masked personal ID is not shown"
# The item with markup: shown as its text, no element made of it, no script run.
grep -qF '&lt;b id="injected"&gt;bold&lt;/b&gt;' "$ITEST_DIR/dom.html" || itest_fail "page: the detail with markup is not shown as text"
grep -qF '&lt;b id="injected-reason"&gt;' "$ITEST_DIR/dom.html" || itest_fail "page: the reason with markup is not shown as text"
grep -qF '&lt;b id="injected-office"&gt;office&lt;/b&gt;' "$ITEST_DIR/dom.html" || itest_fail "page: the published registry office is not shown as text"
if grep -qE '<b id="injected|<img src="?x|data-pwned="' "$ITEST_DIR/dom.html"; then
    itest_fail "page: markup from the data became elements or ran"
fi
itest_log "ok: markup in the data shown as text"
if grep -q '001203000123' "$ITEST_DIR/dom.html"; then itest_fail "page: a full personal ID is shown"; fi
grep -q 'class="badge breached">[0-9]* BREACHED<' "$ITEST_DIR/dom.html" || itest_fail "page: lag over --max-lag 0 is not shown as breached"
grep -q '<path d="M' "$ITEST_DIR/dom.html" || itest_fail "page: no lag line drawn"
grep -q '<rect ' "$ITEST_DIR/dom.html" || itest_fail "page: no throughput bars drawn"

hub_chromium --virtual-time-budget=8000 --window-size=1280,1700 --hide-scrollbars \
    --screenshot="$ITEST_DIR/console.png" "$url" >/dev/null || itest_fail "chromium screenshot failed"
[ -s "$ITEST_DIR/console.png" ] || itest_fail "no screenshot"
mkdir -p "$MESON_BUILD_ROOT/meson-logs"
cp "$ITEST_DIR/console.png" "$MESON_BUILD_ROOT/meson-logs/console.png"
itest_log "screenshot: $MESON_BUILD_ROOT/meson-logs/console.png"

kill -TERM "$serve_pid"
rc=0; wait "$serve_pid" || rc=$?
itest_assert_eq "$rc" 0 "serve exit status after SIGTERM"
itest_log "ok"
