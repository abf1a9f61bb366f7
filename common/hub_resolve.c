#include "hub_resolve.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub_validate.h"

/* Instants and dates the document shape can write: four-digit years. */
#define MIN_DAYS (-719162LL)              /* 0001-01-01 */
#define MAX_DAYS 2932896LL                /* 9999-12-31 */
#define MIN_MS (MIN_DAYS * 86400000LL)    /* 0001-01-01T00:00:00.000Z */
#define MAX_MS ((MAX_DAYS + 1) * 86400000LL - 1)
/* Records nested inside each other while a plan is built (recursive types
 * are followed once, then refer back to the plan node under construction). */
#define MAX_DEPTH 64

/* ---- the compiled plan -------------------------------------------------- */

/* What a node writes into the document. The writer's type (rnode.wtype)
 * says which avro_value_get_* reads the value. */
typedef enum {
    OUT_NULL,
    OUT_BOOLEAN,
    OUT_INTEGER,   /* int or long writer, reader int or long */
    OUT_FLOAT,     /* reader float: the value as a float */
    OUT_DOUBLE,    /* reader double */
    OUT_DATE,      /* reader int with logicalType date: "YYYY-MM-DD" */
    OUT_TIMESTAMP, /* reader long with logicalType timestamp-millis: ISO */
    OUT_STRING,    /* writer string or bytes, reader string */
    OUT_HEX,       /* writer bytes, fixed or string, reader bytes or fixed */
    OUT_ENUM,
    OUT_RECORD,
    OUT_ARRAY,
    OUT_MAP,
    OUT_UNION /* writer union: one plan per writer branch */
} out_kind;

typedef struct rnode rnode;

typedef struct rfield {
    char *name;   /* reader field name */
    int widx;     /* writer field index, or -1: take the default */
    rnode *plan;  /* when widx >= 0 */
    json_t *dflt; /* when widx < 0: the default, in document shape */
} rfield;

struct rnode {
    out_kind out;
    avro_type_t wtype;
    char *path;         /* reader path, for read-time refusals */
    size_t n;           /* number of fields, writer symbols or writer branches */
    rfield *fields;     /* OUT_RECORD, in reader order */
    char **symbols;     /* OUT_ENUM: writer symbol index -> reader symbol; NULL: refused */
    rnode *items;       /* OUT_ARRAY items, OUT_MAP values */
    rnode **branches;   /* OUT_UNION: writer branch -> plan; NULL: refused */
    char **branch_why;  /* OUT_UNION: why a NULL branch is refused */
    rnode *next;        /* every node of the plan, for destroy */
};

struct hub_resolve_plan {
    rnode *root;
    rnode *nodes;
};

/* ---- schema JSON views -------------------------------------------------- */

/* A type node of a schema's JSON, with references and {"type": ...}
 * wrappers followed to the definition. */
typedef struct tview {
    avro_type_t kind;
    json_t *def;         /* union: the array; otherwise the defining node */
    const char *logical; /* primitives: logicalType, or NULL */
} tview;

static const struct {
    const char *name;
    avro_type_t kind;
} primitives[] = {
    {"null", AVRO_NULL},   {"boolean", AVRO_BOOLEAN}, {"int", AVRO_INT32},   {"long", AVRO_INT64},
    {"float", AVRO_FLOAT}, {"double", AVRO_DOUBLE},   {"bytes", AVRO_BYTES}, {"string", AVRO_STRING},
};

static bool primitive_kind(const char *name, avro_type_t *kind)
{
    for (size_t i = 0; i < sizeof primitives / sizeof *primitives; i++) {
        if (!strcmp(name, primitives[i].name)) {
            *kind = primitives[i].kind;
            return true;
        }
    }
    return false;
}

static const char *kind_name(avro_type_t kind)
{
    for (size_t i = 0; i < sizeof primitives / sizeof *primitives; i++)
        if (primitives[i].kind == kind) return primitives[i].name;
    switch (kind) {
    case AVRO_RECORD: return "record";
    case AVRO_ENUM: return "enum";
    case AVRO_FIXED: return "fixed";
    case AVRO_ARRAY: return "array";
    case AVRO_MAP: return "map";
    case AVRO_UNION: return "union";
    default: return "unknown type";
    }
}

static int view(const hub_schema *s, json_t *node, tview *v)
{
    v->logical = NULL;
    for (int depth = 0; depth < 16; depth++) {
        if (json_is_array(node)) {
            v->kind = AVRO_UNION;
            v->def = node;
            return 0;
        }
        if (json_is_string(node)) {
            if (primitive_kind(json_string_value(node), &v->kind)) {
                v->def = node;
                return 0;
            }
            json_t *named = hub_schema_resolve_type(s, node);
            if (named == node) return -1;
            node = named;
            continue;
        }
        if (!json_is_object(node)) return -1;
        json_t *t = json_object_get(node, "type");
        if (json_is_object(t) || json_is_array(t)) {
            node = t;
            continue;
        }
        if (!json_is_string(t)) return -1;
        const char *k = json_string_value(t);
        if (primitive_kind(k, &v->kind)) {
            v->logical = json_string_value(json_object_get(node, "logicalType"));
        } else if (!strcmp(k, "record") || !strcmp(k, "error")) {
            v->kind = AVRO_RECORD;
        } else if (!strcmp(k, "enum")) {
            v->kind = AVRO_ENUM;
        } else if (!strcmp(k, "fixed")) {
            v->kind = AVRO_FIXED;
        } else if (!strcmp(k, "array")) {
            v->kind = AVRO_ARRAY;
        } else if (!strcmp(k, "map")) {
            v->kind = AVRO_MAP;
        } else { /* {"type": "Parent"} */
            node = t;
            continue;
        }
        v->def = node;
        return 0;
    }
    return -1;
}

