/* The divorce-judgment rules: what is refused, what is flagged, what the
 * registry row, its person facts and its reconciliation items hold. The
 * clock is fixed at 2026-11-20T00:00:00Z (07:00 on the 20th in Vietnam). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "divorce_rules.h"
#include "rules_test.h"

#define NOW_MS 1795132800000LL /* 2026-11-20T00:00:00Z */
#define ID_A "001088012345"    /* Hà Nội, man born 1988 */
#define ID_B "079190054321"    /* Hồ Chí Minh, woman born 1990 */

static const char *base =
    "{\"event_id\":\"e-1\",\"source_system\":\"qlva-hn\","
    "\"court\":{\"code\":\"TAND-HN\",\"full_name\":\"  Tòa án nhân dân   TP Hà Nội \"},"
    "\"judgment_number\":\"12/2026/QĐST-HNGĐ\",\"kind\":\"DIVORCE_JUDGMENT\","
    "\"decision_date\":\"2026-03-02\",\"effective_date\":\"2026-04-02\","
    "\"issued_at\":\"2026-04-03T02:00:00.000Z\","
    "\"spouse_a\":{\"personal_id\":\"" ID_A "\",\"name\":\"Nguye\u0302\u0303n  Văn An\","
    "\"birth_date\":\"1988-04-12\",\"sex\":\"MALE\"},"
    "\"spouse_b\":{\"personal_id\":\"" ID_B "\",\"name\":\"Trần Thị\u00a0Bình\","
    "\"birth_date\":\"1990-09-30\",\"sex\":\"FEMALE\"},"
    "\"marriage\":{\"registration_number\":\"45/2012\",\"registration_date\":\"2012-05-20\","
    "\"registry_office\":\"UBND phường Bến Nghé\"},"
    "\"cancels\":null}";

static json_t *doc(void) { return json_loads(base, 0, NULL); }

static void set(json_t *d, const char *obj, const char *field, json_t *v)
{
    json_object_set_new(obj ? json_object_get(d, obj) : d, field, v);
}

static json_t *ref(const char *court, const char *number)
{
    return json_pack("{s:s, s:s}", "court_code", court, "judgment_number", number);
}

static json_t *map_ok(json_t *d)
{
    json_t *row = NULL;
    hub_reject why = {{0}, {0}};
    int rc = divorce_map(d, NOW_MS, &row, &why);
    if (rc != 0) fail_msg("refused: %s: %s", why.reason, why.message);
    assert_non_null(row);
    /* always present, possibly empty */
    assert_true(json_is_array(json_object_get(row, "person_facts")));
    assert_true(json_is_array(json_object_get(row, "reconcile")));
    assert_true(json_is_array(json_object_get(row, "quality_flags")));
    return row;
}

static json_t *fact(json_t *row, size_t i)
{
    return json_array_get(json_object_get(row, "person_facts"), i);
}

