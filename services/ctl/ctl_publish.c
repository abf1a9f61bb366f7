/* crvsctl publish: what a producer does, for tests and demos. JSON documents
 * are checked against the topic's schema, Avro-encoded with the Confluent
 * header and keyed by the business key; a document that does not fit is
 * reported with its line number and not sent. --raw-hex sends bytes as they
 * are (to exercise the dead letters). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "ctl_input.h"
#include "ctl_kafka.h"
#include "ctl_publish_encode.h"
#include "hub_avro.h"
#include "hub_topics.h"

typedef struct pub {
    rd_kafka_t *rk;
    bool print_hex; /* with a dry run: print each message as KEY<TAB>HEX */
    const char *topic;       /* the schema's topic */
    const char *kafka_topic; /* where messages go: the topic unless --kafka-topic */
    long sent, failed_delivery, refused;
} pub;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    pub *p = opaque;
    if (m->err) {
        p->failed_delivery++;
        fprintf(stderr, "crvsctl publish: delivery failed: %s\n", rd_kafka_err2str(m->err));
    }
}

static int produce(pub *p, const void *key, size_t key_len, const void *value, size_t len)
{
    if (!p->rk) { /* dry run */
        if (p->print_hex) {
            fwrite(key, 1, key_len, stdout);
            putchar('\t');
            for (size_t i = 0; i < len; i++) printf("%02x", ((const uint8_t *)value)[i]);
            putchar('\n');
        }
        p->sent++;
        return 0;
    }
    for (;;) {
        rd_kafka_resp_err_t err = rd_kafka_producev(
            p->rk, RD_KAFKA_V_TOPIC(p->kafka_topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_KEY(key, key_len), RD_KAFKA_V_VALUE((void *)value, len),
            RD_KAFKA_V_END);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            fprintf(stderr, "crvsctl publish: %s\n", rd_kafka_err2str(err));
            return -1;
        }
        rd_kafka_poll(p->rk, 100);
    }
    p->sent++;
    rd_kafka_poll(p->rk, 0);
    return 0;
}

static int hex_digit(int ch)
{
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

static int publish_hex(pub *p, FILE *in)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long lineno = 0;
    while ((len = getline(&line, &cap, in)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' '))
            line[--len] = '\0';
        if (len == 0 || line[0] == '#') continue;
        uint8_t *buf = malloc((size_t)len / 2 + 1);
        size_t n = 0;
        bool ok = buf && len % 2 == 0;
        for (ssize_t i = 0; ok && i < len; i += 2) {
            int hi = hex_digit(line[i]), lo = hex_digit(line[i + 1]);
            if (hi < 0 || lo < 0) ok = false;
            else buf[n++] = (uint8_t)(hi << 4 | lo);
        }
        if (!ok) {
            fprintf(stderr, "line %ld: not an even-length hex string\n", lineno);
            p->refused++;
        } else if (produce(p, NULL, 0, buf, n) != 0) {
            free(buf);
            break;
        }
        free(buf);
    }
    free(line);
    return 0;
}

/* Sends one encoded document, or counts and reports why it cannot be. */
static void publish_encoded(pub *p, int rc, uint8_t *buf, size_t len, const char *key,
                            const char *err, long lineno)
{
    if (rc != 0) {
        fprintf(stderr, "line %ld: %s\n", lineno, err);
        p->refused++;
        return;
    }
    (void)produce(p, key, strlen(key), buf, len);
    free(buf);
}

static void publish_doc(pub *p, hub_avro_encoder *enc, const hub_topic_info *info, json_t *doc,
                        long lineno)
{
    char key[256], err[512];
    uint8_t *buf;
    size_t len;
    int rc = ctl_publish_encode_doc(enc, info, doc, &buf, &len, key, sizeof key, err, sizeof err);
    publish_encoded(p, rc, buf, len, key, err, lineno);
}

static int publish_json(pub *p, hub_avro_encoder *enc, const hub_topic_info *info, FILE *in)
{
    int ch;
    while ((ch = fgetc(in)) == ' ' || ch == '\n' || ch == '\t' || ch == '\r') {}
    if (ch == EOF) return 0;
    ungetc(ch, in);
    json_error_t jerr;
    if (ch == '[') {
        json_t *all = json_loadf(in, 0, &jerr);
        if (!json_is_array(all)) {
            fprintf(stderr, "line %d: %s\n", jerr.line, all ? "expected an array" : jerr.text);
            json_decref(all);
            p->refused++;
            return 0;
        }
        size_t i;
        json_t *doc;
        json_array_foreach(all, i, doc) publish_doc(p, enc, info, doc, (long)i + 1);
        json_decref(all);
        return 0;
    }
    char *line = NULL;
    size_t cap = 0;
    long lineno = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, in)) >= 0) {
        lineno++;
        const char *s = line;
        while (*s == ' ' || *s == '\t') s++;
        if (s == line + n || *s == '\n' || *s == '\r') continue;
        char key[256], err[512];
        uint8_t *buf;
        size_t len;
        int rc = ctl_publish_encode_line(enc, info, line, (size_t)n, &buf, &len, key, sizeof key,
                                         err, sizeof err);
        publish_encoded(p, rc, buf, len, key, err, lineno);
    }
    free(line);
    return 0;
}

/* True, after printing why, when a transaction call failed. */
static bool txn_failed(rd_kafka_error_t *e, const char *what)
{
    if (!e) return false;
    fprintf(stderr, "crvsctl publish: transaction %s: %s\n", what, rd_kafka_error_string(e));
    rd_kafka_error_destroy(e);
    return true;
}

