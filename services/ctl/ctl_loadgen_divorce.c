/* crvsctl loadgen: divorce judgments and decisions. Mostly consensual
 * divorces and contested judgments, a few annulments, and cancellations on
 * review that name an earlier judgment of the same run; legal effect on the
 * decision day (consensual) or after the 30-day appeal period (contested);
 * receipt usually within a day of legal effect. */
#include <stdio.h>
#include <string.h>

#include "ctl_loadgen.h"

static json_t *spouse(gen *g, bool female, int64_t decision_days)
{
    char name[96], dob[16], pid[32];
    int age = female ? lg_bell(g, 35, 12) : lg_bell(g, 38, 12);
    if (age < (female ? 19 : 21)) age = female ? 19 : 21;
    int64_t dob_days = decision_days - (int64_t)age * 365 - lg_int(g, 0, 364);
    int y, m, d;
    hub_civil_from_days(dob_days, &y, &m, &d);
    lg_person_name(g, female, name, sizeof name);
    lg_date(dob_days, dob, sizeof dob);
    lg_personal_id(g, lg_birth_province(g), female, y, pid, sizeof pid);
    json_t *s = json_pack("{s:s, s:s, s:s}", "name", name, "birth_date", dob, "sex",
                          female ? "FEMALE" : "MALE");
    if (lg_int(g, 0, 99) < 97) json_object_set_new(s, "personal_id", json_string(pid));
    return s;
}

static int64_t days_of(json_t *v)
{
    int64_t days = 0;
    const char *s = json_string_value(v);
    int y, m, d;
    if (s && sscanf(s, "%4d-%2d-%2d", &y, &m, &d) == 3) days = hub_days_from_civil(y, m, d);
    return days;
}

static void set_date(json_t *obj, const char *field, int64_t days)
{
    char text[16];
    lg_date(days, text, sizeof text);
    json_object_set_new(obj, field, json_string(text));
}

/* The earlier judgment a cancellation on review can name, or NULL. */
static json_t *cancellable(gen *g)
{
    json_t *earlier = lg_recall(g);
    const char *kind = json_string_value(json_object_get(earlier, "kind"));
    return kind && strcmp(kind, "REVIEW_CANCELLATION") ? earlier : NULL;
}

