/* crvsctl refdata: reference data the indicators report with
 * (007_refdata.sql, docs/indicators.md "Reference data").
 *   load units FILE.csv  a new version of the commune list: CSV with the
 *                        header commune_code,commune_name,kind,province_code;
 *                        PostgreSQL parses the CSV (COPY), crvs.load_communes
 *                        checks every row and loads all or nothing, audited;
 *   show units           the versions loaded and the communes in force per
 *                        province. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "ctl_input.h"
#include "ctl_pg.h"
#include "ctl_print.h"

static int load_units(ctl *c, int argc, char **argv)
{
    static const struct option opts[] = {{"valid-from", required_argument, NULL, 'v'},
                                         {"by", required_argument, NULL, 'b'},
                                         {NULL, 0, NULL, 0}};
    const char *valid_from = NULL, *by = getenv("USER");
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (opt == 'v') valid_from = optarg;
        else if (opt == 'b') by = optarg;
        else goto usage;
    }
    if (optind != argc - 1) goto usage;
    if (!by || !*by) by = "unknown";
    const char *path = argv[optind];
    FILE *in = ctl_input_open("refdata", path);
    if (!in) return CTL_FAILED;
    int status = CTL_FAILED;
    PGresult *res = NULL;
    PGconn *conn = ctl_pg_connect(c);
    if (!conn) goto out;
    /* line: the file's line (the header is line 1; quoted line breaks
     * inside a field would shift it, and names do not have them). */
    if (ctl_pg_exec(conn, "refdata", "BEGIN") ||
        ctl_pg_exec(conn, "refdata", "CREATE TEMPORARY TABLE unit_load (line integer GENERATED ALWAYS AS "
                      "IDENTITY (START 2), commune_code text, commune_name text, kind text, "
                      "province_code text) ON COMMIT DROP") ||
        ctl_pg_copy_in(conn, "refdata",
                    "COPY unit_load (commune_code, commune_name, kind, province_code) "
                    "FROM STDIN (FORMAT csv, HEADER match)",
                    in))
        goto out;
    const char *params[3] = {path, by, valid_from};
    res = ctl_pg_query(conn, "refdata",
                    "SELECT crvs.load_communes(coalesce(jsonb_agg(jsonb_build_object('line', line, "
                    "'code', commune_code, 'name', commune_name, 'kind', kind, 'province_code', "
                    "province_code) ORDER BY line), '[]'), $1, $2, coalesce($3::date, "
                    "(now() AT TIME ZONE 'Asia/Ho_Chi_Minh')::date)) FROM unit_load",
                    3, params);
    if (!res) goto out;
    json_t *outcome = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    json_t *errors = json_object_get(outcome, "errors");
    if (!json_is_object(outcome)) {
        fprintf(stderr, "crvsctl refdata: crvs.load_communes answered no outcome; nothing loaded\n");
    } else if (json_is_array(errors)) {
        size_t i;
        json_t *e;
        json_array_foreach(errors, i, e) {
            const char *msg = json_is_string(e) ? json_string_value(e) : "(no message)";
            if (!strncmp(msg, "line ", 5)) fprintf(stderr, "%s:%s\n", path, msg + 5);
            else fprintf(stderr, "%s: %s\n", path, msg);
        }
        fprintf(stderr, "crvsctl refdata: %zu error(s); nothing loaded\n", json_array_size(errors));
    } else {
        printf("commune list version %lld loaded: %lld communes\n",
               (long long)json_integer_value(json_object_get(outcome, "version")),
               (long long)json_integer_value(json_object_get(outcome, "rows")));
        if (ctl_pg_exec(conn, "refdata", "COMMIT") == 0) status = CTL_OK;
    }
    json_decref(outcome);
out:
    PQclear(res);
    if (conn) PQfinish(conn);
    ctl_input_close(in);
    return status;
usage:
    fprintf(stderr, "usage: crvsctl refdata load units [--valid-from YYYY-MM-DD] [--by NAME] "
                    "FILE.csv|-\n");
    return CTL_USAGE;
}

static int show_units(ctl *c)
{
    PGconn *conn = ctl_pg_connect(c);
    if (!conn) return CTL_FAILED;
    int status = CTL_FAILED;
    PGresult *res = ctl_pg_query(conn, "refdata",
                              "SELECT version, to_char(loaded_at AT TIME ZONE 'UTC', "
                              "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), valid_from, loaded_by, row_count, "
                              "source FROM crvs.commune_version ORDER BY version",
                              0, NULL);
    if (!res) goto out;
    static const char *const head[] = {"VERSION", "LOADED", "VALID FROM", "BY", "ROWS", "SOURCE"};
    ctl_print_rows(res, head);
    PQclear(res);
    res = ctl_pg_query(conn, "refdata",
                    "SELECT p.code, p.name, count(c.code) FROM crvs.province p "
                    "LEFT JOIN crvs.commune_in_force c ON c.province_code = p.code "
                    "WHERE p.era = 'current' GROUP BY p.code, p.name ORDER BY p.code",
                    0, NULL);
    if (!res) goto out;
    printf("\ncommunes in force per province:\n");
    for (int i = 0; i < PQntuples(res); i++)
        printf("  %s %s: %s\n", PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), PQgetvalue(res, i, 2));
    status = CTL_OK;
out:
    PQclear(res);
    PQfinish(conn);
    return status;
}

int ctl_refdata(ctl *c, int argc, char **argv)
{
    if (argc >= 3 && !strcmp(argv[1], "load") && !strcmp(argv[2], "units"))
        return load_units(c, argc - 2, argv + 2);
    if (argc == 3 && !strcmp(argv[1], "show") && !strcmp(argv[2], "units")) return show_units(c);
    fprintf(stderr, "usage: crvsctl refdata load units [--valid-from D] [--by NAME] FILE.csv\n"
                    "       crvsctl refdata show units\n");
    return CTL_USAGE;
}
