/* Schema resolution (hub_resolve): a matrix of writer/reader pairs. Each
 * value is encoded with the writer schema by avro-c (through hub_avro's
 * encoder), read back with the writer schema, resolved with the plan into
 * the reader-shaped document and compared exactly; refusals are compared by
 * their text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub_avro.h"
#include "hub_resolve.h"

static hub_schema *schema(const char *text)
{
    char err[512];
    hub_schema *s = hub_schema_parse(text, 0, "t", 1, err, sizeof err);
    if (!s) fail_msg("schema %s: %s", text, err);
    return s;
}

/* A record schema R with the given fields (JSON text of the array body). */
static char *record(const char *fields)
{
    char *text;
    if (asprintf(&text, "{\"type\":\"record\",\"name\":\"R\",\"fields\":[%s]}", fields) < 0) abort();
    return text;
}

/* Encodes `value` (document shape) with `w`, reads it back with w's own
 * schema and resolves it as `r`. Returns 0 and the document, or -1 and why. */
static int read_as(const hub_schema *w, const hub_schema *r, const char *value, json_t **out,
                   hub_reject *why)
{
    char err[512];
    json_error_t jerr;
    json_t *doc = json_loads(value, JSON_DECODE_ANY, &jerr);
    if (!doc) fail_msg("value %s: %s", value, jerr.text);
    hub_avro_encoder *enc = hub_avro_encoder_new(w, err, sizeof err);
    assert_non_null(enc);
    uint8_t *buf;
    size_t len;
    if (hub_avro_encode(enc, doc, &buf, &len, err, sizeof err) != 0) fail_msg("encode %s: %s", value, err);
    json_decref(doc);
    hub_avro_encoder_destroy(enc);

    hub_resolve_plan *plan = hub_resolve_plan_new(w, r, err, sizeof err);
    if (!plan) fail_msg("plan: %s", err);
    avro_value_iface_t *iface = avro_generic_class_from_schema(hub_schema_avro(w));
    avro_value_t v;
    assert_non_null(iface);
    assert_int_equal(avro_generic_value_new(iface, &v), 0);
    avro_reader_t mem = avro_reader_memory((const char *)buf + 5, (int64_t)len - 5);
    assert_int_equal(avro_value_read(mem, &v), 0);
    int rc = hub_resolve_apply(plan, &v, out, why);
    avro_reader_free(mem);
    avro_value_decref(&v);
    avro_value_iface_decref(iface);
    hub_resolve_plan_destroy(plan);
    free(buf);
    return rc;
}

static void expect_doc(const char *wtext, const char *rtext, const char *value, const char *expected)
{
    hub_schema *w = schema(wtext), *r = schema(rtext);
    json_t *out;
    hub_reject why;
    if (read_as(w, r, value, &out, &why) != 0) fail_msg("%s: %s: %s", value, why.reason, why.message);
    json_t *want = json_loads(expected, JSON_DECODE_ANY, NULL);
    assert_non_null(want);
    if (!json_equal(out, want)) {
        char *got = json_dumps(out, JSON_ENCODE_ANY | JSON_COMPACT);
        fail_msg("writer %s\nreader %s\nvalue %s\nexpected %s\ngot      %s", wtext, rtext, value,
                 expected, got);
    }
    json_decref(want);
    json_decref(out);
    hub_schema_destroy(w);
    hub_schema_destroy(r);
}

/* Same, for one field "f" of type wtype in the writer and rtype in the reader. */
static void expect_field(const char *wtype, const char *rtype, const char *value, const char *expected)
{
    char fw[512], fr[512], v[512], e[512];
    snprintf(fw, sizeof fw, "{\"name\":\"f\",\"type\":%s}", wtype);
    snprintf(fr, sizeof fr, "{\"name\":\"f\",\"type\":%s}", rtype);
    snprintf(v, sizeof v, "{\"f\":%s}", value);
    snprintf(e, sizeof e, "{\"f\":%s}", expected);
    char *w = record(fw), *r = record(fr);
    expect_doc(w, r, v, e);
    free(w);
    free(r);
}

static void expect_read_refused(const char *wtext, const char *rtext, const char *value,
                                const char *reason, const char *message)
{
    hub_schema *w = schema(wtext), *r = schema(rtext);
    json_t *out = (json_t *)1;
    hub_reject why;
    assert_int_equal(read_as(w, r, value, &out, &why), -1);
    assert_null(out);
    assert_string_equal(why.reason, reason);
    assert_string_equal(why.message, message);
    hub_schema_destroy(w);
    hub_schema_destroy(r);
}

