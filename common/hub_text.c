#include "hub_text.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

bool hub_text_valid_utf8(const char *s, size_t len)
{
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
    size_t i = 0;
    while (i < len) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t n = utf8proc_iterate(p + i, (utf8proc_ssize_t)(len - i), &cp);
        if (n <= 0 || cp == 0) return false;
        i += (size_t)n;
    }
    return true;
}

size_t hub_text_width(const char *s)
{
    if (!s) return 0;
    size_t len = strlen(s);
    if (!hub_text_valid_utf8(s, len)) return len;
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
    size_t i = 0, width = 0;
    while (i < len) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t n = utf8proc_iterate(p + i, (utf8proc_ssize_t)(len - i), &cp);
        int w = utf8proc_charwidth(cp);
        width += w > 0 ? (size_t)w : 0;
        i += (size_t)n;
    }
    return width;
}

static bool is_space(utf8proc_int32_t cp)
{
    if (cp == '\t' || cp == '\n' || cp == '\r' || cp == '\v' || cp == '\f') return true;
    utf8proc_category_t c = utf8proc_category(cp);
    return c == UTF8PROC_CATEGORY_ZS || c == UTF8PROC_CATEGORY_ZL || c == UTF8PROC_CATEGORY_ZP;
}

/* The code point written for `cp` by transform(): Đ/đ (no decomposition)
 * fold to D, then upper case. Simple case mapping is one code point to one,
 * but not one length to one in UTF-8: U+0250 (2 bytes) upper-cases to
 * U+2C6F (3 bytes). */
static utf8proc_int32_t folded(utf8proc_int32_t cp)
{
    if (cp == 0x0110 || cp == 0x0111) cp = 'D';
    return utf8proc_toupper(cp);
}

/* Collapses white space of the mapped text into out (or only counts, when
 * out is NULL); returns the bytes written, without the NUL. */
static size_t collapse(const utf8proc_uint8_t *mapped, utf8proc_ssize_t n, bool fold, char *out)
{
    utf8proc_uint8_t enc[4];
    size_t o = 0;
    bool pending_space = false;
    utf8proc_ssize_t i = 0;
    while (i < n) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t len = utf8proc_iterate(mapped + i, n - i, &cp);
        if (len <= 0) break;
        i += len;
        if (is_space(cp)) {
            pending_space = o > 0;
            continue;
        }
        if (fold) cp = folded(cp);
        if (pending_space) {
            if (out) out[o] = ' ';
            o++;
        }
        pending_space = false;
        utf8proc_ssize_t m = utf8proc_encode_char(cp, out ? (utf8proc_uint8_t *)out + o : enc);
        o += (size_t)m;
    }
    return o;
}

/* Applies utf8proc options, then collapses white space; with `fold`, also
 * maps Đ/đ to D, upper-cases and composes again (the key is NFC too). The
 * output is sized by a counting pass: neither case mapping nor composition
 * keeps byte lengths. */
static char *transform(const char *s, utf8proc_option_t options, bool fold, char *errstr,
                       size_t errstr_size)
{
    if (!s || !hub_text_valid_utf8(s, strlen(s))) {
        snprintf(errstr, errstr_size, "invalid UTF-8");
        return NULL;
    }
    utf8proc_uint8_t *mapped = NULL;
    char *out = NULL;
    utf8proc_ssize_t n = utf8proc_map((const utf8proc_uint8_t *)s, 0, &mapped,
                                      options | UTF8PROC_NULLTERM | UTF8PROC_STABLE);
    if (n < 0) {
        snprintf(errstr, errstr_size, "%s", utf8proc_errmsg(n));
        return NULL;
    }
    size_t size = collapse(mapped, n, fold, NULL);
    out = malloc(size + 1);
    if (!out) goto oom;
    size_t written = collapse(mapped, n, fold, out);
    out[written] = '\0';
    free(mapped);
    mapped = NULL;
    if (fold) {
        /* Stripping marks and upper-casing can leave a sequence that
         * composes (Hangul jamo): the key is stored, so it is NFC. */
        n = utf8proc_map((const utf8proc_uint8_t *)out, 0, &mapped,
                         UTF8PROC_NULLTERM | UTF8PROC_STABLE | UTF8PROC_COMPOSE);
        free(out);
        out = NULL;
        if (n < 0) {
            snprintf(errstr, errstr_size, "%s", utf8proc_errmsg(n));
            return NULL;
        }
        out = (char *)mapped;
    }
    return out;
oom:
    free(mapped);
    snprintf(errstr, errstr_size, "out of memory");
    return NULL;
}

char *hub_text_normalize_name(const char *s, char *errstr, size_t errstr_size)
{
    return transform(s, UTF8PROC_COMPOSE, false, errstr, errstr_size);
}

char *hub_text_match_key(const char *s, char *errstr, size_t errstr_size)
{
    return transform(s, UTF8PROC_DECOMPOSE | UTF8PROC_STRIPMARK, true, errstr, errstr_size);
}

void hub_text_mask_id(const char *id, char *out, size_t out_size)
{
    if (!out_size) return;
    size_t n = id ? strlen(id) : 0;
    if (n == 0) {
        snprintf(out, out_size, "-");
        return;
    }
    /* Characters, not bytes: a field misused for a name keeps no partial
     * UTF-8 sequence; only ASCII letters and digits are ever shown. */
    size_t chars = 0;
    for (size_t i = 0; i < n; i++) chars += ((unsigned char)id[i] & 0xC0) != 0x80;
    size_t o = 0, c = 0;
    for (size_t i = 0; i < n && o + 1 < out_size; c++) {
        size_t len = 1;
        while (i + len < n && ((unsigned char)id[i + len] & 0xC0) == 0x80) len++;
        unsigned char ch = (unsigned char)id[i];
        bool plain = len == 1 && ((ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'Z') ||
                                  (ch >= 'a' && ch <= 'z'));
        bool keep = plain && chars >= 8 && (c < 3 || c >= chars - 2);
        out[o++] = keep ? (char)ch : '*';
        i += len;
    }
    out[o] = '\0';
}

