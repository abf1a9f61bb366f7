/* crvsctl stats: any registration indicator (docs/indicators.md) for a
 * period, grouped by its dimensions, as an aligned table, CSV (RFC 4180) or
 * JSON. The indicators are data (crvs.indicator, 008_indicators.sql) and
 * crvs.indicator_table computes them: this file parses the command line,
 * runs that one function and formats its rows; `report` (ctl_report.c) uses
 * the same query. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "ctl_pg.h"
#include "ctl_print.h"
#include "hub_text.h"

PGresult *ctl_stats_query(PGconn *conn, const ctl_stats_req *r)
{
    char by[512] = "{";
    for (int i = 0; i < r->n_by; i++) {
        size_t used = strlen(by);
        snprintf(by + used, sizeof by - used, "%s\"%s\"", i ? "," : "", r->by[i]);
    }
    strncat(by, "}", sizeof by - strlen(by) - 1);
    const char *params[7] = {r->name, r->from, r->to, by, r->units ? r->units : "current",
                             r->param, r->unit};
    return ctl_pg_query(conn, "stats",
                     "SELECT keys, labels, numerator, denominator, value, "
                     "array_to_json(keys), array_to_json(labels) "
                     "FROM crvs.indicator_table($1, $2::date, $3::date, $4::text[], $5, "
                     "$6::numeric, $7)",
                     7, params);
}

/* Adds the comma-separated dimensions of `list` (split in place) to r. */
static int split_by(char *list, ctl_stats_req *r)
{
    char *save = NULL;
    for (char *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (r->n_by == CTL_STATS_MAX_BY) return -1;
        r->by[r->n_by++] = tok;
    }
    return 0;
}

/* The definition of one indicator (title, unit, parameter); NULL after
 * printing why. */
static PGresult *definition(PGconn *conn, const char *name)
{
    const char *params[1] = {name};
    PGresult *res = ctl_pg_query(conn, "stats",
                              "SELECT title_vi, title_en, value_unit, kind, param_default, "
                              "param_meaning FROM crvs.indicator WHERE name = $1",
                              1, params);
    if (res && PQntuples(res) == 0) {
        fprintf(stderr, "crvsctl stats: unknown indicator \"%s\" (crvsctl stats --list)\n", name);
        PQclear(res);
        return NULL;
    }
    return res;
}

static int list_indicators(PGconn *conn)
{
    PGresult *res = ctl_pg_query(conn, "stats",
                              "SELECT name, kind, value_unit, coalesce(param_default || ' ' || "
                              "param_meaning, ''), array_to_string(dimensions, ','), title_en "
                              "FROM crvs.indicator ORDER BY position",
                              0, NULL);
    if (!res) return CTL_FAILED;
    static const char *const head[] = {"INDICATOR", "KIND", "VALUE", "PARAM", "BY", "WHAT"};
    ctl_print_rows(res, head);
    PQclear(res);
    return CTL_OK;
}

/* Which requested dimensions have labels (unit names, chapter titles). */
static int labelled(PGconn *conn, const ctl_stats_req *r, bool *has_label)
{
    for (int i = 0; i < r->n_by; i++) {
        const char *params[1] = {r->by[i]};
        PGresult *res = ctl_pg_query(conn, "stats",
                                  "SELECT label_expr IS NOT NULL FROM crvs.indicator_dimension "
                                  "WHERE name = $1",
                                  1, params);
        if (!res) return -1;
        has_label[i] = PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't';
        PQclear(res);
    }
    return 0;
}

/* One output table: header and cells as strings, numeric columns marked. */
typedef struct table {
    int n_cols, n_rows;
    const char *head[2 * CTL_STATS_MAX_BY + 3];
    bool numeric[2 * CTL_STATS_MAX_BY + 3];
    json_t *cells; /* array of arrays of strings or null */
} table;

static const char *cell(const table *t, int row, int col)
{
    return json_string_value(json_array_get(json_array_get(t->cells, (size_t)row), (size_t)col));
}

