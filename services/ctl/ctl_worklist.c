/* crvsctl worklist: what a commune's or a province's registry office has to
 * act on (crvs.worklist, 017_worklist.sql): births and deaths reported
 * with no registration, divorce judgments not recorded in the book, and
 * registrations made without their document. Each item with its due date
 * (60 days after a birth, 15 after a death, --days after a divorce took
 * effect) and whether it is overdue, in Vietnam's calendar. Personal IDs
 * masked. A reader's role is enough. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "ctl_input.h"
#include "ctl_pg.h"
#include "ctl_print.h"
#include "hub_validate.h"

/* A divorce judgment in effect is due in the civil-status book this many
 * days after: the hub's default (--days changes it), not a legal limit. */
#define DIVORCE_DUE_DAYS 30

static int usage(void)
{
    fprintf(stderr,
            "usage: crvsctl worklist --kind births|deaths|divorces|undocumented [--unit CODE]\n"
            "                        [--overdue] [--days N] [--limit N] [--csv|--json]\n"
            "  --unit    a commune (5 digits) or a province (2 digits, today's units)\n"
            "  --days    divorces: days after legal effect a judgment is due in the book\n"
            "            (default %d)\n",
            DIVORCE_DUE_DAYS);
    return CTL_USAGE;
}

int ctl_worklist(ctl *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"kind", required_argument, NULL, 'k'}, {"unit", required_argument, NULL, 'u'},
        {"overdue", no_argument, NULL, 'o'},    {"days", required_argument, NULL, 'd'},
        {"limit", required_argument, NULL, 'l'}, {"csv", no_argument, NULL, 'c'},
        {"json", no_argument, NULL, 'j'},        {NULL, 0, NULL, 0}};
    const char *kind = NULL, *unit = NULL, *limit = "1000";
    long long days = DIVORCE_DUE_DAYS, n;
    bool overdue = false, csv = false, json = false;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "k:u:od:l:cj", opts, NULL)) != -1) {
        switch (opt) {
        case 'k': kind = optarg; break;
        case 'u': unit = optarg; break;
        case 'o': overdue = true; break;
        case 'd':
            if (!ctl_parse_count(optarg, &days)) return usage();
            break;
        case 'l':
            if (!ctl_parse_count(optarg, &n)) return usage();
            limit = optarg;
            break;
        case 'c': csv = true; break;
        case 'j': json = true; break;
        default: return usage();
        }
    }
    if (optind != argc || !kind || (csv && json)) return usage();
    int limit_days;
    if (!strcmp(kind, "births")) limit_days = HUB_BIRTH_REGISTRATION_DAYS;
    else if (!strcmp(kind, "deaths")) limit_days = HUB_DEATH_REGISTRATION_DAYS;
    else if (!strcmp(kind, "divorces")) limit_days = (int)days;
    else if (!strcmp(kind, "undocumented")) limit_days = 0;
    else return usage();

    char due[24];
    snprintf(due, sizeof due, "%d", limit_days);
    const char *params[5] = {kind, due, unit, overdue ? "t" : "f", limit};
    static const char query[] =
        "WITH t AS (SELECT (now() AT TIME ZONE 'Asia/Ho_Chi_Minh')::date AS today), "
        "w AS (SELECT w.*, w.event_date + $2::integer AS due, "
        "crvs.report_unit(w.province_code, w.event_date, 'current') AS province "
        "FROM crvs.worklist w WHERE w.kind = $1) "
        "SELECT coalesce(w.commune_code, '-') AS commune, coalesce(w.province, '-') AS province, "
        "coalesce(crvs.unit_name(w.province), '') AS province_name, w.record, "
        "w.event_date::text AS event_date, w.due::text AS due, (t.today - w.event_date)::text "
        "AS days_open, CASE WHEN t.today > w.due THEN 'yes' ELSE 'no' END AS overdue, "
        "coalesce(w.person, '-') AS person "
        "FROM w, t WHERE ($3::text IS NULL OR w.commune_code = $3 OR w.province = $3) "
        "AND (NOT $4::boolean OR t.today > w.due) "
        "ORDER BY w.event_date, w.record LIMIT $5::integer";
    static const char *const head[] = {"commune", "province", "province_name", "record",
                                       "event_date", "due", "days_open", "overdue", "person"};
    PGconn *conn = ctl_pg_connect(c);
    if (!conn) return CTL_FAILED;
    int status = CTL_FAILED;
    PGresult *res;
    if (json) {
        char sql[sizeof query + 128];
        snprintf(sql, sizeof sql, "SELECT coalesce(json_agg(r), '[]') FROM (%s) r", query);
        if (!(res = ctl_pg_query(conn, "worklist", sql, 5, params))) goto out;
        printf("%s\n", PQgetvalue(res, 0, 0));
    } else {
        if (!(res = ctl_pg_query(conn, "worklist", query, 5, params))) goto out;
        if (csv) ctl_print_csv_rows(res, head);
        else {
            static const char *const titles[] = {"COMMUNE", "PROVINCE", "", "RECORD", "EVENT",
                                                 "DUE", "DAYS", "OVERDUE", "PERSON"};
            ctl_print_rows(res, titles);
            printf("(%d %s%s)\n", PQntuples(res), kind, overdue ? ", overdue only" : "");
        }
    }
    PQclear(res);
    status = CTL_OK;
out:
    PQfinish(conn);
    return status;
}
