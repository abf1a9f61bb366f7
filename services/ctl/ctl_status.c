/* crvsctl status: is anything stuck, and why? One screen per service, topic
 * and partition, from PostgreSQL (the truth about what is stored) and the
 * broker (what is waiting):
 *
 *   stored     next offset in crvs.consumer_offset (what the service wrote)
 *   end        log end offset (rd_kafka_query_watermark_offsets)
 *   lag        end minus stored (nothing stored: minus 0); for a partition
 *              that lost data on the broker, null when it cannot be known
 *   data loss  the stored offset behind the log start or ahead of the log
 *              end, or a fault a service recorded (crvs.partition_fault):
 *              shown with its numbers and always a breach, never "stored"
 *   lag age    now minus the Kafka timestamp of the oldest message not yet
 *              stored, the one at the stored offset: how long the oldest
 *              waiting document has waited (the producer's CreateTime;
 *              after data loss, of the oldest message the broker still has)
 *   commit     age of the partition's last stored batch (updated_at)
 *
 * plus dead letters of the last hour and day by reason, open
 * reconciliation items, and throughput over the last 5 minutes (audit rows
 * of the services: one per created, corrected, duplicate or dead-lettered
 * message; a BRIN index on audit_log.at from 006_operations.sql keeps this
 * cheap).
 *
 * Everything is gathered into one JSON document first; --json prints it,
 * the screen is drawn from it, and the thresholds are checked on it.
 * Exit status: 0 healthy, 2 a threshold breached or a partition lost data
 * on the broker (each is printed), 1 an
 * error (PostgreSQL or the broker unreachable, or bad usage: 2 must mean
 * "breached" and nothing else to whatever calls this from cron). */
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "ctl_input.h"
#include "ctl_kafka.h"
#include "ctl_pg.h"
#include "hub_topics.h"
#include "hub_pg.h"

#define STATUS_BREACHED 2
#define MAX_TOPICS CTL_STATUS_MAX_TOPICS
#define LAG_AGE_TIMEOUT_MS 3000

static volatile sig_atomic_t status_stop;

static void on_interrupt(int sig)
{
    (void)sig;
    status_stop = 1;
}

/* ---- gathering ------------------------------------------------------------ */

typedef struct want {
    char group[256], topic[256];
} want;

/* The (group, topic) pairs to show: the hub's three topics with their
 * default groups, plus whatever else crvs.consumer_offset knows; or only
 * the topics asked for. */
static int services_to_show(PGconn *conn, const ctl_status_opts *o, want *out, int max)
{
    int n = 0;
    if (o->n_topics) {
        for (int i = 0; i < o->n_topics && n < max; i++, n++) {
            snprintf(out[n].group, sizeof out[n].group, "crvs-%s", o->topics[i]);
            snprintf(out[n].topic, sizeof out[n].topic, "%s", o->topics[i]);
        }
    } else {
        const hub_topic_info *t;
        for (size_t i = 0; (t = hub_topic_at(i)) && n < max; i++, n++) {
            snprintf(out[n].group, sizeof out[n].group, "crvs-%s", t->topic);
            snprintf(out[n].topic, sizeof out[n].topic, "%s", t->topic);
        }
    }
    PGresult *res = ctl_pg_query(conn, "status",
                              "SELECT DISTINCT consumer_group, topic FROM crvs.consumer_offset "
                              "ORDER BY 1, 2",
                              0, NULL);
    if (!res) return -1;
    for (int r = 0; r < PQntuples(res) && n < max; r++) {
        const char *g = PQgetvalue(res, r, 0), *t = PQgetvalue(res, r, 1);
        bool listed = false, asked = o->n_topics == 0;
        for (int i = 0; i < n && !listed; i++)
            listed = !strcmp(out[i].group, g) && !strcmp(out[i].topic, t);
        for (int i = 0; i < o->n_topics && !asked; i++) asked = !strcmp(o->topics[i], t);
        if (listed || !asked) continue;
        snprintf(out[n].group, sizeof out[n].group, "%s", g);
        snprintf(out[n].topic, sizeof out[n].topic, "%s", t);
        n++;
    }
    PQclear(res);
    return n;
}

static const char *service_of_group(const char *group)
{
    return strncmp(group, "crvs-", 5) == 0 ? group + 5 : group;
}