static bool is_named(avro_type_t kind)
{
    return kind == AVRO_RECORD || kind == AVRO_ENUM || kind == AVRO_FIXED;
}

static const char *short_name(const char *name)
{
    const char *dot = name ? strrchr(name, '.') : NULL;
    return dot ? dot + 1 : name;
}

static const char *type_name(const tview *v)
{
    return short_name(json_string_value(json_object_get(v->def, "name")));
}

/* Named types match by unqualified name or by one of the reader's aliases. */
static bool names_match(const tview *w, const tview *r)
{
    const char *wn = type_name(w), *rn = type_name(r);
    if (!wn || !rn) return false;
    if (!strcmp(wn, rn)) return true;
    size_t i;
    json_t *alias;
    json_array_foreach(json_object_get(r->def, "aliases"), i, alias) {
        const char *a = short_name(json_string_value(alias));
        if (a && !strcmp(a, wn)) return true;
    }
    return false;
}

/* Whether writer type w may be read as reader type r, looking no deeper
 * than names: `exact` admits only the same type, otherwise promotions too. */
static bool compatible(const tview *w, const tview *r, bool exact)
{
    if (w->kind == r->kind) return !is_named(w->kind) || names_match(w, r);
    if (exact) return false;
    switch (w->kind) {
    case AVRO_INT32: return r->kind == AVRO_INT64 || r->kind == AVRO_FLOAT || r->kind == AVRO_DOUBLE;
    case AVRO_INT64: return r->kind == AVRO_FLOAT || r->kind == AVRO_DOUBLE;
    case AVRO_FLOAT: return r->kind == AVRO_DOUBLE;
    case AVRO_STRING: return r->kind == AVRO_BYTES;
    case AVRO_BYTES: return r->kind == AVRO_STRING;
    default: return false;
    }
}

/* "string", "long (timestamp-millis)", "record Facility", "union [null, int]" */
static void describe(const hub_schema *s, const tview *v, char *buf, size_t size)
{
    if (v->kind == AVRO_UNION) {
        size_t o = (size_t)snprintf(buf, size, "union [");
        size_t i;
        json_t *branch;
        json_array_foreach(v->def, i, branch) {
            tview b;
            char one[96];
            if (view(s, branch, &b) == 0 && b.kind != AVRO_UNION) describe(s, &b, one, sizeof one);
            else snprintf(one, sizeof one, "?");
            if (o < size) o += (size_t)snprintf(buf + o, size - o, "%s%s", i ? ", " : "", one);
        }
        if (o < size) snprintf(buf + o, size - o, "]");
    } else if (is_named(v->kind)) {
        snprintf(buf, size, "%s %s", kind_name(v->kind), type_name(v) ? type_name(v) : "?");
    } else if (v->logical) {
        snprintf(buf, size, "%s (%s)", kind_name(v->kind), v->logical);
    } else {
        snprintf(buf, size, "%s", kind_name(v->kind));
    }
}

/* ---- document values ---------------------------------------------------- */

static json_t *hex_json(const void *buf, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    char small[257];
    char *hex = len * 2 < sizeof small ? small : malloc(len * 2 + 1);
    if (!hex) return NULL;
    const uint8_t *p = buf;
    for (size_t i = 0; i < len; i++) {
        hex[2 * i] = digits[p[i] >> 4];
        hex[2 * i + 1] = digits[p[i] & 15];
    }
    hex[len * 2] = '\0';
    json_t *j = json_stringn_nocheck(hex, len * 2);
    if (hex != small) free(hex);
    return j;
}

/* NULL when the date is outside years 1-9999 (or out of memory). */
static json_t *date_json(int64_t days)
{
    if (days < MIN_DAYS || days > MAX_DAYS) return NULL;
    int y, m, d;
    char buf[16];
    hub_civil_from_days(days, &y, &m, &d);
    snprintf(buf, sizeof buf, "%04d-%02d-%02d", y, m, d);
    return json_string_nocheck(buf);
}

static json_t *timestamp_json(int64_t ms)
{
    if (ms < MIN_MS || ms > MAX_MS) return NULL;
    char buf[40];
    hub_timestamp_format(ms, buf, sizeof buf);
    return json_string_nocheck(buf);
}

/* ---- building a plan ---------------------------------------------------- */

typedef struct problem {
    char *path;
    char *why;
    bool at_read_time;
} problem;

typedef struct builder {
    const hub_schema *ws, *rs;
    hub_resolve_plan *plan;
    problem *problems;
    size_t n_problems, cap_problems;
    struct {
        json_t *w, *r;
        rnode *node;
    } active[MAX_DEPTH]; /* records being built, outermost first */
    size_t depth;
    bool oom;
    char path[1024];
} builder;

