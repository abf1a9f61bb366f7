#include "hub_limits.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub_text.h"

#define LINE(p, n) {p, HUB_LIMIT_LINE, n}
#define FREE(p, n) {p, HUB_LIMIT_FREE, n}
#define ITEMS(p, n) {p, HUB_LIMIT_ITEMS, n}

/* Lengths: identifiers and codes leave room for every format in use (a
 * UUID is 36 characters, judgment numbers such as "12/2026/QĐST-HNGĐ"
 * about 20), personal IDs room for a near miss that the ID rule then names
 * ("validation.personal_id"); names 100, institution names 200,
 * addresses and free text 300 to 1,000. The business key of every topic
 * (issuer code / number) fits the hub's 255 bytes. */
#define ID_CHARS 64
#define NUMBER_CHARS 60
#define CODE_CHARS 20
#define SHORT_CODE_CHARS 10
#define PID_CHARS 20
#define ICD10_CHARS 16 /* room for a near miss the ICD-10 rule names */
#define NAME_CHARS 100
#define INSTITUTION_CHARS 200
#define ADDRESS_CHARS 300
#define LANGUAGE_CHARS 35 /* BCP 47 tags a system should expect (RFC 5646, 4.4.1) */

static const hub_field_limit birth[] = {
    LINE("event_id", ID_CHARS),
    LINE("source_system", ID_CHARS),
    LINE("certificate_number", NUMBER_CHARS),
    LINE("facility.code", CODE_CHARS),
    LINE("facility.name", INSTITUTION_CHARS),
    LINE("language", LANGUAGE_CHARS),
    LINE("child.name", NAME_CHARS),
    LINE("child.place.facility_code", CODE_CHARS),
    LINE("child.place.province_code", SHORT_CODE_CHARS),
    LINE("child.place.commune_code", SHORT_CODE_CHARS),
    FREE("child.place.address", ADDRESS_CHARS),
    LINE("mother.name", NAME_CHARS),
    LINE("mother.personal_id", PID_CHARS),
    LINE("mother.ethnic_group", SHORT_CODE_CHARS),
    LINE("mother.nationality", SHORT_CODE_CHARS),
    LINE("mother.residence.province_code", SHORT_CODE_CHARS),
    LINE("mother.residence.commune_code", SHORT_CODE_CHARS),
    FREE("mother.residence.address", ADDRESS_CHARS),
    LINE("father.name", NAME_CHARS),
    LINE("father.personal_id", PID_CHARS),
    LINE("father.ethnic_group", SHORT_CODE_CHARS),
    LINE("father.nationality", SHORT_CODE_CHARS),
    LINE("father.residence.province_code", SHORT_CODE_CHARS),
    LINE("father.residence.commune_code", SHORT_CODE_CHARS),
    FREE("father.residence.address", ADDRESS_CHARS),
    {NULL, HUB_LIMIT_LINE, 0},
};

static const hub_field_limit death[] = {
    LINE("event_id", ID_CHARS),
    LINE("source_system", ID_CHARS),
    LINE("notice_number", NUMBER_CHARS),
    LINE("facility.code", CODE_CHARS),
    LINE("facility.name", INSTITUTION_CHARS),
    LINE("language", LANGUAGE_CHARS),
    LINE("deceased.personal_id", PID_CHARS),
    LINE("deceased.name", NAME_CHARS),
    LINE("deceased.ethnicity", SHORT_CODE_CHARS),
    LINE("deceased.nationality", SHORT_CODE_CHARS),
    LINE("deceased.residence.province_code", SHORT_CODE_CHARS),
    LINE("deceased.residence.commune_code", SHORT_CODE_CHARS),
    FREE("deceased.residence.address", ADDRESS_CHARS),
    LINE("place.facility_code", CODE_CHARS),
    LINE("place.province_code", SHORT_CODE_CHARS),
    LINE("place.commune_code", SHORT_CODE_CHARS),
    FREE("place.address", ADDRESS_CHARS),
    ITEMS("part1", HUB_LIMIT_DEFAULT_ITEMS),
    FREE("part1[].text", 255),
    LINE("part1[].icd10", ICD10_CHARS),
    LINE("part1[].interval", 50),
    ITEMS("part2", HUB_LIMIT_DEFAULT_ITEMS),
    FREE("part2[].text", 255),
    LINE("part2[].icd10", ICD10_CHARS),
    LINE("underlying_cause", ICD10_CHARS),
    LINE("injury.external_cause", ICD10_CHARS),
    FREE("injury.description", 1000),
    FREE("injury.place", ADDRESS_CHARS),
    LINE("certifier.name", NAME_CHARS),
    LINE("certifier.title", NAME_CHARS),
    LINE("certifier.license_number", 30),
    LINE("certifier.phone", 30),
    {NULL, HUB_LIMIT_LINE, 0},
};

