#include "hub_avro.h"

#include <avro.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub_frame.h"
#include "hub_validate.h"

/* One cached resolution: how to read data written with schema `id`. */
typedef struct writer_plan {
    int32_t id;
    bool usable;
    hub_reject refusal;        /* why not, when !usable (cached: definitive) */
    avro_value_iface_t *iface; /* resolved writer, or the reader's generic class */
    avro_value_t value;        /* what avro_value_read fills */
    avro_schema_t writer;      /* borrowed from the catalog */
    bool resolved;
} writer_plan;

struct hub_avro_decoder {
    hub_catalog *cat;
    const hub_schema *reader;
    avro_value_iface_t *reader_iface;
    avro_value_t reader_value; /* destination of resolved reads */
    avro_reader_t mem;
    writer_plan *plans;
    size_t n_plans, cap_plans;
};

struct hub_avro_encoder {
    const hub_schema *schema;
    avro_value_iface_t *iface;
    avro_value_t value;
};

static void reject(hub_reject *why, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void reject(hub_reject *why, const char *reason, const char *fmt, ...)
{
    va_list ap;
    snprintf(why->reason, sizeof why->reason, "%s", reason);
    va_start(ap, fmt);
    vsnprintf(why->message, sizeof why->message, fmt, ap);
    va_end(ap);
}

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

static json_t *field_type(const hub_schema *s, json_t *record_node, size_t i)
{
    json_t *fields = json_object_get(type_node(s, record_node), "fields");
    return json_object_get(json_array_get(fields, i), "type");
}

static void path_push(char *path, size_t size, size_t *len, const char *name)
{
    *len = strlen(path);
    snprintf(path + *len, size - *len, "%s%s", *len ? "." : "", name);
}

/* ---- Avro value -> JSON ------------------------------------------------- */

static json_t *hex_string(const void *buf, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    char *hex = malloc(len * 2 + 1);
    if (!hex) return NULL;
    const uint8_t *p = buf;
    for (size_t i = 0; i < len; i++) {
        hex[2 * i] = digits[p[i] >> 4];
        hex[2 * i + 1] = digits[p[i] & 15];
    }
    hex[len * 2] = '\0';
    json_t *j = json_string(hex);
    free(hex);
    return j;
}

static int to_json(const hub_schema *s, json_t *type, avro_value_t *v, json_t **out,
                   char *path, size_t path_size, hub_reject *why)
{
    json_t *t = type ? type_node(s, type) : hub_schema_json(s);
    const char *lt = logical_type(t);
    *out = NULL;
    switch (avro_value_get_type(v)) {
    case AVRO_NULL:
        *out = json_null();
        return 0;
    case AVRO_BOOLEAN: {
        int b;
        if (avro_value_get_boolean(v, &b)) break;
        *out = json_boolean(b);
        return 0;
    }
    case AVRO_INT32: {
        int32_t i;
        if (avro_value_get_int(v, &i)) break;
        if (lt && !strcmp(lt, "date")) {
            int y, m, d;
            char buf[16];
            hub_civil_from_days(i, &y, &m, &d);
            snprintf(buf, sizeof buf, "%04d-%02d-%02d", y, m, d);
            *out = json_string(buf);
        } else {
            *out = json_integer(i);
        }
        return *out ? 0 : -1;
    }
    case AVRO_INT64: {
        int64_t l;
        if (avro_value_get_long(v, &l)) break;
        if (lt && !strcmp(lt, "timestamp-millis")) {
            char buf[40];
            hub_timestamp_format(l, buf, sizeof buf);
            *out = json_string(buf);
        } else {
            *out = json_integer(l);
        }
        return *out ? 0 : -1;
    }
    case AVRO_FLOAT: {
        float f;
        if (avro_value_get_float(v, &f)) break;
        *out = json_real(f);
        return 0;
    }
    case AVRO_DOUBLE: {
        double d;
        if (avro_value_get_double(v, &d)) break;
        *out = json_real(d);
        return 0;
    }
    case AVRO_STRING: {
        const char *str;
        size_t size;
        if (avro_value_get_string(v, &str, &size)) break;
        /* avro-c counts the terminating NUL in size. */
        *out = json_stringn(str, size ? size - 1 : 0);
        if (!*out) {
            reject(why, "encoding.utf8", "field %s: string is not valid UTF-8",
                   *path ? path : "(root)");
            return -1;
        }
        return 0;
    }
    case AVRO_BYTES: {
        const void *buf;
        size_t size;
        if (avro_value_get_bytes(v, &buf, &size)) break;
        *out = hex_string(buf, size);
        return *out ? 0 : -1;
    }
    case AVRO_FIXED: {
        const void *buf;
        size_t size;
        if (avro_value_get_fixed(v, &buf, &size)) break;
        *out = hex_string(buf, size);
        return *out ? 0 : -1;
    }
    case AVRO_ENUM: {
        int idx;
        if (avro_value_get_enum(v, &idx)) break;
        const char *sym = avro_schema_enum_get(avro_value_get_schema(v), idx);
        if (!sym) {
            reject(why, "avro.decode", "field %s: enum index %d out of range", path, idx);
            return -1;
        }
        *out = json_string(sym);
        return 0;
    }
    case AVRO_UNION: {
        int disc;
        avro_value_t branch;
        if (avro_value_get_discriminant(v, &disc) || avro_value_get_current_branch(v, &branch))
            break;
        json_t *branch_type = json_is_array(t) ? json_array_get(t, (size_t)disc) : NULL;
        return to_json(s, branch_type, &branch, out, path, path_size, why);
    }
    case AVRO_RECORD: {
        size_t n;
        if (avro_value_get_size(v, &n)) break;
        json_t *obj = json_object();
        for (size_t i = 0; i < n; i++) {
            avro_value_t child;
            const char *name;
            json_t *cj;
            size_t plen;
            if (avro_value_get_by_index(v, i, &child, &name)) {
                json_decref(obj);
                goto avro_fail;
            }
            path_push(path, path_size, &plen, name);
            int rc = to_json(s, field_type(s, t, i), &child, &cj, path, path_size, why);
            path[plen] = '\0';
            if (rc) {
                json_decref(obj);
                return -1;
            }
            json_object_set_new(obj, name, cj);
        }
        *out = obj;
        return 0;
    }
    case AVRO_ARRAY: {
        size_t n;
        if (avro_value_get_size(v, &n)) break;
        json_t *arr = json_array();
        json_t *items = json_is_object(t) ? json_object_get(t, "items") : NULL;
        for (size_t i = 0; i < n; i++) {
            avro_value_t child;
            json_t *cj;
            if (avro_value_get_by_index(v, i, &child, NULL) ||
                to_json(s, items, &child, &cj, path, path_size, why)) {
                json_decref(arr);
                return -1;
            }
            json_array_append_new(arr, cj);
        }
        *out = arr;
        return 0;
    }
    case AVRO_MAP: {
        size_t n;
        if (avro_value_get_size(v, &n)) break;
        json_t *obj = json_object();
        json_t *values = json_is_object(t) ? json_object_get(t, "values") : NULL;
        for (size_t i = 0; i < n; i++) {
            avro_value_t child;
            const char *key;
            json_t *cj;
            if (avro_value_get_by_index(v, i, &child, &key) ||
                to_json(s, values, &child, &cj, path, path_size, why)) {
                json_decref(obj);
                return -1;
            }
            json_object_set_new(obj, key, cj);
        }
        *out = obj;
        return 0;
    }
    default:
        break;
    }
avro_fail:
    reject(why, "avro.decode", "field %s: %s", *path ? path : "(root)", avro_strerror());
    return -1;
}

int hub_avro_value_to_json(const hub_schema *s, json_t *type, avro_value_t *v, json_t **out,
                           hub_reject *why)
{
    char path[512] = "";
    return to_json(s, type, v, out, path, sizeof path, why);
}

/* ---- decoder ------------------------------------------------------------ */

hub_avro_decoder *hub_avro_decoder_new(hub_catalog *cat, const hub_schema *reader,
                                       char *errstr, size_t errstr_size)
{
    hub_avro_decoder *d = calloc(1, sizeof *d);
    if (!d) goto oom;
    d->cat = cat;
    d->reader = reader;
    d->reader_iface = avro_generic_class_from_schema(hub_schema_avro(reader));
    if (!d->reader_iface || avro_generic_value_new(d->reader_iface, &d->reader_value)) {
        snprintf(errstr, errstr_size, "reader schema %s: %s", hub_schema_fullname(reader),
                 avro_strerror());
        if (d->reader_iface) avro_value_iface_decref(d->reader_iface);
        free(d);
        return NULL;
    }
    d->mem = avro_reader_memory("", 0);
    if (!d->mem) goto oom;
    return d;
oom:
    snprintf(errstr, errstr_size, "out of memory");
    hub_avro_decoder_destroy(d);
    return NULL;
}

void hub_avro_decoder_destroy(hub_avro_decoder *d)
{
    if (!d) return;
    for (size_t i = 0; i < d->n_plans; i++) {
        writer_plan *p = &d->plans[i];
        if (!p->usable) continue;
        avro_value_decref(&p->value);
        avro_value_iface_decref(p->iface);
    }
    free(d->plans);
    if (d->reader_iface) {
        avro_value_decref(&d->reader_value);
        avro_value_iface_decref(d->reader_iface);
    }
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
    if (ss == HUB_SCHEMA_TRANSIENT) {
        *st = HUB_DECODE_TRANSIENT;
        reject(why, hub_schema_status_name(ss), "schema id %d: %s", (int)id, err);
        return NULL;
    }
    if (d->n_plans == d->cap_plans) {
        size_t cap = d->cap_plans ? d->cap_plans * 2 : 4;
        writer_plan *grown = realloc(d->plans, cap * sizeof *grown);
        if (!grown) {
            *st = HUB_DECODE_TRANSIENT;
            reject(why, "internal.oom", "out of memory");
            return NULL;
        }
        d->plans = grown;
        d->cap_plans = cap;
    }
    writer_plan *p = &d->plans[d->n_plans++];
    memset(p, 0, sizeof *p);
    p->id = id;
    if (ss != HUB_SCHEMA_OK) {
        reject(&p->refusal, hub_schema_status_name(ss), "schema id %d: %s", (int)id, err);
        return p;
    }
    if (strcmp(hub_schema_fullname(writer), hub_schema_fullname(d->reader)) != 0) {
        reject(&p->refusal, "schema.wrong_type",
               "schema id %d is %s, this topic carries %s", (int)id,
               hub_schema_fullname(writer), hub_schema_fullname(d->reader));
        return p;
    }
    p->writer = hub_schema_avro(writer);
    if (writer == d->reader || avro_schema_equal(hub_schema_avro(writer),
                                                 hub_schema_avro(d->reader))) {
        p->iface = avro_value_iface_incref(d->reader_iface);
        if (avro_generic_value_new(p->iface, &p->value)) goto cannot;
        p->resolved = false;
    } else {
        p->iface = avro_resolved_writer_new(hub_schema_avro(writer), hub_schema_avro(d->reader));
        if (!p->iface) {
            reject(&p->refusal, "schema.incompatible",
                   "schema id %d cannot be read as %s: %s", (int)id,
                   hub_schema_fullname(d->reader), avro_strerror());
            return p;
        }
        if (avro_resolved_writer_new_value(p->iface, &p->value)) goto cannot;
        avro_resolved_writer_set_dest(&p->value, &d->reader_value);
        p->resolved = true;
    }
    p->usable = true;
    return p;
cannot:
    reject(&p->refusal, "schema.incompatible", "schema id %d: %s", (int)id, avro_strerror());
    if (p->iface) avro_value_iface_decref(p->iface);
    p->iface = NULL;
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
        reject(why, hub_frame_result_name(fr), "%s (%zu bytes)",
               fr == HUB_FRAME_BAD_MAGIC ? "first byte is not the Confluent magic byte 0"
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
        reject(why, "avro.decode", "schema id %d: body of %zu bytes does not decode: %s",
               (int)*schema_id, body_len, avro_strerror());
        return HUB_DECODE_REJECT;
    }
    /* Skipping one more byte succeeds only if the body holds more. */
    if (avro_skip(d->mem, 1) == 0) {
        reject(why, "avro.trailing_bytes",
               "schema id %d: bytes left over after the datum in a body of %zu bytes",
               (int)*schema_id, body_len);
        return HUB_DECODE_REJECT;
    }
    avro_reader_memory_set_source(d->mem, (const char *)body, (int64_t)body_len);
    avro_value_reset(&p->value);
    if (avro_value_read(d->mem, &p->value) != 0) {
        reject(why, "avro.decode", "schema id %d: body of %zu bytes does not decode: %s",
               (int)*schema_id, body_len, avro_strerror());
        return HUB_DECODE_REJECT;
    }
    avro_value_t *result = p->resolved ? &d->reader_value : &p->value;
    if (hub_avro_value_to_json(d->reader, NULL, result, out, why) != 0)
        return HUB_DECODE_REJECT;
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
            if (val) known++;
            else val = json_object_get(fdef, "default");
            path_push(path, path_size, &plen, name);
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
                if (avro_value_get_by_name(v, key, &ignored, NULL) != 0)
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
