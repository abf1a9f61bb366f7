#include "civil_rules.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "hub_limits.h"
#include "hub_rules.h"

#define CLOCK_SKEW_MS (5 * 60 * 1000LL)
#define REGISTRATION_YEAR_MIN 1900

/* What each kind of registration names: the persons' roles with how many
 * of each, and the source document it is made from. */
typedef struct role_count {
    const char *role;
    int min, max;
} role_count;

static const struct {
    const char *kind;
    role_count roles[3];
    const char *source; /* the source document's kind; NULL: none */
    int limit_days;     /* the registration's time limit; 0: none */
    bool event_date_required;
} kinds[] = {
    {"BIRTH", {{"CHILD", 1, 1}, {"MOTHER", 0, 1}, {"FATHER", 0, 1}}, "BIRTH_CERTIFICATE",
     HUB_BIRTH_REGISTRATION_DAYS, true},
    {"DEATH", {{"DECEASED", 1, 1}}, "DEATH_NOTICE", HUB_DEATH_REGISTRATION_DAYS, true},
    {"MARRIAGE", {{"SPOUSE", 2, 2}}, NULL, 0, false},
    {"DIVORCE", {{"SPOUSE", 2, 2}}, "COURT_JUDGMENT", 0, false},
};
#define N_KINDS (sizeof kinds / sizeof *kinds)

static bool commune_code(const char *s)
{
    if (!s || strlen(s) != 5) return false;
    for (int i = 0; i < 5; i++)
        if (!isdigit((unsigned char)s[i])) return false;
    return true;
}

/* A date field that may be absent (false only when given and not a date). */
static bool optional_date(json_t *v, bool *given, int64_t *days)
{
    *given = v && !json_is_null(v);
    return !*given || hub_json_date(v, days);
}

/* The persons: roles against the kind, names normalised, personal IDs
 * checked, the typed columns of the subject (the child or the deceased),
 * the parents and the spouses. */
static int map_persons(json_t *doc, size_t k, json_t *row, bool *subject_id, hub_reject *why)
{
    json_t *persons = json_object_get(doc, "persons");
    int counts[3] = {0, 0, 0};
    int spouses = 0;
    json_t *p;
    size_t i;
    json_array_foreach(persons, i, p) {
        const char *role = json_string_value(json_object_get(p, "role"));
        int r = -1;
        for (int j = 0; j < 3 && kinds[k].roles[j].role; j++)
            if (role && !strcmp(role, kinds[k].roles[j].role)) r = j;
        if (r < 0) {
            char show[40];
            hub_reject_set(why, "validation.persons", "persons[%zu].role %s does not belong to a %s registration",
                           i, hub_rule_shown(role ? role : "", show, sizeof show), kinds[k].kind);
            return -1;
        }
        counts[r]++;

        char path[32];
        snprintf(path, sizeof path, "persons[%zu]", i);
        bool named_role = strcmp(role, "MOTHER") && strcmp(role, "FATHER");
        json_t *scratch = json_object();
        int rc = hub_rule_name(p, "name", path, named_role, scratch, "name", NULL, why);
        json_decref(scratch);
        if (rc) return -1;

        int64_t birth_days = 0;
        bool has_birth;
        if (!optional_date(json_object_get(p, "birth_date"), &has_birth, &birth_days)) {
            hub_reject_set(why, "validation.date", "%s.birth_date is not a date", path);
            return -1;
        }
        int birth_year = 0, m, d;
        if (has_birth) hub_civil_from_days(birth_days, &birth_year, &m, &d);
        const char *col = NULL;
        char spouse_col[32];
        if (!strcmp(role, "CHILD") || !strcmp(role, "DECEASED")) col = "subject_personal_id";
        else if (!strcmp(role, "MOTHER")) col = "mother_personal_id";
        else if (!strcmp(role, "FATHER")) col = "father_personal_id";
        else {
            snprintf(spouse_col, sizeof spouse_col, "spouse_%c_personal_id", 'a' + spouses++);
            col = spouse_col;
        }
        if (hub_rule_personal_id(p, "personal_id", path, hub_sex_from_json(json_object_get(p, "sex")),
                                 birth_year, row, col, why))
            return -1;
        if (!strcmp(col, "subject_personal_id")) {
            *subject_id = json_is_string(json_object_get(p, "personal_id"));
            if (has_birth) json_object_set(row, "subject_birth_date", json_object_get(p, "birth_date"));
        }
    }
    for (int j = 0; j < 3 && kinds[k].roles[j].role; j++) {
        const role_count *rc = &kinds[k].roles[j];
        if (counts[j] < rc->min || counts[j] > rc->max) {
            if (rc->min == rc->max)
                hub_reject_set(why, "validation.persons", "a %s registration names %d %s, expected %d",
                               kinds[k].kind, counts[j], rc->role, rc->min);
            else
                hub_reject_set(why, "validation.persons",
                               "a %s registration names %d %s, expected at most %d",
                               kinds[k].kind, counts[j], rc->role, rc->max);
            return -1;
        }
    }
    return 0;
}