static void add_problem(builder *b, bool at_read_time, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void add_problem(builder *b, bool at_read_time, const char *fmt, ...)
{
    char why[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    if (b->n_problems == b->cap_problems) {
        size_t cap = b->cap_problems ? b->cap_problems * 2 : 8;
        problem *grown = realloc(b->problems, cap * sizeof *grown);
        if (!grown) {
            b->oom = true;
            return;
        }
        b->problems = grown;
        b->cap_problems = cap;
    }
    problem *p = &b->problems[b->n_problems];
    p->path = strdup(*b->path ? b->path : "(root)");
    p->why = strdup(why);
    p->at_read_time = at_read_time;
    if (!p->path || !p->why) {
        free(p->path);
        free(p->why);
        b->oom = true;
        return;
    }
    b->n_problems++;
}

static size_t path_push(builder *b, const char *name, const char *suffix)
{
    size_t len = strlen(b->path);
    if (name) snprintf(b->path + len, sizeof b->path - len, "%s%s", len ? "." : "", name);
    else snprintf(b->path + len, sizeof b->path - len, "%s", suffix);
    return len;
}

static rnode *new_node(builder *b, out_kind out, avro_type_t wtype)
{
    rnode *n = calloc(1, sizeof *n);
    if (n) n->path = strdup(b->path);
    if (!n || !n->path) {
        free(n);
        b->oom = true;
        return NULL;
    }
    n->out = out;
    n->wtype = wtype;
    n->next = b->plan->nodes;
    b->plan->nodes = n;
    return n;
}

static void node_free(rnode *n)
{
    for (size_t i = 0; n->fields && i < n->n; i++) {
        free(n->fields[i].name);
        json_decref(n->fields[i].dflt);
    }
    for (size_t i = 0; n->symbols && i < n->n; i++) free(n->symbols[i]);
    for (size_t i = 0; n->branch_why && i < n->n; i++) free(n->branch_why[i]);
    free(n->fields);
    free(n->symbols);
    free(n->branches);
    free(n->branch_why);
    free(n->path);
    free(n);
}

static rnode *build(builder *b, json_t *wnode, json_t *rnode_json);
static json_t *default_doc(builder *b, json_t *type, json_t *value);

static void default_text(json_t *value, char *buf, size_t size)
{
    char *text = json_dumps(value, JSON_ENCODE_ANY | JSON_COMPACT);
    snprintf(buf, size, "%s", text ? text : "?");
    if (text && strlen(text) >= size && size > 4) memcpy(buf + size - 4, "...", 4);
    free(text);
}

/* Avro's JSON form of bytes and fixed: one character U+0000..U+00FF per
 * byte. Returns the byte count, or -1 when the text is not of that form. */
static long latin1_bytes(const char *text, uint8_t *out, size_t out_size)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        unsigned cp;
        if (*p < 0x80) {
            cp = *p;
        } else if ((*p == 0xc2 || *p == 0xc3) && (p[1] & 0xc0) == 0x80) {
            cp = (unsigned)(*p & 0x1f) << 6 | (p[1] & 0x3f);
            p++;
        } else {
            return -1;
        }
        if (n == out_size) return -1;
        out[n++] = (uint8_t)cp;
    }
    return (long)n;
}

static json_t *default_bytes(builder *b, const tview *r, json_t *value)
{
    if (!json_is_string(value)) return NULL;
    size_t cap = json_string_length(value) + 1;
    uint8_t *buf = malloc(cap);
    if (!buf) {
        b->oom = true;
        return NULL;
    }
    long n = latin1_bytes(json_string_value(value), buf, cap);
    json_t *out = NULL;
    if (n >= 0 && (r->kind != AVRO_FIXED ||
                   n == (long)json_integer_value(json_object_get(r->def, "size"))))
        out = hex_json(buf, (size_t)n);
    free(buf);
    return out;
}

static bool has_symbol(json_t *symbols, const char *name)
{
    size_t i;
    json_t *s;
    json_array_foreach(symbols, i, s) if (!strcmp(json_string_value(s), name)) return true;
    return false;
}

static json_t *default_record(builder *b, const tview *r, json_t *value, bool *reported)
{
    json_t *obj = json_object();
    if (!obj) {
        b->oom = true;
        return NULL;
    }
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(r->def, "fields"), i, f) {
        const char *name = json_string_value(json_object_get(f, "name"));
        json_t *v = json_object_get(value, name);
        if (!v) v = json_object_get(f, "default");
        size_t plen = path_push(b, name, NULL);
        json_t *doc = NULL;
        if (!v) add_problem(b, false, "the reader's default gives no value and the field has no default");
        else doc = default_doc(b, json_object_get(f, "type"), v);
        b->path[plen] = '\0';
        if (doc && json_object_set_new_nocheck(obj, name, doc)) b->oom = true;
        if (!doc || b->oom) {
            *reported = true;
            json_decref(obj);
            return NULL;
        }
    }
    return obj;
}

/* Converts a reader default (Avro's JSON encoding, for the type `type` of
 * the reader schema) into the document shape. NULL after recording why. */
