/* crvsctl marriage load: loads an extract of the marriage register (CSV with
 * a header: registry_office, registration_number, registration_date,
 * spouse_a_personal_id, spouse_b_personal_id) in one transaction. PostgreSQL
 * parses the CSV (COPY) and crvs.register_marriage states each marriage's
 * facts, so judgments received earlier find their marriage. Idempotent by
 * (registry_office, registration_number). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "hub_pg.h"

static int marriage_load(ctl *c, int argc, char **argv)
{
    static const struct option opts[] = {{"source", required_argument, NULL, 's'},
                                         {NULL, 0, NULL, 0}};
    const char *source = "marriage-register";
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "s:", opts, NULL)) != -1) {
        if (opt == 's') source = optarg;
        else goto usage;
    }
    if (optind != argc - 1) goto usage;
    const char *path = argv[optind];
    FILE *in = strcmp(path, "-") ? fopen(path, "r") : stdin;
    if (!in) {
        perror(path);
        return CTL_FAILED;
    }
    int status = CTL_FAILED;
    PGconn *conn = ctl_pg(c);
    if (!conn) goto out;
    if (ctl_exec(conn, "marriage", "BEGIN") ||
        ctl_exec(conn, "marriage", "CREATE TEMPORARY TABLE marriage_load (registry_office text NOT NULL, "
                      "registration_number text NOT NULL, registration_date date NOT NULL, "
                      "spouse_a_personal_id text NOT NULL, spouse_b_personal_id text NOT NULL) "
                      "ON COMMIT DROP") ||
        ctl_copy_in(conn, "marriage", "COPY marriage_load FROM STDIN (FORMAT csv, HEADER true)", in))
        goto out;
    const char *params[1] = {source};
    PGresult *res = ctl_query(
        conn, "marriage",
        "SELECT count(crvs.register_marriage(registry_office, registration_number, "
        "registration_date, spouse_a_personal_id, spouse_b_personal_id, $1)) "
        "FROM (SELECT * FROM marriage_load ORDER BY registry_office, registration_number) m",
        1, params);
    if (!res) goto out;
    printf("%s marriages loaded\n", PQgetvalue(res, 0, 0));
    PQclear(res);
    if (ctl_exec(conn, "marriage", "COMMIT") == 0) status = CTL_OK;
out:
    if (conn) PQfinish(conn);
    if (in != stdin) fclose(in);
    return status;
usage:
    fprintf(stderr, "usage: crvsctl marriage load [--source NAME] FILE.csv|-\n");
    return CTL_USAGE;
}

int ctl_marriage(ctl *c, int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "load")) return marriage_load(c, argc - 1, argv + 1);
    fprintf(stderr, "usage: crvsctl marriage load [--source NAME] FILE.csv|-\n");
    return CTL_USAGE;
}
