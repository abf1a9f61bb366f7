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
    char *type; /* format_type() */
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
};

/* The registry columns the write path fills itself, not the row. */
static const char *const computed[] = {"id",          "content_hash",     "version",
                                       "received_at", "updated_at",       "source_partition",
                                       "source_offset", "schema_id"};
/* The staging table's own columns before the row's, and after. */
static const char *const stage_head[] = {"ord", "source_partition", "source_offset", "schema_id",
                                         "entity_key", "content_hash"};
static const char *const stage_tail[] = {"person_facts", "reconcile"};

#define NAMES(a) (sizeof(a) / sizeof *(a))

static bool listed(const char *name, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(name, list[i])) return true;
    return false;
}

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
        free(L->cols[i].type);
    }
    free(L->cols);
    free(L);
}

const hub_row_layout *hub_apply_layout(const hub_apply *a) { return a->layout; }

/* ---- the statements --------------------------------------------------------- */

/* Names are the catalog's and the topic table's; quoted all the same. */
static void ident(hub_buf *b, PGconn *pg, const char *name)
{
    char *q = PQescapeIdentifier(pg, name, strlen(name));
    if (!q) {
        b->failed = true;
        return;
    }
    hub_buf_puts(b, q);
    PQfreemem(q);
}

static void literal(hub_buf *b, PGconn *pg, const char *text)
{
    char *q = PQescapeLiteral(pg, text, strlen(text));
    if (!q) {
        b->failed = true;
        return;
    }
    hub_buf_puts(b, q);
    PQfreemem(q);
}

/* "<prefix>k1 = <prefix2>k1 AND ..." over the business key columns. */
static void key_match(hub_buf *b, PGconn *pg, const hub_topic_info *t, const char *x, const char *y)
{
    for (int i = 0; i < 2; i++) {
        if (i) hub_buf_puts(b, " AND ");
        hub_buf_printf(b, "%s.", x);
        ident(b, pg, t->key_columns[i]);
        hub_buf_printf(b, " = %s.", y);
        ident(b, pg, t->key_columns[i]);
    }
}

static void key_list(hub_buf *b, PGconn *pg, const hub_topic_info *t, const char *x)
{
    for (int i = 0; i < 2; i++) {
        if (i) hub_buf_puts(b, ", ");
        hub_buf_printf(b, "%s.", x);
        ident(b, pg, t->key_columns[i]);
    }
}

typedef struct statement {
    const char *name;
    int first_param; /* of (service, topic) */
    int n_params;
} statement;

/* The pipeline, in order. hub_w_empty only when asked (empty_after). */
static const statement pipeline[] = {
    {"hub_w_outcome", 0, 0}, {"hub_w_delete", 0, 0}, {"hub_w_insert", 0, 0},
    {"hub_w_chain", 1, 1},   {"hub_w_audit", 0, 2},  {"hub_w_queue", 0, 0},
    {"hub_w_facts", 0, 0},   {"hub_w_linked", 0, 0}, {"hub_w_items", 0, 0},
    {"hub_w_empty", 0, 0},
};

static hub_pg_class prepare_one(PGconn *pg, const char *name, hub_buf *sql, int n_params,
                                char *errstr, size_t errstr_size)
{
    if (sql->failed) {
        snprintf(errstr, errstr_size, "out of memory");
        return HUB_PG_FATAL;
    }
    PGresult *res = PQprepare(pg, name, sql->s, n_params, NULL);
    hub_pg_class c = hub_pg_classify(pg, res);
    if (c != HUB_PG_OK) {
        char why[400];
        hub_pg_error(pg, res, why, sizeof why);
        snprintf(errstr, errstr_size, "preparing %s: %s", name, why);
    }
    PQclear(res);
    sql->len = 0;
    if (sql->s) sql->s[0] = '\0';
    return c;
}

/* The statements, built from the table's columns. Their semantics are
 * crvs.apply_records': see there for the why of each step. */
