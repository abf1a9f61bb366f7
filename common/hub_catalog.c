#include "hub_catalog.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub_file.h"

struct hub_schema {
    int32_t id;
    int version;
    char *topic;
    char *fullname;
    avro_schema_t avro;
    json_t *json;
    json_t *names; /* object: full and short names of named types -> definition */
};

typedef struct cat_entry {
    int32_t id;
    hub_schema *schema;
} cat_entry;

struct hub_catalog {
    cat_entry *entries;
    size_t n, cap;
    hub_schema_fetch_fn fetch;
    void *fetch_opaque;
};

/* Walks the schema JSON and records every named type (record, enum, fixed)
 * under its full name and short name, so references can be followed. */
static void collect_names(json_t *node, const char *ns, json_t *names)
{
    if (json_is_array(node)) {
        size_t i;
        json_t *v;
        json_array_foreach(node, i, v) collect_names(v, ns, names);
        return;
    }
    if (!json_is_object(node)) return;
    const char *type = json_string_value(json_object_get(node, "type"));
    const char *name = json_string_value(json_object_get(node, "name"));
    const char *own_ns = json_string_value(json_object_get(node, "namespace"));
    if (own_ns) ns = own_ns;
    if (type && name &&
        (!strcmp(type, "record") || !strcmp(type, "enum") || !strcmp(type, "fixed") ||
         !strcmp(type, "error"))) {
        const char *dot = strrchr(name, '.');
        json_object_set(names, dot ? dot + 1 : name, node);
        if (dot) {
            json_object_set(names, name, node);
        } else if (ns && *ns) {
            char full[512];
            snprintf(full, sizeof full, "%s.%s", ns, name);
            json_object_set(names, full, node);
        }
    }
    json_t *fields = json_object_get(node, "fields");
    if (json_is_array(fields)) {
        size_t i;
        json_t *f;
        json_array_foreach(fields, i, f) collect_names(json_object_get(f, "type"), ns, names);
    }
    json_t *t = json_object_get(node, "type");
    if (json_is_object(t) || json_is_array(t)) collect_names(t, ns, names);
    collect_names(json_object_get(node, "items"), ns, names);
    collect_names(json_object_get(node, "values"), ns, names);
}

hub_schema *hub_schema_parse(const char *json_text, int32_t id, const char *topic,
                             int version, char *errstr, size_t errstr_size)
{
    json_error_t jerr;
    hub_schema *s = calloc(1, sizeof *s);
    if (!s) goto oom;
    s->id = id;
    s->version = version;
    s->json = json_loads(json_text, 0, &jerr);
    if (!s->json) {
        snprintf(errstr, errstr_size, "schema JSON line %d: %s", jerr.line, jerr.text);
        goto fail;
    }
    if (avro_schema_from_json_length(json_text, strlen(json_text), &s->avro) != 0) {
        snprintf(errstr, errstr_size, "schema does not parse: %s", avro_strerror());
        s->avro = NULL;
        goto fail;
    }
    s->names = json_object();
    if (!s->names) goto oom;
    collect_names(s->json, NULL, s->names);
    const char *ns = avro_schema_namespace(s->avro);
    const char *name = avro_schema_type_name(s->avro);
    char full[512];
    snprintf(full, sizeof full, "%s%s%s", ns ? ns : "", ns && *ns ? "." : "", name ? name : "");
    s->fullname = strdup(full);
    s->topic = strdup(topic ? topic : "");
    if (!s->fullname || !s->topic) goto oom;
    return s;
oom:
    snprintf(errstr, errstr_size, "out of memory");
fail:
    hub_schema_destroy(s);
    return NULL;
}

void hub_schema_destroy(hub_schema *s)
{
    if (!s) return;
    if (s->avro) avro_schema_decref(s->avro);
    json_decref(s->json);
    json_decref(s->names);
    free(s->topic);
    free(s->fullname);
    free(s);
}

int32_t hub_schema_id(const hub_schema *s) { return s->id; }
const char *hub_schema_topic(const hub_schema *s) { return s->topic; }
int hub_schema_version(const hub_schema *s) { return s->version; }
const char *hub_schema_fullname(const hub_schema *s) { return s->fullname; }
avro_schema_t hub_schema_avro(const hub_schema *s) { return s->avro; }
json_t *hub_schema_json(const hub_schema *s) { return s->json; }

json_t *hub_schema_resolve_type(const hub_schema *s, json_t *node)
{
    if (json_is_string(node)) {
        json_t *def = json_object_get(s->names, json_string_value(node));
        return def ? def : node;
    }
    return node;
}

