#include "birth_rules.h"

#include <stdio.h>
#include <string.h>

#include "hub_limits.h"
#include "hub_rules.h"

/* Bounds. Hard bounds refuse the record (a value outside them is an entry
 * error, not a rare birth); soft bounds keep it with a quality flag. */
#define CLOCK_SKEW_MS (5 * 60 * 1000LL)
#define WEIGHT_HARD_MIN 200
#define WEIGHT_HARD_MAX 8000
#define WEIGHT_SOFT_MIN 500
#define WEIGHT_SOFT_MAX 6000
#define GESTATION_HARD_MIN 18
#define GESTATION_HARD_MAX 46
#define GESTATION_SOFT_MIN 22
#define GESTATION_SOFT_MAX 44
#define MOTHER_AGE_HARD_MIN 10
#define MOTHER_AGE_HARD_MAX 65
#define MOTHER_AGE_SOFT_MIN 13
#define MOTHER_AGE_SOFT_MAX 55
#define PLURALITY_MAX 8
#define APGAR_MIN 0
#define APGAR_MAX 10

static int check_range(json_t *v, const char *path, const char *reason, int hard_min,
                       int hard_max, int soft_min, int soft_max, const char *flag,
                       json_t *flags, hub_reject *why)
{
    if (!json_is_integer(v)) return 0;
    json_int_t n = json_integer_value(v);
    if (n < hard_min || n > hard_max) {
        hub_reject_set(why, reason, "%s = %lld is outside %d..%d", path, (long long)n, hard_min,
                       hard_max);
        return -1;
    }
    if (n < soft_min || n > soft_max) hub_rule_flag(flags, flag);
    return 0;
}

/* Mother or father: name, IDs and residence. `sex` is the parent's sex;
 * a parent with a personal ID adds an identity fact to `facts`. */
static int map_parent(json_t *p, const char *who, hub_sex sex, int64_t birth_days,
                      const char *birth_date, bool required, json_t *row, json_t *flags,
                      json_t *facts, hub_reject *why)
{
    char col[64], key[64];
    if (!json_is_object(p)) {
        if (!required) return 0;
        hub_reject_set(why, "validation.mother", "%s is required", who);
        return -1;
    }
    snprintf(col, sizeof col, "%s_name", who);
    snprintf(key, sizeof key, "%s_name_key", who);
    if (hub_rule_name(p, "name", who, true, row, col, key, why)) return -1;

    int64_t dob = 0;
    int birth_year = 0;
    json_t *dob_v = json_object_get(p, "birth_date");
    if (json_is_string(dob_v)) {
        if (!hub_json_date(dob_v, &dob)) {
            hub_reject_set(why, "validation.date", "%s.birth_date is not a date", who);
            return -1;
        }
        if (dob >= birth_days) {
            hub_reject_set(why, "validation.parent_birth_date",
                           "%s.birth_date is not before the child's birth", who);
            return -1;
        }
        int m, d;
        hub_civil_from_days(dob, &birth_year, &m, &d);
        snprintf(col, sizeof col, "%s_birth_date", who);
        json_object_set(row, col, dob_v);
        int age = hub_age_years(dob, birth_days);
        if (sex == HUB_SEX_FEMALE) {
            json_t *age_v = json_integer(age);
            int rc = check_range(age_v, "mother's age at the birth", "validation.mother_age",
                                 MOTHER_AGE_HARD_MIN, MOTHER_AGE_HARD_MAX, MOTHER_AGE_SOFT_MIN,
                                 MOTHER_AGE_SOFT_MAX, "mother_age_unusual", flags, why);
            json_object_set_new(row, "mother_age_at_birth", age_v);
            if (rc) return -1;
        }
    }
    snprintf(col, sizeof col, "%s_personal_id", who);
    if (hub_rule_personal_id(p, "personal_id", who, sex, birth_year, row, col, why)) return -1;
    if (!json_is_string(json_object_get(p, "personal_id"))) {
        snprintf(col, sizeof col, "%s_personal_id_missing", who);
        hub_rule_flag(flags, col);
    }
    json_t *id = json_object_get(p, "personal_id");
    if (json_is_string(id)) {
        /* Identity fact for the person registry (docs/linkage.md). */
        json_t *fact = json_pack("{s:O, s:s, s:s, s:s, s:s}", "personal_id", id, "role", who,
                                 "kind", "identity", "effective_date", birth_date,
                                 "sex", sex == HUB_SEX_FEMALE ? "FEMALE" : "MALE");
        json_object_set(fact, "birth_date", json_object_get(p, "birth_date"));
        json_object_set(fact, "name", json_object_get(p, "name"));
        snprintf(key, sizeof key, "%s_name_key", who);
        json_object_set(fact, "name_key", json_object_get(row, key));
        json_array_append_new(facts, fact);
    }
    snprintf(col, sizeof col, "%s_nationality", who);
    hub_rule_copy(p, "nationality", row, col);
    if (sex == HUB_SEX_FEMALE) hub_rule_copy(p, "ethnic_group", row, "mother_ethnicity");

    json_t *res = json_object_get(p, "residence");
    if (sex == HUB_SEX_FEMALE && json_is_object(res)) {
        char path[64];
        snprintf(path, sizeof path, "%s.residence", who);
        const char *prov = json_string_value(json_object_get(res, "province_code"));
        if (hub_rule_province(prov, path, birth_days, flags, why)) return -1;
        hub_rule_copy(res, "province_code", row, "mother_province_code");
        hub_rule_copy(res, "commune_code", row, "mother_commune_code");
    }
    return 0;
}