static json_t *default_doc(builder *b, json_t *type, json_t *value)
{
    tview r;
    json_t *out = NULL;
    bool reported = false;
    if (view(b->rs, type, &r) != 0) {
        add_problem(b, false, "reader type is not defined");
        return NULL;
    }
    switch (r.kind) {
    case AVRO_UNION: /* a union's default belongs to its first branch */
        return default_doc(b, json_array_get(r.def, 0), value);
    case AVRO_NULL:
        if (json_is_null(value)) out = json_null();
        break;
    case AVRO_BOOLEAN:
        if (json_is_boolean(value)) out = json_boolean(json_is_true(value));
        break;
    case AVRO_INT32:
        if (!json_is_integer(value)) break;
        if (json_integer_value(value) < INT32_MIN || json_integer_value(value) > INT32_MAX) break;
        out = r.logical && !strcmp(r.logical, "date") ? date_json(json_integer_value(value))
                                                      : json_integer(json_integer_value(value));
        break;
    case AVRO_INT64:
        if (!json_is_integer(value)) break;
        out = r.logical && !strcmp(r.logical, "timestamp-millis")
                  ? timestamp_json(json_integer_value(value))
                  : json_integer(json_integer_value(value));
        break;
    case AVRO_FLOAT:
        if (json_is_number(value)) out = json_real((float)json_number_value(value));
        break;
    case AVRO_DOUBLE:
        if (json_is_number(value)) out = json_real(json_number_value(value));
        break;
    case AVRO_STRING:
        if (json_is_string(value))
            out = json_stringn(json_string_value(value), json_string_length(value));
        break;
    case AVRO_BYTES:
    case AVRO_FIXED:
        out = default_bytes(b, &r, value);
        break;
    case AVRO_ENUM:
        if (json_is_string(value) &&
            has_symbol(json_object_get(r.def, "symbols"), json_string_value(value)))
            out = json_string(json_string_value(value));
        break;
    case AVRO_ARRAY: {
        if (!json_is_array(value)) break;
        if (!(out = json_array())) {
            b->oom = true;
            break;
        }
        size_t i;
        json_t *item;
        size_t plen = path_push(b, NULL, "[]");
        json_array_foreach(value, i, item) {
            json_t *doc = default_doc(b, json_object_get(r.def, "items"), item);
            if (doc && json_array_append_new(out, doc)) b->oom = true;
            if (!doc || b->oom) {
                reported = true;
                json_decref(out);
                out = NULL;
                break;
            }
        }
        b->path[plen] = '\0';
        break;
    }
    case AVRO_MAP: {
        if (!json_is_object(value)) break;
        if (!(out = json_object())) {
            b->oom = true;
            break;
        }
        const char *key;
        json_t *item;
        size_t plen = path_push(b, NULL, "{}");
        json_object_foreach(value, key, item) {
            json_t *doc = default_doc(b, json_object_get(r.def, "values"), item);
            if (doc && json_object_set_new(out, key, doc)) b->oom = true;
            if (!doc || b->oom) {
                reported = true;
                json_decref(out);
                out = NULL;
                break;
            }
        }
        b->path[plen] = '\0';
        break;
    }
    case AVRO_RECORD:
        if (json_is_object(value)) out = default_record(b, &r, value, &reported);
        break;
    default:
        break;
    }
    if (!out && !reported && !b->oom) {
        char rd[160], dv[96];
        describe(b->rs, &r, rd, sizeof rd);
        default_text(value, dv, sizeof dv);
        add_problem(b, false, "reader default %s is not a value of the field's type %s", dv, rd);
    }
    return out;
}

static rnode *build_enum(builder *b, const tview *w, const tview *r)
{
    json_t *wsyms = json_object_get(w->def, "symbols"), *rsyms = json_object_get(r->def, "symbols");
    const char *dflt = json_string_value(json_object_get(r->def, "default"));
    if (dflt && !has_symbol(rsyms, dflt)) {
        add_problem(b, false, "the reader enum %s has default %s, which is not one of its symbols",
                    type_name(r), dflt);
        return NULL;
    }
    rnode *n = new_node(b, OUT_ENUM, AVRO_ENUM);
    if (!n) return NULL;
    n->n = json_array_size(wsyms);
    n->symbols = calloc(n->n ? n->n : 1, sizeof *n->symbols);
    if (!n->symbols) {
        b->oom = true;
        return NULL;
    }
    for (size_t i = 0; i < n->n; i++) {
        const char *sym = json_string_value(json_array_get(wsyms, i));
        const char *to = has_symbol(rsyms, sym) ? sym : dflt;
        if (!to) {
            add_problem(b, true,
                        "enum symbol %s is not in the reader enum %s, which has no default "
                        "(messages with %s are refused)",
                        sym, type_name(r), sym);
            continue;
        }
        if (!(n->symbols[i] = strdup(to))) b->oom = true;
    }
    return n;
}

static const char *field_name(json_t *f)
{
    return json_string_value(json_object_get(f, "name"));
}

static bool has_alias(json_t *f, const char *name)
{
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(f, "aliases"), i, a) {
        if (json_is_string(a) && !strcmp(json_string_value(a), name)) return true;
    }
    return false;
}