static void expect_plan_refused(const char *wtext, const char *rtext, const char *error)
{
    hub_schema *w = schema(wtext), *r = schema(rtext);
    char err[512];
    hub_resolve_plan *plan = hub_resolve_plan_new(w, r, err, sizeof err);
    if (plan) fail_msg("plan built for writer %s reader %s", wtext, rtext);
    assert_string_equal(err, error);
    hub_schema_destroy(w);
    hub_schema_destroy(r);
}

static void expect_field_refused(const char *wtype, const char *rtype, const char *error)
{
    char fw[512], fr[512];
    snprintf(fw, sizeof fw, "{\"name\":\"f\",\"type\":%s}", wtype);
    snprintf(fr, sizeof fr, "{\"name\":\"f\",\"type\":%s}", rtype);
    char *w = record(fw), *r = record(fr);
    expect_plan_refused(w, r, error);
    free(w);
    free(r);
}

typedef struct collected {
    char text[2048];
    int n_read_time;
} collected;

static void collect(void *opaque, const char *path, const char *why, bool at_read_time)
{
    collected *c = opaque;
    size_t o = strlen(c->text);
    snprintf(c->text + o, sizeof c->text - o, "%s%s: %s", o ? "\n" : "", path, why);
    if (at_read_time) c->n_read_time++;
}

/* ---- the matrix --------------------------------------------------------- */

static void same_schema_gives_the_document_shape(void **state)
{
    (void)state;
    char *s = record(
        "{\"name\":\"n\",\"type\":\"null\"},{\"name\":\"b\",\"type\":\"boolean\"},"
        "{\"name\":\"i\",\"type\":\"int\"},{\"name\":\"l\",\"type\":\"long\"},"
        "{\"name\":\"f\",\"type\":\"float\"},{\"name\":\"d\",\"type\":\"double\"},"
        "{\"name\":\"by\",\"type\":\"bytes\"},{\"name\":\"s\",\"type\":\"string\"},"
        "{\"name\":\"e\",\"type\":{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\",\"B\"]}},"
        "{\"name\":\"x\",\"type\":{\"type\":\"fixed\",\"name\":\"X\",\"size\":2}},"
        "{\"name\":\"a\",\"type\":{\"type\":\"array\",\"items\":\"int\"}},"
        "{\"name\":\"m\",\"type\":{\"type\":\"map\",\"values\":\"string\"}},"
        "{\"name\":\"u\",\"type\":[\"null\",\"string\"]},"
        "{\"name\":\"dt\",\"type\":{\"type\":\"int\",\"logicalType\":\"date\"}},"
        "{\"name\":\"ts\",\"type\":{\"type\":\"long\",\"logicalType\":\"timestamp-millis\"}}");
    const char *v =
        "{\"n\":null,\"b\":true,\"i\":-3,\"l\":1099511627776,\"f\":1.5,\"d\":-0.25,"
        "\"by\":\"00ff10\",\"s\":\"Hà Nội\",\"e\":\"B\",\"x\":\"abcd\",\"a\":[1,2,3],"
        "\"m\":{\"k\":\"v\"},\"u\":\"x\",\"dt\":\"2026-03-04\",\"ts\":\"2026-03-04T17:30:00.000Z\"}";
    expect_doc(s, s, v, v);
    expect_doc(s, s,
               "{\"n\":null,\"b\":false,\"i\":0,\"l\":0,\"f\":0,\"d\":0,\"by\":\"\",\"s\":\"\","
               "\"e\":\"A\",\"x\":\"0000\",\"a\":[],\"m\":{},\"u\":null,\"dt\":\"1970-01-01\","
               "\"ts\":\"1970-01-01T00:00:00.000Z\"}",
               "{\"n\":null,\"b\":false,\"i\":0,\"l\":0,\"f\":0.0,\"d\":0.0,\"by\":\"\",\"s\":\"\","
               "\"e\":\"A\",\"x\":\"0000\",\"a\":[],\"m\":{},\"u\":null,\"dt\":\"1970-01-01\","
               "\"ts\":\"1970-01-01T00:00:00.000Z\"}");
    free(s);
}

