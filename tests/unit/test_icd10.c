/* ICD-10 codes: the accepted spellings, the refused shapes, every chapter's
 * first and last category and the categories between chapters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "hub_icd10.h"

static void normalizes_spellings(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } ok[] = {
        {"I21.9", "I21.9"}, {"I219", "I21.9"}, {"i21.9", "I21.9"}, {"i219", "I21.9"},
        {"A00", "A00"},     {"r99", "R99"},    {" J18.0 ", "J18.0"}, {"\tU07.1\n", "U07.1"},
        {"z99.9", "Z99.9"},
    };
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        char out[HUB_ICD10_SIZE];
        assert_true(hub_icd10_normalize(ok[i].in, out, sizeof out));
        assert_string_equal(out, ok[i].out);
    }
}

static void refuses_bad_shapes(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",        "   ",     "I",       "I2",      "I21.",   "I21.99", "I2199",  "I21.X",
        "T36.X",   "I21X",    "121.9",   "II1.9",   "I2A",    ".I219",  "I.219",  "I2.19",
        "I21..9",  "I21 .9",  "I 21.9",  "I21-9",   "I21,9",  "A17.0+", "G01*",   "S72.00",
        "Đ21",     "I21.9.",  "I21.9a",  "\xc3\x80" "21",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char out[HUB_ICD10_SIZE] = "keep";
        if (hub_icd10_normalize(bad[i], out, sizeof out)) fail_msg("accepted '%s'", bad[i]);
        assert_string_equal(out, "keep");
    }
    char out[HUB_ICD10_SIZE], small[5];
    assert_false(hub_icd10_normalize(NULL, out, sizeof out));
    assert_false(hub_icd10_normalize("I21.9", small, sizeof small));
}

static void chapter_boundaries(void **state)
{
    (void)state;
    /* first and last category of each chapter, WHO ICD-10 2019 */
    static const struct {
        const char *lo, *hi, *roman;
    } ch[] = {
        {"A00", "B99", "I"},    {"C00", "D48.9", "II"}, {"D50", "D89.9", "III"},
        {"E00", "E90", "IV"},   {"F00", "F99", "V"},    {"G00", "G99.8", "VI"},
        {"H00", "H59.9", "VII"}, {"H60", "H95.9", "VIII"}, {"I00", "I99", "IX"},
        {"J00", "J99.8", "X"},  {"K00", "K93.8", "XI"}, {"L00", "L99.8", "XII"},
        {"M00", "M99.9", "XIII"}, {"N00", "N99.9", "XIV"}, {"O00", "O99.8", "XV"},
        {"P00", "P96.9", "XVI"}, {"Q00", "Q99.9", "XVII"}, {"R00", "R99", "XVIII"},
        {"S00", "T98.3", "XIX"}, {"V01", "Y98", "XX"},  {"Z00", "Z99.9", "XXI"},
        {"U00", "U99", "XXII"},
    };
    for (size_t i = 0; i < sizeof ch / sizeof *ch; i++) {
        int n = (int)i + 1;
        assert_int_equal(hub_icd10_chapter(ch[i].lo), n);
        assert_int_equal(hub_icd10_chapter(ch[i].hi), n);
        assert_string_equal(hub_icd10_chapter_roman(n), ch[i].roman);
    }
    /* inside the ranges that span two letters or split one */
    assert_int_equal(hub_icd10_chapter("B20"), 1);
    assert_int_equal(hub_icd10_chapter("C99"), 2);
    assert_int_equal(hub_icd10_chapter("D00"), 2);
    assert_int_equal(hub_icd10_chapter("T00"), 19);
    assert_int_equal(hub_icd10_chapter("W00"), 20);
    assert_int_equal(hub_icd10_chapter("X99"), 20);
    assert_int_equal(hub_icd10_chapter("U07.1"), 22);
    /* between the chapters: well shaped, no chapter */
    static const char *const none[] = {"D49", "D49.9", "D90", "E91", "E99", "H96", "H99",
                                       "K94", "K99", "P97", "P99", "T99", "V00", "Y99"};
    for (size_t i = 0; i < sizeof none / sizeof *none; i++)
        if (hub_icd10_chapter(none[i]) != 0) fail_msg("%s has a chapter", none[i]);
    assert_int_equal(hub_icd10_chapter(NULL), 0);
    assert_int_equal(hub_icd10_chapter("I2"), 0);
    assert_string_equal(hub_icd10_chapter_roman(0), "?");
    assert_string_equal(hub_icd10_chapter_roman(23), "?");
}