/* Pairs reader fields with writer fields: same names first, so an alias
 * never takes a writer field that another reader field names; then the
 * reader field's aliases; then a writer field that lists the reader's name
 * among its own aliases. widx[i] = -1 when nothing matches. */
static void match_fields(json_t *wf, json_t *rf, int *widx, bool *taken)
{
    size_t nw = json_array_size(wf), nr = json_array_size(rf);
    for (size_t i = 0; i < nr; i++) {
        widx[i] = -1;
        for (size_t j = 0; j < nw && widx[i] < 0; j++) {
            if (!taken[j] && !strcmp(field_name(json_array_get(wf, j)), field_name(json_array_get(rf, i)))) {
                widx[i] = (int)j;
                taken[j] = true;
            }
        }
    }
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < nr; i++) {
            json_t *r = json_array_get(rf, i);
            for (size_t j = 0; j < nw && widx[i] < 0; j++) {
                json_t *w = json_array_get(wf, j);
                if (taken[j]) continue;
                if (pass == 0 ? has_alias(r, field_name(w)) : has_alias(w, field_name(r))) {
                    widx[i] = (int)j;
                    taken[j] = true;
                }
            }
        }
    }
}

static rnode *build_record(builder *b, const tview *w, const tview *r)
{
    for (size_t i = 0; i < b->depth; i++)
        if (b->active[i].w == w->def && b->active[i].r == r->def) return b->active[i].node;
    if (b->depth == MAX_DEPTH) {
        add_problem(b, false, "records nested more than %d deep", MAX_DEPTH);
        return NULL;
    }
    json_t *wf = json_object_get(w->def, "fields"), *rf = json_object_get(r->def, "fields");
    size_t nw = json_array_size(wf), nr = json_array_size(rf);
    rnode *n = new_node(b, OUT_RECORD, AVRO_RECORD);
    if (!n) return NULL;
    int *widx = calloc(nr ? nr : 1, sizeof *widx);
    bool *taken = calloc(nw ? nw : 1, sizeof *taken);
    n->fields = calloc(nr ? nr : 1, sizeof *n->fields);
    bool ok = widx && taken && n->fields;
    if (!ok) {
        b->oom = true;
        goto done;
    }
    n->n = nr;
    match_fields(wf, rf, widx, taken);
    b->active[b->depth].w = w->def;
    b->active[b->depth].r = r->def;
    b->active[b->depth].node = n;
    b->depth++;
    for (size_t i = 0; i < nr; i++) {
        json_t *rdef = json_array_get(rf, i);
        rfield *f = &n->fields[i];
        f->widx = widx[i];
        if (!(f->name = strdup(field_name(rdef)))) {
            b->oom = true;
            ok = false;
            break;
        }
        size_t plen = path_push(b, f->name, NULL);
        if (f->widx >= 0) {
            f->plan = build(b, json_object_get(json_array_get(wf, (size_t)f->widx), "type"),
                            json_object_get(rdef, "type"));
            if (!f->plan) ok = false;
        } else if (json_object_get(rdef, "default")) {
            f->dflt = default_doc(b, json_object_get(rdef, "type"), json_object_get(rdef, "default"));
            if (!f->dflt) ok = false;
        } else {
            add_problem(b, false, "reader field has no default and is not in the writer");
            ok = false;
        }
        b->path[plen] = '\0';
    }
    b->depth--;
done:
    free(widx);
    free(taken);
    return ok ? n : NULL;
}

/* Appends to a problem's text; on failure the text stays as it was. */
static void problem_append(builder *b, problem *p, const char *more)
{
    size_t len = strlen(p->why), add = strlen(more);
    char *grown = realloc(p->why, len + add + 1);
    if (!grown) {
        b->oom = true;
        return;
    }
    memcpy(grown + len, more, add + 1);
    p->why = grown;
}

/* A writer union: each writer branch is resolved on its own against the
 * reader type. A branch that cannot be resolved refuses only the messages
 * that use it, unless no branch can be resolved at all. */
static rnode *build_writer_union(builder *b, const tview *w, json_t *rnode_json)
{
    size_t nb = json_array_size(w->def);
    rnode *n = new_node(b, OUT_UNION, AVRO_UNION);
    if (!n) return NULL;
    size_t *first = calloc(nb + 1, sizeof *first);
    n->branches = calloc(nb ? nb : 1, sizeof *n->branches);
    n->branch_why = calloc(nb ? nb : 1, sizeof *n->branch_why);
    if (!first || !n->branches || !n->branch_why) {
        free(first);
        b->oom = true;
        return NULL;
    }
    n->n = nb;
    size_t usable = 0;
    for (size_t i = 0; i < nb; i++) {
        first[i] = b->n_problems;
        n->branches[i] = build(b, json_array_get(w->def, i), rnode_json);
        if (n->branches[i]) usable++;
    }
    first[nb] = b->n_problems;
    if (usable == 0) {
        free(first);
        return NULL;
    }
    for (size_t i = 0; i < nb; i++) {
        if (n->branches[i]) continue;
        tview wb;
        char wd[160], note[420];
        if (view(b->ws, json_array_get(w->def, i), &wb) == 0) describe(b->ws, &wb, wd, sizeof wd);
        else snprintf(wd, sizeof wd, "branch %zu", i);
        snprintf(note, sizeof note, " (refused only when %.200s holds the writer's %s)",
                 *b->path ? b->path : "(root)", wd);
        for (size_t k = first[i]; k < first[i + 1]; k++) {
            problem *p = &b->problems[k];
            if (p->at_read_time) continue;
            p->at_read_time = true;
            problem_append(b, p, note);
        }
        char why[700];
        if (first[i] < first[i + 1])
            snprintf(why, sizeof why, "%s: %s", b->problems[first[i]].path, b->problems[first[i]].why);
        else
            snprintf(why, sizeof why, "%.300s: the writer's %s cannot be read",
                     *b->path ? b->path : "(root)", wd);
        if (!(n->branch_why[i] = strdup(why))) b->oom = true;
    }
    free(first);
    return n;
}

