#include "hub_avro.h"

#include <avro.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub_frame.h"
#include "hub_resolve.h"
#include "hub_validate.h"

/* One cached resolution: how to read data written with schema `id`. */
typedef struct writer_plan {
    int32_t id;
    bool usable;
    hub_reject refusal;        /* why not, when !usable (cached: definitive) */
    avro_value_iface_t *iface; /* generic class of the writer schema */
    avro_value_t value;        /* what avro_value_read fills, reused */
    avro_schema_t writer;      /* borrowed from the catalog */
    hub_resolve_plan *plan;    /* writer value -> reader-shaped document */
} writer_plan;

struct hub_avro_decoder {
    hub_catalog *cat;
    const hub_schema *reader;
    avro_reader_t mem;
    writer_plan *plans;
    size_t n_plans, cap_plans;
};

struct hub_avro_encoder {
    const hub_schema *schema;
    avro_value_iface_t *iface;
    avro_value_t value;
};

/* ---- schema JSON helpers ------------------------------------------------ */

/* Follows named references and {"type": {...}} wrappers down to the node
 * that defines the type; primitives stay strings or objects with "type". */
static json_t *type_node(const hub_schema *s, json_t *t)
{
    for (int depth = 0; depth < 8; depth++) {
        t = hub_schema_resolve_type(s, t);
        if (json_is_object(t)) {
            json_t *inner = json_object_get(t, "type");
            if (json_is_object(inner) || json_is_array(inner)) {
                t = inner;
                continue;
            }
            if (json_is_string(inner) && !json_object_get(t, "logicalType")) {
                const char *k = json_string_value(inner);
                if (strcmp(k, "record") && strcmp(k, "enum") && strcmp(k, "fixed") &&
                    strcmp(k, "array") && strcmp(k, "map") && strcmp(k, "error")) {
                    json_t *named = hub_schema_resolve_type(s, inner);
                    if (named != inner) {
                        t = named;
                        continue;
                    }
                }
            }
        }
        return t;
    }
    return t;
}

static const char *logical_type(json_t *t)
{
    return json_is_object(t) ? json_string_value(json_object_get(t, "logicalType")) : NULL;
}

static void path_push(char *path, size_t size, size_t *len, const char *name)
{
    *len = strlen(path);
    snprintf(path + *len, size - *len, "%s%s", *len ? "." : "", name);
}

/* ---- decoder ------------------------------------------------------------ */

static void plan_clear(writer_plan *p)
{
    if (p->iface) {
        avro_value_decref(&p->value);
        avro_value_iface_decref(p->iface);
    }
    hub_resolve_plan_destroy(p->plan);
    p->iface = NULL;
    p->plan = NULL;
}

/* Makes p usable for data written with `writer`, or fills p->refusal. */
static void plan_init(writer_plan *p, const hub_schema *writer, const hub_schema *reader)
{
    char err[400];
    int32_t id = p->id;
    if (!hub_resolve_same_type(writer, reader)) {
        hub_reject_set(&p->refusal, "schema.wrong_type",
                       "schema id %d is %s, this topic carries %s", (int)id,
                       hub_schema_fullname(writer), hub_schema_fullname(reader));
        return;
    }
    p->plan = hub_resolve_plan_new(writer, reader, err, sizeof err);
    if (!p->plan) {
        hub_reject_set(&p->refusal, "schema.incompatible", "schema id %d cannot be read as %s: %s",
                       (int)id, hub_schema_fullname(reader), err);
        return;
    }
    p->writer = hub_schema_avro(writer);
    p->iface = avro_generic_class_from_schema(p->writer);
    if (!p->iface || avro_generic_value_new(p->iface, &p->value)) {
        hub_reject_set(&p->refusal, "schema.incompatible", "schema id %d: %s", (int)id,
                       avro_strerror());
        if (p->iface) avro_value_iface_decref(p->iface);
        p->iface = NULL;
        plan_clear(p);
        return;
    }
    p->usable = true;
}

static writer_plan *plan_add(hub_avro_decoder *d, int32_t id)
{
    if (d->n_plans == d->cap_plans) {
        size_t cap = d->cap_plans ? d->cap_plans * 2 : 4;
        writer_plan *grown = realloc(d->plans, cap * sizeof *grown);
        if (!grown) return NULL;
        d->plans = grown;
        d->cap_plans = cap;
    }
    writer_plan *p = &d->plans[d->n_plans++];
    memset(p, 0, sizeof *p);
    p->id = id;
    return p;
}

