#include "hub_apply.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub_buf.h"
#include "hub_jsonb.h"

/* How a registry column's value is written in COPY text: as the JSON
 * value's text (strings as they are, numbers and booleans as jsonb prints
 * them), as an array literal, or as jsonb text. */
typedef enum { COL_SCALAR, COL_ARRAY, COL_JSONB } col_kind;

typedef struct column {
    char *name; /* as in the catalog */
    col_kind kind;
} column;

struct hub_row_layout {
    atomic_int refs;
    column *cols; /* the registry table's columns the row supplies, in table order */
    size_t n_cols;
};

struct hub_apply {
    PGconn *pg;
    hub_row_layout *layout; /* read from the catalog by hub_apply_prepare */
    char *service, *topic;
    char *batch_sql; /* SELECT * FROM crvs.apply_batch_<entity>(service, topic, empty_after) */
};

/* The staging table's own columns after the row's (crvs.apply_stage). */
static const char *const stage_tail[] = {"person_facts", "reconcile"};

#define NAMES(a) (sizeof(a) / sizeof *(a))

/* ---- COPY text ------------------------------------------------------------ */

/* Text as a COPY text-format field: backslash, newline, carriage return and
 * tab escaped (the field and row delimiters); everything else as it is. */
static void copy_text(hub_buf *b, const char *s, size_t n)
{
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        const char *esc;
        switch (s[i]) {
        case '\\': esc = "\\\\"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        default: continue;
        }
        hub_buf_put(b, s + run, i - run);
        hub_buf_put(b, esc, 2);
        run = i + 1;
    }
    hub_buf_put(b, s + run, n - run);
}

/* A value as jsonb text, COPY-escaped; false when hub_jsonb refuses it. */
static bool copy_jsonb(hub_buf *b, const json_t *v)
{
    size_t n;
    char *text = hub_jsonb_text(v, NULL, &n);
    if (!text) return false;
    copy_text(b, text, n);
    free(text);
    return true;
}

/* A JSON array as an array literal: {"a","b",NULL}, each element quoted
 * with its '"' and '\' escaped, then the whole COPY-escaped. */
static bool copy_array(hub_buf *b, const json_t *v)
{
    hub_buf lit = {0};
    hub_buf_put(&lit, "{", 1);
    for (size_t i = 0; i < json_array_size(v); i++) {
        const json_t *e = json_array_get(v, i);
        if (i) hub_buf_put(&lit, ",", 1);
        if (json_is_null(e)) {
            hub_buf_puts(&lit, "NULL");
            continue;
        }
        size_t n;
        char *owned = NULL;
        const char *s;
        if (json_is_string(e)) {
            s = json_string_value(e);
            n = json_string_length(e);
        } else if (!(s = owned = hub_jsonb_text(e, NULL, &n))) {
            free(lit.s);
            return false;
        }
        hub_buf_put(&lit, "\"", 1);
        size_t run = 0;
        for (size_t k = 0; k < n; k++) {
            if (s[k] != '"' && s[k] != '\\') continue;
            hub_buf_put(&lit, s + run, k - run);
            hub_buf_put(&lit, "\\", 1);
            run = k;
        }
        hub_buf_put(&lit, s + run, n - run);
        hub_buf_put(&lit, "\"", 1);
        free(owned);
    }
    hub_buf_put(&lit, "}", 1);
    bool ok = !lit.failed;
    if (ok) copy_text(b, lit.s, lit.len);
    free(lit.s);
    return ok;
}

/* One column's value: \N for a missing or null value; otherwise what
 * jsonb_populate_record would have made of it (the reference path). */
static bool copy_value(hub_buf *b, col_kind kind, const json_t *v)
{
    if (!v || json_is_null(v)) {
        hub_buf_put(b, "\\N", 2);
        return true;
    }
    if (kind == COL_JSONB) return copy_jsonb(b, v);
    if (kind == COL_ARRAY && json_is_array(v)) return copy_array(b, v);
    if (json_is_string(v)) {
        copy_text(b, json_string_value(v), json_string_length(v));
        return true;
    }
    return copy_jsonb(b, v); /* numbers, booleans; objects as their text */
}

