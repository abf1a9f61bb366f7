/* crvsctl offsets: broker data loss as the operator tools see it, and the
 * operator's decision on it.
 *
 *   offsets reset --topic T --partition P --to earliest|latest|N --reason TEXT
 *       stores offset N (earliest: the broker's log start, latest: its log
 *       end) for the partition, clears its open fault and writes the audit
 *       row (crvs.reset_offset in 009_partition_faults.sql: who, when, why,
 *       from, to, the fault). The running service picks it up within
 *       offsets.fault.poll.ms (docs/operations.md, "Broker data loss").
 *
 * The judgement `status`, `wait` and the console share is here too:
 * ctl_partition_judge. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "ctl_input.h"
#include "ctl_kafka.h"
#include "ctl_pg.h"
#include "hub_pg.h"

PGresult *ctl_faults_query(PGconn *conn, const char *who, const char *group, const char *topic)
{
    PGresult *res = ctl_pg_query(conn, who,
                              "SELECT to_regclass('crvs.partition_fault') IS NOT NULL", 0, NULL);
    if (!res) return NULL;
    bool exists = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    /* A database not yet migrated to 010 has no faults to show. */
    if (!exists) return ctl_pg_query(conn, who, "SELECT 1 WHERE false", 0, NULL);
    const char *params[2] = {group, topic};
    return ctl_pg_query(conn, who,
                     "SELECT partition, kind, stored_offset, log_start, log_end, missing, "
                     "to_char(detected_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
                     "detected_by FROM crvs.partition_fault "
                     "WHERE consumer_group = $1 AND topic = $2",
                     2, params);
}

static long long cell(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? -1 : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

bool ctl_partition_judge(const PGresult *faults, int partition, long long stored, long long lo,
                         long long hi, ctl_partition_loss *out)
{
    memset(out, 0, sizeof *out);
    for (int r = 0; faults && r < PQntuples(faults); r++) {
        if (atoi(PQgetvalue(faults, r, 0)) != partition) continue;
        hub_loss_kind kind = hub_loss_kind_parse(PQgetvalue(faults, r, 1));
        out->loss = (hub_loss){kind ? kind : HUB_LOSS_OUT_OF_RANGE, cell(faults, r, 2),
                               cell(faults, r, 3), cell(faults, r, 4), cell(faults, r, 5)};
        out->recorded = true;
        snprintf(out->detected_at, sizeof out->detected_at, "%s", PQgetvalue(faults, r, 6));
        snprintf(out->detected_by, sizeof out->detected_by, "%s", PQgetvalue(faults, r, 7));
        return true;
    }
    return hub_loss_judge(stored, lo, hi, &out->loss);
}

void ctl_partition_describe(const ctl_partition_loss *l, char *out, size_t out_size)
{
    char what[160];
    hub_loss_describe(&l->loss, what, sizeof what);
    if (l->recorded)
        snprintf(out, out_size, "broker data loss (%s): %s; stopped by %s at %s",
                 hub_loss_kind_name(l->loss.kind), what, l->detected_by, l->detected_at);
    else
        snprintf(out, out_size, "broker data loss (%s): %s; not yet stopped by a service",
                 hub_loss_kind_name(l->loss.kind), what);
}

/* ---- offsets reset ------------------------------------------------------------ */

static int reset_usage(void)
{
    fprintf(stderr,
            "usage: crvsctl offsets reset --topic T --partition P --to earliest|latest|N\n"
            "                             --reason TEXT [--group G] [--by NAME]\n"
            "  stores where the partition's service goes on (earliest: the oldest message the\n"
            "  broker still has; latest: past the last), clears the partition's data-loss\n"
            "  fault, audited with --reason; --group defaults to crvs-T, --by to $USER\n");
    return CTL_USAGE;
}

static int offsets_reset(ctl *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"topic", required_argument, NULL, 't'}, {"partition", required_argument, NULL, 'p'},
        {"to", required_argument, NULL, 'o'},    {"reason", required_argument, NULL, 'r'},
        {"group", required_argument, NULL, 'g'}, {"by", required_argument, NULL, 'b'},
        {NULL, 0, NULL, 0}};
    const char *topic = NULL, *to_text = NULL, *reason = NULL, *group = NULL, *by = getenv("USER");
    long long partition = -1, to = -1;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "t:p:o:r:g:b:", opts, NULL)) != -1) {
        switch (opt) {
        case 't': topic = optarg; break;
        case 'p':
            if (!ctl_parse_count(optarg, &partition)) return reset_usage();
            break;
        case 'o': to_text = optarg; break;
        case 'r': reason = optarg; break;
        case 'g': group = optarg; break;
        case 'b': by = optarg; break;
        default: return reset_usage();
        }
    }
    if (optind != argc || !topic || partition < 0 || !to_text || !reason) return reset_usage();
    bool earliest = !strcmp(to_text, "earliest"), latest = !strcmp(to_text, "latest");
    if (!earliest && !latest && !ctl_parse_count(to_text, &to)) return reset_usage();
    if (!reason[strspn(reason, " \t")]) {
        fprintf(stderr, "crvsctl offsets reset: --reason must say why\n");
        return CTL_USAGE;
    }
    if (!by || !by[0]) by = "unknown";
    char g[256];
    snprintf(g, sizeof g, "%s", group ? group : "");
    if (!group) snprintf(g, sizeof g, "crvs-%s", topic);

    int status = CTL_FAILED;
    PGconn *conn = ctl_pg_connect(c);
    rd_kafka_t *rk = conn ? ctl_kafka(c, RD_KAFKA_CONSUMER, NULL, NULL, NULL) : NULL;
    if (!rk) goto out;
    int64_t lo, hi;
    rd_kafka_resp_err_t err =
        rd_kafka_query_watermark_offsets(rk, topic, (int32_t)partition, &lo, &hi, 10000);
    if (err) {
        fprintf(stderr, "crvsctl offsets reset: %s[%lld]: %s\n", topic, partition,
                rd_kafka_err2str(err));
        goto out;
    }
    if (earliest) to = lo;
    else if (latest) to = hi;
    else if (to < lo || to > hi) {
        /* Anywhere else would be data loss again, of the operator's making. */
        fprintf(stderr,
                "crvsctl offsets reset: offset %lld is outside what the broker holds for "
                "%s[%lld] (log start %lld, log end %lld)\n",
                to, topic, partition, (long long)lo, (long long)hi);
        goto out;
    }
    char part_text[24], to_param[24];
    snprintf(part_text, sizeof part_text, "%lld", partition);
    snprintf(to_param, sizeof to_param, "%lld", to);
    const char *params[6] = {g, topic, part_text, to_param, by, reason};
    PGresult *res = ctl_pg_query(conn, "offsets reset",
                              "SELECT crvs.reset_offset($1, $2, $3::integer, $4::bigint, $5, $6)",
                              6, params);
    if (!res) goto out;
    const char *from = PQgetisnull(res, 0, 0) ? "never claimed" : PQgetvalue(res, 0, 0);
    printf("%s[%lld] group %s: stored offset %s -> %lld (log start %lld, log end %lld); "
           "fault cleared, audited as offset_reset by %s\n",
           topic, partition, g, from, to, (long long)lo, (long long)hi, by);
    printf("a running service goes on from there within offsets.fault.poll.ms\n");
    PQclear(res);
    status = CTL_OK;
out:
    if (rk) rd_kafka_destroy(rk);
    if (conn) PQfinish(conn);
    return status;
}

int ctl_offsets(ctl *c, int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "reset")) return offsets_reset(c, argc - 1, argv + 1);
    return reset_usage();
}
