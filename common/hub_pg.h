/* hub_pg: libpq discipline shared by services and crvsctl.
 * Connections are made with PQconnectdbParams from the `pg.*` settings plus
 * application_name; errors are classified by SQLSTATE to decide between
 * retrying the whole batch, isolating one bad record, and stopping. */
#ifndef HUB_PG_H
#define HUB_PG_H

#include <libpq-fe.h>
#include <stddef.h>

#include "hub_config.h"

typedef enum {
    HUB_PG_OK = 0,
    HUB_PG_TRANSIENT, /* connection lost, server shutting down, deadlock,
                         serialization failure, out of resources: retry */
    HUB_PG_DATA,      /* this data cannot be written (class 21, 22, 23, 54000,
                         P0001): retrying will fail again; isolate the record */
    HUB_PG_FATAL      /* our SQL or setup is wrong (42, 28, 3D, ...): stop */
} hub_pg_class;

hub_pg_class hub_pg_classify_sqlstate(const char *sqlstate);
/* Classifies a result (NULL allowed) of a command on conn. A failure with no
 * SQLSTATE and a bad connection is transient. */
hub_pg_class hub_pg_classify(PGconn *conn, const PGresult *res);
const char *hub_pg_class_name(hub_pg_class c);

/* Connects with the `pg.*` settings; on failure returns NULL and errstr says
 * why (PQerrorMessage, one line). The caller PQfinish()es the result. */
PGconn *hub_pg_connect(const hub_config *cfg, const char *application_name, char *errstr,
                       size_t errstr_size) HUB_WUR;

/* Runs a parameterless command and checks its status. Returns the class;
 * errstr holds the server's message on failure. */
hub_pg_class hub_pg_exec(PGconn *conn, const char *sql, char *errstr, size_t errstr_size);

/* Describes a failure in one line for logs, dead letters and audit rows:
 * "sqlstate=S" and then, for an error caused by data (or one we cannot
 * place), only the objects the server names ("condition=check_violation
 * schema=crvs table=T column=C constraint=K datatype=D"), since its message,
 * DETAIL and CONTEXT quote the row; for other errors, the primary message.
 * Without a SQLSTATE (client side): the connection's message. */
void hub_pg_error(PGconn *conn, const PGresult *res, char *errstr, size_t errstr_size);

/* As hub_pg_error, but for an exception a PL/pgSQL RAISE threw (the hub's
 * functions answer an operator's command that way: 'indicator births cannot
 * be grouped by "x" (it can by: ...)') keeps the primary message, one line,
 * runs of 12 or more digits masked. For crvsctl's replies to the operator
 * who typed the command; never for logs, dead letters or audit rows. */
void hub_pg_error_for_operator(PGconn *conn, const PGresult *res, char *errstr,
                               size_t errstr_size);

#endif
