#!/usr/bin/env bash
# A real Prometheus scrapes a running service: after 200 valid and 4
# undecodable messages, queries through Prometheus' HTTP API return the
# counts by outcome and dead-letter reason, the delay histograms, the lag;
# /healthz and /readyz answer, readiness follows PostgreSQL; the shipped
# monitoring files pass promtool, and every query of the Grafana dashboard
# is valid PromQL that Prometheus evaluates.
set -euo pipefail
. "$(dirname "$0")/hub.sh"

PROMETHEUS=${PROMETHEUS:-/usr/bin/prometheus}
[ -x "$PROMETHEUS" ] || PROMETHEUS=$(command -v prometheus || true)
[ -n "$PROMETHEUS" ] && [ -x "$PROMETHEUS" ] \
    || itest_skip "prometheus is not installed (Debian package prometheus; deploy/dev/deps.sh installs it)"
itest_require promtool curl jq
MON="$MESON_SOURCE_ROOT/deploy/monitoring"

# The shipped files, before any server starts.
promtool check rules "$MON"/*.rules.yml >&2 || itest_fail "promtool check rules failed"
promtool check config "$MON/prometheus.yml" >&2 || itest_fail "promtool check config failed"
(cd "$MON" && promtool test rules crvs.rules.test.yml >&2) || itest_fail "promtool test rules failed"
jq -e '.panels | length > 0' "$MON/grafana-dashboard.json" >/dev/null || itest_fail "the dashboard is not JSON with panels"

hub_setup
help=$("$MESON_BUILD_ROOT/services/birth-certificate/crvs-birth-certificate" --help 2>&1) || true
grep -q '^  http.port' <<<"$help" || itest_fail "the service does not list http.port in --help"

port=$(itest_free_port) || itest_fail "no free port"
cat >> "$ITEST_DIR/birth-certificate.conf" <<EOC
http.port = $port
kafka.statistics.interval.ms = 1000
EOC
base="http://127.0.0.1:$port"
hub_start_service birth-certificate

# http_status URL: the HTTP status code, 000 when nothing answers.
http_status() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$1" || true; }
wait_http() { # URL CODE TIMEOUT_S
    local deadline=$((SECONDS + $3)) code=""
    while [ $SECONDS -lt $deadline ]; do
        code=$(http_status "$1")
        [ "$code" = "$2" ] && return 0
        sleep 0.2
    done
    itest_fail "$1 answered '$code', expected $2 within $3 s"
}
wait_http "$base/healthz" 200 30
wait_http "$base/readyz" 200 60
itest_assert_eq "$(http_status "$base/nothing")" 404 "unknown path"
itest_assert_eq "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$base/metrics")" 405 "POST /metrics"
ctype=$(curl -s -o /dev/null -w '%{content_type}' "$base/metrics")
itest_assert_eq "$ctype" "text/plain; version=0.0.4; charset=utf-8" "/metrics content type"

"$CTL" loadgen --topic birth-certificate --count 200 --seed 3 > "$ITEST_DIR/births.jsonl"
hub_ctl publish --topic birth-certificate "$ITEST_DIR/births.jsonl" >/dev/null
hub_ctl publish --topic birth-certificate --raw-hex "$MESON_SOURCE_ROOT/tests/data/birth-certificates.invalid.hex" >/dev/null
hub_wait_stored 120
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.birth_certificate")" 200 "registry rows"

curl -sf "$base/metrics" > "$ITEST_DIR/metrics.txt" || itest_fail "GET /metrics failed"
grep -q '^# TYPE crvs_messages_total counter$' "$ITEST_DIR/metrics.txt" || itest_fail "no TYPE line for crvs_messages_total"
grep -q '^crvs_build_info{service="birth-certificate",version="[0-9.]*"} 1$' "$ITEST_DIR/metrics.txt" \
    || itest_fail "no crvs_build_info sample"
# Promtool reads the exposition as Prometheus does.
promtool check metrics < "$ITEST_DIR/metrics.txt" >"$ITEST_DIR/promtool-metrics.log" 2>&1 || true
if grep -qiE 'error|parse' "$ITEST_DIR/promtool-metrics.log"; then
    cat "$ITEST_DIR/promtool-metrics.log" >&2
    itest_fail "promtool check metrics found errors in /metrics"
fi

# ---- a real Prometheus scraping the service every second
prom_port=$(itest_free_port) || itest_fail "no free port"
cat > "$ITEST_DIR/prometheus.yml" <<EOC
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $MON/crvs.rules.yml
scrape_configs:
  - job_name: crvs
    honor_labels: true
    static_configs:
      - targets: ['127.0.0.1:$port']
        labels: {service: birth-certificate}
EOC
mkdir -p "$ITEST_DIR/prometheus-data"
"$PROMETHEUS" --config.file="$ITEST_DIR/prometheus.yml" \
    --storage.tsdb.path="$ITEST_DIR/prometheus-data" \
    --web.listen-address="127.0.0.1:$prom_port" >>"$ITEST_DIR/prometheus.log" 2>&1 &
prom_pid=$!
itest_on_exit "kill $prom_pid 2>/dev/null; wait $prom_pid 2>/dev/null"
prom="http://127.0.0.1:$prom_port"
wait_http "$prom/-/ready" 200 60

# query EXPR: the value of the single result ("" when none).
query() {
    curl -sf --max-time 5 "$prom/api/v1/query" --data-urlencode "query=$1" \
        | jq -r 'if .data.result | length == 1 then .data.result[0].value[1] else "" end' || true
}
# wait_query EXPR EXPECTED TIMEOUT_S
wait_query() {
    local deadline=$((SECONDS + $3)) v=""
    while [ $SECONDS -lt $deadline ]; do
        v=$(query "$1")
        [ "$v" = "$2" ] && { itest_log "ok: $1 = $2"; return 0; }
        sleep 0.5
    done
    itest_fail "Prometheus: $1 is '$v', expected '$2' within $3 s"
}

wait_query 'up{job="crvs"}' 1 30
wait_query 'crvs_messages_total{outcome="created"}' 200 30
wait_query 'crvs_messages_total{outcome="corrected"}' 0 10
wait_query 'crvs_messages_total{outcome="duplicate"}' 0 10
wait_query 'sum(crvs_messages_total{outcome="dead_lettered"})' 4 10
for reason in frame.bad_magic frame.too_short schema.unknown_id avro.decode; do
    wait_query "crvs_messages_total{outcome=\"dead_lettered\",reason=\"$reason\"}" 1 10
done
# The registry agrees with the metrics.
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.dead_letter")" 4 "dead letters in PostgreSQL"
wait_query 'crvs_kafka_delay_seconds_count' 204 10
wait_query 'crvs_event_delay_seconds_count' 200 10
wait_query 'crvs_batch_size_messages_sum' 204 10
wait_query 'crvs_batches_total - crvs_batch_size_messages_count' 0 10
wait_query 'crvs_transaction_seconds_count - crvs_batches_total' 0 10
wait_query 'crvs_partitions_assigned' 3 10
wait_query 'crvs_pg_up' 1 10
# The development broker is one broker, reached (librdkafka statistics).
wait_query 'crvs_kafka_brokers_up' 1 10
wait_query 'time() - crvs_last_commit_timestamp_seconds < bool 120' 1 10
# Lag from librdkafka statistics: one series per partition, all caught up.
wait_query 'count(crvs_consumer_lag_messages{topic="birth-certificate"})' 3 30
wait_query 'sum(crvs_consumer_lag_messages{topic="birth-certificate"})' 0 30

# Readiness follows PostgreSQL: with the server stopped, the next batch
# cannot be written and /readyz turns 503 (the service keeps retrying; it
# stays alive, so /healthz stays 200); back, the message lands.
itest_pg_stop
head -n 1 "$ITEST_DIR/births.jsonl" | jq -c '.certificate_number = "READY-1"' > "$ITEST_DIR/one.jsonl"
hub_ctl publish --topic birth-certificate "$ITEST_DIR/one.jsonl" >/dev/null
wait_http "$base/readyz" 503 60
why=$(curl -s "$base/readyz") || true
grep -q "PostgreSQL" <<<"$why" || itest_fail "/readyz does not say why: $why"
itest_assert_eq "$(http_status "$base/healthz")" 200 "/healthz while PostgreSQL is down"
wait_query 'crvs_pg_up' 0 20
itest_pg_start
wait_http "$base/readyz" 200 60
hub_wait_stored 60
wait_query 'crvs_messages_total{outcome="created"}' 201 20
wait_query 'crvs_pg_reconnects_total >= bool 1' 1 10
wait_query 'sum(crvs_pg_retries_total) > bool 0' 1 10

# The alert rules are loaded and evaluate without errors; none fires in
# this healthy state.
rules=$(curl -sf "$prom/api/v1/rules")
itest_assert_eq "$(jq '[.data.groups[].rules[]] | length' <<<"$rules")" "$(grep -c '^ *- alert:' "$MON/crvs.rules.yml")" "alert rules loaded"
sleep 2
rules=$(curl -sf "$prom/api/v1/rules")
itest_assert_eq "$(jq -r '[.data.groups[].rules[] | select(.health != "ok")] | length' <<<"$rules")" 0 "rules evaluating with errors"
itest_assert_eq "$(jq -r '[.data.groups[].rules[] | select(.state == "firing")] | map(.name) | join(",")' <<<"$rules")" "" "alerts firing"

# Every query of the dashboard is valid and evaluates.
jq -r '.panels[].targets[]?.expr' "$MON/grafana-dashboard.json" \
    | sed 's/\$__rate_interval/1m/g; s/\$service/.*/g' > "$ITEST_DIR/dashboard-queries.txt"
n=0
while IFS= read -r expr; do
    status=$(curl -s --max-time 5 "$prom/api/v1/query" --data-urlencode "query=$expr" | jq -r .status)
    [ "$status" = success ] || itest_fail "dashboard query does not evaluate: $expr"
    n=$((n + 1))
done < "$ITEST_DIR/dashboard-queries.txt"
itest_log "ok: $n dashboard queries evaluate"

# Stopping: /readyz goes first, then the port closes; exit 0.
hub_stop_service birth-certificate
itest_assert_eq "$(http_status "$base/healthz")" 000 "nothing listens after the stop"
grep -q 'event=http_listening' "$ITEST_DIR"/birth-certificate.1.log || itest_fail "no event=http_listening in the log"
if grep -E '[0-9]{12}' "$ITEST_DIR"/birth-certificate.*.log; then itest_fail "a service log holds a 12-digit number"; fi
itest_log "ok"
