#include "hub_writer.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hub_apply.h"
#include "hub_clock.h"
#include "hub_log.h"
#include "hub_text.h"
#include "hub_validate.h"

struct hub_writer {
    hub_writer_settings set;
    PGconn *pg;
    hub_apply *apply; /* prepared on `pg`: staging tables, statements */
    pthread_mutex_t layout_mu;
    hub_row_layout *layout; /* under layout_mu: the last prepared session's */
    bool connected_once;
    bool fatal;
    uint64_t retries;
};

typedef enum { TX_OK, TX_TRANSIENT, TX_DATA, TX_FATAL, TX_CONFLICT } tx_result;

static tx_result tx_from_class(hub_pg_class c)
{
    switch (c) {
    case HUB_PG_OK: return TX_OK;
    case HUB_PG_TRANSIENT: return TX_TRANSIENT;
    case HUB_PG_DATA: return TX_DATA;
    default: return TX_FATAL;
    }
}

static tx_result exec_simple(hub_writer *w, const char *sql, char *err, size_t err_size)
{
    return tx_from_class(hub_pg_exec(w->pg, sql, err, err_size));
}

static bool stopping(const hub_writer *w) { return atomic_load(w->set.stop) != 0; }

static void stop_for_good(hub_writer *w)
{
    w->fatal = true;
    atomic_store(w->set.stop, 1);
}

void hub_writer_nap(const hub_writer_settings *set, int ms)
{
    while (ms > 0 && !atomic_load(set->stop)) {
        hub_telemetry_tick(set->telemetry); /* waiting on purpose is not a stall */
        int step = ms < 50 ? ms : 50;
        struct timespec ts = {0, (long)step * 1000000L};
        nanosleep(&ts, NULL);
        ms -= step;
    }
}

static int next_backoff(const hub_writer *w, int current)
{
    int next = current * 2;
    return next > w->set.backoff_max_ms ? w->set.backoff_max_ms : next;
}

hub_writer *hub_writer_new(const hub_writer_settings *settings)
{
    hub_writer *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->set = *settings;
    pthread_mutex_init(&w->layout_mu, NULL);
    return w;
}

void hub_writer_free(hub_writer *w)
{
    if (!w) return;
    hub_apply_free(w->apply);
    if (w->pg) PQfinish(w->pg);
    hub_row_layout_unref(w->layout);
    pthread_mutex_destroy(&w->layout_mu);
    free(w);
}

hub_row_layout *hub_writer_layout(hub_writer *w)
{
    pthread_mutex_lock(&w->layout_mu);
    hub_row_layout *L = hub_row_layout_ref(w->layout);
    pthread_mutex_unlock(&w->layout_mu);
    return L;
}

void hub_write_item_encode(hub_write_item *it, hub_row_layout *layout)
{
    if (!it->row || it->line || !layout) return;
    hub_apply_row r = {it->row, it->partition, it->offset, it->schema_id, it->key_text, NULL, 0,
                       NULL};
    if ((it->line = hub_row_encode(layout, &r, &it->line_len)))
        it->layout = hub_row_layout_ref(layout);
}

void hub_write_item_clear(hub_write_item *it)
{
    json_decref(it->row);
    it->row = NULL;
    free(it->line);
    it->line = NULL;
    hub_row_layout_unref(it->layout);
    it->layout = NULL;
}

PGconn *hub_writer_pg(const hub_writer *w) { return w->pg; }
bool hub_writer_fatal(const hub_writer *w) { return w->fatal; }
uint64_t hub_writer_retries(const hub_writer *w) { return w->retries; }