static json_t *find_partition(json_t *parts, int p)
{
    size_t i;
    json_t *v;
    json_array_foreach(parts, i, v) if (json_integer_value(json_object_get(v, "partition")) == p)
        return v;
    return NULL;
}

static json_t *partition_new(json_t *parts, int p)
{
    json_t *v = find_partition(parts, p);
    if (v) return v;
    v = json_pack("{s:i, s:n, s:n, s:n, s:n, s:n, s:n, s:n}", "partition", p, "stored_offset",
                  "log_start", "log_end", "lag_messages", "lag_seconds",
                  "last_commit_age_seconds", "data_loss");
    /* keep partitions in order */
    size_t at = json_array_size(parts);
    for (size_t i = 0; i < json_array_size(parts); i++) {
        if (json_integer_value(json_object_get(json_array_get(parts, i), "partition")) > p) {
            at = i;
            break;
        }
    }
    json_array_insert_new(parts, at, v);
    return v;
}

static json_t *count_or_null(int64_t v)
{
    return v >= 0 ? json_integer(v) : json_null();
}

/* The "data_loss" object of a broken partition (docs/operations.md,
 * "Broker data loss"). */
static json_t *data_loss_json(const ctl_partition_loss *l)
{
    char text[512];
    ctl_partition_describe(l, text, sizeof text);
    return json_pack("{s:s, s:I, s:o, s:o, s:o, s:b, s:o, s:o, s:s}", "kind",
                     hub_loss_kind_name(l->loss.kind), "stored", (json_int_t)l->loss.stored,
                     "log_start", count_or_null(l->loss.log_start), "log_end",
                     count_or_null(l->loss.log_end), "missing", count_or_null(l->loss.missing),
                     "stopped", l->recorded, "detected_at",
                     l->recorded ? json_string(l->detected_at) : json_null(), "detected_by",
                     l->recorded ? json_string(l->detected_by) : json_null(), "text", text);
}

/* Partitions, stored offsets, watermarks and lag of one (group, topic). */
static int gather_partitions(rd_kafka_t *rk, PGconn *conn, const want *w, json_t *svc)
{
    json_t *parts = json_object_get(svc, "partitions");
    const char *params[2] = {w->group, w->topic};
    PGresult *res = ctl_pg_query(conn, "status",
                              "SELECT partition, next_offset, "
                              "extract(epoch FROM now() - updated_at)::float8 "
                              "FROM crvs.consumer_offset WHERE consumer_group = $1 AND topic = $2 "
                              "ORDER BY partition",
                              2, params);
    if (!res) return -1;
    for (int r = 0; r < PQntuples(res); r++) {
        json_t *p = partition_new(parts, atoi(PQgetvalue(res, r, 0)));
        json_object_set_new(p, "stored_offset", json_integer(strtoll(PQgetvalue(res, r, 1), NULL, 10)));
        json_object_set_new(p, "last_commit_age_seconds",
                            json_real(floor(strtod(PQgetvalue(res, r, 2), NULL) * 10) / 10));
    }
    PQclear(res);

    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, w->topic, NULL);
    rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, 5000);
    rd_kafka_topic_destroy(rkt);
    if (err) {
        fprintf(stderr, "crvsctl status: metadata for %s: %s\n", w->topic, rd_kafka_err2str(err));
        return -1;
    }
    int n_parts = md->topic_cnt == 1 && !md->topics[0].err ? md->topics[0].partition_cnt : 0;
    rd_kafka_metadata_destroy(md);
    json_object_set_new(svc, "topic_exists", json_boolean(n_parts > 0));
    for (int p = 0; p < n_parts; p++) (void)partition_new(parts, p);

    PGresult *faults = ctl_faults_query(conn, "status", w->group, w->topic);
    if (!faults) return -1;
    long long total = 0, n_broken = 0;
    size_t i;
    json_t *p;
    json_array_foreach(parts, i, p) {
        int part = (int)json_integer_value(json_object_get(p, "partition"));
        if (part >= n_parts) continue; /* stored, but the broker has no such partition */
        int64_t lo, hi;
        err = rd_kafka_query_watermark_offsets(rk, w->topic, part, &lo, &hi, 5000);
        if (err) {
            fprintf(stderr, "crvsctl status: %s[%d]: %s\n", w->topic, part, rd_kafka_err2str(err));
            PQclear(faults);
            return -1;
        }
        json_t *so = json_object_get(p, "stored_offset");
        long long stored = json_is_integer(so) ? json_integer_value(so) : -2;
        long long at = stored < 0 ? 0 : stored; /* -2: nothing stored yet */
        json_object_set_new(p, "log_start", json_integer(lo));
        json_object_set_new(p, "log_end", json_integer(hi));
        ctl_partition_loss loss;
        json_t *lag;
        if (ctl_partition_judge(faults, part, stored, lo, hi, &loss)) {
            /* Never "stored", never lag 0: behind the log start, everything
             * from the stored offset on is unstored, the missing included;
             * ahead of the log end, how much is not known. */
            bool behind = loss.loss.kind == HUB_LOSS_BEHIND_LOG_START && hi >= at;
            lag = behind ? json_integer(hi - at) : json_null();
            json_object_set_new(p, "data_loss", data_loss_json(&loss));
            n_broken++;
        } else {
            lag = json_integer(hi > at ? hi - at : 0);
        }
        total += json_integer_value(lag);
        json_object_set_new(p, "lag_messages", lag);
        json_object_set_new(p, "next_unstored", json_integer(at < lo ? lo : at));
    }
    PQclear(faults);
    json_object_set_new(svc, "lag_messages", json_integer(total));
    json_object_set_new(svc, "broken_partitions", json_integer(n_broken));
    return 0;
}

