#include "hub_config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub_text.h"

typedef struct entry {
    char *key;
    char *value;
} entry;

struct hub_config {
    const hub_config_setting *table;
    size_t n_table;
    entry *entries;
    size_t n_entries, cap_entries;
};

static const char *const passthrough_prefixes[] = {"kafka.", "pg.", "schema.registry."};

hub_config *hub_config_new(const hub_config_setting *table, size_t n_settings)
{
    hub_config *cfg = calloc(1, sizeof *cfg);
    if (!cfg) return NULL;
    cfg->table = table;
    cfg->n_table = n_settings;
    return cfg;
}

void hub_config_destroy(hub_config *cfg)
{
    if (!cfg) return;
    for (size_t i = 0; i < cfg->n_entries; i++) {
        free(cfg->entries[i].key);
        free(cfg->entries[i].value);
    }
    free(cfg->entries);
    free(cfg);
}

static const hub_config_setting *find_setting(const hub_config *cfg, const char *key)
{
    for (size_t i = 0; i < cfg->n_table; i++)
        if (strcmp(cfg->table[i].key, key) == 0) return &cfg->table[i];
    return NULL;
}

static bool is_passthrough(const char *key)
{
    for (size_t i = 0; i < sizeof passthrough_prefixes / sizeof *passthrough_prefixes; i++) {
        size_t n = strlen(passthrough_prefixes[i]);
        if (strncmp(key, passthrough_prefixes[i], n) == 0 && key[n] != '\0') return true;
    }
    return false;
}

static bool parse_int(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end != '\0') return false;
    *out = v;
    return true;
}

static bool parse_bool(const char *s, bool *out)
{
    if (!strcmp(s, "true") || !strcmp(s, "1") || !strcmp(s, "yes") || !strcmp(s, "on")) {
        *out = true;
        return true;
    }
    if (!strcmp(s, "false") || !strcmp(s, "0") || !strcmp(s, "no") || !strcmp(s, "off")) {
        *out = false;
        return true;
    }
    return false;
}

static entry *find_entry(const hub_config *cfg, const char *key)
{
    for (size_t i = 0; i < cfg->n_entries; i++)
        if (strcmp(cfg->entries[i].key, key) == 0) return &cfg->entries[i];
    return NULL;
}

int hub_config_set(hub_config *cfg, const char *key, const char *value,
                   const char *origin, char *errstr, size_t errstr_size)
{
    const hub_config_setting *s = find_setting(cfg, key);
    if (!s && !is_passthrough(key)) {
        snprintf(errstr, errstr_size, "%s: unknown setting '%s'", origin, key);
        return -1;
    }
    if (s && s->type == HUB_CFG_INT) {
        int64_t v;
        if (!parse_int(value, &v) || v < s->min || v > s->max) {
            snprintf(errstr, errstr_size,
                     "%s: '%s' must be an integer from %lld to %lld, got '%s'", origin,
                     key, (long long)s->min, (long long)s->max, value);
            return -1;
        }
    } else if (s && s->type == HUB_CFG_BOOL) {
        bool b;
        if (!parse_bool(value, &b)) {
            snprintf(errstr, errstr_size, "%s: '%s' must be true or false, got '%s'",
                     origin, key, value);
            return -1;
        }
    }
    char *v = strdup(value);
    if (!v) goto oom;
    entry *e = find_entry(cfg, key);
    if (e) {
        free(e->value);
        e->value = v;
        return 0;
    }
    if (cfg->n_entries == cfg->cap_entries) {
        size_t cap = cfg->cap_entries ? cfg->cap_entries * 2 : 16;
        entry *grown = realloc(cfg->entries, cap * sizeof *grown);
        if (!grown) {
            free(v);
            goto oom;
        }
        cfg->entries = grown;
        cfg->cap_entries = cap;
    }
    char *k = strdup(key);
    if (!k) {
        free(v);
        goto oom;
    }
    cfg->entries[cfg->n_entries++] = (entry){k, v};
    return 0;
oom:
    snprintf(errstr, errstr_size, "%s: out of memory", origin);
    return -1;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s)) s++;
    char *end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1])) *--end = '\0';
    return s;
}

int hub_config_load_file(hub_config *cfg, const char *path, char *errstr, size_t errstr_size)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(errstr, errstr_size, "%s: cannot open: %s", path, strerror(errno));
        hub_text_scrub(errstr);
        return -1;
    }
    int rc = hub_config_load_stream(cfg, f, path, errstr, errstr_size);
    fclose(f);
    return rc;
}

#define LINE_MAX_BYTES 4094

