#include "hub_telemetry.h"

#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hub_http.h"

struct hub_telemetry {
    hub_metrics *metrics;
    hub_http *http;
    int stall_s;

    hub_metric *messages, *lag, *pg_retries, *registry, *data_loss, *missing;
    hub_series *created, *corrected, *duplicates, *batches, *batch_size, *tx_seconds,
        *kafka_delay, *event_delay, *assigned, *pg_reconnects, *pg_up, *conflicts, *brokers_up,
        *deferrals, *last_commit;
    hub_series *retry_connect, *retry_claim, *retry_batch;
    hub_series *lookup_ok, *lookup_not_found, *lookup_error;
    hub_series *loss_stopped, *loss_continued, *skipped;
    hub_series *link_records, *link_folds, *link_failures, *link_delay, *link_fold_seconds,
        *link_queue, *link_queue_age;

    _Atomic int64_t last_tick_ms; /* CLOCK_MONOTONIC */
    _Atomic int assigned_now;
    _Atomic bool pg_ok, stopping;
};

static _Atomic(hub_telemetry *) process_telemetry;

static const double batch_size_bounds[] = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000};
static const double tx_bounds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                   0.25,  0.5,    1,     2.5,  5,     10};
/* From "the service keeps up" (tens of ms) to a day-long backlog. */
static const double kafka_delay_bounds[] = {0.01, 0.05, 0.1, 0.25, 0.5,  1,    2.5,   5,
                                            10,   30,   60,  300,  900,  3600, 21600, 86400};
/* Event time to registry: hospitals send at once or in batches days later. */
static const double event_delay_bounds[] = {1,     10,    60,     300,    900,    3600,
                                            21600, 86400, 259200, 604800, 2592000};

