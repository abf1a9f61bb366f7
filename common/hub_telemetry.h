/* hub_telemetry: what a consumer service tells its operators: the crvs_*
 * metrics (docs/operations.md lists them) and the health and readiness
 * answers, served over HTTP by hub_http when a port is configured.
 *
 * The consumer thread reports events with the functions below; they update
 * atomics and never allocate after start-up, except the first time a new
 * dead-letter reason or partition is seen. The HTTP thread reads. Every
 * function accepts t == NULL and then does nothing, so the runtime calls
 * them unconditionally. */
#ifndef HUB_TELEMETRY_H
#define HUB_TELEMETRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hub_metrics.h"

#ifndef HUB_WUR
#define HUB_WUR __attribute__((warn_unused_result))
#endif

typedef struct hub_telemetry hub_telemetry;

/* Registers the metrics of one service (constant label service=NAME) and
 * makes this the process's telemetry for hub_telemetry_registry_lookup().
 * Strings are copied. */
hub_telemetry *hub_telemetry_new(const char *service, const char *version, char *errstr,
                                 size_t errstr_size) HUB_WUR;
/* Serves /metrics, /healthz and /readyz on bind_address:port, over HTTPS
 * when tls_cert_file and tls_key_file name PEM files (NULL or empty: plain
 * HTTP). /healthz fails when the consumer loop has not ticked for stall_s
 * seconds. */
int hub_telemetry_serve(hub_telemetry *t, const char *bind_address, int port, int stall_s,
                        const char *tls_cert_file, const char *tls_key_file, char *errstr,
                        size_t errstr_size) HUB_WUR;
/* Stops the server and frees everything. */
void hub_telemetry_destroy(hub_telemetry *t);
hub_metrics *hub_telemetry_metrics(hub_telemetry *t); /* borrowed */

/* ---- liveness and readiness ---- */
void hub_telemetry_tick(hub_telemetry *t);                  /* the loop is alive */
void hub_telemetry_partitions(hub_telemetry *t, int assigned); /* currently assigned */
void hub_telemetry_pg_contact(hub_telemetry *t, bool ok);   /* last PostgreSQL contact */
void hub_telemetry_stopping(hub_telemetry *t);              /* not ready any more */

/* ---- events ---- */
/* A new PostgreSQL connection after the first one. */
void hub_telemetry_pg_reconnect(hub_telemetry *t);
/* A retry after a transient failure; op: "connect" | "claim" | "batch". */
void hub_telemetry_pg_retry(hub_telemetry *t, const char *op);
void hub_telemetry_offset_conflict(hub_telemetry *t);
/* A message put back because its writer schema could not be fetched. */
void hub_telemetry_schema_deferral(hub_telemetry *t);

/* Broker data loss (docs/operations.md, "Broker data loss"). A partition
 * stopped for it (stopped true, with the messages known missing, -1 when
 * not known), or going on again after an operator's reset (false);
 * _forget when the partition is no longer this instance's. _event counts a
 * finding: the partition stopped, or (continued) skipped by policy, with
 * the messages skipped when known. */
void hub_telemetry_data_loss(hub_telemetry *t, const char *topic, int32_t partition,
                             bool stopped, int64_t missing);
void hub_telemetry_data_loss_forget(hub_telemetry *t, const char *topic, int32_t partition);
void hub_telemetry_data_loss_event(hub_telemetry *t, bool continued, int64_t missing);

/* A committed batch: its message count, how long its transaction took
 * (BEGIN to COMMIT of the attempt that committed), the outcome counts, and
 * the commit time (ms since the epoch). */
void hub_telemetry_batch(hub_telemetry *t, size_t n_messages, double tx_seconds,
                         uint64_t created, uint64_t corrected, uint64_t duplicates,
                         int64_t commit_ms);
/* One message of a committed batch. kafka_ms: the message's Kafka
 * timestamp, event_ms: its event time (issued_at), each -1 when unknown;
 * dead_letter_reason: NULL for a stored record. Call after
 * hub_telemetry_batch() or before: the order does not matter. */
void hub_telemetry_message(hub_telemetry *t, int64_t commit_ms, int64_t kafka_ms,
                           int64_t event_ms, const char *dead_letter_reason);

/* The linker (hub_linker): a committed fold of `records` queued records,
 * the oldest queued delay_s before the commit, in a transaction of tx_s;
 * a failed fold; what waits in the queue (known false: this process does
 * not know, its linker is off or another process's folds). */
void hub_telemetry_linker_fold(hub_telemetry *t, uint64_t records, double delay_s, double tx_s);
void hub_telemetry_linker_failure(hub_telemetry *t);
void hub_telemetry_linker_queue(hub_telemetry *t, bool known, double records, double age_s);

/* librdkafka statistics (the JSON of the stats callback): sets the lag of
 * each partition of every topic from partitions.<p>.consumer_lag. Where
 * librdkafka does not know it (-1, nothing committed to Kafka yet) and
 * stored_offset() gives the partition's stored next offset (>= -2; -1 means
 * not assigned), the lag is hi_offset minus that offset. A partition with
 * neither has no lag series. stored_offset may be NULL. Also sets the
 * number of the cluster's brokers with a connection up (brokers.* with a
 * nodeid, source "learned" or "configured", state "UP"). */
typedef int64_t (*hub_telemetry_offset_fn)(void *opaque, const char *topic, int32_t partition);
void hub_telemetry_kafka_stats(hub_telemetry *t, const char *json, size_t len,
                               hub_telemetry_offset_fn stored_offset, void *opaque);

/* For the schema registry client: counts one lookup in the process's
 * telemetry (none: nothing happens). outcome: "ok" (schema fetched),
 * "not_found" (the registry has no such id), "error" (unreachable, bad
 * answer). Thread-safe. */
void hub_telemetry_registry_lookup(const char *outcome);

#endif
