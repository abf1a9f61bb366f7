/* crvsctl serve: the operators' console, one read-only page.
 *
 *   GET /             the page (console/index.html, console.js, console.css,
 *                     embedded at build time; no external resources)
 *   GET /api/status   the status document of `crvsctl status --json`, plus
 *                     lag samples and per-minute throughput of the last hour
 *                     and the newest open reconciliation items (IDs masked)
 *
 * A sampler (this thread) gathers the document every --interval seconds
 * and keeps the serialised latest one; HTTP requests (libmicrohttpd's
 * thread) only copy it, so any number of viewers costs PostgreSQL and the
 * broker one gathering per interval. The lag chart is sampled here: it
 * covers the time since the console started, up to an hour. Throughput per
 * minute comes from the services' audit rows, so it covers the whole hour.
 *
 * Bound to 127.0.0.1 by default. Bound anywhere else, a token is required
 * (--token-file, a file readable by its owner only): /api/status then
 * wants "Authorization: Bearer <token>", and only there: a token in the
 * URL's query is refused, since URLs end up in proxies' and browsers'
 * histories and logs. The page takes it from its address's fragment
 * (#token=..., which the browser never sends), keeps it for the tab and
 * removes it from the address bar. The static files hold no data and need
 * no token. */
#include <arpa/inet.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

#include "ctl.h"
#include "ctl_pg.h"
#include "hub_http.h"

typedef struct ctl_asset {
    const char *name;
    const unsigned char *data;
    size_t len;
} ctl_asset;
extern const ctl_asset ctl_console_assets[]; /* ctl_console_assets.c, generated */

#define HISTORY_S 3600

typedef struct console {
    pthread_mutex_t lock;
    char *snapshot; /* latest /api/status body, NULL until the first gathering */
    size_t snapshot_len;
    char token[256]; /* empty: none required */
} console;

static volatile sig_atomic_t serve_stop;

static void on_serve_signal(int sig)
{
    (void)sig;
    serve_stop = 1;
}

/* ---- HTTP ------------------------------------------------------------------ */

static const char *asset_type(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (dot && !strcmp(dot, ".html")) return "text/html; charset=utf-8";
    if (dot && !strcmp(dot, ".js")) return "text/javascript; charset=utf-8";
    if (dot && !strcmp(dot, ".css")) return "text/css; charset=utf-8";
    return "application/octet-stream";
}

/* Compares in time independent of where the first difference is. */
static bool token_equal(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char diff = (unsigned char)(la != lb);
    for (size_t i = 0; i < la; i++) diff |= (unsigned char)(a[i] ^ b[i % (lb ? lb : 1)]);
    return diff == 0;
}

static bool authorised(const console *con, const hub_http_request *req)
{
    if (!con->token[0]) return true;
    const char *auth = hub_http_request_header(req, "Authorization");
    return auth && !strncmp(auth, "Bearer ", 7) && token_equal(auth + 7, con->token);
}

static void set_text(hub_http_reply *out, unsigned status, const char *text)
{
    out->status = status;
    out->body = strdup(text);
    out->len = out->body ? strlen(text) : 0;
}

static bool route(void *opaque, const hub_http_request *req, hub_http_reply *out)
{
    console *con = opaque;
    const char *path = hub_http_request_path(req);
    if (!strcmp(path, "/api/status")) {
        if (!authorised(con, req)) {
            set_text(out, 401, "token required (Authorization: Bearer ...)\n");
            out->headers[0] = "WWW-Authenticate";
            out->headers[1] = "Bearer";
            return true;
        }
        pthread_mutex_lock(&con->lock);
        if (con->snapshot && (out->body = malloc(con->snapshot_len))) {
            memcpy(out->body, con->snapshot, con->snapshot_len);
            out->len = con->snapshot_len;
            out->content_type = "application/json";
        }
        pthread_mutex_unlock(&con->lock);
        if (!out->body) set_text(out, 503, "the first status is being gathered\n");
        return true;
    }
    const char *name = !strcmp(path, "/") ? "index.html" : path + 1;
    for (const ctl_asset *a = ctl_console_assets; a->name; a++) {
        if (strcmp(a->name, name)) continue;
        out->body = malloc(a->len ? a->len : 1);
        if (!out->body) return false;
        memcpy(out->body, a->data, a->len);
        out->len = a->len;
        out->content_type = asset_type(a->name);
        out->headers[0] = "Content-Security-Policy";
        out->headers[1] = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'";
        out->headers[2] = "Referrer-Policy";
        out->headers[3] = "no-referrer";
        return true;
    }
    return false;
}