static void numeric_promotions(void **state)
{
    (void)state;
    expect_field("\"int\"", "\"long\"", "-7", "-7");
    expect_field("\"int\"", "\"float\"", "7", "7.0");
    expect_field("\"int\"", "\"double\"", "2147483647", "2147483647.0");
    expect_field("\"long\"", "\"float\"", "1099511627776", "1099511627776.0");
    expect_field("\"long\"", "\"double\"", "-1099511627777", "-1099511627777.0");
    expect_field("\"float\"", "\"double\"", "0.5", "0.5");
    /* a long read as float keeps float precision */
    expect_field("\"long\"", "\"float\"", "16777217", "16777216.0");
    /* no demotion */
    expect_field_refused("\"long\"", "\"int\"", "f: writer long cannot be read as int");
    expect_field_refused("\"double\"", "\"float\"", "f: writer double cannot be read as float");
    expect_field_refused("\"float\"", "\"long\"", "f: writer float cannot be read as long");
}

static void strings_and_bytes(void **state)
{
    (void)state;
    expect_field("\"string\"", "\"bytes\"", "\"hé\"", "\"68c3a9\"");
    expect_field("\"bytes\"", "\"string\"", "\"68c3a9\"", "\"hé\"");
    expect_field("\"bytes\"", "\"string\"", "\"\"", "\"\"");
    char *w = record("{\"name\":\"f\",\"type\":\"bytes\"}");
    char *r = record("{\"name\":\"f\",\"type\":\"string\"}");
    expect_read_refused(w, r, "{\"f\":\"ff00\"}", "encoding.utf8", "field f: string is not valid UTF-8");
    free(w);
    free(r);
    expect_field_refused("\"string\"", "\"int\"", "f: writer string cannot be read as int");
    expect_field_refused("\"boolean\"", "\"string\"", "f: writer boolean cannot be read as string");
}

static void enums_map_by_name(void **state)
{
    (void)state;
    const char *w = "{\"type\":\"enum\",\"name\":\"Sex\",\"symbols\":[\"MALE\",\"FEMALE\",\"UNKNOWN\"]}";
    const char *r = "{\"type\":\"enum\",\"name\":\"Sex\",\"symbols\":[\"FEMALE\",\"MALE\"]}";
    const char *rd =
        "{\"type\":\"enum\",\"name\":\"Sex\",\"symbols\":[\"FEMALE\",\"MALE\",\"OTHER\"],\"default\":\"OTHER\"}";
    /* reordered symbols map by name, not by index */
    expect_field(w, r, "\"MALE\"", "\"MALE\"");
    expect_field(w, r, "\"FEMALE\"", "\"FEMALE\"");
    /* an unknown writer symbol becomes the reader enum's default */
    expect_field(w, rd, "\"UNKNOWN\"", "\"OTHER\"");
    expect_field(w, rd, "\"FEMALE\"", "\"FEMALE\"");
    /* without a default: the plan is built, only messages with it are refused */
    char fw[256], fr[256];
    snprintf(fw, sizeof fw, "{\"name\":\"sex\",\"type\":%s}", w);
    snprintf(fr, sizeof fr, "{\"name\":\"sex\",\"type\":%s}", r);
    char *ws = record(fw), *rs = record(fr);
    expect_read_refused(ws, rs, "{\"sex\":\"UNKNOWN\"}", "avro.resolve",
                        "field sex: enum symbol UNKNOWN is not in the reader's enum, which has no default");
    hub_schema *a = schema(ws), *b = schema(rs);
    collected c = {"", 0};
    assert_int_equal(hub_resolve_check(a, b, collect, &c), 1);
    assert_string_equal(c.text, "sex: enum symbol UNKNOWN is not in the reader enum Sex, which has no "
                                "default (messages with UNKNOWN are refused)");
    assert_int_equal(c.n_read_time, 1);
    hub_schema_destroy(a);
    hub_schema_destroy(b);
    free(ws);
    free(rs);
    /* enums of different names do not match; a reader alias makes them */
    expect_field_refused(w, "{\"type\":\"enum\",\"name\":\"Gender\",\"symbols\":[\"MALE\"]}",
                         "f: writer enum Sex is not the reader's enum Gender (neither its name nor an alias)");
    expect_field(w, "{\"type\":\"enum\",\"name\":\"Gender\",\"aliases\":[\"Sex\"],\"symbols\":[\"MALE\",\"FEMALE\",\"UNKNOWN\"]}",
                 "\"UNKNOWN\"", "\"UNKNOWN\"");
    expect_field_refused(w, "{\"type\":\"enum\",\"name\":\"Sex\",\"symbols\":[\"MALE\"],\"default\":\"X\"}",
                         "f: the reader enum Sex has default X, which is not one of its symbols");
}