void hub_text_mask_name(const char *name, char *out, size_t out_size)
{
    if (!out_size) return;
    if (!name || !hub_text_valid_utf8(name, strlen(name))) {
        snprintf(out, out_size, "?");
        return;
    }
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)name;
    utf8proc_ssize_t len = (utf8proc_ssize_t)strlen(name), i = 0;
    size_t o = 0;
    bool word_start = true;
    out[0] = '\0';
    while (i < len) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t n = utf8proc_iterate(p + i, len - i, &cp);
        if (n <= 0) break;
        i += n;
        if (is_space(cp)) {
            word_start = true;
            continue;
        }
        if (!word_start) continue;
        word_start = false;
        utf8proc_uint8_t enc[4];
        utf8proc_ssize_t m = utf8proc_encode_char(utf8proc_toupper(cp), enc);
        if (o + (size_t)m + 3 >= out_size) break;
        if (o) out[o++] = ' ';
        memcpy(out + o, enc, (size_t)m);
        o += (size_t)m;
        out[o++] = '.';
        out[o] = '\0';
    }
    if (o == 0) snprintf(out, out_size, "?");
}

bool hub_text_is_nfc(const char *s, size_t len)
{
    if (!hub_text_valid_utf8(s, len)) return false;
    /* ASCII is NFC: the common case costs no allocation. */
    size_t i = 0;
    while (i < len && (unsigned char)s[i] < 0x80) i++;
    if (i == len) return true;
    utf8proc_uint8_t *nfc = NULL;
    utf8proc_ssize_t n = utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)len, &nfc,
                                      UTF8PROC_STABLE | UTF8PROC_COMPOSE);
    bool same = n >= 0 && (size_t)n == len && !memcmp(nfc, s, len);
    free(nfc);
    return same;
}

char *hub_text_nfc(const char *s, size_t len, char *errstr, size_t errstr_size)
{
    if (!hub_text_valid_utf8(s, len)) {
        snprintf(errstr, errstr_size, "invalid UTF-8");
        return NULL;
    }
    utf8proc_uint8_t *nfc = NULL;
    utf8proc_ssize_t n = utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)len, &nfc,
                                      UTF8PROC_STABLE | UTF8PROC_COMPOSE);
    if (n < 0) {
        snprintf(errstr, errstr_size, "%s", utf8proc_errmsg(n));
        return NULL;
    }
    return (char *)nfc;
}

size_t hub_text_chars(const char *s, size_t len)
{
    size_t chars = 0;
    for (size_t i = 0; i < len; i++) chars += ((unsigned char)s[i] & 0xC0) != 0x80;
    return chars;
}

bool hub_text_is_control(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F);
}

bool hub_text_find_control(const char *s, size_t len, bool allow_breaks, size_t *at,
                           uint32_t *cp_out)
{
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
    size_t i = 0, chars = 0;
    while (i < len) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t n = utf8proc_iterate(p + i, (utf8proc_ssize_t)(len - i), &cp);
        if (n <= 0) { /* not UTF-8: judged by the byte */
            cp = p[i];
            n = 1;
        }
        bool line_break = cp == '\t' || cp == '\n' || cp == '\r';
        if (hub_text_is_control((uint32_t)cp) && !(allow_breaks && line_break)) {
            if (at) *at = chars;
            if (cp_out) *cp_out = (uint32_t)cp;
            return true;
        }
        i += (size_t)n;
        chars++;
    }
    return false;
}

size_t hub_text_boundary(const char *s, size_t len, size_t max)
{
    if (len <= max) return len;
    size_t n = max;
    /* Back over continuation bytes to the lead byte of the cut character. */
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) n--;
    return n;
}

size_t hub_text_complete(const char *s, size_t len)
{
    size_t lead = len;
    while (lead > 0 && len - lead < 4 && ((unsigned char)s[lead - 1] & 0xC0) == 0x80) lead--;
    if (lead == 0) return len;
    unsigned char b = (unsigned char)s[lead - 1];
    size_t want = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1;
    return len - (lead - 1) < want ? lead - 1 : len;
}

void hub_text_scrub(char *s)
{
    if (!s) return;
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
    size_t len = strlen(s), i = 0, o = 0;
    while (i < len) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t n = utf8proc_iterate(p + i, (utf8proc_ssize_t)(len - i), &cp);
        if (n <= 0 || hub_text_is_control((uint32_t)cp)) {
            s[o++] = '?';
            i += n <= 0 ? 1 : (size_t)n;
            continue;
        }
        memmove(s + o, s + i, (size_t)n);
        o += (size_t)n;
        i += (size_t)n;
    }
    s[o] = '\0';
}

void hub_text_mask_digit_runs(char *s)
{
    if (!s) return;
    for (size_t i = 0; s[i];) {
        size_t run = 0;
        while (s[i + run] >= '0' && s[i + run] <= '9') run++;
        if (run >= 12)
            for (size_t k = 3; k + 2 < run; k++) s[i + k] = '*';
        i += run ? run : 1;
    }
}

void hub_text_copy(char *out, size_t out_size, const char *s)
{
    if (!out_size) return;
    size_t len = s ? strlen(s) : 0;
    size_t n = hub_text_boundary(s ? s : "", len, out_size - 1);
    if (n) memcpy(out, s, n);
    out[n] = '\0';
    hub_text_scrub(out);
}