hub_avro_decoder *hub_avro_decoder_new(hub_catalog *cat, const hub_schema *reader,
                                       char *errstr, size_t errstr_size)
{
    hub_avro_decoder *d = calloc(1, sizeof *d);
    if (!d) goto oom;
    d->cat = cat;
    d->reader = reader;
    d->mem = avro_reader_memory("", 0);
    if (!d->mem) goto oom;
    /* The reader read as itself: checks its defaults now rather than at the
     * first message, and serves the reader's own id. */
    writer_plan *own = plan_add(d, hub_schema_id(reader));
    if (!own) goto oom;
    plan_init(own, reader, reader);
    if (!own->usable) {
        snprintf(errstr, errstr_size, "reader schema %s: %s", hub_schema_fullname(reader),
                 own->refusal.message);
        hub_avro_decoder_destroy(d);
        return NULL;
    }
    if (own->id <= 0) { /* not a catalog schema: no frame names it */
        plan_clear(own);
        d->n_plans = 0;
    }
    return d;
oom:
    snprintf(errstr, errstr_size, "out of memory");
    hub_avro_decoder_destroy(d);
    return NULL;
}

void hub_avro_decoder_destroy(hub_avro_decoder *d)
{
    if (!d) return;
    for (size_t i = 0; i < d->n_plans; i++) plan_clear(&d->plans[i]);
    free(d->plans);
    if (d->mem) avro_reader_free(d->mem);
    free(d);
}

static writer_plan *plan_for(hub_avro_decoder *d, int32_t id, hub_decode_status *st,
                             hub_reject *why)
{
    for (size_t i = 0; i < d->n_plans; i++)
        if (d->plans[i].id == id) return &d->plans[i];

    const hub_schema *writer;
    char err[400];
    hub_schema_status ss = hub_catalog_get(d->cat, id, &writer, err, sizeof err);
    if (ss == HUB_SCHEMA_TRANSIENT || ss == HUB_SCHEMA_UNKNOWN) {
        /* Not cached: an unknown id may be registered later, and the
         * registry client keeps its own brief negative cache. */
        *st = ss == HUB_SCHEMA_TRANSIENT ? HUB_DECODE_TRANSIENT : HUB_DECODE_REJECT;
        hub_reject_set(why, hub_schema_status_name(ss), "schema id %d: %s", (int)id, err);
        return NULL;
    }
    writer_plan *p = plan_add(d, id);
    if (!p) {
        *st = HUB_DECODE_TRANSIENT;
        hub_reject_set(why, "internal.oom", "out of memory");
        return NULL;
    }
    if (ss != HUB_SCHEMA_OK)
        hub_reject_set(&p->refusal, hub_schema_status_name(ss), "schema id %d: %s", (int)id, err);
    else
        plan_init(p, writer, d->reader);
    return p;
}