static hub_pg_class prepare_statements(hub_apply *a, const hub_topic_info *t, char *errstr,
                                       size_t errstr_size)
{
    PGconn *pg = a->pg;
    const hub_row_layout *L = a->layout;
    hub_buf q = {0};
    hub_pg_class c;
    char table[160];
    snprintf(table, sizeof table, "crvs.%s", t->entity);

    /* Staging: the rows as sent, and their outcomes. */
    hub_buf_puts(&q, "CREATE TEMP TABLE hub_stage (ord integer, source_partition integer, "
                "source_offset bigint, schema_id integer, entity_key text, content_hash text");
    for (size_t i = 0; i < L->n_cols; i++) {
        hub_buf_puts(&q, ", ");
        ident(&q, pg, L->cols[i].name);
        hub_buf_printf(&q, " %s", L->cols[i].type);
    }
    hub_buf_puts(&q, ", person_facts jsonb, reconcile jsonb) ON COMMIT DELETE ROWS");
    if (q.failed) {
        free(q.s);
        snprintf(errstr, errstr_size, "out of memory");
        return HUB_PG_FATAL;
    }
    /* Every table is read by the batch's keys: no plan of this session may
     * read one whole because its statistics lag behind its growth, nor
     * spend longer compiling than working (docs/architecture.md). */
    if ((c = hub_pg_exec(pg, "SET enable_seqscan = off; SET jit = off", errstr, errstr_size)) !=
            HUB_PG_OK ||
        (c = hub_pg_exec(pg, q.s, errstr, errstr_size)) != HUB_PG_OK ||
        (c = hub_pg_exec(pg,
                         "CREATE TEMP TABLE hub_outcome (ord integer, outcome text, "
                         "version integer, final boolean, old_id bigint, "
                         "old_received_at timestamptz, before jsonb) ON COMMIT DELETE ROWS",
                         errstr, errstr_size)) != HUB_PG_OK) {
        free(q.s);
        return c;
    }
    q.len = 0;

    /* Outcomes: against the stored rows of the batch's keys (locked until
     * COMMIT) and the elements before in the batch with the same key. */
    hub_buf_puts(&q, "WITH old AS MATERIALIZED (SELECT t.id, t.version, t.content_hash, t.received_at, "
                "t.document, ");
    key_list(&q, pg, t, "t");
    hub_buf_printf(&q, " FROM %s t WHERE (", table);
    key_list(&q, pg, t, "t");
    hub_buf_puts(&q, ") IN (SELECT ");
    key_list(&q, pg, t, "s");
    hub_buf_puts(&q, " FROM pg_temp.hub_stage s) FOR UPDATE OF t), "
                "a AS (SELECT s.ord, s.content_hash AS hash, o.id AS old_id, "
                "o.version AS old_version, o.received_at AS old_received_at, ");
    key_list(&q, pg, t, "s");
    hub_buf_puts(&q, ", coalesce(lag(s.content_hash) OVER (PARTITION BY ");
    key_list(&q, pg, t, "s");
    hub_buf_puts(&q, " ORDER BY s.ord), o.content_hash) AS prev_hash "
                "FROM pg_temp.hub_stage s LEFT JOIN old o ON ");
    key_match(&q, pg, t, "o", "s");
    hub_buf_puts(&q, "), b AS (SELECT a.*, CASE WHEN prev_hash IS NULL THEN 'create' "
                "WHEN prev_hash = hash THEN 'duplicate' ELSE 'correct' END AS outcome FROM a), "
                "c AS (SELECT b.*, coalesce(old_version, 0) "
                "+ count(*) FILTER (WHERE outcome <> 'duplicate') OVER (k ORDER BY ord) AS version, "
                "max(ord) FILTER (WHERE outcome <> 'duplicate') OVER (k ORDER BY ord ROWS BETWEEN "
                "UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_changed, "
                "max(ord) FILTER (WHERE outcome <> 'duplicate') OVER k AS last_changed "
                "FROM b WINDOW k AS (PARTITION BY ");
    key_list(&q, pg, t, "b");
    hub_buf_puts(&q, ")), ins AS (INSERT INTO pg_temp.hub_outcome "
                "(ord, outcome, version, final, old_id, old_received_at, before) "
                "SELECT c.ord, c.outcome, c.version, coalesce(c.ord = c.last_changed, false), "
                "c.old_id, c.old_received_at, CASE WHEN c.outcome <> 'correct' THEN NULL "
                "WHEN c.prev_changed IS NULL THEN o.document ELSE p.document END "
                "FROM c LEFT JOIN old o ON c.outcome = 'correct' AND c.prev_changed IS NULL "
                "AND o.id = c.old_id "
                "LEFT JOIN pg_temp.hub_stage p ON c.outcome = 'correct' AND p.ord = c.prev_changed "
                "RETURNING outcome) "
                "SELECT count(*) FILTER (WHERE outcome = 'create'), "
                "count(*) FILTER (WHERE outcome = 'correct'), "
                "count(*) FILTER (WHERE outcome = 'duplicate') FROM ins");
    if ((c = prepare_one(pg, "hub_w_outcome", &q, 0, errstr, errstr_size)) != HUB_PG_OK) goto done;

    /* The registry: the last version of each changed key replaces its row
     * (same id, version counted on). */
    hub_buf_printf(&q, "DELETE FROM %s t USING pg_temp.hub_outcome o "
                  "WHERE o.final AND o.old_id IS NOT NULL AND t.id = o.old_id", table);
    if ((c = prepare_one(pg, "hub_w_delete", &q, 0, errstr, errstr_size)) != HUB_PG_OK) goto done;

    hub_buf_printf(&q, "INSERT INTO %s (id, content_hash, version, received_at, updated_at, "
                  "source_partition, source_offset, schema_id", table);
    for (size_t i = 0; i < L->n_cols; i++) {
        hub_buf_puts(&q, ", ");
        ident(&q, pg, L->cols[i].name);
    }
    hub_buf_puts(&q, ") SELECT coalesce(o.old_id, nextval(");
    char seq[200];
    snprintf(seq, sizeof seq, "%s_id_seq", table);
    literal(&q, pg, seq);
    hub_buf_puts(&q, "::regclass)), s.content_hash, o.version, coalesce(o.old_received_at, now()), "
                "now(), s.source_partition, s.source_offset, s.schema_id");
    for (size_t i = 0; i < L->n_cols; i++) {
        hub_buf_puts(&q, ", s.");
        ident(&q, pg, L->cols[i].name);
    }
    hub_buf_puts(&q, " FROM pg_temp.hub_stage s JOIN pg_temp.hub_outcome o ON o.ord = s.ord "
                "WHERE o.final ORDER BY s.ord");
    if ((c = prepare_one(pg, "hub_w_insert", &q, 0, errstr, errstr_size)) != HUB_PG_OK) goto done;

    /* One audit row per record, chained (012_audit_chain.sql): each
     * partition's chain head exists, then is locked (in chain order, as
     * another transaction locking several would), the rows numbered on from
     * it and hashed in order by the window aggregate, the head moved to the
     * last. */
    hub_buf_puts(&q, "INSERT INTO crvs.audit_chain (chain) SELECT DISTINCT crvs.audit_chain_of(NULL, $1, "
                "source_partition) FROM pg_temp.hub_stage ON CONFLICT DO NOTHING");
    if ((c = prepare_one(pg, "hub_w_chain", &q, 1, errstr, errstr_size)) != HUB_PG_OK) goto done;

    hub_buf_puts(&q, "WITH h AS (SELECT chain, seq, hash FROM crvs.audit_chain WHERE chain IN "
                "(SELECT crvs.audit_chain_of(NULL, $2, source_partition) FROM pg_temp.hub_stage) "
                "ORDER BY chain FOR UPDATE), "
                "r AS (SELECT s.ord, now() AS at, o.outcome AS action, s.entity_key, "
                "s.source_partition, s.source_offset, s.schema_id, s.source_system, s.event_id, "
                "o.before, CASE WHEN o.outcome = 'correct' THEN s.document END AS after, "
                "jsonb_build_object('version', o.version) AS detail, h.chain, h.hash AS head, "
                "h.seq + row_number() OVER (PARTITION BY h.chain ORDER BY s.ord) AS seq "
                "FROM pg_temp.hub_stage s JOIN pg_temp.hub_outcome o ON o.ord = s.ord "
                "JOIN h ON h.chain = crvs.audit_chain_of(NULL, $2, s.source_partition)), "
                "c AS (SELECT r.*, crvs.audit_chain_fold(r.head, crvs.audit_canon(r.chain, r.seq, "
                "r.at, $1, r.action, ");
    literal(&q, pg, t->entity);
    hub_buf_puts(&q, ", r.entity_key, $2, r.source_partition, r.source_offset, r.schema_id, "
                "r.source_system, r.event_id, r.before, r.after, r.detail)) "
                "OVER (PARTITION BY r.chain ORDER BY r.seq) AS hash FROM r), "
                "ins AS (INSERT INTO crvs.audit_log (at, service, action, entity, entity_key, "
                "source_topic, source_partition, source_offset, schema_id, source_system, event_id, "
                "before, after, detail, chain, seq, hash) SELECT c.at, $1, c.action, ");
    literal(&q, pg, t->entity);
    hub_buf_puts(&q, ", c.entity_key, $2, c.source_partition, c.source_offset, c.schema_id, "
                "c.source_system, c.event_id, c.before, c.after, c.detail, c.chain, c.seq, c.hash "
                "FROM c ORDER BY c.ord RETURNING id, at, chain, seq, hash) "
                "UPDATE crvs.audit_chain a SET seq = l.seq, hash = l.hash, id = l.id, at = l.at "
                "FROM (SELECT DISTINCT ON (chain) chain, seq, hash, id, at FROM ins "
                "ORDER BY chain, seq DESC) l WHERE a.chain = l.chain");
    if ((c = prepare_one(pg, "hub_w_audit", &q, 2, errstr, errstr_size)) != HUB_PG_OK) goto done;

    /* The linkage's ingest side (crvs.link_records, 011_linker.sql, as set
     * statements over the staged rows): each changed record queued for the
     * linker with the persons and the judgment its previous version named,
     * then its facts replaced, its linked record upserted and its
     * record-level items replaced. */
    static const char changed[] =
        "pg_temp.hub_stage s JOIN pg_temp.hub_outcome o ON o.ord = s.ord AND o.final";
    hub_buf_printf(&q, "WITH c AS (SELECT s.entity_key AS key, s.ord FROM %s "
                       "WHERE o.old_id IS NOT NULL), "
                       "gone AS (DELETE FROM crvs.person_fact pf WHERE pf.source_entity = ",
                   changed);
    literal(&q, pg, t->entity);
    hub_buf_puts(&q, " AND pf.source_key = ANY (ARRAY(SELECT key FROM c)) "
                     "RETURNING pf.source_key, pf.personal_id), "
                     "before AS (SELECT source_key, array_agg(DISTINCT personal_id) AS ids "
                     "FROM gone GROUP BY source_key), "
                     "prior AS (SELECT l.source_key, l.cancels FROM crvs.linked_record l "
                     "WHERE l.source_entity = ");
    literal(&q, pg, t->entity);
    hub_buf_printf(&q, " AND l.source_key = ANY (ARRAY(SELECT key FROM c)) "
                       "AND l.cancels IS NOT NULL) "
                       "INSERT INTO crvs.link_queue (entity, key, before_ids, before_cancels) "
                       "SELECT ");
    literal(&q, pg, t->entity);
    hub_buf_printf(&q, ", s.entity_key, b.ids, p.cancels FROM %s "
                       "LEFT JOIN before b ON b.source_key = s.entity_key "
                       "LEFT JOIN prior p ON p.source_key = s.entity_key ORDER BY s.ord",
                   changed);
    if ((c = prepare_one(pg, "hub_w_queue", &q, 0, errstr, errstr_size)) != HUB_PG_OK) goto done;

    hub_buf_puts(&q, "INSERT INTO crvs.person_fact (source_entity, source_key, role, personal_id, "
                     "kind, effective_date, sex, birth_date, name, name_key, cancels, marriage) "
                     "SELECT ");
    literal(&q, pg, t->entity);
    hub_buf_printf(&q, ", s.entity_key, f->>'role', f->>'personal_id', f->>'kind', "
                       "(f->>'effective_date')::date, f->>'sex', (f->>'birth_date')::date, "
                       "f->>'name', f->>'name_key', f->>'cancels', f->'marriage' "
                       "FROM %s, jsonb_array_elements(s.person_facts) AS f "
                       "WHERE f->>'personal_id' IS NOT NULL",
                   changed);
    if ((c = prepare_one(pg, "hub_w_facts", &q, 0, errstr, errstr_size)) != HUB_PG_OK) goto done;

    hub_buf_puts(&q, "INSERT INTO crvs.linked_record AS l (source_entity, source_key, cancels, "
                     "marriage, effective_date, kind) SELECT ");
    literal(&q, pg, t->entity);
    hub_buf_printf(&q, ", s.entity_key, x.cancels, x.marriage, x.effective_date, x.kind FROM %s, "
                       "LATERAL (SELECT (array_agg(f->>'cancels') "
                       "FILTER (WHERE f->>'cancels' IS NOT NULL))[1] AS cancels, "
                       "(array_agg(f->'marriage') "
                       "FILTER (WHERE jsonb_typeof(f->'marriage') = 'object'))[1] AS marriage, "
                       "min((f->>'effective_date')::date) AS effective_date, "
                       "min(f->>'kind') AS kind "
                       "FROM jsonb_array_elements(coalesce(s.person_facts, '[]')) AS f) x "
                       "ORDER BY s.ord "
                       "ON CONFLICT (source_entity, source_key) DO UPDATE "
                       "SET cancels = EXCLUDED.cancels, marriage = EXCLUDED.marriage, "
                       "effective_date = EXCLUDED.effective_date, kind = EXCLUDED.kind, "
                       "linked_at = now()",
                   changed);
    if ((c = prepare_one(pg, "hub_w_linked", &q, 0, errstr, errstr_size)) != HUB_PG_OK) goto done;

    /* A new record has no items to close: only the scopes of corrected
     * records and of records with items are named. */
    char *ent = PQescapeLiteral(pg, t->entity, strlen(t->entity));
    if (!ent) {
        c = HUB_PG_FATAL;
        snprintf(errstr, errstr_size, "out of memory");
        goto done;
    }
    hub_buf_printf(&q, "SELECT crvs.reconcile_scopes(ARRAY(SELECT 'record:' || %1$s || ':' || "
                       "s.entity_key FROM %2$s WHERE o.old_id IS NOT NULL "
                       "OR jsonb_array_length(coalesce(s.reconcile, '[]')) > 0), "
                       "(SELECT coalesce(jsonb_agg(jsonb_build_object("
                       "'scope', 'record:' || %1$s || ':' || s.entity_key, "
                       "'reason', it->>'reason', "
                       "'natural_key', (it->>'reason') || '|' || %1$s || ':' || s.entity_key "
                       "|| '|' || e.n, "
                       "'personal_id', it->>'personal_id', "
                       "'source_a', %1$s || ':' || s.entity_key, "
                       "'detail', it->>'detail')), '[]') "
                       "FROM %2$s, jsonb_array_elements(coalesce(s.reconcile, '[]')) "
                       "WITH ORDINALITY AS e(it, n)))",
                   ent, changed);
    PQfreemem(ent);
    if ((c = prepare_one(pg, "hub_w_items", &q, 0, errstr, errstr_size)) != HUB_PG_OK) goto done;

    hub_buf_puts(&q, "WITH x AS (DELETE FROM pg_temp.hub_outcome) DELETE FROM pg_temp.hub_stage");
    c = prepare_one(pg, "hub_w_empty", &q, 0, errstr, errstr_size);
done:
    free(q.s);
    return c;
}

