/* crvsctl audit: the tamper-evident audit chain (012_audit_chain.sql,
 * docs/security.md "The audit chain").
 *
 *   audit verify [--since TS] [--anchor FILE]
 *       walks every chain in order in one snapshot and recomputes each
 *       row's hash in C (hub_chain) from the canonical content PostgreSQL
 *       renders; prints every row whose hash, number or presence is wrong
 *       and exits 1 when there is one. --since starts each chain at its
 *       first row at or after TS (trusting the row before it); --anchor
 *       checks that each head an earlier `audit anchor` printed is still
 *       in its chain with the same hash: a chain cut back or rewritten
 *       after the anchor was taken is caught.
 *   audit anchor
 *       prints each chain's head (chain, number, hash, row id, time), one
 *       line each, for the operator to keep outside the database. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "ctl_pg.h"
#include "hub_chain.h"

/* The canonical content, as crvs.audit_canon renders it (012_audit_chain.sql):
 * written out here rather than called, so that a replaced function cannot
 * make a changed row pass. */
#define CANON                                                                                  \
    "jsonb_build_array(a.chain, a.seq, (extract(epoch FROM a.at) * 1000000)::bigint, "         \
    "a.service, a.action, a.entity, a.entity_key, a.source_topic, a.source_partition, "        \
    "a.source_offset, a.schema_id, a.source_system, a.event_id, a.before, a.after, a.detail)::text"

#define FETCH_ROWS 5000 /* as in the FETCH below */
#define MAX_SHOWN 1000

typedef struct head {
    char *chain;
    long long seq;
    unsigned char hash[HUB_CHAIN_HASH_LEN];
    bool walked;
} head;

typedef struct verify_state {
    long long shown;
} verify_state;

static void print_problem(void *ctx, const hub_chain_report *r)
{
    verify_state *v = ctx;
    if (v->shown++ >= MAX_SHOWN) return;
    char line[600];
    hub_chain_describe(r, line, sizeof line);
    printf("audit verify: %s\n", line);
}

static head *find_head(head *heads, int n, const char *chain)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(heads[i].chain, chain)) return &heads[i];
    return NULL;
}

static void end_chain(hub_chain_walk *w, head *heads, int n_heads)
{
    if (!w->started) return;
    head *h = find_head(heads, n_heads, w->chain);
    if (h) h->walked = true;
    hub_chain_end(w, h ? h->seq : 0, h ? h->hash : NULL);
}

/* The anchor file's heads against the rows: each must still be there with
 * its hash. */
static int check_anchor(PGconn *conn, const char *path, hub_chain_walk *w)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        return -1;
    }
    char line[1024];
    int lineno = 0, anchored = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        hub_chain_anchor a;
        int got_line = hub_chain_anchor_parse(line, &a);
        if (got_line == 0) continue;
        if (got_line < 0 || (!strchr(line, '\n') && !feof(f))) { /* or longer than the buffer */
            fprintf(stderr, "crvsctl audit: %s:%d: not a line of `crvsctl audit anchor`\n", path,
                    lineno);
            fclose(f);
            return -1;
        }
        const char *chain = a.chain;
        long long seq = a.seq, id = a.id;
        const unsigned char *want = a.hash;
        char seq_text[32];
        snprintf(seq_text, sizeof seq_text, "%lld", seq);
        const char *params[2] = {chain, seq_text};
        PGresult *res = ctl_pg_query(conn, "audit",
                                     "SELECT encode(hash, 'hex') FROM crvs.audit_log "
                                     "WHERE chain = $1 AND seq = $2::bigint",
                                     2, params);
        if (!res) {
            fclose(f);
            return -1;
        }
        anchored++;
        unsigned char got[HUB_CHAIN_HASH_LEN];
        if (PQntuples(res) == 0) {
            w->problems++;
            printf("audit verify: %s #%lld (row id %lld, anchored): missing: the chain was cut "
                   "back after the anchor\n",
                   chain, seq, id);
        } else if (!hub_chain_unhex(PQgetvalue(res, 0, 0), got) ||
                   memcmp(got, want, HUB_CHAIN_HASH_LEN)) {
            w->problems++;
            printf("audit verify: %s #%lld (row id %lld, anchored): its hash is not the "
                   "anchor's: the chain was rewritten\n",
                   chain, seq, id);
        }
        PQclear(res);
    }
    fclose(f);
    printf("audit verify: %d anchored heads checked\n", anchored);
    return 0;
}