PGconn *hub_writer_connection(hub_writer *w)
{
    int backoff = w->set.backoff_initial_ms;
    while (!w->pg || PQstatus(w->pg) != CONNECTION_OK || !w->apply) {
        char err[512];
        hub_apply_free(w->apply);
        w->apply = NULL;
        if (w->pg) {
            PQfinish(w->pg);
            w->pg = NULL;
        }
        if (stopping(w) || w->fatal) return NULL;
        w->pg = hub_pg_connect(w->set.cfg, w->set.service, err, sizeof err);
        hub_pg_class cls = HUB_PG_TRANSIENT;
        if (w->pg && !(w->apply = hub_apply_prepare(w->pg, w->set.topic_info, w->set.service,
                                                     w->set.topic, &cls, err, sizeof err))) {
            PQfinish(w->pg); /* a session half prepared is not used again */
            w->pg = NULL;
            if (cls == HUB_PG_FATAL || cls == HUB_PG_DATA) {
                hub_log_error("event=pg_prepare_failed error=\"%s\"", err);
                stop_for_good(w);
                return NULL;
            }
        }
        if (w->pg) {
            pthread_mutex_lock(&w->layout_mu);
            hub_row_layout_unref(w->layout);
            w->layout = hub_row_layout_ref(hub_apply_layout(w->apply));
            pthread_mutex_unlock(&w->layout_mu);
            hub_log_info("event=pg_connected");
            if (w->connected_once) hub_telemetry_pg_reconnect(w->set.telemetry);
            w->connected_once = true;
            hub_telemetry_pg_contact(w->set.telemetry, true);
            break;
        }
        hub_log_warn("event=pg_unavailable retry_in_ms=%d error=\"%s\"", backoff, err);
        hub_telemetry_pg_contact(w->set.telemetry, false);
        hub_telemetry_pg_retry(w->set.telemetry, "connect");
        w->retries++;
        hub_writer_nap(&w->set, backoff);
        backoff = next_backoff(w, backoff);
    }
    return w->pg;
}

/* ---- offsets ---------------------------------------------------------------- */

hub_pg_class hub_writer_store_offset(hub_writer *w, int32_t p, int64_t expected, int64_t next,
                                     bool *moved, char *err, size_t err_size)
{
    char partition[16], from[32], to[32];
    snprintf(partition, sizeof partition, "%d", (int)p);
    snprintf(from, sizeof from, "%lld", (long long)expected);
    snprintf(to, sizeof to, "%lld", (long long)next);
    const char *params[5] = {w->set.group, w->set.topic, partition, from, to};
    *moved = false;
    if (!w->pg) {
        snprintf(err, err_size, "not connected");
        return HUB_PG_TRANSIENT;
    }
    PGresult *res = PQexecParams(
        w->pg, "SELECT crvs.advance_offset($1, $2, $3::integer, $4::bigint, $5::bigint)", 5, NULL,
        params, NULL, NULL, 0);
    hub_pg_class c = hub_pg_classify(w->pg, res);
    if (c != HUB_PG_OK) hub_pg_error(w->pg, res, err, err_size);
    else if (!(*moved = PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't'))
        snprintf(err, err_size, "partition %d: stored offset is no longer %s", (int)p, from);
    PQclear(res);
    return c;
}

/* Advances the stored offset of every partition in the batch, from the
 * position we believe is stored. A partition's messages must come in
 * increasing offsets from that position: anything else would store an
 * offset past records never written, so it is refused like a conflict (the
 * batch is dropped and read again from the stored offsets). */
static tx_result advance_offsets(hub_writer *w, const hub_write_item *items, size_t n,
                                 const _Atomic int64_t *pos, int n_parts, char *err,
                                 size_t err_size)
{
    for (size_t i = 0; i < n; i++)
        if (items[i].partition < 0 || items[i].partition >= n_parts) {
            snprintf(err, err_size, "partition %d of the batch is not ours", (int)items[i].partition);
            return TX_CONFLICT;
        }
    for (int p = 0; p < n_parts; p++) {
        int64_t last = -1, stored = pos[p];
        for (size_t i = 0; i < n; i++) {
            if (items[i].partition != p) continue;
            if (items[i].offset <= last || (stored >= 0 && items[i].offset < stored)) {
                snprintf(err, err_size, "partition %d: offset %lld out of order in the batch", p,
                         (long long)items[i].offset);
                return TX_CONFLICT;
            }
            last = items[i].offset;
        }
        if (last < 0) continue;
        bool moved;
        hub_pg_class c = hub_writer_store_offset(w, p, stored, last + 1, &moved, err, err_size);
        if (c != HUB_PG_OK) return tx_from_class(c);
        if (!moved) return TX_CONFLICT;
    }
    return TX_OK;
}

/* ---- records ---------------------------------------------------------------- */

/* Applies items [from, to) that hold rows, as rows (hub_apply); counts
 * outcomes into *c. In isolation (one call per record, each under its
 * savepoint) the staging tables are emptied after each call. */
