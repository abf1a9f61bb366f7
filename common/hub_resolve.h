/* hub_resolve: Avro schema resolution (data written with one schema, read
 * as another), done by the hub rather than by avro-c.
 *
 * avro-c 1.11.1's resolver cannot fill a reader field that the writer lacks
 * from its default, and crashes on some record shapes (docs/schema-evolution.md,
 * "Decision: the hub resolves, not avro-c"). So the hub
 * reads a message body with the WRITER schema (an avro-c generic value) and
 * then builds the reader-shaped JSON document (the shape hub_avro.h
 * describes) by walking that value with a plan. A plan is compiled once per
 * (writer, reader) pair: every name lookup, alias match, promotion, enum
 * symbol mapping and default value is decided when the plan is built, so
 * applying it costs about as much as converting the value to JSON at all.
 *
 * Rules (Avro specification 1.11, "Schema Resolution"; docs/schema-evolution.md):
 * - records: named types match by unqualified name or a reader alias. A
 *   reader field takes the writer field of the same name, else one named by
 *   a reader field alias, else one whose own aliases name the reader field.
 *   Reader fields no writer field matches take the reader's default; writer
 *   fields no reader field takes are dropped.
 * - promotions int -> long, float, double; long -> float, double; float ->
 *   double; string <-> bytes (bytes read as string must be UTF-8).
 * - enums: symbols map by name; a writer symbol the reader lacks becomes the
 *   reader enum's "default", and without one a message that uses it is
 *   refused at read time ("avro.resolve").
 * - unions: a writer union dispatches per branch; a non-union writer read
 *   as a union takes the first reader branch of the same type (then the
 *   first it promotes to). A writer branch the reader cannot take refuses
 *   only the messages that use it (read time); a writer union none of whose
 *   branches can be read, or a non-union writer no reader branch takes, is
 *   refused when the plan is built.
 * - fixed: same name and size. arrays, maps: items / values resolved.
 * - logical types: the READER's decides the JSON (an int read as `date`
 *   gives "YYYY-MM-DD", a long or int read as `timestamp-millis` an ISO
 *   timestamp); the writer's is ignored.
 * - defaults are converted once into the document shape: dates and
 *   timestamps as text, bytes and fixed as hex, a union's default in its
 *   first branch, records filled from their fields' own defaults.
 *
 * Problem paths name reader fields: "child.weight_grams", "items[]" for an
 * array's items, "tags{}" for a map's values, "(root)" for the top. */
#ifndef HUB_RESOLVE_H
#define HUB_RESOLVE_H

#include <avro.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "hub_catalog.h"
#include "hub_reject.h"

typedef struct hub_resolve_plan hub_resolve_plan;

/* Compiles the plan for reading data written with `writer` as `reader`.
 * Fails when data written with `writer` can never be read as `reader`;
 * errstr then names the first reader field path and why ("child.weight:
 * reader field has no default and is not in the writer"), followed by
 * " (and N more problems)" when there are more. Problems that only refuse
 * some messages (an enum symbol, a union branch) do not fail the plan.
 * Both schemas are only read during the call: the plan keeps its own copies
 * of names and defaults. Destroy with hub_resolve_plan_destroy. */
hub_resolve_plan *hub_resolve_plan_new(const hub_schema *writer, const hub_schema *reader,
                                       char *errstr, size_t errstr_size) HUB_WUR;
void hub_resolve_plan_destroy(hub_resolve_plan *plan);

/* Builds the reader-shaped document from `value`, a value of the plan's
 * writer schema (not modified). On success returns 0 and *out is a new
 * reference the caller decrefs. On failure returns -1, *out is NULL and
 * `why` says why: "avro.resolve" (the data uses an enum symbol or union
 * branch the reader cannot take), "encoding.utf8" (text is not UTF-8),
 * "avro.decode" (a value with no JSON form: NaN, a timestamp beyond year
 * 9999), "internal.oom". The plan is only read: one plan may serve several
 * threads. */
int hub_resolve_apply(const hub_resolve_plan *plan, avro_value_t *value, json_t **out,
                      hub_reject *why) HUB_WUR;

/* One problem found while resolving: the reader field path, what is wrong,
 * and whether it refuses only messages that use the offending symbol or
 * branch (at_read_time) or every message (the plan cannot be built). */
typedef void (*hub_resolve_problem_fn)(void *opaque, const char *path, const char *why,
                                       bool at_read_time);

/* The same resolution as hub_resolve_plan_new, reporting every problem to
 * `fn` (both strings live for the call only). Returns the number of problems
 * (0: every message written with `writer` can be read as `reader`), or -1
 * when out of memory. This is what `crvsctl schema check` prints. */
int hub_resolve_check(const hub_schema *writer, const hub_schema *reader,
                      hub_resolve_problem_fn fn, void *opaque) HUB_WUR;

/* True when the writer's top-level type may be read as the reader's: same
 * unqualified name, or the writer's name is one of the reader's aliases
 * (the named-type rule above). The decoder refuses messages of any other
 * type as "schema.wrong_type" before resolving. */
bool hub_resolve_same_type(const hub_schema *writer, const hub_schema *reader);

#endif
