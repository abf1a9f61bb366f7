/* crvsctl wait: returns when, for every partition of the given topics, the
 * offset stored in PostgreSQL by the topic's service has reached the log
 * end on the broker; that is, every message published so far is in the
 * registry or in the dead letters. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "hub_pg.h"
#include "hub_topics.h"

#define MAX_TOPICS 8

/* Sums, over the topic's partitions, how far the stored offsets are behind
 * the log end. Returns -1 on error. */
static long long topic_lag(rd_kafka_t *rk, PGconn *conn, const char *topic, const char *group,
                           long long *total)
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
    for (int p = 0; p < parts; p++) {
        int64_t lo, hi;
        err = rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi, 5000);
        if (err) {
            fprintf(stderr, "crvsctl wait: %s[%d]: %s\n", topic, p, rd_kafka_err2str(err));
            return -1;
        }
        *total += hi;
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
            return -1;
        }
        long long stored = PQntuples(res) ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : -2;
        PQclear(res);
        if (stored < lo) stored = lo; /* nothing stored yet: behind by the whole log */
        if (hi > stored) lag += hi - stored;
    }
    return lag;
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
    PGconn *conn = ctl_pg(c);
    rd_kafka_t *rk = conn ? ctl_kafka(c, RD_KAFKA_CONSUMER, NULL, NULL, NULL) : NULL;
    if (!rk) goto out;
    time_t deadline = time(NULL) + timeout_s;
    for (;;) {
        long long lag = 0, total = 0;
        bool error = false;
        for (int i = 0; i < n_topics; i++) {
            char g[256];
            snprintf(g, sizeof g, "%s", group ? group : "");
            if (!group) snprintf(g, sizeof g, "crvs-%s", topics[i]);
            long long t;
            long long l = topic_lag(rk, conn, topics[i], g, &t);
            if (l < 0) error = true;
            else lag += l, total += t;
        }
        if (!error && lag == 0) {
            printf("all %lld messages stored\n", total);
            status = CTL_OK;
            break;
        }
        if (time(NULL) >= deadline) {
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