hub_decode_status hub_avro_decode(hub_avro_decoder *d, const void *buf, size_t len,
                                  json_t **out, int32_t *schema_id, hub_reject *why)
{
    const uint8_t *body;
    size_t body_len;
    *out = NULL;
    *schema_id = -1;
    hub_frame_result fr = hub_frame_parse(buf, len, schema_id, &body, &body_len);
    if (fr != HUB_FRAME_OK) {
        hub_reject_set(why, hub_frame_result_name(fr), "%s (%zu bytes)",
                       fr == HUB_FRAME_BAD_MAGIC
                           ? "first byte is not the Confluent magic byte 0"
                           : "message shorter than the 5-byte Confluent header",
                       len);
        return HUB_DECODE_REJECT;
    }
    hub_decode_status st = HUB_DECODE_REJECT;
    writer_plan *p = plan_for(d, *schema_id, &st, why);
    if (!p) return st;
    if (!p->usable) {
        *why = p->refusal;
        return HUB_DECODE_REJECT;
    }
    /* A first pass that only skips: it finds a truncated or overlong body
     * without allocating. avro-c 1.11 leaks the string it was filling when
     * avro_value_read stops in the middle of one, so the read below only
     * runs on a body that is known to be complete. */
    avro_reader_memory_set_source(d->mem, (const char *)body, (int64_t)body_len);
    if (avro_skip_data(d->mem, p->writer) != 0) {
        hub_reject_set(why, "avro.decode", "schema id %d: body of %zu bytes does not decode: %s",
                       (int)*schema_id, body_len, avro_strerror());
        return HUB_DECODE_REJECT;
    }
    /* Skipping one more byte succeeds only if the body holds more. */
    if (avro_skip(d->mem, 1) == 0) {
        hub_reject_set(why, "avro.trailing_bytes",
                       "schema id %d: bytes left over after the datum in a body of %zu bytes",
                       (int)*schema_id, body_len);
        return HUB_DECODE_REJECT;
    }
    /* Read with the writer's own schema, then resolve into the reader's
     * shape with the cached plan (hub_resolve.h): one path for every
     * writer, the reader itself included. */
    avro_reader_memory_set_source(d->mem, (const char *)body, (int64_t)body_len);
    avro_value_reset(&p->value);
    if (avro_value_read(d->mem, &p->value) != 0) {
        hub_reject_set(why, "avro.decode", "schema id %d: body of %zu bytes does not decode: %s",
                       (int)*schema_id, body_len, avro_strerror());
        return HUB_DECODE_REJECT;
    }
    if (hub_resolve_apply(p->plan, &p->value, out, why) != 0) return HUB_DECODE_REJECT;
    return HUB_DECODE_OK;
}

/* ---- JSON -> Avro ------------------------------------------------------- */

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static uint8_t *from_hex(const char *hex, size_t *len)
{
    size_t n = strlen(hex);
    if (n % 2) return NULL;
    uint8_t *buf = malloc(n / 2 + 1);
    if (!buf) return NULL;
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            free(buf);
            return NULL;
        }
        buf[i] = (uint8_t)(hi << 4 | lo);
    }
    *len = n / 2;
    return buf;
}

/* The alias of field definition `fdef` under which `doc` gives the field,
 * or NULL: documents written for an older version of a schema may use a
 * field's earlier name (listed in its "aliases"). */
static const char *alias_in(json_t *fdef, json_t *doc)
{
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(fdef, "aliases"), i, a) {
        const char *name = json_string_value(a);
        if (name && json_object_get(doc, name)) return name;
    }
    return NULL;
}

static bool is_alias(json_t *fields, const char *key)
{
    size_t i, j;
    json_t *f, *a;
    json_array_foreach(fields, i, f) {
        json_array_foreach(json_object_get(f, "aliases"), j, a) {
            if (json_is_string(a) && !strcmp(json_string_value(a), key)) return true;
        }
    }
    return false;
}

#define FAIL(...)                                                            \
    do {                                                                     \
        int o_ = snprintf(errstr, errstr_size, "%s: ", *path ? path : "(root)"); \
        if (o_ > 0 && (size_t)o_ < errstr_size)                              \
            snprintf(errstr + o_, errstr_size - (size_t)o_, __VA_ARGS__);   \
        return -1;                                                           \
    } while (0)