static json_t *make_divorce(gen *g)
{
    char event_id[40], number[48], court_code[16], court_name[160], issued[32], system[32];
    int draw = lg_int(g, 0, 999);
    json_t *target = draw >= 995 ? cancellable(g) : NULL;
    const char *kind = target ? "REVIEW_CANCELLATION"
                       : draw < 550 ? "CONSENSUAL_DIVORCE"
                       : draw < 985 ? "DIVORCE_JUDGMENT"
                                    : "MARRIAGE_ANNULMENT";
    int64_t decision = g->reference_days - lg_int(g, 31, 730);
    if (target) { /* on review, some months after the judgment it cancels */
        decision = days_of(json_object_get(target, "effective_date")) + lg_int(g, 30, 120);
        if (decision > g->reference_days) decision = g->reference_days;
    }
    int64_t effective = !strcmp(kind, "CONSENSUAL_DIVORCE") || target ? decision : decision + 30;
    if (effective > g->reference_days) effective = g->reference_days;
    /* receipt: mostly the same day, a tail of days */
    int delay_h = lg_int(g, 0, 99) < 80 ? lg_int(g, 1, 20) : lg_int(g, 24, 24 * 20);
    int64_t effective_ms = effective * 86400 * 1000LL + 2 * 3600 * 1000LL - 7 * 3600 * 1000LL;
    hub_timestamp_format(lg_issue_after(g, effective_ms, delay_h), issued, sizeof issued);

    const char *province = lg_province(g, decision);
    int area = lg_int(g, 1, 12);
    snprintf(court_code, sizeof court_code, "TA%s%02d", province, area);
    snprintf(court_name, sizeof court_name, "Tòa án nhân dân khu vực %d - %s", area,
             lg_province_name(province, decision));
    int y, m, d;
    hub_civil_from_days(decision, &y, &m, &d);
    snprintf(number, sizeof number, "%ld/%d/%s", g->next_number++, y,
             !strcmp(kind, "CONSENSUAL_DIVORCE") ? "QĐST-HNGĐ"
             : target                             ? "QĐ-GĐT"
                                                  : "HNGĐ-ST");
    snprintf(system, sizeof system, "court-%s", province);
    lg_event_id(g, event_id, sizeof event_id);

    json_t *doc = json_pack("{s:s, s:s, s:{s:s, s:s}, s:s, s:s, s:s}", "event_id", event_id,
                            "source_system", system, "court", "code", court_code, "name",
                            court_name, "judgment_number", number, "kind", kind, "issued_at",
                            issued);
    set_date(doc, "decision_date", decision);
    set_date(doc, "effective_date", effective);
    if (target) {
        json_object_set(doc, "spouse_a", json_object_get(target, "spouse_a"));
        json_object_set(doc, "spouse_b", json_object_get(target, "spouse_b"));
        json_object_set_new(doc, "cancels",
                            json_pack("{s:O, s:O}", "court_code",
                                      json_object_get(json_object_get(target, "court"), "code"),
                                      "judgment_number", json_object_get(target, "judgment_number")));
        return doc;
    }
    json_t *wife = spouse(g, true, decision), *husband = spouse(g, false, decision);
    bool wife_first = lg_int(g, 0, 99) < 70; /* the petitioner is spouse_a; wives file most */
    json_object_set_new(doc, "spouse_a", wife_first ? wife : husband);
    json_object_set_new(doc, "spouse_b", wife_first ? husband : wife);
    if (lg_int(g, 0, 99) < 85) {
        int64_t oldest = decision - 365 * 30, youngest_dob = days_of(json_object_get(wife, "birth_date"));
        int64_t hdob = days_of(json_object_get(husband, "birth_date"));
        if (hdob > youngest_dob) youngest_dob = hdob;
        int64_t earliest = youngest_dob + 365 * 21;
        if (earliest < oldest) earliest = oldest;
        int64_t registered = earliest + lg_int(g, 0, (int)(decision - 60 - earliest > 0 ? decision - 60 - earliest : 0));
        char reg[32], office[96];
        hub_civil_from_days(registered, &y, &m, &d);
        snprintf(reg, sizeof reg, "%d/%d", lg_int(g, 1, 400), y);
        snprintf(office, sizeof office, "UBND xã %d, %s", lg_int(g, 1, 150),
                 lg_province_name(lg_province(g, registered), registered));
        json_t *marriage = json_pack("{s:s, s:s}", "registration_number", reg, "registry_office", office);
        set_date(marriage, "registration_date", registered);
        json_object_set_new(doc, "marriage", marriage);
    }
    return doc;
}

/* A correction: the court re-issues the record with the effective date
 * fixed a day later. */
static void correct_divorce(gen *g, json_t *doc)
{
    int64_t effective = days_of(json_object_get(doc, "effective_date")) + lg_int(g, 1, 2);
    if (effective <= g->reference_days) set_date(doc, "effective_date", effective);
    else json_object_set_new(doc, "source_system", json_string("court-reissued"));
}

static json_t *spoil_divorce(gen *g, json_t *doc)
{
    json_t *bad = json_deep_copy(doc);
    switch (lg_int(g, 0, 2)) {
    case 0: /* legal effect before the decision */
        set_date(bad, "effective_date", days_of(json_object_get(bad, "decision_date")) - 10);
        break;
    case 1: json_object_set_new(bad, "decision_date", json_string("2099-01-01")); break;
    default: { /* both spouses with one ID */
        json_t *a = json_object_get(bad, "spouse_a"), *b = json_object_get(bad, "spouse_b");
        json_object_set_new(a, "personal_id", json_string("001090000001"));
        json_object_set_new(b, "personal_id", json_string("001090000001"));
        break;
    }
    }
    char num[48];
    snprintf(num, sizeof num, "X%ld/2026/HNGĐ-ST", g->next_number++);
    json_object_set_new(bad, "judgment_number", json_string(num));
    return bad;
}

const lg_kind lg_divorces = {"divorce-judgment", make_divorce, correct_divorce, spoil_divorce};
