/* hub_registry: a client of a Confluent-compatible schema registry (the REST
 * API Confluent Schema Registry, Apicurio and Karapace serve).
 *
 * Four calls, subject naming `<topic>-value`:
 *   GET  /schemas/ids/{id}                           hub_registry_get_by_id
 *   GET  /subjects/{subject}/versions/latest         hub_registry_latest
 *   POST /subjects/{subject}/versions                hub_registry_register
 *   POST /compatibility/subjects/{subject}/versions/latest?verbose=true
 *                                                    hub_registry_check
 *
 * Settings (`schema.registry.*` keys of hub_config; an unknown key is an
 * error so that a typo does not silently switch TLS or auth off):
 *   url                       comma-separated base URLs; the client starts
 *                             with the last one that answered and moves to
 *                             the next on a transport error (no connection,
 *                             timeout, TLS failure), within one total timeout
 *   basic.auth.user.info      "user:password"       } at most one of these;
 *   basic.auth.file           file holding it       } never logged
 *   ssl.ca.location           CA bundle (PEM) to verify the server with
 *   ssl.certificate.location  client certificate (PEM)
 *   ssl.key.location          client key (PEM)
 *   ssl.verify                verify server certificate and host (true)
 *   connect.timeout.ms        per connection attempt (3000)
 *   timeout.ms                whole request, failover included (10000)
 *   negative.cache.ms         how long a definitive "no such id" is
 *                             remembered (30000; 0 disables)
 *
 * Outcomes: 200 is OK; 404 with error code 40403 (schema) or 40401 (subject;
 * 40402 version for `latest`) is a definitive NOT_FOUND; a transport error,
 * a 5xx, 401/403 (logged as a configuration error), a 404 without one of
 * those codes (a wrong base URL) and any other unexpected status are
 * UNAVAILABLE: the caller retries later. 409 (incompatible) and 422 (invalid
 * schema) answer register/check with REFUSED. A 200 whose body is not the
 * expected JSON is BAD_RESPONSE.
 *
 * Thread safety: a client owns one reused libcurl easy handle (connections
 * stay open between calls) and is NOT thread-safe: one client per thread.
 * hub_registry_new() calls curl_global_init(); create the first client
 * before starting threads. */
#ifndef HUB_REGISTRY_H
#define HUB_REGISTRY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hub_catalog.h"
#include "hub_config.h"

#ifndef HUB_WUR
#define HUB_WUR __attribute__((warn_unused_result))
#endif

typedef struct hub_registry hub_registry;

typedef enum {
    HUB_REGISTRY_OK = 0,
    HUB_REGISTRY_NOT_FOUND,    /* definitive: no such id / subject / version */
    HUB_REGISTRY_UNAVAILABLE,  /* transient: try again later */
    HUB_REGISTRY_REFUSED,      /* the registry said no: incompatible, invalid schema */
    HUB_REGISTRY_BAD_RESPONSE  /* 200 with a body that is not what the API promises */
} hub_registry_status;

/* True when cfg sets schema.registry.url (non-empty): a registry is in use.
 * Without it the hub runs registry-less on its local catalog. */
bool hub_registry_configured(const hub_config *cfg);

/* Builds a client from cfg's schema.registry.* keys. Reads the basic-auth
 * file now. Fails naming the setting at fault (never its secret value), or
 * when this build has no libcurl. Nothing is sent yet. */
hub_registry *hub_registry_new(const hub_config *cfg, char *errstr, size_t errstr_size) HUB_WUR;
/* Wipes the credentials from memory and frees the client. NULL is a no-op. */
void hub_registry_destroy(hub_registry *reg);

/* Writes "<topic>-value" into out; -1 when it does not fit. */
int hub_registry_subject(const char *topic, char *out, size_t out_size) HUB_WUR;

/* The schema text of a registry id. On OK *schema_json is malloc'd (the
 * caller frees). A NOT_FOUND is remembered for negative.cache.ms: asking
 * again meanwhile answers NOT_FOUND without a request. A schema whose
 * schemaType is not AVRO is BAD_RESPONSE. errstr does not repeat the id
 * (callers put it in front). */
hub_registry_status hub_registry_get_by_id(hub_registry *reg, int32_t id, char **schema_json,
                                           char *errstr, size_t errstr_size) HUB_WUR;

/* hub_schema_fetch_fn for hub_catalog_set_fetcher(cat, hub_registry_fetch,
 * reg): NOT_FOUND -> HUB_SCHEMA_UNKNOWN, BAD_RESPONSE -> HUB_SCHEMA_INVALID,
 * anything else that is not OK -> HUB_SCHEMA_TRANSIENT (an unreachable or
 * misconfigured registry never turns messages into dead letters). */
hub_schema_status hub_registry_fetch(void *reg, int32_t id, char **schema_json, char *errstr,
                                     size_t errstr_size);

/* The latest version of a subject. On OK sets *id, *version and
 * *schema_json (malloc'd, the caller frees); any of them may be NULL when not
 * wanted. */
hub_registry_status hub_registry_latest(hub_registry *reg, const char *subject, int32_t *id,
                                        int *version, char **schema_json, char *errstr,
                                        size_t errstr_size) HUB_WUR;

/* Registers schema_json (Avro schema text) under subject; on OK sets *id to
 * the registry's id (the existing one when the schema is already there).
 * REFUSED when the registry finds it incompatible (409) or invalid (422);
 * errstr then holds the registry's message. */
hub_registry_status hub_registry_register(hub_registry *reg, const char *subject,
                                          const char *schema_json, int32_t *id, char *errstr,
                                          size_t errstr_size) HUB_WUR;

/* Asks whether schema_json may be registered after the subject's latest
 * version under the subject's compatibility rule. On OK sets *compatible and,
 * if messages is not NULL, *messages to a new JSON array of strings (the
 * registry's explanations, possibly empty; the caller decrefs). NOT_FOUND
 * when the subject has no version yet (nothing to be compatible with). */
hub_registry_status hub_registry_check(hub_registry *reg, const char *subject,
                                       const char *schema_json, bool *compatible,
                                       json_t **messages, char *errstr,
                                       size_t errstr_size) HUB_WUR;

/* "ok", "not_found", "unavailable", "refused", "bad_response". */
const char *hub_registry_status_name(hub_registry_status st);

#endif