static void reader_fields_take_defaults(void **state)
{
    (void)state;
    char *w = record("{\"name\":\"id\",\"type\":\"string\"}");
    char *r = record(
        "{\"name\":\"id\",\"type\":\"string\"},"
        "{\"name\":\"n\",\"type\":\"null\",\"default\":null},"
        "{\"name\":\"b\",\"type\":\"boolean\",\"default\":true},"
        "{\"name\":\"i\",\"type\":\"int\",\"default\":-1},"
        "{\"name\":\"l\",\"type\":\"long\",\"default\":1099511627776},"
        "{\"name\":\"f\",\"type\":\"float\",\"default\":1.25},"
        "{\"name\":\"d\",\"type\":\"double\",\"default\":2},"
        "{\"name\":\"s\",\"type\":\"string\",\"default\":\"vi\"},"
        "{\"name\":\"by\",\"type\":\"bytes\",\"default\":\"\\u0001\\u00ffA\"},"
        "{\"name\":\"e\",\"type\":{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\",\"B\"]},\"default\":\"B\"},"
        "{\"name\":\"x\",\"type\":{\"type\":\"fixed\",\"name\":\"X\",\"size\":2},\"default\":\"\\u0001\\u0002\"},"
        "{\"name\":\"a\",\"type\":{\"type\":\"array\",\"items\":{\"type\":\"int\",\"logicalType\":\"date\"}},\"default\":[0,1]},"
        "{\"name\":\"m\",\"type\":{\"type\":\"map\",\"values\":\"long\"},\"default\":{\"k\":5}},"
        "{\"name\":\"rec\",\"type\":{\"type\":\"record\",\"name\":\"In\",\"fields\":["
        "  {\"name\":\"p\",\"type\":\"int\"},{\"name\":\"q\",\"type\":\"string\",\"default\":\"dq\"}]},"
        " \"default\":{\"p\":4}},"
        "{\"name\":\"un\",\"type\":[\"null\",\"int\"],\"default\":null},"
        "{\"name\":\"us\",\"type\":[\"string\",\"null\"],\"default\":\"first\"},"
        "{\"name\":\"dt\",\"type\":{\"type\":\"int\",\"logicalType\":\"date\"},\"default\":20516},"
        "{\"name\":\"ts\",\"type\":{\"type\":\"long\",\"logicalType\":\"timestamp-millis\"},\"default\":1772645400000}");
    expect_doc(w, r, "{\"id\":\"a\"}",
               "{\"id\":\"a\",\"n\":null,\"b\":true,\"i\":-1,\"l\":1099511627776,\"f\":1.25,\"d\":2.0,"
               "\"s\":\"vi\",\"by\":\"01ff41\",\"e\":\"B\",\"x\":\"0102\","
               "\"a\":[\"1970-01-01\",\"1970-01-02\"],\"m\":{\"k\":5},\"rec\":{\"p\":4,\"q\":\"dq\"},"
               "\"un\":null,\"us\":\"first\",\"dt\":\"2026-03-04\",\"ts\":\"2026-03-04T17:30:00.000Z\"}");
    /* each message gets its own copy of a default: changing one document
     * (services normalise in place) does not change the next */
    hub_schema *ws = schema(w), *rs = schema(r);
    json_t *one, *two;
    hub_reject why;
    assert_int_equal(read_as(ws, rs, "{\"id\":\"a\"}", &one, &why), 0);
    json_array_append_new(json_object_get(one, "a"), json_string("x"));
    assert_int_equal(read_as(ws, rs, "{\"id\":\"b\"}", &two, &why), 0);
    assert_int_equal(json_array_size(json_object_get(two, "a")), 2);
    json_decref(one);
    json_decref(two);
    hub_schema_destroy(ws);
    hub_schema_destroy(rs);
    free(w);
    free(r);
}