/* Lag age: reads the first unstored message of every lagging partition of
 * every service in one assignment. Partitions whose message does not come
 * within the timeout keep lag_seconds null. */
static void gather_lag_ages(rd_kafka_t *rk, json_t *services)
{
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(8);
    size_t i, j;
    json_t *svc, *p;
    json_array_foreach(services, i, svc) {
        const char *topic = json_string_value(json_object_get(svc, "topic"));
        json_array_foreach(json_object_get(svc, "partitions"), j, p) {
            if (json_integer_value(json_object_get(p, "lag_messages")) <= 0) continue;
            rd_kafka_topic_partition_list_add(
                list, topic, (int32_t)json_integer_value(json_object_get(p, "partition")))
                ->offset = json_integer_value(json_object_get(p, "next_unstored"));
        }
    }
    int pending = list->cnt;
    if (pending == 0 || rd_kafka_assign(rk, list) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_topic_partition_list_destroy(list);
        return;
    }
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    while (pending > 0 && !status_stop) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long elapsed = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
        if (elapsed >= LAG_AGE_TIMEOUT_MS) break;
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m) continue;
        rd_kafka_topic_partition_t *tp =
            m->err ? NULL : rd_kafka_topic_partition_list_find(list, rd_kafka_topic_name(m->rkt),
                                                               m->partition);
        if (tp && tp->opaque == NULL) {
            tp->opaque = (void *)1; /* answered */
            pending--;
            int64_t ts = rd_kafka_message_timestamp(m, NULL);
            struct timespec wall;
            clock_gettime(CLOCK_REALTIME, &wall);
            int64_t now_ms = (int64_t)wall.tv_sec * 1000 + wall.tv_nsec / 1000000;
            json_array_foreach(services, i, svc) {
                if (strcmp(json_string_value(json_object_get(svc, "topic")), tp->topic)) continue;
                json_t *part = find_partition(json_object_get(svc, "partitions"), tp->partition);
                if (part && ts >= 0)
                    json_object_set_new(part, "lag_seconds",
                                        json_real(now_ms > ts ? (double)((now_ms - ts) / 100) / 10
                                                              : 0.0));
            }
        }
        rd_kafka_message_destroy(m);
    }
    (void)rd_kafka_assign(rk, NULL);
    rd_kafka_topic_partition_list_destroy(list);
}