static void valid_judgment_maps_to_row(void **state)
{
    (void)state;
    json_t *d = doc();
    json_t *row = map_ok(d);
    assert_string_equal(str(row, "court_code"), "TAND-HN");
    assert_string_equal(str(row, "court_name"), "Tòa án nhân dân TP Hà Nội");
    assert_string_equal(str(row, "judgment_number"), "12/2026/QĐST-HNGĐ");
    assert_string_equal(str(row, "kind"), "DIVORCE_JUDGMENT");
    assert_string_equal(str(row, "decision_date"), "2026-03-02");
    assert_string_equal(str(row, "effective_date"), "2026-04-02");
    assert_string_equal(str(row, "issued_at"), "2026-04-03T02:00:00.000Z");
    assert_string_equal(str(row, "event_id"), "e-1");
    assert_string_equal(str(row, "source_system"), "qlva-hn");
    assert_string_equal(str(row, "spouse_a_personal_id"), ID_A);
    assert_string_equal(str(row, "spouse_a_name"), "Nguyễn Văn An");
    assert_string_equal(str(row, "spouse_a_name_key"), "NGUYEN VAN AN");
    assert_string_equal(str(row, "spouse_a_birth_date"), "1988-04-12");
    assert_string_equal(str(row, "spouse_a_sex"), "MALE");
    assert_string_equal(str(row, "spouse_b_personal_id"), ID_B);
    assert_string_equal(str(row, "spouse_b_name"), "Trần Thị Bình");
    assert_string_equal(str(row, "spouse_b_name_key"), "TRAN THI BINH");
    assert_string_equal(str(row, "spouse_b_birth_date"), "1990-09-30");
    assert_string_equal(str(row, "spouse_b_sex"), "FEMALE");
    assert_string_equal(str(row, "marriage_registration_number"), "45/2012");
    assert_string_equal(str(row, "marriage_registration_date"), "2012-05-20");
    assert_string_equal(str(row, "marriage_registry_office"), "UBND phường Bến Nghé");
    assert_null(json_object_get(row, "cancels_court_code"));
    assert_null(json_object_get(row, "cancels_judgment_number"));
    assert_int_equal(json_array_size(json_object_get(row, "quality_flags")), 0);
    assert_int_equal(json_array_size(json_object_get(row, "reconcile")), 0);

    /* One divorce fact per spouse, dated by the legal effect. */
    assert_int_equal(json_array_size(json_object_get(row, "person_facts")), 2);
    json_t *a = fact(row, 0), *b = fact(row, 1);
    assert_string_equal(str(a, "personal_id"), ID_A);
    assert_string_equal(str(a, "role"), "spouse_a");
    assert_string_equal(str(a, "kind"), "divorce");
    assert_string_equal(str(a, "effective_date"), "2026-04-02");
    assert_string_equal(str(a, "sex"), "MALE");
    assert_string_equal(str(a, "birth_date"), "1988-04-12");
    assert_string_equal(str(a, "name"), "Nguyễn Văn An");
    assert_string_equal(str(a, "name_key"), "NGUYEN VAN AN");
    assert_null(json_object_get(a, "cancels"));
    json_t *m = json_object_get(a, "marriage");
    assert_string_equal(str(m, "registration_number"), "45/2012");
    assert_string_equal(str(m, "registration_date"), "2012-05-20");
    assert_string_equal(str(m, "registry_office"), "UBND phường Bến Nghé");
    assert_string_equal(str(b, "personal_id"), ID_B);
    assert_string_equal(str(b, "role"), "spouse_b");
    assert_string_equal(str(b, "sex"), "FEMALE");
    assert_string_equal(str(b, "name_key"), "TRAN THI BINH");
    assert_true(json_is_object(json_object_get(b, "marriage")));

    /* the stored document carries the normalised names */
    json_t *stored = json_object_get(row, "document");
    assert_string_equal(json_string_value(at(stored, "spouse_a", "name")), "Nguyễn Văn An");
    assert_string_equal(json_string_value(at(stored, "court", "full_name")),
                        "Tòa án nhân dân TP Hà Nội");
    json_decref(row);
    json_decref(d);
}

