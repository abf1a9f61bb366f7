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

/* Applies utf8proc options, then collapses white space; with `fold`, also
 * maps Đ/đ to D and upper-cases. */
static char *transform(const char *s, utf8proc_option_t options, bool fold, char *errstr,
                       size_t errstr_size)
{
    if (!s || !hub_text_valid_utf8(s, strlen(s))) {
        snprintf(errstr, errstr_size, "invalid UTF-8");
        return NULL;
    }
    utf8proc_uint8_t *mapped = NULL;
    utf8proc_ssize_t n = utf8proc_map((const utf8proc_uint8_t *)s, 0, &mapped,
                                      options | UTF8PROC_NULLTERM | UTF8PROC_STABLE);
    if (n < 0) {
        snprintf(errstr, errstr_size, "%s", utf8proc_errmsg(n));
        return NULL;
    }
    /* Output is never longer than the mapped text. */
    char *out = malloc((size_t)n + 1);
    if (!out) {
        free(mapped);
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
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
        if (fold) {
            if (cp == 0x0110 || cp == 0x0111) cp = 'D'; /* Đ đ: no decomposition */
            cp = utf8proc_toupper(cp);
        }
        if (pending_space) out[o++] = ' ';
        pending_space = false;
        o += (size_t)utf8proc_encode_char(cp, (utf8proc_uint8_t *)out + o);
    }
    out[o] = '\0';
    free(mapped);
    return out;
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
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < out_size; i++) {
        bool keep = n >= 8 && (i < 3 || i >= n - 2);
        out[o++] = keep ? id[i] : '*';
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

size_t hub_text_sanitize(const char *s, size_t len, char *out, size_t out_size)
{
    static const char replacement[] = "\xEF\xBF\xBD"; /* U+FFFD */
    static const char ellipsis[] = "\xE2\x80\xA6";    /* U+2026 */
    if (!out_size) return 0;
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
    size_t i = 0, o = 0;
    bool cut = false;
    while (s && i < len) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t n = utf8proc_iterate(p + i, (utf8proc_ssize_t)(len - i), &cp);
        const char *piece = (const char *)p + i;
        size_t piece_len = (size_t)n;
        if (n <= 0) { /* an invalid byte: one replacement for it */
            piece = replacement;
            piece_len = 3;
            n = 1;
        } else if (cp < 0x20 || (cp >= 0x7F && cp < 0xA0)) {
            piece = " ";
            piece_len = 1;
        }
        /* Room for this piece and, if more follows, an ellipsis. */
        size_t room = out_size - 1 - o;
        bool last = i + (size_t)n >= len;
        if (piece_len > room || (!last && piece_len + 3 > room)) {
            cut = true;
            break;
        }
        memcpy(out + o, piece, piece_len);
        o += piece_len;
        i += (size_t)n;
    }
    if (cut && out_size - 1 - o >= 3) {
        memcpy(out + o, ellipsis, 3);
        o += 3;
    }
    out[o] = '\0';
    return o;
}
