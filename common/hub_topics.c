#include "hub_topics.h"

#include <stdio.h>
#include <string.h>

static const hub_topic_info topics[] = {
    {"birth-certificate", "birth_certificate", {"facility.code", "certificate_number"},
     {"facility_code", "certificate_number"}},
    {"death-notice", "death_notice", {"facility.code", "notice_number"},
     {"facility_code", "notice_number"}},
    {"divorce-judgment", "divorce_judgment", {"court.code", "judgment_number"},
     {"court_code", "judgment_number"}},
    {"civil-registration", "civil_registration", {"office.commune_code", "registration_number"},
     {"office_code", "registration_number"}},
};

const hub_topic_info *hub_topic_find(const char *topic)
{
    for (size_t i = 0; i < sizeof topics / sizeof *topics; i++)
        if (strcmp(topics[i].topic, topic) == 0) return &topics[i];
    return NULL;
}

const hub_topic_info *hub_topic_at(size_t i)
{
    return i < sizeof topics / sizeof *topics ? &topics[i] : NULL;
}

json_t *hub_json_path(json_t *doc, const char *path)
{
    char part[128];
    while (doc && *path) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        if (n >= sizeof part) return NULL;
        memcpy(part, path, n);
        part[n] = '\0';
        doc = json_object_get(doc, part);
        path += n + (dot ? 1 : 0);
    }
    return doc;
}

int hub_topic_key(const hub_topic_info *t, json_t *doc, char *out, size_t out_size,
                  char *errstr, size_t errstr_size)
{
    const char *parts[2];
    for (int i = 0; i < 2; i++) {
        parts[i] = json_string_value(hub_json_path(doc, t->key_path[i]));
        if (!parts[i] || !*parts[i]) {
            snprintf(errstr, errstr_size, "key field %s is missing or empty", t->key_path[i]);
            return -1;
        }
        /* The key splits at its first '/': judgment numbers such as
         * "12/2026/QĐST-HNGĐ" keep theirs, the issuer code may not. */
        if (i == 0 && strchr(parts[i], '/')) {
            snprintf(errstr, errstr_size, "key field %s may not contain '/'", t->key_path[i]);
            return -1;
        }
    }
    int n = snprintf(out, out_size, "%s/%s", parts[0], parts[1]);
    if (n < 0 || (size_t)n >= out_size) {
        snprintf(errstr, errstr_size, "business key longer than %zu bytes", out_size - 1);
        return -1;
    }
    return 0;
}