#define N(a) (sizeof(a) / sizeof *(a))

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool register_all(hub_telemetry *t, const char *version, char *err, size_t err_size)
{
    hub_metrics *m = t->metrics;
    const char *outcome_reason[] = {"outcome", "reason", NULL};
    const char *op[] = {"op", NULL};
    const char *topic_partition[] = {"topic", "partition", NULL};
    const char *outcome[] = {"outcome", NULL};
    const char *version_label[] = {"version", NULL};
    hub_metric *f;

#define FAMILY(expr)            \
    do {                        \
        if (!(f = (expr))) return false; \
    } while (0)

    FAMILY(hub_metrics_gauge(m, "crvs_build_info", "Build of the running service; always 1.",
                             version_label, err, err_size));
    hub_gauge_set(hub_metric_series1(f, version), 1);

    FAMILY(t->messages = hub_metrics_counter(
               m, "crvs_messages_total",
               "Messages committed, by outcome: created, corrected, duplicate, dead_lettered "
               "(with reason).",
               outcome_reason, err, err_size));
    t->created = hub_metric_series(t->messages, (const char *[]){"created", ""});
    t->corrected = hub_metric_series(t->messages, (const char *[]){"corrected", ""});
    t->duplicates = hub_metric_series(t->messages, (const char *[]){"duplicate", ""});

    FAMILY(hub_metrics_counter(m, "crvs_batches_total", "Batches committed to PostgreSQL.", NULL,
                               err, err_size));
    t->batches = hub_metric_series(f, NULL);
    FAMILY(hub_metrics_histogram(m, "crvs_batch_size_messages", "Messages per committed batch.",
                                 NULL, batch_size_bounds, N(batch_size_bounds), err, err_size));
    t->batch_size = hub_metric_series(f, NULL);
    FAMILY(hub_metrics_histogram(m, "crvs_transaction_seconds",
                                 "Duration of a batch's PostgreSQL transaction, BEGIN to COMMIT.",
                                 NULL, tx_bounds, N(tx_bounds), err, err_size));
    t->tx_seconds = hub_metric_series(f, NULL);
    FAMILY(hub_metrics_histogram(m, "crvs_kafka_delay_seconds",
                                 "Commit time minus the Kafka timestamp of each committed message.",
                                 NULL, kafka_delay_bounds, N(kafka_delay_bounds), err, err_size));
    t->kafka_delay = hub_metric_series(f, NULL);
    FAMILY(hub_metrics_histogram(m, "crvs_event_delay_seconds",
                                 "Commit time minus the event time (issued_at) of each stored "
                                 "record.",
                                 NULL, event_delay_bounds, N(event_delay_bounds), err, err_size));
    t->event_delay = hub_metric_series(f, NULL);

    FAMILY(t->lag = hub_metrics_gauge(m, "crvs_consumer_lag_messages",
                                      "Messages in the partition not yet committed (librdkafka "
                                      "statistics).",
                                      topic_partition, err, err_size));
    FAMILY(hub_metrics_gauge(m, "crvs_partitions_assigned",
                             "Partitions currently assigned to this instance.", NULL, err,
                             err_size));
    t->assigned = hub_metric_series(f, NULL);
    hub_gauge_set(t->assigned, 0);

    FAMILY(hub_metrics_gauge(m, "crvs_kafka_brokers_up",
                             "Kafka brokers this instance is connected to (librdkafka "
                             "statistics); 0 when it reaches none.",
                             NULL, err, err_size));
    t->brokers_up = hub_metric_series(f, NULL);

    FAMILY(hub_metrics_gauge(m, "crvs_pg_up",
                             "1 when the last PostgreSQL contact succeeded, else 0.", NULL, err,
                             err_size));
    t->pg_up = hub_metric_series(f, NULL);
    hub_gauge_set(t->pg_up, 0);
    FAMILY(hub_metrics_counter(m, "crvs_pg_reconnects_total",
                               "PostgreSQL connections made after the first one.", NULL, err,
                               err_size));
    t->pg_reconnects = hub_metric_series(f, NULL);
    FAMILY(t->pg_retries = hub_metrics_counter(
               m, "crvs_pg_retries_total",
               "Retries after a transient PostgreSQL failure, by operation.", op, err, err_size));
    t->retry_connect = hub_metric_series1(t->pg_retries, "connect");
    t->retry_claim = hub_metric_series1(t->pg_retries, "claim");
    t->retry_batch = hub_metric_series1(t->pg_retries, "batch");
    FAMILY(hub_metrics_counter(m, "crvs_offset_conflicts_total",
                               "Batches dropped because another member advanced the stored "
                               "offset.",
                               NULL, err, err_size));
    t->conflicts = hub_metric_series(f, NULL);
    FAMILY(hub_metrics_counter(m, "crvs_schema_deferrals_total",
                               "Messages put back because their writer schema could not be "
                               "fetched.",
                               NULL, err, err_size));
    t->deferrals = hub_metric_series(f, NULL);
    FAMILY(t->registry = hub_metrics_counter(m, "crvs_registry_lookups_total",
                                             "Schema registry lookups, by outcome.", outcome, err,
                                             err_size));
    t->lookup_ok = hub_metric_series1(t->registry, "ok");
    t->lookup_not_found = hub_metric_series1(t->registry, "not_found");
    t->lookup_error = hub_metric_series1(t->registry, "error");
    FAMILY(hub_metrics_gauge(m, "crvs_last_commit_timestamp_seconds",
                             "When the last batch committed (unix seconds); absent before the "
                             "first.",
                             NULL, err, err_size));
    t->last_commit = hub_metric_series(f, NULL);

    FAMILY(t->data_loss = hub_metrics_gauge(
               m, "crvs_partition_data_loss",
               "1 while the partition is stopped for broker data loss (its stored offset is "
               "behind the log start or ahead of the log end) until an operator resets its "
               "offset; 0 once it goes on.",
               topic_partition, err, err_size));
    FAMILY(t->missing = hub_metrics_gauge(
               m, "crvs_messages_missing",
               "Messages of a stopped partition never stored that the broker no longer holds; "
               "absent when not known (a log that ends before the stored offset).",
               topic_partition, err, err_size));
    FAMILY(hub_metrics_counter(m, "crvs_data_loss_events_total",
                               "Broker data loss found, by what the service did: stop (the "
                               "partition waits for an operator) or continue (offsets.on.loss = "
                               "continue: skipped).",
                               (const char *[]){"action", NULL}, err, err_size));
    t->loss_stopped = hub_metric_series1(f, "stop");
    t->loss_continued = hub_metric_series1(f, "continue");
    FAMILY(hub_metrics_counter(m, "crvs_messages_skipped_total",
                               "Messages known lost that offsets.on.loss = continue skipped.",
                               NULL, err, err_size));
    t->skipped = hub_metric_series(f, NULL);

    FAMILY(hub_metrics_counter(m, "crvs_linker_records_total",
                               "Queued records this process's linker folded into persons, "
                               "judgments and marriages.",
                               NULL, err, err_size));
    t->link_records = hub_metric_series(f, NULL);
    FAMILY(hub_metrics_counter(m, "crvs_linker_folds_total",
                               "Linker transactions that folded at least one record.", NULL, err,
                               err_size));
    t->link_folds = hub_metric_series(f, NULL);
    FAMILY(hub_metrics_counter(m, "crvs_linker_failures_total",
                               "Linker transactions that failed (each is logged and tried "
                               "again; the queue keeps its records).",
                               NULL, err, err_size));
    t->link_failures = hub_metric_series(f, NULL);
    FAMILY(hub_metrics_histogram(m, "crvs_linker_delay_seconds",
                                 "Per folded record, from its batch queueing it to the fold's "
                                 "commit (an upper bound: the oldest record of the fold).",
                                 NULL, kafka_delay_bounds, N(kafka_delay_bounds), err, err_size));
    t->link_delay = hub_metric_series(f, NULL);
    FAMILY(hub_metrics_histogram(m, "crvs_linker_transaction_seconds",
                                 "Linker transactions that folded records, start to commit.",
                                 NULL, tx_bounds, N(tx_bounds), err, err_size));
    t->link_fold_seconds = hub_metric_series(f, NULL);
    FAMILY(hub_metrics_gauge(m, "crvs_linker_queue_records",
                             "Records waiting for the linker in the database (counted up to "
                             "1,000,000); absent in a process whose linker is off or standing "
                             "by.",
                             NULL, err, err_size));
    t->link_queue = hub_metric_series(f, NULL);
    FAMILY(hub_metrics_gauge(m, "crvs_linker_queue_age_seconds",
                             "Age of the oldest record waiting for the linker (0: none); "
                             "absent as crvs_linker_queue_records.",
                             NULL, err, err_size));
    t->link_queue_age = hub_metric_series(f, NULL);
    hub_gauge_clear(t->link_queue);
    hub_gauge_clear(t->link_queue_age);
#undef FAMILY
    return true;
}