/* ---- gathering -------------------------------------------------------------- */

/* Per-minute counts of the services' audit rows over the last hour:
 * {"from": <unix minute>, "series": {svc: {"stored": [60], "dead_lettered": [60]}}}. */
static json_t *throughput_history(PGconn *conn)
{
    /* The database's clock, not ours, says which minutes these are. */
    PGresult *res = ctl_pg_query(
        conn, "serve",
        "SELECT extract(epoch FROM date_trunc('minute', now()) - interval '59 minutes')::bigint",
        0, NULL);
    if (!res) return NULL;
    json_int_t from = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    /* at >= a stable expression: the BRIN index on audit_log.at applies. */
    res = ctl_pg_query(conn, "serve",
                    "SELECT service, ((extract(epoch FROM date_trunc('minute', at)) - "
                    "extract(epoch FROM date_trunc('minute', now()) - interval '59 minutes')) / 60)"
                    "::integer AS minute, "
                    "count(*) FILTER (WHERE action <> 'dead_letter'), "
                    "count(*) FILTER (WHERE action = 'dead_letter') "
                    "FROM crvs.audit_log "
                    "WHERE at >= date_trunc('minute', now()) - interval '59 minutes' "
                    "AND action IN ('create', 'correct', 'duplicate', 'dead_letter') "
                    "GROUP BY 1, 2 ORDER BY 1, 2",
                    0, NULL);
    if (!res) return NULL;
    json_t *series = json_object();
    for (int r = 0; r < PQntuples(res); r++) {
        const char *svc = PQgetvalue(res, r, 0);
        int minute = atoi(PQgetvalue(res, r, 1));
        if (minute < 0 || minute >= 60) continue;
        json_t *s = json_object_get(series, svc);
        if (!s) {
            json_t *stored = json_array(), *dead = json_array();
            for (int i = 0; i < 60; i++) {
                json_array_append_new(stored, json_integer(0));
                json_array_append_new(dead, json_integer(0));
            }
            s = json_pack("{s:o, s:o}", "stored", stored, "dead_lettered", dead);
            json_object_set_new(series, svc, s);
        }
        json_array_set_new(json_object_get(s, "stored"), (size_t)minute,
                           json_integer(strtoll(PQgetvalue(res, r, 2), NULL, 10)));
        json_array_set_new(json_object_get(s, "dead_lettered"), (size_t)minute,
                           json_integer(strtoll(PQgetvalue(res, r, 3), NULL, 10)));
    }
    PQclear(res);
    return json_pack("{s:I, s:o}", "from", from, "series", series);
}

/* The newest open items, personal IDs masked as `crvsctl reconcile list`
 * shows them; an empty array when the table does not exist. */
static json_t *reconciliation_items(PGconn *conn, json_t *doc)
{
    json_t *items = json_array();
    if (!json_is_object(json_object_get(doc, "reconciliation"))) return items;
    PGresult *res = ctl_pg_query(
        conn, "serve",
        "SELECT id, to_char(detected_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
        "reason, coalesce(personal_id_masked, '-'), detail FROM crvs.reconciliation_item "
        "WHERE status = 'open' ORDER BY id DESC LIMIT 50",
        0, NULL);
    if (!res) return items;
    for (int r = 0; r < PQntuples(res); r++)
        json_array_append_new(items, json_pack("{s:I, s:s, s:s, s:s, s:s}", "id",
                                               (json_int_t)strtoll(PQgetvalue(res, r, 0), NULL, 10),
                                               "detected_at", PQgetvalue(res, r, 1), "reason",
                                               PQgetvalue(res, r, 2), "person",
                                               PQgetvalue(res, r, 3), "detail",
                                               PQgetvalue(res, r, 4)));
    PQclear(res);
    return items;
}

/* Appends this gathering's lag per service and drops samples older than an
 * hour. */