static int gather_dead_letters(PGconn *conn, json_t *services)
{
    PGresult *res = ctl_pg_query(
        conn, "status",
        "SELECT source_topic, reason, "
        "count(*) FILTER (WHERE first_seen >= now() - interval '1 hour'), "
        "count(*) FILTER (WHERE first_seen >= now() - interval '1 day'), "
        "count(*) FILTER (WHERE status = 'new') "
        "FROM crvs.dead_letter "
        "WHERE first_seen >= now() - interval '1 day' OR status = 'new' "
        "GROUP BY 1, 2 ORDER BY 1, 2",
        0, NULL);
    if (!res) return -1;
    size_t i;
    json_t *svc;
    json_array_foreach(services, i, svc) {
        const char *topic = json_string_value(json_object_get(svc, "topic"));
        long long hour = 0, day = 0, waiting = 0;
        json_t *by_reason = json_array();
        for (int r = 0; r < PQntuples(res); r++) {
            if (strcmp(PQgetvalue(res, r, 0), topic)) continue;
            long long h = atoll(PQgetvalue(res, r, 2)), d = atoll(PQgetvalue(res, r, 3)),
                      n = atoll(PQgetvalue(res, r, 4));
            hour += h, day += d, waiting += n;
            json_array_append_new(by_reason, json_pack("{s:s, s:I, s:I, s:I}", "reason",
                                                       PQgetvalue(res, r, 1), "last_hour",
                                                       (json_int_t)h, "last_day", (json_int_t)d,
                                                       "new", (json_int_t)n));
        }
        json_object_set_new(svc, "dead_letters",
                            json_pack("{s:I, s:I, s:I, s:o}", "last_hour", (json_int_t)hour,
                                      "last_day", (json_int_t)day, "new", (json_int_t)waiting,
                                      "by_reason", by_reason));
    }
    PQclear(res);
    return 0;
}

static int gather_throughput(PGconn *conn, json_t *services)
{
    PGresult *res = ctl_pg_query(
        conn, "status",
        "SELECT service, count(*) FILTER (WHERE action = 'create'), "
        "count(*) FILTER (WHERE action = 'correct'), count(*) FILTER (WHERE action = 'duplicate'), "
        "count(*) FILTER (WHERE action = 'dead_letter') "
        "FROM crvs.audit_log WHERE at >= now() - interval '5 minutes' "
        "AND action IN ('create', 'correct', 'duplicate', 'dead_letter') GROUP BY service",
        0, NULL);
    if (!res) return -1;
    size_t i;
    json_t *svc;
    json_array_foreach(services, i, svc) {
        const char *name = json_string_value(json_object_get(svc, "service"));
        long long v[4] = {0, 0, 0, 0};
        for (int r = 0; r < PQntuples(res); r++)
            if (!strcmp(PQgetvalue(res, r, 0), name))
                for (int k = 0; k < 4; k++) v[k] = atoll(PQgetvalue(res, r, k + 1));
        long long all = v[0] + v[1] + v[2] + v[3];
        json_object_set_new(svc, "throughput_5m",
                            json_pack("{s:I, s:f, s:I, s:I, s:I, s:I}", "messages",
                                      (json_int_t)all, "per_second", round(all / 300.0 * 100) / 100,
                                      "created", (json_int_t)v[0], "corrected", (json_int_t)v[1],
                                      "duplicate", (json_int_t)v[2], "dead_lettered",
                                      (json_int_t)v[3]));
    }
    PQclear(res);
    return 0;
}

/* null when the table does not exist (the person registry not migrated). */
static json_t *gather_reconciliation(PGconn *conn, bool *failed)
{
    PGresult *res = ctl_pg_query(conn, "status",
                              "SELECT to_regclass('crvs.reconciliation_item') IS NOT NULL", 0, NULL);
    if (!res) {
        *failed = true;
        return json_null();
    }
    bool exists = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    if (!exists) return json_null();
    res = ctl_pg_query(conn, "status",
                    "SELECT reason, count(*) FROM crvs.reconciliation_item WHERE status = 'open' "
                    "GROUP BY reason ORDER BY 2 DESC, 1",
                    0, NULL);
    if (!res) {
        *failed = true;
        return json_null();
    }
    json_t *by_reason = json_object();
    long long total = 0;
    for (int r = 0; r < PQntuples(res); r++) {
        long long n = atoll(PQgetvalue(res, r, 1));
        total += n;
        json_object_set_new(by_reason, PQgetvalue(res, r, 0), json_integer(n));
    }
    PQclear(res);
    return json_pack("{s:I, s:o}", "open", (json_int_t)total, "by_reason", by_reason);
}

/* The linker: what waits in its queue and the processes that run one;
 * null before the migration that made it. */
