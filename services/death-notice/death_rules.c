#include "death_rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub_icd10.h"
#include "hub_limits.h"
#include "hub_rules.h"

/* Bounds. Hard bounds refuse the record; the perinatal ones only flag it
 * (those details are secondary on a death notice and often estimated). */
#define CLOCK_SKEW_MS (5 * 60 * 1000LL)
#define DEATH_YEAR_MIN 1900
#define AGE_MAX 130
#define PART1_LINES_MAX 4 /* lines a-d of the WHO form */
#define GESTATION_MIN 18
#define GESTATION_MAX 46
#define WEIGHT_MIN 200
#define WEIGHT_MAX 8000
#define MOTHER_AGE_MIN 10
#define MOTHER_AGE_MAX 65
/* Perinatal values outside these are no measurement at all: refused. */
#define GESTATION_HARD_MAX 50
#define WEIGHT_HARD_MAX 10000
#define MOTHER_AGE_HARD_MAX 100

/* The manners of death whose cause is an external one (chapter XX). */
static bool manner_external(const char *m)
{
    static const char *const external[] = {"ACCIDENT", "INTENTIONAL_SELF_HARM", "ASSAULT",
                                           "LEGAL_INTERVENTION", "WAR"};
    for (size_t i = 0; m && i < sizeof external / sizeof *external; i++)
        if (!strcmp(m, external[i])) return true;
    return false;
}

/* Checks obj[field] (an ICD-10 code, may be absent or null) and writes it
 * back normalised. `code` receives the canonical code, "" when absent. A
 * blank string is what some systems send for "not coded": it is absent and
 * becomes null. */
static int check_code(json_t *obj, const char *field, const char *path, char *code,
                      hub_reject *why)
{
    code[0] = '\0';
    json_t *v = json_object_get(obj, field);
    if (!json_is_string(v)) return 0;
    char err[128], show[40];
    const char *in = json_string_value(v);
    if (in[strspn(in, " \t\r\n")] == '\0') {
        json_object_set_new(obj, field, json_null());
        return 0;
    }
    if (hub_icd10_parse(in, code, HUB_ICD10_SIZE, err, sizeof err) != HUB_ICD10_OK) {
        hub_reject_set(why, "validation.icd10", "%s %s: %s", path, hub_rule_shown(in, show, sizeof show),
                       err);
        code[0] = '\0';
        return -1;
    }
    json_object_set_new(obj, field, json_string(code));
    return 0;
}

/* Part I (1..4 lines) and Part II: every code checked and normalised; the
 * codes are collected in `codes` (an array of strings) for the underlying
 * cause. */
static int map_causes(json_t *doc, json_t *codes, hub_reject *why)
{
    json_t *part1 = json_object_get(doc, "part1");
    size_t n1 = json_is_array(part1) ? json_array_size(part1) : 0;
    if (n1 < 1 || n1 > PART1_LINES_MAX) {
        hub_reject_set(why, "validation.cause_chain", "part1 has %zu lines, expected 1..%d", n1,
                       PART1_LINES_MAX);
        return -1;
    }
    static const char *const parts[] = {"part1", "part2"};
    for (size_t p = 0; p < 2; p++) {
        json_t *lines = json_object_get(doc, parts[p]), *line;
        size_t i;
        json_array_foreach(lines, i, line) {
            char path[48], code[HUB_ICD10_SIZE];
            snprintf(path, sizeof path, "%s[%zu].icd10", parts[p], i);
            if (check_code(line, "icd10", path, code, why)) return -1;
            if (*code) json_array_append_new(codes, json_string(code));
        }
    }
    return 0;
}

/* The underlying cause: checked, matched against the certificate's codes,
 * typed columns and quality flags. */
