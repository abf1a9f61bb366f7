#include "hub_linker.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hub_clock.h"
#include "hub_log.h"
#include "hub_pg.h"

/* How often a standing-by linker tries to become the active one. */
#define CLAIM_MS 1000
/* How often the queue's depth is read for the gauges. */
#define QUEUE_READ_MS 2000
/* The depth is counted up to this (a count of a deep backlog costs). */
#define QUEUE_COUNT_CAP "1000000"

struct hub_linker {
    hub_linker_settings set;
    char name[128]; /* application_name */
    pthread_t thread;
    PGconn *pg;
    _Atomic(PGcancel *) cancel; /* for the join to interrupt a fold */
    atomic_int cancelled;
};

static bool stopping(const hub_linker *l) { return atomic_load(l->set.stop) != 0; }

static void nap(const hub_linker *l, int ms)
{
    while (ms > 0 && !stopping(l)) {
        int step = ms < 50 ? ms : 50;
        struct timespec ts = {0, (long)step * 1000000L};
        nanosleep(&ts, NULL);
        ms -= step;
    }
}

static void disconnect(hub_linker *l)
{
    PGcancel *c = atomic_exchange(&l->cancel, NULL);
    if (c) PQfreeCancel(c);
    if (l->pg) PQfinish(l->pg);
    l->pg = NULL;
}

/* Connected, or false when stopping. */
static bool connect_pg(hub_linker *l)
{
    int backoff = l->set.backoff_initial_ms;
    while (!l->pg && !stopping(l)) {
        char err[512];
        l->pg = hub_pg_connect(l->set.cfg, l->name, err, sizeof err);
        if (l->pg) {
            atomic_store(&l->cancel, PQgetCancel(l->pg));
            break;
        }
        hub_log_warn("event=linker_connect_failed error=\"%s\" retry_in_ms=%d", err, backoff);
        nap(l, backoff);
        backoff = backoff * 2 > l->set.backoff_max_ms ? l->set.backoff_max_ms : backoff * 2;
    }
    return l->pg != NULL;
}

/* One fold: the records folded (-1: another process holds the linker
 * lock), or -2 after a failure (logged, counted, connection dropped when
 * broken). */
static long fold(hub_linker *l)
{
    char batch[16];
    snprintf(batch, sizeof batch, "%d", l->set.batch);
    const char *params[1] = {batch};
    double started = hub_clock_s();
    PGresult *res = PQexecParams(l->pg,
                                 "SELECT records, oldest_age FROM crvs.link_drain($1::integer, "
                                 "false)",
                                 1, NULL, params, NULL, NULL, 0);
    hub_pg_class c = hub_pg_classify(l->pg, res);
    if (c != HUB_PG_OK || PQntuples(res) != 1) {
        char err[512];
        if (c == HUB_PG_OK) snprintf(err, sizeof err, "link_drain gave no row");
        else hub_pg_error(l->pg, res, err, sizeof err);
        PQclear(res);
        if (!atomic_load(&l->cancelled)) {
            hub_log_error("event=linker_failed class=%s error=\"%s\"", hub_pg_class_name(c), err);
            hub_telemetry_linker_failure(l->set.telemetry);
        }
        if (PQstatus(l->pg) != CONNECTION_OK) disconnect(l);
        return -2;
    }
    long records = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    double oldest = strtod(PQgetvalue(res, 0, 1), NULL);
    PQclear(res);
    if (records > 0) {
        double tx_s = hub_clock_s() - started;
        /* oldest_age was read as the fold began: its duration and the
         * commit come on top. */
        hub_telemetry_linker_fold(l->set.telemetry, (uint64_t)records, oldest + tx_s, tx_s);
        hub_log_debug("event=linker_folded records=%ld oldest_s=%.3f tx_ms=%.1f", records,
                      oldest + tx_s, tx_s * 1000);
    }
    return records;
}

/* The active linker's session lock: true when this connection holds it
 * now; false when another does or the query failed (logged). */
