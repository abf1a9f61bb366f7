/* The birth-certificate rules: what is refused, what is flagged, what the
 * registry row holds. The clock is fixed at 2026-11-20T00:00:00Z. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "birth_rules.h"
#include "rules_test.h"

#define NOW_MS 1795132800000LL /* 2026-11-20T00:00:00Z */

static const char *base =
    "{\"event_id\":\"e-1\",\"source_system\":\"his\",\"certificate_number\":\"GCS-1\","
    "\"facility\":{\"code\":\"79-BV-001\",\"name\":\"  Bệnh viện   Hùng Vương \"},"
    "\"issued_at\":\"2026-03-05T02:00:00.000Z\","
    "\"child\":{\"name\":\"Trần  Bảo\u00a0Ngọc\",\"sex\":\"FEMALE\",\"birth_time\":\"2026-03-04T17:30:00.000Z\","
    "\"place\":{\"kind\":\"HEALTH_FACILITY\",\"facility_code\":\"79-BV-001\",\"province_code\":\"79\","
    "\"commune_code\":null,\"address\":null},"
    "\"weight_grams\":3100,\"gestation_weeks\":39,\"plurality\":1,\"birth_order\":1},"
    "\"mother\":{\"name\":\"Nguye\u0302\u0303n Thị Hoa\",\"birth_date\":\"1995-06-15\","
    "\"personal_id\":\"079195000123\",\"ethnic_group\":\"01\",\"nationality\":\"VN\","
    "\"residence\":{\"province_code\":\"79\",\"commune_code\":\"26734\",\"address\":null}},"
    "\"father\":null}";

static json_t *doc(void) { return json_loads(base, 0, NULL); }

static void valid_certificate_maps_to_row(void **state)
{
    (void)state;
    json_t *d = doc(), *row;
    hub_reject why;
    assert_int_equal(birth_map(d, NOW_MS, &row, &why), 0);
    /* 17:30Z on the 4th is 00:30 on the 5th in Vietnam */
    assert_string_equal(json_string_value(json_object_get(row, "birth_date")), "2026-03-05");
    assert_string_equal(json_string_value(json_object_get(row, "mother_name")), "Nguyễn Thị Hoa");
    assert_string_equal(json_string_value(json_object_get(row, "mother_name_key")), "NGUYEN THI HOA");
    assert_string_equal(json_string_value(json_object_get(row, "child_name")), "Trần Bảo Ngọc");
    assert_string_equal(json_string_value(json_object_get(row, "facility_name")), "Bệnh viện Hùng Vương");
    /* version 2 of the schema calls it ethnic_group (ethnicity in version 1) */
    assert_string_equal(json_string_value(json_object_get(row, "mother_ethnicity")), "01");
    assert_int_equal(json_integer_value(json_object_get(row, "mother_age_at_birth")), 30);
    assert_string_equal(json_string_value(json_object_get(row, "mother_personal_id")), "079195000123");
    assert_string_equal(json_string_value(json_object_get(row, "place_province_code")), "79");
    /* The mother, named with her ID, is an identity fact for the person registry. */
    json_t *facts = json_object_get(row, "person_facts");
    assert_int_equal(json_array_size(facts), 1);
    json_t *f = json_array_get(facts, 0);
    assert_string_equal(json_string_value(json_object_get(f, "personal_id")), "079195000123");
    assert_string_equal(json_string_value(json_object_get(f, "role")), "mother");
    assert_string_equal(json_string_value(json_object_get(f, "kind")), "identity");
    assert_string_equal(json_string_value(json_object_get(f, "effective_date")), "2026-03-05");
    assert_string_equal(json_string_value(json_object_get(f, "birth_date")), "1995-06-15");
    assert_string_equal(json_string_value(json_object_get(f, "name_key")), "NGUYEN THI HOA");
    assert_int_equal(json_array_size(json_object_get(row, "reconcile")), 0);
    assert_false(has_flag(row, "weight_unusual"));
    assert_true(has_flag(row, "father_personal_id_missing") == false);
    /* the stored document carries the normalised names */
    assert_string_equal(json_string_value(at(json_object_get(row, "document"), "mother", "name")),
                        "Nguyễn Thị Hoa");
    json_decref(row);
    json_decref(d);
}