static int map_underlying(json_t *doc, json_t *codes, const char *sex, const char *pregnancy,
                          json_t *row, json_t *flags, hub_reject *why)
{
    char code[HUB_ICD10_SIZE], cat[4];
    if (check_code(doc, "underlying_cause", "underlying_cause", code, why)) return -1;
    if (!*code) {
        hub_rule_flag(flags, "underlying_cause_missing");
        return 0;
    }
    bool found = false;
    size_t i;
    json_t *c;
    json_array_foreach(codes, i, c) found = found || hub_icd10_same_category(code, json_string_value(c));
    if (!found) {
        hub_reject_set(why, "validation.underlying_cause",
                       "underlying_cause %s is not among the codes of part1, part2 or "
                       "injury.external_cause (compared by 3-character category)",
                       code);
        return -1;
    }
    hub_icd10_category(code, cat, sizeof cat);
    json_object_set_new(row, "underlying_cause", json_string(code));
    json_object_set_new(row, "underlying_category", json_string(cat));
    json_object_set_new(row, "underlying_chapter",
                        json_string(hub_icd10_chapter_roman(hub_icd10_chapter(code))));
    if (hub_icd10_is_ill_defined(code)) hub_rule_flag(flags, "underlying_cause_ill_defined");
    if (hub_icd10_is_injury(code)) hub_rule_flag(flags, "underlying_cause_injury");
    if (hub_icd10_is_maternal(code) &&
        ((sex && !strcmp(sex, "MALE")) ||
         (pregnancy && (!strcmp(pregnancy, "NOT_PREGNANT") || !strcmp(pregnancy, "NOT_APPLICABLE")))))
        hub_rule_flag(flags, "maternal_cause_inconsistent");
    return 0;
}

/* Injury details for an external manner, and the external cause code as a
 * candidate for the underlying cause. Never refuses: the details are often
 * completed later by the investigation. */
static void map_injury(json_t *doc, const char *manner, json_t *codes, json_t *flags)
{
    json_t *injury = json_object_get(doc, "injury");
    json_t *ext = json_object_get(injury, "external_cause");
    if (manner_external(manner) &&
        !json_is_string(json_object_get(injury, "date")) && !json_is_string(ext) &&
        !json_is_string(json_object_get(injury, "description")))
        hub_rule_flag(flags, "injury_details_missing");
    if (!json_is_string(ext)) return;
    char code[HUB_ICD10_SIZE];
    if (hub_icd10_normalize(json_string_value(ext), code, sizeof code) &&
        hub_icd10_is_external(code)) {
        json_object_set_new(injury, "external_cause", json_string(code));
        json_array_append_new(codes, json_string(code));
    } else {
        hub_rule_flag(flags, "injury_external_cause_invalid");
    }
}

/* perinatal.<field> outside 0..max: "validation.perinatal". */
static int refuse_outside(json_t *peri, const char *field, int max, hub_reject *why)
{
    json_t *v = json_object_get(peri, field);
    if (!json_is_integer(v) || (json_integer_value(v) >= 0 && json_integer_value(v) <= max))
        return 0;
    return hub_reject_set(why, "validation.perinatal", "perinatal.%s = %lld is outside 0..%d",
                          field, (long long)json_integer_value(v), max);
}

static void flag_outside(json_t *obj, const char *field, int lo, int hi, const char *flag,
                         json_t *flags)
{
    json_t *v = json_object_get(obj, field);
    if (json_is_integer(v) && (json_integer_value(v) < lo || json_integer_value(v) > hi))
        hub_rule_flag(flags, flag);
}

/* The deceased: name, sex, date of birth and age, personal ID, residence;
 * writes the person fact or the reconciliation item. */