static const hub_field_limit divorce[] = {
    LINE("event_id", ID_CHARS),
    LINE("source_system", ID_CHARS),
    LINE("court.code", CODE_CHARS),
    LINE("court.full_name", INSTITUTION_CHARS),
    LINE("judgment_number", NUMBER_CHARS),
    LINE("language", LANGUAGE_CHARS),
    LINE("spouse_a.personal_id", PID_CHARS),
    LINE("spouse_a.name", NAME_CHARS),
    LINE("spouse_b.personal_id", PID_CHARS),
    LINE("spouse_b.name", NAME_CHARS),
    LINE("marriage.registration_number", NUMBER_CHARS),
    LINE("marriage.registry_office", INSTITUTION_CHARS),
    LINE("cancels.court_code", CODE_CHARS),
    LINE("cancels.judgment_number", NUMBER_CHARS),
    {NULL, HUB_LIMIT_LINE, 0},
};

static const hub_field_limit civil[] = {
    LINE("event_id", ID_CHARS),
    LINE("source_system", ID_CHARS),
    LINE("office.commune_code", SHORT_CODE_CHARS),
    LINE("office.name", INSTITUTION_CHARS),
    LINE("registration_number", NUMBER_CHARS),
    ITEMS("persons", HUB_LIMIT_DEFAULT_ITEMS),
    LINE("persons[].personal_id", PID_CHARS),
    LINE("persons[].name", NAME_CHARS),
    LINE("source_document.issuer_code", CODE_CHARS),
    LINE("source_document.number", NUMBER_CHARS),
    {NULL, HUB_LIMIT_LINE, 0},
};

static const struct {
    const char *topic;
    const hub_field_limit *table;
} tables[] = {
    {"birth-certificate", birth},
    {"death-notice", death},
    {"divorce-judgment", divorce},
    {"civil-registration", civil},
};

static const hub_field_limit *table_of(const char *topic)
{
    for (size_t i = 0; topic && i < sizeof tables / sizeof *tables; i++)
        if (!strcmp(tables[i].topic, topic)) return tables[i].table;
    return NULL;
}

const hub_field_limit *hub_limits_at(const char *topic, size_t i)
{
    const hub_field_limit *t = table_of(topic);
    for (size_t k = 0; t && t[k].path; k++)
        if (k == i) return &t[k];
    return NULL;
}

const hub_field_limit *hub_limits_find(const char *topic, const char *path)
{
    const hub_field_limit *t = table_of(topic);
    for (size_t k = 0; t && t[k].path; k++)
        if (!strcmp(t[k].path, path)) return &t[k];
    return NULL;
}

/* A text of more bytes than this cannot be within `max` characters even
 * after composition (at most 4 code points compose into one, each at most
 * 4 bytes): refused without normalising it. */
static size_t byte_bound(size_t max) { return 16 * max + 16; }

