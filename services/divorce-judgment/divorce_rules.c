#include "divorce_rules.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "hub_limits.h"
#include "hub_rules.h"

#define CLOCK_SKEW_MS (5 * 60 * 1000LL)
/* Earliest decision the hub registers: older judgments are archive work,
 * a date before this is an entry error. */
#define DECISION_MIN_YEAR 1960
/* Legal marriage age (Law on Marriage and Family 2014, art. 8). */
#define MARRIAGE_AGE_MAN 20
#define MARRIAGE_AGE_WOMAN 18
/* Children under 18 of the couple (version 2): above this, an entry error. */
#define MINOR_CHILDREN_MAX 30

/* Judgment kinds and the person-fact kind each one states. */
static const struct {
    const char *kind;
    const char *fact;
} kinds[] = {
    {"DIVORCE_JUDGMENT", "divorce"},
    {"CONSENSUAL_DIVORCE", "divorce"},
    {"MARRIAGE_ANNULMENT", "annulment"},
    {"REVIEW_CANCELLATION", "cancellation"},
};

/* One spouse as the record names them; pointers borrowed from the document. */
typedef struct spouse {
    const char *who;      /* "spouse_a" | "spouse_b" */
    json_t *obj;
    const char *sex_text; /* MALE | FEMALE | UNDETERMINED */
    hub_sex sex;          /* the record's sex; unknown for UNDETERMINED */
    const char *id;       /* NULL when the record gives none */
    hub_sex id_sex;       /* the ID's sex digit (when id) */
    int id_year;          /* the ID's year of birth (when id) */
    bool has_birth;
    int64_t birth_days;
} spouse;

static const char *sex_name(hub_sex s)
{
    return s == HUB_SEX_MALE ? "MALE" : s == HUB_SEX_FEMALE ? "FEMALE" : "UNDETERMINED";
}

static void reconcile_add(json_t *reconcile, const char *reason, const char *personal_id,
                          const char *detail)
{
    json_t *it = json_pack("{s:s, s:s}", "reason", reason, "detail", detail);
    if (personal_id) json_object_set_new(it, "personal_id", json_string(personal_id));
    json_array_append_new(reconcile, it);
}

/* Name, sex, date of birth and personal ID of one spouse; flags and
 * record-level reconciliation items for a missing ID or a sex that the ID
 * contradicts (kept: a court record is not refused for it). */
static int map_spouse(json_t *doc, spouse *sp, int64_t decision_days, json_t *row,
                      json_t *flags, json_t *reconcile, hub_reject *why)
{
    char col[64], key[64], text[160];
    const char *who = sp->who;
    sp->obj = json_object_get(doc, who);
    if (!json_is_object(sp->obj)) {
        hub_reject_set(why, "validation.name", "%s is required", who);
        return -1;
    }
    snprintf(col, sizeof col, "%s_name", who);
    snprintf(key, sizeof key, "%s_name_key", who);
    if (hub_rule_name(sp->obj, "name", who, true, row, col, key, why)) return -1;

    sp->sex_text = json_string_value(json_object_get(sp->obj, "sex"));
    if (!sp->sex_text || (strcmp(sp->sex_text, "MALE") && strcmp(sp->sex_text, "FEMALE") &&
                          strcmp(sp->sex_text, "UNDETERMINED"))) {
        hub_reject_set(why, "validation.sex", "%s.sex is not MALE, FEMALE or UNDETERMINED", who);
        return -1;
    }
    sp->sex = hub_sex_from_json(json_object_get(sp->obj, "sex"));
    snprintf(col, sizeof col, "%s_sex", who);
    json_object_set_new(row, col, json_string(sp->sex_text));

    int birth_year = 0;
    json_t *dob = json_object_get(sp->obj, "birth_date");
    if (dob && !json_is_null(dob)) {
        if (!hub_json_date(dob, &sp->birth_days)) {
            hub_reject_set(why, "validation.date", "%s.birth_date is not a date", who);
            return -1;
        }
        if (sp->birth_days >= decision_days) {
            hub_reject_set(why, "validation.spouse_birth_date",
                           "%s.birth_date is not before decision_date", who);
            return -1;
        }
        int m, d;
        hub_civil_from_days(sp->birth_days, &birth_year, &m, &d);
        sp->has_birth = true;
        snprintf(col, sizeof col, "%s_birth_date", who);
        json_object_set(row, col, dob);
    }

    /* Structure and year of birth only: the record's sex is compared below,
     * where a contradiction becomes a reconciliation item, not a refusal. */
    snprintf(col, sizeof col, "%s_personal_id", who);
    if (hub_rule_personal_id(sp->obj, "personal_id", who, HUB_SEX_UNKNOWN, birth_year, row, col,
                             why))
        return -1;
    sp->id = json_string_value(json_object_get(sp->obj, "personal_id"));
    if (!sp->id) {
        snprintf(col, sizeof col, "%s_personal_id_missing", who);
        hub_rule_flag(flags, col);
        snprintf(text, sizeof text, "%s has no personal ID", who);
        reconcile_add(reconcile, "spouse_unidentified", NULL, text);
        return 0;
    }
    if (!hub_pid_decode(sp->id, &sp->id_sex, &sp->id_year)) { /* checked above */
        hub_reject_set(why, "validation.personal_id", "%s.personal_id is not 12 digits", who);
        return -1;
    }
    if (sp->sex != HUB_SEX_UNKNOWN && sp->sex != sp->id_sex) {
        snprintf(col, sizeof col, "%s_sex_mismatch", who);
        hub_rule_flag(flags, col);
        snprintf(text, sizeof text, "%s: record says %s, ID sex digit says %s", who,
                 sex_name(sp->sex), sex_name(sp->id_sex));
        reconcile_add(reconcile, "spouse_sex_mismatch", sp->id, text);
    }
    return 0;
}

