/* ctl_pg: crvsctl's PostgreSQL access, shared by the subcommands: the
 * connection from the pg.* settings, statements and COPY. Every function
 * prints why it failed ("crvsctl WHO: ...", PostgreSQL's message) to
 * stderr, so callers only return CTL_FAILED. */
#ifndef CTL_PG_H
#define CTL_PG_H

#include <libpq-fe.h>
#include <stdio.h>

#include "ctl.h"

/* Connects to PostgreSQL with pg.* or prints why and returns NULL. The
 * caller PQfinishes. */
PGconn *ctl_pg_connect(ctl *c);
/* Runs a parameterised query; on failure prints "crvsctl WHO: error" and
 * returns NULL. The caller PQclears the result. */
PGresult *ctl_pg_query(PGconn *conn, const char *who, const char *sql, int n,
                    const char *const *params);
/* Runs a statement without parameters or result rows (BEGIN, COMMIT, DDL);
 * -1 after printing why as ctl_pg_query does. */
int ctl_pg_exec(PGconn *conn, const char *who, const char *sql);
/* Runs copy_sql (a COPY ... FROM STDIN) and sends the whole of `in`; -1
 * after printing PostgreSQL's message (with the line of the input that
 * failed) prefixed by "crvsctl WHO: ". */
int ctl_pg_copy_in(PGconn *conn, const char *who, const char *copy_sql, FILE *in);

#endif
