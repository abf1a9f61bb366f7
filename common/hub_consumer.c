#include "hub_consumer.h"

#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hub_avro.h"
#include "hub_clock.h"
#include "hub_config.h"
#include "hub_log.h"
#include "hub_loss.h"
#include "hub_pg.h"
#include "hub_telemetry.h"
#include "hub_text.h"
#include "hub_topics.h"
#include "hub_validate.h"
#include "hub_writer.h"

/* The stop flag (set by signals, by a fatal error on either thread, read by
 * both) and the metrics and health state (NULL when not served): the
 * process's, from hub_consumer_run's parameters. */
static atomic_int *stop_flag;
static hub_telemetry *telemetry;

/* A batch's message: what the writer needs (hub_write_item), with the Kafka
 * message it borrows from in `msg`, owned until the batch is done. */
typedef hub_write_item item;

/* The process's totals, for the log line at exit. */
typedef struct counters {
    uint64_t created, corrected, duplicates, dead_letters, batches, conflicts;
} counters;

/* The messages of one transaction, decoded. */
typedef struct batch {
    item *items;
    size_t n_items, cap_items;
} batch;

/* A partition stopped for broker data loss (loss.kind not NONE), and
 * whether crvs.partition_fault holds it yet; refused_at: the stored offset
 * at which the broker last refused a fetch the watermarks did not explain
 * (a second refusal there stops the partition). */
typedef struct stopped_part {
    hub_loss loss;
    bool recorded;
    int64_t refused_at;
} stopped_part;

typedef struct svc {
    const hub_service_spec *spec;
    const hub_config *cfg;
    const char *topic;
    const char *group;
    const hub_topic_info *topic_info;
    hub_avro_decoder *dec;
    hub_writer_settings wset;
    hub_writer *writer; /* the PostgreSQL connection and the batch transaction */
    hub_row_layout *layout; /* the writer's, taken at each batch's first item:
                               what rows are encoded ahead for */
    rd_kafka_t *rk;
    /* Two batches: the consumer thread decodes the next batch into `cur`
     * while the writer thread writes `flight` (docs/architecture.md, "Two
     * threads"). Only the consumer thread changes `cur` and `flight`; the
     * writer sees `flight` under `mu`. The connection is the writer's while
     * a batch is in flight; the consumer thread uses it (claims, resync,
     * drain) only after wait_flight. */
    batch bufs[2];
    batch *cur;
    batch *flight;           /* handed to the writer and not yet finished; NULL: none */
    pthread_t writer_thread;
    bool writer_started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    atomic_bool flight_done; /* set under mu: the writer is done with `flight` */
    bool writer_quit;        /* under mu */
    hub_write_outcome outcome; /* under mu, once flight_done */
    atomic_int attempt_limit; /* attempts at a batch before it is given up; 0: no limit */
    /* per partition: stored next offset (-2 = beginning); the writer
     * advances it while the consumer thread reads it */
    _Atomic int64_t *pos;
    bool *owned;    /* per partition: currently assigned to us */
    /* Per partition, on the consumer thread: the offset after the last
     * message taken into a batch (else the stored offset at assignment);
     * and the end the broker reported past it (partition EOF) with the
     * `seen` it was reported at, -1 when none: the offsets in between hold
     * no message to read (transaction markers, aborted records), see
     * skip_markers. */
    int64_t *seen, *tail, *tail_seen;
    stopped_part *stopped; /* per partition, on the consumer thread */
    int n_parts;
    int batch_max, linger_ms, backoff_initial_ms, backoff_max_ms;
    hub_loss_policy on_loss;
    int fault_poll_ms;
    int64_t next_fault_poll; /* monotonic ms */
    bool fatal;
    counters total;
} svc;

/* ---- helpers ------------------------------------------------------------ */

static int next_backoff(const svc *s, int current)
{
    int next = current * 2;
    return next > s->backoff_max_ms ? s->backoff_max_ms : next;
}

static int ensure_partition_slots(svc *s, int32_t partition)
{
    if (partition < s->n_parts) return 0;
    int n = partition + 1;
    _Atomic int64_t *pos = realloc(s->pos, (size_t)n * sizeof *pos);
    if (!pos) return -1;
    s->pos = pos;
    bool *owned = realloc(s->owned, (size_t)n * sizeof *owned);
    if (!owned) return -1;
    s->owned = owned;
    int64_t **marks[] = {&s->seen, &s->tail, &s->tail_seen};
    for (size_t k = 0; k < sizeof marks / sizeof *marks; k++) {
        int64_t *a = realloc(*marks[k], (size_t)n * sizeof *a);
        if (!a) return -1;
        *marks[k] = a;
    }
    stopped_part *stopped = realloc(s->stopped, (size_t)n * sizeof *stopped);
    if (!stopped) return -1;
    s->stopped = stopped;
    for (int i = s->n_parts; i < n; i++) {
        s->stopped[i] = (stopped_part){.loss = {.kind = HUB_LOSS_NONE}, .refused_at = -1};
        s->pos[i] = RD_KAFKA_OFFSET_BEGINNING;
        s->owned[i] = false;
        s->seen[i] = RD_KAFKA_OFFSET_BEGINNING;
        s->tail[i] = s->tail_seen[i] = -1;
    }
    s->n_parts = n;
    return 0;
}

/* A fatal error stopped the service: its own or its writer's. */
static bool failed(const svc *s) { return s->fatal || (s->writer && hub_writer_fatal(s->writer)); }

static bool is_stopped(const svc *s, int32_t p)
{
    return p >= 0 && p < s->n_parts && s->stopped[p].loss.kind != HUB_LOSS_NONE;
}

static void hold_stopped(svc *s, const rd_kafka_topic_partition_list_t *parts);

static void clear_batch(batch *b)
{
    for (size_t i = 0; i < b->n_items; i++) {
        rd_kafka_message_destroy((rd_kafka_message_t *)b->items[i].msg);
        hub_write_item_clear(&b->items[i]);
    }
    b->n_items = 0;
}

/* ---- PostgreSQL ---------------------------------------------------------- */

/* The claim's answer about an open fault (crvs.partition_fault, columns
 * 1-5 of the claim's row): such a partition stays stopped whatever the
 * broker says now, until an operator decides (docs/operations.md, "Broker
 * data loss"). */
