/* fake_registry: an in-memory schema registry for tests, answering the part
 * of the Confluent REST API the hub uses exactly as documented (paths,
 * status codes, {"error_code", "message"} bodies, content type
 * application/vnd.schemaregistry.v1+json):
 *
 *   GET  /schemas/ids/{id}                            200 | 404 40403
 *   GET  /subjects/{subject}/versions/latest          200 | 404 40401
 *   POST /subjects/{subject}/versions                 200 | 409 | 422 42201
 *   POST /compatibility/subjects/{subject}/versions/latest[?verbose=true]
 *                                                     200 | 404 40401 | 422
 *   any other path: 404 {"error_code":404} (as the real one's web layer)
 *
 * Compatibility is a rough BACKWARD check of the new schema against the
 * subject's latest version, top-level fields only: a new field missing from
 * the old schema needs a default (aliases count), a field may not change its
 * primitive type except by Avro promotion, the record's name must stay. It is
 * enough to exercise the client; the real rules are the real registry's.
 *
 * Failure injection, from the test's code (these functions) or over HTTP:
 *   POST /_fake/control?fail_count=N&fail_status=S   next N API requests
 *        answer S (503 by default; 404 answers 40403)
 *   POST /_fake/control?delay_ms=M     every API answer waits M ms first
 *   POST /_fake/control?auth=user:pw   require this basic auth ("none": off)
 *   GET  /_fake/stats                  {"requests": N} API requests so far
 * Control requests are never delayed, failed or counted.
 *
 * One thread per connection; all state behind one mutex. Listens on
 * 127.0.0.1 only. Not for production, not installed. */
#ifndef FAKE_REGISTRY_H
#define FAKE_REGISTRY_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

typedef struct fake_registry fake_registry;

/* Starts serving on 127.0.0.1:port (0: any free port). Ids given to newly
 * registered schemas start at first_id (or after the highest preloaded). */
fake_registry *fake_registry_start(unsigned port, int32_t first_id, char *errstr,
                                   size_t errstr_size);
/* Stops the server (waits for the connection threads) and frees it. */
void fake_registry_stop(fake_registry *fr);
unsigned fake_registry_port(const fake_registry *fr);
/* One line per API request on f (NULL: quiet, the default). */
void fake_registry_log_to(fake_registry *fr, FILE *f);

/* Loads dir/catalog.tsv (`id topic version file`): each schema under subject
 * `<topic>-value` with its pinned id and version. */
int fake_registry_preload(fake_registry *fr, const char *dir, char *errstr, size_t errstr_size);
/* Adds one schema under subject with the given id and the next version. */
int fake_registry_add(fake_registry *fr, const char *subject, int32_t id, const char *schema_json,
                      char *errstr, size_t errstr_size);

void fake_registry_fail_next(fake_registry *fr, int count, int status);
void fake_registry_set_delay(fake_registry *fr, int delay_ms);
/* "user:password", or NULL for no authentication. */
void fake_registry_require_auth(fake_registry *fr, const char *user_password);
unsigned long fake_registry_requests(fake_registry *fr);

#endif
