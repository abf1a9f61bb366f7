/* hub_writer: the batch writer and its exactly-once core.
 *
 * A batch is written in one PostgreSQL transaction: BEGIN; the stored offset
 * of each of its partitions moved from where the writer believes it is to
 * one past the batch's last message, fenced (only if it still is there: a
 * member that lost the partition cannot store over its successor); the
 * registry rows (hub_apply); the dead letters; COMMIT. Records and offsets
 * commit together or not at all, which is what makes a message stored
 * exactly once whatever crashes (docs/architecture.md, "Exactly once").
 *
 * Failures, by SQLSTATE class (hub_pg):
 *   - transient: roll back, reconnect, try the same batch again with capped
 *     exponential backoff, until it is written, a stop is requested or the
 *     caller's attempt limit is reached;
 *   - data (a record PostgreSQL refuses): the batch is tried again with one
 *     savepoint per record; a refused record becomes a dead letter
 *     `db.refused` whose message is the SQLSTATE and the objects the server
 *     names, never its text; a dead letter it still refuses is written
 *     without its text;
 *   - fatal (our SQL, permissions): nothing is committed, the stop flag is
 *     set and hub_writer_fatal says so;
 *   - the fenced offset did not move: nothing is committed, the outcome says
 *     HUB_WRITE_CONFLICT (the caller drops the batch and reads again from
 *     the stored offsets).
 *
 * A writer owns one connection; one thread uses it at a time. It runs
 * without a broker: items carry what the writer needs of their message. */
#ifndef HUB_WRITER_H
#define HUB_WRITER_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hub_apply.h"
#include "hub_config.h"
#include "hub_pg.h"
#include "hub_reject.h"
#include "hub_telemetry.h"
#include "hub_topics.h"

/* One message of a batch. */
typedef struct hub_write_item {
    int32_t partition;
    int64_t offset;
    const void *key; /* the message's key and value, borrowed; NULL when none */
    size_t key_len;
    const void *payload;
    size_t len;
    int64_t timestamp_ms;   /* the message's timestamp, -1 when none */
    int32_t schema_id;      /* -1 when the frame held none */
    char key_text[256];     /* the business key, "part1/part2"; "" when none */
    json_t *row;            /* owned; NULL: a dead letter, `why` says why. The
                               writer turns a row PostgreSQL refuses into one. */
    char *line;             /* owned: the row's staging line encoded ahead
                               (hub_write_item_encode); NULL: the writer encodes it */
    size_t line_len;
    hub_row_layout *layout; /* owned reference: what `line` was encoded for */
    hub_reject why;
    char source_system[64]; /* the document's; "" when it did not decode */
    int64_t event_ms;       /* the document's issued_at, -1 unknown (metrics) */
    void *msg;              /* the caller's (the Kafka message), untouched here */
} hub_write_item;

/* Frees what an item owns (its row, its line) and empties them. */
void hub_write_item_clear(hub_write_item *it);

typedef struct hub_write_counts {
    uint64_t created, corrected, duplicates, dead_letters;
} hub_write_counts;

typedef enum { HUB_WRITE_COMMITTED, HUB_WRITE_CONFLICT, HUB_WRITE_ABANDONED } hub_write_status;

typedef struct hub_write_outcome {
    hub_write_status status;
    hub_write_counts counts;
    int attempts;
    double tx_s;          /* the committed transaction, from BEGIN to COMMIT */
    int64_t committed_ms; /* wall clock when it committed */
    int64_t elapsed_ms;   /* from the first attempt, retries included */
    char err[1024];       /* why a conflict */
} hub_write_outcome;

typedef struct hub_writer_settings {
    const hub_config *cfg;        /* pg.* settings; borrowed for the writer's life */
    const char *service;          /* application_name, audit rows */
    const char *topic;            /* audit rows, offsets */
    const char *group;            /* offsets */
    const hub_topic_info *topic_info;
    int backoff_initial_ms, backoff_max_ms;
    atomic_int *stop;             /* read, and set on a fatal failure */
    hub_telemetry *telemetry;     /* NULL: none */
} hub_writer_settings;

typedef struct hub_writer hub_writer;

/* NULL when out of memory. Connects lazily. */
hub_writer *hub_writer_new(const hub_writer_settings *settings) __attribute__((warn_unused_result));
void hub_writer_free(hub_writer *w);

/* The connection, connected and prepared (retrying with backoff until it
 * is, logging each failure); NULL when a stop was requested or setting up
 * the session failed for good (hub_writer_fatal). Valid until the next call
 * into the writer. */
PGconn *hub_writer_connection(hub_writer *w);
/* The connection as it is (NULL or broken when lost), without connecting. */
PGconn *hub_writer_pg(const hub_writer *w);
bool hub_writer_fatal(const hub_writer *w);
/* Retries so far: connections, batches. */
uint64_t hub_writer_retries(const hub_writer *w);

/* Writes items[0, n) in one transaction, retrying as above; `pos[p]` is the
 * stored offset the writer believes partition p has (n_parts entries; -2
 * before anything was stored), read here, advanced by the caller once
 * committed. *attempt_limit (NULL: none): attempts before the batch is
 * given up, 0 for no limit, read before each retry (another thread may
 * lower it: a revocation gives the batch in flight a few attempts only).
 * Items that become dead letters keep their row NULL and their reason in
 * `why`. */
void hub_writer_write(hub_writer *w, hub_write_item *items, size_t n, const _Atomic int64_t *pos,
                      int n_parts, const atomic_int *attempt_limit, hub_write_outcome *out);

/* Moves the stored offset of partition p from `expected` to `next`,
 * fenced, in a transaction of its own (what a batch does for its
 * partitions). *moved says whether it did; when it did not, errstr says so.
 * Returns the class of a PostgreSQL failure, with errstr. Needs a
 * connection (hub_writer_connection). */
hub_pg_class hub_writer_store_offset(hub_writer *w, int32_t p, int64_t expected, int64_t next,
                                     bool *moved, char *errstr, size_t errstr_size)
    __attribute__((warn_unused_result));

/* The layout of the registry columns the writer's session was last
 * prepared with, referenced (hub_row_layout_unref it); NULL before the
 * first connection. Any thread. */
hub_row_layout *hub_writer_layout(hub_writer *w);

/* Encodes the staging line of an item holding a row for `layout`, ahead of
 * its batch (hub_row_encode); any thread. Without a layout, or when the row
 * cannot be encoded, the item keeps no line and the writer encodes it,
 * refusing it as before. */
void hub_write_item_encode(hub_write_item *it, hub_row_layout *layout);

/* Sleeps up to ms in steps, waking early when a stop is requested; a wait
 * on purpose ticks the health check. */
void hub_writer_nap(const hub_writer_settings *settings, int ms);

#endif