static void note_open_fault(svc *s, int32_t p, const PGresult *res)
{
    stopped_part *sp = &s->stopped[p];
    sp->loss.kind = HUB_LOSS_NONE;
    if (PQgetisnull(res, 0, 1)) return;
    int64_t v[4];
    for (int k = 0; k < 4; k++)
        v[k] = PQgetisnull(res, 0, 2 + k) ? -1 : strtoll(PQgetvalue(res, 0, 2 + k), NULL, 10);
    hub_loss_kind kind = hub_loss_kind_parse(PQgetvalue(res, 0, 1));
    sp->loss = (hub_loss){kind ? kind : HUB_LOSS_OUT_OF_RANGE, v[0], v[1], v[2], v[3]};
    sp->recorded = true;
    char what[160];
    hub_loss_describe(&sp->loss, what, sizeof what);
    hub_log_warn("event=partition_stopped reason=open_fault topic=%s partition=%d kind=%s "
                 "detail=\"%s\" action=\"crvsctl offsets reset\"",
                 s->topic, (int)p, hub_loss_kind_name(sp->loss.kind), what);
    hub_telemetry_data_loss(telemetry, s->topic, p, true, sp->loss.missing);
}

/* Reads (registering if new) the stored offset of each partition, and its
 * open fault if any. Blocks, retrying, until PostgreSQL answers: starting
 * anywhere else would lose or repeat messages. */
static int claim_partitions(svc *s, rd_kafka_topic_partition_list_t *parts)
{
    int backoff = s->backoff_initial_ms;
    for (;;) {
        PGconn *pg = hub_writer_connection(s->writer);
        if (!pg) return -1;
        hub_pg_class c = HUB_PG_OK;
        char err[512] = "";
        for (int i = 0; i < parts->cnt && c == HUB_PG_OK; i++) {
            rd_kafka_topic_partition_t *tp = &parts->elems[i];
            char partition[16];
            snprintf(partition, sizeof partition, "%d", (int)tp->partition);
            const char *params[3] = {s->group, tp->topic, partition};
            PGresult *res = PQexecParams(
                pg,
                "SELECT c.stored, f.kind, f.stored_offset, f.log_start, f.log_end, f.missing "
                "FROM crvs.claim_partition($1, $2, $3::integer) AS c(stored) "
                "LEFT JOIN crvs.partition_fault f "
                "ON f.consumer_group = $1 AND f.topic = $2 AND f.partition = $3::integer",
                3, NULL, params, NULL, NULL, 0);
            c = hub_pg_classify(pg, res);
            if (c == HUB_PG_OK && PQntuples(res) == 1) {
                int64_t stored = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
                if (ensure_partition_slots(s, tp->partition) != 0) c = HUB_PG_FATAL;
                else {
                    s->pos[tp->partition] = stored;
                    s->seen[tp->partition] = stored;
                    s->tail[tp->partition] = -1;
                    tp->offset = stored < 0 ? RD_KAFKA_OFFSET_BEGINNING : stored;
                    note_open_fault(s, tp->partition, res);
                }
            } else if (c != HUB_PG_OK) {
                hub_pg_error(pg, res, err, sizeof err);
            }
            PQclear(res);
        }
        if (c == HUB_PG_OK) {
            hub_telemetry_pg_contact(telemetry, true);
            return 0;
        }
        if (c == HUB_PG_FATAL || c == HUB_PG_DATA) {
            hub_log_error("event=claim_failed error=\"%s\"", err);
            s->fatal = true;
            *stop_flag = 1;
            return -1;
        }
        hub_log_warn("event=claim_retry retry_in_ms=%d error=\"%s\"", backoff, err);
        hub_telemetry_pg_contact(telemetry, false);
        hub_telemetry_pg_retry(telemetry, "claim");
        hub_writer_nap(&s->wset, backoff);
        backoff = next_backoff(s, backoff);
        if (*stop_flag) return -1;
    }
}

/* Re-reads the stored offsets of our partitions and seeks there: after a
 * conflict the stored offsets, not our memory, say where to go on. */
static void resync(svc *s)
{
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(s->n_parts);
    for (int p = 0; p < s->n_parts; p++)
        if (s->owned[p] && !is_stopped(s, p)) rd_kafka_topic_partition_list_add(parts, s->topic, p);
    if (parts->cnt && claim_partitions(s, parts) == 0) {
        rd_kafka_error_t *e = rd_kafka_seek_partitions(s->rk, parts, 5000);
        if (e) {
            hub_log_warn("event=seek_failed error=\"%s\"", rd_kafka_error_string(e));
            rd_kafka_error_destroy(e);
        }
        hold_stopped(s, parts); /* a fault another member recorded meanwhile */
    }
    rd_kafka_topic_partition_list_destroy(parts);
}

static void commit_to_kafka(svc *s)
{
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(4);
    for (int p = 0; p < s->n_parts; p++)
        if (s->owned[p] && s->pos[p] >= 0 && !is_stopped(s, p))
            rd_kafka_topic_partition_list_add(parts, s->topic, p)->offset = s->pos[p];
    if (parts->cnt) (void)rd_kafka_commit(s->rk, parts, 1);
    rd_kafka_topic_partition_list_destroy(parts);
}

/* Once a batch is committed: stored positions, metrics, logs, the commit to
 * Kafka; on the thread that wrote it. */
static void finish_committed(svc *s, batch *b, const hub_write_outcome *out)
{
    const hub_write_counts *c = &out->counts;
    hub_telemetry_batch(telemetry, b->n_items, out->tx_s, c->created, c->corrected,
                        c->duplicates, out->committed_ms);
    for (size_t i = 0; i < b->n_items; i++) {
        const item *it = &b->items[i];
        hub_telemetry_message(telemetry, out->committed_ms, it->timestamp_ms, it->event_ms,
                              it->row ? NULL : it->why.reason);
        if (it->offset + 1 > s->pos[it->partition]) s->pos[it->partition] = it->offset + 1;
        if (!it->row)
            hub_log_info("event=dead_letter partition=%d offset=%lld reason=%s message=\"%s\"",
                         (int)it->partition, (long long)it->offset, it->why.reason,
                         it->why.message);
    }
    s->total.created += c->created;
    s->total.corrected += c->corrected;
    s->total.duplicates += c->duplicates;
    s->total.dead_letters += c->dead_letters;
    s->total.batches++;
    hub_log_info("event=batch_committed records=%zu created=%llu corrected=%llu duplicates=%llu "
                 "dead_letters=%llu attempts=%d ms=%lld",
                 b->n_items, (unsigned long long)c->created, (unsigned long long)c->corrected,
                 (unsigned long long)c->duplicates, (unsigned long long)c->dead_letters,
                 out->attempts, (long long)out->elapsed_ms);
    commit_to_kafka(s);
    clear_batch(b);
}