int hub_config_load_stream(hub_config *cfg, FILE *f, const char *name, char *errstr,
                           size_t errstr_size)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    char origin[512];
    int lineno = 0, rc = 0;
    while ((len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        snprintf(origin, sizeof origin, "%s:%d", name, lineno);
        if (len > 0 && line[len - 1] == '\n') line[--len] = '\0';
        if (len > LINE_MAX_BYTES) {
            snprintf(errstr, errstr_size, "%s: line longer than %d bytes", origin,
                     LINE_MAX_BYTES);
            rc = -1;
            break;
        }
        /* A NUL byte would end the value early without a word: refused. */
        if (memchr(line, '\0', (size_t)len)) {
            snprintf(errstr, errstr_size, "%s: NUL byte in the line", origin);
            rc = -1;
            break;
        }
        char *s = trim(line);
        if (*s == '\0' || *s == '#') continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            snprintf(errstr, errstr_size, "%s: expected key=value", origin);
            rc = -1;
            break;
        }
        *eq = '\0';
        char *key = trim(s), *value = trim(eq + 1);
        if (*key == '\0') {
            snprintf(errstr, errstr_size, "%s: empty key", origin);
            rc = -1;
            break;
        }
        if ((rc = hub_config_set(cfg, key, value, origin, errstr, errstr_size)) != 0) break;
    }
    free(line);
    /* Errors quote the file's text: one line of valid UTF-8. */
    if (rc) hub_text_scrub(errstr);
    return rc;
}

/* Maps the part after CRVS_ to a key: table keys match by their env spelling,
 * kafka keys read '_' as '.', pg keys are lower-cased as they are. */
static bool env_to_key(const hub_config *cfg, const char *name, char *key, size_t key_size)
{
    for (size_t i = 0; i < cfg->n_table; i++) {
        const char *k = cfg->table[i].key;
        size_t j = 0;
        for (; k[j] && name[j]; j++) {
            char want = (k[j] == '.' || k[j] == '-') ? '_' : (char)toupper((unsigned char)k[j]);
            if (name[j] != want) break;
        }
        if (k[j] == '\0' && name[j] == '\0') {
            snprintf(key, key_size, "%s", k);
            return true;
        }
    }
    const char *rest;
    char sep;
    if (strncmp(name, "KAFKA_", 6) == 0) {
        rest = name + 6;
        sep = '.';
        snprintf(key, key_size, "kafka.");
    } else if (strncmp(name, "PG_", 3) == 0) {
        rest = name + 3;
        sep = '_';
        snprintf(key, key_size, "pg.");
    } else if (strncmp(name, "SCHEMA_REGISTRY_", 16) == 0) {
        rest = name + 16;
        sep = '.';
        snprintf(key, key_size, "schema.registry.");
    } else {
        return false;
    }
    size_t n = strlen(key);
    for (; *rest && n + 1 < key_size; rest++)
        key[n++] = *rest == '_' ? sep : (char)tolower((unsigned char)*rest);
    key[n] = '\0';
    return *rest == '\0';
}

int hub_config_apply_env(hub_config *cfg, char *const *envp, char *errstr, size_t errstr_size)
{
    for (; envp && *envp; envp++) {
        if (strncmp(*envp, "CRVS_", 5) != 0) continue;
        const char *eq = strchr(*envp, '=');
        if (!eq) continue;
        char name[256], key[256], origin[300];
        size_t len = (size_t)(eq - (*envp + 5));
        if (len == 0 || len >= sizeof name) continue;
        memcpy(name, *envp + 5, len);
        name[len] = '\0';
        /* Variables of the dev scripts (CRVS_PG_PORT for the server) share the
         * prefix; only names that map to a setting are configuration. */
        if (!env_to_key(cfg, name, key, sizeof key)) continue;
        snprintf(origin, sizeof origin, "environment CRVS_%s", name);
        if (hub_config_set(cfg, key, eq + 1, origin, errstr, errstr_size) != 0) {
            hub_text_scrub(errstr);
            return -1;
        }
    }
    return 0;
}

const char *hub_config_get(const hub_config *cfg, const char *key)
{
    const entry *e = find_entry(cfg, key);
    if (e) return e->value;
    const hub_config_setting *s = find_setting(cfg, key);
    return s ? s->default_value : NULL;
}

int64_t hub_config_get_int(const hub_config *cfg, const char *key)
{
    const char *v = hub_config_get(cfg, key);
    int64_t n = 0;
    if (v && parse_int(v, &n)) return n;
    return 0;
}

bool hub_config_get_bool(const hub_config *cfg, const char *key)
{
    const char *v = hub_config_get(cfg, key);
    bool b = false;
    return v && parse_bool(v, &b) && b;
}

int hub_config_foreach(const hub_config *cfg, const char *prefix, hub_config_visit_fn fn,
                       void *opaque)
{
    size_t n = strlen(prefix);
    for (size_t i = 0; i < cfg->n_entries; i++) {
        if (strncmp(cfg->entries[i].key, prefix, n) != 0) continue;
        int rc = fn(cfg->entries[i].key + n, cfg->entries[i].value, opaque);
        if (rc) return rc;
    }
    return 0;
}

void hub_config_print_help(const hub_config *cfg)
{
    fprintf(stderr, "Settings (key = default):\n");
    for (size_t i = 0; i < cfg->n_table; i++) {
        const hub_config_setting *s = &cfg->table[i];
        fprintf(stderr, "  %-28s = %-10s %s\n", s->key,
                s->default_value ? s->default_value : "(unset)", s->doc ? s->doc : "");
    }
    fprintf(stderr, "  kafka.*, pg.*, schema.registry.* are passed to librdkafka, libpq "
                    "and the registry client.\n");
}