static int map_deceased(json_t *dec, int64_t death_days, const char *death_date, json_t *row,
                        json_t *flags, json_t *facts, json_t *reconcile, hub_reject *why)
{
    int death_y, m, d;
    hub_civil_from_days(death_days, &death_y, &m, &d);

    if (hub_rule_name(dec, "name", "deceased", false, row, "deceased_name", "deceased_name_key",
                      why))
        return -1;
    json_t *sex_v = hub_rule_copy(dec, "sex", row, "deceased_sex");
    hub_sex sex = hub_sex_from_json(sex_v);

    int birth_year = 0, computed_age = -1;
    json_t *dob_v = json_object_get(dec, "birth_date");
    if (json_is_string(dob_v)) {
        int64_t dob;
        if (!hub_json_date(dob_v, &dob)) {
            hub_reject_set(why, "validation.date", "deceased.birth_date is not a date");
            return -1;
        }
        if (dob > death_days) {
            hub_reject_set(why, "validation.death_before_birth",
                           "deceased.birth_date is after the date of death");
            return -1;
        }
        hub_civil_from_days(dob, &birth_year, &m, &d);
        computed_age = hub_age_years(dob, death_days);
        if (computed_age > AGE_MAX) {
            hub_reject_set(why, "validation.age",
                           "age at death from deceased.birth_date is %d, above %d", computed_age,
                           AGE_MAX);
            return -1;
        }
        json_object_set(row, "deceased_birth_date", dob_v);
    }
    json_t *age_v = json_object_get(dec, "age_years");
    if (json_is_integer(age_v)) {
        json_int_t age = json_integer_value(age_v);
        if (age < 0 || age > AGE_MAX) {
            hub_reject_set(why, "validation.age", "deceased.age_years = %lld is outside 0..%d",
                           (long long)age, AGE_MAX);
            return -1;
        }
        if (computed_age >= 0 && llabs(age - computed_age) > 1)
            hub_rule_flag(flags, "age_inconsistent");
        json_object_set(row, "age_years", age_v);
    } else if (computed_age >= 0) {
        json_object_set_new(row, "age_years", json_integer(computed_age));
    }

    if (hub_rule_personal_id(dec, "personal_id", "deceased", sex, birth_year, row,
                             "deceased_personal_id", why))
        return -1;
    json_t *id = json_object_get(dec, "personal_id");
    if (json_is_string(id)) {
        /* Without a date of birth the ID's year must still fit the stated
         * age: born in the death year less the age, or the year before. */
        hub_sex id_sex;
        int id_year;
        if (birth_year == 0 && json_is_integer(age_v) &&
            hub_pid_decode(json_string_value(id), &id_sex, &id_year)) {
            int from_age = death_y - (int)json_integer_value(age_v);
            if (id_year != from_age && id_year != from_age - 1)
                hub_rule_flag(flags, "age_inconsistent");
        }
        json_t *fact = json_pack("{s:O, s:s, s:s, s:s}", "personal_id", id, "role", "deceased",
                                 "kind", "death", "effective_date", death_date);
        if (sex != HUB_SEX_UNKNOWN) json_object_set(fact, "sex", sex_v);
        if (json_is_string(dob_v)) json_object_set(fact, "birth_date", dob_v);
        if (json_is_string(json_object_get(row, "deceased_name"))) {
            json_object_set(fact, "name", json_object_get(row, "deceased_name"));
            json_object_set(fact, "name_key", json_object_get(row, "deceased_name_key"));
        }
        json_array_append_new(facts, fact);
    } else {
        hub_rule_flag(flags, "personal_id_missing");
        json_array_append_new(reconcile,
                              json_pack("{s:s, s:s}", "reason", "deceased_unidentified", "detail",
                                        "death notice without a personal ID"));
    }

    json_t *res = json_object_get(dec, "residence");
    if (json_is_object(res)) {
        const char *prov = json_string_value(json_object_get(res, "province_code"));
        if (hub_rule_province(prov, "deceased.residence", death_days, flags, why)) return -1;
        hub_rule_copy(res, "province_code", row, "residence_province_code");
        hub_rule_copy(res, "commune_code", row, "residence_commune_code");
    }
    return 0;
}

