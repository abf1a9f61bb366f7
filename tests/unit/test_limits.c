/* Field limits (hub_limits): every text field and array of every version of
 * every topic's schema has one, the schema guide lists exactly the table,
 * and the check refuses what it must and stores nothing changed but NFC. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub_build.h"
#include "hub_limits.h"
#include "hub_text.h"

static const char *const topics[] = {"birth-certificate", "death-notice", "divorce-judgment"};

/* ---- schema walk ---------------------------------------------------------- */

typedef struct walk {
    const char *topic;
    json_t *wnamed, *rnamed; /* named types seen so far, by short name */
    json_t *visited;         /* reader paths met (object used as a set) */
    int missing;
} walk;

static const char *short_name(const char *full)
{
    const char *dot = strrchr(full, '.');
    return dot ? dot + 1 : full;
}

static json_t *deref(json_t *t, json_t *named)
{
    if (json_is_string(t)) {
        json_t *n = json_object_get(named, short_name(json_string_value(t)));
        if (n) return n;
    }
    if (json_is_object(t)) {
        json_t *inner = json_object_get(t, "type");
        const char *name = json_string_value(json_object_get(t, "name"));
        if (name) json_object_set(named, short_name(name), t);
        if (json_is_object(inner) || json_is_array(inner)) return deref(inner, named);
        if (json_is_string(inner) && json_object_get(named, json_string_value(inner)))
            return deref(inner, named);
    }
    return t;
}

static const char *kind_of(json_t *t)
{
    if (json_is_string(t)) return json_string_value(t);
    if (json_is_object(t)) return json_string_value(json_object_get(t, "type"));
    return NULL;
}

/* The reader field that reads writer field `name`: same name or alias. */
static json_t *reader_field(json_t *rrec, const char *name)
{
    size_t i, j;
    json_t *f, *a;
    json_array_foreach(json_object_get(rrec, "fields"), i, f) {
        if (!strcmp(json_string_value(json_object_get(f, "name")), name)) return f;
        json_array_foreach(json_object_get(f, "aliases"), j, a) {
            if (!strcmp(json_string_value(a), name)) return f;
        }
    }
    return NULL;
}

static void walk_type(walk *w, json_t *wt, json_t *rt, const char *path)
{
    wt = deref(wt, w->wnamed);
    rt = deref(rt, w->rnamed);
    if (json_is_array(wt)) { /* a union: [null, X] in these schemas */
        json_t *rb = rt;
        size_t i;
        json_t *b;
        if (json_is_array(rt)) {
            json_array_foreach(rt, i, b) {
                if (strcmp(kind_of(b) ? kind_of(b) : "", "null")) rb = b;
            }
        }
        json_array_foreach(wt, i, b) {
            if (strcmp(kind_of(b) ? kind_of(b) : "", "null")) walk_type(w, b, rb, path);
        }
        return;
    }
    const char *kind = kind_of(wt);
    if (!kind) return;
    if (!strcmp(kind, "string")) {
        json_object_set_new(w->visited, path, json_true());
        const hub_field_limit *lim = hub_limits_find(w->topic, path);
        if (!lim || lim->kind == HUB_LIMIT_ITEMS) {
            print_error("%s: text field %s has no limit\n", w->topic, path);
            w->missing++;
        }
    } else if (!strcmp(kind, "array")) {
        json_object_set_new(w->visited, path, json_true());
        const hub_field_limit *lim = hub_limits_find(w->topic, path);
        if (!lim || lim->kind != HUB_LIMIT_ITEMS) {
            print_error("%s: array %s has no item limit\n", w->topic, path);
            w->missing++;
        }
        char sub[256];
        snprintf(sub, sizeof sub, "%s[]", path);
        walk_type(w, json_object_get(wt, "items"), json_object_get(rt, "items"), sub);
    } else if (!strcmp(kind, "record")) {
        size_t i;
        json_t *f;
        json_array_foreach(json_object_get(wt, "fields"), i, f) {
            json_t *rf = reader_field(rt, json_string_value(json_object_get(f, "name")));
            if (!rf) continue; /* the reader drops it: never stored */
            char sub[256];
            snprintf(sub, sizeof sub, "%s%s%s", path, *path ? "." : "",
                     json_string_value(json_object_get(rf, "name")));
            walk_type(w, json_object_get(f, "type"), json_object_get(rf, "type"), sub);
        }
    }
}

static json_t *load_schema(const char *file)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", HUB_SCHEMA_DIR, file);
    json_error_t err;
    json_t *s = json_load_file(path, 0, &err);
    if (!s) fail_msg("%s: %s", path, err.text);
    return s;
}

/* Every text field and array of every schema version in the catalog, read
 * into the latest version's shape, has its limit; every limit names a
 * field of the latest version. */
static void every_field_has_a_limit(void **state)
{
    (void)state;
    char path[512], line[512];
    snprintf(path, sizeof path, "%s/catalog.tsv", HUB_SCHEMA_DIR);
    for (size_t t = 0; t < 3; t++) {
        FILE *f = fopen(path, "r");
        assert_non_null(f);
        char latest[128] = "";
        int latest_version = 0, files = 0;
        char versions[8][128];
        while (fgets(line, sizeof line, f) && files < 8) {
            char topic[64], file[128];
            int id, version;
            if (line[0] == '#' || sscanf(line, "%d %63s %d %127s", &id, topic, &version, file) != 4)
                continue;
            if (strcmp(topic, topics[t])) continue;
            snprintf(versions[files++], sizeof versions[0], "%s", file);
            if (version > latest_version) {
                latest_version = version;
                snprintf(latest, sizeof latest, "%s", file);
            }
        }
        fclose(f);
        assert_true(files >= 2);
        json_t *visited = json_object();
        int missing = 0;
        for (int v = 0; v < files; v++) {
            json_t *ws = load_schema(versions[v]), *rs = load_schema(latest);
            walk w = {topics[t], json_object(), json_object(), visited, 0};
            walk_type(&w, ws, rs, "");
            missing += w.missing;
            json_decref(w.wnamed);
            json_decref(w.rnamed);
            json_decref(ws);
            json_decref(rs);
        }
        for (size_t i = 0; hub_limits_at(topics[t], i); i++) {
            const char *p = hub_limits_at(topics[t], i)->path;
            if (!json_object_get(visited, p)) {
                print_error("%s: limit %s names no field of %s\n", topics[t], p, latest);
                missing++;
            }
        }
        json_decref(visited);
        assert_int_equal(missing, 0);
    }
}

