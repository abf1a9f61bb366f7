/* crvsctl topics: the hub's Kafka topics on a real cluster (librdkafka's
 * admin API): create them with the partitions, replication and settings
 * the deployment chose, describe what the cluster holds (partitions,
 * replicas in sync, min.insync.replicas, retention), and delete them in
 * development and tests. The development broker (librdkafka's mock cluster)
 * makes its topics itself and answers no admin request. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "ctl_kafka.h"
#include "hub_topics.h"

#define MAX_TOPICS 8
#define MAX_CONFIGS 16


typedef struct topics_args {
    const char *topics[MAX_TOPICS];
    int n_topics;
    int partitions, replication, timeout_s;
    const char *config[MAX_CONFIGS][2];
    int n_config;
    bool yes, all;
} topics_args;

static void usage(void)
{
    fprintf(stderr,
            "usage: crvsctl topics create [--topic T]... [--partitions N] [--replication R]\n"
            "                             [--config NAME=VALUE]... [--timeout S]\n"
            "       crvsctl topics describe [--topic T]... [--timeout S]\n"
            "       crvsctl topics delete (--topic T... | --all) --yes [--timeout S]\n"
            "The hub's topics unless --topic: birth-certificate, death-notice, divorce-judgment,\n"
            "civil-registration.\n"
            "create: missing topics only (3 partitions, replication 3, min.insync.replicas 2\n"
            "when the replication is 3 or more, unless given); delete removes every message.\n");
}

static int parse_args(int argc, char **argv, topics_args *a)
{
    static const struct option opts[] = {{"topic", required_argument, NULL, 't'},
                                         {"partitions", required_argument, NULL, 'p'},
                                         {"replication", required_argument, NULL, 'r'},
                                         {"config", required_argument, NULL, 'C'},
                                         {"timeout", required_argument, NULL, 'w'},
                                         {"yes", no_argument, NULL, 'y'},
                                         {"all", no_argument, NULL, 'a'},
                                         {NULL, 0, NULL, 0}};
    int opt;
    char *end;
    *a = (topics_args){.partitions = 3, .replication = 3, .timeout_s = 30};
    optind = 1;
    while ((opt = getopt_long(argc, argv, "t:p:r:C:w:ya", opts, NULL)) != -1) {
        switch (opt) {
        case 't':
            if (a->n_topics == MAX_TOPICS) return -1;
            a->topics[a->n_topics++] = optarg;
            break;
        case 'p':
            a->partitions = (int)strtol(optarg, &end, 10);
            if (*end || a->partitions < 1 || a->partitions > 10000) return -1;
            break;
        case 'r':
            a->replication = (int)strtol(optarg, &end, 10);
            if (*end || a->replication < 1 || a->replication > 32) return -1;
            break;
        case 'C': {
            char *eq = strchr(optarg, '=');
            if (!eq || eq == optarg || a->n_config == MAX_CONFIGS) return -1;
            *eq = '\0';
            a->config[a->n_config][0] = optarg;
            a->config[a->n_config][1] = eq + 1;
            a->n_config++;
            break;
        }
        case 'w':
            a->timeout_s = (int)strtol(optarg, &end, 10);
            if (*end || a->timeout_s < 1) return -1;
            break;
        case 'y': a->yes = true; break;
        case 'a': a->all = true; break;
        default: return -1;
        }
    }
    if (optind != argc) return -1;
    return 0;
}

/* The topics the command is about: those named, or the hub's three. */
static void default_topics(topics_args *a)
{
    const hub_topic_info *t;
    if (a->n_topics) return;
    while (a->n_topics < MAX_TOPICS && (t = hub_topic_at((size_t)a->n_topics)))
        a->topics[a->n_topics++] = t->topic;
}

/* What the cluster's metadata says of one topic. */
typedef struct topic_state {
    bool exists;
    int partitions;
    int replication;       /* replicas of the first partition */
    int under_replicated;  /* partitions with fewer replicas in sync than assigned */
    int leaderless;        /* partitions without a leader */
} topic_state;