int ctl_publish(ctl *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"topic", required_argument, NULL, 't'}, {"raw-hex", no_argument, NULL, 'x'},
        {"schema-id", required_argument, NULL, 's'}, {"dry-run", no_argument, NULL, 'n'},
        {"print-hex", no_argument, NULL, 'H'}, {"kafka-topic", required_argument, NULL, 'k'},
        {"transaction", required_argument, NULL, 'T'}, {"abort", no_argument, NULL, 'A'},
        {NULL, 0, NULL, 0}};
    pub p = {0};
    bool raw = false, dry = false, abort_txn = false;
    const char *txn_id = NULL;
    int schema_id = 0, opt, status = CTL_FAILED;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "t:xs:n", opts, NULL)) != -1) {
        switch (opt) {
        case 't': p.topic = optarg; break;
        case 'x': raw = true; break;
        case 's': schema_id = atoi(optarg); break;
        case 'n': dry = true; break;
        case 'H': p.print_hex = true; break;
        case 'k': p.kafka_topic = optarg; break;
        case 'T': txn_id = optarg; break;
        case 'A': abort_txn = true; break;
        default: goto usage;
        }
    }
    if (!p.topic || optind != argc - 1 || (abort_txn && !txn_id) || (txn_id && dry)) goto usage;
    if (!p.kafka_topic) p.kafka_topic = p.topic;
    const hub_topic_info *info = hub_topic_find(p.topic);
    if (!info && !raw) {
        fprintf(stderr, "crvsctl publish: unknown topic '%s'\n", p.topic);
        return CTL_USAGE;
    }
    const char *path = argv[optind];
    FILE *in = ctl_input_open("publish", path);
    if (!in) return CTL_FAILED;
    hub_avro_encoder *enc = NULL;
    hub_schema *owned_schema = NULL; /* a registry schema; the encoder borrows it */
    if (!raw) {
        const hub_schema *schema = NULL;
        char err[512];
        /* With a registry: the latest version of <topic>-value (or the id
         * given); without: the local catalog. */
        if (ctl_writer_schema(c, p.topic, schema_id, &schema, &owned_schema) != 0) goto out;
        if (!(enc = hub_avro_encoder_new(schema, err, sizeof err))) {
            fprintf(stderr, "crvsctl publish: %s\n", err);
            goto out;
        }
    }
    if (!dry) {
        const char *defaults[] = {"enable.idempotence", "true", "linger.ms", "5",
                                  "client.id", "crvsctl", txn_id ? "transactional.id" : NULL,
                                  txn_id, NULL};
        p.rk = ctl_kafka(c, RD_KAFKA_PRODUCER, defaults, on_delivery, &p);
        if (!p.rk) goto out;
    }
    /* --transaction: the whole input in one transaction, as a producer
     * that writes transactionally does (its markers take offsets too). */
    if (txn_id && (txn_failed(rd_kafka_init_transactions(p.rk, 30000), "init") ||
                   txn_failed(rd_kafka_begin_transaction(p.rk), "begin")))
        goto out;
    if (raw) publish_hex(&p, in);
    else publish_json(&p, enc, info, in);
    if (txn_id) {
        /* Aborted only once every message reached the broker: the records
         * are in the log, marked aborted, as a producer's failed attempt
         * leaves them. */
        if (abort_txn && rd_kafka_flush(p.rk, 30000)) p.failed_delivery++;
        if (abort_txn ? txn_failed(rd_kafka_abort_transaction(p.rk, 30000), "abort")
                      : txn_failed(rd_kafka_commit_transaction(p.rk, 30000), "commit"))
            p.failed_delivery = p.sent;
    } else if (p.rk) {
        rd_kafka_resp_err_t ferr = rd_kafka_flush(p.rk, 30000);
        if (ferr) {
            fprintf(stderr, "crvsctl publish: flush: %s\n", rd_kafka_err2str(ferr));
            p.failed_delivery++;
        }
    }
    fprintf(p.print_hex ? stderr : stdout, "published %ld, refused %ld, delivery failures %ld%s%s%s\n",
            p.sent - p.failed_delivery, p.refused, p.failed_delivery, dry ? " (dry run)" : "",
            txn_id ? (abort_txn ? " in a transaction, aborted: " : " in a transaction, committed: ") : "",
            txn_id ? txn_id : "");
    status = p.refused || p.failed_delivery ? CTL_FAILED : CTL_OK;
    if (p.sent == 0 && p.refused == 0) {
        /* An empty input is most often the wrong file or an empty pipe. */
        fprintf(stderr, "crvsctl publish: the input holds no document: nothing published\n");
        status = CTL_FAILED;
    }
out:
    if (p.rk) rd_kafka_destroy(p.rk);
    hub_avro_encoder_destroy(enc);
    hub_schema_destroy(owned_schema);
    ctl_input_close(in);
    return status;
usage:
    fprintf(stderr, "usage: crvsctl publish --topic T [--schema-id N] [--kafka-topic K]\n"
                    "                       [--dry-run [--print-hex] | --transaction ID [--abort]] FILE|-\n"
                    "       crvsctl publish --topic T --raw-hex [--kafka-topic K] FILE|-\n"
                    "  --kafka-topic K     send to Kafka topic K (default T), e.g. a replay topic\n"
                    "  --transaction ID    all of FILE in one transaction (transactional.id ID),\n"
                    "                      committed, or with --abort aborted (Apache Kafka)\n");
    return CTL_USAGE;
}
