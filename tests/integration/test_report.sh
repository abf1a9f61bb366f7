#!/usr/bin/env bash
# crvsctl report in headless Chromium: for a generated year of records, the
# figures on the rendered page (data-ind / data-key / data-value of every
# table cell and chart element) equal `crvsctl stats` for the same year, for
# the country and for one province (Tuyên Quang, with Hà Giang's records),
# and with --units as-recorded for the country and for Hà Giang (L02);
# commune names carrying markup and script show as text and run nothing;
# the file needs nothing from the network; English with --lang en. A
# screenshot is kept as a test artifact: meson-logs/report.png in the build
# folder.
set -euo pipefail
. "$(dirname "$0")/hub.sh"

CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
[ -n "$CHROMIUM" ] || itest_skip "chromium is not installed (Debian package chromium; deploy/dev/deps.sh installs it)"
hub_setup

for t in birth-certificate death-notice divorce-judgment; do
    "$CTL" loadgen --topic "$t" --count 1200 --seed 31 >"$ITEST_DIR/$t.jsonl" 2>/dev/null
    hub_start_service "$t"
    hub_ctl publish --topic "$t" "$ITEST_DIR/$t.jsonl" >/dev/null
done
for t in birth-certificate death-notice divorce-judgment; do hub_wait_stored 180 "$t"; done

chrome() {
    "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --disable-default-apps --user-data-dir="$ITEST_DIR/chromium" "$@" 2>>"$ITEST_DIR/chromium.log"
}
# figures FILE: "ind|by|key|value" for every figure in the DOM.
figures() {
    grep -o '<[a-z]* [^>]*data-ind="[^"]*"[^>]*>' "$1" | sed -E \
        -e 's/.*data-ind="([^"]*)"( data-by="([^"]*)")?( data-key="([^"]*)")? data-value="([^"]*)".*/\1|\3|\5|\6/' | sort
}
# expected FROM TO PROVINCE UNITS: the same lines from crvsctl stats --csv.
expected() {
    local from=$1 to=$2 prov=$3 args=(--units "$4") name by
    [ -n "$prov" ] && args+=(--unit "$prov")
    while IFS='|' read -r name _; do
        hub_ctl stats "$name" --from "$from" --to "$to" "${args[@]}" --csv | tr -d '\r' | tail -n +2 \
            | awk -F, -v n="$name" '{ print n "|||" $NF }'
    done < <(itest_psql "SELECT name FROM crvs.indicator WHERE '$prov' = '' OR 'unit' = ANY (dimensions) ORDER BY position")
    for name in births deaths; do
        hub_ctl stats "$name" --from "$from" --to "$to" --by month "${args[@]}" --csv | tr -d '\r' | tail -n +2 \
            | awk -F, -v n="$name" '{ print n "||" $1 "|" $NF }'
    done
    hub_ctl stats deaths --from "$from" --to "$to" --by age_group,sex "${args[@]}" --csv | tr -d '\r' | tail -n +2 \
        | awk -F, '$2 == "MALE" || $2 == "FEMALE" { print "deaths|age_group,sex|" $1 "," $2 "|" $NF }'
    hub_ctl stats deaths --from "$from" --to "$to" --by chapter "${args[@]}" --csv | tr -d '\r' | tail -n +2 \
        | awk -F, '{ print "deaths|chapter|" $1 "|" $NF }'
    by=unit; [ -n "$prov" ] && by=commune
    hub_ctl stats births --from "$from" --to "$to" --by "$by" "${args[@]}" --csv | tr -d '\r' | tail -n +2 \
        | awk -F, -v b="$by" '{ print "births|" b "|" $1 "|" $NF }'
}