static void refused_defaults_and_missing_fields(void **state)
{
    (void)state;
    char *w = record("{\"name\":\"id\",\"type\":\"string\"}");
    char *r = record("{\"name\":\"id\",\"type\":\"string\"},"
                     "{\"name\":\"child\",\"type\":{\"type\":\"record\",\"name\":\"C\",\"fields\":["
                     "  {\"name\":\"weight\",\"type\":\"int\"}]},\"default\":{}}");
    expect_plan_refused(w, r, "child.weight: the reader's default gives no value and the field has no default");
    free(r);
    r = record("{\"name\":\"id\",\"type\":\"string\"},{\"name\":\"weight\",\"type\":\"int\"},"
               "{\"name\":\"height\",\"type\":\"int\"}");
    expect_plan_refused(w, r, "weight: reader field has no default and is not in the writer (and 1 more problem)");
    free(r);
    r = record("{\"name\":\"id\",\"type\":\"string\"},{\"name\":\"i\",\"type\":\"int\",\"default\":\"x\"}");
    expect_plan_refused(w, r, "i: reader default \"x\" is not a value of the field's type int");
    free(r);
    r = record("{\"name\":\"id\",\"type\":\"string\"},{\"name\":\"u\",\"type\":[\"null\",\"int\"],\"default\":3}");
    expect_plan_refused(w, r, "u: reader default 3 is not a value of the field's type null");
    free(r);
    r = record("{\"name\":\"id\",\"type\":\"string\"},{\"name\":\"i\",\"type\":\"int\",\"default\":4294967296}");
    expect_plan_refused(w, r, "i: reader default 4294967296 is not a value of the field's type int");
    free(r);
    r = record("{\"name\":\"id\",\"type\":\"string\"},"
               "{\"name\":\"x\",\"type\":{\"type\":\"fixed\",\"name\":\"X\",\"size\":2},\"default\":\"a\"}");
    expect_plan_refused(w, r, "x: reader default \"a\" is not a value of the field's type fixed X");
    free(r);
    free(w);
}

static void writer_fields_absent_from_the_reader_are_dropped(void **state)
{
    (void)state;
    char *w = record("{\"name\":\"a\",\"type\":\"int\"},{\"name\":\"gone\",\"type\":{\"type\":\"array\",\"items\":\"string\"}},"
                     "{\"name\":\"b\",\"type\":\"string\"}");
    char *r = record("{\"name\":\"b\",\"type\":\"string\"},{\"name\":\"a\",\"type\":\"long\"}");
    /* and the reader's field order is the document's */
    expect_doc(w, r, "{\"a\":1,\"gone\":[\"x\",\"y\"],\"b\":\"z\"}", "{\"b\":\"z\",\"a\":1}");
    hub_schema *ws = schema(w), *rs = schema(r);
    json_t *out;
    hub_reject why;
    assert_int_equal(read_as(ws, rs, "{\"a\":1,\"gone\":[],\"b\":\"z\"}", &out, &why), 0);
    char *text = json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER);
    assert_string_equal(text, "{\"b\":\"z\",\"a\":1}");
    free(text);
    json_decref(out);
    hub_schema_destroy(ws);
    hub_schema_destroy(rs);
    free(w);
    free(r);
}

static void renamed_fields_match_through_aliases(void **state)
{
    (void)state;
    /* the reader renamed ethnicity to ethnic_group and says so */
    char *v1 = record("{\"name\":\"ethnicity\",\"type\":[\"null\",\"string\"],\"default\":null}");
    char *v2 = record("{\"name\":\"ethnic_group\",\"aliases\":[\"ethnicity\"],\"type\":[\"null\",\"string\"],\"default\":null}");
    expect_doc(v1, v2, "{\"ethnicity\":\"01\"}", "{\"ethnic_group\":\"01\"}");
    /* the other way: the writer's field lists the reader's name as an alias */
    expect_doc(v2, v1, "{\"ethnic_group\":\"02\"}", "{\"ethnicity\":\"02\"}");
    free(v1);
    free(v2);
    /* a same-named field wins over an alias; the alias cannot take it twice */
    char *w = record("{\"name\":\"old\",\"type\":\"int\"},{\"name\":\"new\",\"type\":\"int\"}");
    char *r = record("{\"name\":\"new\",\"aliases\":[\"old\"],\"type\":\"int\"},"
                     "{\"name\":\"other\",\"aliases\":[\"old\"],\"type\":\"int\",\"default\":0}");
    expect_doc(w, r, "{\"old\":1,\"new\":2}", "{\"new\":2,\"other\":1}");
    free(w);
    free(r);
    /* a renamed record type: the reader's alias names the writer's type */
    expect_doc("{\"type\":\"record\",\"name\":\"ns.Old\",\"fields\":[{\"name\":\"a\",\"type\":\"int\"}]}",
               "{\"type\":\"record\",\"name\":\"New\",\"aliases\":[\"other.Old\"],\"fields\":[{\"name\":\"a\",\"type\":\"int\"}]}",
               "{\"a\":1}", "{\"a\":1}");
    expect_plan_refused("{\"type\":\"record\",\"name\":\"Old\",\"fields\":[{\"name\":\"a\",\"type\":\"int\"}]}",
                        "{\"type\":\"record\",\"name\":\"New\",\"fields\":[{\"name\":\"a\",\"type\":\"int\"}]}",
                        "(root): writer record Old is not the reader's record New (neither its name nor an alias)");
}