/* On the consumer thread, once a batch was written or given up. Returns
 * true when it was committed. One that was not takes the batch being filled
 * with it: its messages come after, and writing them would store an offset
 * past messages never written. */
static bool finish_failed(svc *s, batch *b, const hub_write_outcome *out)
{
    if (out->status == HUB_WRITE_COMMITTED) return true;
    if (out->status == HUB_WRITE_CONFLICT) {
        s->total.conflicts++;
        hub_telemetry_offset_conflict(telemetry);
        hub_log_warn("event=offset_conflict action=drop_batch_and_resync error=\"%s\"", out->err);
    } else {
        size_t n = b->n_items + (b == s->cur ? 0 : s->cur->n_items);
        hub_log_warn("event=batch_abandoned records=%zu reason=%s", n,
                     failed(s) ? "fatal_error" : "stopping");
    }
    clear_batch(b);
    clear_batch(s->cur);
    if (out->status == HUB_WRITE_CONFLICT) resync(s);
    return false;
}

static void *writer_main(void *arg)
{
    svc *s = arg;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->writer_quit && (!s->flight || s->flight_done)) pthread_cond_wait(&s->cv, &s->mu);
        if (s->writer_quit) break;
        batch *b = s->flight;
        pthread_mutex_unlock(&s->mu);
        hub_write_outcome out;
        hub_writer_write(s->writer, b->items, b->n_items, s->pos, s->n_parts, &s->attempt_limit,
                         &out);
        if (out.status == HUB_WRITE_COMMITTED) finish_committed(s, b, &out);
        hub_telemetry_tick(telemetry);
        pthread_mutex_lock(&s->mu);
        s->outcome = out;
        s->flight_done = true;
        pthread_cond_broadcast(&s->cv);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* Waits for the batch in flight, if any, and finishes it. Returns false when
 * it was not committed (the batch being filled is then dropped too). Until it
 * returns the connection is the writer's: call it before any other use. */
static bool wait_flight(svc *s)
{
    if (!s->flight) return true;
    pthread_mutex_lock(&s->mu);
    while (!s->flight_done) pthread_cond_wait(&s->cv, &s->mu);
    hub_write_outcome out = s->outcome;
    batch *b = s->flight;
    s->flight = NULL;
    s->flight_done = false;
    pthread_mutex_unlock(&s->mu);
    return finish_failed(s, b, &out);
}

/* Hands the batch being filled to the writer, once the one before it is
 * finished, and goes on filling the other buffer. Returns false when the
 * batch before it was not committed: both were dropped, and after a
 * conflict the partitions were sought back to their stored offsets. */
static bool submit(svc *s)
{
    if (!wait_flight(s)) return false;
    if (s->cur->n_items == 0) return true;
    atomic_store(&s->attempt_limit, 0);
    pthread_mutex_lock(&s->mu);
    s->flight = s->cur;
    s->flight_done = false;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    s->cur = s->cur == &s->bufs[0] ? &s->bufs[1] : &s->bufs[0];
    return true;
}

/* Writes everything pending, the batch in flight and then the one being
 * filled, giving each up after `max_attempts` failed attempts: before
 * partitions are revoked and before a stop. */
static void drain(svc *s, int max_attempts)
{
    atomic_store(&s->attempt_limit, max_attempts);
    if (!wait_flight(s) || s->cur->n_items == 0) return;
    hub_write_outcome out;
    hub_writer_write(s->writer, s->cur->items, s->cur->n_items, s->pos, s->n_parts,
                     &s->attempt_limit, &out);
    if (out.status == HUB_WRITE_COMMITTED) finish_committed(s, s->cur, &out);
    else (void)finish_failed(s, s->cur, &out);
}

/* ---- broker data loss (docs/operations.md, "Broker data loss") ---------- */

/* The partition's log start and end from its leader; false (both -1) when
 * it does not answer in time. */
static bool read_watermarks(svc *s, int32_t p, int64_t *lo, int64_t *hi)
{
    rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(s->rk, s->topic, p, lo, hi, 5000);
    if (!err) return true;
    hub_log_warn("event=watermarks_failed partition=%d error=\"%s\"", (int)p, rd_kafka_err2str(err));
    *lo = *hi = -1;
    return false;
}

static void pause_partition(svc *s, int32_t p, bool pause)
{
    rd_kafka_topic_partition_list_t *one = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(one, s->topic, p);
    if (pause) (void)rd_kafka_pause_partitions(s->rk, one);
    else (void)rd_kafka_resume_partitions(s->rk, one);
    rd_kafka_topic_partition_list_destroy(one);
}

/* After an assignment or a resync: pauses the stopped partitions among
 * `parts` and resumes the others. A pause outlives an unassignment in
 * librdkafka: a partition stopped once and assigned again later would
 * otherwise stay paused. */
static void hold_stopped(svc *s, const rd_kafka_topic_partition_list_t *parts)
{
    for (int i = 0; i < parts->cnt; i++) {
        int32_t p = parts->elems[i].partition;
        if (p < s->n_parts) pause_partition(s, p, is_stopped(s, p));
    }
}

/* Starts fetching a stopped partition again at `offset` (>= 0, or
 * RD_KAFKA_OFFSET_BEGINNING). After an offset-out-of-range error
 * librdkafka has stopped the partition's fetcher and refuses a seek, so
 * the partition is unassigned and assigned again (cooperative; with the
 * eager protocol the whole assignment is made again, each partition where
 * this process takes it up next), then resumed. */