static void kinds_state_their_facts(void **state)
{
    (void)state;
    json_t *d, *row;

    d = doc();
    set(d, NULL, "kind", json_string("CONSENSUAL_DIVORCE"));
    row = map_ok(d);
    assert_string_equal(str(fact(row, 0), "kind"), "divorce");
    assert_string_equal(str(fact(row, 1), "kind"), "divorce");
    json_decref(row);
    json_decref(d);

    d = doc();
    set(d, NULL, "kind", json_string("MARRIAGE_ANNULMENT"));
    row = map_ok(d);
    assert_string_equal(str(row, "kind"), "MARRIAGE_ANNULMENT");
    assert_string_equal(str(fact(row, 0), "kind"), "annulment");
    assert_string_equal(str(fact(row, 1), "kind"), "annulment");
    assert_string_equal(str(json_object_get(fact(row, 1), "marriage"), "registration_number"),
                        "45/2012");
    assert_null(json_object_get(fact(row, 0), "cancels"));
    json_decref(row);
    json_decref(d);

    /* A cancellation names the cancelled judgment by its business key (the
     * judgment number keeps its '/'); the marriage is the cancelled
     * judgment's business, not the cancellation's. */
    d = doc();
    set(d, NULL, "kind", json_string("REVIEW_CANCELLATION"));
    set(d, NULL, "judgment_number", json_string("3/2026/QĐ-GĐT"));
    set(d, NULL, "cancels",
        ref("TAND-HN", "12/2025/QĐST-HNGĐ"));
    row = map_ok(d);
    assert_string_equal(str(row, "cancels_court_code"), "TAND-HN");
    assert_string_equal(str(row, "cancels_judgment_number"), "12/2025/QĐST-HNGĐ");
    for (size_t i = 0; i < 2; i++) {
        json_t *f = fact(row, i);
        assert_string_equal(str(f, "kind"), "cancellation");
        assert_string_equal(str(f, "cancels"), "TAND-HN/12/2025/QĐST-HNGĐ");
        assert_string_equal(str(f, "effective_date"), "2026-04-02");
        assert_null(json_object_get(f, "marriage"));
    }
    json_decref(row);
    json_decref(d);
}

static void expect_refused(json_t *d, const char *reason)
{
    json_t *row = NULL;
    hub_reject why = {{0}, {0}};
    int rc = divorce_map(d, NOW_MS, &row, &why);
    if (rc != -1) fail_msg("accepted, expected %s", reason);
    assert_null(row);
    assert_string_equal(why.reason, reason);
    assert_true(why.message[0] != '\0');
    /* a refusal message never holds a full ID or a name */
    assert_null(strstr(why.message, ID_A));
    assert_null(strstr(why.message, ID_B));
    assert_null(strstr(why.message, "Nguy"));
    assert_null(strstr(why.message, "Bình"));
    json_decref(d);
}

static void court_and_number_are_required(void **state)
{
    (void)state;
    json_t *d;

    d = doc();
    set(d, "court", "code", json_string(""));
    expect_refused(d, "validation.court");
    d = doc(); /* the key splits at the first '/' */
    set(d, "court", "code", json_string("TAND/HN"));
    expect_refused(d, "validation.court");
    d = doc();
    set(d, "court", "full_name", json_string(" \u00a0 "));
    expect_refused(d, "validation.court");
    d = doc();
    json_object_del(json_object_get(d, "court"), "full_name");
    expect_refused(d, "validation.court");
    d = doc(); /* invalid UTF-8 keeps its own reason */
    set(d, "court", "full_name", json_string_nocheck("To\xff" "a"));
    expect_refused(d, "encoding.utf8");
    d = doc();
    set(d, NULL, "judgment_number", json_string(""));
    expect_refused(d, "validation.judgment_number");
    d = doc();
    set(d, NULL, "judgment_number", json_string("  "));
    expect_refused(d, "validation.judgment_number");
    d = doc();
    set(d, NULL, "kind", json_string("SEPARATION"));
    expect_refused(d, "validation.kind");
}