static int check_text(const char *topic, const char *path, const char *s, size_t len,
                      char **nfc_out, hub_reject *why)
{
    const hub_field_limit *lim = hub_limits_find(topic, path);
    bool free_text = lim && lim->kind == HUB_LIMIT_FREE;
    size_t max = lim && lim->kind != HUB_LIMIT_ITEMS ? lim->max : HUB_LIMIT_DEFAULT_CHARS;
    if (nfc_out) *nfc_out = NULL;
    const char *nul = memchr(s, '\0', len);
    if (nul)
        return hub_reject_set(why, "validation.nul_character",
                              "%s: NUL character at byte %zu of %zu", path, (size_t)(nul - s),
                              len);
    if (!hub_text_valid_utf8(s, len))
        return hub_reject_set(why, "encoding.utf8", "%s: %zu bytes that are not valid UTF-8",
                              path, len);
    size_t at;
    uint32_t cp;
    if (hub_text_find_control(s, len, free_text, &at, &cp))
        return hub_reject_set(why, "validation.control_character",
                              "%s: control character U+%04X at character %zu%s", path,
                              (unsigned)cp, at + 1,
                              free_text ? " (only TAB, LF and CR are allowed)" : "");
    if (len > byte_bound(max))
        return hub_reject_set(why, "validation.text_length",
                              "%s: %zu bytes, the limit is %zu characters", path, len, max);
    size_t chars;
    if (hub_text_is_nfc(s, len)) {
        chars = hub_text_chars(s, len);
    } else {
        char err[64];
        char *nfc = hub_text_nfc(s, len, err, sizeof err);
        if (!nfc) return hub_reject_set(why, "encoding.utf8", "%s: %s", path, err);
        chars = hub_text_chars(nfc, strlen(nfc));
        if (nfc_out) *nfc_out = nfc;
        else free(nfc);
    }
    if (chars > max) {
        if (nfc_out) {
            free(*nfc_out);
            *nfc_out = NULL;
        }
        return hub_reject_set(why, "validation.text_length",
                              "%s: %zu characters, the limit is %zu", path, chars, max);
    }
    return 0;
}

int hub_limits_check_text(const char *topic, const char *path, const char *s, size_t len,
                          hub_reject *why)
{
    char *nfc;
    if (check_text(topic, path, s, len, &nfc, why)) return -1;
    if (nfc) {
        free(nfc);
        return hub_reject_set(why, "validation.not_nfc", "%s: not in NFC", path);
    }
    return 0;
}

/* A key as the schemas name fields: it may appear in a refusal message. A
 * document that did not come from the decoder (crvsctl publish's input, a
 * future caller) may have any key, a name among them: such a key is shown
 * as "?" (found by the `rules` fuzz harness). */
static const char *shown_key(const char *key)
{
    size_t n = 0;
    for (; key[n]; n++)
        if (!((key[n] >= 'a' && key[n] <= 'z') || (key[n] >= 'A' && key[n] <= 'Z') ||
              (key[n] >= '0' && key[n] <= '9') || key[n] == '_') || n >= 64)
            return "?";
    return n ? key : "?";
}

/* path holds the value's path (length plen); returns 0 or -1 with why. */
static int walk(const char *topic, json_t *v, char *path, size_t size, size_t plen,
                hub_reject *why)
{
    if (json_is_string(v)) {
        char *nfc;
        if (check_text(topic, path, json_string_value(v), json_string_length(v), &nfc, why))
            return -1;
        if (nfc) {
            int rc = json_string_set(v, nfc);
            free(nfc);
            if (rc) return hub_reject_set(why, "internal.oom", "%s: out of memory", path);
        }
        return 0;
    }
    if (json_is_array(v)) {
        const hub_field_limit *lim = hub_limits_find(topic, path);
        size_t max = lim && lim->kind == HUB_LIMIT_ITEMS ? lim->max : HUB_LIMIT_DEFAULT_ITEMS;
        if (json_array_size(v) > max)
            return hub_reject_set(why, "validation.item_count", "%s: %zu items, the limit is %zu",
                                  path, json_array_size(v), max);
        /* A path that does not fit is no path of the table: defaults. */
        int n = snprintf(path + plen, size - plen, "[]");
        size_t ilen = n > 0 && (size_t)n < size - plen ? plen + (size_t)n : plen;
        size_t i;
        json_t *item;
        json_array_foreach(v, i, item) {
            if (walk(topic, item, path, size, ilen, why)) return -1;
        }
        path[plen] = '\0';
        return 0;
    }
    if (json_is_object(v)) {
        const char *key;
        json_t *item;
        json_object_foreach(v, key, item) {
            int n = snprintf(path + plen, size - plen, "%s%s", plen ? "." : "", shown_key(key));
            size_t klen = n > 0 && (size_t)n < size - plen ? plen + (size_t)n : plen;
            if (klen == plen) path[plen] = '\0'; /* too long: the parent's limits */
            if (walk(topic, item, path, size, klen, why)) return -1;
            path[plen] = '\0';
        }
        return 0;
    }
    return 0;
}

int hub_limits_check(const char *topic, json_t *doc, hub_reject *why)
{
    char path[256] = "";
    return walk(topic, doc, path, sizeof path, 0, why);
}
