/* hub_linker: the linkage's derived stage, run by a thread of each service.
 *
 * The write path states each record's facts and queues the record in
 * crvs.link_queue (schemas/sql/011_linker.sql); the linker folds what is
 * queued into persons, judgments, marriages and their reconciliation items,
 * up to `batch` records per transaction, and deletes the queue rows in the
 * same transaction: exactly once whatever crashes, since a fold that does
 * not commit leaves its rows queued. One linker is active per database: the
 * thread whose connection holds the session lock crvs.linker_claim() gives;
 * the others stand by and try again every second, so one takes over when
 * the active one's process or connection ends, and the linkage goes on
 * while any service runs (docs/linkage.md, "The linker").
 *
 * The thread owns its own connection. Failures are logged, counted
 * (crvs_linker_failures_total) and tried again with capped backoff; what
 * waits is visible as crvs_linker_queue_records and _age_seconds, in
 * `crvsctl status` and in the console. */
#ifndef HUB_LINKER_H
#define HUB_LINKER_H

#include <stdatomic.h>

#include "hub_config.h"
#include "hub_telemetry.h"

typedef struct hub_linker_settings {
    const hub_config *cfg;    /* pg.* settings; borrowed for the linker's life */
    const char *service;      /* application_name is "<service>-linker" */
    int batch;                /* most queued records per fold */
    int idle_ms;              /* wait after a fold that emptied the queue */
    int backoff_initial_ms, backoff_max_ms;
    const atomic_int *stop;   /* the process's stop flag, read */
    hub_telemetry *telemetry; /* NULL: none */
} hub_linker_settings;

typedef struct hub_linker hub_linker;

/* Starts the thread; NULL when it could not (errstr says why). */
hub_linker *hub_linker_start(const hub_linker_settings *settings, char *errstr,
                             size_t errstr_size) __attribute__((warn_unused_result));
/* Waits for the thread to see the stop flag (set by the caller first) and
 * frees everything. A fold in progress is cancelled (its records stay
 * queued). NULL allowed. */
void hub_linker_join(hub_linker *l);

#endif