static void build_table(PGresult *res, const ctl_stats_req *r, const bool *has_label, table *t)
{
    static char names[CTL_STATS_MAX_BY][64];
    t->n_cols = 0;
    for (int i = 0; i < r->n_by; i++) {
        t->numeric[t->n_cols] = false;
        t->head[t->n_cols++] = r->by[i];
        if (has_label[i]) {
            snprintf(names[i], sizeof names[i], "%s_name", r->by[i]);
            t->numeric[t->n_cols] = false;
            t->head[t->n_cols++] = names[i];
        }
    }
    static const char *const tail[] = {"numerator", "denominator", "value"};
    for (int i = 0; i < 3; i++) {
        t->numeric[t->n_cols] = true;
        t->head[t->n_cols++] = tail[i];
    }
    t->n_rows = PQntuples(res);
    t->cells = json_array();
    for (int row = 0; row < t->n_rows; row++) {
        json_t *keys = json_loads(PQgetvalue(res, row, 5), 0, NULL);
        json_t *labels = json_loads(PQgetvalue(res, row, 6), 0, NULL);
        json_t *out = json_array();
        for (int i = 0; i < r->n_by; i++) {
            json_t *k = json_array_get(keys, (size_t)i);
            json_array_append_new(out, json_is_string(k) ? json_copy(k) : json_string("?"));
            if (has_label[i]) {
                json_t *l = json_array_get(labels, (size_t)i);
                json_array_append_new(out, json_is_string(l) ? json_copy(l) : json_string(""));
            }
        }
        for (int c = 2; c <= 4; c++)
            json_array_append_new(out, json_string(PQgetisnull(res, row, c) ? "" : PQgetvalue(res, row, c)));
        json_array_append_new(t->cells, out);
        json_decref(keys);
        json_decref(labels);
    }
}

static void print_aligned(const table *t)
{
    size_t width[2 * CTL_STATS_MAX_BY + 3];
    for (int c = 0; c < t->n_cols; c++) {
        width[c] = hub_text_width(t->head[c]);
        for (int row = 0; row < t->n_rows; row++) {
            size_t w = hub_text_width(cell(t, row, c));
            if (w > width[c]) width[c] = w;
        }
    }
    for (int c = 0; c < t->n_cols; c++) {
        if (c) fputs("  ", stdout);
        ctl_print_padded(t->head[c], c == t->n_cols - 1 && !t->numeric[c] ? 0 : width[c], t->numeric[c]);
    }
    putchar('\n');
    for (int row = 0; row < t->n_rows; row++) {
        for (int c = 0; c < t->n_cols; c++) {
            if (c) fputs("  ", stdout);
            ctl_print_padded(cell(t, row, c), width[c], t->numeric[c]);
        }
        putchar('\n');
    }
}

static void print_csv(const table *t)
{
    for (int c = 0; c < t->n_cols; c++) {
        if (c) putchar(',');
        ctl_print_csv_field(t->head[c]);
    }
    fputs("\r\n", stdout);
    for (int row = 0; row < t->n_rows; row++) {
        for (int c = 0; c < t->n_cols; c++) {
            if (c) putchar(',');
            ctl_print_csv_field(cell(t, row, c));
        }
        fputs("\r\n", stdout);
    }
}

static json_t *number_or_null(const char *s)
{
    if (!*s) return json_null();
    char *end;
    double v = strtod(s, &end);
    if (*end) return json_string(s);
    if (!strchr(s, '.')) return json_integer(strtoll(s, NULL, 10));
    return json_real(v);
}

static int print_json(const table *t, const ctl_stats_req *r, PGresult *def)
{
    json_t *by = json_array();
    for (int i = 0; i < r->n_by; i++) json_array_append_new(by, json_string(r->by[i]));
    json_t *rows = json_array();
    for (int row = 0; row < t->n_rows; row++) {
        json_t *o = json_object();
        for (int c = 0; c < t->n_cols; c++)
            json_object_set_new(o, t->head[c],
                                t->numeric[c] ? number_or_null(cell(t, row, c))
                                              : json_string(cell(t, row, c)));
        json_array_append_new(rows, o);
    }
    json_t *doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o}", "indicator", r->name,
                            "title_vi", PQgetvalue(def, 0, 0), "title_en", PQgetvalue(def, 0, 1),
                            "value_unit", PQgetvalue(def, 0, 2), "from", r->from, "to", r->to,
                            "units", r->units ? r->units : "current", "by", by, "rows", rows);
    if (r->param || !PQgetisnull(def, 0, 4))
        json_object_set_new(doc, "param", number_or_null(r->param ? r->param : PQgetvalue(def, 0, 4)));
    if (r->unit) json_object_set_new(doc, "unit", json_string(r->unit));
    int rc = json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(15) | JSON_PRESERVE_ORDER);
    putchar('\n');
    json_decref(doc);
    return rc;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: crvsctl stats --list\n"
            "       crvsctl stats INDICATOR [--from DATE] [--to DATE] [--by DIM[,DIM]]...\n"
            "                     [--units current|as-recorded] [--unit UNIT] [--param N]\n"
            "                     [--csv | --json]\n"
            "  DATE is YYYY-MM-DD (default: the current year); DIM one of the indicator's\n"
            "  dimensions (--list), e.g. unit, month, sex, age_group, chapter\n");
}