static void sample_lag(json_t *history, json_t *doc, json_int_t now)
{
    json_t *lag = json_object();
    size_t i;
    json_t *svc;
    json_array_foreach(json_object_get(doc, "services"), i, svc)
        json_object_set(lag, json_string_value(json_object_get(svc, "service")),
                        json_object_get(svc, "lag_messages"));
    json_array_append_new(history, json_pack("{s:I, s:o}", "t", now, "lag", lag));
    while (json_array_size(history) &&
           json_integer_value(json_object_get(json_array_get(history, 0), "t")) < now - HISTORY_S)
        json_array_remove(history, 0);
}

static void publish_snapshot(console *con, json_t *doc)
{
    char *text = json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(12));
    if (!text) return;
    pthread_mutex_lock(&con->lock);
    free(con->snapshot);
    con->snapshot = text;
    con->snapshot_len = strlen(text);
    pthread_mutex_unlock(&con->lock);
}

/* ---- command ---------------------------------------------------------------- */

static bool is_loopback(const char *address)
{
    struct addrinfo hints = {0}, *ai = NULL;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(address, NULL, &hints, &ai) != 0) return false;
    bool loop = true;
    for (struct addrinfo *a = ai; a; a = a->ai_next) {
        if (a->ai_family == AF_INET) {
            const struct sockaddr_in *in = (const struct sockaddr_in *)a->ai_addr;
            loop = loop && (ntohl(in->sin_addr.s_addr) >> 24) == 127;
        } else if (a->ai_family == AF_INET6) {
            const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)a->ai_addr;
            loop = loop && IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
        } else {
            loop = false;
        }
    }
    freeaddrinfo(ai);
    return loop;
}

static int read_token(const char *path, char *out, size_t out_size)
{
    struct stat st;
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        return -1;
    }
    if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077)) {
        fprintf(stderr, "crvsctl serve: %s is readable by others: chmod 600 it\n", path);
        fclose(f);
        return -1;
    }
    if (!fgets(out, (int)out_size, f)) out[0] = '\0';
    fclose(f);
    out[strcspn(out, "\r\n")] = '\0';
    if (strlen(out) < 16) {
        fprintf(stderr, "crvsctl serve: the token in %s is shorter than 16 characters\n", path);
        return -1;
    }
    return 0;
}

static int usage(void)
{
    fprintf(stderr,
            "usage: crvsctl serve [--bind ADDR] [--port N] [--token-file F] [--interval S]\n"
            "                     [--tls-cert F --tls-key F]\n"
            "                     [--topic T]... [--max-lag N] [--max-commit-age S]\n"
            "                     [--max-dead-letters-per-hour N] [--max-linker-age S]\n"
            "the console: a read-only page at http://ADDR:PORT/ (default 127.0.0.1:9400),\n"
            "https:// with --tls-cert and --tls-key (PEM files);\n"
            "a token file is required when ADDR is not a loopback address\n");
    return CTL_USAGE;
}

