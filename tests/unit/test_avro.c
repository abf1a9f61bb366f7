/* JSON <-> Confluent-framed Avro with the real birth-certificate schema. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "hub_avro.h"
#include "hub_build.h"
#include "hub_text.h"

static const char *doc_text =
    "{\"event_id\":\"e-1\",\"source_system\":\"his-79\",\"certificate_number\":\"GCS-1\","
    "\"facility\":{\"code\":\"79-BV-001\",\"name\":\"Bệnh viện Từ Dũ\"},"
    "\"issued_at\":\"2026-03-05T09:00:00+07:00\","
    "\"child\":{\"name\":null,\"sex\":\"FEMALE\",\"birth_time\":\"2026-03-04T23:30:00+07:00\","
    "\"place\":{\"kind\":\"HEALTH_FACILITY\",\"facility_code\":\"79-BV-001\",\"province_code\":\"79\"},"
    "\"weight_grams\":3100,\"gestation_weeks\":39},"
    "\"mother\":{\"name\":\"Nguyễn Thị Hoa\",\"birth_date\":\"1995-06-15\","
    "\"personal_id\":\"079195000123\",\"nationality\":\"VN\","
    "\"residence\":{\"province_code\":\"79\",\"commune_code\":\"26734\"}}}";

typedef struct fixture {
    hub_catalog *cat;
    const hub_schema *schema;
    hub_avro_encoder *enc;
    hub_avro_decoder *dec;
} fixture;

static int setup(void **state)
{
    char err[512];
    fixture *f = calloc(1, sizeof *f);
    f->cat = hub_catalog_open(HUB_SCHEMA_DIR, err, sizeof err);
    if (!f->cat) fail_msg("%s", err);
    f->schema = hub_catalog_latest(f->cat, "birth-certificate");
    assert_non_null(f->schema);
    f->enc = hub_avro_encoder_new(f->schema, err, sizeof err);
    f->dec = hub_avro_decoder_new(f->cat, f->schema, err, sizeof err);
    assert_non_null(f->enc);
    assert_non_null(f->dec);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    hub_avro_encoder_destroy(f->enc);
    hub_avro_decoder_destroy(f->dec);
    hub_catalog_destroy(f->cat);
    free(f);
    return 0;
}

static void encode(fixture *f, const char *text, uint8_t **buf, size_t *len)
{
    char err[512];
    json_error_t jerr;
    json_t *doc = json_loads(text, 0, &jerr);
    assert_non_null(doc);
    if (hub_avro_encode(f->enc, doc, buf, len, err, sizeof err) != 0) fail_msg("%s", err);
    json_decref(doc);
}

static void round_trip_with_logical_types_and_defaults(void **state)
{
    fixture *f = *state;
    uint8_t *buf;
    size_t len;
    encode(f, doc_text, &buf, &len);
    assert_int_equal(buf[0], 0);
    assert_int_equal(buf[4], 1002 & 0xff);

    json_t *out = NULL;
    int32_t id;
    hub_reject why;
    assert_int_equal(hub_avro_decode(f->dec, buf, len, &out, &id, &why), HUB_DECODE_OK);
    assert_int_equal(id, 1002);
    /* timestamps come back in UTC, dates as dates, defaults filled in */
    assert_string_equal(json_string_value(json_object_get(out, "issued_at")), "2026-03-05T02:00:00.000Z");
    json_t *child = json_object_get(out, "child");
    assert_string_equal(json_string_value(json_object_get(child, "birth_time")), "2026-03-04T16:30:00.000Z");
    assert_true(json_is_null(json_object_get(child, "name")));
    assert_int_equal(json_integer_value(json_object_get(child, "plurality")), 1);
    assert_int_equal(json_integer_value(json_object_get(child, "weight_grams")), 3100);
    json_t *mother = json_object_get(out, "mother");
    assert_string_equal(json_string_value(json_object_get(mother, "birth_date")), "1995-06-15");
    assert_string_equal(json_string_value(json_object_get(mother, "name")), "Nguyễn Thị Hoa");
    assert_string_equal(json_string_value(json_object_get(json_object_get(mother, "residence"), "commune_code")), "26734");
    assert_true(json_is_null(json_object_get(out, "father")));
    json_decref(out);

    /* the reused decoder gives the same answer for the same bytes */
    assert_int_equal(hub_avro_decode(f->dec, buf, len, &out, &id, &why), HUB_DECODE_OK);
    json_decref(out);
    free(buf);
}

