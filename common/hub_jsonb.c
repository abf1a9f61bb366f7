#include "hub_jsonb.h"

#include <math.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub_buf.h"

/* PostgreSQL's escape_json: the two-character escapes JSON has, other
 * control characters as \u00xx (lowercase), everything else as it is. */
static void put_string(hub_buf *b, const char *s, size_t n)
{
    hub_buf_put(b, "\"", 1);
    size_t run = 0; /* start of the bytes not yet written */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char u[8];
        switch (c) {
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        default:
            if (c == 0) {
                b->failed = true; /* jsonb refuses \u0000 */
                return;
            }
            if (c < ' ') {
                snprintf(u, sizeof u, "\\u%04x", c);
                esc = u;
            }
        }
        if (!esc) continue;
        hub_buf_put(b, s + run, i - run);
        hub_buf_puts(b, esc);
        run = i + 1;
    }
    hub_buf_put(b, s + run, n - run);
    hub_buf_put(b, "\"", 1);
}

/* A real as PostgreSQL stores and prints it. The path a document took to
 * jsonb before was jansson's text: "%.17g", with ".0" appended when that
 * has neither point nor exponent ("0.10000000000000001", "1e+20",
 * "100.0"). numeric keeps those digits and the number of digits after the
 * point (less the exponent), and prints them without exponent and without
 * a negative zero ("100000000000000000000", "0.000010000000000000001"). */
static void put_real(hub_buf *b, double d)
{
    if (!isfinite(d)) {
        b->failed = true;
        return;
    }
    char text[64];
    snprintf(text, sizeof text, "%.17g", d);
    bool negative = text[0] == '-';
    const char *p = text + negative;
    char digits[32];
    size_t nd = 0, n_int = 0, n_frac = 0;
    for (; *p >= '0' && *p <= '9'; p++, n_int++) digits[nd++] = *p;
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9'; p++, n_frac++) digits[nd++] = *p;
    long exp = (*p == 'e' || *p == 'E') ? strtol(p + 1, NULL, 10) : 0;
    long point = (long)n_int + exp;                   /* the point follows digits[0, point) */
    long scale = (long)n_frac - exp + (strpbrk(text, ".eE") ? 0 : 1); /* jansson's ".0" */
    if (scale < 0) scale = 0;

    char plain[700]; /* |exp| <= 308: at most 17 digits, 308 zeros, point, sign */
    size_t k = 0;
    bool zero = true;
    for (size_t i = 0; i < nd; i++)
        if (digits[i] != '0') zero = false;
    if (negative && !zero) plain[k++] = '-';
    bool started = false; /* the integer part, without leading zeros */
    for (long i = 0; i < point; i++) {
        char c = i < (long)nd ? digits[i] : '0';
        if (c == '0' && !started) continue;
        started = true;
        plain[k++] = c;
    }
    if (!started) plain[k++] = '0';
    if (scale > 0) {
        plain[k++] = '.';
        for (long i = point; i < point + scale; i++) plain[k++] = i >= 0 && i < (long)nd ? digits[i] : '0';
    }
    hub_buf_put(b, plain, k);
}

/* jsonb orders an object's keys by length, then bytewise. */
typedef struct member {
    const char *key;
    size_t key_len;
    const json_t *value;
} member;

static int member_cmp(const void *a, const void *b)
{
    const member *x = a, *y = b;
    if (x->key_len != y->key_len) return x->key_len < y->key_len ? -1 : 1;
    return memcmp(x->key, y->key, x->key_len);
}

static void put_value(hub_buf *b, const json_t *v, const char *skip_key);

static void put_object(hub_buf *b, const json_t *v, const char *skip_key)
{
    size_t n = json_object_size(v), k = 0;
    member *m = n ? malloc(n * sizeof *m) : NULL;
    if (n && !m) {
        b->failed = true;
        return;
    }
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)v, key, value)
    {
        if (skip_key && !strcmp(key, skip_key)) continue;
        m[k++] = (member){key, strlen(key), value};
    }
    if (k > 1) qsort(m, k, sizeof *m, member_cmp);
    hub_buf_put(b, "{", 1);
    for (size_t i = 0; i < k; i++) {
        if (i) hub_buf_put(b, ", ", 2);
        put_string(b, m[i].key, m[i].key_len);
        hub_buf_put(b, ": ", 2);
        put_value(b, m[i].value, NULL);
    }
    hub_buf_put(b, "}", 1);
    free(m);
}

static void put_value(hub_buf *b, const json_t *v, const char *skip_key)
{
    char num[32];
    switch (json_typeof(v)) {
    case JSON_OBJECT: put_object(b, v, skip_key); break;
    case JSON_ARRAY:
        hub_buf_put(b, "[", 1);
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i) hub_buf_put(b, ", ", 2);
            put_value(b, json_array_get(v, i), NULL);
        }
        hub_buf_put(b, "]", 1);
        break;
    case JSON_STRING: put_string(b, json_string_value(v), json_string_length(v)); break;
    case JSON_INTEGER:
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        hub_buf_puts(b, num);
        break;
    case JSON_REAL: put_real(b, json_real_value(v)); break;
    case JSON_TRUE: hub_buf_puts(b, "true"); break;
    case JSON_FALSE: hub_buf_puts(b, "false"); break;
    case JSON_NULL: hub_buf_puts(b, "null"); break;
    }
}

char *hub_jsonb_text(const json_t *value, const char *skip_key, size_t *len)
{
    hub_buf b = {0};
    put_value(&b, value, skip_key);
    if (!b.failed && !b.s) hub_buf_put(&b, "", 0);
    if (b.failed) {
        free(b.s);
        return NULL;
    }
    if (len) *len = b.len;
    return b.s;
}

int hub_content_hash(const json_t *document, char out[33])
{
    size_t len;
    char *text = hub_jsonb_text(document, "event_id", &len);
    if (!text) return -1;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    int ok = EVP_Digest(text, len, md, &md_len, EVP_md5(), NULL);
    free(text);
    if (!ok || md_len != 16) return -1;
    for (unsigned i = 0; i < 16; i++) snprintf(out + 2 * i, 3, "%02x", md[i]);
    return 0;
}
