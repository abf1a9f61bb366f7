# Helpers for the hub's integration tests, on top of lib.sh: hub_setup starts
# PostgreSQL and the broker (itest_setup), writes configs for crvsctl and the
# services into $ITEST_DIR and migrates the database; then services start and
# stop with hub_start_service / hub_stop_service.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CTL="$MESON_BUILD_ROOT/services/ctl/crvsctl"

hub_write_configs() {
    cat > "$ITEST_DIR/ctl.conf" <<EOC
kafka.bootstrap.servers = $ITEST_BOOTSTRAP
pg.host = 127.0.0.1
pg.port = $PGPORT
pg.dbname = crvs
pg.user = crvs_admin
schema.catalog = $MESON_SOURCE_ROOT/schemas/avro
sql.dir = $MESON_SOURCE_ROOT/schemas/sql
EOC
    local svc
    for svc in birth-certificate death-notice divorce-judgment civil-registration; do
        cat > "$ITEST_DIR/$svc.conf" <<EOC
log.level = info
schema.catalog = $MESON_SOURCE_ROOT/schemas/avro
batch.max.messages = ${HUB_BATCH_MAX:-500}
batch.linger.ms = ${HUB_BATCH_LINGER:-5}
retry.backoff.initial.ms = 100
retry.backoff.max.ms = 1000
kafka.bootstrap.servers = $ITEST_BOOTSTRAP
kafka.fetch.wait.max.ms = 10
kafka.session.timeout.ms = 6000
pg.host = 127.0.0.1
pg.port = $PGPORT
pg.dbname = crvs
pg.user = crvs_service
pg.connect_timeout = 3
EOC
    done
}

hub_setup() {
    itest_setup
    hub_write_configs
    hub_migrate
}

hub_ctl() { "$CTL" -c "$ITEST_DIR/ctl.conf" "$@"; }

hub_migrate() {
    hub_ctl migrate >"$ITEST_DIR/migrate.log" 2>&1 || { cat "$ITEST_DIR/migrate.log"; itest_fail "migrate failed"; }
}

# hub_start_service NAME [INSTANCE]: starts crvs-NAME in the background.
hub_start_service() {
    local name=$1 inst=${2:-1}
    local bin="$MESON_BUILD_ROOT/services/$name/crvs-$name"
    [ -x "$bin" ] || itest_fail "service binary $bin missing"
    ${HUB_SERVICE_WRAPPER:-} "$bin" -c "$ITEST_DIR/$name.conf" >>"$ITEST_DIR/$name.$inst.log" 2>&1 &
    echo $! > "$ITEST_DIR/$name.$inst.pid"
    HUB_SERVICE_PIDS+=" $!"
}

# hub_stop_service NAME [INSTANCE] [SIGNAL]: stops it and waits (bounded).
hub_stop_service() {
    local name=$1 inst=${2:-1} sig=${3:-TERM} pid
    pid=$(cat "$ITEST_DIR/$name.$inst.pid" 2>/dev/null) || return 0
    kill -"$sig" "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null || true
        itest_log "service $name.$inst did not stop within 10 s of SIG$sig"
    fi
    wait "$pid" 2>/dev/null || true
    rm -f "$ITEST_DIR/$name.$inst.pid"
}

hub_stop_all_services() {
    local f
    for f in "$ITEST_DIR"/*.pid; do
        [ -e "$f" ] || continue
        case "$f" in *devbroker*|*postmaster*) continue ;; esac
        local base=${f##*/}; base=${base%.pid}
        hub_stop_service "${base%.*}" "${base##*.}"
    done
}

