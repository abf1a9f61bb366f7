/* Names: NFC, white space, the diacritics-free match key, and the masks
 * that keep personal data out of logs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "hub_text.h"

static void utf8_validity(void **state)
{
    (void)state;
    const char ok[] = "Nguyễn Thị Ánh Đào";
    assert_true(hub_text_valid_utf8(ok, strlen(ok)));
    assert_true(hub_text_valid_utf8("", 0));
    assert_false(hub_text_valid_utf8("\xff", 1));              /* never valid */
    assert_false(hub_text_valid_utf8("\xc3", 1));              /* truncated */
    assert_false(hub_text_valid_utf8("\xc0\xaf", 2));          /* overlong '/' */
    assert_false(hub_text_valid_utf8("\xed\xa0\x80", 3));      /* surrogate */
    assert_false(hub_text_valid_utf8("a\0b", 3));              /* embedded NUL */
    assert_false(hub_text_valid_utf8("\xf4\x90\x80\x80", 4));  /* above U+10FFFF */
}

static void normalize_name(void **state)
{
    (void)state;
    char err[128];
    /* "Nguyễn" written decomposed (e + combining circumflex + combining
     * tilde) becomes the precomposed NFC form. */
    char *n = hub_text_normalize_name("  Nguye\xcc\x82\xcc\x83n \t Th\xe1\xbb\x8b\xc2\xa0Lan  ", err,
                                      sizeof err);
    assert_non_null(n);
    assert_string_equal(n, "Nguyễn Thị Lan");
    free(n);
    n = hub_text_normalize_name(" \t ", err, sizeof err);
    assert_non_null(n);
    assert_string_equal(n, "");
    free(n);
    assert_null(hub_text_normalize_name("Lan\xff", err, sizeof err));
    assert_true(strlen(err) > 0);
}

static void match_key(void **state)
{
    (void)state;
    char err[128];
    char *k = hub_text_match_key("  Nguyễn   Thị Ánh Đào ", err, sizeof err);
    assert_non_null(k);
    assert_string_equal(k, "NGUYEN THI ANH DAO");
    free(k);
    /* Same person written decomposed and precomposed: one key. */
    char *a = hub_text_match_key("Tr\xe1\xba\xa7n", err, sizeof err);
    char *b = hub_text_match_key("Tra\xcc\x82\xcc\x80n", err, sizeof err);
    assert_non_null(a);
    assert_non_null(b);
    assert_string_equal(a, b);
    assert_string_equal(a, "TRAN");
    free(a);
    free(b);
    k = hub_text_match_key("đặng", err, sizeof err);
    assert_string_equal(k, "DANG");
    free(k);
}

static void masks(void **state)
{
    (void)state;
    char out[32];
    hub_text_mask_id("079195012345", out, sizeof out);
    assert_string_equal(out, "079*******45");
    hub_text_mask_id(NULL, out, sizeof out);
    assert_string_equal(out, "-");
    hub_text_mask_id("1234", out, sizeof out);
    assert_null(strstr(out, "1234"));
    hub_text_mask_name("Nguyễn Thị Lan", out, sizeof out);
    assert_string_equal(out, "N. T. L.");
    hub_text_mask_name("Đặng Văn Ánh", out, sizeof out);
    assert_string_equal(out, "Đ. V. Á.");
    hub_text_mask_name(NULL, out, sizeof out);
    assert_string_equal(out, "?");
    char tiny[4];
    hub_text_mask_id("079195012345", tiny, sizeof tiny);
    assert_int_equal(strlen(tiny), 3);
}

/* U+0250 (2 bytes) upper-cases to U+2C6F (3 bytes), U+0251 to U+2C6D: a
 * match key may be longer in bytes than the name it comes from. */
static void match_key_grows(void **state)
{
    (void)state;
    char err[128];
    for (size_t count = 1; count <= 20000; count *= 7) {
        size_t n = count * 2 + 1;
        char *name = malloc(n + 2);
        char *want = malloc(count * 3 + 1);
        assert_non_null(name);
        assert_non_null(want);
        for (size_t i = 0; i < count; i++) {
            memcpy(name + 2 * i, "\xc9\x90", 2);     /* ɐ */
            memcpy(want + 3 * i, "\xe2\xb1\xaf", 3); /* Ɐ */
        }
        name[2 * count] = '\0';
        want[3 * count] = '\0';
        char *key = hub_text_match_key(name, err, sizeof err);
        assert_non_null(key);
        assert_string_equal(key, want);
        char *norm = hub_text_normalize_name(name, err, sizeof err);
        assert_string_equal(norm, name);
        free(norm);
        free(key);
        free(want);
        free(name);
    }
    /* Mixed with spaces and Vietnamese: ɑ (U+0251) -> Ɑ (U+2C6D). */
    char *k = hub_text_match_key("  ɐɑ  Đặng\tɐ ", err, sizeof err);
    assert_string_equal(k, "\xe2\xb1\xaf\xe2\xb1\xad DANG \xe2\xb1\xaf");
    free(k);
}

/* The key is stored: it is NFC even where stripping marks leaves a
 * sequence that composes (Hangul written as jamo decomposes, then must
 * compose again). */