/* The reader branch a non-union writer type is read as: the first of the
 * same type, else the first the writer's type promotes to. */
static json_t *pick_branch(builder *b, const tview *w, const tview *r)
{
    for (int pass = 0; pass < 2; pass++) {
        size_t i;
        json_t *branch;
        json_array_foreach(r->def, i, branch) {
            tview rb;
            if (view(b->rs, branch, &rb) == 0 && compatible(w, &rb, pass == 0)) return branch;
        }
    }
    return NULL;
}

static rnode *build(builder *b, json_t *wnode, json_t *rnode_json)
{
    tview w, r;
    char wd[200], rd[200];
    if (view(b->ws, wnode, &w) != 0) {
        add_problem(b, false, "a writer type is not defined");
        return NULL;
    }
    if (view(b->rs, rnode_json, &r) != 0) {
        add_problem(b, false, "a reader type is not defined");
        return NULL;
    }
    if (w.kind == AVRO_UNION) return build_writer_union(b, &w, rnode_json);
    if (r.kind == AVRO_UNION) {
        json_t *branch = pick_branch(b, &w, &r);
        if (branch) return build(b, wnode, branch);
        describe(b->ws, &w, wd, sizeof wd);
        describe(b->rs, &r, rd, sizeof rd);
        add_problem(b, false, "writer %s matches no branch of the reader's %s", wd, rd);
        return NULL;
    }
    if (!compatible(&w, &r, false)) {
        describe(b->ws, &w, wd, sizeof wd);
        describe(b->rs, &r, rd, sizeof rd);
        if (w.kind == r.kind)
            add_problem(b, false, "writer %s is not the reader's %s (neither its name nor an alias)",
                        wd, rd);
        else
            add_problem(b, false, "writer %s cannot be read as %s", wd, rd);
        return NULL;
    }
    switch (r.kind) {
    case AVRO_NULL: return new_node(b, OUT_NULL, w.kind);
    case AVRO_BOOLEAN: return new_node(b, OUT_BOOLEAN, w.kind);
    case AVRO_INT32:
        return new_node(b, r.logical && !strcmp(r.logical, "date") ? OUT_DATE : OUT_INTEGER, w.kind);
    case AVRO_INT64:
        return new_node(b, r.logical && !strcmp(r.logical, "timestamp-millis") ? OUT_TIMESTAMP
                                                                                 : OUT_INTEGER,
                        w.kind);
    case AVRO_FLOAT: return new_node(b, OUT_FLOAT, w.kind);
    case AVRO_DOUBLE: return new_node(b, OUT_DOUBLE, w.kind);
    case AVRO_STRING: return new_node(b, OUT_STRING, w.kind);
    case AVRO_BYTES: return new_node(b, OUT_HEX, w.kind);
    case AVRO_FIXED: {
        json_int_t ws = json_integer_value(json_object_get(w.def, "size"));
        json_int_t rs = json_integer_value(json_object_get(r.def, "size"));
        if (ws != rs) {
            add_problem(b, false, "writer fixed %s has %lld bytes, the reader's fixed %s has %lld",
                        type_name(&w), (long long)ws, type_name(&r), (long long)rs);
            return NULL;
        }
        return new_node(b, OUT_HEX, AVRO_FIXED);
    }
    case AVRO_ENUM: return build_enum(b, &w, &r);
    case AVRO_RECORD: return build_record(b, &w, &r);
    case AVRO_ARRAY:
    case AVRO_MAP: {
        const char *part = r.kind == AVRO_ARRAY ? "items" : "values";
        rnode *n = new_node(b, r.kind == AVRO_ARRAY ? OUT_ARRAY : OUT_MAP, w.kind);
        if (!n) return NULL;
        size_t plen = path_push(b, NULL, r.kind == AVRO_ARRAY ? "[]" : "{}");
        n->items = build(b, json_object_get(w.def, part), json_object_get(r.def, part));
        b->path[plen] = '\0';
        return n->items ? n : NULL;
    }
    default:
        add_problem(b, false, "unsupported reader type %s", kind_name(r.kind));
        return NULL;
    }
}

static void builder_free(builder *b)
{
    for (size_t i = 0; i < b->n_problems; i++) {
        free(b->problems[i].path);
        free(b->problems[i].why);
    }
    free(b->problems);
    hub_resolve_plan_destroy(b->plan);
}

