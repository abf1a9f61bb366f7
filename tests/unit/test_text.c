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

/* Whatever bytes come in, what comes out is valid UTF-8 without control
 * characters, within the buffer, cut on a character boundary. */
static void sanitize(void **state)
{
    (void)state;
    char out[16];
    /* valid text is copied unchanged */
    assert_int_equal(hub_text_sanitize("Lan", 3, out, sizeof out), 3);
    assert_string_equal(out, "Lan");
    /* an invalid byte becomes U+FFFD, a control character a space, an
     * embedded NUL too */
    hub_text_sanitize("a\xFF" "b\n\0c", 6, out, sizeof out);
    assert_string_equal(out, "a\xEF\xBF\xBD" "b  c");
    /* "Nguyễn" cut inside "ễ" (3 bytes): the partial character is invalid */
    hub_text_sanitize("Nguy\xE1\xBB", 6, out, sizeof out);
    assert_string_equal(out, "Nguy\xEF\xBF\xBD\xEF\xBF\xBD");
    /* too long: cut before a character that does not fit, with an ellipsis */
    const char *name = "Nguy\xE1\xBB\x85n Th\xE1\xBB\x8B Lan"; /* Nguyễn Thị Lan */
    size_t n = hub_text_sanitize(name, strlen(name), out, sizeof out);
    assert_true(n < sizeof out);
    assert_true(hub_text_valid_utf8(out, n));
    assert_string_equal(out, "Nguy\xE1\xBB\x85n Th\xE2\x80\xA6");
    /* every cut of every size stays valid */
    for (size_t size = 1; size <= sizeof out; size++) {
        n = hub_text_sanitize(name, strlen(name), out, size);
        assert_true(n < size);
        assert_true(hub_text_valid_utf8(out, n));
    }
    hub_text_sanitize(NULL, 0, out, sizeof out);
    assert_string_equal(out, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(utf8_validity),
        cmocka_unit_test(normalize_name),
        cmocka_unit_test(match_key),
        cmocka_unit_test(masks),
        cmocka_unit_test(display_width),
        cmocka_unit_test(sanitize),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