static json_t *gather_linker(PGconn *conn, bool *failed)
{
    PGresult *res = ctl_pg_query(
        conn, "status",
        "SELECT to_regclass('crvs.link_queue') IS NOT NULL, "
        "(SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND application_name LIKE '%-linker')",
        0, NULL);
    if (!res) {
        *failed = true;
        return json_null();
    }
    bool exists = PQgetvalue(res, 0, 0)[0] == 't';
    long long linkers = atoll(PQgetvalue(res, 0, 1));
    PQclear(res);
    if (!exists) return json_null();
    res = ctl_pg_query(conn, "status",
                       "SELECT records, oldest_age, crvs.linker_active() FROM crvs.link_lag(1000000)",
                       0, NULL);
    if (!res) {
        *failed = true;
        return json_null();
    }
    json_t *l = json_pack("{s:I, s:f, s:I, s:o}", "queue_records",
                          (json_int_t)atoll(PQgetvalue(res, 0, 0)), "oldest_age_seconds",
                          strtod(PQgetvalue(res, 0, 1), NULL), "linkers_connected",
                          (json_int_t)linkers, "active",
                          PQgetisnull(res, 0, 2) ? json_null() : json_string(PQgetvalue(res, 0, 2)));
    PQclear(res);
    return l;
}

json_t *ctl_status_gather(rd_kafka_t *rk, PGconn *conn, const ctl_status_opts *o)
{
    want wants[MAX_TOPICS * 2];
    int n = services_to_show(conn, o, wants, (int)(sizeof wants / sizeof *wants));
    if (n < 0) return NULL;
    char now[40];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", &tm);
    json_t *services = json_array();
    json_t *doc = json_pack("{s:s, s:o}", "time", now, "services", services);
    for (int i = 0; i < n; i++) {
        json_t *svc = json_pack("{s:s, s:s, s:s, s:[]}", "service", service_of_group(wants[i].group),
                                "group", wants[i].group, "topic", wants[i].topic, "partitions");
        json_array_append_new(services, svc);
        if (gather_partitions(rk, conn, &wants[i], svc) != 0) goto fail;
    }
    gather_lag_ages(rk, services);
    if (gather_dead_letters(conn, services) != 0 || gather_throughput(conn, services) != 0)
        goto fail;
    bool failed = false;
    json_object_set_new(doc, "reconciliation", gather_reconciliation(conn, &failed));
    json_object_set_new(doc, "linker", gather_linker(conn, &failed));
    if (failed) goto fail;
    /* The bookkeeping field served its purpose. */
    size_t i, j;
    json_t *svc, *p;
    json_array_foreach(services, i, svc) json_array_foreach(json_object_get(svc, "partitions"), j, p)
        json_object_del(p, "next_unstored");
    return doc;
fail:
    json_decref(doc);
    return NULL;
}

/* ---- thresholds ------------------------------------------------------------ */