# hub_fresh_run N DB [TEMPLATE]: a fresh start for one run of an order test:
# the services stopped, empty topics (itest_reset_topics), a new database DB
# made from TEMPLATE (default linkage_tpl, a migrated copy the test made),
# configs pointing at it, and the three services started as instance N.
hub_fresh_run() {
    local n=$1 db=$2 tpl=${3:-linkage_tpl} s
    hub_stop_all_services
    itest_reset_topics
    hub_write_configs
    sed -i "s/^pg.dbname = .*/pg.dbname = $db/" "$ITEST_DIR"/*.conf
    itest_psql "CREATE DATABASE $db TEMPLATE $tpl" >/dev/null
    for s in birth-certificate death-notice divorce-judgment; do hub_start_service "$s" "$n"; done
}

# hub_wait_stored TIMEOUT [TOPIC]: every published message stored.
hub_wait_stored() {
    local timeout=$1 topic=${2:-birth-certificate}
    hub_ctl wait --topic "$topic" --timeout "$timeout" || {
        itest_log "--- service logs"; tail -n 30 "$ITEST_DIR"/*.log >&2
        itest_fail "messages on $topic not all stored within $timeout s"
    }
}

# hub_registry_state DB: the person registry's state in a comparable text
# form (persons, marriages, open reconciliation items), for order tests.
# Personal IDs and names are printed as digests, so that a failing test's
# diff shows which rows differ without showing personal data.
hub_registry_state() {
    psql -XAtq -d "$1" -v ON_ERROR_STOP=1 <<'EOS'
SELECT 'person', left(md5(personal_id), 12), sex, birth_date, left(md5(coalesce(name, '')), 8),
       vital_status, death_date, death_source, marital_status, marital_since, marital_source
FROM crvs.person ORDER BY md5(personal_id);
SELECT 'marriage', registry_office, registration_number, status, status_since, status_source
FROM crvs.marriage ORDER BY 2, 3;
SELECT 'item', reason, left(md5(natural_key), 12), status FROM crvs.reconciliation
WHERE status = 'open' ORDER BY 2, 3;
EOS
}

# hub_person ID DB: "vital-status death-date marital-status since birth-date"
# of one person ("-" for what is unknown).
hub_person() {
    itest_psql "SELECT vital_status || ' ' || coalesce(death_date::text, '-') || ' ' || marital_status
                       || ' ' || coalesce(marital_since::text, '-') || ' ' || coalesce(birth_date::text, '-')
                FROM crvs.person WHERE personal_id = '$1'" "$2"
}

# hub_save_state N DB: DB's registry state and record counts into
# $ITEST_DIR/state.N; hub_same_states N: states 2..N equal state 1 (a failure
# shows the diff, personal data digested).
hub_save_state() {
    {
        hub_registry_state "$2"
        psql -XAtq -d "$2" -c "SELECT 'records', (SELECT count(*) FROM crvs.birth_certificate),
            (SELECT count(*) FROM crvs.death_notice), (SELECT count(*) FROM crvs.divorce_judgment),
            (SELECT count(*) FROM crvs.dead_letter)"
    } > "$ITEST_DIR/state.$1"
}

hub_same_states() {
    local i
    for ((i = 2; i <= $1; i++)); do
        diff -u "$ITEST_DIR/state.1" "$ITEST_DIR/state.$i" >&2 \
            || itest_fail "order $i ends in a different registry state than order 1"
    done
    itest_log "$1 orders, one state"
}

# The sanitizer build makes services slower and needs these options; the
# huge allocation avro-c attempts for garbage lengths must fail, not abort.
export ASAN_OPTIONS="${ASAN_OPTIONS:-allocator_may_return_null=1:detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

# The console page in headless Chromium (CHROMIUM, else chromium on PATH):
# hub_chromium ARGS... runs it with a profile in $ITEST_DIR (chromium.log
# gets its stderr); hub_dom_cell FILE KEY prints the text of the element with
# data-k="KEY" in a --dump-dom output.
HUB_CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
hub_chromium() {
    "$HUB_CHROMIUM" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --disable-default-apps --user-data-dir="$ITEST_DIR/chromium" "$@" 2>>"$ITEST_DIR/chromium.log"
}
hub_dom_cell() { grep -o "data-k=\"$2\"[^>]*>[^<]*<" "$1" | head -n 1 | sed 's/.*>\([^<]*\)<$/\1/'; }
