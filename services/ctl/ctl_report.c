/* crvsctl report: the yearly indicator report as one self-contained HTML
 * file (inline CSS and SVG, no script, nothing fetched), for the country or
 * one unit: the indicator table, births and deaths by
 * month, the deaths' pyramid by sex and age group, the causes by ICD-10
 * chapter and a ranking of units. Every figure comes from
 * crvs.indicator_table (ctl_stats_query), the same as `crvsctl stats`, and
 * carries it in data-* attributes (data-ind, data-key, data-value) so that
 * tests and readers can check the page against `stats`. Labels are
 * Vietnamese with the English below (--lang vi, the default) or English
 * only (--lang en). Units are today's provinces (--units current, the
 * default: legacy records under the province that absorbed theirs) or as
 * the records carry them (--units as-recorded: a legacy unit L<code> before
 * 2025-07-01), as in `crvsctl stats`. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "ctl_pg.h"

typedef struct report {
    PGconn *conn;
    FILE *out;
    char from[16], to[16];
    const char *unit;  /* NULL: the whole country; else a unit key as units names it */
    const char *units; /* "current" or "as-recorded" */
    bool english;
    int failed;
} report;

static void esc(FILE *out, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '&': fputs("&amp;", out); break;
        case '"': fputs("&quot;", out); break;
        case '\'': fputs("&#39;", out); break;
        default: fputc(*s, out);
        }
    }
}

/* name="value", value escaped: every attribute whose value comes from the
 * data or the command line is written so. */
static void attr(FILE *out, const char *name, const char *value)
{
    fprintf(out, " %s=\"", name);
    esc(out, value);
    fputc('"', out);
}

/* A label: Vietnamese over English, or English only. */
static void label(report *r, const char *vi, const char *en)
{
    if (r->english) {
        esc(r->out, en);
        return;
    }
    esc(r->out, vi);
    fputs("<br><span class=\"en\">", r->out);
    esc(r->out, en);
    fputs("</span>", r->out);
}

static PGresult *figures(report *r, const char *name, const char *by, const char *by2)
{
    ctl_stats_req q = {.name = name, .from = r->from, .to = r->to, .units = r->units,
                       .unit = r->unit};
    if (by) q.by[q.n_by++] = by;
    if (by2) q.by[q.n_by++] = by2;
    PGresult *res = ctl_stats_query(r->conn, &q);
    if (!res) r->failed = 1;
    return res;
}

static void summary(report *r)
{
    PGresult *defs = ctl_pg_query(r->conn, "report",
                               "SELECT name, title_vi, title_en, value_unit, kind, "
                               "'unit' = ANY (dimensions) FROM crvs.indicator ORDER BY position",
                               0, NULL);
    if (!defs) {
        r->failed = 1;
        return;
    }
    fputs("<h2>", r->out);
    label(r, "Chỉ tiêu", "Indicators");
    fputs("</h2>\n<table class=\"ind\"><tr><th>", r->out);
    label(r, "Chỉ tiêu", "Indicator");
    fputs("</th><th>", r->out);
    label(r, "Tử số", "Numerator");
    fputs("</th><th>", r->out);
    label(r, "Mẫu số", "Denominator");
    fputs("</th><th>", r->out);
    label(r, "Giá trị", "Value");
    fputs("</th></tr>\n", r->out);
    for (int i = 0; i < PQntuples(defs); i++) {
        const char *name = PQgetvalue(defs, i, 0);
        if (r->unit && PQgetvalue(defs, i, 5)[0] != 't') continue; /* national only */
        PGresult *res = figures(r, name, NULL, NULL);
        if (!res) break;
        fprintf(r->out, "<tr><td>");
        label(r, PQgetvalue(defs, i, 1), PQgetvalue(defs, i, 2));
        fputs(" <code>", r->out);
        esc(r->out, name);
        fputs("</code></td><td class=\"n\">", r->out);
        esc(r->out, PQgetvalue(res, 0, 2));
        fputs("</td><td class=\"n\">", r->out);
        esc(r->out, PQgetvalue(res, 0, 3));
        fputs("</td><td class=\"n\"", r->out);
        attr(r->out, "data-ind", name);
        attr(r->out, "data-value", PQgetvalue(res, 0, 4));
        fputc('>', r->out);
        esc(r->out, PQgetisnull(res, 0, 4) ? "–" : PQgetvalue(res, 0, 4));
        fputs(" <small>", r->out);
        esc(r->out, PQgetvalue(defs, i, 3));
        fputs("</small></td></tr>\n", r->out);
        PQclear(res);
    }
    fputs("</table>\n", r->out);
    PQclear(defs);
}

