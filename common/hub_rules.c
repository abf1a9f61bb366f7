#include "hub_rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub_text.h"

#define VN_UTC_OFFSET_MS (7 * 3600 * 1000LL)
#define DAY_MS 86400000LL

int64_t hub_local_days(int64_t epoch_ms)
{
    int64_t local = epoch_ms + VN_UTC_OFFSET_MS;
    return local >= 0 ? local / DAY_MS : -((-local + DAY_MS - 1) / DAY_MS);
}

bool hub_json_date(json_t *v, int64_t *days)
{
    int y, m, d;
    if (!json_is_string(v) || !hub_date_parse(json_string_value(v), &y, &m, &d)) return false;
    *days = hub_days_from_civil(y, m, d);
    return true;
}

bool hub_json_timestamp(json_t *v, int64_t *epoch_ms)
{
    return json_is_string(v) && hub_timestamp_parse(json_string_value(v), epoch_ms);
}

hub_sex hub_sex_from_json(json_t *v)
{
    const char *s = json_string_value(v);
    if (s && !strcmp(s, "MALE")) return HUB_SEX_MALE;
    if (s && !strcmp(s, "FEMALE")) return HUB_SEX_FEMALE;
    return HUB_SEX_UNKNOWN;
}

const char *hub_rule_shown(const char *s, char *buf, size_t size)
{
    size_t n = s ? strlen(s) : 0;
    bool plain = n > 0 && n <= 8;
    for (size_t i = 0; plain && i < n; i++) {
        char c = s[i];
        plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                c == '.' || c == '*' || c == '+' || c == '-' || c == '_';
    }
    if (plain) snprintf(buf, size, "'%s'", s);
    else snprintf(buf, size, "(%zu bytes, not shown)", n);
    return buf;
}

void hub_rule_flag(json_t *flags, const char *flag)
{
    json_array_append_new(flags, json_string(flag));
}

json_t *hub_rule_copy(json_t *obj, const char *field, json_t *row, const char *col)
{
    json_t *v = json_object_get(obj, field);
    if (v && !json_is_null(v)) json_object_set(row, col, v);
    return v;
}

int hub_rule_name(json_t *obj, const char *field, const char *path, bool required,
                  json_t *row, const char *col, const char *key_col, hub_reject *why)
{
    json_t *v = json_object_get(obj, field);
    if (!json_is_string(v)) {
        if (!required) return 0;
        hub_reject_set(why, "validation.name", "%s.%s is required", path, field);
        return -1;
    }
    char err[128];
    char *norm = hub_text_normalize_name(json_string_value(v), err, sizeof err);
    if (!norm) {
        hub_reject_set(why, "encoding.utf8", "%s.%s: %s", path, field, err);
        return -1;
    }
    if (!*norm) {
        free(norm);
        if (!required) {
            json_object_set_new(obj, field, json_null());
            return 0;
        }
        hub_reject_set(why, "validation.name", "%s.%s is empty", path, field);
        return -1;
    }
    char *key = key_col ? hub_text_match_key(norm, err, sizeof err) : NULL;
    json_object_set_new(obj, field, json_string(norm));
    json_object_set_new(row, col, json_string(norm));
    if (key) json_object_set_new(row, key_col, json_string(key));
    free(norm);
    free(key);
    return 0;
}

int hub_rule_personal_id(json_t *obj, const char *field, const char *path, hub_sex sex,
                         int birth_year, json_t *row, const char *col, hub_reject *why)
{
    json_t *v = json_object_get(obj, field);
    if (!json_is_string(v)) return 0;
    char err[256], masked[32];
    const char *id = json_string_value(v);
    hub_pid_result r = hub_pid_check(id, sex, birth_year, err, sizeof err);
    if (r != HUB_PID_OK) {
        hub_text_mask_id(id, masked, sizeof masked);
        hub_reject_set(why, "validation.personal_id", "%s.%s %s: %s: %s", path, field, masked,
                       hub_pid_result_name(r), err);
        return -1;
    }
    json_object_set(row, col, v);
    return 0;
}

int hub_rule_province(const char *code, const char *path, int64_t event_days, json_t *flags,
                      hub_reject *why)
{
    char flag[128], show[40];
    if (!code || !hub_province_legacy_known(code)) {
        hub_reject_set(why, "validation.province_code", "%s.province_code %s is not a province code",
                       path, hub_rule_shown(code ? code : "", show, sizeof show));
        return -1;
    }
    if (!hub_province_valid_on(code, event_days)) {
        snprintf(flag, sizeof flag, "%s.province_code_retired", path);
        hub_rule_flag(flags, flag);
    }
    return 0;
}

bool hub_rule_blank(const char *s)
{
    if (!s) return true;
    for (; *s; s++)
        if (!strchr(" \t\r\n", *s)) return false;
    return true;
}

void hub_rule_finish(json_t *row, json_t *doc, json_t *facts, json_t *reconcile, json_t *flags)
{
    json_object_set_new(row, "person_facts", facts);
    json_object_set_new(row, "reconcile", reconcile);
    json_object_set_new(row, "quality_flags", flags);
    json_object_set(row, "document", doc);
}
