/* hub_consumer: the runtime every consumer service runs.
 *
 * One process consumes one topic in a consumer group. Messages are decoded
 * (hub_avro), checked and mapped by the service's map function, and written
 * in batches: one PostgreSQL transaction per batch holds the registry rows
 * (as rows, hub_apply: COPY and set-based statements), the audit rows, the dead
 * letters and the advanced consumer offsets. Offsets in PostgreSQL are the
 * truth: on assignment the service starts where they say; Kafka-side commits
 * are made afterwards only so that lag tools see progress.
 *
 * Failure handling:
 *   - transient PostgreSQL errors (SQLSTATE class 08, 40, 53, 57P0x ...):
 *     roll back, reconnect, retry the same batch with capped exponential
 *     backoff; nothing is skipped;
 *   - a record PostgreSQL refuses (class 22, 23): the batch is retried with
 *     one savepoint per record and the refused record becomes a dead letter;
 *   - another member advanced the stored offset (rebalance, zombie): roll
 *     back, drop the batch, seek to the stored offsets;
 *   - SIGTERM/SIGINT: the batch being built is written, then the consumer
 *     is closed. kill -9 loses only uncommitted work, which is re-read. */
#ifndef HUB_CONSUMER_H
#define HUB_CONSUMER_H

#include <jansson.h>
#include <stdint.h>

#include "hub_reject.h"

typedef struct hub_service_spec {
    const char *name;      /* service name: logs, audit rows, default group id */
    const char *topic;     /* default topic */
    /* Checks and normalises one decoded document; `now_ms` is the wall
     * clock (ms since the epoch) for "not in the future" checks. On success
     * returns 0 and sets *row to a new JSON object (the caller decrefs)
     * holding the registry row; on a hard rule failure returns -1 with
     * why->reason "validation.<rule>" and a message that holds no full ID or
     * name. */
    int (*map)(json_t *doc, int64_t now_ms, json_t **row, hub_reject *why);
} hub_service_spec;

/* Runs the service until SIGTERM/SIGINT. Parses argv (-c FILE ..., -h).
 * Returns the process exit status. */
int hub_service_main(const hub_service_spec *spec, int argc, char **argv);

#endif