static void dates_are_checked(void **state)
{
    (void)state;
    json_t *d, *row;

    d = doc();
    set(d, NULL, "decision_date", json_string("2026-02-30"));
    expect_refused(d, "validation.date");
    d = doc();
    set(d, NULL, "issued_at", json_string("2026-04-03 09:00")); /* no offset: ambiguous */
    expect_refused(d, "validation.date");
    d = doc();
    set(d, NULL, "decision_date", json_string("1959-12-31"));
    set(d, NULL, "effective_date", json_string("1960-01-31"));
    expect_refused(d, "validation.date");

    d = doc(); /* more than 5 minutes ahead of the clock */
    set(d, NULL, "issued_at", json_string("2026-11-20T00:06:00Z"));
    expect_refused(d, "validation.future_date");
    d = doc(); /* tomorrow, local time */
    set(d, NULL, "effective_date", json_string("2026-11-21"));
    set(d, NULL, "issued_at", json_string("2026-11-19T00:00:00Z"));
    expect_refused(d, "validation.future_date");
    d = doc();
    set(d, NULL, "decision_date", json_string("2026-11-21"));
    set(d, NULL, "effective_date", json_string("2026-11-21"));
    expect_refused(d, "validation.future_date");

    /* within the clock skew, and dated today: accepted */
    d = doc();
    set(d, NULL, "issued_at", json_string("2026-11-20T00:04:00Z"));
    set(d, NULL, "decision_date", json_string("2026-11-20"));
    set(d, NULL, "effective_date", json_string("2026-11-20"));
    row = map_ok(d);
    json_decref(row);
    json_decref(d);

    d = doc();
    set(d, NULL, "effective_date", json_string("2026-03-01"));
    expect_refused(d, "validation.effective_before_decision");

    /* 16:30Z on 1 March is 23:30 on 1 March in Vietnam: before the decision */
    d = doc();
    set(d, NULL, "issued_at", json_string("2026-03-01T16:30:00Z"));
    expect_refused(d, "validation.issued_before_decision");
    /* 17:30Z is 00:30 on 2 March: the decision's day */
    d = doc();
    set(d, NULL, "effective_date", json_string("2026-03-02"));
    set(d, NULL, "issued_at", json_string("2026-03-01T17:30:00Z"));
    row = map_ok(d);
    json_decref(row);
    json_decref(d);
}

static void cancels_goes_with_cancellations_only(void **state)
{
    (void)state;
    json_t *d;

    d = doc();
    set(d, NULL, "kind", json_string("REVIEW_CANCELLATION"));
    expect_refused(d, "validation.cancels");
    d = doc();
    set(d, NULL, "kind", json_string("REVIEW_CANCELLATION"));
    set(d, NULL, "cancels", ref("TAND-HN", ""));
    expect_refused(d, "validation.cancels");
    d = doc(); /* a cancellation cannot cancel itself */
    set(d, NULL, "kind", json_string("REVIEW_CANCELLATION"));
    set(d, NULL, "cancels",
        ref("TAND-HN", "12/2026/QĐST-HNGĐ"));
    expect_refused(d, "validation.cancels");
    d = doc();
    set(d, NULL, "cancels", ref("TAND-HN", "1/2020"));
    expect_refused(d, "validation.cancels");
}

static void spouses_are_checked(void **state)
{
    (void)state;
    json_t *d;

    d = doc();
    set(d, "spouse_b", "personal_id", json_string(ID_A));
    set(d, "spouse_b", "birth_date", json_null());
    expect_refused(d, "validation.spouses");
    d = doc();
    set(d, "spouse_b", "name", json_string("   "));
    expect_refused(d, "validation.name");
    d = doc();
    set(d, "spouse_a", "sex", json_string("X"));
    expect_refused(d, "validation.sex");
    d = doc();
    set(d, "spouse_a", "birth_date", json_string("1988-13-01"));
    expect_refused(d, "validation.date");
    d = doc();
    set(d, "spouse_a", "birth_date", json_string("2026-03-02"));
    set(d, "spouse_a", "personal_id", json_null());
    expect_refused(d, "validation.spouse_birth_date");
    d = doc(); /* 11 digits */
    set(d, "spouse_a", "personal_id", json_string("00108801234"));
    expect_refused(d, "validation.personal_id");
    d = doc(); /* province 99 does not exist */
    set(d, "spouse_a", "personal_id", json_string("099088012345"));
    expect_refused(d, "validation.personal_id");
    d = doc(); /* the ID says 1987, the record 1988 */
    set(d, "spouse_a", "personal_id", json_string("001087012345"));
    expect_refused(d, "validation.personal_id");
}

