#include "fuzz_check.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "birth_rules.h"
#include "death_rules.h"
#include "civil_rules.h"
#include "divorce_rules.h"
#include "hub_build.h"
#include "hub_jsonb.h"
#include "hub_limits.h"
#include "hub_text.h"
#include "hub_topics.h"

typedef int (*map_fn)(json_t *doc, int64_t now_ms, json_t **row, hub_reject *why);

static const struct {
    const char *topic;
    map_fn map;
} services[FUZZ_TOPICS] = {
    {"birth-certificate", birth_map},
    {"death-notice", death_map},
    {"divorce-judgment", divorce_map},
    {"civil-registration", civil_map},
};

#define MAX_VERSIONS 2

static hub_catalog *catalog;
static hub_avro_decoder *decoders[FUZZ_TOPICS];
static hub_avro_encoder *encoders[FUZZ_TOPICS][MAX_VERSIONS];

void fuzz_fail(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "fuzz invariant broken: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

const char *fuzz_topic(unsigned i) { return services[i % FUZZ_TOPICS].topic; }

static unsigned topic_index(const char *topic)
{
    for (unsigned i = 0; i < FUZZ_TOPICS; i++)
        if (!strcmp(services[i].topic, topic)) return i;
    fuzz_fail("unknown topic %s", topic);
}

/* At exit: what lives for the process is freed, so that the leak checker
 * reports only what an input leaked. */
static void release(void)
{
    for (unsigned t = 0; t < FUZZ_TOPICS; t++) {
        hub_avro_decoder_destroy(decoders[t]);
        decoders[t] = NULL;
        for (int v = 0; v < MAX_VERSIONS; v++) {
            hub_avro_encoder_destroy(encoders[t][v]);
            encoders[t][v] = NULL;
        }
    }
    hub_catalog_destroy(catalog);
    catalog = NULL;
}

hub_catalog *fuzz_catalog(void)
{
    char err[512];
    if (catalog) return catalog;
    if (!(catalog = hub_catalog_open(HUB_SCHEMA_DIR, err, sizeof err)))
        fuzz_fail("catalog %s: %s", HUB_SCHEMA_DIR, err);
    atexit(release);
    return catalog;
}

hub_avro_decoder *fuzz_decoder(const char *topic)
{
    unsigned t = topic_index(topic);
    char err[512];
    if (!decoders[t]) {
        const hub_schema *reader = hub_catalog_latest(fuzz_catalog(), topic);
        if (!reader || !(decoders[t] = hub_avro_decoder_new(catalog, reader, err, sizeof err)))
            fuzz_fail("decoder for %s: %s", topic, reader ? err : "no schema");
    }
    return decoders[t];
}

int fuzz_versions(const char *topic)
{
    unsigned t = topic_index(topic);
    int n = 0;
    const hub_schema *s;
    char err[512];
    /* Pinned ids: <topic number>00<version> (schemas/avro/catalog.tsv). */
    while (n < MAX_VERSIONS &&
           hub_catalog_get(fuzz_catalog(), (int32_t)((t + 1) * 1000 + (unsigned)n + 1), &s, err,
                           sizeof err) == HUB_SCHEMA_OK)
        n++;
    if (n == 0) fuzz_fail("no schema of %s in the catalog", topic);
    return n;
}

hub_avro_encoder *fuzz_encoder(const char *topic, int version)
{
    unsigned t = topic_index(topic);
    if (version < 1 || version > MAX_VERSIONS) return NULL;
    char err[512];
    if (!encoders[t][version - 1]) {
        /* Pinned ids: <topic number>00<version> (schemas/avro/catalog.tsv). */
        int32_t id = (int32_t)((t + 1) * 1000 + (unsigned)version);
        const hub_schema *s;
        if (hub_catalog_get(fuzz_catalog(), id, &s, err, sizeof err) != HUB_SCHEMA_OK)
            fuzz_fail("schema %d: %s", (int)id, err);
        if (strcmp(hub_schema_topic(s), topic)) fuzz_fail("schema %d is not of %s", (int)id, topic);
        if (!(encoders[t][version - 1] = hub_avro_encoder_new(s, err, sizeof err)))
            fuzz_fail("encoder %d: %s", (int)id, err);
    }
    return encoders[t][version - 1];
}

void fuzz_check_line(const char *what, const char *s, size_t cap)
{
    size_t len = strnlen(s, cap);
    if (len >= cap) fuzz_fail("%s: not terminated within %zu bytes", what, cap);
    if (!hub_text_valid_utf8(s, len)) fuzz_fail("%s: not valid UTF-8: %s", what, s);
    if (hub_text_find_control(s, len, false, NULL, NULL))
        fuzz_fail("%s: holds a control character: %s", what, s);
}

void fuzz_check_message(const char *what, const char *s, size_t cap)
{
    fuzz_check_line(what, s, cap);
    size_t len = strlen(s), run = 0;
    for (size_t i = 0; i < len; i++) {
        run = s[i] >= '0' && s[i] <= '9' ? run + 1 : 0;
        if (run >= 12) fuzz_fail("%s: holds 12 digits in a row (a personal ID?): %s", what, s);
    }
}

void fuzz_check_reject(const hub_reject *why)
{
    size_t n = strnlen(why->reason, sizeof why->reason);
    if (n == 0 || n >= sizeof why->reason) fuzz_fail("reason empty or unterminated");
    for (size_t i = 0; i < n; i++) {
        char c = why->reason[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_'))
            fuzz_fail("reason '%s' is not a dotted lower-case code", why->reason);
    }
    fuzz_check_message("refusal message", why->message, sizeof why->message);
}

/* A refusal message never quotes a name: no name value of the document
 * (with a space, so that it is a full name, not a code) appears in it. */
static void check_no_name(const char *message, json_t *v, const char *key)
{
    if (json_is_object(v)) {
        const char *k;
        json_t *item;
        json_object_foreach(v, k, item) check_no_name(message, item, k);
    } else if (json_is_array(v)) {
        size_t i;
        json_t *item;
        json_array_foreach(v, i, item) check_no_name(message, item, key);
    } else if (json_is_string(v) && key && strstr(key, "name")) {
        const char *s = json_string_value(v);
        if (strlen(s) >= 5 && strchr(s, ' ') && strstr(message, s))
            fuzz_fail("refusal message quotes a name: %s", message);
    }
}

void fuzz_map_and_check(const char *topic, json_t *doc)
{
    const map_fn map = services[topic_index(topic)].map;
    json_t *work = json_deep_copy(doc);
    if (!work) return; /* out of memory: nothing to check */
    char key[256], err[256];
    hub_reject why;
    json_t *row = NULL;
    if (hub_topic_key(hub_topic_find(topic), work, key, sizeof key, err, sizeof err) != 0) {
        /* What the consumer stores for a key it cannot build (hub_consumer). */
        hub_reject_set(&why, "validation.business_key", "%s", err);
        fuzz_check_reject(&why);
    } else if (map(work, FUZZ_NOW_MS, &row, &why) != 0) {
        if (row) fuzz_fail("map refused (%s) and returned a row", why.reason);
        fuzz_check_reject(&why);
        check_no_name(why.message, doc, NULL);
    } else {
        if (!row) fuzz_fail("map accepted without a row");
        fuzz_check_row(topic, row);
        json_decref(row);
    }
    json_decref(work);
}

/* ---- rows ------------------------------------------------------------------ */

static size_t largest_limit(const char *topic)
{
    size_t max = HUB_LIMIT_DEFAULT_CHARS;
    const hub_field_limit *l;
    for (size_t i = 0; (l = hub_limits_at(topic, i)); i++)
        if (l->kind != HUB_LIMIT_ITEMS && l->max > max) max = l->max;
    return max;
}

static void check_text(const char *topic, const char *where, bool in_document, json_t *v)
{
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (strlen(s) != len) fuzz_fail("%s: NUL inside a stored text", where);
    if (!hub_text_is_nfc(s, len)) fuzz_fail("%s: stored text is not valid NFC UTF-8", where);
    if (in_document) {
        hub_reject why;
        if (hub_limits_check_text(topic, where, s, len, &why) != 0)
            fuzz_fail("stored document: %s: %s", why.reason, why.message);
        return;
    }
    if (hub_text_find_control(s, len, true, NULL, NULL))
        fuzz_fail("%s: stored text holds a control character", where);
    size_t chars = hub_text_chars(s, len);
    if (chars > largest_limit(topic))
        fuzz_fail("%s: %zu characters, more than any limit of %s", where, chars, topic);
}

/* Walks v; `path` is its path (document paths as hub_limits names them). */
static void check_value(const char *topic, json_t *v, char *path, size_t size, size_t plen,
                        bool in_document)
{
    if (json_is_string(v)) {
        check_text(topic, path, in_document, v);
    } else if (json_is_array(v)) {
        int n = snprintf(path + plen, size - plen, "[]");
        size_t ilen = n > 0 && (size_t)n < size - plen ? plen + (size_t)n : plen;
        size_t i;
        json_t *item;
        json_array_foreach(v, i, item) check_value(topic, item, path, size, ilen, in_document);
        path[plen] = '\0';
    } else if (json_is_object(v)) {
        const char *key;
        json_t *item;
        json_object_foreach(v, key, item) {
            if (!hub_text_valid_utf8(key, strlen(key)))
                fuzz_fail("%s: a key is not valid UTF-8", path);
            int n = snprintf(path + plen, size - plen, "%s%s", plen ? "." : "", key);
            size_t klen = n > 0 && (size_t)n < size - plen ? plen + (size_t)n : plen;
            path[klen] = '\0';
            check_value(topic, item, path, size, klen, in_document);
            path[plen] = '\0';
        }
    }
}

void fuzz_check_row(const char *topic, json_t *row)
{
    char path[256] = "";
    const char *key;
    json_t *v;
    json_object_foreach(row, key, v) {
        if (strcmp(key, "document")) {
            snprintf(path, sizeof path, "%s", key);
            check_value(topic, v, path, sizeof path, strlen(path), false);
        }
    }
    json_t *doc = json_object_get(row, "document");
    if (!json_is_object(doc)) fuzz_fail("row without its document");
    path[0] = '\0';
    check_value(topic, doc, path, sizeof path, 0, true);
    /* Nothing more to refuse or to rewrite in what is stored. */
    json_t *again = json_deep_copy(doc);
    hub_reject why;
    if (again && hub_limits_check(topic, again, &why) != 0)
        fuzz_fail("stored document fails its limits: %s: %s", why.reason, why.message);
    if (again && !json_equal(again, doc)) fuzz_fail("stored document is not in its final form");
    json_decref(again);
    /* Its content hash can be computed (hub_jsonb: jsonb holds it). */
    char hash[33];
    if (hub_content_hash(doc, hash) != 0) fuzz_fail("stored document has no content hash");
}