/* True when the spouse was certainly under the legal marriage age on the
 * registration date: from the date of birth, or, without one, from the
 * ID's year of birth (the age is at most the difference of the years). The
 * record's sex decides the age; without it the ID's; without both the
 * lower of the two ages. */
static bool under_marriage_age(const spouse *sp, int64_t registration_days)
{
    hub_sex sex = sp->sex != HUB_SEX_UNKNOWN ? sp->sex : sp->id ? sp->id_sex : HUB_SEX_UNKNOWN;
    int limit = sex == HUB_SEX_MALE ? MARRIAGE_AGE_MAN : MARRIAGE_AGE_WOMAN;
    if (sp->has_birth) return hub_age_years(sp->birth_days, registration_days) < limit;
    if (!sp->id) return false;
    int y, m, d;
    hub_civil_from_days(registration_days, &y, &m, &d);
    return y - sp->id_year < limit;
}

/* The marriage block: columns, the facts' `marriage` object (only the
 * fields given; NULL when the record names no marriage) and its checks. */
static int map_marriage(json_t *doc, const spouse *sp, int64_t decision_days, json_t *row,
                        json_t *flags, json_t **marriage_out, hub_reject *why)
{
    static const char *const fields[] = {"registration_number", "registration_date",
                                         "registry_office"};
    static const char *const cols[] = {"marriage_registration_number",
                                       "marriage_registration_date", "marriage_registry_office"};
    json_t *m = json_object_get(doc, "marriage");
    json_t *given = json_object();
    *marriage_out = NULL;
    for (size_t i = 0; i < 3; i++) {
        json_t *v = hub_rule_copy(m, fields[i], row, cols[i]);
        if (v && !json_is_null(v)) json_object_set(given, fields[i], v);
    }
    if (json_object_size(given) == 0) { /* no block, or one that says nothing */
        json_decref(given);
        hub_rule_flag(flags, "marriage_unknown");
        return 0;
    }
    json_t *reg = json_object_get(given, "registration_date");
    if (reg) {
        int64_t reg_days;
        if (!hub_json_date(reg, &reg_days)) {
            hub_reject_set(why, "validation.date", "marriage.registration_date is not a date");
            goto refuse;
        }
        if (reg_days >= decision_days) {
            hub_reject_set(why, "validation.marriage_date",
                           "marriage.registration_date is not before decision_date");
            goto refuse;
        }
        bool child = false;
        for (int i = 0; i < 2; i++) {
            if (sp[i].has_birth && reg_days <= sp[i].birth_days) {
                hub_reject_set(why, "validation.marriage_date",
                               "marriage.registration_date is not after %s.birth_date",
                               sp[i].who);
                goto refuse;
            }
            child = child || under_marriage_age(&sp[i], reg_days);
        }
        if (child) hub_rule_flag(flags, "child_marriage");
    }
    *marriage_out = given;
    return 0;
refuse:
    json_decref(given);
    return -1;
}

