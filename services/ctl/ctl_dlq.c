/* crvsctl dlq: look at the dead letters without SQL.
 *   list: newest first, filtered by topic, reason and time;
 *   show: one entry, with the message decoded when it decodes. Names and
 *         personal IDs are masked unless --reveal is given; revealing is
 *         written to the audit trail. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
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
    PGconn *conn = ctl_pg(c);
    if (!conn) return CTL_FAILED;
    PGresult *res = ctl_query(conn, "dlq",
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
    PGconn *conn = ctl_pg(c);
    if (!conn) return CTL_FAILED;
    int status = CTL_FAILED;
    const char *params[1] = {id};
    PGresult *res = ctl_query(conn, "dlq",
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
    res = PQexecParams(conn, "SELECT raw FROM crvs.dead_letter WHERE id = $1::bigint", 1, NULL,
                       params, NULL, NULL, 1);
    if (hub_pg_classify(conn, res) != HUB_PG_OK || PQntuples(res) != 1) goto out;
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
    if (reveal) {
        PGresult *a = ctl_query(conn, "dlq",
                            "INSERT INTO crvs.audit_log (service, action, entity, entity_key, detail) "
                            "VALUES ('crvsctl', 'reveal', 'dead_letter', $1, "
                            "jsonb_build_object('os_user', current_user))",
                            1, params);
        if (!a) goto out;
        PQclear(a);
    }
    status = CTL_OK;
out:
    PQclear(res);
    PQfinish(conn);
    return status;
}

int ctl_dlq(ctl *c, int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "list")) return dlq_list(c, argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "show")) return dlq_show(c, argc - 1, argv + 1);
    fprintf(stderr, "usage: crvsctl dlq list|show ...\n");
    return CTL_USAGE;
}