static void restart_partition(svc *s, int32_t p, int64_t offset)
{
    rd_kafka_topic_partition_list_t *one = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(one, s->topic, p)->offset = offset;
    rd_kafka_error_t *e = NULL;
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
    if (!strcmp(rd_kafka_rebalance_protocol(s->rk), "COOPERATIVE")) {
        e = rd_kafka_incremental_unassign(s->rk, one);
        if (!e) e = rd_kafka_incremental_assign(s->rk, one);
    } else {
        rd_kafka_topic_partition_list_t *all = rd_kafka_topic_partition_list_new(s->n_parts);
        for (int q = 0; q < s->n_parts; q++) {
            if (!s->owned[q]) continue;
            int64_t at = q == p ? offset
                         : is_stopped(s, q) ? RD_KAFKA_OFFSET_END
                         : s->seen[q] < 0   ? RD_KAFKA_OFFSET_BEGINNING
                                            : s->seen[q];
            rd_kafka_topic_partition_list_add(all, s->topic, q)->offset = at;
        }
        err = rd_kafka_assign(s->rk, all);
        rd_kafka_topic_partition_list_destroy(all);
    }
    if (e || err)
        hub_log_error("event=restart_failed partition=%d error=\"%s\"", (int)p,
                      e ? rd_kafka_error_string(e) : rd_kafka_err2str(err));
    if (e) rd_kafka_error_destroy(e);
    (void)rd_kafka_resume_partitions(s->rk, one);
    rd_kafka_topic_partition_list_destroy(one);
}

static const char *count_text(int64_t v, char *out, size_t out_size)
{
    if (v < 0) snprintf(out, out_size, "unknown");
    else snprintf(out, out_size, "%lld", (long long)v);
    return out;
}

/* Writes a stopped partition's fault into crvs.partition_fault, where every
 * operator tool sees it (an open fault found there stays as it is). Uses
 * the connection only when it is up and free; tried again by
 * check_stopped until it is written. */
static void record_fault(svc *s, int32_t p)
{
    stopped_part *sp = &s->stopped[p];
    PGconn *pg = hub_writer_pg(s->writer);
    if (sp->recorded || !pg || PQstatus(pg) != CONNECTION_OK) return;
    char partition[16], v[4][32];
    snprintf(partition, sizeof partition, "%d", (int)p);
    const int64_t nums[4] = {sp->loss.stored, sp->loss.log_start, sp->loss.log_end,
                             sp->loss.missing};
    const char *params[9] = {s->group, s->topic, partition, hub_loss_kind_name(sp->loss.kind)};
    for (int k = 0; k < 4; k++) {
        snprintf(v[k], sizeof v[k], "%lld", (long long)nums[k]);
        params[4 + k] = k == 0 || nums[k] >= 0 ? v[k] : NULL;
    }
    params[8] = s->spec->name;
    PGresult *res = PQexecParams(pg,
                                 "SELECT crvs.report_partition_fault($1, $2, $3::integer, $4, "
                                 "$5::bigint, $6::bigint, $7::bigint, $8::bigint, $9)",
                                 9, NULL, params, NULL, NULL, 0);
    if (hub_pg_classify(pg, res) == HUB_PG_OK) {
        sp->recorded = true;
    } else {
        char err[512];
        hub_pg_error(pg, res, err, sizeof err);
        hub_log_warn("event=fault_record_retry partition=%d error=\"%s\"", (int)p, err);
    }
    PQclear(res);
}

/* offsets.on.loss = continue: the stored offset moves from the judged one
 * to the log start, fenced and audited (crvs.skip_partition_loss). */
static bool skip_loss(svc *s, int32_t p, const hub_loss *l)
{
    PGconn *pg = hub_writer_pg(s->writer);
    if (!pg || PQstatus(pg) != CONNECTION_OK || l->log_start < 0) return false;
    char partition[16], v[5][32];
    snprintf(partition, sizeof partition, "%d", (int)p);
    const int64_t nums[5] = {l->stored, l->log_start, l->log_start, l->log_end, l->missing};
    const char *params[10] = {s->group, s->topic, partition, hub_loss_kind_name(l->kind)};
    for (int k = 0; k < 5; k++) {
        snprintf(v[k], sizeof v[k], "%lld", (long long)nums[k]);
        params[4 + k] = nums[k] >= 0 || k == 0 ? v[k] : NULL;
    }
    params[9] = s->spec->name;
    PGresult *res = PQexecParams(
        pg,
        "SELECT crvs.skip_partition_loss($1, $2, $3::integer, $4, $5::bigint, $6::bigint, "
        "$7::bigint, $8::bigint, $9::bigint, $10)",
        10, NULL, params, NULL, NULL, 0);
    bool moved = false;
    if (hub_pg_classify(pg, res) == HUB_PG_OK) {
        moved = PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't';
    } else {
        char err[512];
        hub_pg_error(pg, res, err, sizeof err);
        hub_log_warn("event=skip_failed partition=%d error=\"%s\"", (int)p, err);
    }
    PQclear(res);
    return moved;
}

/* Broker data loss found on an assigned partition (`found`: "assignment",
 * "fetch" refused, or "reset" at the offset an operator chose): one error
 * event,
 * counted; then the partition stops (paused by the caller, the fault
 * recorded, the metric set) or, with offsets.on.loss = continue, its
 * stored offset moves to the log start. Returns the offset to go on from,
 * -1 when stopped (the skip could not be stored either: it stops). The
 * connection must be free. */
static int64_t act_on_loss(svc *s, int32_t p, const hub_loss *l, const char *found)
{
    bool go_on = s->on_loss == HUB_LOSS_CONTINUE && skip_loss(s, p, l);
    char what[160], lo[24], hi[24], missing[24];
    hub_loss_describe(l, what, sizeof what);
    hub_log_error("event=partition_data_loss topic=%s partition=%d kind=%s stored=%lld "
                  "log_start=%s log_end=%s missing=%s action=%s found=%s detail=\"%s\"",
                  s->topic, (int)p, hub_loss_kind_name(l->kind), (long long)l->stored,
                  count_text(l->log_start, lo, sizeof lo), count_text(l->log_end, hi, sizeof hi),
                  count_text(l->missing, missing, sizeof missing), go_on ? "continue" : "stop",
                  found, what);
    hub_telemetry_data_loss_event(telemetry, go_on, l->missing);
    if (go_on) {
        s->pos[p] = s->seen[p] = l->log_start;
        s->tail[p] = -1;
        return l->log_start;
    }
    s->stopped[p].loss = *l;
    s->stopped[p].recorded = false;
    hub_telemetry_data_loss(telemetry, s->topic, p, true, l->missing);
    record_fault(s, p);
    return -1;
}

/* At assignment, once claimed: a partition with an open fault stays
 * stopped (note_open_fault); the others are judged against the broker's log
 * start and end. A stopped partition is assigned at the log end and paused
 * (hold_stopped): nothing is fetched from it, and no offset-out-of-range
 * error races the pause. */
