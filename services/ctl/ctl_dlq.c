/* crvsctl dlq: look at the dead letters and act on them without SQL.
 *   list: newest first, filtered by topic, reason and time;
 *   show: one entry, with the message decoded when it decodes. Names and
 *         personal IDs are masked unless --reveal is given; revealing is
 *         written to the audit trail;
 *   replay: re-publishes entries' original bytes and key to their source
 *         topic (header crvs-replay-of: <id>) once the cause is fixed, and
 *         marks them replayed; discard: closes an entry with a comment.
 *         Both audited (crvs.dlq_mark_replayed, crvs.dlq_discard in
 *         006_operations.sql). */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "ctl_input.h"
#include "ctl_kafka.h"
#include "ctl_pg.h"
#include "hub_avro.h"
#include "hub_pg.h"
#include "hub_text.h"

static int dlq_list(ctl *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"topic", required_argument, NULL, 't'}, {"reason", required_argument, NULL, 'r'},
        {"since", required_argument, NULL, 's'}, {"limit", required_argument, NULL, 'l'},
        {"status", required_argument, NULL, 'S'}, {NULL, 0, NULL, 0}};
    const char *params[5] = {NULL, NULL, NULL, "50", NULL};
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "t:r:s:l:S:", opts, NULL)) != -1) {
        switch (opt) {
        case 't': params[0] = optarg; break;
        case 'r': params[1] = optarg; break;
        case 's': params[2] = optarg; break;
        case 'l': params[3] = optarg; break;
        case 'S': params[4] = optarg; break;
        default:
            fprintf(stderr, "usage: crvsctl dlq list [--topic T] [--reason R] [--since TS] "
                            "[--status new|replayed|discarded] [--limit N]\n");
            return CTL_USAGE;
        }
    }
    PGconn *conn = ctl_pg_connect(c);
    if (!conn) return CTL_FAILED;
    PGresult *res = ctl_pg_query(conn, "dlq",
        "SELECT id, to_char(first_seen AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
        "source_topic || '[' || source_partition || ']@' || source_offset, reason, status, "
        "left(message, 70) FROM crvs.dead_letter "
        "WHERE ($1::text IS NULL OR source_topic = $1) AND ($2::text IS NULL OR reason = $2) "
        "AND ($3::timestamptz IS NULL OR first_seen >= $3) AND ($5::text IS NULL OR status = $5) "
        "ORDER BY id DESC LIMIT $4::integer",
        5, params);
    if (!res) {
        PQfinish(conn);
        return CTL_FAILED;
    }
    printf("%-6s %-20s %-28s %-28s %-9s %s\n", "ID", "FIRST SEEN", "SOURCE", "REASON", "STATUS",
           "MESSAGE");
    for (int i = 0; i < PQntuples(res); i++)
        printf("%-6s %-20s %-28s %-28s %-9s %s\n", PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
               PQgetvalue(res, i, 2), PQgetvalue(res, i, 3), PQgetvalue(res, i, 4),
               PQgetvalue(res, i, 5));
    printf("(%d shown)\n", PQntuples(res));
    PQclear(res);
    PQfinish(conn);
    return CTL_OK;
}

static bool is_personal_key(const char *key)
{
    return strstr(key, "name") || strstr(key, "personal_id") || strstr(key, "address");
}

/* Masks names, personal IDs and addresses in place. Facility and court
 * names are institutions, not persons, but are masked alike for
 * simplicity: --reveal shows everything. */
static void mask_json(json_t *node)
{
    if (json_is_array(node)) {
        size_t i;
        json_t *v;
        json_array_foreach(node, i, v) mask_json(v);
        return;
    }
    if (!json_is_object(node)) return;
    const char *key;
    json_t *v;
    json_object_foreach(node, key, v) {
        if (json_is_string(v) && is_personal_key(key)) {
            char masked[128];
            if (strstr(key, "personal_id")) hub_text_mask_id(json_string_value(v), masked, sizeof masked);
            else hub_text_mask_name(json_string_value(v), masked, sizeof masked);
            json_object_set_new(node, key, json_string(masked));
        } else {
            mask_json(v);
        }
    }
}

static void hex_dump(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i += 16) {
        printf("  %06zx ", i);
        for (size_t j = i; j < i + 16; j++) {
            if (j < n) printf(" %02x", p[j]);
            else printf("   ");
        }
        printf("  ");
        for (size_t j = i; j < i + 16 && j < n; j++)
            putchar(p[j] >= 32 && p[j] < 127 ? p[j] : '.');
        putchar('\n');
    }
}

