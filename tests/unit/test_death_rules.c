/* The death-notice rules: what is refused, what is flagged, what the
 * registry row and the person facts hold. The clock is fixed at
 * 2026-11-20T00:00:00Z. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "death_rules.h"
#include "rules_test.h"

#define NOW_MS 1795132800000LL /* 2026-11-20T00:00:00Z */
#define PID "001050123456"     /* Hà Nội, man born in 1950 */

static const char *base =
    "{\"event_id\":\"e-1\",\"source_system\":\"his-01\",\"notice_number\":\"GBT-1\","
    "\"facility\":{\"code\":\"BV01001\",\"name\":\" Bệnh viện  Bạch Mai \"},"
    "\"issued_at\":\"2026-03-05T02:00:00.000Z\","
    "\"deceased\":{\"personal_id\":\"" PID "\",\"name\":\"Nguye\u0302\u0303n  Văn An\","
    "\"sex\":\"MALE\",\"birth_date\":\"1950-07-07\",\"age_years\":null,\"ethnicity\":\"01\","
    "\"nationality\":\"VN\",\"residence\":{\"province_code\":\"01\",\"commune_code\":\"00004\","
    "\"address\":null}},"
    "\"death_time\":\"2026-03-04T17:30:00.000Z\","
    "\"place\":{\"kind\":\"HEALTH_FACILITY\",\"facility_code\":\"BV01001\",\"province_code\":\"01\","
    "\"commune_code\":\"00007\",\"address\":null},"
    "\"part1\":[{\"text\":\"Sốc tim\",\"icd10\":\"R57.0\",\"interval\":\"2 giờ\"},"
    "{\"text\":\"Nhồi máu cơ tim cấp\",\"icd10\":\"i219\",\"interval\":\"1 ngày\"}],"
    "\"part2\":[{\"text\":\"Đái tháo đường type 2\",\"icd10\":\"E11.9\"}],"
    "\"underlying_cause\":\"I21.9\",\"manner\":\"DISEASE\",\"injury\":null,"
    "\"surgery_within_4_weeks\":null,\"autopsy\":false,\"pregnancy\":\"NOT_APPLICABLE\","
    "\"perinatal\":null,\"certifier\":{\"name\":\"Lê Minh\",\"title\":\"Bác sĩ\","
    "\"license_number\":null}}";

static json_t *doc(void)
{
    json_error_t err;
    json_t *d = json_loads(base, 0, &err);
    if (!d) fail_msg("base document: %s", err.text);
    return d;
}

static json_t *line(json_t *d, const char *part, size_t i)
{
    return json_array_get(json_object_get(d, part), i);
}

static json_t *map_ok(json_t *d)
{
    json_t *row = NULL;
    hub_reject why = {{0}, {0}};
    if (death_map(d, NOW_MS, &row, &why) != 0) fail_msg("refused: %s: %s", why.reason, why.message);
    assert_non_null(row);
    return row;
}

/* Maps d (consumed), expects the reason and, when given, a message part. */
static void expect_refused(json_t *d, const char *reason, const char *message_part)
{
    json_t *row = NULL;
    hub_reject why = {{0}, {0}};
    int rc = death_map(d, NOW_MS, &row, &why);
    if (rc != -1) fail_msg("accepted, expected %s", reason);
    assert_null(row);
    assert_string_equal(why.reason, reason);
    if (message_part && !strstr(why.message, message_part))
        fail_msg("message '%s' does not name '%s'", why.message, message_part);
    /* a refusal message never holds the full ID or the name */
    assert_null(strstr(why.message, PID));
    assert_null(strstr(why.message, "Văn An"));
    json_decref(d);
}