static int audit_verify(ctl *c, int argc, char **argv)
{
    static const struct option opts[] = {{"since", required_argument, NULL, 's'},
                                         {"anchor", required_argument, NULL, 'a'},
                                         {NULL, 0, NULL, 0}};
    const char *since = NULL, *anchor = NULL;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "s:a:", opts, NULL)) != -1) {
        switch (opt) {
        case 's': since = optarg; break;
        case 'a': anchor = optarg; break;
        default: goto usage;
        }
    }
    if (optind != argc) goto usage;

    PGconn *conn = ctl_pg_connect(c);
    if (!conn) return CTL_FAILED;
    int status = CTL_FAILED, n_heads = 0;
    head *heads = NULL;
    PGresult *res = NULL;
    verify_state v = {0};
    hub_chain_walk w;
    hub_chain_walk_init(&w, print_problem, &v);
    /* One snapshot: the heads and the rows as of one moment, while the
     * services go on writing. */
    if (ctl_pg_exec(conn, "audit", "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") != 0) goto out;
    if (!(res = ctl_pg_query(conn, "audit",
                             "SELECT chain, seq, encode(hash, 'hex') FROM crvs.audit_chain", 0,
                             NULL)))
        goto out;
    n_heads = PQntuples(res);
    heads = calloc((size_t)n_heads + 1, sizeof *heads);
    if (!heads) goto out;
    for (int i = 0; i < n_heads; i++) {
        heads[i].chain = strdup(PQgetvalue(res, i, 0));
        heads[i].seq = atoll(PQgetvalue(res, i, 1));
        if (!heads[i].chain || !hub_chain_unhex(PQgetvalue(res, i, 2), heads[i].hash)) {
            fprintf(stderr, "crvsctl audit: the head of chain %s is not readable\n",
                    PQgetvalue(res, i, 0));
            n_heads = i + (heads[i].chain != NULL);
            goto out;
        }
    }
    PQclear(res);
    res = NULL;

    const char *params[1] = {since};
    if (since)
        res = ctl_pg_query(conn, "audit",
                           "DECLARE rows NO SCROLL CURSOR FOR "
                           "WITH s AS (SELECT chain, min(seq) AS first FROM crvs.audit_log "
                           "WHERE at >= $1::timestamptz AND chain IS NOT NULL GROUP BY chain) "
                           "SELECT a.chain, a.seq, a.id, encode(a.hash, 'hex'), " CANON ", s.first "
                           "FROM crvs.audit_log a JOIN s ON a.chain = s.chain "
                           "AND a.seq >= s.first - 1 ORDER BY a.chain, a.seq",
                           1, params);
    else
        res = ctl_pg_query(conn, "audit",
                           "DECLARE rows NO SCROLL CURSOR FOR "
                           "SELECT a.chain, a.seq, a.id, encode(a.hash, 'hex'), " CANON ", 0 "
                           "FROM crvs.audit_log a WHERE a.chain IS NOT NULL AND a.seq IS NOT NULL "
                           "ORDER BY a.chain, a.seq",
                           0, NULL);
    if (!res) goto out;
    PQclear(res);
    for (;;) {
        if (!(res = ctl_pg_query(conn, "audit", "FETCH 5000 FROM rows", 0, NULL)))
            goto out;
        int n = PQntuples(res);
        for (int i = 0; i < n; i++) {
            const char *chain = PQgetvalue(res, i, 0);
            long long seq = atoll(PQgetvalue(res, i, 1)), id = atoll(PQgetvalue(res, i, 2));
            unsigned char hash[HUB_CHAIN_HASH_LEN];
            bool readable = !PQgetisnull(res, i, 3) && hub_chain_unhex(PQgetvalue(res, i, 3), hash);
            if (!readable) memset(hash, 0, sizeof hash); /* matches no content: reported */
            if (!w.started || strcmp(w.chain, chain)) {
                end_chain(&w, heads, n_heads);
                long long first = atoll(PQgetvalue(res, i, 5));
                if (since && seq < first) {
                    hub_chain_begin(&w, chain, seq, hash); /* the row before: trusted */
                    w.last_id = id;
                    continue;
                }
                /* From the start; or, when the row before the first one
                 * asked for is gone, one before it, so the gap shows. */
                hub_chain_begin(&w, chain, first <= 1 ? 0 : first - 2, NULL);
            }
            hub_chain_row(&w, id, seq, hash, PQgetvalue(res, i, 4),
                          (size_t)PQgetlength(res, i, 4));
        }
        PQclear(res);
        res = NULL;
        if (n < FETCH_ROWS) break;
    }
    end_chain(&w, heads, n_heads);
    /* Chains whose every row is gone. */
    for (int i = 0; i < n_heads && !since; i++) {
        if (heads[i].walked || heads[i].seq == 0) continue;
        hub_chain_begin(&w, heads[i].chain, 0, NULL);
        hub_chain_end(&w, heads[i].seq, heads[i].hash);
    }
    /* Rows with no place at all (possible only with the table's NOT NULL
     * constraints dropped). */
    if (!(res = ctl_pg_query(conn, "audit",
                             since ? "SELECT id FROM crvs.audit_log WHERE (chain IS NULL OR seq IS NULL "
                                     "OR hash IS NULL) AND at >= $1::timestamptz ORDER BY id"
                                   : "SELECT id FROM crvs.audit_log WHERE chain IS NULL OR seq IS NULL "
                                     "OR hash IS NULL ORDER BY id",
                             since ? 1 : 0, since ? params : NULL)))
        goto out;
    for (int i = 0; i < PQntuples(res); i++) hub_chain_unchained(&w, atoll(PQgetvalue(res, i, 0)));
    PQclear(res);
    res = NULL;
    if (anchor && check_anchor(conn, anchor, &w) != 0) goto out;
    if (v.shown > MAX_SHOWN) printf("audit verify: ... and %lld more\n", v.shown - MAX_SHOWN);
    printf("audit verify: %lld rows in %d chains checked%s: %lld problem%s\n", w.rows, n_heads,
           since ? " (since the time given)" : "", w.problems, w.problems == 1 ? "" : "s");
    status = w.problems ? CTL_FAILED : CTL_OK;