/* A row's staging line after its position in the batch: source, key,
 * content hash, columns, facts, the ending newline. */
static bool encode_line(const hub_row_layout *L, hub_buf *b, const hub_apply_row *r)
{
    const json_t *doc = json_object_get(r->row, "document");
    char hash[33];
    if (!json_is_object(doc) || hub_content_hash(doc, hash) != 0) return false;
    hub_buf_printf(b, "%d\t%lld\t%d\t", (int)r->partition, (long long)r->offset,
                   (int)r->schema_id);
    copy_text(b, r->key, strlen(r->key));
    hub_buf_printf(b, "\t%s", hash);
    for (size_t i = 0; i < L->n_cols; i++) {
        hub_buf_put(b, "\t", 1);
        if (!copy_value(b, L->cols[i].kind, json_object_get(r->row, L->cols[i].name)))
            return false;
    }
    for (size_t i = 0; i < NAMES(stage_tail); i++) {
        hub_buf_put(b, "\t", 1);
        if (!copy_value(b, COL_JSONB, json_object_get(r->row, stage_tail[i]))) return false;
    }
    hub_buf_put(b, "\n", 1);
    return !b->failed;
}

char *hub_row_encode(const hub_row_layout *L, const hub_apply_row *r, size_t *len)
{
    hub_buf b = {0};
    if (!encode_line(L, &b, r) || b.failed) {
        free(b.s);
        return NULL;
    }
    *len = b.len;
    return b.s;
}

/* Whether a line encoded for layout x fits the staging table of layout y:
 * the same columns, in the same order, encoded the same way. A column's
 * type within its kind does not change its text. */
static bool same_layout(const hub_row_layout *x, const hub_row_layout *y)
{
    if (x == y) return true;
    if (!x || !y || x->n_cols != y->n_cols) return false;
    for (size_t i = 0; i < x->n_cols; i++)
        if (x->cols[i].kind != y->cols[i].kind || strcmp(x->cols[i].name, y->cols[i].name))
            return false;
    return true;
}

/* ---- the layout ------------------------------------------------------------- */

hub_row_layout *hub_row_layout_ref(const hub_row_layout *L)
{
    hub_row_layout *m = (hub_row_layout *)L;
    if (m) atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
    return m;
}

void hub_row_layout_unref(hub_row_layout *L)
{
    if (!L || atomic_fetch_sub_explicit(&L->refs, 1, memory_order_acq_rel) != 1) return;
    for (size_t i = 0; i < L->n_cols; i++) {
        free(L->cols[i].name);
    }
    free(L->cols);
    free(L);
}

const hub_row_layout *hub_apply_layout(const hub_apply *a) { return a->layout; }

/* ---- the session's write path ------------------------------------------- */

/* The registry table's columns a row supplies, as crvs.apply_columns
 * (013_roles.sql) names them: the columns of the staging table
 * crvs.apply_stage made, between its own. */
static hub_pg_class read_columns(hub_apply *a, const hub_topic_info *t, char *errstr,
                                 size_t errstr_size)
{
    const char *params[1] = {t->entity};
    PGresult *res = PQexecParams(a->pg, "SELECT name, kind FROM crvs.apply_columns($1)", 1,
                                 NULL, params, NULL, NULL, 0);
    hub_pg_class c = hub_pg_classify(a->pg, res);
    if (c != HUB_PG_OK) {
        hub_pg_error(a->pg, res, errstr, errstr_size);
        PQclear(res);
        return c;
    }
    int n = PQntuples(res);
    hub_row_layout *L = a->layout = calloc(1, sizeof *L);
    if (!L) goto oom;
    atomic_init(&L->refs, 1);
    L->cols = calloc((size_t)(n ? n : 1), sizeof *L->cols);
    if (!L->cols) goto oom;
    for (int i = 0; i < n; i++) {
        column *col = &L->cols[L->n_cols];
        if (!(col->name = strdup(PQgetvalue(res, i, 0)))) goto oom;
        const char *kind = PQgetvalue(res, i, 1);
        col->kind = !strcmp(kind, "jsonb") ? COL_JSONB : !strcmp(kind, "array") ? COL_ARRAY
                                                                                 : COL_SCALAR;
        L->n_cols++;
    }
    PQclear(res);
    if (L->n_cols == 0) {
        snprintf(errstr, errstr_size, "table crvs.%s not found (is the database migrated?)",
                 t->entity);
        return HUB_PG_FATAL;
    }
    return HUB_PG_OK;
oom:
    PQclear(res);
    snprintf(errstr, errstr_size, "out of memory");
    return HUB_PG_FATAL;
}

