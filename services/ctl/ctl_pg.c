#include "ctl_pg.h"

#include "hub_pg.h"

PGconn *ctl_pg_connect(ctl *c)
{
    char err[512];
    PGconn *conn = hub_pg_connect(c->cfg, "crvsctl", err, sizeof err);
    if (!conn) fprintf(stderr, "crvsctl: cannot connect to PostgreSQL: %s\n", err);
    return conn;
}

PGresult *ctl_pg_query(PGconn *conn, const char *who, const char *sql, int n,
                    const char *const *params)
{
    PGresult *res = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
    if (hub_pg_classify(conn, res) != HUB_PG_OK) {
        char err[512];
        hub_pg_error_for_operator(conn, res, err, sizeof err);
        fprintf(stderr, "crvsctl %s: %s\n", who, err);
        PQclear(res);
        return NULL;
    }
    return res;
}

int ctl_pg_exec(PGconn *conn, const char *who, const char *sql)
{
    PGresult *res = ctl_pg_query(conn, who, sql, 0, NULL);
    if (!res) return -1;
    PQclear(res);
    return 0;
}

int ctl_pg_copy_in(PGconn *conn, const char *who, const char *copy_sql, FILE *in)
{
    PGresult *res = PQexec(conn, copy_sql);
    if (PQresultStatus(res) != PGRES_COPY_IN) {
        fprintf(stderr, "crvsctl %s: %s", who, PQerrorMessage(conn));
        PQclear(res);
        return -1;
    }
    PQclear(res);
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        if (PQputCopyData(conn, buf, (int)n) != 1) break;
    if (PQputCopyEnd(conn, ferror(in) ? "read error" : NULL) != 1) {
        fprintf(stderr, "crvsctl %s: %s", who, PQerrorMessage(conn));
        return -1;
    }
    int rc = 0;
    while ((res = PQgetResult(conn))) {
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            fprintf(stderr, "crvsctl %s: %s", who, PQresultErrorMessage(res));
            rc = -1;
        }
        PQclear(res);
    }
    return rc;
}