/* Element i of a row's keys (col 5) or labels (col 6) as JSON; "" for none. */
static void part(PGresult *res, int row, int col, size_t i, char *out, size_t size)
{
    json_t *a = json_loads(PQgetvalue(res, row, col), 0, NULL);
    const char *v = json_string_value(json_array_get(a, i));
    snprintf(out, size, "%s", v ? v : "");
    json_decref(a);
}

static double max_value(PGresult *res, int col)
{
    double m = 0;
    for (int i = 0; i < PQntuples(res); i++) {
        double v = atof(PQgetvalue(res, i, col));
        if (v > m) m = v;
    }
    return m > 0 ? m : 1;
}

/* Vertical bars, one per group of `name` by `by` (month). */
static void vbars(report *r, const char *name, const char *vi, const char *en)
{
    PGresult *res = figures(r, name, "month", NULL);
    if (!res) return;
    int n = PQntuples(res), w = 40, h = 160;
    double max = max_value(res, 4);
    fputs("<figure><figcaption>", r->out);
    label(r, vi, en);
    fprintf(r->out, "</figcaption>\n<svg width=\"%d\" height=\"%d\" role=\"img\">\n", n * w + 20, h + 40);
    for (int i = 0; i < n; i++) {
        double v = atof(PQgetvalue(res, i, 4));
        int bh = (int)(v / max * h);
        char key[16], month[16];
        part(res, i, 5, 0, key, sizeof key);
        /* The month of a "YYYY-MM" key. */
        snprintf(month, sizeof month, "%s", strlen(key) >= 7 ? key + 5 : key);
        fputs("<g", r->out);
        attr(r->out, "data-ind", name);
        attr(r->out, "data-key", key);
        attr(r->out, "data-value", PQgetvalue(res, i, 4));
        fprintf(r->out, "><rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"/>"
                        "<text x=\"%d\" y=\"%d\" class=\"v\">",
                10 + i * w, 20 + h - bh, w - 6, bh, 10 + i * w + (w - 6) / 2, 16 + h - bh);
        esc(r->out, PQgetvalue(res, i, 4));
        fprintf(r->out, "</text><text x=\"%d\" y=\"%d\">", 10 + i * w + (w - 6) / 2, h + 36);
        esc(r->out, month);
        fputs("</text></g>\n", r->out);
    }
    fputs("</svg></figure>\n", r->out);
    PQclear(res);
}