static int add_entry(hub_catalog *cat, int32_t id, hub_schema *s)
{
    if (cat->n == cat->cap) {
        size_t cap = cat->cap ? cat->cap * 2 : 8;
        cat_entry *grown = realloc(cat->entries, cap * sizeof *grown);
        if (!grown) return -1;
        cat->entries = grown;
        cat->cap = cap;
    }
    cat->entries[cat->n++] = (cat_entry){id, s};
    return 0;
}

hub_catalog *hub_catalog_open(const char *dir, char *errstr, size_t errstr_size)
{
    char path[1024], line[1024];
    hub_catalog *cat = calloc(1, sizeof *cat);
    FILE *f = NULL;
    if (!cat) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    snprintf(path, sizeof path, "%s/catalog.tsv", dir);
    f = fopen(path, "r");
    if (!f) {
        snprintf(errstr, errstr_size, "%s: cannot open: %s", path, strerror(errno));
        goto fail;
    }
    int lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        if (line[0] == '#' || line[0] == '\n' || line[0] == '\0') continue;
        char topic[256], file[512];
        int id, version;
        if (sscanf(line, "%d\t%255s\t%d\t%511s", &id, topic, &version, file) != 4 || id <= 0) {
            snprintf(errstr, errstr_size, "%s:%d: expected id<TAB>topic<TAB>version<TAB>file",
                     path, lineno);
            goto fail;
        }
        const hub_schema *dup;
        char ignored[8];
        if (hub_catalog_get(cat, id, &dup, ignored, sizeof ignored) == HUB_SCHEMA_OK) {
            snprintf(errstr, errstr_size, "%s:%d: schema id %d listed twice", path, lineno, id);
            goto fail;
        }
        char schema_path[1024], err[1280];
        snprintf(schema_path, sizeof schema_path, "%s/%s", dir, file);
        char *text = hub_file_read(schema_path, NULL, err, sizeof err);
        if (!text) {
            snprintf(errstr, errstr_size, "%s:%d: %s", path, lineno, err);
            goto fail;
        }
        hub_schema *s = hub_schema_parse(text, id, topic, version, err, sizeof err);
        free(text);
        if (!s) {
            snprintf(errstr, errstr_size, "%s:%d: %s: %s", path, lineno, schema_path, err);
            goto fail;
        }
        if (add_entry(cat, id, s) != 0) {
            hub_schema_destroy(s);
            snprintf(errstr, errstr_size, "out of memory");
            goto fail;
        }
    }
    fclose(f);
    return cat;
fail:
    if (f) fclose(f);
    hub_catalog_destroy(cat);
    return NULL;
}

void hub_catalog_destroy(hub_catalog *cat)
{
    if (!cat) return;
    for (size_t i = 0; i < cat->n; i++) hub_schema_destroy(cat->entries[i].schema);
    free(cat->entries);
    free(cat);
}

void hub_catalog_set_fetcher(hub_catalog *cat, hub_schema_fetch_fn fn, void *opaque)
{
    cat->fetch = fn;
    cat->fetch_opaque = opaque;
}

hub_schema_status hub_catalog_get(hub_catalog *cat, int32_t id, const hub_schema **out,
                                  char *errstr, size_t errstr_size)
{
    for (size_t i = 0; i < cat->n; i++) {
        if (cat->entries[i].id == id) {
            *out = cat->entries[i].schema;
            return HUB_SCHEMA_OK;
        }
    }
    if (!cat->fetch) {
        snprintf(errstr, errstr_size, "schema id %d is not in the local catalog", (int)id);
        return HUB_SCHEMA_UNKNOWN;
    }
    char *text = NULL;
    hub_schema_status st = cat->fetch(cat->fetch_opaque, id, &text, errstr, errstr_size);
    if (st != HUB_SCHEMA_OK) return st;
    hub_schema *s = hub_schema_parse(text, id, "", 0, errstr, errstr_size);
    free(text);
    if (!s) return HUB_SCHEMA_INVALID;
    if (add_entry(cat, id, s) != 0) {
        hub_schema_destroy(s);
        snprintf(errstr, errstr_size, "out of memory");
        return HUB_SCHEMA_TRANSIENT;
    }
    *out = s;
    return HUB_SCHEMA_OK;
}

const hub_schema *hub_catalog_latest(const hub_catalog *cat, const char *topic)
{
    const hub_schema *best = NULL;
    for (size_t i = 0; i < cat->n; i++) {
        const hub_schema *s = cat->entries[i].schema;
        if (strcmp(s->topic, topic) == 0 && (!best || s->version > best->version)) best = s;
    }
    return best;
}

const char *hub_schema_status_name(hub_schema_status st)
{
    switch (st) {
    case HUB_SCHEMA_OK: return "ok";
    case HUB_SCHEMA_UNKNOWN: return "schema.unknown_id";
    case HUB_SCHEMA_TRANSIENT: return "schema.unavailable";
    case HUB_SCHEMA_INVALID: return "schema.invalid";
    }
    return "schema.unknown";
}
