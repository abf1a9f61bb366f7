/* The jsonb text form and content hash computed in C (hub_jsonb.c). The
 * expected texts are PostgreSQL 15's output for the same JSON (`SELECT
 * '...'::jsonb::text`); test_content_hash.sh checks the same against a
 * running PostgreSQL on every test document. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "hub_jsonb.h"

/* The jsonb text of JSON text `in` (parsed by jansson), skipping `skip`. */
static char *text_of(const char *in, const char *skip)
{
    json_error_t e;
    json_t *v = json_loads(in, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
    assert_non_null(v);
    char *t = hub_jsonb_text(v, skip, NULL);
    json_decref(v);
    return t;
}

static void expect(const char *in, const char *skip, const char *want)
{
    char *got = text_of(in, skip);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static void key_order_and_spacing(void **state)
{
    (void)state;
    /* shorter keys first, then bytewise; ", " and ": " */
    expect("{\"bb\":1,\"a\":2,\"ab\":3,\"B\":[1,2,{}],\"c\":[]}", NULL,
           "{\"B\": [1, 2, {}], \"a\": 2, \"c\": [], \"ab\": 3, \"bb\": 1}");
    /* bytewise, not by locale: "Z" < "a", "é" (0xc3 0xa9) after "z" */
    expect("{\"zz\":true,\"\xc3\xa9\":false,\"Za\":null}", NULL,
           "{\"Za\": null, \"zz\": true, \"\xc3\xa9\": false}");
    expect("{\"a\":{\"yy\":1,\"x\":{\"c\":1,\"b\":2}}}", NULL,
           "{\"a\": {\"x\": {\"b\": 2, \"c\": 1}, \"yy\": 1}}");
    expect("[]", NULL, "[]");
    expect("{}", NULL, "{}");
    expect("\"x\"", NULL, "\"x\"");
}

static void skip_key_top_level_only(void **state)
{
    (void)state;
    expect("{\"event_id\":\"e-1\",\"a\":{\"event_id\":2},\"b\":1}", "event_id",
           "{\"a\": {\"event_id\": 2}, \"b\": 1}");
    expect("{\"event_id\":\"e-1\"}", "event_id", "{}");
}

static void string_escapes(void **state)
{
    (void)state;
    /* the JSON two-character escapes, other controls as \u00xx lowercase,
     * '/' and DEL and non-ASCII as they are */
    expect("\"q\\\" b\\\\ \\b\\f\\n\\r\\t \\u0001\\u001f / \\u007f Nguy\\u1ec5n\"", NULL,
           "\"q\\\" b\\\\ \\b\\f\\n\\r\\t \\u0001\\u001f / \x7f Nguy\xe1\xbb\x85n\"");
}

static void numbers(void **state)
{
    (void)state;
    expect("[0,-7,9223372036854775807,-9223372036854775808]", NULL,
           "[0, -7, 9223372036854775807, -9223372036854775808]");
    /* reals as jansson wrote them ("%.17g", ".0" when integral) and numeric
     * printed them */
    expect("[1.5,100.0,0.1,-0.0,0.0]", NULL,
           "[1.5, 100.0, 0.10000000000000001, 0.0, 0.0]");
    expect("[1e20,1.5e-7,-2.5e-5,1.2345678901234568e17]", NULL,
           "[100000000000000000000, 0.00000014999999999999999, -0.000025000000000000001, "
           "123456789012345680]");
    expect("[1e-5]", NULL, "[0.000010000000000000001]");
}

static void refused(void **state)
{
    (void)state;
    char *t = text_of("\"a\\u0000b\"", NULL); /* jsonb holds no NUL */
    assert_null(t);
    json_t *inf = json_real(1.0);
    assert_int_equal(json_real_set(inf, 1e308 * 10), -1); /* jansson refuses it too */
    json_decref(inf);
}

static void content_hash(void **state)
{
    (void)state;
    json_error_t e;
    json_t *doc = json_loads("{\"event_id\":\"e-9\",\"b\":[1,\"x\"],\"a\":null}", 0, &e);
    json_t *same = json_loads("{\"a\":null,\"b\":[1,\"x\"],\"event_id\":\"other\"}", 0, &e);
    char h1[33], h2[33];
    assert_int_equal(hub_content_hash(doc, h1), 0);
    assert_int_equal(hub_content_hash(same, h2), 0);
    /* md5('{"a": null, "b": [1, "x"]}') */
    assert_string_equal(h1, "d3d593d6778a59cfc7a36d9ef1d9318b");
    assert_string_equal(h1, h2);
    json_decref(doc);
    json_decref(same);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(key_order_and_spacing), cmocka_unit_test(skip_key_top_level_only),
        cmocka_unit_test(string_escapes),        cmocka_unit_test(numbers),
        cmocka_unit_test(refused),               cmocka_unit_test(content_hash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