static void expect_refused(json_t *d, const char *reason)
{
    json_t *row = NULL;
    hub_reject why;
    assert_int_equal(birth_map(d, NOW_MS, &row, &why), -1);
    assert_null(row);
    assert_string_equal(why.reason, reason);
    /* a refusal message never holds the full ID */
    assert_null(strstr(why.message, "079195000123"));
    json_decref(d);
}

static void hard_rules_refuse(void **state)
{
    (void)state;
    json_t *d;

    d = doc();
    json_object_set_new(at(d, "child", NULL), "birth_time", json_string("2031-01-01T00:00:00Z"));
    json_object_set_new(d, "issued_at", json_string("2031-01-02T00:00:00Z"));
    expect_refused(d, "validation.future_date");

    d = doc();
    json_object_set_new(d, "issued_at", json_string("2026-03-01T00:00:00Z"));
    expect_refused(d, "validation.issued_before_birth");

    d = doc(); /* sex digit 0: a man born in the 1900s */
    json_object_set_new(at(d, "mother", NULL), "personal_id", json_string("079095000123"));
    expect_refused(d, "validation.personal_id");

    d = doc(); /* ID says 1996, birth date says 1995 */
    json_object_set_new(at(d, "mother", NULL), "personal_id", json_string("079196000123"));
    expect_refused(d, "validation.personal_id");

    d = doc(); /* mother aged 8 */
    json_object_set_new(at(d, "mother", NULL), "birth_date", json_string("2018-01-01"));
    json_object_set_new(at(d, "mother", NULL), "personal_id", json_null());
    expect_refused(d, "validation.mother_age");

    d = doc();
    json_object_set_new(at(d, "child", NULL), "weight_grams", json_integer(50));
    expect_refused(d, "validation.weight");

    d = doc();
    json_object_set_new(at(d, "child", NULL), "gestation_weeks", json_integer(60));
    expect_refused(d, "validation.gestation");

    d = doc();
    json_object_set_new(at(d, "child", "place"), "province_code", json_string("99"));
    expect_refused(d, "validation.province_code");

    d = doc();
    json_object_set_new(at(d, "child", NULL), "birth_order", json_integer(2));
    expect_refused(d, "validation.plurality");

    d = doc();
    json_object_set_new(at(d, "mother", NULL), "name", json_string("   "));
    expect_refused(d, "validation.name");
}

static void soft_rules_flag(void **state)
{
    (void)state;
    json_t *d = doc(), *row;
    hub_reject why;
    /* Ha Giang (02) no longer exists on 2026-03-05: kept, flagged. */
    json_object_set_new(at(d, "child", "place"), "province_code", json_string("02"));
    json_object_set_new(at(d, "child", NULL), "weight_grams", json_integer(450));
    json_object_set_new(at(d, "child", NULL), "name", json_null());
    json_object_set_new(at(d, "mother", NULL), "personal_id", json_null());
    assert_int_equal(birth_map(d, NOW_MS, &row, &why), 0);
    assert_true(has_flag(row, "child.place.province_code_retired"));
    assert_true(has_flag(row, "weight_unusual"));
    assert_true(has_flag(row, "child_name_missing"));
    assert_true(has_flag(row, "mother_personal_id_missing"));
    json_decref(row);
    json_decref(d);
}

/* `count` copies of the UTF-8 character `ch`. */
static json_t *repeated(const char *ch, size_t count)
{
    size_t n = strlen(ch);
    char *buf = malloc(n * count + 1);
    for (size_t i = 0; i < count; i++) memcpy(buf + i * n, ch, n);
    json_t *s = json_stringn(buf, n * count);
    free(buf);
    return s;
}

/* Text limits (hub_limits) come before every other rule; nothing is stored
 * cut or changed. */
