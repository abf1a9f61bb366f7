#!/usr/bin/env bash
# The province tables compiled into the services (common/hub_validate.c,
# which decide what a record may carry) and the reference data the
# indicators count with (schemas/sql/007_refdata.sql) say the same: the
# reform date, the 63 former provinces with their names and the province
# each is part of today, the 34 current ones, and for every code 00..99
# whether a record may carry it unflagged the day before the reform and on
# the reform day (SQL: the unit the reporting functions give it has a name,
# and from the reform day on is the code itself, not a legacy unit:
# 014_retired_codes.sql).
# tests/support/province_table prints the C side; a query prints the SQL
# side in the same form; the two must be equal line for line.
set -euo pipefail
. "$(dirname "$0")/hub.sh"
tables="$MESON_BUILD_ROOT/tests/support/province_table"
[ -x "$tables" ] || itest_skip "tests/support/province_table is not built"
hub_setup

"$tables" >"$ITEST_DIR/c.txt"
itest_psql "
SELECT line FROM (
    SELECT 0 AS part, '' AS code, 'reform|' || crvs.reform_date() AS line
    UNION ALL
    SELECT 1, code, 'legacy|' || code || '|' || name || '|'
                    || coalesce(crvs.report_unit(code, crvs.reform_date() - 1, 'current'), '?')
    FROM crvs.province WHERE era = 'legacy'
    UNION ALL
    SELECT 2, code, 'current|' || code || '|' || name FROM crvs.province WHERE era = 'current'
    UNION ALL
    SELECT 3, c, 'valid|' || c || '|'
                 || (crvs.unit_name(crvs.report_unit(c, crvs.reform_date() - 1, 'as-recorded')) IS NOT NULL)
                 || '|' || (crvs.unit_name(crvs.report_unit(c, crvs.reform_date(), 'as-recorded')) IS NOT NULL
                            AND crvs.report_unit(c, crvs.reform_date(), 'as-recorded') = c)
    FROM (SELECT to_char(n, 'FM00') AS c FROM generate_series(0, 99) AS n) codes
) t ORDER BY part, code" | sed -e 's/|true/|t/g' -e 's/|false/|f/g' >"$ITEST_DIR/sql.txt"

itest_assert_eq "$(grep -c '^legacy|' "$ITEST_DIR/c.txt")|$(grep -c '^current|' "$ITEST_DIR/c.txt")" "63|34" \
    "C tables: former and current provinces"
itest_assert_eq "$(grep -c '^valid|' "$ITEST_DIR/sql.txt")" 100 "SQL side: every code 00..99"
diff "$ITEST_DIR/c.txt" "$ITEST_DIR/sql.txt" >&2 || itest_fail "the C province tables (<) and 007_refdata.sql (>) differ"
itest_log "ok: $(wc -l <"$ITEST_DIR/c.txt") lines of province facts equal in C and SQL"