/* docs/schema-guide.md has one table per topic under "### Limits:
 * `topic`", rows "| `path` | max | kind |", and it holds exactly the
 * hub's table. */
static void schema_guide_lists_the_limits(void **state)
{
    (void)state;
    char path[512], line[1024];
    snprintf(path, sizeof path, "%s/../../docs/schema-guide.md", HUB_SCHEMA_DIR);
    for (size_t t = 0; t < 3; t++) {
        FILE *f = fopen(path, "r");
        assert_non_null(f);
        char heading[128];
        snprintf(heading, sizeof heading, "### Limits: `%s`", topics[t]);
        bool in = false;
        size_t rows = 0;
        while (fgets(line, sizeof line, f)) {
            if (line[0] == '#') in = !strncmp(line, heading, strlen(heading));
            if (!in || strncmp(line, "| `", 3)) continue;
            char field[256], kind[64];
            size_t max;
            if (sscanf(line, "| `%255[^`]` | %zu | %63[^|]|", field, &max, kind) != 3)
                fail_msg("%s: cannot read the row: %s", path, line);
            const hub_field_limit *lim = hub_limits_find(topics[t], field);
            if (!lim) fail_msg("%s: %s: %s is not in the hub's table", path, topics[t], field);
            const char *want = lim->kind == HUB_LIMIT_ITEMS  ? "items"
                               : lim->kind == HUB_LIMIT_FREE ? "characters, line breaks allowed"
                                                             : "characters";
            char *end = kind + strlen(kind);
            while (end > kind && end[-1] == ' ') *--end = '\0';
            if (lim->max != max || strcmp(kind, want))
                fail_msg("%s: %s %s: the guide says %zu %s, the hub %zu %s", path, topics[t],
                         field, max, kind, lim->max, want);
            rows++;
        }
        fclose(f);
        size_t n = 0;
        while (hub_limits_at(topics[t], n)) n++;
        if (rows != n)
            fail_msg("%s: %zu rows under \"%s\", the hub's table has %zu", path, rows, heading, n);
    }
}

/* ---- the check ------------------------------------------------------------ */

static void check_refuses(json_t *doc, const char *reason, const char *message_part)
{
    hub_reject why = {{0}, {0}};
    assert_int_equal(hub_limits_check("birth-certificate", doc, &why), -1);
    assert_string_equal(why.reason, reason);
    if (message_part && !strstr(why.message, message_part))
        fail_msg("message \"%s\" lacks \"%s\"", why.message, message_part);
    assert_true(hub_text_valid_utf8(why.message, strlen(why.message)));
    json_decref(doc);
}

static void check_refuses_and_rewrites_nfc(void **state)
{
    (void)state;
    hub_reject why;
    /* Decomposed text becomes NFC; the count is of the stored form. */
    json_t *doc = json_pack("{s:{s:s}, s:s}", "child", "name", "Nguye\xcc\x82\xcc\x83n",
                            "event_id", "e-1");
    assert_int_equal(hub_limits_check("birth-certificate", doc, &why), 0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(doc, "child"), "name")),
                        "Nguyễn");
    json_decref(doc);

    check_refuses(json_pack("{s:{s:s%}}", "child", "name", "An\0h", (size_t)4),
                  "validation.nul_character", "child.name: NUL character at byte 2 of 4");
    check_refuses(json_pack("{s:s}", "certificate_number", "12\x08"), "validation.control_character",
                  "certificate_number: control character U+0008 at character 3");
    check_refuses(json_pack("{s:{s:{s:s}}}", "child", "place", "address", "a\x1b"),
                  "validation.control_character", "only TAB, LF and CR");
    check_refuses(json_pack("{s:s}", "event_id",
                            "01234567890123456789012345678901234567890123456789012345678901234"),
                  "validation.text_length", "event_id: 65 characters, the limit is 64");
    /* A field the table does not name gets the defaults. */
    json_t *many = json_array();
    for (int i = 0; i < HUB_LIMIT_DEFAULT_ITEMS + 1; i++) json_array_append_new(many, json_integer(i));
    check_refuses(json_pack("{s:o}", "extra", many), "validation.item_count", "extra: 21 items");
    char big[HUB_LIMIT_DEFAULT_CHARS + 2];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    check_refuses(json_pack("{s:{s:s}}", "extra", "deep", big), "validation.text_length",
                  "extra.deep: 256 characters, the limit is 255");

    /* The harness invariant: a stored text passes as it is. */
    assert_int_equal(hub_limits_check_text("birth-certificate", "child.name", "Nguyễn", 8, &why), 0);
    assert_int_equal(
        hub_limits_check_text("birth-certificate", "child.name", "Nguye\xcc\x82\xcc\x83n", 10, &why),
        -1);
    assert_string_equal(why.reason, "validation.not_nfc");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_field_has_a_limit),
        cmocka_unit_test(schema_guide_lists_the_limits),
        cmocka_unit_test(check_refuses_and_rewrites_nfc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