static tx_result apply_rows(hub_writer *w, const hub_write_item *items, size_t from, size_t to,
                            bool isolate, hub_write_counts *c, char *err, size_t err_size)
{
    hub_apply_row *rows = malloc((to - from + 1) * sizeof *rows);
    if (!rows) {
        snprintf(err, err_size, "out of memory");
        return TX_TRANSIENT;
    }
    size_t n = 0;
    for (size_t i = from; i < to; i++) {
        const hub_write_item *it = &items[i];
        if (!it->row) continue;
        rows[n++] = (hub_apply_row){it->row,     it->partition, it->offset,  it->schema_id,
                                    it->key_text, it->line,      it->line_len, it->layout};
    }
    hub_apply_counts got = {0};
    hub_pg_class cls = hub_apply_rows(w->apply, rows, n, isolate, &got, err, err_size);
    free(rows);
    if (cls != HUB_PG_OK) return tx_from_class(cls);
    c->created += got.created;
    c->corrected += got.corrected;
    c->duplicates += got.duplicates;
    return TX_OK;
}

/* A dead letter must be insertable whatever the message held: its text
 * columns get valid UTF-8 without control characters, bounded (the rules'
 * messages may have been cut inside a character, a source_system may be
 * anything); the key and the message itself go as bytea, unchanged. */
static void sanitize_reject(hub_reject *why)
{
    hub_text_scrub(why->reason);
    hub_text_scrub(why->message);
    if (!why->reason[0]) snprintf(why->reason, sizeof why->reason, "unknown");
}

static tx_result insert_dead_letter(hub_writer *w, hub_write_item *it, char *err, size_t err_size)
{
    char partition[16], offset[32], schema_id[16], ts[40];
    sanitize_reject(&it->why);
    snprintf(partition, sizeof partition, "%d", (int)it->partition);
    snprintf(offset, sizeof offset, "%lld", (long long)it->offset);
    snprintf(schema_id, sizeof schema_id, "%d", (int)it->schema_id);
    if (it->timestamp_ms >= 0) hub_timestamp_format(it->timestamp_ms, ts, sizeof ts);
    const char *params[11] = {
        w->set.service, w->set.topic, partition, offset, it->timestamp_ms >= 0 ? ts : NULL,
        it->key ? (const char *)it->key : "", it->payload ? (const char *)it->payload : "",
        it->schema_id >= 0 ? schema_id : NULL, it->why.reason, it->why.message,
        it->source_system[0] ? it->source_system : NULL};
    int lengths[11] = {0, 0, 0, 0, 0, it->key ? (int)it->key_len : 0,
                       it->payload ? (int)it->len : 0, 0, 0, 0, 0};
    int formats[11] = {0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0};
    PGresult *res = PQexecParams(
        w->pg,
        "SELECT crvs.add_dead_letter($1, $2, $3::integer, $4::bigint, $5::timestamptz, "
        "$6::bytea, $7::bytea, $8::integer, $9, $10, $11)",
        11, NULL, params, lengths, formats, 0);
    hub_pg_class c = hub_pg_classify(w->pg, res);
    if (c != HUB_PG_OK) hub_pg_error(w->pg, res, err, err_size);
    PQclear(res);
    return tx_from_class(c);
}

/* Writes an item's dead letter. In isolation (a batch PostgreSQL refused)
 * under a savepoint: a dead letter the database refuses is written again
 * with the refusal as its message and without the document's text, so a
 * record always ends somewhere an operator sees it and the partition moves
 * on. */
static tx_result write_dead_letter(hub_writer *w, hub_write_item *it, bool isolate, char *err,
                                   size_t err_size)
{
    if (!isolate) return insert_dead_letter(w, it, err, err_size);
    tx_result r = exec_simple(w, "SAVEPOINT dead_letter", err, err_size);
    if (r != TX_OK) return r;
    char refused[400];
    r = insert_dead_letter(w, it, refused, sizeof refused);
    if (r == TX_DATA) {
        r = exec_simple(w, "ROLLBACK TO SAVEPOINT dead_letter", err, err_size);
        if (r != TX_OK) return r;
        hub_log_warn("event=dead_letter_refused partition=%d offset=%lld action=write_without_text "
                     "error=\"%s\"",
                     (int)it->partition, (long long)it->offset, refused);
        snprintf(it->why.message, sizeof it->why.message,
                 "the dead letter's text was refused by the database (%s)", refused);
        it->source_system[0] = '\0';
        r = insert_dead_letter(w, it, err, err_size);
    } else if (r == TX_OK) {
        r = exec_simple(w, "RELEASE SAVEPOINT dead_letter", err, err_size);
    } else {
        snprintf(err, err_size, "%s", refused);
    }
    return r;
}