int birth_map(json_t *doc, int64_t now_ms, json_t **row_out, hub_reject *why)
{
    json_t *row = json_object();
    json_t *flags = json_array();
    json_t *facts = json_array();
    json_t *child = json_object_get(doc, "child");
    json_t *place = json_object_get(child, "place");
    json_t *facility = json_object_get(doc, "facility");
    int64_t birth_ms, issued_ms;
    *row_out = NULL;

    if (hub_limits_check("birth-certificate", doc, why)) goto refuse;
    hub_rule_copy(doc, "certificate_number", row, "certificate_number");
    hub_rule_copy(doc, "event_id", row, "event_id");
    hub_rule_copy(doc, "source_system", row, "source_system");
    hub_rule_copy(facility, "code", row, "facility_code");
    if (hub_rule_name(facility, "name", "facility", true, row, "facility_name", NULL, why))
        goto refuse;

    if (!hub_json_timestamp(json_object_get(child, "birth_time"), &birth_ms) ||
        !hub_json_timestamp(json_object_get(doc, "issued_at"), &issued_ms)) {
        hub_reject_set(why, "validation.date", "child.birth_time or issued_at is not a timestamp");
        goto refuse;
    }
    if (birth_ms > now_ms + CLOCK_SKEW_MS) {
        hub_reject_set(why, "validation.future_date", "child.birth_time is in the future");
        goto refuse;
    }
    if (issued_ms > now_ms + CLOCK_SKEW_MS) {
        hub_reject_set(why, "validation.future_date", "issued_at is in the future");
        goto refuse;
    }
    if (issued_ms < birth_ms) {
        hub_reject_set(why, "validation.issued_before_birth",
                       "issued_at is before child.birth_time");
        goto refuse;
    }
    int64_t birth_days = hub_local_days(birth_ms);
    int y, m, d;
    hub_civil_from_days(birth_days, &y, &m, &d);
    if (y < 1900) {
        hub_reject_set(why, "validation.date", "child.birth_time is before 1900");
        goto refuse;
    }
    char date[40];
    snprintf(date, sizeof date, "%04d-%02d-%02d", y, m, d);
    json_object_set(row, "issued_at", json_object_get(doc, "issued_at"));
    json_object_set(row, "birth_time", json_object_get(child, "birth_time"));
    json_object_set_new(row, "birth_date", json_string(date));

    if (hub_rule_name(child, "name", "child", false, row, "child_name", "child_name_key", why))
        goto refuse;
    if (!json_is_string(json_object_get(child, "name"))) hub_rule_flag(flags, "child_name_missing");
    hub_rule_copy(child, "sex", row, "child_sex");

    const char *kind = json_string_value(json_object_get(place, "kind"));
    hub_rule_copy(place, "kind", row, "place_kind");
    hub_rule_copy(place, "facility_code", row, "place_facility_code");
    hub_rule_copy(place, "commune_code", row, "place_commune_code");
    const char *province = json_string_value(json_object_get(place, "province_code"));
    if (hub_rule_province(province, "child.place", birth_days, flags, why)) goto refuse;
    hub_rule_copy(place, "province_code", row, "place_province_code");
    if (kind && !strcmp(kind, "HEALTH_FACILITY") &&
        !json_is_string(json_object_get(place, "facility_code")))
        hub_rule_flag(flags, "place_facility_code_missing");

    if (check_range(hub_rule_copy(child, "weight_grams", row, "weight_grams"),
                    "child.weight_grams", "validation.weight", WEIGHT_HARD_MIN, WEIGHT_HARD_MAX,
                    WEIGHT_SOFT_MIN, WEIGHT_SOFT_MAX, "weight_unusual", flags, why))
        goto refuse;
    if (check_range(hub_rule_copy(child, "gestation_weeks", row, "gestation_weeks"),
                    "child.gestation_weeks", "validation.gestation", GESTATION_HARD_MIN,
                    GESTATION_HARD_MAX, GESTATION_SOFT_MIN, GESTATION_SOFT_MAX,
                    "gestation_unusual", flags, why))
        goto refuse;
    if (check_range(json_object_get(child, "apgar_5min"), "child.apgar_5min", "validation.apgar",
                    APGAR_MIN, APGAR_MAX, APGAR_MIN, APGAR_MAX, NULL, flags, why))
        goto refuse;
    json_int_t plurality = json_integer_value(hub_rule_copy(child, "plurality", row, "plurality"));
    json_int_t order = json_integer_value(hub_rule_copy(child, "birth_order", row, "birth_order"));
    if (plurality < 1 || plurality > PLURALITY_MAX || order < 1 || order > plurality) {
        hub_reject_set(why, "validation.plurality",
                       "child.birth_order %lld of plurality %lld is impossible", (long long)order,
                       (long long)plurality);
        goto refuse;
    }

    if (map_parent(json_object_get(doc, "mother"), "mother", HUB_SEX_FEMALE, birth_days, date,
                   true, row, flags, facts, why))
        goto refuse;
    if (map_parent(json_object_get(doc, "father"), "father", HUB_SEX_MALE, birth_days, date,
                   false, row, flags, facts, why))
        goto refuse;

    hub_rule_finish(row, doc, facts, json_array(), flags);
    *row_out = row;
    return 0;
refuse:
    json_decref(facts);
    json_decref(flags);
    json_decref(row);
    return -1;
}