/* Reads the metadata of every topic. Returns -1 after printing why. */
static int read_states(rd_kafka_t *rk, const topics_args *a, topic_state *st, int timeout_ms)
{
    const struct rd_kafka_metadata *md;
    rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 1, NULL, &md, timeout_ms);
    if (err) {
        fprintf(stderr, "crvsctl topics: cluster metadata: %s\n", rd_kafka_err2str(err));
        return -1;
    }
    for (int i = 0; i < a->n_topics; i++) {
        st[i] = (topic_state){0};
        for (int t = 0; t < md->topic_cnt; t++) {
            const struct rd_kafka_metadata_topic *mt = &md->topics[t];
            if (strcmp(mt->topic, a->topics[i]) != 0 || mt->err) continue;
            st[i].exists = true;
            st[i].partitions = mt->partition_cnt;
            for (int p = 0; p < mt->partition_cnt; p++) {
                const struct rd_kafka_metadata_partition *mp = &mt->partitions[p];
                if (p == 0) st[i].replication = mp->replica_cnt;
                if (mp->isr_cnt < mp->replica_cnt) st[i].under_replicated++;
                if (mp->leader < 0 || mp->err) st[i].leaderless++;
            }
        }
    }
    rd_kafka_metadata_destroy(md);
    return 0;
}

/* Waits for one admin result event of the given type. NULL after printing
 * why (the caller destroys the event otherwise). */
static rd_kafka_event_t *admin_result(rd_kafka_queue_t *q, rd_kafka_event_type_t type,
                                      const char *what, int timeout_ms)
{
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, timeout_ms + 5000);
    if (!ev) {
        fprintf(stderr, "crvsctl topics: %s: no answer from the cluster within %d s "
                        "(the development broker answers no admin request)\n",
                what, timeout_ms / 1000 + 5);
        return NULL;
    }
    if (rd_kafka_event_type(ev) != type || rd_kafka_event_error(ev)) {
        fprintf(stderr, "crvsctl topics: %s: %s\n", what,
                rd_kafka_event_error(ev) ? rd_kafka_event_error_string(ev) : "unexpected answer");
        rd_kafka_event_destroy(ev);
        return NULL;
    }
    return ev;
}

static rd_kafka_AdminOptions_t *admin_options(rd_kafka_t *rk, rd_kafka_admin_op_t op,
                                              int timeout_ms)
{
    char err[256];
    rd_kafka_AdminOptions_t *o = rd_kafka_AdminOptions_new(rk, op);
    if (!o) return NULL;
    if (rd_kafka_AdminOptions_set_request_timeout(o, timeout_ms, err, sizeof err) ||
        (op != RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS &&
         rd_kafka_AdminOptions_set_operation_timeout(o, timeout_ms, err, sizeof err))) {
        fprintf(stderr, "crvsctl topics: %s\n", err);
        rd_kafka_AdminOptions_destroy(o);
        return NULL;
    }
    return o;
}

/* Polls rk's metadata until `ready` holds for every topic or the deadline
 * passes. Returns 0 when it held. */