int death_map(json_t *doc, int64_t now_ms, json_t **row_out, hub_reject *why)
{
    json_t *row = json_object();
    json_t *flags = json_array();
    json_t *facts = json_array();
    json_t *reconcile = json_array();
    json_t *codes = json_array();
    json_t *facility = json_object_get(doc, "facility");
    json_t *place = json_object_get(doc, "place");
    int64_t death_ms, issued_ms;
    *row_out = NULL;

    if (hub_limits_check("death-notice", doc, why)) goto refuse;
    hub_rule_copy(doc, "notice_number", row, "notice_number");
    hub_rule_copy(doc, "event_id", row, "event_id");
    hub_rule_copy(doc, "source_system", row, "source_system");
    hub_rule_copy(facility, "code", row, "facility_code");
    if (hub_rule_name(facility, "name", "facility", true, row, "facility_name", NULL, why))
        goto refuse;

    if (!hub_json_timestamp(json_object_get(doc, "death_time"), &death_ms) ||
        !hub_json_timestamp(json_object_get(doc, "issued_at"), &issued_ms)) {
        hub_reject_set(why, "validation.date", "death_time or issued_at is not a timestamp");
        goto refuse;
    }
    if (death_ms > now_ms + CLOCK_SKEW_MS) {
        hub_reject_set(why, "validation.future_date", "death_time is in the future");
        goto refuse;
    }
    if (issued_ms > now_ms + CLOCK_SKEW_MS) {
        hub_reject_set(why, "validation.future_date", "issued_at is in the future");
        goto refuse;
    }
    if (issued_ms < death_ms) {
        hub_reject_set(why, "validation.issued_before_death", "issued_at is before death_time");
        goto refuse;
    }
    int64_t death_days = hub_local_days(death_ms);
    int y, m, d;
    hub_civil_from_days(death_days, &y, &m, &d);
    if (y < DEATH_YEAR_MIN) {
        hub_reject_set(why, "validation.date", "death_time is before %d", DEATH_YEAR_MIN);
        goto refuse;
    }
    char date[40];
    snprintf(date, sizeof date, "%04d-%02d-%02d", y, m, d);
    json_object_set(row, "issued_at", json_object_get(doc, "issued_at"));
    json_object_set(row, "death_time", json_object_get(doc, "death_time"));
    json_object_set_new(row, "death_date", json_string(date));

    if (map_deceased(json_object_get(doc, "deceased"), death_days, date, row, flags, facts,
                     reconcile, why))
        goto refuse;

    const char *kind = json_string_value(hub_rule_copy(place, "kind", row, "place_kind"));
    hub_rule_copy(place, "facility_code", row, "place_facility_code");
    hub_rule_copy(place, "commune_code", row, "place_commune_code");
    if (hub_rule_province(json_string_value(json_object_get(place, "province_code")), "place",
                          death_days, flags, why))
        goto refuse;
    hub_rule_copy(place, "province_code", row, "place_province_code");
    if (kind && !strcmp(kind, "HEALTH_FACILITY") &&
        !json_is_string(json_object_get(place, "facility_code")))
        hub_rule_flag(flags, "place_facility_code_missing");

    const char *manner = json_string_value(hub_rule_copy(doc, "manner", row, "manner"));
    json_t *preg = json_object_get(doc, "pregnancy");
    json_object_set_new(row, "pregnancy", json_string(json_is_string(preg)
                                                          ? json_string_value(preg)
                                                          : "UNKNOWN"));
    if (map_causes(doc, codes, why)) goto refuse;
    json_t *injury_date = json_object_get(json_object_get(doc, "injury"), "date");
    int64_t injury_days;
    if (json_is_string(injury_date) &&
        (!hub_json_date(injury_date, &injury_days) || injury_days > death_days)) {
        hub_reject_set(why, "validation.injury_date",
                       "injury.date is not a date on or before the date of death");
        goto refuse;
    }
    map_injury(doc, manner, codes, flags);
    if (map_underlying(doc, codes, json_string_value(json_object_get(row, "deceased_sex")),
                       json_string_value(json_object_get(row, "pregnancy")), row, flags, why))
        goto refuse;

    json_t *peri = json_object_get(doc, "perinatal");
    if (refuse_outside(peri, "gestation_weeks", GESTATION_HARD_MAX, why) ||
        refuse_outside(peri, "birth_weight_grams", WEIGHT_HARD_MAX, why) ||
        refuse_outside(peri, "mother_age_years", MOTHER_AGE_HARD_MAX, why))
        goto refuse;
    flag_outside(peri, "gestation_weeks", GESTATION_MIN, GESTATION_MAX,
                 "perinatal_gestation_implausible", flags);
    flag_outside(peri, "birth_weight_grams", WEIGHT_MIN, WEIGHT_MAX, "perinatal_weight_implausible",
                 flags);
    flag_outside(peri, "mother_age_years", MOTHER_AGE_MIN, MOTHER_AGE_MAX,
                 "perinatal_mother_age_implausible", flags);

    json_decref(codes);
    hub_rule_finish(row, doc, facts, reconcile, flags);
    *row_out = row;
    return 0;
refuse:
    json_decref(codes);
    json_decref(reconcile);
    json_decref(facts);
    json_decref(flags);
    json_decref(row);
    return -1;
}
