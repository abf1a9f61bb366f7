/* crvsctl marriage load: loads an extract of the marriage register (CSV with
 * a header: registry_office, registration_number, registration_date,
 * spouse_a_personal_id, spouse_b_personal_id) in one transaction. PostgreSQL
 * parses the CSV (COPY) into a session table and crvs.register_marriage
 * states each marriage's facts, so judgments received earlier find their
 * marriage. Idempotent by (registry_office, registration_number).
 *
 * The services lock the persons they link while the load runs, so the
 * register transaction can lose a deadlock (or a serialization failure) to
 * a service's batch; it is then rolled back and run again from the table,
 * as the services do with their batches. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "ctl_input.h"
#include "ctl_pg.h"
#include "hub_pg.h"

#define MAX_ATTEMPTS 5

/* One transaction registering every marriage in marriage_load. */
static hub_pg_class register_loaded(PGconn *conn, const char *source)
{
    if (ctl_pg_exec(conn, "marriage", "BEGIN")) return HUB_PG_FATAL;
    const char *params[1] = {source};
    PGresult *res = PQexecParams(
        conn,
        "SELECT count(crvs.register_marriage(registry_office, registration_number, "
        "registration_date, spouse_a_personal_id, spouse_b_personal_id, $1)) "
        "FROM (SELECT * FROM marriage_load ORDER BY registry_office, registration_number) m",
        1, NULL, params, NULL, NULL, 0);
    hub_pg_class rc = hub_pg_classify(conn, res);
    if (rc == HUB_PG_OK) {
        char count[32];
        snprintf(count, sizeof count, "%s", PQgetvalue(res, 0, 0));
        PQclear(res);
        res = PQexec(conn, "COMMIT");
        rc = hub_pg_classify(conn, res);
        if (rc == HUB_PG_OK) printf("%s marriages loaded\n", count);
        else fprintf(stderr, "crvsctl marriage: %s", PQresultErrorMessage(res));
        PQclear(res);
        return rc;
    }
    fprintf(stderr, "crvsctl marriage: %s", PQresultErrorMessage(res));
    PQclear(res);
    PGresult *rb = PQexec(conn, "ROLLBACK");
    PQclear(rb);
    return rc;
}

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
    FILE *in = ctl_input_open("marriage", path);
    if (!in) return CTL_FAILED;
    int status = CTL_FAILED;
    PGconn *conn = ctl_pg_connect(c);
    if (!conn) goto out;
    if (ctl_pg_exec(conn, "marriage", "CREATE TEMPORARY TABLE marriage_load (registry_office text NOT NULL, "
                      "registration_number text NOT NULL, registration_date date NOT NULL, "
                      "spouse_a_personal_id text NOT NULL, spouse_b_personal_id text NOT NULL)") ||
        ctl_pg_copy_in(conn, "marriage", "COPY marriage_load FROM STDIN (FORMAT csv, HEADER true)", in))
        goto out;
    for (int attempt = 1; status != CTL_OK; attempt++) {
        hub_pg_class rc = register_loaded(conn, source);
        if (rc == HUB_PG_OK) status = CTL_OK;
        else if (rc != HUB_PG_TRANSIENT || attempt == MAX_ATTEMPTS || PQstatus(conn) != CONNECTION_OK)
            goto out;
        else {
            fprintf(stderr, "crvsctl marriage: attempt %d of %d rolled back; trying again\n", attempt,
                    MAX_ATTEMPTS);
            nanosleep(&(struct timespec){.tv_nsec = 100000000L * attempt}, NULL);
        }
    }
out:
    if (conn) PQfinish(conn);
    ctl_input_close(in);
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