static int from_json(const hub_schema *s, json_t *type, json_t *doc, avro_value_t *v,
                     char *path, size_t path_size, char *errstr, size_t errstr_size)
{
    json_t *t = type ? type_node(s, type) : hub_schema_json(s);
    const char *lt = logical_type(t);
    switch (avro_value_get_type(v)) {
    case AVRO_NULL:
        if (!json_is_null(doc)) FAIL("expected null");
        return avro_value_set_null(v);
    case AVRO_BOOLEAN:
        if (!json_is_boolean(doc)) FAIL("expected true or false");
        return avro_value_set_boolean(v, json_is_true(doc));
    case AVRO_INT32: {
        json_int_t i;
        if (json_is_string(doc) && lt && !strcmp(lt, "date")) {
            int y, m, d;
            if (!hub_date_parse(json_string_value(doc), &y, &m, &d))
                FAIL("'%s' is not a date YYYY-MM-DD", json_string_value(doc));
            return avro_value_set_int(v, (int32_t)hub_days_from_civil(y, m, d));
        }
        if (!json_is_integer(doc)) FAIL(lt ? "expected a date YYYY-MM-DD" : "expected an integer");
        i = json_integer_value(doc);
        if (i < INT32_MIN || i > INT32_MAX) FAIL("%" JSON_INTEGER_FORMAT " does not fit an int", i);
        return avro_value_set_int(v, (int32_t)i);
    }
    case AVRO_INT64:
        if (json_is_string(doc) && lt && !strcmp(lt, "timestamp-millis")) {
            int64_t ms;
            if (!hub_timestamp_parse(json_string_value(doc), &ms))
                FAIL("'%s' is not an ISO-8601 timestamp with offset", json_string_value(doc));
            return avro_value_set_long(v, ms);
        }
        if (!json_is_integer(doc))
            FAIL(lt ? "expected an ISO-8601 timestamp" : "expected an integer");
        return avro_value_set_long(v, json_integer_value(doc));
    case AVRO_FLOAT:
        if (!json_is_number(doc)) FAIL("expected a number");
        return avro_value_set_float(v, (float)json_number_value(doc));
    case AVRO_DOUBLE:
        if (!json_is_number(doc)) FAIL("expected a number");
        return avro_value_set_double(v, json_number_value(doc));
    case AVRO_STRING:
        if (!json_is_string(doc)) FAIL("expected a string");
        return avro_value_set_string_len(v, json_string_value(doc), json_string_length(doc) + 1);
    case AVRO_BYTES:
    case AVRO_FIXED: {
        size_t n;
        uint8_t *buf = json_is_string(doc) ? from_hex(json_string_value(doc), &n) : NULL;
        if (!buf) FAIL("expected a hex string");
        int rc = avro_value_get_type(v) == AVRO_BYTES ? avro_value_set_bytes(v, buf, n)
                                                      : avro_value_set_fixed(v, buf, n);
        free(buf);
        if (rc) FAIL("%s", avro_strerror());
        return 0;
    }
    case AVRO_ENUM: {
        avro_schema_t es = avro_value_get_schema(v);
        int idx = json_is_string(doc) ? avro_schema_enum_get_by_name(es, json_string_value(doc)) : -1;
        if (idx < 0) {
            char syms[256] = "";
            size_t o = 0;
            for (int i = 0; i < avro_schema_enum_number_of_symbols(es) && o < sizeof syms; i++)
                o += (size_t)snprintf(syms + o, sizeof syms - o, "%s%s", i ? ", " : "",
                                      avro_schema_enum_get(es, i));
            FAIL("expected one of %s", syms);
        }
        return avro_value_set_enum(v, idx);
    }
    case AVRO_UNION: {
        if (!json_is_array(t)) FAIL("union without branches in the schema");
        size_t n = json_array_size(t);
        char first_err[512] = "";
        for (size_t i = 0; i < n; i++) {
            json_t *bt = type_node(s, json_array_get(t, i));
            bool is_null = json_is_string(bt) && !strcmp(json_string_value(bt), "null");
            if (is_null != json_is_null(doc)) continue;
            avro_value_t branch;
            if (avro_value_set_branch(v, (int)i, &branch)) FAIL("%s", avro_strerror());
            if (from_json(s, json_array_get(t, i), doc, &branch, path, path_size, errstr,
                          errstr_size) == 0)
                return 0;
            if (!*first_err) snprintf(first_err, sizeof first_err, "%s", errstr);
        }
        if (*first_err) {
            snprintf(errstr, errstr_size, "%s", first_err);
            return -1;
        }
        FAIL(json_is_null(doc) ? "may not be null" : "value fits no branch of the union");
    }
    case AVRO_RECORD: {
        if (!json_is_object(doc)) FAIL("expected an object");
        json_t *fields = json_object_get(t, "fields");
        size_t n;
        if (avro_value_get_size(v, &n)) FAIL("%s", avro_strerror());
        size_t known = 0;
        for (size_t i = 0; i < n; i++) {
            avro_value_t child;
            const char *name;
            size_t plen;
            if (avro_value_get_by_index(v, i, &child, &name)) FAIL("%s", avro_strerror());
            json_t *fdef = json_array_get(fields, i);
            json_t *val = json_object_get(doc, name);
            const char *alias = alias_in(fdef, doc);
            path_push(path, path_size, &plen, name);
            if (val && alias) {
                snprintf(errstr, errstr_size, "%s: given twice, also under its earlier name '%s'",
                         path, alias);
                path[plen] = '\0';
                return -1;
            }
            if (alias) val = json_object_get(doc, alias);
            if (val) known++;
            else val = json_object_get(fdef, "default");
            if (!val) {
                snprintf(errstr, errstr_size, "%s: required field is missing", path);
                path[plen] = '\0';
                return -1;
            }
            int rc = from_json(s, json_object_get(fdef, "type"), val, &child, path, path_size,
                               errstr, errstr_size);
            path[plen] = '\0';
            if (rc) return -1;
        }
        if (known != json_object_size(doc)) {
            const char *key;
            json_t *val;
            json_object_foreach(doc, key, val) {
                avro_value_t ignored;
                if (avro_value_get_by_name(v, key, &ignored, NULL) != 0 &&
                    !is_alias(fields, key))
                    FAIL("unknown field '%s'", key);
            }
        }
        return 0;
    }
    case AVRO_ARRAY: {
        if (!json_is_array(doc)) FAIL("expected an array");
        size_t i;
        json_t *item;
        json_array_foreach(doc, i, item) {
            avro_value_t child;
            if (avro_value_append(v, &child, NULL)) FAIL("%s", avro_strerror());
            size_t plen = strlen(path);
            snprintf(path + plen, path_size - plen, "[%zu]", i);
            int rc = from_json(s, json_object_get(t, "items"), item, &child, path, path_size,
                               errstr, errstr_size);
            path[plen] = '\0';
            if (rc) return -1;
        }
        return 0;
    }
    case AVRO_MAP: {
        if (!json_is_object(doc)) FAIL("expected an object");
        const char *key;
        json_t *item;
        json_object_foreach(doc, key, item) {
            avro_value_t child;
            size_t plen;
            if (avro_value_add(v, key, &child, NULL, NULL)) FAIL("%s", avro_strerror());
            path_push(path, path_size, &plen, key);
            int rc = from_json(s, json_object_get(t, "values"), item, &child, path, path_size,
                               errstr, errstr_size);
            path[plen] = '\0';
            if (rc) return -1;
        }
        return 0;
    }
    default:
        FAIL("unsupported Avro type");
    }
}