static int dlq_show(ctl *c, int argc, char **argv)
{
    bool reveal = false;
    const char *id = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--reveal")) reveal = true;
        else if (!id) id = argv[i];
        else id = NULL, i = argc;
    }
    if (!id) {
        fprintf(stderr, "usage: crvsctl dlq show ID [--reveal]\n");
        return CTL_USAGE;
    }
    long long parsed;
    if (!ctl_parse_count(id, &parsed)) {
        fprintf(stderr, "crvsctl dlq show: the id is not a dead letter id (a number, as dlq "
                        "list shows)\n");
        return CTL_USAGE;
    }
    PGconn *conn = ctl_pg_connect(c);
    if (!conn) return CTL_FAILED;
    int status = CTL_FAILED;
    const char *params[1] = {id};
    PGresult *res = ctl_pg_query(conn, "dlq",
                          "SELECT id, first_seen, service, source_topic, source_partition, "
                          "source_offset, kafka_timestamp, encode(msg_key, 'escape'), schema_id, "
                          "reason, message, status, coalesce(status_comment, '') "
                          "FROM crvs.dead_letter WHERE id = $1::bigint",
                          1, params);
    if (!res) goto out;
    if (PQntuples(res) != 1) {
        fprintf(stderr, "crvsctl dlq show: no dead letter %s\n", id);
        goto out;
    }
    static const char *const labels[] = {"id", "first seen", "service", "topic", "partition",
                                         "offset", "kafka time", "key", "schema id", "reason",
                                         "message", "status", "comment"};
    for (int i = 0; i < 13; i++) printf("%-11s %s\n", labels[i], PQgetvalue(res, 0, i));
    PQclear(res);
    res = NULL;
    /* The bytes come with their audit row: crvs.dlq_read writes it
     * ('reveal', or 'read_masked' for the masked view) and returns them in
     * one statement, so nothing of them reaches us unless the row is
     * committed with it. A role that may not call it gets no bytes. */
    const char *by = getenv("USER");
    const char *rp[3] = {id, by && by[0] ? by : "unknown", reveal ? "t" : "f"};
    res = PQexecParams(conn, "SELECT crvs.dlq_read($1::bigint, $2, $3::boolean)", 3, NULL, rp,
                       NULL, NULL, 1);
    if (hub_pg_classify(conn, res) != HUB_PG_OK || PQntuples(res) != 1) {
        char why[400];
        hub_pg_error(conn, res, why, sizeof why);
        fprintf(stderr, "crvsctl dlq show: %s refused or could not be audited (nothing shown): "
                        "%s\n", reveal ? "the reveal was" : "reading the message was", why);
        goto out;
    }
    const uint8_t *raw = (const uint8_t *)PQgetvalue(res, 0, 0);
    size_t raw_len = (size_t)PQgetlength(res, 0, 0);
    printf("%-11s %zu bytes\n", "raw", raw_len);

    hub_catalog *cat = ctl_catalog(c);
    const hub_schema *writer = NULL;
    json_t *doc = NULL;
    hub_reject why = {{0}, {0}};
    int32_t schema_id = -1;
    if (cat && raw_len >= 5 && raw[0] == 0) {
        schema_id = (int32_t)((uint32_t)raw[1] << 24 | (uint32_t)raw[2] << 16 |
                              (uint32_t)raw[3] << 8 | raw[4]);
        char err[256];
        if (hub_catalog_get(cat, schema_id, &writer, err, sizeof err) == HUB_SCHEMA_OK) {
            hub_avro_decoder *dec = hub_avro_decoder_new(cat, writer, err, sizeof err);
            if (dec && hub_avro_decode(dec, raw, raw_len, &doc, &schema_id, &why) != HUB_DECODE_OK)
                doc = NULL;
            hub_avro_decoder_destroy(dec);
        }
    }
    if (doc) {
        if (!reveal) mask_json(doc);
        char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        printf("decoded (schema %d%s):\n%s\n", (int)schema_id,
               reveal ? ", revealed" : ", personal data masked; --reveal to show", text);
        free(text);
        json_decref(doc);
    } else if (reveal) {
        hex_dump(raw, raw_len);
    } else {
        printf("not decodable; bytes hidden (they may hold personal data): --reveal to show\n");
    }
    status = CTL_OK;