hub_telemetry *hub_telemetry_new(const char *service, const char *version, char *errstr,
                                 size_t errstr_size)
{
    hub_telemetry *t = calloc(1, sizeof *t);
    if (!t) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    const char *labels[] = {"service", service, NULL};
    t->metrics = hub_metrics_new(labels, errstr, errstr_size);
    if (!t->metrics || !register_all(t, version, errstr, errstr_size)) {
        hub_telemetry_destroy(t);
        return NULL;
    }
    atomic_store(&t->last_tick_ms, mono_ms());
    atomic_store(&process_telemetry, t);
    return t;
}

static bool healthy(void *opaque, char *why, size_t why_size)
{
    hub_telemetry *t = opaque;
    int64_t age_ms = mono_ms() - atomic_load(&t->last_tick_ms);
    if (age_ms <= (int64_t)t->stall_s * 1000) return true;
    snprintf(why, why_size, "consumer loop stalled: no tick for %lld s",
             (long long)(age_ms / 1000));
    return false;
}

static bool ready(void *opaque, char *why, size_t why_size)
{
    hub_telemetry *t = opaque;
    if (atomic_load(&t->stopping)) snprintf(why, why_size, "stopping");
    else if (atomic_load(&t->assigned_now) <= 0) snprintf(why, why_size, "no partitions assigned");
    else if (!atomic_load(&t->pg_ok)) snprintf(why, why_size, "PostgreSQL not reachable");
    else return true;
    return false;
}

int hub_telemetry_serve(hub_telemetry *t, const char *bind_address, int port, int stall_s,
                        const char *tls_cert_file, const char *tls_key_file, char *errstr,
                        size_t errstr_size)
{
    hub_http_handlers h = {.metrics = t->metrics, .healthy = healthy, .ready = ready, .opaque = t,
                           .tls_cert_file = tls_cert_file, .tls_key_file = tls_key_file};
    t->stall_s = stall_s;
    t->http = hub_http_start(bind_address, port, &h, errstr, errstr_size);
    return t->http ? 0 : -1;
}

void hub_telemetry_destroy(hub_telemetry *t)
{
    if (!t) return;
    hub_telemetry *self = t;
    atomic_compare_exchange_strong(&process_telemetry, &self, NULL);
    hub_http_stop(t->http); /* before the metrics it reads */
    hub_metrics_destroy(t->metrics);
    free(t);
}