/* The session's staging tables, made by the owner (crvs.apply_stage), and
 * the statement that applies what the COPY staged: the generated
 * crvs.apply_batch_<entity>, which runs the batch's statements with the
 * owner's rights (the service has none on the tables). */
static hub_pg_class stage(hub_apply *a, const hub_topic_info *t, char *errstr,
                          size_t errstr_size)
{
    /* Every table is read by the batch's keys: no plan of this session may
     * read one whole because its statistics lag behind its growth, nor
     * spend longer compiling than working (docs/architecture.md). The
     * batch function sets the same for its own statements. */
    hub_pg_class c = hub_pg_exec(a->pg, "SET enable_seqscan = off; SET jit = off", errstr,
                                 errstr_size);
    if (c != HUB_PG_OK) return c;
    const char *params[1] = {t->entity};
    PGresult *res = PQexecParams(a->pg, "SELECT crvs.apply_stage($1)", 1, NULL, params, NULL,
                                 NULL, 0);
    if ((c = hub_pg_classify(a->pg, res)) != HUB_PG_OK) {
        char why[400];
        hub_pg_error(a->pg, res, why, sizeof why);
        snprintf(errstr, errstr_size, "making the staging tables: %s", why);
        PQclear(res);
        return c;
    }
    PQclear(res);
    char fn[160];
    snprintf(fn, sizeof fn, "apply_batch_%s", t->entity);
    char *q = PQescapeIdentifier(a->pg, fn, strlen(fn));
    hub_buf b = {0};
    if (!q) b.failed = true;
    else hub_buf_printf(&b, "SELECT * FROM crvs.%s($1, $2, $3)", q);
    PQfreemem(q);
    if (b.failed) {
        free(b.s);
        snprintf(errstr, errstr_size, "out of memory");
        return HUB_PG_FATAL;
    }
    a->batch_sql = b.s;
    return HUB_PG_OK;
}

hub_apply *hub_apply_prepare(PGconn *pg, const hub_topic_info *t, const char *service,
                             const char *topic, hub_pg_class *cls, char *errstr,
                             size_t errstr_size)
{
    hub_apply *a = calloc(1, sizeof *a);
    *cls = HUB_PG_FATAL;
    if (!a || !(a->service = strdup(service)) || !(a->topic = strdup(topic))) {
        snprintf(errstr, errstr_size, "out of memory");
        hub_apply_free(a);
        return NULL;
    }
    a->pg = pg;
    if ((*cls = stage(a, t, errstr, errstr_size)) != HUB_PG_OK ||
        (*cls = read_columns(a, t, errstr, errstr_size)) != HUB_PG_OK) {
        hub_apply_free(a);
        return NULL;
    }
    return a;
}

void hub_apply_free(hub_apply *a)
{
    if (!a) return;
    hub_row_layout_unref(a->layout);
    free(a->service);
    free(a->topic);
    free(a->batch_sql);
    free(a);
}

/* ---- applying --------------------------------------------------------------- */

/* Keeps the first failure's class and message; later ones are its echoes
 * (a pipeline aborted by it). */