static void valid_notice_maps_to_row(void **state)
{
    (void)state;
    json_t *d = doc(), *row = map_ok(d);
    /* 17:30Z on the 4th is 00:30 on the 5th in Vietnam */
    assert_string_equal(str(row, "death_date"), "2026-03-05");
    assert_string_equal(str(row, "death_time"), "2026-03-04T17:30:00.000Z");
    assert_string_equal(str(row, "issued_at"), "2026-03-05T02:00:00.000Z");
    assert_string_equal(str(row, "facility_code"), "BV01001");
    assert_string_equal(str(row, "notice_number"), "GBT-1");
    assert_string_equal(str(row, "facility_name"), "Bệnh viện Bạch Mai");
    assert_string_equal(str(row, "event_id"), "e-1");
    assert_string_equal(str(row, "source_system"), "his-01");
    assert_string_equal(str(row, "deceased_personal_id"), PID);
    assert_string_equal(str(row, "deceased_name"), "Nguyễn Văn An");
    assert_string_equal(str(row, "deceased_name_key"), "NGUYEN VAN AN");
    assert_string_equal(str(row, "deceased_sex"), "MALE");
    assert_string_equal(str(row, "deceased_birth_date"), "1950-07-07");
    assert_int_equal(json_integer_value(json_object_get(row, "age_years")), 75);
    assert_string_equal(str(row, "place_kind"), "HEALTH_FACILITY");
    assert_string_equal(str(row, "place_facility_code"), "BV01001");
    assert_string_equal(str(row, "place_province_code"), "01");
    assert_string_equal(str(row, "place_commune_code"), "00007");
    assert_string_equal(str(row, "residence_province_code"), "01");
    assert_string_equal(str(row, "residence_commune_code"), "00004");
    assert_string_equal(str(row, "underlying_cause"), "I21.9");
    assert_string_equal(str(row, "underlying_category"), "I21");
    assert_string_equal(str(row, "underlying_chapter"), "IX");
    assert_string_equal(str(row, "manner"), "DISEASE");
    assert_string_equal(str(row, "pregnancy"), "NOT_APPLICABLE");
    assert_int_equal(json_array_size(json_object_get(row, "quality_flags")), 0);

    /* the deceased, named with an ID, is a death fact for the registry */
    json_t *facts = json_object_get(row, "person_facts");
    assert_int_equal(json_array_size(facts), 1);
    json_t *f = json_array_get(facts, 0);
    assert_string_equal(str(f, "personal_id"), PID);
    assert_string_equal(str(f, "role"), "deceased");
    assert_string_equal(str(f, "kind"), "death");
    assert_string_equal(str(f, "effective_date"), "2026-03-05");
    assert_string_equal(str(f, "sex"), "MALE");
    assert_string_equal(str(f, "birth_date"), "1950-07-07");
    assert_string_equal(str(f, "name"), "Nguyễn Văn An");
    assert_string_equal(str(f, "name_key"), "NGUYEN VAN AN");
    assert_true(json_is_array(json_object_get(row, "reconcile")));
    assert_int_equal(json_array_size(json_object_get(row, "reconcile")), 0);

    /* the stored document carries the normalised name and codes */
    json_t *stored = json_object_get(row, "document");
    assert_string_equal(json_string_value(at(stored, "deceased", "name")), "Nguyễn Văn An");
    assert_string_equal(json_string_value(at(line(stored, "part1", 1), "icd10", NULL)), "I21.9");
    json_decref(row);
    json_decref(d);
}

static void minimal_fact_fields(void **state)
{
    (void)state;
    /* no name, no date of birth (age given), sex undetermined */
    json_t *d = doc();
    json_object_set_new(at(d, "deceased", NULL), "name", json_null());
    json_object_set_new(at(d, "deceased", NULL), "birth_date", json_null());
    json_object_set_new(at(d, "deceased", NULL), "age_years", json_integer(75));
    json_object_set_new(at(d, "deceased", NULL), "sex", json_string("UNDETERMINED"));
    json_t *row = map_ok(d);
    json_t *f = json_array_get(json_object_get(row, "person_facts"), 0);
    assert_string_equal(str(f, "personal_id"), PID);
    assert_string_equal(str(f, "effective_date"), "2026-03-05");
    assert_null(json_object_get(f, "sex"));
    assert_null(json_object_get(f, "birth_date"));
    assert_null(json_object_get(f, "name"));
    assert_null(json_object_get(f, "name_key"));
    assert_int_equal(json_integer_value(json_object_get(row, "age_years")), 75);
    assert_null(json_object_get(row, "deceased_birth_date"));
    assert_false(has_flag(row, "age_inconsistent")); /* the ID says 1950: 75 fits */
    json_decref(row);
    json_decref(d);
}

static void unidentified_deceased(void **state)
{
    (void)state;
    json_t *d = doc();
    json_object_del(at(d, "deceased", NULL), "personal_id");
    json_t *row = map_ok(d);
    assert_true(has_flag(row, "personal_id_missing"));
    assert_null(json_object_get(row, "deceased_personal_id"));
    json_t *facts = json_object_get(row, "person_facts");
    assert_true(json_is_array(facts));
    assert_int_equal(json_array_size(facts), 0);
    json_t *items = json_object_get(row, "reconcile");
    assert_int_equal(json_array_size(items), 1);
    json_t *it = json_array_get(items, 0);
    assert_string_equal(str(it, "reason"), "deceased_unidentified");
    assert_string_equal(str(it, "detail"), "death notice without a personal ID");
    assert_null(json_object_get(it, "personal_id"));
    json_decref(row);
    json_decref(d);
}