int ctl_serve(ctl *c, int argc, char **argv)
{
    static const struct option opts[] = {{"bind", required_argument, NULL, 'b'},
                                         {"port", required_argument, NULL, 'p'},
                                         {"token-file", required_argument, NULL, 'T'},
                                         {"interval", required_argument, NULL, 'i'},
                                         {"topic", required_argument, NULL, 't'},
                                         {"max-lag", required_argument, NULL, 'l'},
                                         {"max-commit-age", required_argument, NULL, 'a'},
                                         {"max-dead-letters-per-hour", required_argument, NULL, 'd'},
                                         {"max-linker-age", required_argument, NULL, 'k'},
                                         {"tls-cert", required_argument, NULL, 'C'},
                                         {"tls-key", required_argument, NULL, 'K'},
                                         {NULL, 0, NULL, 0}};
    ctl_status_opts o = {.max_lag = -1, .max_commit_age_s = -1, .max_dl_per_hour = -1,
                         .max_linker_age_s = -1};
    const char *bind = "127.0.0.1", *token_file = NULL, *tls_cert = NULL, *tls_key = NULL;
    int port = 9400, interval = 10, opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "b:p:T:i:t:l:a:d:k:C:K:", opts, NULL)) != -1) {
        char *end = NULL;
        long long v = optarg ? strtoll(optarg, &end, 10) : 0;
        bool number = optarg && end != optarg && *end == '\0' && v >= 0;
        switch (opt) {
        case 'b': bind = optarg; break;
        case 'T': token_file = optarg; break;
        case 'C': tls_cert = optarg; break;
        case 'K': tls_key = optarg; break;
        case 'p':
            if (!number || v < 1 || v > 65535) return usage();
            port = (int)v;
            break;
        case 'i':
            if (!number || v < 1 || v > 3600) return usage();
            interval = (int)v;
            break;
        case 't':
            if (o.n_topics == CTL_STATUS_MAX_TOPICS) return usage();
            o.topics[o.n_topics++] = optarg;
            break;
        case 'l':
            if (!number) return usage();
            o.max_lag = v;
            break;
        case 'a':
            if (!number) return usage();
            o.max_commit_age_s = v;
            break;
        case 'd':
            if (!number) return usage();
            o.max_dl_per_hour = v;
            break;
        case 'k':
            if (!number) return usage();
            o.max_linker_age_s = v;
            break;
        default: return usage();
        }
    }
    if (optind != argc) return usage();

    console con = {.token = ""};
    pthread_mutex_init(&con.lock, NULL);
    int status = CTL_FAILED;
    PGconn *conn = NULL;
    rd_kafka_t *rk = NULL;
    hub_http *http = NULL;
    json_t *history = json_array(), *last_good = NULL;
    char err[512];
    if (token_file && read_token(token_file, con.token, sizeof con.token) != 0) goto out;
    if (!con.token[0] && !is_loopback(bind)) {
        fprintf(stderr, "crvsctl serve: bound to %s, which is not a loopback address, the console "
                        "needs --token-file\n", bind);
        goto out;
    }
    if (!(conn = ctl_pg_connect(c)) || !(rk = ctl_status_kafka(c))) goto out;
    hub_http_handlers handlers = {.route = route, .opaque = &con, .tls_cert_file = tls_cert,
                                  .tls_key_file = tls_key};
    http = hub_http_start(bind, port, &handlers, err, sizeof err);
    if (!http) {
        fprintf(stderr, "crvsctl serve: %s\n", err);
        goto out;
    }
    fprintf(stderr, "crvsctl serve: console on %s://%s:%d/%s\n", tls_cert ? "https" : "http",
            bind, port, con.token[0] ? "#token=... (from the token file)" : "");
    struct sigaction sa = {0};
    sa.sa_handler = on_serve_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    while (!serve_stop) {
        if (PQstatus(conn) != CONNECTION_OK) PQreset(conn);
        json_int_t now = (json_int_t)time(NULL);
        json_t *doc = ctl_status_gather(rk, conn, &o);
        if (doc) {
            json_decref(ctl_status_check(doc, &o));
            sample_lag(history, doc, now);
            json_t *tp = throughput_history(conn);
            json_object_set_new(doc, "history", json_pack("{s:O, s:o}", "lag", history, "throughput",
                                                          tp ? tp : json_null()));
            json_object_set_new(doc, "reconciliation_items", reconciliation_items(conn, doc));
            json_decref(last_good);
            last_good = json_incref(doc);
        } else if (last_good) {
            /* Keep showing the last figures, marked stale. */
            doc = json_deep_copy(last_good);
            json_object_set_new(doc, "error", json_string("PostgreSQL or the broker did not answer; "
                                                          "the figures are from the last success"));
        } else {
            doc = json_pack("{s:[], s:[], s:n, s:s}", "services", "breaches", "reconciliation",
                            "error", "PostgreSQL or the broker did not answer");
            char t[32];
            time_t tt = (time_t)now;
            struct tm tm;
            gmtime_r(&tt, &tm);
            strftime(t, sizeof t, "%Y-%m-%dT%H:%M:%SZ", &tm);
            json_object_set_new(doc, "time", json_string(t));
        }
        json_object_set_new(doc, "now", json_integer(now));
        json_object_set_new(doc, "refresh_s", json_integer(interval));
        publish_snapshot(&con, doc);
        json_decref(doc);
        for (int i = 0; i < interval * 10 && !serve_stop; i++) {
            struct timespec ts = {0, 100 * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    status = CTL_OK;
out:
    hub_http_stop(http);
    if (rk) rd_kafka_destroy(rk);
    if (conn) PQfinish(conn);
    json_decref(history);
    json_decref(last_good);
    free(con.snapshot);
    pthread_mutex_destroy(&con.lock);
    return status;
}
