/* The civil-registration rules: what is refused, what is flagged, what the
 * registry row holds, for each kind of registration. The clock is fixed at
 * 2026-11-20T00:00:00Z (07:00 on the 20th in Vietnam). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "civil_rules.h"
#include "rules_test.h"

#define NOW_MS 1795132800000LL /* 2026-11-20T00:00:00Z */
#define ID_CHILD "015226000123"  /* a boy born 2026 */
#define ID_MOTHER "027195691832" /* a woman born 1995 */
#define ID_A "001092004871"      /* a man born 1992 */
#define ID_B "001195012364"      /* a woman born 1995 */

static const char birth[] =
    "{\"event_id\":\"cr-1\",\"source_system\":\"hotich-yb\","
    "\"office\":{\"commune_code\":\"15165\",\"name\":\" UBND  xã Minh Xuân\"},"
    "\"registration_number\":\"KS-01/2026-0412\",\"issued_at\":\"2026-11-05T02:15:00.000Z\","
    "\"kind\":\"BIRTH\",\"status\":\"REGISTERED\",\"registration_date\":\"2026-11-05\","
    "\"event_date\":\"2026-10-22\",\"late_registration\":false,"
    "\"persons\":[{\"role\":\"CHILD\",\"personal_id\":\"" ID_CHILD "\","
    "\"name\":\"Ho\u0302\u0300  Gia Dũng\",\"sex\":\"MALE\",\"birth_date\":\"2026-10-22\"},"
    "{\"role\":\"MOTHER\",\"personal_id\":\"" ID_MOTHER "\",\"name\":\"Phạm Mỹ Anh\","
    "\"sex\":\"FEMALE\",\"birth_date\":\"1995-09-02\"}],"
    "\"source_document\":{\"kind\":\"BIRTH_CERTIFICATE\",\"issuer_code\":\"BV15036\","
    "\"number\":\"GCS-0000001\"}}";

static const char marriage[] =
    "{\"event_id\":\"cr-4\",\"source_system\":\"hotich-hn\","
    "\"office\":{\"commune_code\":\"00004\",\"name\":\"UBND phường Ba Đình\"},"
    "\"registration_number\":\"KH-01/2026-0009\",\"issued_at\":\"2026-06-01T03:30:00.000Z\","
    "\"kind\":\"MARRIAGE\",\"status\":\"REGISTERED\",\"registration_date\":\"2026-06-01\","
    "\"event_date\":null,\"late_registration\":false,"
    "\"persons\":[{\"role\":\"SPOUSE\",\"personal_id\":\"" ID_A "\",\"name\":\"Đỗ Minh Quân\","
    "\"sex\":\"MALE\",\"birth_date\":\"1992-03-08\"},"
    "{\"role\":\"SPOUSE\",\"personal_id\":\"" ID_B "\",\"name\":\"Vũ Thu Trang\","
    "\"sex\":\"FEMALE\",\"birth_date\":\"1995-11-30\"}],\"source_document\":null}";

static json_t *doc(const char *text) { return json_loads(text, 0, NULL); }

static json_t *map_ok(json_t *d)
{
    json_t *row = NULL;
    hub_reject why = {{0}, {0}};
    if (civil_map(d, NOW_MS, &row, &why) != 0) fail_msg("refused: %s: %s", why.reason, why.message);
    assert_non_null(row);
    assert_true(json_is_array(json_object_get(row, "quality_flags")));
    return row;
}

static void expect_refused(json_t *d, const char *reason)
{
    json_t *row = NULL;
    hub_reject why = {{0}, {0}};
    if (civil_map(d, NOW_MS, &row, &why) != -1) fail_msg("accepted, expected %s", reason);
    assert_null(row);
    assert_string_equal(why.reason, reason);
    assert_true(why.message[0] != '\0');
    /* a refusal message never holds a full ID or a name */
    assert_null(strstr(why.message, ID_CHILD));
    assert_null(strstr(why.message, ID_MOTHER));
    assert_null(strstr(why.message, "Dũng"));
    assert_null(strstr(why.message, "Phạm"));
    json_decref(d);
}

static json_t *person(json_t *d, size_t i) { return json_array_get(json_object_get(d, "persons"), i); }

