/* crvsctl wait: returns when, for every partition of the given topics, the
 * offset stored in PostgreSQL by the topic's service has reached the log
 * end on the broker, and the linker's queue is empty; that is, every
 * message published so far is in the registry or in the dead letters, and
 * the persons and marriages it names are folded.
 *
 * A partition that lost data on the broker (its stored offset behind the
 * log start or ahead of the log end, or a fault a service recorded) is
 * never "stored": wait names it and exits 3 at once for a recorded fault,
 * or once the offsets have said so for LOSS_SETTLE_S (a batch being
 * committed while retention removes the messages behind it is not loss). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "ctl_kafka.h"
#include "ctl_pg.h"
#include "hub_pg.h"
#include "hub_topics.h"

#define MAX_TOPICS 8
#define WAIT_DATA_LOSS 3
#define LOSS_SETTLE_S 3

/* Sums, over the topic's partitions, how far the stored offsets are behind
 * the log end. Returns -1 on error. Partitions that lost data are not
 * counted: each is described in broken[] (up to max_broken, *n_broken all
 * of them; *recorded when any is a fault a service recorded). */
static long long topic_lag(rd_kafka_t *rk, PGconn *conn, const char *topic, const char *group,
                           long long *total, char (*broken)[512], int max_broken, int *n_broken,
                           bool *recorded)
{
    const struct rd_kafka_metadata *md;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, 5000);
    rd_kafka_topic_destroy(rkt);
    if (err) {
        fprintf(stderr, "crvsctl wait: metadata for %s: %s\n", topic, rd_kafka_err2str(err));
        return -1;
    }
    long long lag = 0;
    *total = 0;
    int parts = md->topic_cnt == 1 ? md->topics[0].partition_cnt : 0;
    rd_kafka_metadata_destroy(md);
    PGresult *faults = ctl_faults_query(conn, "wait", group, topic);
    if (!faults) return -1;
    for (int p = 0; p < parts; p++) {
        char partition[16];
        snprintf(partition, sizeof partition, "%d", p);
        const char *params[3] = {group, topic, partition};
        PGresult *res = PQexecParams(conn,
                                     "SELECT next_offset FROM crvs.consumer_offset "
                                     "WHERE consumer_group = $1 AND topic = $2 AND partition = $3",
                                     3, NULL, params, NULL, NULL, 0);
        if (hub_pg_classify(conn, res) != HUB_PG_OK) {
            char e[512];
            hub_pg_error(conn, res, e, sizeof e);
            fprintf(stderr, "crvsctl wait: %s\n", e);
            PQclear(res);
            PQclear(faults);
            return -1;
        }
        long long stored = PQntuples(res) ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : -2;
        PQclear(res);
        /* The watermarks after the stored offset: read before, a message
         * published and stored in between would put the stored offset past
         * the end read. */
        int64_t lo, hi;
        err = rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi, 5000);
        if (err) {
            fprintf(stderr, "crvsctl wait: %s[%d]: %s\n", topic, p, rd_kafka_err2str(err));
            PQclear(faults);
            return -1;
        }
        *total += hi;
        ctl_partition_loss loss;
        if (ctl_partition_judge(faults, p, stored, lo, hi, &loss)) {
            if (*n_broken < max_broken) {
                char what[400];
                ctl_partition_describe(&loss, what, sizeof what);
                snprintf(broken[*n_broken], sizeof broken[*n_broken], "%s[%d]: %s", topic, p, what);
            }
            (*n_broken)++;
            *recorded = *recorded || loss.recorded;
            continue;
        }
        if (stored < 0) stored = 0; /* nothing stored yet: behind by the whole log */
        if (hi > stored) lag += hi - stored;
    }
    PQclear(faults);
    return lag;
}

/* Records waiting for the linker (crvs.link_queue); 0 before the migration
 * that made it, -1 on error. */