out:
    PQclear(res);
    for (int i = 0; i < n_heads; i++) free(heads[i].chain);
    free(heads);
    PQfinish(conn);
    return status;
usage:
    fprintf(stderr, "usage: crvsctl audit verify [--since TIMESTAMP] [--anchor FILE]\n");
    return CTL_USAGE;
}

static int audit_anchor(ctl *c, int argc, char **argv)
{
    (void)argv;
    if (argc != 1) {
        fprintf(stderr, "usage: crvsctl audit anchor\n");
        return CTL_USAGE;
    }
    PGconn *conn = ctl_pg_connect(c);
    if (!conn) return CTL_FAILED;
    PGresult *res = ctl_pg_query(
        conn, "audit",
        "SELECT chain, seq, encode(hash, 'hex'), coalesce(id::text, '-'), "
        "coalesce(to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), '-') "
        "FROM crvs.audit_chain WHERE seq > 0 ORDER BY chain",
        0, NULL);
    if (!res) {
        PQfinish(conn);
        return CTL_FAILED;
    }
    printf("# crvs audit anchor: chain, number, hash, row id and time of each chain's head.\n"
           "# Keep it outside the database; crvsctl audit verify --anchor FILE checks it.\n");
    for (int i = 0; i < PQntuples(res); i++)
        printf("%s %s %s %s %s\n", PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
               PQgetvalue(res, i, 2), PQgetvalue(res, i, 3), PQgetvalue(res, i, 4));
    PQclear(res);
    PQfinish(conn);
    return CTL_OK;
}

int ctl_audit(ctl *c, int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "verify")) return audit_verify(c, argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "anchor")) return audit_anchor(c, argc - 1, argv + 1);
    fprintf(stderr, "usage: crvsctl audit verify [--since TIMESTAMP] [--anchor FILE]\n"
                    "       crvsctl audit anchor\n");
    return CTL_USAGE;
}