static void hard_rules_refuse(void **state)
{
    (void)state;
    json_t *d;

    d = doc();
    json_object_set_new(at(d, "facility", NULL), "name", json_string("  "));
    expect_refused(d, "validation.name", "facility.name");

    d = doc();
    json_object_set_new(d, "death_time", json_string("04/03/2026"));
    expect_refused(d, "validation.date", "death_time");

    d = doc();
    json_object_del(d, "issued_at");
    expect_refused(d, "validation.date", "issued_at");

    d = doc(); /* died tomorrow */
    json_object_set_new(d, "death_time", json_string("2026-11-21T00:00:00.000Z"));
    json_object_set_new(d, "issued_at", json_string("2026-11-21T01:00:00.000Z"));
    expect_refused(d, "validation.future_date", "death_time");

    d = doc(); /* issued in 10 minutes: beyond the skew */
    json_object_set_new(d, "issued_at", json_string("2026-11-20T00:10:00.000Z"));
    expect_refused(d, "validation.future_date", "issued_at");

    d = doc();
    json_object_set_new(d, "issued_at", json_string("2026-03-04T17:00:00.000Z"));
    expect_refused(d, "validation.issued_before_death", NULL);

    d = doc(); /* before 1900 (local date) */
    json_object_set_new(d, "death_time", json_string("1899-12-31T16:00:00.000Z"));
    json_object_set_new(at(d, "deceased", NULL), "birth_date", json_string("1850-01-01"));
    json_object_del(at(d, "deceased", NULL), "personal_id");
    expect_refused(d, "validation.date", "1900");

    d = doc();
    json_object_set_new(at(d, "deceased", NULL), "birth_date", json_string("2026-03-06"));
    json_object_del(at(d, "deceased", NULL), "personal_id");
    expect_refused(d, "validation.death_before_birth", "birth_date");

    d = doc();
    json_object_set_new(at(d, "deceased", NULL), "birth_date", json_string("1950-02-30"));
    expect_refused(d, "validation.date", "deceased.birth_date");

    d = doc();
    json_object_set_new(at(d, "deceased", NULL), "age_years", json_integer(131));
    json_object_set_new(at(d, "deceased", NULL), "birth_date", json_null());
    expect_refused(d, "validation.age", "age_years");

    d = doc();
    json_object_set_new(at(d, "deceased", NULL), "age_years", json_integer(-1));
    expect_refused(d, "validation.age", "age_years");

    d = doc(); /* 145 years from the date of birth */
    json_object_set_new(at(d, "deceased", NULL), "birth_date", json_string("1880-07-07"));
    json_object_del(at(d, "deceased", NULL), "personal_id");
    expect_refused(d, "validation.age", "birth_date");

    d = doc(); /* sex digit 1: a woman */
    json_object_set_new(at(d, "deceased", NULL), "personal_id", json_string("001150123456"));
    expect_refused(d, "validation.personal_id", "deceased.personal_id");

    d = doc(); /* the ID says 1951 */
    json_object_set_new(at(d, "deceased", NULL), "personal_id", json_string("001051123456"));
    expect_refused(d, "validation.personal_id", NULL);

    d = doc();
    json_object_set_new(at(d, "deceased", NULL), "personal_id", json_string("00105012345"));
    expect_refused(d, "validation.personal_id", NULL);

    d = doc();
    json_object_set_new(at(d, "place", NULL), "province_code", json_string("99"));
    expect_refused(d, "validation.province_code", "place.province_code");

    d = doc();
    json_object_set_new(at(d, "deceased", "residence"), "province_code", json_string("03"));
    expect_refused(d, "validation.province_code", "deceased.residence.province_code");
}