static void unions_on_either_side(void **state)
{
    (void)state;
    /* non-union writer, union reader: the same type first, then a promotion */
    expect_field("\"int\"", "[\"null\",\"int\"]", "5", "5");
    expect_field("\"int\"", "[\"null\",\"double\",\"int\"]", "5", "5");
    expect_field("\"int\"", "[\"null\",\"string\",\"long\"]", "5", "5");
    expect_field("\"int\"", "[\"null\",\"float\"]", "5", "5.0");
    expect_field("\"null\"", "[\"string\",\"null\"]", "null", "null");
    expect_field_refused("\"string\"", "[\"null\",\"int\"]",
                         "f: writer string matches no branch of the reader's union [null, int]");
    /* union writer, union reader: per branch */
    expect_field("[\"null\",\"int\"]", "[\"null\",\"long\",\"string\"]", "7", "7");
    expect_field("[\"null\",\"int\"]", "[\"null\",\"long\",\"string\"]", "null", "null");
    expect_field("[\"int\",\"string\"]", "[\"string\",\"double\"]", "\"s\"", "\"s\"");
    expect_field("[\"int\",\"string\"]", "[\"string\",\"double\"]", "3", "3.0");
    /* union writer, non-union reader: branches that fit are read, the others
     * refuse the messages that use them */
    expect_field("[\"null\",\"string\"]", "\"string\"", "\"x\"", "\"x\"");
    char *w = record("{\"name\":\"f\",\"type\":[\"null\",\"string\"]}");
    char *r = record("{\"name\":\"f\",\"type\":\"string\"}");
    expect_read_refused(w, r, "{\"f\":null}", "avro.resolve",
                        "f: writer null cannot be read as string (refused only when f holds the writer's null)");
    hub_schema *ws = schema(w), *rs = schema(r);
    collected c = {"", 0};
    assert_int_equal(hub_resolve_check(ws, rs, collect, &c), 1);
    assert_int_equal(c.n_read_time, 1);
    assert_string_equal(c.text, "f: writer null cannot be read as string (refused only when f holds the writer's null)");
    hub_schema_destroy(ws);
    hub_schema_destroy(rs);
    free(w);
    free(r);
    /* no branch at all: refused when the plan is built */
    expect_field_refused("[\"null\",\"string\"]", "\"int\"",
                         "f: writer null cannot be read as int (and 1 more problem)");
    /* a record branch whose resolution fails refuses only those messages */
    w = record("{\"name\":\"res\",\"type\":[\"null\",{\"type\":\"record\",\"name\":\"Res\",\"fields\":[{\"name\":\"p\",\"type\":\"string\"}]}],\"default\":null}");
    r = record("{\"name\":\"res\",\"type\":[\"null\",{\"type\":\"record\",\"name\":\"Res\",\"fields\":[{\"name\":\"p\",\"type\":\"string\"},{\"name\":\"q\",\"type\":\"int\"}]}],\"default\":null}");
    expect_doc(w, r, "{\"res\":null}", "{\"res\":null}");
    expect_read_refused(w, r, "{\"res\":{\"p\":\"79\"}}", "avro.resolve",
                        "res.q: reader field has no default and is not in the writer "
                        "(refused only when res holds the writer's record Res)");
    free(w);
    free(r);
}