out:
    PQclear(res);
    PQfinish(conn);
    return status;
}

/* ---- replay and discard ----------------------------------------------------- */

#define REPLAY_CHUNK "100" /* entries per transaction */
#define REPLAY_HEADER "crvs-replay-of"
#define REPLAY_FLUSH_MS 30000

static volatile sig_atomic_t replay_stop;

static void on_replay_signal(int sig)
{
    (void)sig;
    replay_stop = 1;
}

typedef struct delivery {
    bool done;
    rd_kafka_resp_err_t err;
    int32_t partition;
    int64_t offset;
} delivery;

static void on_replay_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    delivery *d = m->_private;
    d->done = true;
    d->err = m->err;
    d->partition = m->partition;
    d->offset = m->offset;
}

/* The entries a replay selects: status 'new', then the filters. $5 is the
 * last id done, so a chunk starts after the previous one. */
#define REPLAY_WHERE                                                                   \
    "WHERE status = 'new' AND ($1::bigint IS NULL OR id = $1::bigint) "               \
    "AND ($2::text IS NULL OR reason = $2) AND ($3::text IS NULL OR source_topic = $3) " \
    "AND ($4::timestamptz IS NULL OR first_seen >= $4::timestamptz) AND id > $5::bigint "

/* Publishes one chunk and marks what was delivered, in one transaction
 * that holds the chunk's rows (FOR UPDATE SKIP LOCKED: two operators
 * replaying at once never publish the same entry twice). An entry is
 * marked only after the broker confirmed it; one that failed stays 'new'
 * and a later run retries it. Returns the number of rows selected, -1 on
 * error; *last_id, *replayed, *failed advance. */
static int replay_chunk(PGconn *conn, rd_kafka_t *rk, const char *const *filters, const char *by,
                        long long *last_id, long long *replayed, long long *failed)
{
    char last[32], err[512];
    snprintf(last, sizeof last, "%lld", *last_id);
    const char *params[6] = {filters[0], filters[1], filters[2], filters[3], last, REPLAY_CHUNK};
    if (hub_pg_exec(conn, "BEGIN", err, sizeof err) != HUB_PG_OK) {
        fprintf(stderr, "crvsctl dlq replay: %s\n", err);
        return -1;
    }
    /* Binary results: raw and msg_key are bytes; the text columns come as
     * their characters (id as text under another name: ORDER BY id must
     * not sort the text). */
    PGresult *res = PQexecParams(conn,
                                 "SELECT id_text, source_topic, msg_key, raw FROM "
                                 "crvs.dlq_replay_take($1::bigint, $2, $3, $4::timestamptz, "
                                 "$5::bigint, $6::integer)",
                                 6, NULL, params, NULL, NULL, 1);
    int n = -1;
    delivery *d = NULL;
    if (hub_pg_classify(conn, res) != HUB_PG_OK) {
        hub_pg_error(conn, res, err, sizeof err);
        fprintf(stderr, "crvsctl dlq replay: %s\n", err);
        goto out;
    }
    n = PQntuples(res);
    d = calloc((size_t)n + 1, sizeof *d);
    if (!d) {
        fprintf(stderr, "crvsctl dlq replay: out of memory\n");
        n = -1;
        goto out;
    }
    for (int i = 0; i < n; i++) {
        const char *id = PQgetvalue(res, i, 0), *topic = PQgetvalue(res, i, 1);
        int key_len = PQgetlength(res, i, 2);
        rd_kafka_headers_t *hdrs = rd_kafka_headers_new(1);
        rd_kafka_header_add(hdrs, REPLAY_HEADER, -1, id, -1);
        rd_kafka_resp_err_t e;
        while ((e = rd_kafka_producev(
                    rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                    RD_KAFKA_V_KEY(key_len ? PQgetvalue(res, i, 2) : NULL, (size_t)key_len),
                    RD_KAFKA_V_VALUE(PQgetvalue(res, i, 3), (size_t)PQgetlength(res, i, 3)),
                    RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_OPAQUE(&d[i]), RD_KAFKA_V_END)) ==
               RD_KAFKA_RESP_ERR__QUEUE_FULL)
            rd_kafka_poll(rk, 100);
        if (e) { /* not queued: the headers are still ours */
            rd_kafka_headers_destroy(hdrs);
            d[i].done = true;
            d[i].err = e;
        }
    }
    rd_kafka_flush(rk, REPLAY_FLUSH_MS);
    for (int i = 0; i < n; i++) {
        const char *id = PQgetvalue(res, i, 0);
        *last_id = strtoll(id, NULL, 10);
        if (!d[i].done || d[i].err) {
            fprintf(stderr, "crvsctl dlq replay: dead letter %s not delivered: %s\n", id,
                    d[i].done ? rd_kafka_err2str(d[i].err) : "timed out");
            (*failed)++;
            continue;
        }
        char partition[16], offset[32];
        snprintf(partition, sizeof partition, "%d", (int)d[i].partition);
        snprintf(offset, sizeof offset, "%lld", (long long)d[i].offset);
        const char *mark[4] = {id, by, partition, offset};
        PGresult *m = ctl_pg_query(conn, "dlq replay",
                                "SELECT crvs.dlq_mark_replayed($1::bigint, $2, $3::integer, "
                                "$4::bigint)",
                                4, mark);
        if (!m) {
            n = -1;
            goto out;
        }
        if (PQgetvalue(m, 0, 0)[0] == 't') (*replayed)++;
        PQclear(m);
    }
    if (hub_pg_exec(conn, "COMMIT", err, sizeof err) != HUB_PG_OK) {
        fprintf(stderr, "crvsctl dlq replay: %s\n", err);
        n = -1;
    }
out:
    if (n < 0 && PQstatus(conn) == CONNECTION_OK) {
        char ignored[256];
        (void)hub_pg_exec(conn, "ROLLBACK", ignored, sizeof ignored);
        if (d && n != 0)
            fprintf(stderr, "crvsctl dlq replay: entries of this chunk may have been published "
                            "without being marked; running again re-sends them (stored ones "
                            "then count as duplicates)\n");
    }
    free(d);
    PQclear(res);
    return n;
}