static void encode_errors_name_the_field(void **state)
{
    fixture *f = *state;
    char err[512];
    uint8_t *buf;
    size_t len;
    json_t *doc = json_loads(doc_text, 0, NULL);

    json_object_set_new(json_object_get(doc, "child"), "sex", json_string("M"));
    assert_int_equal(hub_avro_encode(f->enc, doc, &buf, &len, err, sizeof err), -1);
    assert_string_equal(err, "child.sex: expected one of MALE, FEMALE, UNDETERMINED");
    json_object_set_new(json_object_get(doc, "child"), "sex", json_string("MALE"));

    json_object_del(json_object_get(doc, "mother"), "name");
    assert_int_equal(hub_avro_encode(f->enc, doc, &buf, &len, err, sizeof err), -1);
    assert_string_equal(err, "mother.name: required field is missing");
    json_object_set_new(json_object_get(doc, "mother"), "name", json_string("X"));

    json_object_set_new(json_object_get(doc, "mother"), "birth_date", json_string("1995-02-30"));
    assert_int_equal(hub_avro_encode(f->enc, doc, &buf, &len, err, sizeof err), -1);
    assert_non_null(strstr(err, "mother.birth_date"));
    json_object_set_new(json_object_get(doc, "mother"), "birth_date", json_null());

    json_object_set_new(doc, "colour", json_string("blue"));
    assert_int_equal(hub_avro_encode(f->enc, doc, &buf, &len, err, sizeof err), -1);
    assert_string_equal(err, "(root): unknown field 'colour'");
    json_object_del(doc, "colour");

    json_object_set_new(json_object_get(doc, "child"), "weight_grams", json_string("heavy"));
    assert_int_equal(hub_avro_encode(f->enc, doc, &buf, &len, err, sizeof err), -1);
    assert_string_equal(err, "child.weight_grams: expected an integer");
    json_decref(doc);
}

static void decode_refusals_have_reasons(void **state)
{
    fixture *f = *state;
    uint8_t *buf;
    size_t len;
    json_t *out;
    int32_t id;
    hub_reject why;
    encode(f, doc_text, &buf, &len);

    assert_int_equal(hub_avro_decode(f->dec, buf, 3, &out, &id, &why), HUB_DECODE_REJECT);
    assert_string_equal(why.reason, "frame.too_short");

    buf[0] = 1;
    assert_int_equal(hub_avro_decode(f->dec, buf, len, &out, &id, &why), HUB_DECODE_REJECT);
    assert_string_equal(why.reason, "frame.bad_magic");
    buf[0] = 0;

    buf[3] = 0x7f; /* id 0x7fea: unknown */
    assert_int_equal(hub_avro_decode(f->dec, buf, len, &out, &id, &why), HUB_DECODE_REJECT);
    assert_string_equal(why.reason, "schema.unknown_id");
    assert_int_equal(id, 0x7fea);
    buf[3] = 0x03;

    assert_int_equal(hub_avro_decode(f->dec, buf, len - 30, &out, &id, &why), HUB_DECODE_REJECT);
    assert_string_equal(why.reason, "avro.decode");

    uint8_t *longer = malloc(len + 2);
    memcpy(longer, buf, len);
    longer[len] = longer[len + 1] = 0;
    assert_int_equal(hub_avro_decode(f->dec, longer, len + 2, &out, &id, &why), HUB_DECODE_REJECT);
    assert_string_equal(why.reason, "avro.trailing_bytes");
    free(longer);

    /* Corrupt the first byte of the mother's name into invalid UTF-8. */
    uint8_t *name = memmem(buf, len, "Nguy", 4);
    assert_non_null(name);
    name[0] = 0xff;
    assert_int_equal(hub_avro_decode(f->dec, buf, len, &out, &id, &why), HUB_DECODE_REJECT);
    assert_string_equal(why.reason, "encoding.utf8");
    assert_non_null(strstr(why.message, "mother.name"));
    free(buf);
}