static void text_limits_refuse(void **state)
{
    (void)state;
    json_t *d, *row;
    hub_reject why;

    /* A name of 100 characters whose match key is longer in bytes (ɐ, 2
     * bytes, upper-cases to Ɐ, 3 bytes) is registered as it is. */
    d = doc();
    json_object_set_new(json_object_get(d, "mother"), "name", repeated("\xc9\x90", 100));
    assert_int_equal(birth_map(d, NOW_MS, &row, &why), 0);
    assert_int_equal(json_string_length(json_object_get(row, "mother_name")), 200);
    assert_int_equal(json_string_length(json_object_get(row, "mother_name_key")), 300);
    json_decref(row);
    json_decref(d);
    /* One more character: refused, the message names the field and the
     * numbers, not the name. */
    d = doc();
    json_object_set_new(json_object_get(d, "mother"), "name", repeated("\xc9\x90", 101));
    assert_int_equal(birth_map(d, NOW_MS, &row, &why), -1);
    assert_string_equal(why.reason, "validation.text_length");
    assert_non_null(strstr(why.message, "mother.name: 101 characters, the limit is 100"));
    assert_null(strstr(why.message, "\xc9\x90"));
    json_decref(d);
    /* 100 characters written decomposed (Vietnamese as some systems send
     * it: 2 or 3 code points each) are 100 characters in NFC. */
    d = doc();
    json_object_set_new(json_object_get(d, "child"), "name", repeated("e\xcc\x82\xcc\x83", 100));
    assert_int_equal(birth_map(d, NOW_MS, &row, &why), 0);
    assert_int_equal(json_string_length(json_object_get(row, "child_name")), 300);
    json_decref(row);
    json_decref(d);

    /* A NUL inside a name would cut it silently: refused. */
    d = doc();
    json_object_set_new(json_object_get(d, "mother"), "name", json_stringn("Nguyễn\0Thị Hoa", 17));
    expect_refused(d, "validation.nul_character");
    /* Control characters: refused in names, line breaks allowed in
     * addresses, other controls nowhere. */
    d = doc();
    json_object_set_new(json_object_get(d, "mother"), "name", json_string("Nguyễn\x1b[2JThị"));
    expect_refused(d, "validation.control_character");
    d = doc();
    json_object_set_new(json_object_get(d, "child"), "name", json_string("Trần\nNgọc"));
    expect_refused(d, "validation.control_character");
    d = doc();
    json_object_set_new(at(d, "child", "place"), "address", json_string("Số 1\r\nPhường 2"));
    assert_int_equal(birth_map(d, NOW_MS, &row, &why), 0);
    json_decref(row);
    json_decref(d);
    d = doc();
    json_object_set_new(at(d, "child", "place"), "address", json_string("Số 1\xc2\x85"));
    expect_refused(d, "validation.control_character");

    /* A 10 MiB field. */
    d = doc();
    json_object_set_new(at(d, "child", "place"), "address", repeated("a", 10 << 20));
    expect_refused(d, "validation.text_length");
    d = doc();
    json_object_set_new(d, "certificate_number", repeated("9", 61));
    expect_refused(d, "validation.text_length");
}

static void apgar_is_0_to_10(void **state)
{
    (void)state;
    static const int bad[] = {-7, 11, -2147483647 - 1, 2147483647};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        json_t *d = doc();
        json_object_set_new(json_object_get(d, "child"), "apgar_5min", json_integer(bad[i]));
        expect_refused(d, "validation.apgar");
    }
    for (int score = 0; score <= 10; score += 10) {
        json_t *d = doc(), *row;
        hub_reject why;
        json_object_set_new(json_object_get(d, "child"), "apgar_5min", json_integer(score));
        assert_int_equal(birth_map(d, NOW_MS, &row, &why), 0);
        json_decref(row);
        json_decref(d);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_certificate_maps_to_row),
        cmocka_unit_test(hard_rules_refuse),
        cmocka_unit_test(soft_rules_flag),
        cmocka_unit_test(text_limits_refuse),
        cmocka_unit_test(apgar_is_0_to_10),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