/* One attempt at writing the batch. With `isolate`, each record gets a
 * savepoint: a record PostgreSQL refuses becomes a dead letter, and so does
 * one whose dead letter it refuses (write_dead_letter). */
static tx_result attempt(hub_writer *w, hub_write_item *items, size_t n,
                         const _Atomic int64_t *pos, int n_parts, bool isolate,
                         hub_write_counts *c, char *err, size_t err_size)
{
    tx_result r = exec_simple(w, "BEGIN", err, err_size);
    if (r != TX_OK) return r;
    r = advance_offsets(w, items, n, pos, n_parts, err, err_size);
    if (r == TX_OK && !isolate) r = apply_rows(w, items, 0, n, false, c, err, err_size);
    for (size_t i = 0; r == TX_OK && isolate && i < n; i++) {
        hub_write_item *it = &items[i];
        if (!it->row) continue;
        char rec_err[512];
        r = exec_simple(w, "SAVEPOINT rec", err, err_size);
        if (r != TX_OK) break;
        r = apply_rows(w, items, i, i + 1, true, c, rec_err, sizeof rec_err);
        if (r == TX_DATA) {
            r = exec_simple(w, "ROLLBACK TO SAVEPOINT rec", err, err_size);
            snprintf(it->why.reason, sizeof it->why.reason, "db.refused");
            snprintf(it->why.message, sizeof it->why.message, "%s", rec_err);
            hub_write_item_clear(it);
        } else if (r == TX_OK) {
            r = exec_simple(w, "RELEASE SAVEPOINT rec", err, err_size);
        } else {
            snprintf(err, err_size, "%s", rec_err);
        }
    }
    for (size_t i = 0; r == TX_OK && i < n; i++) {
        if (items[i].row) continue;
        r = write_dead_letter(w, &items[i], isolate, err, err_size);
        if (r == TX_OK) c->dead_letters++;
    }
    if (r == TX_OK) r = exec_simple(w, "COMMIT", err, err_size);
    if (r != TX_OK && PQstatus(w->pg) == CONNECTION_OK) {
        char ignored[256];
        (void)exec_simple(w, "ROLLBACK", ignored, sizeof ignored);
    }
    return r;
}

void hub_writer_write(hub_writer *w, hub_write_item *items, size_t n, const _Atomic int64_t *pos,
                      int n_parts, const atomic_int *attempt_limit, hub_write_outcome *out)
{
    int backoff = w->set.backoff_initial_ms;
    bool isolate = false;
    int64_t started = hub_clock_ms();
    out->status = HUB_WRITE_ABANDONED;
    out->err[0] = '\0';
    for (int k = 1;; k++) {
        char err[1024] = "";
        hub_write_counts c = {0};
        if (!hub_writer_connection(w)) break;
        double tx_started = hub_clock_s();
        tx_result r = attempt(w, items, n, pos, n_parts, isolate, &c, err, sizeof err);
        if (r == TX_OK) {
            out->status = HUB_WRITE_COMMITTED;
            out->counts = c;
            out->attempts = k;
            out->tx_s = hub_clock_s() - tx_started;
            out->committed_ms = hub_clock_wall_ms();
            out->elapsed_ms = hub_clock_ms() - started;
            hub_telemetry_pg_contact(w->set.telemetry, true);
            return;
        }
        if (r == TX_CONFLICT) {
            out->status = HUB_WRITE_CONFLICT;
            snprintf(out->err, sizeof out->err, "%s", err);
            return;
        }
        if (r == TX_DATA && !isolate) {
            hub_log_warn("event=batch_refused action=isolate_records error=\"%s\"", err);
            isolate = true;
            continue;
        }
        if (r == TX_FATAL || r == TX_DATA) {
            hub_log_error("event=batch_failed class=%s error=\"%s\"",
                          r == TX_FATAL ? "fatal" : "data", err);
            stop_for_good(w);
            break;
        }
        w->retries++;
        hub_telemetry_pg_contact(w->set.telemetry, PQstatus(w->pg) == CONNECTION_OK);
        hub_telemetry_pg_retry(w->set.telemetry, "batch");
        hub_log_warn("event=batch_retry attempt=%d retry_in_ms=%d error=\"%s\"", k, backoff, err);
        int limit = attempt_limit ? atomic_load(attempt_limit) : 0;
        if (limit && k >= limit) break;
        hub_writer_nap(&w->set, backoff);
        backoff = next_backoff(w, backoff);
        if (stopping(w)) break;
    }
}