static void cause_rules_refuse(void **state)
{
    (void)state;
    json_t *d;

    d = doc();
    json_object_set_new(line(d, "part1", 1), "icd10", json_string("I21.99"));
    expect_refused(d, "validation.icd10", "part1[1].icd10 'I21.99'");

    d = doc(); /* well shaped, in no chapter */
    json_object_set_new(line(d, "part1", 0), "icd10", json_string("E95"));
    expect_refused(d, "validation.icd10", "part1[0].icd10");

    d = doc();
    json_object_set_new(line(d, "part2", 0), "icd10", json_string("XYZ"));
    expect_refused(d, "validation.icd10", "part2[0].icd10");

    d = doc();
    json_object_set_new(d, "underlying_cause", json_string("I 21"));
    expect_refused(d, "validation.icd10", "underlying_cause");

    d = doc(); /* a personal ID typed into a code field is not echoed */
    json_object_set_new(line(d, "part1", 0), "icd10", json_string(PID));
    expect_refused(d, "validation.icd10", "not shown");

    d = doc();
    json_array_clear(json_object_get(d, "part1"));
    expect_refused(d, "validation.cause_chain", "0 lines");

    d = doc();
    for (int i = 0; i < 3; i++)
        json_array_append_new(json_object_get(d, "part1"),
                              json_pack("{s:s, s:s}", "text", "Tăng huyết áp", "icd10", "I10"));
    expect_refused(d, "validation.cause_chain", "5 lines");

    d = doc(); /* B20 is nowhere on the certificate */
    json_object_set_new(d, "underlying_cause", json_string("B20"));
    expect_refused(d, "validation.underlying_cause", "B20");

    d = doc(); /* I22 is another category than I21 */
    json_object_set_new(d, "underlying_cause", json_string("I22.0"));
    expect_refused(d, "validation.underlying_cause", NULL);

    d = doc(); /* an external cause that only the injury's text names */
    json_object_set_new(d, "manner", json_string("ACCIDENT"));
    json_object_set_new(d, "injury", json_pack("{s:s, s:s}", "date", "2026-03-04",
                                               "external_cause", "Ngã cầu thang"));
    json_object_set_new(d, "underlying_cause", json_string("W10"));
    expect_refused(d, "validation.underlying_cause", "W10");
}

static void underlying_cause_matching(void **state)
{
    (void)state;
    json_t *d, *row;

    d = doc(); /* same category, 4th character dropped */
    json_object_set_new(d, "underlying_cause", json_string("i21"));
    row = map_ok(d);
    assert_string_equal(str(row, "underlying_cause"), "I21");
    assert_string_equal(str(row, "underlying_category"), "I21");
    assert_string_equal(json_string_value(at(json_object_get(row, "document"), "underlying_cause", NULL)), "I21");
    json_decref(row);
    json_decref(d);

    d = doc(); /* from Part II */
    json_object_set_new(d, "underlying_cause", json_string("E11.9"));
    row = map_ok(d);
    assert_string_equal(str(row, "underlying_chapter"), "IV");
    json_decref(row);
    json_decref(d);

    d = doc(); /* injury in Part I, external cause in the injury details */
    json_object_set_new(line(d, "part1", 1), "icd10", json_string("S06.9"));
    json_object_set_new(d, "manner", json_string("ACCIDENT"));
    json_object_set_new(d, "injury", json_pack("{s:s, s:s, s:s}", "date", "2026-03-04",
                                               "external_cause", "v892", "description",
                                               "Tai nạn xe máy"));
    json_object_set_new(d, "underlying_cause", json_string("V89.2"));
    row = map_ok(d);
    assert_string_equal(str(row, "underlying_cause"), "V89.2");
    assert_string_equal(str(row, "underlying_category"), "V89");
    assert_string_equal(str(row, "underlying_chapter"), "XX");
    assert_string_equal(str(row, "manner"), "ACCIDENT");
    assert_false(has_flag(row, "injury_details_missing"));
    assert_false(has_flag(row, "underlying_cause_injury"));
    assert_string_equal(json_string_value(at(at(json_object_get(row, "document"), "injury", NULL),
                                             "external_cause", NULL)),
                        "V89.2");
    json_decref(row);
    json_decref(d);
}