static void marriage_dates_are_checked(void **state)
{
    (void)state;
    json_t *d;

    d = doc();
    set(d, "marriage", "registration_date", json_string("2026-03-02"));
    expect_refused(d, "validation.marriage_date");
    d = doc(); /* before spouse_b was born */
    set(d, "marriage", "registration_date", json_string("1990-01-01"));
    expect_refused(d, "validation.marriage_date");
    d = doc();
    set(d, "marriage", "registration_date", json_string("20/05/2012"));
    expect_refused(d, "validation.date");
}

static bool has_item(json_t *row, const char *reason, const char *id, const char *detail)
{
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(row, "reconcile"), i, it) {
        if (strcmp(str(it, "reason"), reason) || strcmp(str(it, "detail"), detail)) continue;
        if (id ? !str(it, "personal_id") || strcmp(str(it, "personal_id"), id)
               : json_object_get(it, "personal_id") != NULL)
            continue;
        return true;
    }
    return false;
}

static void sex_contradiction_is_kept_and_reconciled(void **state)
{
    (void)state;
    json_t *d = doc();
    /* the ID's sex digit (0) says male; the record says female */
    set(d, "spouse_a", "sex", json_string("FEMALE"));
    json_t *row = map_ok(d);
    assert_int_equal(json_array_size(json_object_get(row, "reconcile")), 1);
    assert_true(has_item(row, "spouse_sex_mismatch", ID_A,
                         "spouse_a: record says FEMALE, ID sex digit says MALE"));
    assert_true(has_flag(row, "spouse_a_sex_mismatch"));
    /* both spouses female on the record */
    assert_true(has_flag(row, "same_sex_record"));
    /* the fact keeps the record's sex; the registry takes the ID's */
    assert_string_equal(str(fact(row, 0), "sex"), "FEMALE");
    assert_string_equal(str(row, "spouse_a_sex"), "FEMALE");
    json_decref(row);
    json_decref(d);

    d = doc(); /* spouse_b: the ID says female, the record male */
    set(d, "spouse_b", "sex", json_string("MALE"));
    row = map_ok(d);
    assert_true(has_item(row, "spouse_sex_mismatch", ID_B,
                         "spouse_b: record says MALE, ID sex digit says FEMALE"));
    assert_true(has_flag(row, "same_sex_record"));
    json_decref(row);
    json_decref(d);

    /* UNDETERMINED contradicts nothing and is no fact sex */
    d = doc();
    set(d, "spouse_a", "sex", json_string("UNDETERMINED"));
    row = map_ok(d);
    assert_int_equal(json_array_size(json_object_get(row, "reconcile")), 0);
    assert_false(has_flag(row, "same_sex_record"));
    assert_null(json_object_get(fact(row, 0), "sex"));
    assert_string_equal(str(row, "spouse_a_sex"), "UNDETERMINED");
    json_decref(row);
    json_decref(d);
}

static void unidentified_spouses(void **state)
{
    (void)state;
    json_t *d = doc();
    set(d, "spouse_b", "personal_id", json_null());
    json_t *row = map_ok(d);
    assert_true(has_flag(row, "spouse_b_personal_id_missing"));
    assert_false(has_flag(row, "spouse_a_personal_id_missing"));
    assert_null(json_object_get(row, "spouse_b_personal_id"));
    assert_int_equal(json_array_size(json_object_get(row, "reconcile")), 1);
    assert_true(has_item(row, "spouse_unidentified", NULL, "spouse_b has no personal ID"));
    /* the unidentified spouse still states the judgment's fact, without ID */
    assert_int_equal(json_array_size(json_object_get(row, "person_facts")), 2);
    json_t *b = fact(row, 1);
    assert_true(json_is_null(json_object_get(b, "personal_id")));
    assert_string_equal(str(b, "role"), "spouse_b");
    assert_string_equal(str(b, "kind"), "divorce");
    assert_string_equal(str(b, "name_key"), "TRAN THI BINH");
    assert_true(json_is_object(json_object_get(b, "marriage")));
    json_decref(row);
    json_decref(d);

    /* a cancellation whose spouses are unknown still names its judgment */
    d = doc();
    set(d, NULL, "kind", json_string("REVIEW_CANCELLATION"));
    set(d, NULL, "judgment_number", json_string("7/2026/QĐ-GĐT"));
    set(d, NULL, "cancels", ref("TAND-HCM", "5/2024"));
    set(d, "spouse_a", "personal_id", json_null());
    set(d, "spouse_b", "personal_id", json_null());
    row = map_ok(d);
    assert_true(has_flag(row, "spouse_a_personal_id_missing"));
    assert_true(has_flag(row, "spouse_b_personal_id_missing"));
    assert_true(has_item(row, "spouse_unidentified", NULL, "spouse_a has no personal ID"));
    assert_true(has_item(row, "spouse_unidentified", NULL, "spouse_b has no personal ID"));
    for (size_t i = 0; i < 2; i++) {
        assert_true(json_is_null(json_object_get(fact(row, i), "personal_id")));
        assert_string_equal(str(fact(row, i), "cancels"), "TAND-HCM/5/2024");
    }
    json_decref(row);
    json_decref(d);
}