static bool claim(hub_linker *l)
{
    PGresult *res = PQexec(l->pg, "SELECT crvs.linker_claim()");
    hub_pg_class c = hub_pg_classify(l->pg, res);
    bool won = c == HUB_PG_OK && PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't';
    if (c != HUB_PG_OK) {
        char err[512];
        hub_pg_error(l->pg, res, err, sizeof err);
        hub_log_error("event=linker_failed class=%s error=\"%s\"", hub_pg_class_name(c), err);
        hub_telemetry_linker_failure(l->set.telemetry);
        if (PQstatus(l->pg) != CONNECTION_OK) disconnect(l);
    }
    PQclear(res);
    return won;
}

static void read_queue(hub_linker *l)
{
    PGresult *res = PQexec(l->pg, "SELECT records, oldest_age FROM crvs.link_lag(" QUEUE_COUNT_CAP
                                  ")");
    if (hub_pg_classify(l->pg, res) == HUB_PG_OK && PQntuples(res) == 1)
        hub_telemetry_linker_queue(l->set.telemetry, true, strtod(PQgetvalue(res, 0, 0), NULL),
                                   strtod(PQgetvalue(res, 0, 1), NULL));
    PQclear(res);
}

static void *run(void *arg)
{
    hub_linker *l = arg;
    int backoff = l->set.backoff_initial_ms;
    int64_t queue_read = 0;
    bool active = false, standing_by = false; /* logged when it changes */
    hub_log_info("event=linker_started batch=%d idle_ms=%d", l->set.batch, l->set.idle_ms);
    while (!stopping(l)) {
        if (!l->pg) {
            if (active) hub_log_warn("event=linker_connection_lost");
            active = false;
            if (!connect_pg(l)) break;
        }
        if (!active) {
            if (!claim(l)) {
                if (l->pg && !standing_by) hub_log_info("event=linker_standing_by");
                standing_by = l->pg != NULL;
                hub_telemetry_linker_queue(l->set.telemetry, false, 0, 0);
                nap(l, l->pg ? CLAIM_MS : backoff);
                continue;
            }
            hub_log_info("event=linker_active");
            active = true;
            standing_by = false;
            queue_read = 0;
        }
        long n = fold(l);
        if (n == -2) {
            if (stopping(l)) break;
            nap(l, backoff);
            backoff = backoff * 2 > l->set.backoff_max_ms ? l->set.backoff_max_ms : backoff * 2;
            continue;
        }
        backoff = l->set.backoff_initial_ms;
        if (hub_clock_ms() - queue_read >= QUEUE_READ_MS) {
            read_queue(l);
            queue_read = hub_clock_ms();
        }
        /* -1: an SQL caller folds (crvs.person_link, a marriage load) */
        if (n < l->set.batch) nap(l, l->set.idle_ms);
    }
    hub_telemetry_linker_queue(l->set.telemetry, false, 0, 0);
    disconnect(l);
    hub_log_info("event=linker_stopped");
    return NULL;
}

hub_linker *hub_linker_start(const hub_linker_settings *settings, char *errstr,
                             size_t errstr_size)
{
    hub_linker *l = calloc(1, sizeof *l);
    if (!l) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    l->set = *settings;
    snprintf(l->name, sizeof l->name, "%s-linker", settings->service);
    int rc = pthread_create(&l->thread, NULL, run, l);
    if (rc != 0) {
        snprintf(errstr, errstr_size, "pthread_create: %s", strerror(rc));
        free(l);
        return NULL;
    }
    return l;
}

void hub_linker_join(hub_linker *l)
{
    if (!l) return;
    /* A long fold would hold the stop: cancel it; its records stay queued
     * for the next linker. */
    PGcancel *c = atomic_exchange(&l->cancel, NULL);
    if (c) {
        char err[256];
        atomic_store(&l->cancelled, 1);
        (void)PQcancel(c, err, sizeof err);
        PQfreeCancel(c);
    }
    pthread_join(l->thread, NULL);
    free(l);
}