static void guard_partitions(svc *s, rd_kafka_topic_partition_list_t *parts)
{
    for (int i = 0; i < parts->cnt; i++) {
        rd_kafka_topic_partition_t *tp = &parts->elems[i];
        int32_t p = tp->partition;
        if (p >= s->n_parts) continue;
        s->stopped[p].refused_at = -1;
        int64_t lo, hi;
        hub_loss l;
        if (!is_stopped(s, p) && read_watermarks(s, p, &lo, &hi) &&
            hub_loss_judge(s->pos[p], lo, hi, &l)) {
            int64_t next = act_on_loss(s, p, &l, "assignment");
            if (next >= 0) tp->offset = next;
        }
        if (is_stopped(s, p)) tp->offset = RD_KAFKA_OFFSET_END;
    }
}

/* A partition no longer ours: a fault not yet recorded is tried once more
 * (the next owner judges again anyway), and the metrics are left to the
 * next owner. */
static void forget_stopped(svc *s, int32_t p)
{
    if (!is_stopped(s, p)) return;
    record_fault(s, p);
    s->stopped[p].loss.kind = HUB_LOSS_NONE;
    hub_telemetry_data_loss_forget(telemetry, s->topic, p);
}

/* The broker refused the offset a partition is fetched from
 * (auto.offset.reset = error: librdkafka reports it instead of jumping
 * elsewhere). The partition is paused at once, what was taken before is
 * written so the stored offset is what is judged, and the broker's log
 * start and end say what happened. A refusal they do not explain (a stale
 * fetch position, a leader change) goes on from the stored offset, once;
 * the next refusal at the same offset stops the partition. */
static void on_out_of_range(svc *s, const rd_kafka_message_t *m)
{
    int32_t p = m->partition;
    if (p < 0 || p >= s->n_parts || !s->owned[p] || is_stopped(s, p)) return;
    stopped_part *sp = &s->stopped[p];
    sp->loss.kind = HUB_LOSS_OUT_OF_RANGE; /* until judged: take nothing more from it */
    pause_partition(s, p, true);
    (void)submit(s);
    (void)wait_flight(s);
    sp->loss.kind = HUB_LOSS_NONE;
    int64_t lo, hi, stored = s->pos[p];
    hub_loss l = {.kind = HUB_LOSS_NONE};
    bool known = read_watermarks(s, p, &lo, &hi);
    if (known && !hub_loss_judge(stored, lo, hi, &l) && sp->refused_at != stored) {
        hub_log_warn("event=offset_out_of_range action=resume partition=%d offset=%lld "
                     "stored=%lld log_start=%lld log_end=%lld",
                     (int)p, (long long)m->offset, (long long)stored, (long long)lo, (long long)hi);
        sp->refused_at = stored;
        s->seen[p] = stored;
        s->tail[p] = -1;
        restart_partition(s, p, stored < 0 ? RD_KAFKA_OFFSET_BEGINNING : stored);
        return;
    }
    if (l.kind == HUB_LOSS_NONE) l = (hub_loss){HUB_LOSS_OUT_OF_RANGE, stored, lo, hi, -1};
    int64_t next = act_on_loss(s, p, &l, "fetch");
    if (next >= 0) restart_partition(s, p, next);
}

/* While a partition is stopped: records its fault if that failed before,
 * and looks for an operator's decision (crvsctl offsets reset stores the
 * offset to go on from and deletes the fault). The partition is judged at
 * that offset and goes on from there, or stops again. On the consumer
 * thread with no batch in flight. */
static void check_stopped(svc *s)
{
    for (int p = 0; p < s->n_parts && !*stop_flag; p++) {
        if (!s->owned[p] || !is_stopped(s, p)) continue;
        PGconn *pg = hub_writer_connection(s->writer);
        if (!pg) return;
        if (!s->stopped[p].recorded) {
            record_fault(s, p);
            continue;
        }
        char partition[16];
        snprintf(partition, sizeof partition, "%d", p);
        const char *params[3] = {s->group, s->topic, partition};
        PGresult *res = PQexecParams(
            pg,
            "SELECT o.next_offset, EXISTS (SELECT 1 FROM crvs.partition_fault f "
            "WHERE f.consumer_group = $1 AND f.topic = $2 AND f.partition = $3::integer) "
            "FROM crvs.consumer_offset o "
            "WHERE o.consumer_group = $1 AND o.topic = $2 AND o.partition = $3::integer",
            3, NULL, params, NULL, NULL, 0);
        if (hub_pg_classify(pg, res) != HUB_PG_OK) {
            char err[512];
            hub_pg_error(pg, res, err, sizeof err);
            hub_log_warn("event=fault_check_failed partition=%d error=\"%s\"", p, err);
            PQclear(res);
            return;
        }
        bool decided = PQntuples(res) == 1 && PQgetvalue(res, 0, 1)[0] == 'f';
        int64_t to = decided ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : 0;
        PQclear(res);
        int64_t lo, hi;
        if (!decided || !read_watermarks(s, p, &lo, &hi)) continue;
        s->stopped[p].loss.kind = HUB_LOSS_NONE;
        s->stopped[p].refused_at = -1;
        s->pos[p] = to;
        hub_telemetry_data_loss(telemetry, s->topic, p, false, -1);
        hub_loss l;
        if (hub_loss_judge(to, lo, hi, &l) && (to = act_on_loss(s, p, &l, "reset")) < 0) continue;
        hub_log_info("event=partition_resumed topic=%s partition=%d offset=%lld", s->topic, p,
                     (long long)to);
        s->seen[p] = to;
        s->tail[p] = -1;
        restart_partition(s, p, to < 0 ? RD_KAFKA_OFFSET_BEGINNING : to);
    }
}

/* check_stopped every offsets.fault.poll.ms while a partition is stopped;
 * waits for the batch in flight first (the connection is the writer's). */
static void watch_stopped(svc *s)
{
    if (hub_clock_ms() < s->next_fault_poll) return;
    s->next_fault_poll = hub_clock_ms() + s->fault_poll_ms;
    bool any = false;
    for (int p = 0; p < s->n_parts && !any; p++) any = s->owned[p] && is_stopped(s, p);
    if (any && wait_flight(s)) check_stopped(s);
}

/* ---- Kafka --------------------------------------------------------------- */