static int replay_usage(void)
{
    fprintf(stderr,
            "usage: crvsctl dlq replay ID [--by NAME]\n"
            "       crvsctl dlq replay --reason R [--topic T] [--since TS] [--by NAME] [--dry-run]\n"
            "       crvsctl dlq replay --all-matching [--reason R] [--topic T] [--since TS] "
            "[--by NAME] [--dry-run]\n");
    return CTL_USAGE;
}

static int dlq_replay(ctl *c, int argc, char **argv)
{
    static const struct option opts[] = {{"reason", required_argument, NULL, 'r'},
                                         {"topic", required_argument, NULL, 't'},
                                         {"since", required_argument, NULL, 's'},
                                         {"all-matching", no_argument, NULL, 'a'},
                                         {"by", required_argument, NULL, 'b'},
                                         {"dry-run", no_argument, NULL, 'n'},
                                         {NULL, 0, NULL, 0}};
    /* id, reason, topic, since */
    const char *filters[4] = {NULL, NULL, NULL, NULL};
    const char *by = getenv("USER");
    bool all = false, dry_run = false;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "r:t:s:ab:n", opts, NULL)) != -1) {
        switch (opt) {
        case 'r': filters[1] = optarg; break;
        case 't': filters[2] = optarg; break;
        case 's': filters[3] = optarg; break;
        case 'a': all = true; break;
        case 'b': by = optarg; break;
        case 'n': dry_run = true; break;
        default: return replay_usage();
        }
    }
    if (optind < argc) {
        char *end;
        filters[0] = argv[optind++];
        if (strtoll(filters[0], &end, 10) <= 0 || *end) return replay_usage();
    }
    /* One ID, or a selection made explicit with --reason or --all-matching. */
    if (optind != argc) return replay_usage();
    if (filters[0] && (all || filters[1] || filters[2] || filters[3])) return replay_usage();
    if (!filters[0] && !filters[1] && !all) return replay_usage();
    if (!by || !by[0]) by = "unknown";

    int status = CTL_FAILED;
    rd_kafka_t *rk = NULL;
    PGconn *conn = ctl_pg_connect(c);
    if (!conn) return CTL_FAILED;
    if (filters[0]) {
        const char *params[1] = {filters[0]};
        PGresult *res = ctl_pg_query(conn, "dlq replay",
                                  "SELECT status, coalesce(status_comment, '') "
                                  "FROM crvs.dead_letter WHERE id = $1::bigint",
                                  1, params);
        if (!res) goto out;
        if (PQntuples(res) == 0) {
            fprintf(stderr, "crvsctl dlq replay: no dead letter %s\n", filters[0]);
            PQclear(res);
            goto out;
        }
        if (strcmp(PQgetvalue(res, 0, 0), "new")) {
            printf("dead letter %s is %s (%s); nothing to do\n", filters[0], PQgetvalue(res, 0, 0),
                   PQgetvalue(res, 0, 1));
            PQclear(res);
            status = CTL_OK;
            goto out;
        }
        PQclear(res);
    }
    const char *count_params[5] = {filters[0], filters[1], filters[2], filters[3], "0"};
    PGresult *res = ctl_pg_query(conn, "dlq replay",
                              "SELECT count(*), min(id), max(id) FROM crvs.dead_letter " REPLAY_WHERE,
                              5, count_params);
    if (!res) goto out;
    long long total = atoll(PQgetvalue(res, 0, 0));
    if (dry_run || total == 0) {
        if (total == 0) printf("no dead letter with status 'new' matches; nothing to do\n");
        else printf("%lld dead letters would be replayed (ids %s to %s)\n", total,
                    PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2));
        PQclear(res);
        status = CTL_OK;
        goto out;
    }
    PQclear(res);

    /* Idempotent (acks=all): a broker failing during the replay does not
     * write a message twice (it would be stored as a duplicate). */
    const char *defaults[] = {"enable.idempotence", "true", NULL};
    rk = ctl_kafka(c, RD_KAFKA_PRODUCER, defaults, on_replay_delivery, NULL);
    if (!rk) goto out;
    /* An interrupt finishes the chunk in hand (published and marked), then
     * stops: running the same command again resumes. */
    struct sigaction sa = {0}, old_int, old_term;
    sa.sa_handler = on_replay_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    long long last_id = 0, replayed = 0, failed = 0;
    int n = 0;
    while (!replay_stop &&
           (n = replay_chunk(conn, rk, filters, by, &last_id, &replayed, &failed)) > 0)
        fprintf(stderr, "crvsctl dlq replay: %lld/%lld replayed, %lld failed (last id %lld)\n",
                replayed, total, failed, last_id);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (n < 0) goto out;
    printf("replayed %lld of %lld dead letters%s", replayed, total,
           replay_stop ? " (interrupted: run the same command again to go on)" : "");
    if (failed) printf("; %lld not delivered, still 'new'", failed);
    printf("\n");
    status = failed || replay_stop ? CTL_FAILED : CTL_OK;