/* The source document: of the kind the registration is made from, its
 * issuer code usable as the first part of that feed's business key. */
static int map_source(json_t *doc, size_t k, json_t *row, json_t *flags, hub_reject *why)
{
    json_t *src = json_object_get(doc, "source_document");
    if (!json_is_object(src)) {
        if (kinds[k].source) hub_rule_flag(flags, "source_document_missing");
        return 0;
    }
    const char *kind = json_string_value(json_object_get(src, "kind"));
    if (!kinds[k].source || !kind || strcmp(kind, kinds[k].source)) {
        char show[40];
        hub_reject_set(why, "validation.source_document",
                       "a %s registration is not made from a source_document of kind %s",
                       kinds[k].kind, hub_rule_shown(kind ? kind : "", show, sizeof show));
        return -1;
    }
    const char *issuer = json_string_value(json_object_get(src, "issuer_code"));
    const char *number = json_string_value(json_object_get(src, "number"));
    if (hub_rule_blank(issuer) || strchr(issuer, '/') || hub_rule_blank(number)) {
        hub_reject_set(why, "validation.source_document",
                       "source_document.issuer_code or number is missing or empty, or the issuer "
                       "code holds '/'");
        return -1;
    }
    json_object_set(row, "source_kind", json_object_get(src, "kind"));
    json_object_set(row, "source_issuer", json_object_get(src, "issuer_code"));
    json_object_set(row, "source_number", json_object_get(src, "number"));
    return 0;
}