int ctl_stats(ctl *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"from", required_argument, NULL, 'f'}, {"to", required_argument, NULL, 't'},
        {"by", required_argument, NULL, 'b'},   {"units", required_argument, NULL, 'u'},
        {"unit", required_argument, NULL, 'U'}, {"param", required_argument, NULL, 'p'},
        {"csv", no_argument, NULL, 'C'},        {"json", no_argument, NULL, 'J'},
        {"list", no_argument, NULL, 'l'},       {NULL, 0, NULL, 0}};
    ctl_stats_req r = {.units = "current"};
    bool csv = false, json = false, list = false;
    char from[16], to[16];
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (opt) {
        case 'f': r.from = optarg; break;
        case 't': r.to = optarg; break;
        case 'b':
            if (split_by(optarg, &r)) goto usage;
            break;
        case 'u': r.units = optarg; break;
        case 'U': r.unit = optarg; break;
        case 'p': r.param = optarg; break;
        case 'C': csv = true; break;
        case 'J': json = true; break;
        case 'l': list = true; break;
        default: goto usage;
        }
    }
    if (csv && json) goto usage;
    if (list ? optind != argc : optind != argc - 1) goto usage;
    if (strcmp(r.units, "current") && strcmp(r.units, "as-recorded")) goto usage;
    PGconn *conn = ctl_pg_connect(c);
    if (!conn) return CTL_FAILED;
    if (list) {
        int rc = list_indicators(conn);
        PQfinish(conn);
        return rc;
    }
    r.name = argv[optind];
    if (!r.from || !r.to) { /* the current year */
        PGresult *y = ctl_pg_query(conn, "stats", "SELECT to_char(now(), 'YYYY')", 0, NULL);
        if (!y) goto fail;
        snprintf(from, sizeof from, "%s-01-01", PQgetvalue(y, 0, 0));
        snprintf(to, sizeof to, "%s-12-31", PQgetvalue(y, 0, 0));
        PQclear(y);
        if (!r.from) r.from = from;
        if (!r.to) r.to = to;
    }
    int status = CTL_FAILED;
    PGresult *def = definition(conn, r.name), *res = NULL;
    bool has_label[CTL_STATS_MAX_BY];
    table t = {0};
    if (!def || labelled(conn, &r, has_label) || !(res = ctl_stats_query(conn, &r))) goto out;
    build_table(res, &r, has_label, &t);
    if (csv) {
        print_csv(&t);
    } else if (json) {
        if (print_json(&t, &r, def)) goto out;
    } else {
        printf("%s: %s / %s (%s), %s..%s, units %s", r.name, PQgetvalue(def, 0, 0),
               PQgetvalue(def, 0, 1), PQgetvalue(def, 0, 2), r.from, r.to, r.units);
        if (r.param || !PQgetisnull(def, 0, 4))
            printf(", %s %s", r.param ? r.param : PQgetvalue(def, 0, 4), PQgetvalue(def, 0, 5));
        if (r.unit) printf(", unit %s", r.unit);
        printf("\n\n");
        print_aligned(&t);
    }
    status = fflush(stdout) == 0 ? CTL_OK : CTL_FAILED;
out:
    json_decref(t.cells);
    PQclear(def);
    PQclear(res);
    PQfinish(conn);
    return status;
fail:
    PQfinish(conn);
    return CTL_FAILED;
usage:
    usage();
    return CTL_USAGE;
}