hub_metrics *hub_telemetry_metrics(hub_telemetry *t) { return t ? t->metrics : NULL; }

void hub_telemetry_tick(hub_telemetry *t)
{
    if (t) atomic_store_explicit(&t->last_tick_ms, mono_ms(), memory_order_relaxed);
}

void hub_telemetry_partitions(hub_telemetry *t, int assigned)
{
    if (!t) return;
    atomic_store(&t->assigned_now, assigned);
    hub_gauge_set(t->assigned, assigned);
}

void hub_telemetry_pg_contact(hub_telemetry *t, bool ok)
{
    if (!t) return;
    atomic_store(&t->pg_ok, ok);
    hub_gauge_set(t->pg_up, ok ? 1 : 0);
}

void hub_telemetry_stopping(hub_telemetry *t)
{
    if (t) atomic_store(&t->stopping, true);
}

void hub_telemetry_pg_reconnect(hub_telemetry *t)
{
    if (t) hub_counter_inc(t->pg_reconnects);
}

void hub_telemetry_pg_retry(hub_telemetry *t, const char *op)
{
    if (!t) return;
    if (!strcmp(op, "connect")) hub_counter_inc(t->retry_connect);
    else if (!strcmp(op, "claim")) hub_counter_inc(t->retry_claim);
    else hub_counter_inc(t->retry_batch);
}

void hub_telemetry_offset_conflict(hub_telemetry *t)
{
    if (t) hub_counter_inc(t->conflicts);
}

void hub_telemetry_schema_deferral(hub_telemetry *t)
{
    if (t) hub_counter_inc(t->deferrals);
}

static void partition_label(int32_t partition, char *out, size_t out_size)
{
    snprintf(out, out_size, "%d", (int)partition);
}

void hub_telemetry_data_loss(hub_telemetry *t, const char *topic, int32_t partition,
                             bool stopped, int64_t missing)
{
    if (!t) return;
    char p[16];
    partition_label(partition, p, sizeof p);
    const char *values[2] = {topic, p};
    hub_gauge_set(hub_metric_series(t->data_loss, values), stopped ? 1 : 0);
    hub_series *m = hub_metric_series(t->missing, values);
    if (stopped && missing >= 0) hub_gauge_set(m, (double)missing);
    else hub_gauge_clear(m);
}

void hub_telemetry_data_loss_forget(hub_telemetry *t, const char *topic, int32_t partition)
{
    if (!t) return;
    char p[16];
    partition_label(partition, p, sizeof p);
    const char *values[2] = {topic, p};
    hub_gauge_clear(hub_metric_series(t->data_loss, values));
    hub_gauge_clear(hub_metric_series(t->missing, values));
}

void hub_telemetry_data_loss_event(hub_telemetry *t, bool continued, int64_t missing)
{
    if (!t) return;
    if (!continued) {
        hub_counter_inc(t->loss_stopped);
        return;
    }
    hub_counter_inc(t->loss_continued);
    if (missing > 0) hub_counter_add(t->skipped, (uint64_t)missing);
}

void hub_telemetry_batch(hub_telemetry *t, size_t n_messages, double tx_seconds,
                         uint64_t created, uint64_t corrected, uint64_t duplicates,
                         int64_t commit_ms)
{
    if (!t) return;
    hub_counter_inc(t->batches);
    hub_histogram_observe(t->batch_size, (double)n_messages);
    hub_histogram_observe(t->tx_seconds, tx_seconds);
    hub_counter_add(t->created, created);
    hub_counter_add(t->corrected, corrected);
    hub_counter_add(t->duplicates, duplicates);
    hub_gauge_set(t->last_commit, (double)commit_ms / 1000.0);
}

void hub_telemetry_message(hub_telemetry *t, int64_t commit_ms, int64_t kafka_ms,
                           int64_t event_ms, const char *dead_letter_reason)
{
    if (!t) return;
    /* Clocks of producers and brokers drift: a message "from the future"
     * counts as no delay rather than being lost from the histogram. */
    if (kafka_ms >= 0)
        hub_histogram_observe(t->kafka_delay,
                              commit_ms > kafka_ms ? (double)(commit_ms - kafka_ms) / 1000.0 : 0);
    if (dead_letter_reason) {
        const char *values[2] = {"dead_lettered", dead_letter_reason};
        hub_counter_inc(hub_metric_series(t->messages, values));
    } else if (event_ms >= 0) {
        hub_histogram_observe(t->event_delay,
                              commit_ms > event_ms ? (double)(commit_ms - event_ms) / 1000.0 : 0);
    }
}