static void log_partitions(const char *event, const rd_kafka_topic_partition_list_t *parts)
{
    char buf[512] = "";
    size_t o = 0;
    for (int i = 0; i < parts->cnt && o < sizeof buf; i++)
        o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%d@%lld", i ? "," : "",
                              (int)parts->elems[i].partition, (long long)parts->elems[i].offset);
    hub_log_info("event=%s partitions=%s", event, parts->cnt ? buf : "-");
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    svc *s = opaque;
    bool cooperative = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    rd_kafka_error_t *e = NULL;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        /* The claim needs the connection, which the writer may hold. */
        (void)wait_flight(s);
        bool claimed = claim_partitions(s, parts) == 0;
        if (!claimed) {
            /* Stopping: take nothing rather than start at a guessed offset. */
            for (int i = 0; i < parts->cnt; i++) parts->elems[i].offset = RD_KAFKA_OFFSET_INVALID;
            hub_log_warn("event=assign_without_offsets action=pause");
            rd_kafka_pause_partitions(rk, parts);
        } else {
            guard_partitions(s, parts);
        }
        for (int i = 0; i < parts->cnt; i++)
            if (parts->elems[i].partition < s->n_parts) s->owned[parts->elems[i].partition] = true;
        log_partitions("partitions_assigned", parts);
        if (cooperative) e = rd_kafka_incremental_assign(rk, parts);
        else (void)rd_kafka_assign(rk, parts);
        if (claimed) hold_stopped(s, parts);
    } else {
        /* Whatever is pending is written before the partitions go, so the
         * next owner starts after it; if it cannot be written it is dropped
         * and the next owner reads it again. */
        if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) drain(s, 3);
        else (void)wait_flight(s);
        clear_batch(s->cur);
        for (int i = 0; i < parts->cnt; i++) {
            if (parts->elems[i].partition >= s->n_parts) continue;
            s->owned[parts->elems[i].partition] = false;
            forget_stopped(s, parts->elems[i].partition);
        }
        log_partitions("partitions_revoked", parts);
        if (cooperative) e = rd_kafka_incremental_unassign(rk, parts);
        else (void)rd_kafka_assign(rk, NULL);
    }
    int n_owned = 0;
    for (int p = 0; p < s->n_parts; p++) n_owned += s->owned[p];
    hub_telemetry_partitions(telemetry, n_owned);
    if (e) {
        hub_log_error("event=assign_failed error=\"%s\"", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
    }
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    (void)opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char why[512];
        rd_kafka_fatal_error(rk, why, sizeof why);
        hub_log_error("event=kafka_fatal error=\"%s\"", why);
        *stop_flag = 1;
        return;
    }
    hub_log_warn("event=kafka_error code=%s reason=\"%s\"",
                 rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    if (level <= 3) hub_log_error("event=librdkafka fac=%s msg=\"%s\"", fac, buf);
    else if (level <= 4) hub_log_warn("event=librdkafka fac=%s msg=\"%s\"", fac, buf);
    else hub_log_debug("event=librdkafka fac=%s msg=\"%s\"", fac, buf);
}

/* Stored next offset of an assigned partition of ours, -1 otherwise: the
 * lag's fallback before anything was committed to Kafka. */
static int64_t stored_offset(void *opaque, const char *topic, int32_t partition)
{
    const svc *s = opaque;
    if (strcmp(topic, s->topic) || partition >= s->n_parts || !s->owned[partition]) return -1;
    return s->pos[partition];
}

/* Served from rd_kafka_consumer_poll(), on the consumer thread. */
static int stats_cb(rd_kafka_t *rk, char *json, size_t json_len, void *opaque)
{
    (void)rk;
    hub_telemetry_kafka_stats(telemetry, json, json_len, stored_offset, opaque);
    return 0; /* librdkafka frees json */
}

typedef struct conf_ctx {
    rd_kafka_conf_t *conf;
    char *errstr;
    size_t errstr_size;
} conf_ctx;

static int set_kafka(const char *name, const char *value, void *opaque)
{
    conf_ctx *c = opaque;
    char err[256];
    if (rd_kafka_conf_set(c->conf, name, value, err, sizeof err) != RD_KAFKA_CONF_OK) {
        snprintf(c->errstr, c->errstr_size, "kafka.%s: %s", name, err);
        return -1;
    }
    return 0;
}

static rd_kafka_t *make_consumer(svc *s, char *errstr, size_t errstr_size)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    conf_ctx ctx = {conf, errstr, errstr_size};
    const char *defaults[][2] = {
        {"group.id", s->group},
        {"client.id", s->spec->name},
        {"enable.auto.commit", "false"},
        {"enable.auto.offset.store", "false"},
        /* Never jump elsewhere when the broker cannot serve the stored
         * offset: report it (on_out_of_range). Set again after the
         * configuration below, which may not change it. */
        {"auto.offset.reset", "error"},
        {"partition.assignment.strategy", "cooperative-sticky"},
        /* The end of each partition, for skip_markers. */
        {"enable.partition.eof", "true"},
    };
    for (size_t i = 0; i < sizeof defaults / sizeof *defaults; i++)
        if (set_kafka(defaults[i][0], defaults[i][1], &ctx) != 0) goto fail;
    /* Statistics feed the lag metric; kafka.statistics.interval.ms overrides. */
    if (telemetry) {
        if (set_kafka("statistics.interval.ms", "5000", &ctx) != 0) goto fail;
        rd_kafka_conf_set_stats_cb(conf, stats_cb);
    }
    if (hub_config_foreach(s->cfg, "kafka.", set_kafka, &ctx) != 0) goto fail;
    const char *reset = hub_config_get(s->cfg, "kafka.auto.offset.reset");
    if (reset && strcmp(reset, "error"))
        hub_log_warn("event=config_ignored key=kafka.auto.offset.reset value=%s "
                     "reason=\"the service always uses error; see offsets.on.loss\"",
                     reset);
    if (set_kafka("auto.offset.reset", "error", &ctx) != 0) goto fail;
    rd_kafka_conf_set_opaque(conf, s);
    rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
    rd_kafka_conf_set_error_cb(conf, error_cb);
    rd_kafka_conf_set_log_cb(conf, log_cb);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, errstr_size);
    if (!rk) goto fail;
    rd_kafka_poll_set_consumer(rk);
    return rk;
fail:
    rd_kafka_conf_destroy(conf);
    return NULL;
}

