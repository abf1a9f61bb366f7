#include "hub_pg.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub_text.h"

hub_pg_class hub_pg_classify_sqlstate(const char *s)
{
    if (!s || strlen(s) != 5) return HUB_PG_TRANSIENT;
    if (!strcmp(s, "00000")) return HUB_PG_OK;
    /* Exact codes first: some classes mix retryable and permanent errors. */
    if (!strcmp(s, "57014") || !strcmp(s, "57P01") || !strcmp(s, "57P02") ||
        !strcmp(s, "57P03") || !strcmp(s, "55P03") || !strcmp(s, "55006"))
        return HUB_PG_TRANSIENT;
    /* Raised by the hub's own functions, or a limit a value broke (an index
     * row too large for a B-tree). */
    if (!strcmp(s, "P0001") || !strcmp(s, "54000")) return HUB_PG_DATA;
    switch (s[0] << 8 | s[1]) {
    case '0' << 8 | '8': /* connection exception */
    case '4' << 8 | '0': /* transaction rollback: serialization, deadlock */
    case '5' << 8 | '3': /* insufficient resources: disk full, out of memory */
    case '5' << 8 | '8': /* system error: I/O */
        return HUB_PG_TRANSIENT;
    case '2' << 8 | '1': /* cardinality violation: two rows of a batch on one key */
    case '2' << 8 | '2': /* data exception */
    case '2' << 8 | '3': /* integrity constraint violation */
        return HUB_PG_DATA;
    default:
        return HUB_PG_FATAL;
    }
}

hub_pg_class hub_pg_classify(PGconn *conn, const PGresult *res)
{
    if (res) {
        ExecStatusType st = PQresultStatus(res);
        if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_COPY_IN ||
            st == PGRES_COPY_OUT || st == PGRES_SINGLE_TUPLE || st == PGRES_PIPELINE_SYNC)
            return HUB_PG_OK;
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        if (state) return hub_pg_classify_sqlstate(state);
    }
    /* No SQLSTATE: the client side failed, which means the connection. */
    return HUB_PG_TRANSIENT;
    (void)conn;
}

const char *hub_pg_class_name(hub_pg_class c)
{
    switch (c) {
    case HUB_PG_OK: return "ok";
    case HUB_PG_TRANSIENT: return "transient";
    case HUB_PG_DATA: return "data";
    case HUB_PG_FATAL: return "fatal";
    }
    return "?";
}

static void one_line(char *s)
{
    for (char *p = s; *p; p++)
        if (*p == '\n' || *p == '\r' || *p == '\t') *p = ' ';
    size_t n = strlen(s);
    while (n && s[n - 1] == ' ') s[--n] = '\0';
}

/* Names of the SQLSTATEs a refused record meets, for a reader of logs and
 * dead letters who would otherwise look the code up. */
static const char *sqlstate_name(const char *s)
{
    static const char *const names[][2] = {
        {"21000", "cardinality_violation"},
        {"22001", "string_data_right_truncation"},
        {"22003", "numeric_value_out_of_range"},
        {"22004", "null_value_not_allowed"},
        {"22007", "invalid_datetime_format"},
        {"22008", "datetime_field_overflow"},
        {"22012", "division_by_zero"},
        {"22021", "character_not_in_repertoire"},
        {"22023", "invalid_parameter_value"},
        {"22P02", "invalid_text_representation"},
        {"22P05", "untranslatable_character"},
        {"23502", "not_null_violation"},
        {"23503", "foreign_key_violation"},
        {"23505", "unique_violation"},
        {"23514", "check_violation"},
        {"23P01", "exclusion_violation"},
        {"54000", "program_limit_exceeded"},
    };
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (!strcmp(s, names[i][0])) return names[i][1];
    return NULL;
}

/* Appends " key=value" when value is set. */
static void add_field(char *out, size_t size, const char *key, const char *value)
{
    size_t n = strlen(out);
    if (value && *value && n < size) snprintf(out + n, size - n, " %s=%s", key, value);
}

/* PostgreSQL's text for a refused row quotes the row: the primary message
 * ('invalid input syntax for type date: "..."'), DETAIL ("Failing row
 * contains (...)", "Key (personal_id)=(...) already exists") and CONTEXT
 * (the parameters of the statement) may hold a personal ID or a name. So
 * the detail and the context are never copied, and for an error caused by
 * data (and for any error we cannot place) neither is the message: what is
 * left is the SQLSTATE and the objects the server names. The messages of
 * the hub's own RAISE (P0001) are kept: they name no record value. */