static void birth_maps_to_row(void **state)
{
    (void)state;
    json_t *d = doc(birth), *row = map_ok(d);
    assert_string_equal(str(row, "office_code"), "15165");
    assert_string_equal(str(row, "registration_number"), "KS-01/2026-0412");
    assert_string_equal(str(row, "kind"), "BIRTH");
    assert_string_equal(str(row, "status"), "REGISTERED");
    assert_string_equal(str(row, "registration_date"), "2026-11-05");
    assert_string_equal(str(row, "event_date"), "2026-10-22");
    assert_string_equal(str(row, "subject_personal_id"), ID_CHILD);
    assert_string_equal(str(row, "subject_birth_date"), "2026-10-22");
    assert_string_equal(str(row, "mother_personal_id"), ID_MOTHER);
    assert_null(json_object_get(row, "father_personal_id"));
    assert_string_equal(str(row, "source_kind"), "BIRTH_CERTIFICATE");
    assert_string_equal(str(row, "source_issuer"), "BV15036");
    assert_string_equal(str(row, "source_number"), "GCS-0000001");
    assert_false(json_is_true(json_object_get(row, "late_registration")));
    assert_int_equal(json_array_size(json_object_get(row, "quality_flags")), 0);
    /* names normalised in the document: NFC, single spaces */
    assert_string_equal(json_string_value(json_object_get(person(d, 0), "name")), "Hồ Gia Dũng");
    json_decref(row);
    json_decref(d);
}

static void marriage_and_divorce_name_two_spouses(void **state)
{
    (void)state;
    json_t *d = doc(marriage), *row = map_ok(d);
    assert_string_equal(str(row, "spouse_a_personal_id"), ID_A);
    assert_string_equal(str(row, "spouse_b_personal_id"), ID_B);
    assert_null(json_object_get(row, "subject_personal_id"));
    assert_false(has_flag(row, "source_document_missing")); /* a marriage has none */
    json_decref(row);
    json_decref(d);

    d = doc(marriage); /* a divorce recorded in the book, without its judgment */
    json_object_set_new(d, "kind", json_string("DIVORCE"));
    json_object_set_new(d, "event_date", json_string("2026-05-20"));
    row = map_ok(d);
    assert_true(has_flag(row, "source_document_missing"));
    json_decref(row);
    json_decref(d);

    d = doc(marriage); /* one spouse */
    json_array_remove(json_object_get(d, "persons"), 1);
    expect_refused(d, "validation.persons");

    d = doc(marriage); /* a marriage is not made from a document */
    json_object_set_new(d, "source_document",
                        json_pack("{s:s, s:s, s:s}", "kind", "COURT_JUDGMENT", "issuer_code", "TA01",
                                  "number", "1/2026"));
    expect_refused(d, "validation.source_document");
}

static void roles_fit_the_kind(void **state)
{
    (void)state;
    json_t *d = doc(birth); /* no child */
    json_array_remove(json_object_get(d, "persons"), 0);
    expect_refused(d, "validation.persons");

    d = doc(birth); /* a deceased in a birth */
    json_object_set_new(person(d, 1), "role", json_string("DECEASED"));
    expect_refused(d, "validation.persons");

    d = doc(birth); /* two mothers */
    json_array_append(json_object_get(d, "persons"), person(d, 1));
    expect_refused(d, "validation.persons");

    d = doc(birth); /* a death with the child's person as its deceased: refused for role */
    json_object_set_new(d, "kind", json_string("DEATH"));
    expect_refused(d, "validation.persons");

    d = doc(birth); /* the child's name is required, the mother's is not */
    json_object_set_new(person(d, 0), "name", json_null());
    expect_refused(d, "validation.name");
    d = doc(birth);
    json_object_set_new(person(d, 1), "name", json_null());
    json_t *row = map_ok(d);
    json_decref(row);
    json_decref(d);

    d = doc(birth); /* an ID that says a girl */
    json_object_set_new(person(d, 0), "personal_id", json_string("015326000123"));
    expect_refused(d, "validation.personal_id");
}

static void dates_are_checked(void **state)
{
    (void)state;
    json_t *d = doc(birth);
    json_object_set_new(d, "registration_date", json_string("2026-11-21"));
    expect_refused(d, "validation.future_date");

    d = doc(birth);
    json_object_set_new(d, "issued_at", json_string("2026-11-04T10:00:00.000Z"));
    expect_refused(d, "validation.issued_before_registration");

    d = doc(birth);
    json_object_set_new(d, "event_date", json_string("2026-11-06"));
    expect_refused(d, "validation.event_date");

    d = doc(birth); /* a birth needs its date */
    json_object_set_new(d, "event_date", json_null());
    expect_refused(d, "validation.event_date");

    d = doc(birth); /* the child's birth date is the event's */
    json_object_set_new(person(d, 0), "birth_date", json_string("2026-10-21"));
    expect_refused(d, "validation.event_date");

    d = doc(birth);
    json_object_set_new(d, "registration_date", json_string("1899-12-31"));
    json_object_set_new(d, "event_date", json_string("1899-12-01"));
    json_object_set_new(person(d, 0), "birth_date", json_string("1899-12-01"));
    json_object_set_new(person(d, 0), "personal_id", json_null());
    expect_refused(d, "validation.date");

    d = doc(birth);
    json_object_set_new(d, "registration_date", json_string("5 Nov 2026"));
    expect_refused(d, "validation.date");
}