static void soft_rules_flag(void **state)
{
    (void)state;
    json_t *d, *row;

    d = doc();
    json_object_set_new(d, "underlying_cause", json_null());
    row = map_ok(d);
    assert_true(has_flag(row, "underlying_cause_missing"));
    assert_null(json_object_get(row, "underlying_cause"));
    assert_null(json_object_get(row, "underlying_category"));
    json_decref(row);
    json_decref(d);

    d = doc(); /* blank codes are "not coded", stored as null */
    json_object_set_new(d, "underlying_cause", json_string(" "));
    json_object_set_new(line(d, "part1", 0), "icd10", json_string(""));
    row = map_ok(d);
    assert_true(has_flag(row, "underlying_cause_missing"));
    assert_true(json_is_null(at(line(json_object_get(row, "document"), "part1", 0), "icd10", NULL)));
    assert_true(json_is_null(at(json_object_get(row, "document"), "underlying_cause", NULL)));
    json_decref(row);
    json_decref(d);

    d = doc();
    json_object_set_new(line(d, "part1", 1), "icd10", json_string("R99"));
    json_object_set_new(d, "underlying_cause", json_string("R99"));
    row = map_ok(d);
    assert_true(has_flag(row, "underlying_cause_ill_defined"));
    assert_string_equal(str(row, "underlying_chapter"), "XVIII");
    json_decref(row);
    json_decref(d);

    d = doc(); /* injury selected as underlying; external manner, no details */
    json_object_set_new(line(d, "part1", 1), "icd10", json_string("T71"));
    json_object_set_new(d, "underlying_cause", json_string("T71"));
    json_object_set_new(d, "manner", json_string("ASSAULT"));
    row = map_ok(d);
    assert_true(has_flag(row, "underlying_cause_injury"));
    assert_true(has_flag(row, "injury_details_missing"));
    json_decref(row);
    json_decref(d);

    d = doc(); /* injury details present, but the external cause is text */
    json_object_set_new(d, "manner", json_string("INTENTIONAL_SELF_HARM"));
    json_object_set_new(d, "injury", json_pack("{s:s}", "external_cause", "Treo cổ"));
    row = map_ok(d);
    assert_false(has_flag(row, "injury_details_missing"));
    assert_true(has_flag(row, "injury_external_cause_invalid"));
    json_decref(row);
    json_decref(d);

    d = doc(); /* Ha Giang (02) no longer exists in 2026: kept, flagged */
    json_object_set_new(at(d, "place", NULL), "province_code", json_string("02"));
    json_object_set_new(at(d, "deceased", "residence"), "province_code", json_string("02"));
    json_object_set_new(at(d, "place", NULL), "facility_code", json_null());
    row = map_ok(d);
    assert_true(has_flag(row, "place.province_code_retired"));
    assert_true(has_flag(row, "deceased.residence.province_code_retired"));
    assert_true(has_flag(row, "place_facility_code_missing"));
    json_decref(row);
    json_decref(d);

    d = doc(); /* 60 given, 75 from the date of birth */
    json_object_set_new(at(d, "deceased", NULL), "age_years", json_integer(60));
    row = map_ok(d);
    assert_true(has_flag(row, "age_inconsistent"));
    assert_int_equal(json_integer_value(json_object_get(row, "age_years")), 60);
    json_decref(row);
    json_decref(d);

    d = doc(); /* 74 given, 75 computed: within a year */
    json_object_set_new(at(d, "deceased", NULL), "age_years", json_integer(74));
    row = map_ok(d);
    assert_false(has_flag(row, "age_inconsistent"));
    json_decref(row);
    json_decref(d);

    d = doc(); /* no date of birth; the ID's 1950 does not fit 40 years */
    json_object_set_new(at(d, "deceased", NULL), "birth_date", json_null());
    json_object_set_new(at(d, "deceased", NULL), "age_years", json_integer(40));
    row = map_ok(d);
    assert_true(has_flag(row, "age_inconsistent"));
    json_decref(row);
    json_decref(d);

    d = doc(); /* a maternal cause for a man */
    json_object_set_new(line(d, "part1", 1), "icd10", json_string("O72.1"));
    json_object_set_new(d, "underlying_cause", json_string("O72.1"));
    row = map_ok(d);
    assert_true(has_flag(row, "maternal_cause_inconsistent"));
    assert_string_equal(str(row, "underlying_chapter"), "XV");
    json_decref(row);
    json_decref(d);

    d = doc(); /* perinatal details outside plausible values */
    json_object_set_new(d, "perinatal",
                        json_pack("{s:b, s:i, s:i, s:n, s:i}", "stillbirth", 0, "gestation_weeks",
                                  50, "birth_weight_grams", 150, "multiple_pregnancy",
                                  "mother_age_years", 70));
    row = map_ok(d);
    assert_true(has_flag(row, "perinatal_gestation_implausible"));
    assert_true(has_flag(row, "perinatal_weight_implausible"));
    assert_true(has_flag(row, "perinatal_mother_age_implausible"));
    json_decref(row);
    json_decref(d);

    d = doc(); /* plausible perinatal details: no flag */
    json_object_set_new(d, "perinatal",
                        json_pack("{s:b, s:i, s:i}", "stillbirth", 0, "gestation_weeks", 32,
                                  "birth_weight_grams", 1600));
    row = map_ok(d);
    assert_int_equal(json_array_size(json_object_get(row, "quality_flags")), 0);
    json_decref(row);
    json_decref(d);
}