int civil_map(json_t *doc, int64_t now_ms, json_t **row_out, hub_reject *why)
{
    json_t *row = json_object();
    json_t *flags = json_array();
    *row_out = NULL;

    if (hub_limits_check("civil-registration", doc, why)) goto refuse;
    json_t *office = json_object_get(doc, "office");
    const char *code = json_string_value(json_object_get(office, "commune_code"));
    if (!commune_code(code)) {
        char show[40];
        hub_reject_set(why, "validation.office", "office.commune_code %s is not a 5-digit commune code",
                       hub_rule_shown(code ? code : "", show, sizeof show));
        goto refuse;
    }
    if (hub_rule_blank(json_string_value(json_object_get(office, "name")))) {
        hub_reject_set(why, "validation.office", "office.name is missing or empty");
        goto refuse;
    }
    if (hub_rule_blank(json_string_value(json_object_get(doc, "registration_number")))) {
        hub_reject_set(why, "validation.registration_number",
                       "registration_number is missing or empty");
        goto refuse;
    }
    const char *kind = json_string_value(json_object_get(doc, "kind"));
    size_t k = N_KINDS;
    for (size_t i = 0; kind && i < N_KINDS; i++)
        if (!strcmp(kind, kinds[i].kind)) k = i;
    if (k == N_KINDS) {
        char show[40];
        hub_reject_set(why, "validation.kind", "kind %s is not a registration kind",
                       hub_rule_shown(kind ? kind : "", show, sizeof show));
        goto refuse;
    }
    const char *status = json_string_value(json_object_get(doc, "status"));
    if (!status || (strcmp(status, "REGISTERED") && strcmp(status, "CANCELLED"))) {
        hub_reject_set(why, "validation.status", "status is not REGISTERED or CANCELLED");
        goto refuse;
    }

    int64_t reg_days, event_days = 0, issued_ms;
    bool has_event;
    if (!hub_json_date(json_object_get(doc, "registration_date"), &reg_days) ||
        !hub_json_timestamp(json_object_get(doc, "issued_at"), &issued_ms) ||
        !optional_date(json_object_get(doc, "event_date"), &has_event, &event_days)) {
        hub_reject_set(why, "validation.date",
                       "registration_date, event_date or issued_at is not a date / timestamp");
        goto refuse;
    }
    int y, m, d;
    hub_civil_from_days(reg_days, &y, &m, &d);
    if (y < REGISTRATION_YEAR_MIN) {
        hub_reject_set(why, "validation.date", "registration_date is before %d",
                       REGISTRATION_YEAR_MIN);
        goto refuse;
    }
    int64_t today = hub_local_days(now_ms);
    if (issued_ms > now_ms + CLOCK_SKEW_MS || reg_days > today || (has_event && event_days > today)) {
        hub_reject_set(why, "validation.future_date", "%s is in the future",
                       issued_ms > now_ms + CLOCK_SKEW_MS ? "issued_at"
                       : reg_days > today                ? "registration_date"
                                                         : "event_date");
        goto refuse;
    }
    if (hub_local_days(issued_ms) < reg_days) {
        hub_reject_set(why, "validation.issued_before_registration",
                       "issued_at is before registration_date");
        goto refuse;
    }
    if (!has_event && kinds[k].event_date_required) {
        hub_reject_set(why, "validation.event_date", "a %s registration needs event_date",
                       kinds[k].kind);
        goto refuse;
    }
    if (has_event && event_days > reg_days) {
        hub_reject_set(why, "validation.event_date", "event_date is after registration_date");
        goto refuse;
    }

    hub_rule_copy(office, "commune_code", row, "office_code");
    hub_rule_copy(office, "name", row, "office_name");
    hub_rule_copy(doc, "registration_number", row, "registration_number");
    hub_rule_copy(doc, "kind", row, "kind");
    hub_rule_copy(doc, "status", row, "status");
    hub_rule_copy(doc, "registration_date", row, "registration_date");
    hub_rule_copy(doc, "event_date", row, "event_date");
    hub_rule_copy(doc, "issued_at", row, "issued_at");
    hub_rule_copy(doc, "event_id", row, "event_id");
    hub_rule_copy(doc, "source_system", row, "source_system");
    json_t *late = json_object_get(doc, "late_registration");
    bool is_late = json_is_true(late);
    json_object_set_new(row, "late_registration", json_boolean(is_late));

    bool subject_id = false;
    if (map_persons(doc, k, row, &subject_id, why)) goto refuse;
    if (!strcmp(kinds[k].kind, "BIRTH")) {
        /* The child's date of birth is the event's. */
        const char *given = json_string_value(json_object_get(row, "subject_birth_date"));
        const char *event = json_string_value(json_object_get(doc, "event_date"));
        if (given && (!event || strcmp(given, event))) {
            hub_reject_set(why, "validation.event_date",
                           "the child's birth_date is not the registration's event_date");
            goto refuse;
        }
        json_object_set(row, "subject_birth_date", json_object_get(doc, "event_date"));
    }
    if (kinds[k].event_date_required && !subject_id) /* a birth or a death */
        hub_rule_flag(flags, "subject_personal_id_missing");
    if (map_source(doc, k, row, flags, why)) goto refuse;

    if (kinds[k].limit_days && has_event) {
        bool over = reg_days - event_days > kinds[k].limit_days;
        if (over && !is_late) hub_rule_flag(flags, "late_registration_unstated");
        if (!over && is_late) hub_rule_flag(flags, "late_registration_inconsistent");
    }

    hub_rule_finish(row, doc, json_array(), json_array(), flags);
    *row_out = row;
    return 0;
refuse:
    json_decref(row);
    json_decref(flags);
    return -1;
}