static void fixed_needs_the_same_name_and_size(void **state)
{
    (void)state;
    expect_field("{\"type\":\"fixed\",\"name\":\"H\",\"size\":3}", "{\"type\":\"fixed\",\"name\":\"H\",\"size\":3}",
                 "\"0a0b0c\"", "\"0a0b0c\"");
    expect_field_refused("{\"type\":\"fixed\",\"name\":\"H\",\"size\":3}", "{\"type\":\"fixed\",\"name\":\"H\",\"size\":4}",
                         "f: writer fixed H has 3 bytes, the reader's fixed H has 4");
    expect_field_refused("{\"type\":\"fixed\",\"name\":\"H\",\"size\":3}", "{\"type\":\"fixed\",\"name\":\"G\",\"size\":3}",
                         "f: writer fixed H is not the reader's fixed G (neither its name nor an alias)");
    expect_field_refused("{\"type\":\"fixed\",\"name\":\"H\",\"size\":3}", "\"bytes\"",
                         "f: writer fixed H cannot be read as bytes");
}

static void the_readers_logical_type_decides(void **state)
{
    (void)state;
    const char *date = "{\"type\":\"int\",\"logicalType\":\"date\"}";
    const char *ts = "{\"type\":\"long\",\"logicalType\":\"timestamp-millis\"}";
    expect_field("\"int\"", date, "20516", "\"2026-03-04\"");
    expect_field(date, "\"int\"", "\"2026-03-04\"", "20516");
    expect_field("\"long\"", ts, "1772645400000", "\"2026-03-04T17:30:00.000Z\"");
    expect_field(ts, "\"long\"", "\"2026-03-04T17:30:00.000Z\"", "1772645400000");
    expect_field("\"int\"", ts, "1000", "\"1970-01-01T00:00:01.000Z\"");
    expect_field(date, "\"long\"", "\"1970-01-11\"", "10");
    char *w = record("{\"name\":\"t\",\"type\":\"long\"}");
    char fr[256];
    snprintf(fr, sizeof fr, "{\"name\":\"t\",\"type\":%s}", ts);
    char *r = record(fr);
    /* (numbers of 12 digits or more are masked in refusals: hub_avro.h) */
    expect_read_refused(w, r, "{\"t\":-9223372036854775807}", "avro.decode",
                        "field t: timestamp -922**************07 ms is outside years 1-9999");
    free(w);
    free(r);
}

static void nested_records_arrays_and_maps(void **state)
{
    (void)state;
    const char *w =
        "{\"type\":\"record\",\"name\":\"Doc\",\"namespace\":\"vn\",\"fields\":["
        " {\"name\":\"people\",\"type\":{\"type\":\"array\",\"items\":{\"type\":\"record\",\"name\":\"P\",\"fields\":["
        "   {\"name\":\"name\",\"type\":\"string\"},{\"name\":\"age\",\"type\":\"int\"}]}}},"
        " {\"name\":\"by_code\",\"type\":{\"type\":\"map\",\"values\":\"P\"}},"
        " {\"name\":\"best\",\"type\":[\"null\",\"vn.P\"]},"
        " {\"name\":\"grid\",\"type\":{\"type\":\"array\",\"items\":{\"type\":\"array\",\"items\":\"int\"}}}]}";
    const char *r =
        "{\"type\":\"record\",\"name\":\"Doc\",\"namespace\":\"vn\",\"fields\":["
        " {\"name\":\"people\",\"type\":{\"type\":\"array\",\"items\":{\"type\":\"record\",\"name\":\"P\",\"fields\":["
        "   {\"name\":\"age\",\"type\":\"double\"},{\"name\":\"name\",\"type\":\"string\"},"
        "   {\"name\":\"nick\",\"type\":[\"null\",\"string\"],\"default\":null}]}}},"
        " {\"name\":\"by_code\",\"type\":{\"type\":\"map\",\"values\":\"P\"}},"
        " {\"name\":\"best\",\"type\":[\"null\",\"P\"],\"default\":null},"
        " {\"name\":\"grid\",\"type\":{\"type\":\"array\",\"items\":{\"type\":\"array\",\"items\":\"long\"}}}]}";
    expect_doc(w, r,
               "{\"people\":[{\"name\":\"An\",\"age\":3},{\"name\":\"Bình\",\"age\":40}],"
               "\"by_code\":{\"79\":{\"name\":\"Chi\",\"age\":9}},\"best\":{\"name\":\"An\",\"age\":3},"
               "\"grid\":[[1,2],[],[3]]}",
               "{\"people\":[{\"age\":3.0,\"name\":\"An\",\"nick\":null},{\"age\":40.0,\"name\":\"Bình\",\"nick\":null}],"
               "\"by_code\":{\"79\":{\"age\":9.0,\"name\":\"Chi\",\"nick\":null}},"
               "\"best\":{\"age\":3.0,\"name\":\"An\",\"nick\":null},\"grid\":[[1,2],[],[3]]}");
    /* problems deep inside name their path */
    const char *bad =
        "{\"type\":\"record\",\"name\":\"Doc\",\"namespace\":\"vn\",\"fields\":["
        " {\"name\":\"people\",\"type\":{\"type\":\"array\",\"items\":{\"type\":\"record\",\"name\":\"P\",\"fields\":["
        "   {\"name\":\"name\",\"type\":\"int\"}]}}},"
        " {\"name\":\"by_code\",\"type\":{\"type\":\"map\",\"values\":\"string\"}}]}";
    hub_schema *ws = schema(w), *rs = schema(bad);
    collected c = {"", 0};
    assert_int_equal(hub_resolve_check(ws, rs, collect, &c), 2);
    assert_string_equal(c.text, "people[].name: writer string cannot be read as int\n"
                                "by_code{}: writer record P cannot be read as string");
    assert_int_equal(c.n_read_time, 0);
    hub_schema_destroy(ws);
    hub_schema_destroy(rs);
}