/* Builds into b; false when out of memory. */
static bool run(builder *b, const hub_schema *writer, const hub_schema *reader)
{
    memset(b, 0, sizeof *b);
    b->ws = writer;
    b->rs = reader;
    b->plan = calloc(1, sizeof *b->plan);
    if (!b->plan) return false;
    b->plan->root = build(b, hub_schema_json(writer), hub_schema_json(reader));
    if (!b->plan->root && b->n_problems == 0 && !b->oom)
        add_problem(b, false, "the writer schema cannot be read as the reader schema");
    return !b->oom;
}

hub_resolve_plan *hub_resolve_plan_new(const hub_schema *writer, const hub_schema *reader,
                                       char *errstr, size_t errstr_size)
{
    builder b;
    hub_resolve_plan *plan = NULL;
    if (!run(&b, writer, reader)) {
        snprintf(errstr, errstr_size, "out of memory");
        goto done;
    }
    size_t fatal = 0;
    const problem *first = NULL;
    for (size_t i = 0; i < b.n_problems; i++) {
        if (b.problems[i].at_read_time) continue;
        if (!first) first = &b.problems[i];
        fatal++;
    }
    if (first) {
        int o = snprintf(errstr, errstr_size, "%s: %s", first->path, first->why);
        if (fatal > 1 && o > 0 && (size_t)o < errstr_size)
            snprintf(errstr + o, errstr_size - (size_t)o, " (and %zu more problem%s)", fatal - 1,
                     fatal > 2 ? "s" : "");
        goto done;
    }
    plan = b.plan;
    b.plan = NULL;
done:
    builder_free(&b);
    return plan;
}

int hub_resolve_check(const hub_schema *writer, const hub_schema *reader,
                      hub_resolve_problem_fn fn, void *opaque)
{
    builder b;
    int n = -1;
    if (run(&b, writer, reader)) {
        for (size_t i = 0; i < b.n_problems; i++)
            fn(opaque, b.problems[i].path, b.problems[i].why, b.problems[i].at_read_time);
        n = (int)b.n_problems;
    }
    builder_free(&b);
    return n;
}

void hub_resolve_plan_destroy(hub_resolve_plan *plan)
{
    if (!plan) return;
    for (rnode *n = plan->nodes, *next; n; n = next) {
        next = n->next;
        node_free(n);
    }
    free(plan);
}

bool hub_resolve_same_type(const hub_schema *writer, const hub_schema *reader)
{
    tview w, r;
    if (view(writer, hub_schema_json(writer), &w) || view(reader, hub_schema_json(reader), &r))
        return false;
    if (is_named(w.kind) || is_named(r.kind)) return w.kind == r.kind && names_match(&w, &r);
    return true;
}

/* ---- applying a plan ---------------------------------------------------- */

static const char *where(const rnode *n)
{
    return *n->path ? n->path : "(root)";
}

static int apply(const rnode *n, avro_value_t *v, json_t **out, hub_reject *why);

static int apply_number(const rnode *n, avro_value_t *v, json_t **out, hub_reject *why)
{
    int64_t i = 0;
    double d = 0;
    bool integral = true;
    switch (n->wtype) {
    case AVRO_INT32: {
        int32_t x;
        if (avro_value_get_int(v, &x)) goto avro;
        i = x;
        break;
    }
    case AVRO_INT64:
        if (avro_value_get_long(v, &i)) goto avro;
        break;
    case AVRO_FLOAT: {
        float f;
        if (avro_value_get_float(v, &f)) goto avro;
        d = f;
        integral = false;
        break;
    }
    case AVRO_DOUBLE:
        if (avro_value_get_double(v, &d)) goto avro;
        integral = false;
        break;
    default:
        goto avro;
    }
    switch (n->out) {
    case OUT_INTEGER: *out = json_integer(i); break;
    case OUT_FLOAT: *out = json_real(integral ? (double)(float)i : (double)(float)d); break;
    case OUT_DOUBLE: *out = json_real(integral ? (double)i : d); break;
    case OUT_DATE:
        if (!(*out = date_json(i)))
            return hub_reject_set(why, "avro.decode", "field %s: date %lld is outside years 1-9999",
                                  where(n), (long long)i);
        break;
    case OUT_TIMESTAMP:
        if (!(*out = timestamp_json(i)))
            return hub_reject_set(why, "avro.decode",
                                  "field %s: timestamp %lld ms is outside years 1-9999", where(n),
                                  (long long)i);
        break;
    default: goto avro;
    }
    if (!*out) {
        if (!integral && d != d)
            return hub_reject_set(why, "avro.decode", "field %s: NaN has no JSON form", where(n));
        if (!integral)
            return hub_reject_set(why, "avro.decode", "field %s: infinity has no JSON form",
                                  where(n));
        return hub_reject_set(why, "internal.oom", "field %s: out of memory", where(n));
    }
    return 0;
avro:
    return hub_reject_set(why, "avro.decode", "field %s: %s", where(n), avro_strerror());
}

/* The bytes of a string, bytes or fixed value; strings without avro-c's
 * terminating NUL. */