static int wait_states(rd_kafka_t *rk, const topics_args *a, topic_state *st, time_t deadline,
                       bool (*ready)(const topic_state *))
{
    for (;;) {
        bool all = read_states(rk, a, st, 5000) == 0;
        for (int i = 0; all && i < a->n_topics; i++) all = ready(&st[i]);
        if (all) return 0;
        if (time(NULL) >= deadline) return -1;
        struct timespec ts = {0, 200 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

/* As wait_states, until every broker's own metadata says so: brokers learn
 * of a created or deleted topic one after the other, and a consumer that
 * joins its group while the broker it asks does not list its topic yet is
 * assigned nothing until its next metadata refresh (minutes). */
static int wait_every_broker(ctl *c, rd_kafka_t *rk, const topics_args *a, topic_state *st,
                             time_t deadline, bool (*ready)(const topic_state *))
{
    if (wait_states(rk, a, st, deadline, ready) != 0) return -1;
    const struct rd_kafka_metadata *md;
    if (rd_kafka_metadata(rk, 0, NULL, &md, 5000) != RD_KAFKA_RESP_ERR_NO_ERROR) return -1;
    int rc = 0;
    for (int b = 0; rc == 0 && b < md->broker_cnt; b++) {
        char broker[300];
        snprintf(broker, sizeof broker, "%s:%d", md->brokers[b].host, md->brokers[b].port);
        rd_kafka_t *one = ctl_kafka_at(c, broker);
        rc = one ? wait_states(one, a, st, deadline, ready) : -1;
        if (one) rd_kafka_destroy(one);
    }
    rd_kafka_metadata_destroy(md);
    return rc;
}

static bool created_ready(const topic_state *s)
{
    return s->exists && s->partitions > 0 && s->leaderless == 0;
}

static bool deleted_ready(const topic_state *s)
{
    return !s->exists;
}

/* The per-topic answers to a create or delete: an answer `already` (the
 * topic exists, or does not) sets that topic's flag in `already_set`; any
 * other error is printed. Returns the number of such errors. */
static int topic_results(const rd_kafka_topic_result_t **res, size_t cnt,
                         rd_kafka_resp_err_t already, const char *what, const topics_args *a,
                         bool *already_set)
{
    int failed = 0;
    for (size_t r = 0; r < cnt; r++) {
        const char *name = rd_kafka_topic_result_name(res[r]);
        rd_kafka_resp_err_t e = rd_kafka_topic_result_error(res[r]);
        if (e == already) {
            for (int i = 0; i < a->n_topics; i++)
                if (!strcmp(a->topics[i], name)) already_set[i] = true;
        } else if (e) {
            fprintf(stderr, "crvsctl topics: %s %s: %s\n", what, name,
                    rd_kafka_topic_result_error_string(res[r]));
            failed++;
        }
    }
    return failed;
}

static bool has_config(const topics_args *a, const char *name)
{
    for (int i = 0; i < a->n_config; i++)
        if (!strcmp(a->config[i][0], name)) return true;
    return false;
}

/* Asks the controller to create every topic (it alone knows whether one
 * exists: a broker's metadata may lag behind a deletion), with the given
 * partitions, replication and settings; a topic that exists is reported and
 * left as it is. Returns once every broker lists every partition with a
 * leader. */
static int topics_create(ctl *ctx, rd_kafka_t *rk, topics_args *a)
{
    topic_state st[MAX_TOPICS];
    int timeout_ms = a->timeout_s * 1000, status = CTL_FAILED;
    time_t deadline = time(NULL) + a->timeout_s;
    rd_kafka_NewTopic_t *nt[MAX_TOPICS];
    bool existed[MAX_TOPICS] = {false};
    int n_new = 0;
    char err[256];
    for (int i = 0; i < a->n_topics; i++) {
        nt[i] = rd_kafka_NewTopic_new(a->topics[i], a->partitions, a->replication, err, sizeof err);
        if (!nt[i]) {
            fprintf(stderr, "crvsctl topics: %s: %s\n", a->topics[i], err);
            goto out;
        }
        n_new++;
        for (int c = 0; c < a->n_config; c++)
            if (rd_kafka_NewTopic_set_config(nt[i], a->config[c][0], a->config[c][1])) {
                fprintf(stderr, "crvsctl topics: %s: cannot set %s\n", a->topics[i],
                        a->config[c][0]);
                goto out;
            }
        /* One replica may be lost without refusing writes (acks=all). */
        if (a->replication >= 3 && !has_config(a, "min.insync.replicas"))
            (void)rd_kafka_NewTopic_set_config(nt[i], "min.insync.replicas", "2");
    }

    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *o = admin_options(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS, timeout_ms);
    if (o) {
        rd_kafka_CreateTopics(rk, nt, (size_t)n_new, o, q);
        rd_kafka_AdminOptions_destroy(o);
    }
    rd_kafka_event_t *ev = o ? admin_result(q, RD_KAFKA_EVENT_CREATETOPICS_RESULT, "create", timeout_ms)
                             : NULL;
    rd_kafka_queue_destroy(q);
    if (!ev) goto out;
    size_t cnt;
    const rd_kafka_topic_result_t **res =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &cnt);
    int failed = topic_results(res, cnt, RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS, "create", a, existed);
    rd_kafka_event_destroy(ev);
    if (failed) goto out;

    /* Created means every broker lists every partition with a leader: a
     * producer started now finds the topic and a consumer is assigned its
     * partitions. */
    if (wait_every_broker(ctx, rk, a, st, deadline, created_ready) != 0) {
        fprintf(stderr, "crvsctl topics: not every broker listed every partition with a leader "
                        "within %d s\n", a->timeout_s);
        goto out;
    }
    for (int i = 0; i < a->n_topics; i++) {
        if (!existed[i]) {
            printf("%s: created (%d partitions, replication %d)\n", a->topics[i], a->partitions,
                   a->replication);
            continue;
        }
        printf("%s: exists (%d partitions, replication %d); not changed\n", a->topics[i],
               st[i].partitions, st[i].replication);
        if (st[i].partitions < a->partitions)
            fprintf(stderr, "crvsctl topics: %s has %d partitions, fewer than the %d asked for: "
                            "add them with Kafka's own tools if you mean it (the records of a "
                            "key then go to another partition)\n",
                    a->topics[i], st[i].partitions, a->partitions);
    }
    status = CTL_OK;
out:
    for (int i = 0; i < n_new; i++) rd_kafka_NewTopic_destroy(nt[i]);
    return status;
}

/* Asks the controller to delete the topics (a broker's metadata may not
 * show one created a moment ago), then waits until no broker lists them. */
static int topics_delete(ctl *ctx, rd_kafka_t *rk, topics_args *a)
{
    if (!a->yes || (!a->all && a->n_topics == 0) || (a->all && a->n_topics)) {
        fprintf(stderr, "crvsctl topics delete: removes the topics and every message in them;\n"
                        "name them (--topic T... or --all for the hub's three) and confirm with --yes\n");
        return CTL_USAGE;
    }
    default_topics(a);
    topic_state st[MAX_TOPICS];
    int timeout_ms = a->timeout_s * 1000, status = CTL_FAILED;
    time_t deadline = time(NULL) + a->timeout_s;
    rd_kafka_DeleteTopic_t *dt[MAX_TOPICS];
    bool missing[MAX_TOPICS] = {false};
    for (int i = 0; i < a->n_topics; i++) dt[i] = rd_kafka_DeleteTopic_new(a->topics[i]);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *o = admin_options(rk, RD_KAFKA_ADMIN_OP_DELETETOPICS, timeout_ms);
    if (o) {
        rd_kafka_DeleteTopics(rk, dt, (size_t)a->n_topics, o, q);
        rd_kafka_AdminOptions_destroy(o);
    }
    rd_kafka_event_t *ev = o ? admin_result(q, RD_KAFKA_EVENT_DELETETOPICS_RESULT, "delete", timeout_ms)
                             : NULL;
    rd_kafka_queue_destroy(q);
    if (!ev) goto out;
    size_t cnt;
    const rd_kafka_topic_result_t **res =
        rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev), &cnt);
    int failed = topic_results(res, cnt, RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, "delete", a, missing);
    rd_kafka_event_destroy(ev);
    if (failed) goto out;
    if (wait_every_broker(ctx, rk, a, st, deadline, deleted_ready) != 0) {
        fprintf(stderr, "crvsctl topics: deleted, but a broker still lists it after %d s\n",
                a->timeout_s);
        goto out;
    }
    for (int i = 0; i < a->n_topics; i++)
        printf("%s: %s\n", a->topics[i], missing[i] ? "does not exist" : "deleted");
    status = CTL_OK;
out:
    for (int i = 0; i < a->n_topics; i++) rd_kafka_DeleteTopic_destroy(dt[i]);
    return status;
}

