/* The domain checks: civil dates, timestamps, the personal ID number,
 * provinces before and after 1 July 2025, ICD-10 codes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "hub_validate.h"

static void civil_dates(void **state)
{
    (void)state;
    assert_int_equal(hub_days_from_civil(1970, 1, 1), 0);
    assert_int_equal(hub_days_from_civil(2000, 3, 1), 11017);
    assert_int_equal(hub_days_from_civil(1969, 12, 31), -1);
    for (int64_t d = -40000; d < 60000; d += 37) {
        int y, m, dd;
        hub_civil_from_days(d, &y, &m, &dd);
        assert_int_equal(hub_days_from_civil(y, m, dd), d);
    }
    assert_true(hub_date_valid(2024, 2, 29));
    assert_false(hub_date_valid(2025, 2, 29));
    assert_false(hub_date_valid(1900, 2, 29)); /* not a leap year */
    assert_true(hub_date_valid(2000, 2, 29));
    assert_false(hub_date_valid(2025, 4, 31));
    int y, m, d;
    assert_true(hub_date_parse("2025-07-01", &y, &m, &d));
    assert_int_equal(y * 10000 + m * 100 + d, 20250701);
    assert_false(hub_date_parse("2025-7-01", &y, &m, &d));
    assert_false(hub_date_parse("2025-02-30", &y, &m, &d));
    assert_false(hub_date_parse("2025-07-01x", &y, &m, &d));
    assert_false(hub_date_parse("", &y, &m, &d));
}

static void timestamps(void **state)
{
    (void)state;
    int64_t ms;
    assert_true(hub_timestamp_parse("1970-01-01T00:00:00Z", &ms));
    assert_int_equal(ms, 0);
    assert_true(hub_timestamp_parse("2026-11-02T08:15:00+07:00", &ms));
    int64_t utc;
    assert_true(hub_timestamp_parse("2026-11-02T01:15:00.000Z", &utc));
    assert_int_equal(ms, utc);
    assert_true(hub_timestamp_parse("2026-11-02 01:15:00.5Z", &ms));
    assert_int_equal(ms, utc + 500);
    assert_false(hub_timestamp_parse("2026-11-02T01:15:00", &ms)); /* no offset */
    assert_false(hub_timestamp_parse("2026-13-02T01:15:00Z", &ms));
    assert_false(hub_timestamp_parse("2026-11-02T24:00:00Z", &ms));
    char out[32];
    hub_timestamp_format(utc + 7, out, sizeof out);
    assert_string_equal(out, "2026-11-02T01:15:00.007Z");
    hub_timestamp_format(-1, out, sizeof out);
    assert_string_equal(out, "1969-12-31T23:59:59.999Z");
}

static void ages(void **state)
{
    (void)state;
    int64_t born = hub_days_from_civil(2000, 2, 29);
    assert_int_equal(hub_age_years(born, hub_days_from_civil(2018, 2, 28)), 17);
    assert_int_equal(hub_age_years(born, hub_days_from_civil(2018, 3, 1)), 18);
    assert_int_equal(hub_age_years(born, born), 0);
    assert_int_equal(hub_age_years(born, born - 1), -1);
}

static void personal_ids(void **state)
{
    (void)state;
    char err[128];
    hub_sex sex;
    int year;
    assert_true(hub_pid_decode("079195012345", &sex, &year));
    assert_int_equal(sex, HUB_SEX_FEMALE);
    assert_int_equal(year, 1995);
    assert_true(hub_pid_decode("001203000001", &sex, &year));
    assert_int_equal(sex, HUB_SEX_MALE);
    assert_int_equal(year, 2003);
    assert_false(hub_pid_decode("07919501234", &sex, &year));

    assert_int_equal(hub_pid_check("079195012345", HUB_SEX_FEMALE, 1995, err, sizeof err), HUB_PID_OK);
    assert_int_equal(hub_pid_check("079195012345", HUB_SEX_UNKNOWN, 0, err, sizeof err), HUB_PID_OK);
    assert_int_equal(hub_pid_check("079195012345", HUB_SEX_MALE, 1995, err, sizeof err),
                     HUB_PID_SEX_MISMATCH);
    assert_null(strstr(err, "079195012345")); /* the reason never holds the ID */
    assert_int_equal(hub_pid_check("079195012345", HUB_SEX_FEMALE, 1996, err, sizeof err),
                     HUB_PID_YEAR_MISMATCH);
    assert_int_equal(hub_pid_check("07919501234a", HUB_SEX_UNKNOWN, 0, err, sizeof err), HUB_PID_FORMAT);
    assert_int_equal(hub_pid_check("0791950123456", HUB_SEX_UNKNOWN, 0, err, sizeof err), HUB_PID_FORMAT);
    assert_int_equal(hub_pid_check("003195012345", HUB_SEX_UNKNOWN, 0, err, sizeof err), HUB_PID_PLACE);
    assert_string_equal(hub_pid_result_name(HUB_PID_SEX_MISMATCH), "sex_mismatch");
}