void hub_telemetry_kafka_stats(hub_telemetry *t, const char *json, size_t len,
                               hub_telemetry_offset_fn stored_offset, void *opaque)
{
    if (!t) return;
    json_error_t jerr;
    json_t *root = json_loadb(json, len, 0, &jerr);
    json_t *topics = json_object_get(root, "topics");
    const char *topic;
    json_t *tv;
    json_object_foreach(topics, topic, tv) {
        const char *pkey;
        json_t *pv;
        json_object_foreach(json_object_get(tv, "partitions"), pkey, pv) {
            char *end;
            long p = strtol(pkey, &end, 10);
            if (*end || p < 0) continue; /* "-1": librdkafka's internal UA partition */
            json_int_t lag = -1;
            json_t *v = json_object_get(pv, "consumer_lag");
            if (json_is_integer(v)) lag = json_integer_value(v);
            if (lag < 0 && stored_offset) {
                int64_t stored = stored_offset(opaque, topic, (int32_t)p);
                json_t *hi = json_object_get(pv, "hi_offset");
                json_t *lo = json_object_get(pv, "lo_offset");
                if (stored >= -2 && stored != -1 && json_is_integer(hi) &&
                    json_integer_value(hi) >= 0) {
                    int64_t from = stored;
                    /* -2, "from the beginning": the log start, when known. */
                    if (from < 0) from = json_is_integer(lo) && json_integer_value(lo) >= 0
                                             ? json_integer_value(lo)
                                             : 0;
                    lag = json_integer_value(hi) > from ? json_integer_value(hi) - from : 0;
                }
            }
            const char *values[2] = {topic, pkey};
            hub_series *s = hub_metric_series(t->lag, values);
            if (lag >= 0) hub_gauge_set(s, (double)lag);
            else hub_gauge_clear(s);
        }
    }
    /* Brokers of the cluster with a connection up: those with a broker id,
     * learned from the metadata or configured (a bootstrap address keeps
     * "configured" once its id is known), not the internal broker or the
     * group coordinator's logical handle (a second view of a broker).
     * Sparse connections: a consumer connects only to the leaders of its
     * partitions and to its coordinator, so this counts what the instance
     * needs, not the cluster's size. */
    json_t *brokers = json_object_get(root, "brokers");
    if (json_is_object(brokers)) {
        const char *name;
        json_t *bv;
        int up = 0;
        json_object_foreach(brokers, name, bv) {
            const char *source = json_string_value(json_object_get(bv, "source"));
            const char *state = json_string_value(json_object_get(bv, "state"));
            json_t *id = json_object_get(bv, "nodeid");
            if (source && state && json_is_integer(id) && json_integer_value(id) >= 0 &&
                (!strcmp(source, "learned") || !strcmp(source, "configured")) &&
                !strcmp(state, "UP"))
                up++;
        }
        hub_gauge_set(t->brokers_up, up);
    }
    json_decref(root);
}

void hub_telemetry_registry_lookup(const char *outcome)
{
    hub_telemetry *t = atomic_load(&process_telemetry);
    if (!t || !outcome) return;
    if (!strcmp(outcome, "ok")) hub_counter_inc(t->lookup_ok);
    else if (!strcmp(outcome, "not_found")) hub_counter_inc(t->lookup_not_found);
    else hub_counter_inc(t->lookup_error);
}

void hub_telemetry_linker_fold(hub_telemetry *t, uint64_t records, double delay_s, double tx_s)
{
    if (!t) return;
    hub_counter_add(t->link_records, records);
    hub_counter_inc(t->link_folds);
    hub_histogram_observe(t->link_fold_seconds, tx_s);
    for (uint64_t i = 0; i < records; i++) hub_histogram_observe(t->link_delay, delay_s);
}

void hub_telemetry_linker_failure(hub_telemetry *t)
{
    if (!t) return;
    hub_counter_inc(t->link_failures);
}

void hub_telemetry_linker_queue(hub_telemetry *t, bool known, double records, double age_s)
{
    if (!t) return;
    if (!known) {
        hub_gauge_clear(t->link_queue);
        hub_gauge_clear(t->link_queue_age);
        return;
    }
    hub_gauge_set(t->link_queue, records);
    hub_gauge_set(t->link_queue_age, age_s);
}
