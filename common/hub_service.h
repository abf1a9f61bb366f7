/* hub_service: a consumer service's process: what each service (a main.c)
 * declares, and the main that runs it.
 *
 * One process consumes one topic in a consumer group: it reads its
 * settings (files, then CRVS_* environment), opens the schema catalog (and
 * the schema registry when configured), serves /metrics, /healthz and
 * /readyz when asked, connects to PostgreSQL (hub_writer) and runs the
 * Kafka loop (hub_consumer) until SIGTERM or SIGINT. */
#ifndef HUB_SERVICE_H
#define HUB_SERVICE_H

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

/* Runs the service until SIGTERM/SIGINT. Parses argv (-c FILE ...,
 * --version, -h). Returns the process exit status: 0 after a stop, 1 after
 * a fatal error, 2 for a wrong command line. */
int hub_service_main(const hub_service_spec *spec, int argc, char **argv);

#endif