static void breach(json_t *list, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void breach(json_t *list, const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    json_array_append_new(list, json_string(text));
}

json_t *ctl_status_check(json_t *doc, const ctl_status_opts *o)
{
    json_t *list = json_array();
    size_t i, j;
    json_t *svc, *p;
    json_array_foreach(json_object_get(doc, "services"), i, svc) {
        const char *name = json_string_value(json_object_get(svc, "service"));
        const char *topic = json_string_value(json_object_get(svc, "topic"));
        json_array_foreach(json_object_get(svc, "partitions"), j, p) {
            int part = (int)json_integer_value(json_object_get(p, "partition"));
            json_t *loss = json_object_get(p, "data_loss");
            if (json_is_object(loss))
                breach(list, "%s %s[%d]: %s", name, topic, part,
                       json_string_value(json_object_get(loss, "text")));
            json_t *lv = json_object_get(p, "lag_messages");
            long long lag = json_is_integer(lv) ? json_integer_value(lv) : 0;
            if (o->max_lag >= 0 && lag > o->max_lag)
                breach(list, "%s %s[%d]: lag %lld messages > --max-lag %lld", name, topic, part,
                       lag, o->max_lag);
            if (o->max_commit_age_s >= 0 && lag > 0) {
                json_t *age = json_object_get(p, "last_commit_age_seconds");
                if (!json_is_number(age))
                    breach(list, "%s %s[%d]: lag %lld and nothing ever stored (--max-commit-age)",
                           name, topic, part, lag);
                else if (json_number_value(age) > (double)o->max_commit_age_s)
                    breach(list, "%s %s[%d]: last commit %.0f s ago > --max-commit-age %lld "
                                 "with lag %lld",
                           name, topic, part, json_number_value(age), o->max_commit_age_s, lag);
            }
        }
        long long dl = json_integer_value(
            json_object_get(json_object_get(svc, "dead_letters"), "last_hour"));
        if (o->max_dl_per_hour >= 0 && dl > o->max_dl_per_hour)
            breach(list, "%s: %lld dead letters in the last hour > --max-dead-letters-per-hour %lld",
                   name, dl, o->max_dl_per_hour);
    }
    json_t *linker = json_object_get(doc, "linker");
    if (json_is_object(linker) && o->max_linker_age_s >= 0) {
        double age = json_number_value(json_object_get(linker, "oldest_age_seconds"));
        if (age > (double)o->max_linker_age_s)
            breach(list, "linker: oldest queued record %.0f s old > --max-linker-age %lld (%lld "
                         "queued, %lld linkers connected)",
                   age, o->max_linker_age_s,
                   (long long)json_integer_value(json_object_get(linker, "queue_records")),
                   (long long)json_integer_value(json_object_get(linker, "linkers_connected")));
    }
    json_object_set(doc, "breaches", list);
    json_object_set_new(doc, "ok", json_boolean(json_array_size(list) == 0));
    return list;
}

/* ---- the screen ------------------------------------------------------------ */

static void fmt_age(json_t *v, char *out, size_t out_size)
{
    if (!json_is_number(v)) {
        snprintf(out, out_size, "-");
        return;
    }
    double s = json_number_value(v);
    if (s < 120) snprintf(out, out_size, "%.0f s", s);
    else if (s < 7200) snprintf(out, out_size, "%.0f min", s / 60);
    else if (s < 172800) snprintf(out, out_size, "%.1f h", s / 3600);
    else snprintf(out, out_size, "%.1f d", s / 86400);
}

static void fmt_int(json_t *v, char *out, size_t out_size)
{
    if (json_is_integer(v)) snprintf(out, out_size, "%lld", (long long)json_integer_value(v));
    else snprintf(out, out_size, "-");
}

static void print_screen(json_t *doc)
{
    printf("crvs-hub status at %s\n", json_string_value(json_object_get(doc, "time")));
    size_t i, j;
    json_t *svc, *p;
    json_array_foreach(json_object_get(doc, "services"), i, svc) {
        printf("\n%s  (topic %s, group %s)\n", json_string_value(json_object_get(svc, "service")),
               json_string_value(json_object_get(svc, "topic")),
               json_string_value(json_object_get(svc, "group")));
        json_t *parts = json_object_get(svc, "partitions");
        if (json_array_size(parts) == 0) {
            printf("  no partitions: the topic does not exist and nothing was stored\n");
        } else {
            printf("  %4s %12s %12s %10s %10s %12s\n", "PART", "STORED", "END", "LAG", "LAG AGE",
                   "LAST COMMIT");
            json_array_foreach(parts, j, p) {
                char stored[24], end[24], lag[24], lag_age[24], commit[24];
                json_t *so = json_object_get(p, "stored_offset");
                if (json_is_integer(so) && json_integer_value(so) == -2)
                    snprintf(stored, sizeof stored, "beginning");
                else fmt_int(so, stored, sizeof stored);
                fmt_int(json_object_get(p, "log_end"), end, sizeof end);
                fmt_int(json_object_get(p, "lag_messages"), lag, sizeof lag);
                fmt_age(json_object_get(p, "lag_seconds"), lag_age, sizeof lag_age);
                fmt_age(json_object_get(p, "last_commit_age_seconds"), commit, sizeof commit);
                json_t *loss = json_object_get(p, "data_loss");
                if (json_is_object(loss) && !json_is_integer(json_object_get(p, "lag_messages")))
                    snprintf(lag, sizeof lag, "unknown");
                printf("  %4lld %12s %12s %10s %10s %12s%s\n",
                       (long long)json_integer_value(json_object_get(p, "partition")), stored, end,
                       lag, lag_age, commit, strcmp(commit, "-") ? " ago" : "");
                if (json_is_object(loss))
                    printf("       BROKEN: %s\n"
                           "       decide: crvsctl offsets reset --topic %s --partition %lld "
                           "--to earliest|latest|N --reason TEXT\n",
                           json_string_value(json_object_get(loss, "text")),
                           json_string_value(json_object_get(svc, "topic")),
                           (long long)json_integer_value(json_object_get(p, "partition")));
            }
        }
        json_t *tp = json_object_get(svc, "throughput_5m");
        printf("  last 5 min: %.2f msg/s (%lld: %lld created, %lld corrected, %lld duplicate, "
               "%lld dead-lettered); lag %lld%s\n",
               json_number_value(json_object_get(tp, "per_second")),
               (long long)json_integer_value(json_object_get(tp, "messages")),
               (long long)json_integer_value(json_object_get(tp, "created")),
               (long long)json_integer_value(json_object_get(tp, "corrected")),
               (long long)json_integer_value(json_object_get(tp, "duplicate")),
               (long long)json_integer_value(json_object_get(tp, "dead_lettered")),
               (long long)json_integer_value(json_object_get(svc, "lag_messages")),
               json_integer_value(json_object_get(svc, "broken_partitions"))
                   ? " and partitions BROKEN by broker data loss"
                   : "");
        json_t *dl = json_object_get(svc, "dead_letters");
        printf("  dead letters: %lld last hour, %lld last day, %lld waiting (status new)\n",
               (long long)json_integer_value(json_object_get(dl, "last_hour")),
               (long long)json_integer_value(json_object_get(dl, "last_day")),
               (long long)json_integer_value(json_object_get(dl, "new")));
        if (json_array_size(json_object_get(dl, "by_reason")))
            printf("    %-34s %8s %8s %8s\n", "REASON", "1 H", "24 H", "NEW");
        json_array_foreach(json_object_get(dl, "by_reason"), j, p)
            printf("    %-34s %8lld %8lld %8lld\n",
                   json_string_value(json_object_get(p, "reason")),
                   (long long)json_integer_value(json_object_get(p, "last_hour")),
                   (long long)json_integer_value(json_object_get(p, "last_day")),
                   (long long)json_integer_value(json_object_get(p, "new")));
    }
    json_t *rec = json_object_get(doc, "reconciliation");
    if (json_is_object(rec)) {
        printf("\nreconciliation items open: %lld",
               (long long)json_integer_value(json_object_get(rec, "open")));
        const char *reason;
        json_t *n;
        bool first = true;
        json_object_foreach(json_object_get(rec, "by_reason"), reason, n) {
            printf("%s%s %lld", first ? " (" : ", ", reason, (long long)json_integer_value(n));
            first = false;
        }
        printf("%s\n", first ? "" : ")");
    } else {
        printf("\nreconciliation items open: -\n");
    }
    json_t *linker = json_object_get(doc, "linker");
    if (json_is_object(linker)) {
        char age[24];
        long long queued = (long long)json_integer_value(json_object_get(linker, "queue_records"));
        long long linkers =
            (long long)json_integer_value(json_object_get(linker, "linkers_connected"));
        fmt_age(json_object_get(linker, "oldest_age_seconds"), age, sizeof age);
        const char *active = json_string_value(json_object_get(linker, "active"));
        printf("linker: %lld%s records waiting%s%s%s; %lld linker%s connected, %s%s%s\n", queued,
               queued >= 1000000 ? " or more" : "", queued ? " (oldest " : "",
               queued ? age : "", queued ? ")" : "", linkers, linkers == 1 ? "" : "s",
               active ? "active: " : "none active", active ? active : "",
               queued && !active ? ": NOTHING FOLDS (start a service with linker.enabled)" : "");
    }
    json_t *breaches = json_object_get(doc, "breaches");
    if (json_array_size(breaches) == 0) {
        printf("thresholds: ok\n");
    } else {
        printf("thresholds: %zu BREACHED\n", json_array_size(breaches));
        json_array_foreach(breaches, i, p) printf("  BREACHED %s\n", json_string_value(p));
    }
}

/* ---- command ------------------------------------------------------------- */

rd_kafka_t *ctl_status_kafka(ctl *c)
{
    /* Assigned partitions only (never subscribes, never commits); librdkafka
     * still wants a group id for consumer_poll. */
    const char *defaults[] = {"group.id", "crvsctl-status", "enable.partition.eof", "false",
                              "enable.auto.commit", "false",
                              "auto.offset.reset", "earliest", "queued.max.messages.kbytes", "1024",
                              NULL};
    return ctl_kafka(c, RD_KAFKA_CONSUMER, defaults, NULL, NULL);
}

static int usage(void)
{
    fprintf(stderr,
            "usage: crvsctl status [--topic T]... [--json] [--watch [SECONDS]]\n"
            "                      [--max-lag N] [--max-commit-age S] "
            "[--max-dead-letters-per-hour N]\n"
            "                      [--max-linker-age S]\n"
            "exit status: 0 ok, 2 a threshold breached or broker data loss, 1 error\n"
            "(a usage error too: 2\n"
            "means breached and nothing else, for cron and monitoring)\n");
    return CTL_FAILED;
}

int ctl_status(ctl *c, int argc, char **argv)
{
    static const struct option opts[] = {{"topic", required_argument, NULL, 't'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"watch", optional_argument, NULL, 'w'},
                                         {"max-lag", required_argument, NULL, 'l'},
                                         {"max-commit-age", required_argument, NULL, 'a'},
                                         {"max-dead-letters-per-hour", required_argument, NULL, 'd'},
                                         {"max-linker-age", required_argument, NULL, 'k'},
                                         {NULL, 0, NULL, 0}};
    ctl_status_opts o = {.max_lag = -1, .max_commit_age_s = -1, .max_dl_per_hour = -1,
                         .max_linker_age_s = -1};
    int opt;
    long long v;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "t:jw::l:a:d:k:", opts, NULL)) != -1) {
        switch (opt) {
        case 't':
            if (o.n_topics == MAX_TOPICS) return usage();
            o.topics[o.n_topics++] = optarg;
            break;
        case 'j': o.json = true; break;
        case 'w':
            o.watch_s = 5;
            /* "--watch 10" as well as "--watch=10" */
            if (!optarg && optind < argc && ctl_parse_count(argv[optind], &v)) optarg = argv[optind++];
            if (optarg) {
                if (!ctl_parse_count(optarg, &v) || v < 1 || v > 86400) return usage();
                o.watch_s = (int)v;
            }
            break;
        case 'l':
            if (!ctl_parse_count(optarg, &o.max_lag)) return usage();
            break;
        case 'a':
            if (!ctl_parse_count(optarg, &o.max_commit_age_s)) return usage();
            break;
        case 'd':
            if (!ctl_parse_count(optarg, &o.max_dl_per_hour)) return usage();
            break;
        case 'k':
            if (!ctl_parse_count(optarg, &o.max_linker_age_s)) return usage();
            break;
        default: return usage();
        }
    }
    if (optind != argc) return usage();

    int status = CTL_FAILED;
    PGconn *conn = ctl_pg_connect(c);
    rd_kafka_t *rk = conn ? ctl_status_kafka(c) : NULL;
    if (!rk) goto out;
    struct sigaction sa = {0}, old_int, old_term;
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    bool tty = isatty(STDOUT_FILENO);
    do {
        if (PQstatus(conn) != CONNECTION_OK) PQreset(conn);
        json_t *doc = ctl_status_gather(rk, conn, &o);
        if (!doc) {
            status = CTL_FAILED;
        } else {
            json_t *breaches = ctl_status_check(doc, &o);
            status = json_array_size(breaches) ? STATUS_BREACHED : CTL_OK;
            json_decref(breaches);
            if (o.watch_s && tty && !o.json) printf("\033[H\033[2J");
            if (o.json) {
                char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12));
                if (text) puts(text);
                free(text);
            } else {
                print_screen(doc);
            }
            json_decref(doc);
        }
        fflush(stdout);
        for (int i = 0; o.watch_s && i < o.watch_s * 10 && !status_stop; i++) {
            struct timespec ts = {0, 100 * 1000000L};
            nanosleep(&ts, NULL);
        }
    } while (o.watch_s && !status_stop);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
out:
    if (rk) rd_kafka_destroy(rk);
    if (conn) PQfinish(conn);
    return status;
}
