/* hub_config: key=value configuration with a declarative table of settings.
 *
 * Sources, later wins: the table's defaults, the file(s) in load order, then
 * the environment. A file line is `key = value`; blank lines and lines
 * starting with '#' are ignored. Errors name `file:line`.
 *
 * Keys under `kafka.` go unchanged to librdkafka, `pg.` to libpq
 * (PQconnectdbParams keywords) and `schema.registry.` to the registry client;
 * every other key must be in the program's settings table.
 *
 * Environment overrides: CRVS_<KEY> with the key upper-cased and '.'/'-'
 * written as '_' (CRVS_BATCH_MAX_MESSAGES=100). For pass-through keys,
 * CRVS_KAFKA_<NAME> sets kafka.<name> with '_' read as '.'
 * (CRVS_KAFKA_BOOTSTRAP_SERVERS), CRVS_PG_<NAME> sets pg.<name> lower-cased
 * as is (CRVS_PG_APPLICATION_NAME -> pg.application_name). */
#ifndef HUB_CONFIG_H
#define HUB_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifndef HUB_WUR
#define HUB_WUR __attribute__((warn_unused_result))
#endif

typedef enum { HUB_CFG_STRING, HUB_CFG_INT, HUB_CFG_BOOL } hub_config_type;

typedef struct hub_config_setting {
    const char *key;
    hub_config_type type;
    const char *default_value; /* NULL: no default (unset) */
    int64_t min, max;          /* HUB_CFG_INT only */
    const char *doc;
} hub_config_setting;

typedef struct hub_config hub_config;

/* `table` is borrowed and must outlive the config (a static array). */
hub_config *hub_config_new(const hub_config_setting *table, size_t n_settings);
void hub_config_destroy(hub_config *cfg);

int hub_config_load_file(hub_config *cfg, const char *path, char *errstr,
                         size_t errstr_size) HUB_WUR;
/* The same for an open stream; `name` stands for the file in errors. Lines
 * are at most 4094 bytes; a NUL byte in a line is an error. Error text is
 * one line of valid UTF-8 (hub_text_scrub). */
int hub_config_load_stream(hub_config *cfg, FILE *f, const char *name, char *errstr,
                           size_t errstr_size) HUB_WUR;
/* `origin` names the source in errors ("file.conf:12", "environment"). */
int hub_config_set(hub_config *cfg, const char *key, const char *value,
                   const char *origin, char *errstr, size_t errstr_size) HUB_WUR;
/* Applies CRVS_* variables of `envp` (NULL-terminated, e.g. environ). */
int hub_config_apply_env(hub_config *cfg, char *const *envp, char *errstr,
                         size_t errstr_size) HUB_WUR;

/* Borrowed until the key is set again or the config is destroyed; NULL if
 * unset and without default. */
const char *hub_config_get(const hub_config *cfg, const char *key);
int64_t hub_config_get_int(const hub_config *cfg, const char *key);
bool hub_config_get_bool(const hub_config *cfg, const char *key);

/* Calls fn for every set key starting with prefix, with the prefix removed,
 * in the order first set. Stops and returns fn's value when it is non-zero. */
typedef int (*hub_config_visit_fn)(const char *name, const char *value, void *opaque);
int hub_config_foreach(const hub_config *cfg, const char *prefix,
                       hub_config_visit_fn fn, void *opaque);

/* Prints the settings table with defaults and docs (for --help). */
void hub_config_print_help(const hub_config *cfg);

#endif