static void note_failure(PGconn *pg, PGresult *res, hub_pg_class *first, char *errstr,
                         size_t errstr_size)
{
    hub_pg_class c = hub_pg_classify(pg, res);
    if (c == HUB_PG_OK || *first != HUB_PG_OK) return;
    *first = c;
    hub_pg_error(pg, res, errstr, errstr_size);
}

static hub_pg_class copy_rows(hub_apply *a, const hub_apply_row *rows, size_t n, char *errstr,
                              size_t errstr_size)
{
    PGresult *res = PQexec(a->pg, "COPY pg_temp.hub_stage FROM STDIN");
    if (PQresultStatus(res) != PGRES_COPY_IN) {
        hub_pg_class c = hub_pg_classify(a->pg, res);
        if (c == HUB_PG_OK) c = HUB_PG_FATAL;
        hub_pg_error(a->pg, res, errstr, errstr_size);
        PQclear(res);
        return c;
    }
    PQclear(res);
    /* The rows go in chunks of about 256 KiB: COPY's own buffering. A line
     * encoded ahead for these columns is sent as it is; any other row is
     * encoded here. */
    hub_buf b = {0};
    const char *refused = NULL;
    for (size_t i = 0; i < n && !refused; i++) {
        const hub_apply_row *r = &rows[i];
        size_t before = b.len;
        hub_buf_printf(&b, "%d\t", (int)i + 1);
        if (r->line && same_layout(r->layout, a->layout)) {
            hub_buf_put(&b, r->line, r->line_len);
        } else if (!encode_line(a->layout, &b, r)) {
            refused = b.failed ? "out of memory" : "a document that cannot be stored as jsonb";
            b.len = before;
            break;
        }
        if (b.failed) {
            refused = "out of memory";
            break;
        }
        if (b.len >= 256 * 1024 || i + 1 == n) {
            if (PQputCopyData(a->pg, b.s, (int)b.len) != 1) break;
            b.len = 0;
        }
    }
    int ended = PQputCopyEnd(a->pg, refused);
    free(b.s);
    hub_pg_class c = HUB_PG_OK;
    errstr[0] = '\0';
    while ((res = PQgetResult(a->pg))) {
        note_failure(a->pg, res, &c, errstr, errstr_size);
        PQclear(res);
    }
    if (refused) {
        snprintf(errstr, errstr_size, "%s", refused);
        return b.failed ? HUB_PG_FATAL : HUB_PG_DATA;
    }
    if (ended != 1 && c == HUB_PG_OK) {
        c = hub_pg_classify(a->pg, NULL);
        hub_pg_error(a->pg, NULL, errstr, errstr_size);
    }
    return c;
}

hub_pg_class hub_apply_rows(hub_apply *a, const hub_apply_row *rows, size_t n, bool empty_after,
                            hub_apply_counts *counts, char *errstr, size_t errstr_size)
{
    if (n == 0) return HUB_PG_OK;
    hub_pg_class c = copy_rows(a, rows, n, errstr, errstr_size);
    if (c != HUB_PG_OK) return c;

    const char *params[3] = {a->service, a->topic, empty_after ? "t" : "f"};
    PGresult *res = PQexecParams(a->pg, a->batch_sql, 3, NULL, params, NULL, NULL, 0);
    if ((c = hub_pg_classify(a->pg, res)) != HUB_PG_OK) {
        hub_pg_error(a->pg, res, errstr, errstr_size);
        PQclear(res);
        return c;
    }
    uint64_t got[3] = {0, 0, 0};
    if (PQntuples(res) == 1 && PQnfields(res) == 3)
        for (int k = 0; k < 3; k++) got[k] = strtoull(PQgetvalue(res, 0, k), NULL, 10);
    PQclear(res);
    if (got[0] + got[1] + got[2] != n) {
        snprintf(errstr, errstr_size, "apply gave %llu outcomes for %zu records",
                 (unsigned long long)(got[0] + got[1] + got[2]), n);
        return HUB_PG_FATAL;
    }
    counts->created += got[0];
    counts->corrected += got[1];
    counts->duplicates += got[2];
    return HUB_PG_OK;
}