static void marriage_flags(void **state)
{
    (void)state;
    json_t *d, *row;

    d = doc(); /* no marriage block */
    set(d, NULL, "marriage", json_null());
    row = map_ok(d);
    assert_true(has_flag(row, "marriage_unknown"));
    assert_null(json_object_get(fact(row, 0), "marriage"));
    assert_null(json_object_get(row, "marriage_registration_number"));
    json_decref(row);
    json_decref(d);

    d = doc(); /* a block that names nothing */
    set(d, NULL, "marriage", json_pack("{s:n, s:n, s:n}", "registration_number",
                                       "registration_date", "registry_office"));
    row = map_ok(d);
    assert_true(has_flag(row, "marriage_unknown"));
    assert_null(json_object_get(fact(row, 0), "marriage"));
    json_decref(row);
    json_decref(d);

    d = doc(); /* only the number given: only the number in the fact */
    set(d, NULL, "marriage", json_pack("{s:s}", "registration_number", "45/2012"));
    row = map_ok(d);
    assert_false(has_flag(row, "marriage_unknown"));
    assert_int_equal(json_object_size(json_object_get(fact(row, 0), "marriage")), 1);
    json_decref(row);
    json_decref(d);

    d = doc(); /* she was 17 (born 1990-09-30, married 2008-05-20) */
    set(d, "marriage", "registration_date", json_string("2008-05-20"));
    row = map_ok(d);
    assert_true(has_flag(row, "child_marriage"));
    json_decref(row);
    json_decref(d);

    d = doc(); /* she had just turned 18, he was 20: lawful */
    set(d, "marriage", "registration_date", json_string("2008-09-30"));
    row = map_ok(d);
    assert_false(has_flag(row, "child_marriage"));
    json_decref(row);
    json_decref(d);

    d = doc(); /* he was 19 (born 1988-04-12), she 19 */
    set(d, "marriage", "registration_date", json_string("2008-04-11"));
    set(d, "spouse_b", "birth_date", json_string("1988-10-01"));
    set(d, "spouse_b", "personal_id", json_string("079188054321"));
    row = map_ok(d);
    assert_true(has_flag(row, "child_marriage"));
    json_decref(row);
    json_decref(d);

    d = doc(); /* no dates of birth: the ID's year of birth bounds the age */
    set(d, "spouse_a", "birth_date", json_null());
    set(d, "spouse_b", "birth_date", json_null());
    set(d, "marriage", "registration_date", json_string("2007-12-31")); /* he was at most 19 */
    row = map_ok(d);
    assert_true(has_flag(row, "child_marriage"));
    assert_null(json_object_get(fact(row, 0), "birth_date"));
    json_decref(row);
    json_decref(d);

    d = doc(); /* same, a year later: perhaps 20, not flagged */
    set(d, "spouse_a", "birth_date", json_null());
    set(d, "spouse_b", "birth_date", json_null());
    set(d, "marriage", "registration_date", json_string("2008-12-31"));
    row = map_ok(d);
    assert_false(has_flag(row, "child_marriage"));
    json_decref(row);
    json_decref(d);

    d = doc(); /* two men on the record, IDs agreeing */
    set(d, "spouse_b", "sex", json_string("MALE"));
    set(d, "spouse_b", "personal_id", json_string("079090054321"));
    row = map_ok(d);
    assert_true(has_flag(row, "same_sex_record"));
    assert_int_equal(json_array_size(json_object_get(row, "reconcile")), 0);
    json_decref(row);
    json_decref(d);
}

