/* hub_catalog: schemas by id.
 *
 * The embedded default is a local catalog: schemas/avro/catalog.tsv lists
 * `id <TAB> topic <TAB> version <TAB> file` with pinned ids. A remote source
 * (the schema registry client) plugs in with hub_catalog_set_fetcher(); ids
 * not in the local files are then asked there and kept for the life of the
 * process. Services only ever call hub_catalog_get(), so they do not change
 * when the source does. */
#ifndef HUB_CATALOG_H
#define HUB_CATALOG_H

#include <avro.h>
#include <jansson.h>
#include <stdint.h>

#ifndef HUB_WUR
#define HUB_WUR __attribute__((warn_unused_result))
#endif

typedef struct hub_schema hub_schema;
typedef struct hub_catalog hub_catalog;

typedef enum {
    HUB_SCHEMA_OK = 0,
    HUB_SCHEMA_UNKNOWN,   /* definitive: no such id (dead letter) */
    HUB_SCHEMA_TRANSIENT, /* source unreachable: retry later, never a dead letter */
    HUB_SCHEMA_INVALID    /* the source returned a schema that does not parse */
} hub_schema_status;

/* A remote source. On HUB_SCHEMA_OK sets *schema_json to a malloc'd string
 * the catalog takes over (frees). */
typedef hub_schema_status (*hub_schema_fetch_fn)(void *opaque, int32_t id,
                                                 char **schema_json, char *errstr,
                                                 size_t errstr_size);

/* Loads dir/catalog.tsv and every schema it names; fails on the first bad
 * line or schema, naming file:line. */
hub_catalog *hub_catalog_open(const char *dir, char *errstr, size_t errstr_size) HUB_WUR;
void hub_catalog_destroy(hub_catalog *cat);
void hub_catalog_set_fetcher(hub_catalog *cat, hub_schema_fetch_fn fn, void *opaque);

/* The returned schema is owned by the catalog and lives as long as it. */
hub_schema_status hub_catalog_get(hub_catalog *cat, int32_t id, const hub_schema **out,
                                  char *errstr, size_t errstr_size) HUB_WUR;
/* Highest local version for a topic (the services' reader schema), or NULL. */
const hub_schema *hub_catalog_latest(const hub_catalog *cat, const char *topic);

/* Parses a schema from JSON text; the caller destroys it. id may be 0. */
hub_schema *hub_schema_parse(const char *json_text, int32_t id, const char *topic,
                             int version, char *errstr, size_t errstr_size) HUB_WUR;
void hub_schema_destroy(hub_schema *s);

int32_t hub_schema_id(const hub_schema *s);
const char *hub_schema_topic(const hub_schema *s);  /* "" when not known */
int hub_schema_version(const hub_schema *s);
const char *hub_schema_fullname(const hub_schema *s); /* "vn.gov.crvs.BirthCertificate" */
avro_schema_t hub_schema_avro(const hub_schema *s);   /* borrowed */
json_t *hub_schema_json(const hub_schema *s);         /* borrowed: the parsed .avsc */
/* Resolves a type node of this schema's JSON: a named-type reference
 * ("Parent") becomes its definition; any other node is returned as is. */
json_t *hub_schema_resolve_type(const hub_schema *s, json_t *type_node);
const char *hub_schema_status_name(hub_schema_status st);

#endif
