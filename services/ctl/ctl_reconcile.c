/* crvsctl reconcile: the linkage's conflicts and gaps (crvs.reconciliation,
 * docs/linkage.md) and the operators' decisions on them.
 *   list:    open items by default, personal IDs masked, with a count by
 *            reason at the end;
 *   resolve: records who decided what; the item and the audit trail keep it. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "ctl_input.h"
#include "ctl_pg.h"

static int reconcile_list(ctl *c, int argc, char **argv)
{
    static const struct option opts[] = {{"reason", required_argument, NULL, 'r'},
                                         {"status", required_argument, NULL, 's'},
                                         {"limit", required_argument, NULL, 'l'},
                                         {NULL, 0, NULL, 0}};
    const char *params[3] = {NULL, "open", "100"};
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "r:s:l:", opts, NULL)) != -1) {
        switch (opt) {
        case 'r': params[0] = optarg; break;
        case 's': params[1] = optarg; break;
        case 'l': params[2] = optarg; break;
        default: goto usage;
        }
    }
    if (optind != argc) goto usage;
    if (strcmp(params[1], "open") && strcmp(params[1], "resolved") &&
        strcmp(params[1], "closed") && strcmp(params[1], "all"))
        goto usage;
    PGconn *conn = ctl_pg_connect(c);
    if (!conn) return CTL_FAILED;
    static const char *filter = "($1::text IS NULL OR reason = $1) "
                                "AND ($2 = 'all' OR status = $2) ";
    char sql[1024];
    snprintf(sql, sizeof sql,
             "SELECT id, to_char(detected_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
             "reason, coalesce(personal_id_masked, '-'), coalesce(source_a, '-'), "
             "coalesce(source_b, '-'), status, detail "
             "FROM crvs.reconciliation_item WHERE %s ORDER BY id LIMIT $3::integer",
             filter);
    PGresult *res = ctl_pg_query(conn, "reconcile", sql, 3, params);
    if (!res) goto fail;
    printf("%-5s %-20s %-28s %-14s %-44s %-30s %-8s %s\n", "ID", "DETECTED", "REASON", "PERSON",
           "SOURCE A", "SOURCE B", "STATUS", "DETAIL");
    for (int i = 0; i < PQntuples(res); i++)
        printf("%-5s %-20s %-28s %-14s %-44s %-30s %-8s %s\n", PQgetvalue(res, i, 0),
               PQgetvalue(res, i, 1), PQgetvalue(res, i, 2), PQgetvalue(res, i, 3),
               PQgetvalue(res, i, 4), PQgetvalue(res, i, 5), PQgetvalue(res, i, 6),
               PQgetvalue(res, i, 7));
    int shown = PQntuples(res);
    PQclear(res);
    snprintf(sql, sizeof sql,
             "SELECT reason, count(*) FROM crvs.reconciliation_item WHERE %s "
             "GROUP BY reason ORDER BY reason",
             filter);
    if (!(res = ctl_pg_query(conn, "reconcile", sql, 2, params))) goto fail;
    printf("(%d shown)", shown);
    for (int i = 0; i < PQntuples(res); i++)
        printf("%s %s %s", i ? "," : " by reason:", PQgetvalue(res, i, 0), PQgetvalue(res, i, 1));
    putchar('\n');
    PQclear(res);
    PQfinish(conn);
    return CTL_OK;
fail:
    PQfinish(conn);
    return CTL_FAILED;
usage:
    fprintf(stderr, "usage: crvsctl reconcile list [--reason R] "
                    "[--status open|resolved|closed|all] [--limit N]\n");
    return CTL_USAGE;
}

static int reconcile_resolve(ctl *c, int argc, char **argv)
{
    ctl_decision d;
    if (ctl_parse_decision(argc, argv, &d) != 0) goto usage;
    PGconn *conn = ctl_pg_connect(c);
    if (!conn) return CTL_FAILED;
    const char *params[3] = {d.id, d.by, d.comment};
    PGresult *res = ctl_pg_query(conn, "reconcile",
                              "SELECT crvs.reconcile_resolve($1::bigint, $2, $3)", 3, params);
    int status = CTL_FAILED;
    if (res) {
        const char *outcome = PQgetvalue(res, 0, 0);
        if (!strcmp(outcome, "resolved")) {
            printf("item %s resolved by %s\n", d.id, d.by);
            status = CTL_OK;
        } else if (!strcmp(outcome, "already_resolved")) {
            printf("item %s was already resolved; nothing changed\n", d.id);
            status = CTL_OK;
        } else {
            fprintf(stderr, "crvsctl reconcile: no item %s\n", d.id);
        }
        PQclear(res);
    }
    PQfinish(conn);
    return status;
usage:
    fprintf(stderr, "usage: crvsctl reconcile resolve ID --comment TEXT [--by NAME]\n");
    return CTL_USAGE;
}

int ctl_reconcile(ctl *c, int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "list")) return reconcile_list(c, argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "resolve")) return reconcile_resolve(c, argc - 1, argv + 1);
    fprintf(stderr, "usage: crvsctl reconcile list|resolve ...\n");
    return CTL_USAGE;
}