/* Horizontal bars of `name` by `by`, largest first (a ranking). */
static void hbars(report *r, const char *name, const char *by, const char *vi, const char *en)
{
    PGresult *res = figures(r, name, by, NULL);
    if (!res) return;
    int n = PQntuples(res), *order = calloc((size_t)(n ? n : 1), sizeof *order);
    if (!order) {
        PQclear(res);
        r->failed = 1;
        return;
    }
    for (int i = 0; i < n; i++) order[i] = i;
    for (int i = 1; i < n; i++) /* insertion sort by value, descending */
        for (int j = i; j > 0 && atof(PQgetvalue(res, order[j], 4)) > atof(PQgetvalue(res, order[j - 1], 4)); j--) {
            int t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    double max = max_value(res, 4);
    fputs("<figure><figcaption>", r->out);
    label(r, vi, en);
    fprintf(r->out, "</figcaption>\n<svg width=\"760\" height=\"%d\" role=\"img\">\n", n * 20 + 10);
    for (int k = 0; k < n; k++) {
        int i = order[k];
        char key[64], lab[256];
        part(res, i, 5, 0, key, sizeof key);
        part(res, i, 6, 0, lab, sizeof lab);
        fputs("<g", r->out);
        attr(r->out, "data-ind", name);
        attr(r->out, "data-by", by);
        attr(r->out, "data-key", key);
        attr(r->out, "data-value", PQgetvalue(res, i, 4));
        fprintf(r->out, "><text x=\"0\" y=\"%d\">", k * 20 + 15);
        esc(r->out, key);
        if (*lab) {
            fputc(' ', r->out);
            esc(r->out, lab);
        }
        double v = atof(PQgetvalue(res, i, 4));
        fprintf(r->out, "</text><rect x=\"330\" y=\"%d\" width=\"%d\" height=\"14\"/>"
                        "<text x=\"%d\" y=\"%d\" class=\"v\">",
                k * 20 + 3, (int)(v / max * 360), 336 + (int)(v / max * 360), k * 20 + 15);
        esc(r->out, PQgetvalue(res, i, 4));
        fputs("</text></g>\n", r->out);
    }
    fputs("</svg></figure>\n", r->out);
    free(order);
    PQclear(res);
}

/* Deaths by age group, men to the left, women to the right. */
static void pyramid(report *r)
{
    PGresult *res = figures(r, "deaths", "age_group", "sex");
    if (!res) return;
    double max = max_value(res, 4);
    fputs("<figure><figcaption>", r->out);
    label(r, "Tháp tử vong theo giới tính và nhóm tuổi (nam trái, nữ phải)",
          "Deaths by sex and age group (men left, women right)");
    fprintf(r->out, "</figcaption>\n<svg width=\"760\" height=\"%d\" role=\"img\">\n", PQntuples(res) / 2 * 20 + 30);
    char last[32] = "";
    int row = -1;
    for (int i = 0; i < PQntuples(res); i++) {
        char group[32], sex[32];
        part(res, i, 5, 0, group, sizeof group);
        part(res, i, 5, 1, sex, sizeof sex);
        if (strcmp(group, last)) {
            row++;
            snprintf(last, sizeof last, "%s", group);
            fprintf(r->out, "<text x=\"380\" y=\"%d\" class=\"c\">", row * 20 + 15);
            esc(r->out, group);
            fputs("</text>\n", r->out);
        }
        double v = atof(PQgetvalue(res, i, 4));
        int bw = (int)(v / max * 320);
        bool male = !strcmp(sex, "MALE");
        if (!male && strcmp(sex, "FEMALE")) continue; /* undetermined: in the table only */
        char key[64];
        snprintf(key, sizeof key, "%s,%s", group, sex);
        fputs("<g data-ind=\"deaths\" data-by=\"age_group,sex\"", r->out);
        attr(r->out, "data-key", key);
        attr(r->out, "data-value", PQgetvalue(res, i, 4));
        fprintf(r->out, "><rect class=\"%s\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"14\"/>"
                        "<text x=\"%d\" y=\"%d\" class=\"v%s\">",
                male ? "m" : "f", male ? 350 - bw : 410, row * 20 + 3, bw,
                male ? 346 - bw : 415 + bw, row * 20 + 15, male ? " e" : "");
        esc(r->out, PQgetvalue(res, i, 4));
        fputs("</text></g>\n", r->out);
    }
    fputs("</svg></figure>\n", r->out);
    PQclear(res);
}

static const char STYLE[] =
    "body{font-family:sans-serif;margin:2em;color:#222;max-width:1100px}"
    "h1,h2{font-weight:600}.en{color:#666;font-size:85%}"
    "table.ind{border-collapse:collapse}table.ind td,table.ind th{border-bottom:1px solid #ddd;"
    "padding:4px 8px;text-align:left;vertical-align:top}td.n{text-align:right;white-space:nowrap}"
    "figure{margin:1.5em 0}figcaption{font-weight:600;margin-bottom:.5em}"
    "svg text{font-size:11px}svg text.v{fill:#333}svg text.c{text-anchor:middle}svg text.e{text-anchor:end}"
    "svg rect{fill:#2c6e9b}svg rect.m{fill:#2c6e9b}svg rect.f{fill:#c05a7b}"
    "code{color:#888;font-size:80%}";

int ctl_report(ctl *c, int argc, char **argv)
{
    static const struct option opts[] = {{"year", required_argument, NULL, 'y'},
                                         {"province", required_argument, NULL, 'p'},
                                         {"lang", required_argument, NULL, 'l'},
                                         {"units", required_argument, NULL, 'u'},
                                         {"out", required_argument, NULL, 'o'},
                                         {NULL, 0, NULL, 0}};
    const char *out_path = NULL, *lang = "vi";
    report r = {.units = "current"};
    int year = 0, opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (opt) {
        case 'y': year = atoi(optarg); break;
        case 'p': r.unit = optarg; break;
        case 'l': lang = optarg; break;
        case 'u': r.units = optarg; break;
        case 'o': out_path = optarg; break;
        default: goto usage;
        }
    }
    if (optind != argc || year < 1900 || year > 2999 || !out_path ||
        (strcmp(lang, "vi") && strcmp(lang, "en")) ||
        (strcmp(r.units, "current") && strcmp(r.units, "as-recorded")))
        goto usage;
    r.english = !strcmp(lang, "en");
    snprintf(r.from, sizeof r.from, "%04d-01-01", year);
    snprintf(r.to, sizeof r.to, "%04d-12-31", year);
    if (!(r.conn = ctl_pg_connect(c))) return CTL_FAILED;
    int status = CTL_FAILED;
    char *tmp = NULL;
    PGresult *name = NULL;
    if (r.unit) {
        /* current units: one of the 34; as recorded also a legacy unit L<code> */
        const char *params[2] = {r.unit, r.units};
        name = ctl_pg_query(r.conn, "report",
                         "SELECT n FROM crvs.unit_name($1) AS n WHERE n IS NOT NULL "
                         "AND ($2 = 'as-recorded' OR $1 NOT LIKE 'L%')",
                         2, params);
        if (!name) goto out;
        if (PQntuples(name) != 1) {
            fprintf(stderr, "crvsctl report: %s is not %s\n", r.unit,
                    strcmp(r.units, "current") ? "one of the 34 current provinces or a legacy unit L<code>"
                                               : "one of the 34 current provinces");
            goto out;
        }
    }
    /* Written to a temporary file and renamed: a failed run leaves no half report. */
    if (asprintf(&tmp, "%s.tmp", out_path) < 0 || !(r.out = fopen(tmp, "w"))) {
        perror(tmp ? tmp : out_path);
        goto out;
    }
    fprintf(r.out, "<!DOCTYPE html>\n<html lang=\"%s\"><head><meta charset=\"utf-8\">"
                   "<title>CRVS %d</title><style>%s</style></head><body data-year=\"%d\"",
            lang, year, STYLE, year);
    attr(r.out, "data-unit", r.unit ? r.unit : "");
    attr(r.out, "data-units", r.units);
    fputs(">\n<h1>", r.out);
    label(&r, "Báo cáo chỉ tiêu đăng ký hộ tịch", "Civil registration indicators report");
    fprintf(r.out, " %d", year);
    if (name) {
        fputs(" — ", r.out);
        esc(r.out, PQgetvalue(name, 0, 0));
    }
    fputs("</h1>\n<p>", r.out);
    if (!strcmp(r.units, "current"))
        label(&r, "Nguồn: giấy chứng sinh, giấy báo tử và bản án ly hôn nhận qua hub; đơn vị hành "
                  "chính hiện hành (34 tỉnh, thành phố). Định nghĩa: docs/indicators.md.",
              "Source: birth certificates, death notices and divorce judgments received by the hub; "
              "today's administrative units (34 provinces). Definitions: docs/indicators.md.");
    else
        label(&r, "Nguồn: giấy chứng sinh, giấy báo tử và bản án ly hôn nhận qua hub; đơn vị hành "
                  "chính như hồ sơ ghi (trước 01/7/2025: 63 tỉnh, thành phố cũ). Định nghĩa: "
                  "docs/indicators.md.",
              "Source: birth certificates, death notices and divorce judgments received by the hub; "
              "administrative units as recorded (before 1 July 2025: the 63 former provinces). "
              "Definitions: docs/indicators.md.");
    fputs("</p>\n", r.out);
    summary(&r);
    fputs("<h2>", r.out);
    label(&r, "Biểu đồ", "Charts");
    fputs("</h2>\n", r.out);
    vbars(&r, "births", "Giấy chứng sinh theo tháng", "Birth certificates by month");
    vbars(&r, "deaths", "Giấy báo tử theo tháng", "Death notices by month");
    pyramid(&r);
    hbars(&r, "deaths", "chapter", "Nguyên nhân tử vong theo chương ICD-10",
          "Causes of death by ICD-10 chapter");
    if (r.unit)
        hbars(&r, "births", "commune", "Xếp hạng xã, phường theo số giấy chứng sinh",
              "Communes ranked by birth certificates");
    else
        hbars(&r, "births", "unit", "Xếp hạng tỉnh, thành phố theo số giấy chứng sinh",
              "Provinces ranked by birth certificates");
    fputs("</body></html>\n", r.out);
    if (fclose(r.out) != 0 || r.failed) {
        r.out = NULL;
        remove(tmp);
        goto out;
    }
    r.out = NULL;
    if (rename(tmp, out_path) != 0) {
        perror(out_path);
        goto out;
    }
    printf("report written to %s\n", out_path);
    status = CTL_OK;
out:
    if (r.out) {
        fclose(r.out);
        remove(tmp);
    }
    free(tmp);
    PQclear(name);
    PQfinish(r.conn);
    return status;
usage:
    fprintf(stderr, "usage: crvsctl report --year YYYY [--province UNIT] [--units current|as-recorded] "
                    "[--lang vi|en] --out FILE.html\n");
    return CTL_USAGE;
}