out:
    if (rk) rd_kafka_destroy(rk);
    PQfinish(conn);
    return status;
}

static int dlq_discard(ctl *c, int argc, char **argv)
{
    ctl_decision d;
    if (ctl_parse_decision(argc, argv, &d) != 0) goto usage;
    PGconn *conn = ctl_pg_connect(c);
    if (!conn) return CTL_FAILED;
    const char *params[3] = {d.id, d.by, d.comment};
    PGresult *res = ctl_pg_query(conn, "dlq discard", "SELECT crvs.dlq_discard($1::bigint, $2, $3)",
                              3, params);
    int status = CTL_FAILED;
    if (res) {
        const char *outcome = PQgetvalue(res, 0, 0);
        if (!strcmp(outcome, "discarded")) {
            printf("dead letter %s discarded by %s\n", d.id, d.by);
            status = CTL_OK;
        } else if (!strcmp(outcome, "already_discarded")) {
            printf("dead letter %s was already discarded; nothing changed\n", d.id);
            status = CTL_OK;
        } else if (!strcmp(outcome, "not_found")) {
            fprintf(stderr, "crvsctl dlq discard: no dead letter %s\n", d.id);
        } else {
            fprintf(stderr, "crvsctl dlq discard: dead letter %s is %s, not new; nothing changed\n",
                    d.id, outcome);
        }
        PQclear(res);
    }
    PQfinish(conn);
    return status;
usage:
    fprintf(stderr, "usage: crvsctl dlq discard ID --comment TEXT [--by NAME]\n");
    return CTL_USAGE;
}

int ctl_dlq(ctl *c, int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "list")) return dlq_list(c, argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "show")) return dlq_show(c, argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "replay")) return dlq_replay(c, argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "discard")) return dlq_discard(c, argc - 1, argv + 1);
    fprintf(stderr, "usage: crvsctl dlq list|show|replay|discard ...\n");
    return CTL_USAGE;
}