static void office_and_source_are_checked(void **state)
{
    (void)state;
    json_t *d = doc(birth);
    json_object_set_new(json_object_get(d, "office"), "commune_code", json_string("1516"));
    expect_refused(d, "validation.office");

    d = doc(birth);
    json_object_set_new(json_object_get(d, "office"), "name", json_string("  "));
    expect_refused(d, "validation.office");

    d = doc(birth);
    json_object_set_new(json_object_get(d, "source_document"), "kind", json_string("DEATH_NOTICE"));
    expect_refused(d, "validation.source_document");

    d = doc(birth);
    json_object_set_new(json_object_get(d, "source_document"), "issuer_code",
                        json_string("BV/15036"));
    expect_refused(d, "validation.source_document");

    d = doc(birth); /* a birth registered without its certificate: kept, flagged */
    json_object_set_new(d, "source_document", json_null());
    json_t *row = map_ok(d);
    assert_true(has_flag(row, "source_document_missing"));
    assert_null(json_object_get(row, "source_kind"));
    json_decref(row);
    json_decref(d);
}

static void late_registration_is_flagged(void **state)
{
    (void)state;
    static const struct {
        const char *kind, *event, *registered;
        bool late, unstated, inconsistent;
    } cases[] = {
        {"BIRTH", "2026-09-06", "2026-11-05", false, false, false}, /* day 60 */
        {"BIRTH", "2026-09-05", "2026-11-05", false, true, false},  /* day 61 */
        {"BIRTH", "2026-09-05", "2026-11-05", true, false, false},
        {"BIRTH", "2026-10-22", "2026-11-05", true, false, true},
        {"DEATH", "2026-10-21", "2026-11-05", false, false, false}, /* day 15 */
        {"DEATH", "2026-10-20", "2026-11-05", false, true, false},  /* day 16 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        json_t *d = doc(birth);
        json_object_set_new(d, "kind", json_string(cases[i].kind));
        json_object_set_new(d, "event_date", json_string(cases[i].event));
        json_object_set_new(d, "registration_date", json_string(cases[i].registered));
        json_object_set_new(d, "late_registration", json_boolean(cases[i].late));
        json_array_remove(json_object_get(d, "persons"), 1);
        json_t *p = person(d, 0);
        json_object_set_new(p, "birth_date", json_string(cases[i].event));
        if (!strcmp(cases[i].kind, "DEATH")) {
            json_object_set_new(p, "role", json_string("DECEASED"));
            json_object_set_new(p, "birth_date", json_string("1950-01-01"));
            json_object_set_new(p, "personal_id", json_string("015050000123"));
            json_object_set_new(d, "source_document",
                                json_pack("{s:s, s:s, s:s}", "kind", "DEATH_NOTICE", "issuer_code",
                                          "BV15036", "number", "GBT-1"));
        }
        json_t *row = map_ok(d);
        if (has_flag(row, "late_registration_unstated") != cases[i].unstated ||
            has_flag(row, "late_registration_inconsistent") != cases[i].inconsistent)
            fail_msg("%s on %s registered %s (late %d): flags wrong", cases[i].kind,
                     cases[i].event, cases[i].registered, cases[i].late);
        json_decref(row);
        json_decref(d);
    }

    json_t *d = doc(birth); /* no ID for the child yet */
    json_object_set_new(person(d, 0), "personal_id", json_null());
    json_t *row = map_ok(d);
    assert_true(has_flag(row, "subject_personal_id_missing"));
    json_decref(row);
    json_decref(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(birth_maps_to_row),
        cmocka_unit_test(marriage_and_divorce_name_two_spouses),
        cmocka_unit_test(roles_fit_the_kind),
        cmocka_unit_test(dates_are_checked),
        cmocka_unit_test(office_and_source_are_checked),
        cmocka_unit_test(late_registration_is_flagged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