/* Numbers without a range of their own and text limits (hub_limits). */
/* A court of a province the 2025 reform retired (TA02..: Hà Giang, now
 * part of Tuyên Quang 08) deciding since the reform: kept, flagged. */
static void retired_court_province_is_flagged(void **state)
{
    (void)state;
    static const struct {
        const char *court, *decided, *effective;
        bool flagged;
    } cases[] = {
        {"TA0201", "2026-03-02", "2026-04-02", true},  /* retired, after the reform */
        {"TA0201", "2025-07-01", "2025-07-20", true},  /* on the reform day */
        {"TA0201", "2025-06-30", "2025-07-20", false}, /* the day before */
        {"TA0801", "2026-03-02", "2026-04-02", false}, /* Tuyên Quang, in force */
        {"TA9101", "2026-03-02", "2026-04-02", false}, /* 91 kept by An Giang */
        {"TAND-HN", "2026-03-02", "2026-04-02", false}, /* no province in the code */
        {"TA99", "2026-03-02", "2026-04-02", false},   /* not a province */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        json_t *d = doc();
        set(d, "court", "code", json_string(cases[i].court));
        set(d, NULL, "decision_date", json_string(cases[i].decided));
        set(d, NULL, "effective_date", json_string(cases[i].effective));
        json_t *row = map_ok(d);
        if (has_flag(row, "court.province_code_retired") != cases[i].flagged)
            fail_msg("%s decided %s: flagged %d", cases[i].court, cases[i].decided,
                     !cases[i].flagged);
        json_decref(row);
        json_decref(d);
    }
}

static void ranges_and_limits_refuse(void **state)
{
    (void)state;
    json_t *d;
    static const long long bad[] = {-7, 31, 2147483647LL};
    for (size_t b = 0; b < 3; b++) {
        d = doc();
        set(d, NULL, "minor_children", json_integer(bad[b]));
        expect_refused(d, "validation.minor_children");
    }
    d = doc();
    set(d, NULL, "minor_children", json_integer(2));
    json_decref(map_ok(d));
    json_decref(d);

    d = doc();
    set(d, NULL, "judgment_number", json_string("12/2026/QĐST-HNGĐ/0123456789012345678901234567890123456789012"));
    expect_refused(d, "validation.text_length");
    d = doc();
    set(d, "spouse_b", "name", json_stringn("Trần\0Thị Bình", 17));
    expect_refused(d, "validation.nul_character");
    d = doc();
    set(d, "marriage", "registry_office", json_string("UBND\tphường"));
    expect_refused(d, "validation.control_character");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_judgment_maps_to_row),
        cmocka_unit_test(kinds_state_their_facts),
        cmocka_unit_test(court_and_number_are_required),
        cmocka_unit_test(dates_are_checked),
        cmocka_unit_test(cancels_goes_with_cancellations_only),
        cmocka_unit_test(spouses_are_checked),
        cmocka_unit_test(marriage_dates_are_checked),
        cmocka_unit_test(sex_contradiction_is_kept_and_reconciled),
        cmocka_unit_test(unidentified_spouses),
        cmocka_unit_test(marriage_flags),
        cmocka_unit_test(retired_court_province_is_flagged),
        cmocka_unit_test(ranges_and_limits_refuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