static int add_item(batch *b, rd_kafka_message_t *m)
{
    if (b->n_items == b->cap_items) {
        size_t cap = b->cap_items ? b->cap_items * 2 : 256;
        item *grown = realloc(b->items, cap * sizeof *grown);
        if (!grown) return -1;
        b->items = grown;
        b->cap_items = cap;
    }
    item *it = &b->items[b->n_items++];
    memset(it, 0, sizeof *it);
    it->msg = m;
    it->partition = m->partition;
    it->offset = m->offset;
    it->key = m->key;
    it->key_len = m->key_len;
    it->payload = m->payload;
    it->len = m->len;
    it->timestamp_ms = rd_kafka_message_timestamp(m, NULL);
    it->schema_id = -1;
    it->event_ms = -1;
    return 0;
}

/* Decodes and maps one message into the batch. Returns 1 when the message
 * must be read again later (schema source unreachable): it is not added. */
static int take_message(svc *s, rd_kafka_message_t *m)
{
    batch *b = s->cur;
    if (add_item(b, m) != 0) {
        hub_log_error("event=out_of_memory");
        rd_kafka_message_destroy(m);
        *stop_flag = 1;
        return 0;
    }
    item *it = &b->items[b->n_items - 1];
    json_t *doc = NULL;
    hub_decode_status st = hub_avro_decode(s->dec, m->payload, m->len, &doc, &it->schema_id,
                                           &it->why);
    if (st == HUB_DECODE_TRANSIENT) {
        hub_log_warn("event=decode_deferred partition=%d offset=%lld reason=%s message=\"%s\"",
                     (int)m->partition, (long long)m->offset, it->why.reason, it->why.message);
        hub_telemetry_schema_deferral(telemetry);
        b->n_items--;
        return 1;
    }
    if (st != HUB_DECODE_OK) return 0;
    /* Kept for the dead letters: which system sent a record that fails. */
    json_t *source = json_object_get(doc, "source_system");
    if (json_is_string(source))
        hub_text_copy(it->source_system, sizeof it->source_system, json_string_value(source));
    /* Every topic's documents carry issued_at: the event time of the
     * end-to-end delay metric. */
    json_t *issued = json_object_get(doc, "issued_at");
    if (telemetry && json_is_string(issued) &&
        !hub_timestamp_parse(json_string_value(issued), &it->event_ms))
        it->event_ms = -1;
    char err[256];
    if (hub_topic_key(s->topic_info, doc, it->key_text, sizeof it->key_text, err, sizeof err) !=
        0) {
        snprintf(it->why.reason, sizeof it->why.reason, "validation.business_key");
        snprintf(it->why.message, sizeof it->why.message, "%s", err);
    } else if (s->spec->map(doc, hub_clock_wall_ms(), &it->row, &it->why) != 0) {
        it->row = NULL;
    }
    json_decref(doc);
    /* The row's COPY line and content hash are made here, while the writer
     * thread waits on PostgreSQL, not inside the batch's transaction
     * (docs/performance.md). A session prepared since with other columns
     * encodes the row again itself. */
    if (b->n_items == 1) {
        hub_row_layout_unref(s->layout);
        s->layout = hub_writer_layout(s->writer);
    }
    hub_write_item_encode(it, s->layout);
    return 0;
}

/* A partition end reported by the broker (enable.partition.eof): past the
 * last message taken, the offsets up to it hold nothing a consumer reads. */
static void note_partition_end(svc *s, const rd_kafka_message_t *m)
{
    int32_t p = m->partition;
    if (p < 0 || p >= s->n_parts || !s->owned[p] || is_stopped(s, p)) return;
    int64_t from = s->seen[p] < 0 ? 0 : s->seen[p];
    if (m->offset > from) {
        s->tail[p] = m->offset;
        s->tail_seen[p] = s->seen[p];
    }
}

/* Transaction markers and aborted records take offsets but are never
 * delivered (read_committed): after a transactional producer's last commit
 * the log ends one offset past the last message, and a stored offset of
 * "last message + 1" would show a lag of 1 for ever (crvsctl wait never
 * returns, the lag alerts fire). Once every message taken from a partition
 * is stored and the broker reported the partition's end past it, with
 * nothing taken since, the stored offset moves to that end, fenced like a
 * batch's. Called on the consumer thread with no batch in flight or being
 * filled (the connection is then its own). */
static void skip_markers(svc *s)
{
    bool moved = false;
    for (int p = 0; p < s->n_parts && !*stop_flag; p++) {
        if (!s->owned[p] || s->tail[p] < 0 || is_stopped(s, p)) continue;
        int64_t stored = s->pos[p];
        if (s->tail_seen[p] != s->seen[p] || stored != s->seen[p] || s->tail[p] <= stored) {
            if (s->tail_seen[p] != s->seen[p]) s->tail[p] = -1; /* taken more since */
            continue;
        }
        PGconn *pg = hub_writer_pg(s->writer);
        if (!pg || PQstatus(pg) != CONNECTION_OK) return; /* the next batch reconnects */
        char err[512];
        bool ok;
        if (hub_writer_store_offset(s->writer, p, stored, s->tail[p], &ok, err, sizeof err) !=
            HUB_PG_OK) {
            hub_log_warn("event=skip_markers_retry partition=%d error=\"%s\"", p, err);
            return; /* tried again when next idle */
        }
        if (!ok) {
            s->total.conflicts++;
            hub_telemetry_offset_conflict(telemetry);
            hub_log_warn("event=offset_conflict action=resync error=\"%s\"", err);
            resync(s);
            return;
        }
        hub_log_info("event=offsets_past_markers partition=%d from=%lld to=%lld", p,
                     (long long)stored, (long long)s->tail[p]);
        s->pos[p] = s->seen[p] = s->tail[p];
        s->tail[p] = -1;
        moved = true;
    }
    if (moved) commit_to_kafka(s);
}