/* The topic settings an operator checks, as the cluster reports them. */
static const char *const described[] = {"min.insync.replicas", "retention.ms", "retention.bytes",
                                        "cleanup.policy"};
#define N_DESCRIBED (sizeof described / sizeof *described)

static void print_retention(const char *ms)
{
    char *end;
    long long v = ms ? strtoll(ms, &end, 10) : 0;
    if (!ms || *end) printf("  retention.ms=?");
    else if (v < 0) printf("  retention=unlimited");
    else printf("  retention=%.1f days", (double)v / 86400000.0);
}

static int topics_describe(rd_kafka_t *rk, topics_args *a)
{
    topic_state st[MAX_TOPICS];
    int timeout_ms = a->timeout_s * 1000;
    if (read_states(rk, a, st, timeout_ms) != 0) return CTL_FAILED;

    /* Settings: one DescribeConfigs for the topics that exist. */
    const char *values[MAX_TOPICS][N_DESCRIBED] = {{0}};
    rd_kafka_event_t *ev = NULL;
    rd_kafka_ConfigResource_t *cr[MAX_TOPICS];
    size_t n_cr = 0;
    for (int i = 0; i < a->n_topics; i++)
        if (st[i].exists) cr[n_cr++] = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, a->topics[i]);
    if (n_cr) {
        rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
        rd_kafka_AdminOptions_t *o = admin_options(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS, timeout_ms);
        if (o) {
            rd_kafka_DescribeConfigs(rk, cr, n_cr, o, q);
            rd_kafka_AdminOptions_destroy(o);
            ev = admin_result(q, RD_KAFKA_EVENT_DESCRIBECONFIGS_RESULT, "describe settings", timeout_ms);
        }
        rd_kafka_queue_destroy(q);
    }
    if (ev) {
        size_t cnt;
        const rd_kafka_ConfigResource_t **res =
            rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(ev), &cnt);
        for (size_t r = 0; r < cnt; r++) {
            int i = 0;
            while (i < a->n_topics && strcmp(a->topics[i], rd_kafka_ConfigResource_name(res[r]))) i++;
            if (i == a->n_topics || rd_kafka_ConfigResource_error(res[r])) continue;
            size_t n_ent;
            const rd_kafka_ConfigEntry_t **ent = rd_kafka_ConfigResource_configs(res[r], &n_ent);
            for (size_t e = 0; e < n_ent; e++)
                for (size_t d = 0; d < N_DESCRIBED; d++)
                    if (!strcmp(rd_kafka_ConfigEntry_name(ent[e]), described[d]))
                        values[i][d] = rd_kafka_ConfigEntry_value(ent[e]);
        }
    }

    int missing = 0;
    for (int i = 0; i < a->n_topics; i++) {
        if (!st[i].exists) {
            printf("%s: missing\n", a->topics[i]);
            missing++;
            continue;
        }
        printf("%s: partitions=%d replication=%d under_replicated=%d without_leader=%d",
               a->topics[i], st[i].partitions, st[i].replication, st[i].under_replicated,
               st[i].leaderless);
        if (ev) {
            printf("  min.insync.replicas=%s", values[i][0] ? values[i][0] : "?");
            print_retention(values[i][1]);
            printf("  retention.bytes=%s cleanup.policy=%s", values[i][2] ? values[i][2] : "?",
                   values[i][3] ? values[i][3] : "?");
        }
        putchar('\n');
    }
    if (ev) rd_kafka_event_destroy(ev);
    for (size_t i = 0; i < n_cr; i++) rd_kafka_ConfigResource_destroy(cr[i]);
    return missing ? CTL_FAILED : CTL_OK;
}

int ctl_topics(ctl *c, int argc, char **argv)
{
    if (argc < 2) {
        usage();
        return CTL_USAGE;
    }
    const char *sub = argv[1];
    topics_args a;
    if (parse_args(argc - 1, argv + 1, &a) != 0) {
        usage();
        return CTL_USAGE;
    }
    if (strcmp(sub, "create") && strcmp(sub, "describe") && strcmp(sub, "delete")) {
        usage();
        return CTL_USAGE;
    }
    if (strcmp(sub, "delete")) default_topics(&a);
    rd_kafka_t *rk = ctl_kafka(c, RD_KAFKA_PRODUCER, NULL, NULL, NULL);
    if (!rk) return CTL_FAILED;
    int status;
    if (!strcmp(sub, "create")) status = topics_create(c, rk, &a);
    else if (!strcmp(sub, "delete")) status = topics_delete(c, rk, &a);
    else status = topics_describe(rk, &a);
    rd_kafka_destroy(rk);
    return status;
}