static void match_key_nfc(void **state)
{
    (void)state;
    char err[128];
    char *k = hub_text_match_key("\xed\x95\x9c \xe1\x84\x92\xe1\x85\xa1", err, sizeof err);
    assert_non_null(k);
    assert_true(hub_text_is_nfc(k, strlen(k)));
    assert_string_equal(k, "\xed\x95\x9c \xed\x95\x98"); /* 한 하 */
    free(k);
}

/* Masks and cuts never leave half a UTF-8 sequence. */
static void cuts_on_boundaries(void **state)
{
    (void)state;
    char out[8];
    /* A name in an ID field: non-ASCII characters are never kept. */
    hub_text_mask_id("Đặng Văn Ánh", out, sizeof out);
    assert_true(hub_text_valid_utf8(out, strlen(out)));
    assert_null(strstr(out, "\xc4"));
    hub_text_mask_id("ĐĐĐ1234567ĐĐ", out, sizeof out);
    assert_true(hub_text_valid_utf8(out, strlen(out)));
    assert_string_equal(out, "*******");

    const char *s = "ab\xe1\xbb\x85"; /* "abễ", 5 bytes */
    assert_int_equal(hub_text_boundary(s, 5, 5), 5);
    assert_int_equal(hub_text_boundary(s, 5, 4), 2);
    assert_int_equal(hub_text_boundary(s, 5, 3), 2);
    assert_int_equal(hub_text_boundary(s, 5, 2), 2);
    assert_int_equal(hub_text_complete(s, 4), 2);
    assert_int_equal(hub_text_complete(s, 5), 5);
    assert_int_equal(hub_text_complete("\xe1", 1), 0);
    assert_int_equal(hub_text_complete("a", 1), 1);

    char copy[5];
    hub_text_copy(copy, sizeof copy, "abc\xe1\xbb\x85");
    assert_string_equal(copy, "abc");
    hub_text_copy(copy, sizeof copy, "a\x07\xff\n");
    assert_string_equal(copy, "a???");
    hub_text_copy(copy, sizeof copy, "\xc2\x85x"); /* C1 NEL */
    assert_string_equal(copy, "?x");
    hub_text_copy(copy, sizeof copy, NULL);
    assert_string_equal(copy, "");

    char digits[] = "id 079195012345, 1737360000000 bytes, 12345678901 ok";
    hub_text_mask_digit_runs(digits);
    assert_string_equal(digits, "id 079*******45, 173********00 bytes, 12345678901 ok");
}

static void controls_and_nfc(void **state)
{
    (void)state;
    size_t at;
    uint32_t cp;
    assert_false(hub_text_find_control("Nguyễn", strlen("Nguyễn"), false, &at, &cp));
    assert_true(hub_text_find_control("ab\0c", 4, false, &at, &cp));
    assert_int_equal(at, 2);
    assert_int_equal(cp, 0);
    assert_true(hub_text_find_control("ễ\x1b", 4, true, &at, &cp));
    assert_int_equal(at, 1);
    assert_int_equal(cp, 0x1b);
    assert_true(hub_text_find_control("a\xc2\x9b", 3, true, &at, &cp)); /* C1 CSI */
    assert_int_equal(cp, 0x9b);
    assert_false(hub_text_find_control("a\tb\r\n", 5, true, NULL, NULL));
    assert_true(hub_text_find_control("a\tb", 3, false, NULL, NULL));
    assert_true(hub_text_find_control("a\x7f", 2, true, NULL, NULL)); /* DEL */

    assert_true(hub_text_is_nfc("Nguyễn", strlen("Nguyễn")));
    assert_false(hub_text_is_nfc("Nguye\xcc\x82\xcc\x83n", 10));
    assert_false(hub_text_is_nfc("a\xff", 2));
    char err[64];
    char *n = hub_text_nfc("Nguye\xcc\x82\xcc\x83n", 10, err, sizeof err);
    assert_string_equal(n, "Nguyễn");
    free(n);
    assert_null(hub_text_nfc("a\0b", 3, err, sizeof err));
    assert_int_equal(hub_text_chars("Nguyễn", strlen("Nguyễn")), 6);
}

static void display_width(void **state)
{
    (void)state;
    assert_int_equal(hub_text_width("Hà Nội"), 6);
    assert_int_equal(hub_text_width("Ha\xcc\x80 N\xc3\xb4\xcc\xa3i"), 6); /* decomposed */
    assert_int_equal(hub_text_width("\xe4\xb8\xad"), 2);                    /* a wide CJK character */
    assert_int_equal(hub_text_width(""), 0);
    assert_int_equal(hub_text_width(NULL), 0);
    assert_int_equal(hub_text_width("\xff\xfe"), 2); /* invalid: bytes */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(utf8_validity),
        cmocka_unit_test(normalize_name),
        cmocka_unit_test(match_key),
        cmocka_unit_test(masks),
        cmocka_unit_test(display_width),
        cmocka_unit_test(match_key_grows),
        cmocka_unit_test(match_key_nfc),
        cmocka_unit_test(cuts_on_boundaries),
        cmocka_unit_test(controls_and_nfc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