for spec in "|current" "08|current" "|as-recorded" "L02|as-recorded"; do
    prov=${spec%|*} units=${spec#*|}
    what=${prov:-country}-$units
    args=(--units "$units"); [ -n "$prov" ] && args+=(--province "$prov")
    [ "$units" = current ] && args=("${args[@]:2}") # the default
    hub_ctl report --year 2025 "${args[@]}" --out "$ITEST_DIR/report-$what.html" >/dev/null
    if grep -Eq '(src|href)="?(https?:)?//' "$ITEST_DIR/report-$what.html"; then itest_fail "$what: the report refers to the network"; fi
    chrome --dump-dom "file://$ITEST_DIR/report-$what.html" >"$ITEST_DIR/dom-$what.html" || itest_fail "chromium failed"
    figures "$ITEST_DIR/dom-$what.html" >"$ITEST_DIR/page-$what.txt"
    expected 2025-01-01 2025-12-31 "$prov" "$units" | sort >"$ITEST_DIR/stats-$what.txt"
    [ -s "$ITEST_DIR/page-$what.txt" ] || itest_fail "$what: no figures on the page"
    diff "$ITEST_DIR/stats-$what.txt" "$ITEST_DIR/page-$what.txt" >&2 || itest_fail "$what: page figures differ from crvsctl stats"
    itest_log "ok: $what: $(wc -l <"$ITEST_DIR/page-$what.txt") figures on the page equal crvsctl stats"
done
grep -q 'Tuyên Quang' "$ITEST_DIR/dom-08-current.html" || itest_fail "province report: no province name"
grep -q 'Civil registration indicators report' "$ITEST_DIR/dom-country-current.html" || itest_fail "no English second line"
grep -q '— Hà Giang' "$ITEST_DIR/dom-L02-as-recorded.html" || itest_fail "as-recorded report for L02: not named Hà Giang"
grep -q 'data-key="L02"' "$ITEST_DIR/dom-country-as-recorded.html" || itest_fail "as-recorded country report: no Hà Giang (L02) in the ranking"
if grep -q 'data-key="L[0-9]' "$ITEST_DIR/dom-country-current.html"; then itest_fail "current units report shows a legacy unit"; fi
[ "$(grep -c '^births||' "$ITEST_DIR/page-L02-as-recorded.txt")" -gt 0 ] || itest_fail "as-recorded report for L02: no births figure"
hub_ctl report --year 2025 --lang en --out "$ITEST_DIR/report-en.html" >/dev/null
if grep -q 'Giấy chứng sinh theo tháng' "$ITEST_DIR/report-en.html"; then itest_fail "--lang en still shows Vietnamese labels"; fi
rc=0; hub_ctl report --year 2025 --province 02 --out "$ITEST_DIR/x.html" 2>/dev/null || rc=$?
itest_assert_eq "$rc" 1 "report for a legacy province (02): refused"
rc=0; hub_ctl report --year 2025 --province L02 --out "$ITEST_DIR/x.html" 2>/dev/null || rc=$?
itest_assert_eq "$rc" 1 "report for legacy unit L02 in current units: refused"

# Names from the data carry markup and script (a commune list with such
# names, a province report ranking those communes): the page shows them as
# text and runs none of it.
hostile='<script>document.title="PWNED"</script><img src=x onerror="document.body.setAttribute(\x27data-pwned\x27,\x271\x27)"> \x27q\x27 & co'
{
    echo "commune_code,commune_name,kind,province_code"
    for i in $(seq 1 400); do
        printf '08%03d,"Xã %d %s",xa,08\n' "$i" "$i" "$(printf '%b' "$hostile" | sed 's/"/""/g')"
    done
} >"$ITEST_DIR/communes-hostile.csv"
hub_ctl refdata load units --by itest --valid-from 2025-01-01 "$ITEST_DIR/communes-hostile.csv" >/dev/null \
    || itest_fail "the commune list with markup in its names did not load"
hub_ctl report --year 2025 --province 08 --out "$ITEST_DIR/report-hostile.html" >/dev/null
grep -q '&lt;script&gt;document.title=&quot;PWNED&quot;&lt;/script&gt;' "$ITEST_DIR/report-hostile.html" \
    || itest_fail "the commune names are not in the report, escaped"
chrome --virtual-time-budget=3000 --dump-dom "file://$ITEST_DIR/report-hostile.html" >"$ITEST_DIR/dom-hostile.html" || itest_fail "chromium failed"
if grep -q 'data-pwned="1"' "$ITEST_DIR/dom-hostile.html"; then itest_fail "an onerror handler from the data ran"; fi
if grep -q '<title>PWNED' "$ITEST_DIR/dom-hostile.html"; then itest_fail "a script from the data ran"; fi
grep -q '<title>CRVS 2025</title>' "$ITEST_DIR/dom-hostile.html" || itest_fail "the page title changed"
if grep -q '<img' "$ITEST_DIR/dom-hostile.html"; then itest_fail "markup from the data became an element"; fi
[ "$(grep -o 'Xã [0-9]* &lt;script&gt;' "$ITEST_DIR/dom-hostile.html" | wc -l)" -gt 0 ] || itest_fail "the names do not show as text"
itest_log "ok: names with markup and script show as text, nothing ran"

chrome --window-size=1200,2600 --hide-scrollbars --screenshot="$ITEST_DIR/report.png" \
    "file://$ITEST_DIR/report-country-current.html" >/dev/null || itest_fail "chromium screenshot failed"
[ -s "$ITEST_DIR/report.png" ] || itest_fail "no screenshot"
mkdir -p "$MESON_BUILD_ROOT/meson-logs"
cp "$ITEST_DIR/report.png" "$MESON_BUILD_ROOT/meson-logs/report.png"
itest_log "screenshot: $MESON_BUILD_ROOT/meson-logs/report.png"
itest_log "ok"