void hub_pg_error(PGconn *conn, const PGresult *res, char *errstr, size_t errstr_size)
{
    if (!errstr_size) return;
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    if (!state) {
        /* A client-side failure: the connection's message, on no row. */
        const char *msg = res ? PQresultErrorMessage(res) : NULL;
        if (!msg || !*msg) msg = conn ? PQerrorMessage(conn) : "no connection";
        snprintf(errstr, errstr_size, "%s", msg);
        one_line(errstr);
        return;
    }
    const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    hub_pg_class c = hub_pg_classify_sqlstate(state);
    bool quotes_data = c == HUB_PG_DATA || state[0] == 'X' || !strncmp(state, "P0", 2);
    if (!strcmp(state, "P0001")) quotes_data = false;
    snprintf(errstr, errstr_size, "sqlstate=%s", state);
    if (quotes_data) {
        add_field(errstr, errstr_size, "condition", sqlstate_name(state));
        add_field(errstr, errstr_size, "schema", PQresultErrorField(res, PG_DIAG_SCHEMA_NAME));
        add_field(errstr, errstr_size, "table", PQresultErrorField(res, PG_DIAG_TABLE_NAME));
        add_field(errstr, errstr_size, "column", PQresultErrorField(res, PG_DIAG_COLUMN_NAME));
        add_field(errstr, errstr_size, "constraint",
                  PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME));
        add_field(errstr, errstr_size, "datatype", PQresultErrorField(res, PG_DIAG_DATATYPE_NAME));
    } else if (primary) {
        size_t n = strlen(errstr);
        if (n < errstr_size) snprintf(errstr + n, errstr_size - n, " %s", primary);
    }
    one_line(errstr);
}

void hub_pg_error_for_operator(PGconn *conn, const PGresult *res, char *errstr,
                               size_t errstr_size)
{
    const char *from = res ? PQresultErrorField(res, PG_DIAG_SOURCE_FUNCTION) : NULL;
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (!errstr_size || !from || strcmp(from, "exec_stmt_raise") || !state || !primary) {
        hub_pg_error(conn, res, errstr, errstr_size);
        return;
    }
    snprintf(errstr, errstr_size, "sqlstate=%s %s", state, primary);
    one_line(errstr);
    hub_text_scrub(errstr);
    hub_text_mask_digit_runs(errstr);
}

typedef struct params {
    const char *keys[64];
    const char *values[64];
    int n;
} params;

static int collect(const char *name, const char *value, void *opaque)
{
    params *p = opaque;
    if (p->n >= 62) return -1;
    p->keys[p->n] = name;
    p->values[p->n] = value;
    p->n++;
    return 0;
}

PGconn *hub_pg_connect(const hub_config *cfg, const char *application_name, char *errstr,
                       size_t errstr_size)
{
    params p = {.n = 0};
    if (hub_config_foreach(cfg, "pg.", collect, &p) != 0) {
        snprintf(errstr, errstr_size, "too many pg.* settings");
        return NULL;
    }
    bool has_app = false;
    for (int i = 0; i < p.n; i++)
        if (!strcmp(p.keys[i], "application_name")) has_app = true;
    if (!has_app) {
        p.keys[p.n] = "application_name";
        p.values[p.n++] = application_name;
    }
    p.keys[p.n] = NULL;
    p.values[p.n] = NULL;
    PGconn *conn = PQconnectdbParams(p.keys, p.values, 0);
    if (!conn) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    if (PQstatus(conn) != CONNECTION_OK) {
        hub_pg_error(conn, NULL, errstr, errstr_size);
        PQfinish(conn);
        return NULL;
    }
    return conn;
}

hub_pg_class hub_pg_exec(PGconn *conn, const char *sql, char *errstr, size_t errstr_size)
{
    PGresult *res = PQexec(conn, sql);
    hub_pg_class c = hub_pg_classify(conn, res);
    if (c != HUB_PG_OK) hub_pg_error(conn, res, errstr, errstr_size);
    PQclear(res);
    return c;
}