hub_avro_encoder *hub_avro_encoder_new(const hub_schema *writer, char *errstr, size_t errstr_size)
{
    hub_avro_encoder *e = calloc(1, sizeof *e);
    if (!e) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    e->schema = writer;
    e->iface = avro_generic_class_from_schema(hub_schema_avro(writer));
    if (!e->iface || avro_generic_value_new(e->iface, &e->value)) {
        snprintf(errstr, errstr_size, "schema %s: %s", hub_schema_fullname(writer),
                 avro_strerror());
        if (e->iface) avro_value_iface_decref(e->iface);
        free(e);
        return NULL;
    }
    return e;
}

void hub_avro_encoder_destroy(hub_avro_encoder *e)
{
    if (!e) return;
    avro_value_decref(&e->value);
    avro_value_iface_decref(e->iface);
    free(e);
}

int hub_avro_encode(hub_avro_encoder *e, json_t *doc, uint8_t **out, size_t *out_len,
                    char *errstr, size_t errstr_size)
{
    char path[512] = "";
    size_t size;
    *out = NULL;
    avro_value_reset(&e->value);
    if (from_json(e->schema, NULL, doc, &e->value, path, sizeof path, errstr, errstr_size))
        return -1;
    if (avro_value_sizeof(&e->value, &size)) {
        snprintf(errstr, errstr_size, "cannot size the datum: %s", avro_strerror());
        return -1;
    }
    uint8_t *buf = malloc(HUB_FRAME_HEADER_SIZE + size);
    if (!buf) {
        snprintf(errstr, errstr_size, "out of memory");
        return -1;
    }
    hub_frame_write_header(buf, hub_schema_id(e->schema));
    avro_writer_t w = avro_writer_memory((const char *)buf + HUB_FRAME_HEADER_SIZE, (int64_t)size);
    int rc = w ? avro_value_write(w, &e->value) : -1;
    if (w) avro_writer_free(w);
    if (rc) {
        snprintf(errstr, errstr_size, "cannot encode: %s", avro_strerror());
        free(buf);
        return -1;
    }
    *out = buf;
    *out_len = HUB_FRAME_HEADER_SIZE + size;
    return 0;
}