static void recursive_types(void **state)
{
    (void)state;
    const char *w = "{\"type\":\"record\",\"name\":\"Node\",\"fields\":[{\"name\":\"v\",\"type\":\"int\"},"
                    "{\"name\":\"next\",\"type\":[\"null\",\"Node\"]}]}";
    const char *r = "{\"type\":\"record\",\"name\":\"Node\",\"fields\":[{\"name\":\"v\",\"type\":\"long\"},"
                    "{\"name\":\"next\",\"type\":[\"null\",\"Node\"]},{\"name\":\"tag\",\"type\":\"string\",\"default\":\"t\"}]}";
    expect_doc(w, r, "{\"v\":1,\"next\":{\"v\":2,\"next\":{\"v\":3,\"next\":null}}}",
               "{\"v\":1,\"tag\":\"t\",\"next\":{\"v\":2,\"tag\":\"t\",\"next\":{\"v\":3,\"tag\":\"t\",\"next\":null}}}");
}

static void same_type_by_name_or_alias(void **state)
{
    (void)state;
    hub_schema *a = schema("{\"type\":\"record\",\"name\":\"x.BirthCertificate\",\"fields\":[]}");
    hub_schema *b = schema("{\"type\":\"record\",\"name\":\"y.BirthCertificate\",\"fields\":[]}");
    hub_schema *c = schema("{\"type\":\"record\",\"name\":\"DeathNotice\",\"fields\":[]}");
    hub_schema *d = schema("{\"type\":\"record\",\"name\":\"Birth\",\"aliases\":[\"BirthCertificate\"],\"fields\":[]}");
    assert_true(hub_resolve_same_type(a, b));
    assert_false(hub_resolve_same_type(a, c));
    assert_true(hub_resolve_same_type(a, d));
    assert_false(hub_resolve_same_type(d, a));
    hub_schema_destroy(a);
    hub_schema_destroy(b);
    hub_schema_destroy(c);
    hub_schema_destroy(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(same_schema_gives_the_document_shape),
        cmocka_unit_test(numeric_promotions),
        cmocka_unit_test(strings_and_bytes),
        cmocka_unit_test(enums_map_by_name),
        cmocka_unit_test(reader_fields_take_defaults),
        cmocka_unit_test(refused_defaults_and_missing_fields),
        cmocka_unit_test(writer_fields_absent_from_the_reader_are_dropped),
        cmocka_unit_test(renamed_fields_match_through_aliases),
        cmocka_unit_test(unions_on_either_side),
        cmocka_unit_test(fixed_needs_the_same_name_and_size),
        cmocka_unit_test(the_readers_logical_type_decides),
        cmocka_unit_test(nested_records_arrays_and_maps),
        cmocka_unit_test(recursive_types),
        cmocka_unit_test(same_type_by_name_or_alias),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
