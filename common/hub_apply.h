/* hub_apply: a batch's registry rows, applied as rows.
 *
 * The rows of a batch are encoded in COPY's text format (content hashes
 * computed in C, hub_jsonb.h), ahead of the batch on the consumer thread
 * (hub_row_encode) or here, streamed with one COPY into a staging table
 * of the session, and applied by a fixed set of set-based statements in
 * one call of crvs.apply_batch_<entity> (013_roles.sql), which runs them
 * with the owner's rights (the service's role may write no table): the
 * outcomes (create, correct, duplicate, as if the rows were applied one by
 * one, against the stored rows locked FOR UPDATE), the registry's replaced
 * and new rows, one audit row per record, and the linkage of the records
 * that changed. Whatever the batch's size, three round trips (COPY, its
 * end, the call). The semantics are those of crvs.apply_records
 * (001_core.sql), which stays the reference (docs/architecture.md, "Write
 * path").
 *
 * A hub_apply belongs to one connection: its staging tables (made by
 * crvs.apply_stage) and the batch function's cached plans live in that
 * session. After the connection is lost, free it
 * and prepare a new one on the new connection. Everything runs inside the
 * caller's transaction; the staging tables empty themselves at COMMIT or
 * ROLLBACK (ON COMMIT DELETE ROWS), and hub_apply_rows empties them itself
 * when asked (for several calls in one transaction, one per savepoint). */
#ifndef HUB_APPLY_H
#define HUB_APPLY_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hub_pg.h"
#include "hub_topics.h"

typedef struct hub_apply hub_apply;

/* The registry columns a session's staging table has, as read from the
 * catalog when it was prepared: what a row's COPY line is encoded for.
 * Immutable and shared by reference counts (any thread). */
typedef struct hub_row_layout hub_row_layout;

/* One record to apply: its registry row as the service's map function made
 * it (columns by name, plus "document", "person_facts" and "reconcile"),
 * and where it came from; optionally its staging line encoded ahead
 * (hub_row_encode) and the layout it was encoded for. Borrowed for the
 * duration of the call. */
typedef struct hub_apply_row {
    const json_t *row;
    int32_t partition;
    int64_t offset;
    int32_t schema_id;
    const char *key; /* the business key, "part1/part2" (hub_topic_key) */
    const char *line; /* NULL: encoded from `row` by hub_apply_rows */
    size_t line_len;
    const hub_row_layout *layout;
} hub_apply_row;

typedef struct hub_apply_counts {
    uint64_t created, corrected, duplicates;
} hub_apply_counts;

/* Prepares the session of `pg` (idle, no transaction open, not prepared
 * before: after a failure, use a new connection) for applying records of
 * topic `t`: reads the registry table's columns from the catalog, creates
 * the staging tables and prepares the statements.
 * `service` and `topic` go into the audit rows. NULL on failure, with the
 * class of the PostgreSQL failure in *cls (HUB_PG_FATAL when out of memory)
 * and errstr saying what failed. The caller hub_apply_free()s it. */
hub_apply *hub_apply_prepare(PGconn *pg, const hub_topic_info *t, const char *service,
                             const char *topic, hub_pg_class *cls, char *errstr,
                             size_t errstr_size) __attribute__((warn_unused_result));

/* Applies rows[0, n) inside the open transaction of the connection it was
 * prepared on; adds their outcomes to *counts. With `empty_after`, empties
 * the staging tables after (the next call in this transaction starts
 * clean). Returns HUB_PG_OK, or the class of the failure with errstr (the
 * transaction is then aborted: the caller rolls back, to a savepoint or
 * whole). A row whose document cannot be hashed (hub_jsonb_text refuses
 * it) fails as HUB_PG_DATA. */
hub_pg_class hub_apply_rows(hub_apply *a, const hub_apply_row *rows, size_t n, bool empty_after,
                            hub_apply_counts *counts, char *errstr, size_t errstr_size)
    __attribute__((warn_unused_result));

void hub_apply_free(hub_apply *a);

/* The layout `a`'s session was prepared with; valid while `a` is (take a
 * reference to keep it longer). */
const hub_row_layout *hub_apply_layout(const hub_apply *a);
hub_row_layout *hub_row_layout_ref(const hub_row_layout *L);
void hub_row_layout_unref(hub_row_layout *L);

/* The staging line of row r (all of it but its position in the batch,
 * which hub_apply_rows puts in front) for layout L, in a malloc'd buffer
 * of *len bytes: the encoding and the content hash done outside the
 * batch's transaction, on any thread. hub_apply_rows sends it as it is
 * when its session has the same columns, and encodes the row again from
 * `row` otherwise (a session prepared after a migration changed the
 * table). NULL when the row cannot be encoded (hub_apply_rows then refuses
 * it, as HUB_PG_DATA) or out of memory. */
char *hub_row_encode(const hub_row_layout *L, const hub_apply_row *r, size_t *len)
    __attribute__((warn_unused_result));

#endif