/* The registry table's columns (crvs.<entity>) the row supplies. */
static hub_pg_class read_columns(hub_apply *a, const hub_topic_info *t, char *errstr,
                                 size_t errstr_size)
{
    char table[160];
    snprintf(table, sizeof table, "crvs.%s", t->entity);
    const char *params[1] = {table};
    PGresult *res = PQexecParams(
        a->pg,
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod), ty.typcategory = 'A', "
        "a.atttypid = 'jsonb'::regtype "
        "FROM pg_attribute a JOIN pg_type ty ON ty.oid = a.atttypid "
        "WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped "
        "ORDER BY a.attnum",
        1, NULL, params, NULL, NULL, 0);
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
        const char *name = PQgetvalue(res, i, 0);
        if (listed(name, computed, NAMES(computed))) continue;
        if (listed(name, stage_head, NAMES(stage_head)) ||
            listed(name, stage_tail, NAMES(stage_tail))) {
            snprintf(errstr, errstr_size, "%s has a column named %s, which the staging table uses",
                     table, name);
            PQclear(res);
            return HUB_PG_FATAL;
        }
        column *col = &L->cols[L->n_cols];
        col->name = strdup(name);
        col->type = strdup(PQgetvalue(res, i, 1));
        if (!col->name || !col->type) {
            free(col->name);
            free(col->type);
            goto oom;
        }
        col->kind = PQgetvalue(res, i, 3)[0] == 't'   ? COL_JSONB
                    : PQgetvalue(res, i, 2)[0] == 't' ? COL_ARRAY
                                                      : COL_SCALAR;
        L->n_cols++;
    }
    PQclear(res);
    if (L->n_cols == 0) {
        snprintf(errstr, errstr_size, "table %s not found (is the database migrated?)", table);
        return HUB_PG_FATAL;
    }
    return HUB_PG_OK;