static long long link_queue(PGconn *conn)
{
    PGresult *res = ctl_pg_query(conn, "wait",
                                 "SELECT CASE WHEN to_regclass('crvs.link_queue') IS NULL THEN 0 "
                                 "ELSE (SELECT records FROM crvs.link_lag(1000000)) END",
                                 0, NULL);
    if (!res) return -1;
    long long n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return n;
}

int ctl_wait(ctl *c, int argc, char **argv)
{
    static const struct option opts[] = {{"topic", required_argument, NULL, 't'},
                                         {"group", required_argument, NULL, 'g'},
                                         {"timeout", required_argument, NULL, 'w'},
                                         {NULL, 0, NULL, 0}};
    const char *topics[MAX_TOPICS];
    int n_topics = 0, opt, timeout_s = 60, status = CTL_FAILED;
    const char *group = NULL;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "t:g:w:", opts, NULL)) != -1) {
        if (opt == 't' && n_topics < MAX_TOPICS) topics[n_topics++] = optarg;
        else if (opt == 'g') group = optarg;
        else if (opt == 'w') timeout_s = atoi(optarg);
        else {
            fprintf(stderr, "usage: crvsctl wait [--topic T]... [--group G] [--timeout S]\n");
            return CTL_USAGE;
        }
    }
    if (n_topics == 0) {
        const hub_topic_info *t;
        for (size_t i = 0; (t = hub_topic_at(i)) && n_topics < MAX_TOPICS; i++)
            topics[n_topics++] = t->topic;
    }
    PGconn *conn = ctl_pg_connect(c);
    rd_kafka_t *rk = conn ? ctl_kafka(c, RD_KAFKA_CONSUMER, NULL, NULL, NULL) : NULL;
    if (!rk) goto out;
    time_t deadline = time(NULL) + timeout_s, loss_since = 0;
    for (;;) {
        long long lag = 0, total = 0;
        bool error = false, recorded = false;
        char broken[8][512];
        int n_broken = 0;
        for (int i = 0; i < n_topics; i++) {
            char g[256];
            snprintf(g, sizeof g, "%s", group ? group : "");
            if (!group) snprintf(g, sizeof g, "crvs-%s", topics[i]);
            long long t;
            long long l = topic_lag(rk, conn, topics[i], g, &t, broken, 8, &n_broken, &recorded);
            if (l < 0) error = true;
            else lag += l, total += t;
        }
        if (!error && n_broken == 0) loss_since = 0;
        else if (!error && !loss_since) loss_since = time(NULL);
        if (!error && n_broken &&
            (recorded || time(NULL) - loss_since >= LOSS_SETTLE_S || time(NULL) >= deadline)) {
            for (int i = 0; i < n_broken && i < 8; i++)
                fprintf(stderr, "crvsctl wait: %s\n", broken[i]);
            fprintf(stderr,
                    "crvsctl wait: %d partition(s) lost data on the broker: not stored, and "
                    "never will be by waiting (%lld of %lld messages of the other partitions "
                    "not yet stored); decide with crvsctl offsets reset (docs/operations.md, "
                    "\"Broker data loss\")\n",
                    n_broken, lag, total);
            status = WAIT_DATA_LOSS;
            break;
        }
        long long unlinked = 0;
        if (!error && lag == 0 && n_broken == 0) {
            if ((unlinked = link_queue(conn)) == 0) {
                printf("all %lld messages stored\n", total);
                status = CTL_OK;
                break;
            }
            if (unlinked < 0) error = true;
        }
        if (time(NULL) >= deadline) {
            if (unlinked > 0)
                fprintf(stderr, "crvsctl wait: timed out after %d s with all %lld messages "
                                "stored but %lld records not yet linked (is a service with "
                                "linker.enabled running? crvsctl status)\n",
                        timeout_s, total, unlinked);
            else
                fprintf(stderr, "crvsctl wait: timed out after %d s with %lld of %lld messages "
                                "not yet stored\n", timeout_s, lag, total);
            break;
        }
        struct timespec ts = {0, 200 * 1000000L};
        nanosleep(&ts, NULL);
    }
out:
    if (rk) rd_kafka_destroy(rk);
    if (conn) PQfinish(conn);
    return status;
}