static int raw_bytes(const rnode *n, avro_value_t *v, const void **buf, size_t *size)
{
    int rc;
    /* Set before the call: avro-c's accessors leave them untouched when
     * they fail. */
    *buf = NULL;
    *size = 0;
    switch (n->wtype) {
    case AVRO_STRING: {
        const char *s = NULL;
        rc = avro_value_get_string(v, &s, size);
        *buf = s;
        if (*size) (*size)--;
        break;
    }
    case AVRO_BYTES: rc = avro_value_get_bytes(v, buf, size); break;
    case AVRO_FIXED: rc = avro_value_get_fixed(v, buf, size); break;
    default: return -1;
    }
    if (!*buf) {
        *buf = "";
        *size = 0;
    }
    return rc;
}

static int apply(const rnode *n, avro_value_t *v, json_t **out, hub_reject *why)
{
    *out = NULL;
    switch (n->out) {
    case OUT_NULL:
        *out = json_null();
        return 0;
    case OUT_BOOLEAN: {
        int x;
        if (avro_value_get_boolean(v, &x)) goto avro;
        *out = json_boolean(x);
        return 0;
    }
    case OUT_INTEGER:
    case OUT_FLOAT:
    case OUT_DOUBLE:
    case OUT_DATE:
    case OUT_TIMESTAMP:
        return apply_number(n, v, out, why);
    case OUT_STRING:
    case OUT_HEX: {
        const void *buf;
        size_t size;
        if (raw_bytes(n, v, &buf, &size)) goto avro;
        if (n->out == OUT_HEX) {
            if (!(*out = hex_json(buf, size))) goto oom;
        } else if (!(*out = json_stringn(buf, size))) {
            return hub_reject_set(why, "encoding.utf8", "field %s: string is not valid UTF-8",
                                  where(n));
        }
        return 0;
    }
    case OUT_ENUM: {
        int idx;
        if (avro_value_get_enum(v, &idx)) goto avro;
        if (idx < 0 || (size_t)idx >= n->n)
            return hub_reject_set(why, "avro.decode", "field %s: enum index %d out of range",
                                  where(n), idx);
        if (!n->symbols[idx]) {
            const char *sym = avro_schema_enum_get(avro_value_get_schema(v), idx);
            return hub_reject_set(
                why, "avro.resolve",
                "field %s: enum symbol %s is not in the reader's enum, which has no "
                "default",
                where(n), sym ? sym : "?");
        }
        if (!(*out = json_string_nocheck(n->symbols[idx]))) goto oom;
        return 0;
    }
    case OUT_UNION: {
        int disc;
        avro_value_t branch;
        if (avro_value_get_discriminant(v, &disc)) goto avro;
        if (disc < 0 || (size_t)disc >= n->n)
            return hub_reject_set(why, "avro.decode", "field %s: union branch %d out of range",
                                  where(n), disc);
        if (!n->branches[disc])
            return hub_reject_set(why, "avro.resolve", "%s", n->branch_why[disc]);
        if (avro_value_get_current_branch(v, &branch)) goto avro;
        return apply(n->branches[disc], &branch, out, why);
    }
    case OUT_RECORD: {
        json_t *obj = json_object();
        if (!obj) goto oom;
        for (size_t i = 0; i < n->n; i++) {
            const rfield *f = &n->fields[i];
            json_t *cj;
            if (f->widx >= 0) {
                avro_value_t child;
                if (avro_value_get_by_index(v, (size_t)f->widx, &child, NULL)) {
                    json_decref(obj);
                    goto avro;
                }
                if (apply(f->plan, &child, &cj, why)) {
                    json_decref(obj);
                    return -1;
                }
            } else if (!(cj = json_deep_copy(f->dflt))) {
                json_decref(obj);
                goto oom;
            }
            if (json_object_set_new_nocheck(obj, f->name, cj)) {
                json_decref(obj);
                goto oom;
            }
        }
        *out = obj;
        return 0;
    }
    case OUT_ARRAY:
    case OUT_MAP: {
        size_t count;
        if (avro_value_get_size(v, &count)) goto avro;
        json_t *all = n->out == OUT_ARRAY ? json_array() : json_object();
        if (!all) goto oom;
        for (size_t i = 0; i < count; i++) {
            avro_value_t child;
            const char *key = NULL;
            json_t *cj;
            if (avro_value_get_by_index(v, i, &child, n->out == OUT_MAP ? &key : NULL)) {
                json_decref(all);
                goto avro;
            }
            if (apply(n->items, &child, &cj, why)) {
                json_decref(all);
                return -1;
            }
            if (n->out == OUT_ARRAY ? json_array_append_new(all, cj)
                                    : json_object_set_new(all, key, cj)) {
                json_decref(all);
                if (n->out == OUT_MAP)
                    return hub_reject_set(why, "encoding.utf8",
                                          "field %s: map key is not valid UTF-8", where(n));
                goto oom;
            }
        }
        *out = all;
        return 0;
    }
    }
avro:
    return hub_reject_set(why, "avro.decode", "field %s: %s", where(n), avro_strerror());
oom:
    return hub_reject_set(why, "internal.oom", "field %s: out of memory", where(n));
}

int hub_resolve_apply(const hub_resolve_plan *plan, avro_value_t *value, json_t **out,
                      hub_reject *why)
{
    return apply(plan->root, value, out, why);
}