static void predicates(void **state)
{
    (void)state;
    assert_true(hub_icd10_is_injury("S00"));
    assert_true(hub_icd10_is_injury("S72.0"));
    assert_true(hub_icd10_is_injury("T98.3"));
    assert_false(hub_icd10_is_injury("R99"));
    assert_false(hub_icd10_is_injury("T99"));
    assert_false(hub_icd10_is_injury("V01"));

    assert_true(hub_icd10_is_external("V01"));
    assert_true(hub_icd10_is_external("W19"));
    assert_true(hub_icd10_is_external("X68"));
    assert_true(hub_icd10_is_external("Y98"));
    assert_false(hub_icd10_is_external("V00"));
    assert_false(hub_icd10_is_external("Y99"));
    assert_false(hub_icd10_is_external("T98"));

    assert_true(hub_icd10_is_ill_defined("R00"));
    assert_true(hub_icd10_is_ill_defined("R99"));
    assert_false(hub_icd10_is_ill_defined("Q99.9"));
    assert_false(hub_icd10_is_ill_defined("S00"));

    assert_true(hub_icd10_is_maternal("O00"));
    assert_true(hub_icd10_is_maternal("O72.1"));
    assert_true(hub_icd10_is_maternal("O99.8"));
    assert_false(hub_icd10_is_maternal("N99"));
    assert_false(hub_icd10_is_maternal("P00"));
    assert_false(hub_icd10_is_maternal("A34"));

    assert_false(hub_icd10_is_injury(NULL));
    assert_false(hub_icd10_is_maternal(""));
}

static void parse_and_categories(void **state)
{
    (void)state;
    char out[HUB_ICD10_SIZE], err[128], cat[4];
    assert_int_equal(hub_icd10_parse("w19", out, sizeof out, err, sizeof err), HUB_ICD10_OK);
    assert_string_equal(out, "W19");
    assert_string_equal(err, "");
    assert_int_equal(hub_icd10_parse("I21.99", out, sizeof out, err, sizeof err), HUB_ICD10_SHAPE);
    assert_null(strstr(err, "I21.99")); /* the message does not repeat the input */
    assert_int_equal(hub_icd10_parse("e95.1", out, sizeof out, err, sizeof err),
                     HUB_ICD10_NO_CHAPTER);
    assert_non_null(strstr(err, "E95"));
    assert_int_equal(hub_icd10_parse(NULL, out, sizeof out, err, sizeof err), HUB_ICD10_SHAPE);
    assert_string_equal(hub_icd10_result_name(HUB_ICD10_NO_CHAPTER), "no_chapter");

    hub_icd10_category("I21.9", cat, sizeof cat);
    assert_string_equal(cat, "I21");
    hub_icd10_category("R99", cat, sizeof cat);
    assert_string_equal(cat, "R99");
    assert_true(hub_icd10_same_category("I21.9", "I21"));
    assert_true(hub_icd10_same_category("I21.0", "I21.9"));
    assert_false(hub_icd10_same_category("I21.9", "I22.9"));
    assert_false(hub_icd10_same_category("I2", "I2"));
    assert_false(hub_icd10_same_category(NULL, "I21"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(normalizes_spellings), cmocka_unit_test(refuses_bad_shapes),
        cmocka_unit_test(chapter_boundaries),   cmocka_unit_test(predicates),
        cmocka_unit_test(parse_and_categories),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