oom:
    PQclear(res);
    snprintf(errstr, errstr_size, "out of memory");
    return HUB_PG_FATAL;
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
    if ((*cls = read_columns(a, t, errstr, errstr_size)) != HUB_PG_OK ||
        (*cls = prepare_statements(a, t, errstr, errstr_size)) != HUB_PG_OK) {
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

    if (PQenterPipelineMode(a->pg) != 1) {
        hub_pg_error(a->pg, NULL, errstr, errstr_size);
        return hub_pg_classify(a->pg, NULL);
    }
    const char *audit[2] = {a->service, a->topic};
    size_t sent = 0;
    for (size_t i = 0; i < NAMES(pipeline); i++) {
        if (!empty_after && !strcmp(pipeline[i].name, "hub_w_empty")) continue;
        if (PQsendQueryPrepared(a->pg, pipeline[i].name, pipeline[i].n_params,
                                pipeline[i].n_params ? audit + pipeline[i].first_param : NULL,
                                NULL, NULL, 0) != 1)
            break;
        sent++;
    }
    bool synced = PQpipelineSync(a->pg) == 1;

    /* Each statement's result, then NULL; a statement after a failure comes
     * back PGRES_PIPELINE_ABORTED; then the sync. */
    uint64_t got[3] = {0, 0, 0};
    for (size_t i = 0; synced && i < sent; i++) {
        PGresult *res;
        while ((res = PQgetResult(a->pg))) {
            if (i == 0 && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
                for (int k = 0; k < 3; k++) got[k] = strtoull(PQgetvalue(res, 0, k), NULL, 10);
            if (PQresultStatus(res) != PGRES_PIPELINE_ABORTED)
                note_failure(a->pg, res, &c, errstr, errstr_size);
            PQclear(res);
        }
    }
    if (synced) {
        PGresult *res = PQgetResult(a->pg); /* PGRES_PIPELINE_SYNC */
        PQclear(res);
    }
    if (PQexitPipelineMode(a->pg) != 1 && c == HUB_PG_OK) {
        c = hub_pg_classify(a->pg, NULL);
        hub_pg_error(a->pg, NULL, errstr, errstr_size);
    }
    if (c == HUB_PG_OK && (!synced || sent < NAMES(pipeline) - (empty_after ? 0 : 1))) {
        c = hub_pg_classify(a->pg, NULL);
        hub_pg_error(a->pg, NULL, errstr, errstr_size);
    }
    if (c != HUB_PG_OK) return c;
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