static void maternal_death(void **state)
{
    (void)state;
    json_t *d = doc();
    json_t *dec = at(d, "deceased", NULL);
    json_object_set_new(dec, "sex", json_string("FEMALE"));
    json_object_set_new(dec, "birth_date", json_string("1994-06-12"));
    json_object_set_new(dec, "personal_id", json_string("048194590708"));
    json_object_set_new(line(d, "part1", 1), "icd10", json_string("O72.1"));
    json_object_set_new(d, "underlying_cause", json_string("O72.1"));
    json_object_set_new(d, "pregnancy", json_string("WITHIN_42_DAYS"));
    json_t *row = map_ok(d);
    assert_false(has_flag(row, "maternal_cause_inconsistent"));
    assert_string_equal(str(row, "pregnancy"), "WITHIN_42_DAYS");
    assert_string_equal(str(json_array_get(json_object_get(row, "person_facts"), 0), "sex"),
                        "FEMALE");
    assert_int_equal(json_integer_value(json_object_get(row, "age_years")), 31);
    json_decref(row);
    json_decref(d);
}

/* Numbers without a range of their own and text limits (hub_limits). */
static void ranges_and_limits_refuse(void **state)
{
    (void)state;
    json_t *d;
    static const char *const fields[] = {"gestation_weeks", "birth_weight_grams",
                                         "mother_age_years"};
    static const long long bad[] = {-7, 100000, -2147483647LL - 1};
    for (size_t f = 0; f < 3; f++) {
        for (size_t b = 0; b < 3; b++) {
            d = doc();
            json_object_set_new(d, "perinatal", json_pack("{s:I}", fields[f], bad[b]));
            expect_refused(d, "validation.perinatal", fields[f]);
        }
    }
    d = doc(); /* implausible but possible: kept with a flag */
    json_object_set_new(d, "perinatal", json_pack("{s:i}", "gestation_weeks", 48));
    json_t *row = map_ok(d);
    assert_true(has_flag(row, "perinatal_gestation_implausible"));
    json_decref(row);
    json_decref(d);

    d = doc(); /* an injury after the death */
    json_object_set_new(d, "injury", json_pack("{s:s}", "date", "2026-03-06"));
    expect_refused(d, "validation.injury_date", "injury.date");
    d = doc();
    json_object_set_new(d, "injury", json_pack("{s:s}", "date", "2026-02-30"));
    expect_refused(d, "validation.injury_date", NULL);

    d = doc(); /* more Part II lines than any form has */
    for (int i = 0; i < 20; i++)
        json_array_append_new(json_object_get(d, "part2"),
                              json_pack("{s:s, s:s}", "text", "Tăng huyết áp", "icd10", "I10"));
    expect_refused(d, "validation.item_count", "part2: 21 items, the limit is 20");

    d = doc();
    json_object_set_new(json_object_get(d, "certifier"), "title",
                        json_string("Bác sĩ\x7f"));
    expect_refused(d, "validation.control_character", "certifier.title");
    d = doc(); /* free text keeps its line breaks, as sent */
    json_object_set_new(line(d, "part1", 0), "text", json_string("Sốc tim\nsau mổ"));
    row = map_ok(d);
    assert_string_equal(json_string_value(at(json_array_get(json_object_get(json_object_get(row, "document"), "part1"), 0), "text", NULL)),
                        "Sốc tim\nsau mổ");
    json_decref(row);
    json_decref(d);
    d = doc();
    json_object_set_new(json_object_get(d, "deceased"), "name", json_stringn("Lê\0Văn", 8));
    expect_refused(d, "validation.nul_character", "deceased.name");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_notice_maps_to_row),
        cmocka_unit_test(minimal_fact_fields),
        cmocka_unit_test(unidentified_deceased),
        cmocka_unit_test(hard_rules_refuse),
        cmocka_unit_test(cause_rules_refuse),
        cmocka_unit_test(underlying_cause_matching),
        cmocka_unit_test(soft_rules_flag),
        cmocka_unit_test(maternal_death),
        cmocka_unit_test(ranges_and_limits_refuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