/* Version 1 data read as version 2: the new fields take their defaults,
 * the renamed field (ethnicity -> ethnic_group) keeps its value, and the
 * document equals the one the same content written with version 2 gives. */
static void version_1_reads_as_version_2(void **state)
{
    fixture *f = *state;
    char err[512];
    const hub_schema *v1;
    assert_int_equal(hub_catalog_get(f->cat, 1001, &v1, err, sizeof err), HUB_SCHEMA_OK);
    hub_avro_encoder *enc1 = hub_avro_encoder_new(v1, err, sizeof err);
    assert_non_null(enc1);
    json_t *doc = json_loads(doc_text, 0, NULL);
    json_object_set_new(json_object_get(doc, "mother"), "ethnicity", json_string("01"));
    uint8_t *b1, *b2;
    size_t l1, l2;
    if (hub_avro_encode(enc1, doc, &b1, &l1, err, sizeof err) != 0) fail_msg("%s", err);
    /* the v2 encoder takes the v1 name through the alias */
    if (hub_avro_encode(f->enc, doc, &b2, &l2, err, sizeof err) != 0) fail_msg("%s", err);
    assert_int_equal(b1[4], 1001 & 0xff);

    json_t *out1, *out2;
    int32_t id;
    hub_reject why;
    assert_int_equal(hub_avro_decode(f->dec, b1, l1, &out1, &id, &why), HUB_DECODE_OK);
    assert_int_equal(id, 1001);
    assert_int_equal(hub_avro_decode(f->dec, b2, l2, &out2, &id, &why), HUB_DECODE_OK);
    assert_int_equal(id, 1002);
    free(b2);
    assert_string_equal(json_string_value(json_object_get(out1, "language")), "vi");
    assert_true(json_is_null(json_object_get(json_object_get(out1, "child"), "apgar_5min")));
    json_t *mother = json_object_get(out1, "mother");
    assert_string_equal(json_string_value(json_object_get(mother, "ethnic_group")), "01");
    assert_null(json_object_get(mother, "ethnicity"));
    assert_true(json_equal(out1, out2));
    json_decref(out1);
    json_decref(out2);

    /* a document naming a field twice (old and new name) is refused */
    json_object_set_new(json_object_get(doc, "mother"), "ethnic_group", json_string("02"));
    assert_int_equal(hub_avro_encode(f->enc, doc, &b2, &l2, err, sizeof err), -1);
    assert_string_equal(err, "mother.ethnic_group: given twice, also under its earlier name 'ethnicity'");
    /* version 1 does not know the new name */
    json_object_del(json_object_get(doc, "mother"), "ethnicity");
    assert_int_equal(hub_avro_encode(enc1, doc, &b2, &l2, err, sizeof err), -1);
    assert_string_equal(err, "mother: unknown field 'ethnic_group'");
    json_decref(doc);
    free(b1);
    hub_avro_encoder_destroy(enc1);
}

/* A refusal message quoting producer text is one line of valid UTF-8,
 * however long the text and wherever the cut falls. */
static void reject_messages_are_valid_utf8(void **state)
{
    (void)state;
    hub_reject why;
    char text[1200];
    for (size_t shift = 0; shift < 3; shift++) {
        size_t o = 0;
        for (; o < shift; o++) text[o] = 'x';
        while (o + 3 < sizeof text) {
            memcpy(text + o, "\xe1\xbb\x85", 3); /* ễ */
            o += 3;
        }
        text[o] = '\0';
        assert_int_equal(hub_reject_set(&why, "validation.test", "field: %s", text), -1);
        size_t len = strlen(why.message);
        assert_true(len < sizeof why.message);
        assert_true(len > sizeof why.message - 5);
        assert_true(hub_text_valid_utf8(why.message, len));
    }
    hub_reject_set(&why, "validation.test", "a\nb\xff\x1b[31m");
    assert_string_equal(why.message, "a?b??[31m");
    assert_string_equal(why.reason, "validation.test");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip_with_logical_types_and_defaults),
        cmocka_unit_test(encode_errors_name_the_field),
        cmocka_unit_test(decode_refusals_have_reasons),
        cmocka_unit_test(version_1_reads_as_version_2),
        cmocka_unit_test(reject_messages_are_valid_utf8),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