/* The person fact of one spouse (docs/linkage.md). */
static json_t *spouse_fact(const spouse *sp, const char *kind, json_t *effective_date,
                           json_t *row, const char *cancels, json_t *marriage)
{
    char col[64];
    json_t *f = json_pack("{s:o, s:s, s:s, s:O}", "personal_id",
                          sp->id ? json_string(sp->id) : json_null(), "role", sp->who, "kind",
                          kind, "effective_date", effective_date);
    if (sp->sex != HUB_SEX_UNKNOWN) json_object_set_new(f, "sex", json_string(sex_name(sp->sex)));
    if (sp->has_birth) json_object_set(f, "birth_date", json_object_get(sp->obj, "birth_date"));
    snprintf(col, sizeof col, "%s_name", sp->who);
    json_object_set(f, "name", json_object_get(row, col));
    snprintf(col, sizeof col, "%s_name_key", sp->who);
    json_object_set(f, "name_key", json_object_get(row, col));
    if (cancels) json_object_set_new(f, "cancels", json_string(cancels));
    if (marriage) json_object_set_new(f, "marriage", json_deep_copy(marriage));
    return f;
}

int divorce_map(json_t *doc, int64_t now_ms, json_t **row_out, hub_reject *why)
{
    json_t *row = json_object();
    json_t *flags = json_array();
    json_t *reconcile = json_array();
    json_t *facts = json_array();
    json_t *marriage = NULL;
    json_t *court = json_object_get(doc, "court");
    char cancels_key[512] = "";
    *row_out = NULL;

    if (hub_limits_check("divorce-judgment", doc, why)) goto refuse;
    json_t *minors = json_object_get(doc, "minor_children");
    if (json_is_integer(minors) &&
        (json_integer_value(minors) < 0 || json_integer_value(minors) > MINOR_CHILDREN_MAX)) {
        hub_reject_set(why, "validation.minor_children", "minor_children = %lld is outside 0..%d",
                       (long long)json_integer_value(minors), MINOR_CHILDREN_MAX);
        goto refuse;
    }
    const char *court_code = json_string_value(json_object_get(court, "code"));
    if (hub_rule_blank(court_code) || strchr(court_code, '/')) {
        hub_reject_set(why, "validation.court", "court.code is missing, empty or holds '/'");
        goto refuse;
    }
    bool has_name = json_is_string(json_object_get(court, "full_name"));
    if (!has_name ||
        hub_rule_name(court, "full_name", "court", true, row, "court_name", NULL, why)) {
        /* missing or blank is the court rule; invalid UTF-8 keeps its reason */
        if (!has_name || !strcmp(why->reason, "validation.name"))
            hub_reject_set(why, "validation.court", "court.name is missing or empty");
        goto refuse;
    }
    const char *number = json_string_value(json_object_get(doc, "judgment_number"));
    if (hub_rule_blank(number)) {
        hub_reject_set(why, "validation.judgment_number", "judgment_number is missing or empty");
        goto refuse;
    }
    hub_rule_copy(court, "code", row, "court_code");
    hub_rule_copy(doc, "judgment_number", row, "judgment_number");
    hub_rule_copy(doc, "event_id", row, "event_id");
    hub_rule_copy(doc, "source_system", row, "source_system");

    const char *kind = json_string_value(json_object_get(doc, "kind"));
    const char *fact_kind = NULL;
    for (size_t i = 0; kind && i < sizeof kinds / sizeof *kinds; i++)
        if (!strcmp(kind, kinds[i].kind)) fact_kind = kinds[i].fact;
    if (!fact_kind) {
        char show[40];
        hub_reject_set(why, "validation.kind", "kind %s is not a judgment kind",
                       hub_rule_shown(kind ? kind : "", show, sizeof show));
        goto refuse;
    }
    hub_rule_copy(doc, "kind", row, "kind");

    int64_t decision_days, effective_days, issued_ms;
    json_t *effective = json_object_get(doc, "effective_date");
    if (!hub_json_date(json_object_get(doc, "decision_date"), &decision_days) ||
        !hub_json_date(effective, &effective_days) ||
        !hub_json_timestamp(json_object_get(doc, "issued_at"), &issued_ms)) {
        hub_reject_set(why, "validation.date",
                       "decision_date, effective_date or issued_at is not a date / timestamp");
        goto refuse;
    }
    int64_t today = hub_local_days(now_ms);
    if (issued_ms > now_ms + CLOCK_SKEW_MS) {
        hub_reject_set(why, "validation.future_date", "issued_at is in the future");
        goto refuse;
    }
    if (decision_days > today || effective_days > today) {
        hub_reject_set(why, "validation.future_date", "%s is after today",
                       decision_days > today ? "decision_date" : "effective_date");
        goto refuse;
    }
    if (effective_days < decision_days) {
        hub_reject_set(why, "validation.effective_before_decision",
                       "effective_date is before decision_date");
        goto refuse;
    }
    /* A court coded TA<PP>.. of a province retired by the 2025 reform,
     * deciding since: stored and flagged, counted under the province it
     * belongs to today (docs/indicators.md, "Unit rule"). */
    if (!strncmp(court_code, "TA", 2) && isdigit((unsigned char)court_code[2]) &&
        isdigit((unsigned char)court_code[3])) {
        char pp[3] = {court_code[2], court_code[3], '\0'};
        if (hub_province_legacy_known(pp) && !hub_province_valid_on(pp, decision_days))
            hub_rule_flag(flags, "court.province_code_retired");
    }
    if (hub_local_days(issued_ms) < decision_days) {
        hub_reject_set(why, "validation.issued_before_decision",
                       "issued_at is before decision_date");
        goto refuse;
    }
    int y, m, d;
    hub_civil_from_days(decision_days, &y, &m, &d);
    if (y < DECISION_MIN_YEAR) {
        hub_reject_set(why, "validation.date", "decision_date is before %d", DECISION_MIN_YEAR);
        goto refuse;
    }
    hub_rule_copy(doc, "decision_date", row, "decision_date");
    hub_rule_copy(doc, "effective_date", row, "effective_date");
    hub_rule_copy(doc, "issued_at", row, "issued_at");

    /* A cancellation names the judgment it cancels by its business key;
     * nothing else names one. */
    json_t *cancels = json_object_get(doc, "cancels");
    bool is_cancellation = !strcmp(fact_kind, "cancellation");
    if (is_cancellation) {
        const char *cc = json_string_value(json_object_get(cancels, "court_code"));
        const char *cn = json_string_value(json_object_get(cancels, "judgment_number"));
        if (hub_rule_blank(cc) || hub_rule_blank(cn) || strchr(cc, '/')) {
            hub_reject_set(why, "validation.cancels",
                           "a REVIEW_CANCELLATION needs cancels.court_code and "
                           "cancels.judgment_number");
            goto refuse;
        }
        if (!strcmp(cc, court_code) && !strcmp(cn, number)) {
            hub_reject_set(why, "validation.cancels", "the judgment cancels itself");
            goto refuse;
        }
        int n = snprintf(cancels_key, sizeof cancels_key, "%s/%s", cc, cn);
        if (n < 0 || (size_t)n >= sizeof cancels_key) {
            hub_reject_set(why, "validation.cancels", "cancels names a key longer than %zu bytes",
                           sizeof cancels_key - 1);
            goto refuse;
        }
        hub_rule_copy(cancels, "court_code", row, "cancels_court_code");
        hub_rule_copy(cancels, "judgment_number", row, "cancels_judgment_number");
    } else if (cancels && !json_is_null(cancels)) {
        hub_reject_set(why, "validation.cancels", "a %s may not carry cancels", kind);
        goto refuse;
    }

    spouse sp[2] = {{.who = "spouse_a"}, {.who = "spouse_b"}};
    for (int i = 0; i < 2; i++)
        if (map_spouse(doc, &sp[i], decision_days, row, flags, reconcile, why)) goto refuse;
    if (sp[0].id && sp[1].id && !strcmp(sp[0].id, sp[1].id)) {
        hub_reject_set(why, "validation.spouses",
                       "spouse_a and spouse_b have the same personal ID");
        goto refuse;
    }
    if (sp[0].sex != HUB_SEX_UNKNOWN && sp[0].sex == sp[1].sex)
        hub_rule_flag(flags, "same_sex_record");

    if (map_marriage(doc, sp, decision_days, row, flags, &marriage, why)) goto refuse;

    /* One fact per spouse, identified or not (docs/linkage.md): the marriage
     * goes with a divorce or annulment, the cancelled key with a
     * cancellation. */
    for (int i = 0; i < 2; i++)
        json_array_append_new(facts, spouse_fact(&sp[i], fact_kind, effective, row,
                                                 is_cancellation ? cancels_key : NULL,
                                                 is_cancellation ? NULL : marriage));
    json_decref(marriage);

    hub_rule_finish(row, doc, facts, reconcile, flags);
    *row_out = row;
    return 0;
refuse:
    json_decref(facts);
    json_decref(reconcile);
    json_decref(flags);
    json_decref(row);
    return -1;
}