static void seek_to(svc *s, int32_t partition, int64_t offset)
{
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(parts, s->topic, partition)->offset = offset;
    rd_kafka_error_t *e = rd_kafka_seek_partitions(s->rk, parts, 5000);
    if (e) {
        hub_log_warn("event=seek_failed error=\"%s\"", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
    }
    rd_kafka_topic_partition_list_destroy(parts);
}

static void run_loop(svc *s)
{
    int defer_backoff = s->backoff_initial_ms;
    while (!*stop_flag) {
        int64_t deadline = 0;
        bool deferred = false;
        int32_t deferred_partition = -1;
        int64_t deferred_offset = 0;
        /* The linger bounds the wait for messages that have not arrived, not
         * the time spent decoding those that have: once it is over, the
         * batch still takes every message already fetched, up to
         * batch.max.messages. A backlog fills batches; a thin feed waits at
         * most the linger. */
        while (!*stop_flag && s->cur->n_items < (size_t)s->batch_max) {
            int timeout = 200;
            if (s->cur->n_items) {
                timeout = (int)(deadline - hub_clock_ms());
                if (timeout < 0) timeout = 0;
            }
            rd_kafka_message_t *m = rd_kafka_consumer_poll(s->rk, timeout);
            /* A batch the writer finished is finished here at once. One
             * that was not committed drops the batch being filled and
             * seeks back to the stored offsets; the message in hand was
             * fetched before that seek and goes too (taken, it would
             * start the next batch at an offset past the records the
             * seek reads again, and the stored offset would jump over
             * them). The loop is alive while no batch is in flight; while
             * one is, the writer's progress is the health check's (a hung
             * call is a stall). */
            if (s->flight && atomic_load(&s->flight_done) && !wait_flight(s)) {
                if (m) rd_kafka_message_destroy(m);
                continue;
            }
            if (!s->flight) hub_telemetry_tick(telemetry);
            if (!m) {
                if (s->cur->n_items && timeout == 0) break;
                if (!s->cur->n_items && !s->flight) {
                    skip_markers(s);
                    watch_stopped(s);
                }
                continue;
            }
            if (m->err) {
                if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) note_partition_end(s, m);
                else if (m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET ||
                         m->err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE)
                    on_out_of_range(s, m);
                else
                    hub_log_warn("event=consume_error code=%s error=\"%s\"",
                                 rd_kafka_err2name(m->err), rd_kafka_message_errstr(m));
                rd_kafka_message_destroy(m);
                if (!s->cur->n_items && !s->flight) skip_markers(s);
                continue;
            }
            int32_t p = m->partition;
            /* Stale: from a partition we no longer own, one stopped for
             * data loss, or already stored. */
            if (p >= s->n_parts || !s->owned[p] || is_stopped(s, p) ||
                (s->pos[p] >= 0 && m->offset < s->pos[p])) {
                rd_kafka_message_destroy(m);
                continue;
            }
            if (s->cur->n_items == 0) deadline = hub_clock_ms() + s->linger_ms;
            int64_t offset = m->offset;
            if (take_message(s, m) == 1) {
                deferred = true;
                deferred_partition = p;
                deferred_offset = m->offset;
                rd_kafka_message_destroy(m);
                break;
            }
            s->seen[p] = offset + 1;
        }
        bool dropped = s->cur->n_items && !submit(s);
        if (deferred && !*stop_flag) {
            /* Read the deferred message again; unless the batches were just
             * dropped: the partitions were then sought back to their stored
             * offsets, before it, and seeking forward would skip the
             * records in between. */
            if (!dropped) seek_to(s, deferred_partition, deferred_offset);
            hub_writer_nap(&s->wset, defer_backoff);
            defer_backoff = next_backoff(s, defer_backoff);
        } else {
            defer_backoff = s->backoff_initial_ms;
        }
        watch_stopped(s);
    }
}

/* ---- the run ------------------------------------------------------------- */

int hub_consumer_run(const hub_consumer_params *p)
{
    svc s = {.spec = p->spec,
             .cfg = p->cfg,
             .topic = p->wset->topic,
             .group = p->wset->group,
             .topic_info = p->wset->topic_info,
             .dec = p->dec,
             .wset = *p->wset,
             .writer = p->writer,
             .batch_max = p->batch_max,
             .linger_ms = p->linger_ms,
             .backoff_initial_ms = p->wset->backoff_initial_ms,
             .backoff_max_ms = p->wset->backoff_max_ms,
             .on_loss = p->on_loss,
             .fault_poll_ms = p->fault_poll_ms};
    stop_flag = p->wset->stop;
    telemetry = p->wset->telemetry;
    s.cur = &s.bufs[0];
    pthread_mutex_init(&s.mu, NULL);
    pthread_cond_init(&s.cv, NULL);
    char err[1024];

    s.rk = make_consumer(&s, err, sizeof err);
    if (!s.rk) {
        hub_log_error("event=kafka_config_failed error=\"%s\"", err);
        s.fatal = true;
        goto out;
    }
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, s.topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t kerr = rd_kafka_subscribe(s.rk, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    if (kerr) {
        hub_log_error("event=subscribe_failed error=\"%s\"", rd_kafka_err2str(kerr));
        s.fatal = true;
        goto out;
    }
    if (pthread_create(&s.writer_thread, NULL, writer_main, &s) != 0) {
        hub_log_error("event=thread_failed error=\"cannot start the writer thread\"");
        s.fatal = true;
        goto out;
    }
    s.writer_started = true;
    run_loop(&s);
    /* A stop is not a failure: what is pending is written, then we leave
     * the group so the partitions move on at once. */
    (void)wait_flight(&s);
    if (!failed(&s)) {
        *stop_flag = 0;
        drain(&s, 3);
        *stop_flag = 1;
    }
    hub_telemetry_stopping(telemetry);
    rd_kafka_consumer_close(s.rk);
    hub_log_info("event=stopped created=%llu corrected=%llu duplicates=%llu dead_letters=%llu "
                 "batches=%llu retries=%llu conflicts=%llu",
                 (unsigned long long)s.total.created, (unsigned long long)s.total.corrected,
                 (unsigned long long)s.total.duplicates, (unsigned long long)s.total.dead_letters,
                 (unsigned long long)s.total.batches,
                 (unsigned long long)hub_writer_retries(s.writer),
                 (unsigned long long)s.total.conflicts);
out:
    if (s.writer_started) {
        pthread_mutex_lock(&s.mu);
        s.writer_quit = true;
        pthread_cond_broadcast(&s.cv);
        pthread_mutex_unlock(&s.mu);
        pthread_join(s.writer_thread, NULL);
    }
    pthread_mutex_destroy(&s.mu);
    pthread_cond_destroy(&s.cv);
    for (int i = 0; i < 2; i++) {
        clear_batch(&s.bufs[i]);
        free(s.bufs[i].items);
    }
    hub_row_layout_unref(s.layout);
    if (s.rk) rd_kafka_destroy(s.rk); /* its callbacks report to telemetry: the caller's, alive */
    free((void *)s.pos);
    free(s.owned);
    free(s.seen);
    free(s.tail);
    free(s.tail_seen);
    free(s.stopped);
    return failed(&s) ? 1 : 0;
}