static void provinces(void **state)
{
    (void)state;
    int n_legacy = 0, n_current = 0;
    char code[3];
    for (int i = 0; i < 100; i++) {
        snprintf(code, sizeof code, "%02d", i);
        if (hub_province_legacy_known(code)) {
            n_legacy++;
            /* every legacy province belongs to one of the 34 */
            assert_non_null(hub_province_current_name(hub_province_current_code(code)));
        }
        if (hub_province_current_name(code)) n_current++;
    }
    assert_int_equal(n_legacy, 63);
    assert_int_equal(n_current, 34);
    assert_string_equal(hub_province_legacy_name("02"), "Hà Giang");
    assert_string_equal(hub_province_current_code("02"), "08"); /* Hà Giang -> Tuyên Quang */
    assert_string_equal(hub_province_current_code("91"), "91"); /* Kiên Giang -> An Giang */
    assert_string_equal(hub_province_current_name("91"), "An Giang");
    assert_string_equal(hub_province_current_code("89"), "91");
    int64_t before = hub_days_from_civil(2025, 6, 30), after = hub_days_from_civil(2025, 7, 1);
    assert_true(hub_province_valid_on("02", before));
    assert_false(hub_province_valid_on("02", after));
    assert_true(hub_province_valid_on("08", after));
    assert_false(hub_province_valid_on("03", before));
    assert_false(hub_province_valid_on("1", before));
    assert_false(hub_province_valid_on(NULL, before));
}

static void icd10(void **state)
{
    (void)state;
    char out[8];
    assert_true(hub_icd10_normalize("i219", out, sizeof out));
    assert_string_equal(out, "I21.9");
    assert_true(hub_icd10_normalize("J18", out, sizeof out));
    assert_string_equal(out, "J18");
    assert_true(hub_icd10_normalize("C34.1", out, sizeof out));
    assert_string_equal(out, "C34.1");
    assert_false(hub_icd10_normalize("I2", out, sizeof out));
    assert_false(hub_icd10_normalize("121.9", out, sizeof out));
    assert_false(hub_icd10_normalize("I21.99", out, sizeof out));
    assert_int_equal(hub_icd10_chapter("A09"), 1);
    assert_int_equal(hub_icd10_chapter("C34.1"), 2);
    assert_int_equal(hub_icd10_chapter("D50"), 3);
    assert_int_equal(hub_icd10_chapter("I21.9"), 9);
    assert_int_equal(hub_icd10_chapter("R99"), 18);
    assert_int_equal(hub_icd10_chapter("S72.0"), 19);
    assert_int_equal(hub_icd10_chapter("V89.2"), 20);
    assert_string_equal(hub_icd10_chapter_roman(9), "IX");
    assert_true(hub_icd10_is_injury("T98"));
    assert_false(hub_icd10_is_injury("V01"));
    assert_true(hub_icd10_is_external("X59"));
    assert_true(hub_icd10_is_ill_defined("R54"));
    assert_false(hub_icd10_is_ill_defined("I21.9"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(civil_dates), cmocka_unit_test(timestamps), cmocka_unit_test(ages),
        cmocka_unit_test(personal_ids), cmocka_unit_test(provinces),   cmocka_unit_test(icd10),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
