#include "hub_registry.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hub_build.h"
#include "hub_log.h"

#define PREFIX "schema.registry."

/* Every schema.registry.* key the client knows; anything else is refused. */
static const char *const known_keys[] = {
    "url",
    "basic.auth.user.info",
    "basic.auth.file",
    "ssl.ca.location",
    "ssl.certificate.location",
    "ssl.key.location",
    "ssl.verify",
    "connect.timeout.ms",
    "timeout.ms",
    "negative.cache.ms",
};

bool hub_registry_configured(const hub_config *cfg)
{
    const char *url = hub_config_get(cfg, PREFIX "url");
    return url && *url;
}

int hub_registry_subject(const char *topic, char *out, size_t out_size)
{
    int n = snprintf(out, out_size, "%s-value", topic);
    return n < 0 || (size_t)n >= out_size ? -1 : 0;
}

const char *hub_registry_status_name(hub_registry_status st)
{
    switch (st) {
    case HUB_REGISTRY_OK: return "ok";
    case HUB_REGISTRY_NOT_FOUND: return "not_found";
    case HUB_REGISTRY_UNAVAILABLE: return "unavailable";
    case HUB_REGISTRY_REFUSED: return "refused";
    case HUB_REGISTRY_BAD_RESPONSE: return "bad_response";
    }
    return "unknown";
}

hub_schema_status hub_registry_fetch(void *reg, int32_t id, char **schema_json, char *errstr,
                                     size_t errstr_size)
{
    switch (hub_registry_get_by_id(reg, id, schema_json, errstr, errstr_size)) {
    case HUB_REGISTRY_OK: return HUB_SCHEMA_OK;
    case HUB_REGISTRY_NOT_FOUND: return HUB_SCHEMA_UNKNOWN;
    case HUB_REGISTRY_BAD_RESPONSE: return HUB_SCHEMA_INVALID;
    default: return HUB_SCHEMA_TRANSIENT;
    }
}

#if HUB_HAVE_REGISTRY

#include <curl/curl.h>

/* Larger answers are refused: a schema is a few kilobytes. */
#define MAX_RESPONSE_BYTES (8u << 20)
#define MAX_NEGATIVE_ENTRIES 1024

typedef struct negative {
    int32_t id;
    int64_t until_ms;
} negative;

typedef struct buffer {
    char *data;
    size_t len, cap;
    bool too_big;
} buffer;

struct hub_registry {
    CURL *curl;
    struct curl_slist *get_headers, *post_headers;
    char **urls;   /* without trailing '/'; hold no credentials (refused) */
    size_t n_urls;
    size_t current; /* index of the URL that answered last */
    char *userpwd; /* "user:password" or NULL; wiped on destroy */
    long connect_timeout_ms, timeout_ms;
    int64_t negative_ms;
    negative *neg;
    size_t n_neg;
    buffer body;
    char curl_err[CURL_ERROR_SIZE];
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- configuration ------------------------------------------------------- */

static int check_key(const char *name, const char *value, void *opaque)
{
    (void)value;
    for (size_t i = 0; i < sizeof known_keys / sizeof *known_keys; i++)
        if (strcmp(name, known_keys[i]) == 0) return 0;
    *(const char **)opaque = name;
    return 1;
}

static int get_ms(const hub_config *cfg, const char *name, long dflt, long min, long *out,
                  char *errstr, size_t errstr_size)
{
    char key[96];
    snprintf(key, sizeof key, PREFIX "%s", name);
    const char *v = hub_config_get(cfg, key);
    if (!v) {
        *out = dflt;
        return 0;
    }
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end != '\0' || n < min || n > 3600000) {
        snprintf(errstr, errstr_size, "%s must be an integer from %ld to 3600000, got '%s'", key,
                 min, v);
        return -1;
    }
    *out = n;
    return 0;
}

static int get_bool(const hub_config *cfg, const char *name, bool dflt, bool *out,
                    char *errstr, size_t errstr_size)
{
    char key[96];
    snprintf(key, sizeof key, PREFIX "%s", name);
    const char *v = hub_config_get(cfg, key);
    *out = dflt;
    if (!v) return 0;
    if (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes") || !strcmp(v, "on"))
        *out = true;
    else if (!strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "no") || !strcmp(v, "off"))
        *out = false;
    else {
        snprintf(errstr, errstr_size, "%s must be true or false, got '%s'", key, v);
        return -1;
    }
    return 0;
}

/* Splits the comma-separated list into reg->urls. A URL must be http(s) and
 * may not carry user:password@ (credentials belong in the basic.auth
 * settings, so that URLs can be logged). */
static int parse_urls(hub_registry *reg, const char *list, char *errstr, size_t errstr_size)
{
    size_t n = 1;
    for (const char *p = list; *p; p++)
        if (*p == ',') n++;
    reg->urls = calloc(n, sizeof *reg->urls);
    if (!reg->urls) goto oom;
    const char *p = list;
    while (*p) {
        const char *comma = strchr(p, ',');
        const char *end = comma ? comma : p + strlen(p);
        while (p < end && (*p == ' ' || *p == '\t')) p++;
        const char *e = end;
        while (e > p && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '/')) e--;
        if (e > p) {
            size_t len = (size_t)(e - p);
            char *u = strndup(p, len);
            if (!u) goto oom;
            reg->urls[reg->n_urls++] = u;
            const char *host = NULL;
            if (!strncmp(u, "http://", 7)) host = u + 7;
            else if (!strncmp(u, "https://", 8)) host = u + 8;
            if (!host || !*host) {
                snprintf(errstr, errstr_size,
                         PREFIX "url: '%s' is not an http:// or https:// URL", u);
                return -1;
            }
            const char *at = strchr(host, '@'), *slash = strchr(host, '/');
            if (at && (!slash || at < slash)) {
                snprintf(errstr, errstr_size,
                         PREFIX "url: URL number %zu holds credentials; put them in "
                         PREFIX "basic.auth.user.info or " PREFIX "basic.auth.file",
                         reg->n_urls);
                return -1;
            }
        }
        p = comma ? comma + 1 : end;
    }
    if (reg->n_urls == 0) {
        snprintf(errstr, errstr_size, PREFIX "url: no URL in '%s'", list);
        return -1;
    }
    return 0;
oom:
    snprintf(errstr, errstr_size, "out of memory");
    return -1;
}

/* Reads "user:password" from the first line of path. Error messages name the
 * file, never its content. */
static char *read_auth_file(const char *path, char *errstr, size_t errstr_size)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(errstr, errstr_size, PREFIX "basic.auth.file: %s: cannot open: %s", path,
                 strerror(errno));
        return NULL;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len = getline(&line, &cap, f);
    fclose(f);
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' '))
        line[--len] = '\0';
    if (len <= 0 || !strchr(line, ':')) {
        snprintf(errstr, errstr_size,
                 PREFIX "basic.auth.file: %s: the first line is not user:password", path);
        if (line) explicit_bzero(line, cap);
        free(line);
        return NULL;
    }
    return line;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *opaque)
{
    buffer *b = opaque;
    size_t n = size * nmemb;
    if (b->len + n + 1 > MAX_RESPONSE_BYTES) {
        b->too_big = true;
        return 0; /* aborts the transfer */
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1) cap *= 2;
        char *grown = realloc(b->data, cap);
        if (!grown) return 0;
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

#define SETOPT(opt, val)                                                             \
    do {                                                                             \
        if (curl_easy_setopt(reg->curl, (opt), (val)) != CURLE_OK) {                 \
            snprintf(errstr, errstr_size, "libcurl refused option %s", #opt);        \
            goto fail;                                                               \
        }                                                                            \
    } while (0)

hub_registry *hub_registry_new(const hub_config *cfg, char *errstr, size_t errstr_size)
{
    const char *bad = NULL;
    if (hub_config_foreach(cfg, PREFIX, check_key, &bad) != 0) {
        snprintf(errstr, errstr_size, "unknown setting '" PREFIX "%s'", bad);
        return NULL;
    }
    if (!hub_registry_configured(cfg)) {
        snprintf(errstr, errstr_size, PREFIX "url is not set");
        return NULL;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(errstr, errstr_size, "libcurl initialisation failed");
        return NULL;
    }
    hub_registry *reg = calloc(1, sizeof *reg);
    if (!reg) {
        curl_global_cleanup();
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    bool verify;
    long negative_ms;
    if (parse_urls(reg, hub_config_get(cfg, PREFIX "url"), errstr, errstr_size) != 0 ||
        get_ms(cfg, "connect.timeout.ms", 3000, 1, &reg->connect_timeout_ms, errstr,
               errstr_size) != 0 ||
        get_ms(cfg, "timeout.ms", 10000, 1, &reg->timeout_ms, errstr, errstr_size) != 0 ||
        get_ms(cfg, "negative.cache.ms", 30000, 0, &negative_ms, errstr, errstr_size) != 0 ||
        get_bool(cfg, "ssl.verify", true, &verify, errstr, errstr_size) != 0)
        goto fail;
    reg->negative_ms = negative_ms;

    const char *user_info = hub_config_get(cfg, PREFIX "basic.auth.user.info");
    const char *auth_file = hub_config_get(cfg, PREFIX "basic.auth.file");
    if (user_info && auth_file) {
        snprintf(errstr, errstr_size,
                 "set " PREFIX "basic.auth.user.info or " PREFIX "basic.auth.file, not both");
        goto fail;
    }
    if (user_info) {
        if (!strchr(user_info, ':')) {
            snprintf(errstr, errstr_size, PREFIX "basic.auth.user.info must be user:password");
            goto fail;
        }
        if (!(reg->userpwd = strdup(user_info))) goto oom;
    } else if (auth_file) {
        if (!(reg->userpwd = read_auth_file(auth_file, errstr, errstr_size))) goto fail;
    }

    if (!(reg->curl = curl_easy_init())) {
        snprintf(errstr, errstr_size, "libcurl: cannot create a handle");
        goto fail;
    }
    static const char accept[] = "Accept: application/vnd.schemaregistry.v1+json, "
                                 "application/vnd.schemaregistry+json; q=0.9, "
                                 "application/json; q=0.5";
    struct curl_slist *h;
    if (!(h = curl_slist_append(NULL, accept))) goto oom;
    reg->get_headers = h;
    if (!(h = curl_slist_append(NULL, accept))) goto oom;
    reg->post_headers = h;
    if (!curl_slist_append(h, "Content-Type: application/vnd.schemaregistry.v1+json") ||
        !curl_slist_append(h, "Expect:")) /* no 100-continue round trip */
        goto oom;

    SETOPT(CURLOPT_NOSIGNAL, 1L);
    SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
    SETOPT(CURLOPT_USERAGENT, "crvs-hub/" HUB_VERSION);
    SETOPT(CURLOPT_ERRORBUFFER, reg->curl_err);
    SETOPT(CURLOPT_WRITEFUNCTION, on_body);
    SETOPT(CURLOPT_WRITEDATA, &reg->body);
    SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
    SETOPT(CURLOPT_SSL_VERIFYPEER, verify ? 1L : 0L);
    SETOPT(CURLOPT_SSL_VERIFYHOST, verify ? 2L : 0L);
    const char *ca = hub_config_get(cfg, PREFIX "ssl.ca.location");
    const char *cert = hub_config_get(cfg, PREFIX "ssl.certificate.location");
    const char *key = hub_config_get(cfg, PREFIX "ssl.key.location");
    if (ca) SETOPT(CURLOPT_CAINFO, ca);
    if (cert) SETOPT(CURLOPT_SSLCERT, cert);
    if (key) SETOPT(CURLOPT_SSLKEY, key);
    if (reg->userpwd) {
        SETOPT(CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        SETOPT(CURLOPT_USERPWD, reg->userpwd);
    }
    if (!verify) hub_log_warn("event=registry_tls_verify_off setting=" PREFIX "ssl.verify");
    hub_log_info("event=registry_configured urls=%zu first=%s auth=%s timeout_ms=%ld "
                 "connect_timeout_ms=%ld",
                 reg->n_urls, reg->urls[0], reg->userpwd ? "basic" : "none", reg->timeout_ms,
                 reg->connect_timeout_ms);
    return reg;
oom:
    snprintf(errstr, errstr_size, "out of memory");
fail:
    hub_registry_destroy(reg);
    return NULL;
}

void hub_registry_destroy(hub_registry *reg)
{
    if (!reg) return;
    if (reg->curl) curl_easy_cleanup(reg->curl);
    curl_slist_free_all(reg->get_headers);
    curl_slist_free_all(reg->post_headers);
    for (size_t i = 0; i < reg->n_urls; i++) free(reg->urls[i]);
    free(reg->urls);
    if (reg->userpwd) {
        explicit_bzero(reg->userpwd, strlen(reg->userpwd));
        free(reg->userpwd);
    }
    free(reg->neg);
    free(reg->body.data);
    free(reg);
    curl_global_cleanup();
}

/* ---- one request --------------------------------------------------------- */

typedef struct reply {
    long status;
    json_t *json;       /* parsed body or NULL */
    int error_code;     /* the body's error_code, 0 when none */
    const char *message; /* the body's message (borrowed from json), or "" */
} reply;

static void reply_clear(reply *r)
{
    json_decref(r->json);
    memset(r, 0, sizeof *r);
}

/* Least time left for trying the next URL within one call. */
#define NEXT_NODE_MIN_MS 50

/* Sends one request, moving along the URL list on transport errors until one
 * answers or timeout.ms is spent. On OK, *r holds the HTTP status and the
 * parsed body (whatever the status); otherwise errstr says why. */
static hub_registry_status perform(hub_registry *reg, const char *path, const char *post_body,
                                   reply *r, char *errstr, size_t errstr_size)
{
    memset(r, 0, sizeof *r);
    r->message = "";
    int64_t deadline = now_ms() + reg->timeout_ms;
    char url[2048];
    char last_err[CURL_ERROR_SIZE + 64] = "";
    for (size_t attempt = 0; attempt < reg->n_urls; attempt++) {
        size_t idx = (reg->current + attempt) % reg->n_urls;
        int64_t remaining = deadline - now_ms();
        /* The next node only gets a real chance: a few milliseconds left
         * after a node that timed out (curl's timer and ours differ by
         * about that) would make the outcome a race. */
        if (remaining <= 0 || (attempt > 0 && remaining < NEXT_NODE_MIN_MS)) break;
        if ((size_t)snprintf(url, sizeof url, "%s%s", reg->urls[idx], path) >= sizeof url) {
            snprintf(errstr, errstr_size, "request URL too long");
            return HUB_REGISTRY_UNAVAILABLE;
        }
        reg->body.len = 0;
        reg->body.too_big = false;
        reg->curl_err[0] = '\0';
        long connect = reg->connect_timeout_ms < remaining ? reg->connect_timeout_ms
                                                           : (long)remaining;
        curl_easy_setopt(reg->curl, CURLOPT_URL, url);
        curl_easy_setopt(reg->curl, CURLOPT_TIMEOUT_MS, (long)remaining);
        curl_easy_setopt(reg->curl, CURLOPT_CONNECTTIMEOUT_MS, connect);
        if (post_body) {
            curl_easy_setopt(reg->curl, CURLOPT_HTTPHEADER, reg->post_headers);
            curl_easy_setopt(reg->curl, CURLOPT_POSTFIELDS, post_body);
            curl_easy_setopt(reg->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(post_body));
        } else {
            curl_easy_setopt(reg->curl, CURLOPT_HTTPHEADER, reg->get_headers);
            curl_easy_setopt(reg->curl, CURLOPT_HTTPGET, 1L);
        }
        CURLcode rc = curl_easy_perform(reg->curl);
        if (rc == CURLE_OK) {
            if (idx != reg->current)
                hub_log_warn("event=registry_failover from=%s to=%s", reg->urls[reg->current],
                             reg->urls[idx]);
            reg->current = idx;
            curl_easy_getinfo(reg->curl, CURLINFO_RESPONSE_CODE, &r->status);
            if (reg->body.len) r->json = json_loadb(reg->body.data, reg->body.len, 0, NULL);
            json_t *code = json_object_get(r->json, "error_code");
            if (json_is_integer(code)) r->error_code = (int)json_integer_value(code);
            const char *msg = json_string_value(json_object_get(r->json, "message"));
            if (msg) r->message = msg;
            return HUB_REGISTRY_OK;
        }
        snprintf(last_err, sizeof last_err, "%s: %s", reg->urls[idx],
                 reg->body.too_big ? "response larger than 8 MiB"
                 : reg->curl_err[0] ? reg->curl_err
                                    : curl_easy_strerror(rc));
        if (reg->n_urls > 1)
            hub_log_warn("event=registry_unreachable url=%s error=\"%s\"", reg->urls[idx],
                         reg->body.too_big ? "response too large" : reg->curl_err);
    }
    /* Start with the next URL next time. */
    reg->current = (reg->current + 1) % reg->n_urls;
    snprintf(errstr, errstr_size, "schema registry unreachable within %ld ms (%s)",
             reg->timeout_ms, last_err[0] ? last_err : "timeout spent before an attempt");
    return HUB_REGISTRY_UNAVAILABLE;
}

/* Maps a non-200 answer. not_found_codes: the error codes that are a
 * definitive "no such thing" for this call, 0-terminated. */
static hub_registry_status classify(const hub_registry *reg, const char *what, const reply *r,
                                    const int *not_found_codes, char *errstr,
                                    size_t errstr_size)
{
    const char *url = reg->urls[reg->current];
    const char *sep = *what ? ": " : "";
    if (r->status == 404) {
        for (const int *c = not_found_codes; *c; c++) {
            if (r->error_code == *c) {
                snprintf(errstr, errstr_size, "%s%snot found in the schema registry (%d %s)",
                         what, sep, r->error_code, r->message);
                return HUB_REGISTRY_NOT_FOUND;
            }
        }
        /* A 404 without the registry's error code is most likely a wrong
         * base URL (a proxy, another service): not proof that the id does
         * not exist. */
        hub_log_error("event=registry_misconfigured url=%s status=404 error_code=%d "
                      "hint=\"check " PREFIX "url\"",
                      url, r->error_code);
        snprintf(errstr, errstr_size, "%s%sHTTP 404 from %s without a registry error code",
                 what, sep, url);
        return HUB_REGISTRY_UNAVAILABLE;
    }
    if (r->status == 401 || r->status == 403) {
        hub_log_error("event=registry_auth_failed url=%s status=%ld "
                      "hint=\"check " PREFIX "basic.auth.* and the registry's ACLs\"",
                      url, r->status);
        snprintf(errstr, errstr_size,
                 "%s%sthe schema registry refused our credentials (HTTP %ld)", what, sep,
                 r->status);
        return HUB_REGISTRY_UNAVAILABLE;
    }
    if (r->status == 409 || r->status == 422) {
        snprintf(errstr, errstr_size, "%s%srefused by the schema registry: HTTP %ld %d %s",
                 what, sep, r->status, r->error_code, r->message);
        return HUB_REGISTRY_REFUSED;
    }
    snprintf(errstr, errstr_size, "%s%sschema registry answered HTTP %ld%s%s", what, sep,
             r->status, *r->message ? ": " : "", r->message);
    return HUB_REGISTRY_UNAVAILABLE;
}

/* The subject's escaped form for a URL path; NULL when out of memory. */
static char *escape(hub_registry *reg, const char *s)
{
    return curl_easy_escape(reg->curl, s, 0);
}

/* ---- negative cache ------------------------------------------------------ */

static bool negative_hit(hub_registry *reg, int32_t id)
{
    int64_t now = now_ms();
    for (size_t i = 0; i < reg->n_neg; i++) {
        if (reg->neg[i].id != id) continue;
        if (now < reg->neg[i].until_ms) return true;
        reg->neg[i] = reg->neg[--reg->n_neg];
        return false;
    }
    return false;
}

static void negative_add(hub_registry *reg, int32_t id)
{
    if (reg->negative_ms <= 0) return;
    int64_t now = now_ms();
    size_t w = 0;
    for (size_t i = 0; i < reg->n_neg; i++) /* drop expired entries */
        if (reg->neg[i].until_ms > now) reg->neg[w++] = reg->neg[i];
    reg->n_neg = w;
    if (!reg->neg) {
        reg->neg = calloc(MAX_NEGATIVE_ENTRIES, sizeof *reg->neg);
        if (!reg->neg) return;
    }
    if (reg->n_neg == MAX_NEGATIVE_ENTRIES) /* full of live entries: forget the oldest */
        memmove(reg->neg, reg->neg + 1, --reg->n_neg * sizeof *reg->neg);
    reg->neg[reg->n_neg++] = (negative){id, now + reg->negative_ms};
}

/* ---- the four calls ------------------------------------------------------ */

/* The "schema" string of a body; BAD_RESPONSE when absent, not Avro, or
 * with references (which this client does not resolve). */
static hub_registry_status take_schema(const reply *r, const char *what, char **schema_json,
                                       char *errstr, size_t errstr_size)
{
    const char *sep = *what ? ": " : "";
    const char *text = json_string_value(json_object_get(r->json, "schema"));
    const char *type = json_string_value(json_object_get(r->json, "schemaType"));
    json_t *refs = json_object_get(r->json, "references");
    if (!text) {
        snprintf(errstr, errstr_size, "%s%sregistry answer has no \"schema\" string", what, sep);
        return HUB_REGISTRY_BAD_RESPONSE;
    }
    if (type && strcmp(type, "AVRO") != 0) {
        snprintf(errstr, errstr_size, "%s%sschema type %s is not AVRO", what, sep, type);
        return HUB_REGISTRY_BAD_RESPONSE;
    }
    if (json_array_size(refs) > 0) {
        snprintf(errstr, errstr_size, "%s%sschema references are not supported", what, sep);
        return HUB_REGISTRY_BAD_RESPONSE;
    }
    if (schema_json && !(*schema_json = strdup(text))) {
        snprintf(errstr, errstr_size, "out of memory");
        return HUB_REGISTRY_UNAVAILABLE;
    }
    return HUB_REGISTRY_OK;
}

hub_registry_status hub_registry_get_by_id(hub_registry *reg, int32_t id, char **schema_json,
                                           char *errstr, size_t errstr_size)
{
    static const int not_found[] = {40403, 40401, 0};
    const char *what = ""; /* the caller names the id (the decoder does) */
    char path[64];
    reply r;
    *schema_json = NULL;
    if (negative_hit(reg, id)) {
        snprintf(errstr, errstr_size, "not found in the schema registry (remembered)");
        return HUB_REGISTRY_NOT_FOUND;
    }
    snprintf(path, sizeof path, "/schemas/ids/%d", (int)id);
    hub_registry_status st = perform(reg, path, NULL, &r, errstr, errstr_size);
    if (st != HUB_REGISTRY_OK) return st;
    if (r.status != 200) {
        st = classify(reg, what, &r, not_found, errstr, errstr_size);
        if (st == HUB_REGISTRY_NOT_FOUND) negative_add(reg, id);
    } else {
        st = take_schema(&r, what, schema_json, errstr, errstr_size);
    }
    reply_clear(&r);
    return st;
}

hub_registry_status hub_registry_latest(hub_registry *reg, const char *subject, int32_t *id,
                                        int *version, char **schema_json, char *errstr,
                                        size_t errstr_size)
{
    static const int not_found[] = {40401, 40402, 0};
    char what[300], path[1024];
    reply r;
    if (schema_json) *schema_json = NULL;
    snprintf(what, sizeof what, "subject %s latest version", subject);
    char *esc = escape(reg, subject);
    if (!esc) {
        snprintf(errstr, errstr_size, "out of memory");
        return HUB_REGISTRY_UNAVAILABLE;
    }
    snprintf(path, sizeof path, "/subjects/%s/versions/latest", esc);
    curl_free(esc);
    hub_registry_status st = perform(reg, path, NULL, &r, errstr, errstr_size);
    if (st != HUB_REGISTRY_OK) return st;
    if (r.status != 200) {
        st = classify(reg, what, &r, not_found, errstr, errstr_size);
        goto out;
    }
    json_t *jid = json_object_get(r.json, "id"), *jver = json_object_get(r.json, "version");
    if (!json_is_integer(jid) || json_integer_value(jid) <= 0 ||
        json_integer_value(jid) > INT32_MAX || !json_is_integer(jver)) {
        snprintf(errstr, errstr_size, "%s: registry answer lacks a valid id and version", what);
        st = HUB_REGISTRY_BAD_RESPONSE;
        goto out;
    }
    st = take_schema(&r, what, schema_json, errstr, errstr_size);
    if (st != HUB_REGISTRY_OK) goto out;
    if (id) *id = (int32_t)json_integer_value(jid);
    if (version) *version = (int)json_integer_value(jver);
out:
    reply_clear(&r);
    return st;
}

/* {"schema": "<text>"}, malloc'd; NULL when out of memory. */
static char *schema_body(const char *schema_json)
{
    json_t *o = json_pack("{s:s}", "schema", schema_json);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return text;
}

/* POSTs {"schema": schema_json} to prefix + escaped subject + suffix. */
static hub_registry_status post_schema(hub_registry *reg, const char *prefix, const char *subject,
                                       const char *suffix, const char *schema_json, reply *r,
                                       char *errstr, size_t errstr_size)
{
    char path[1024];
    char *esc = escape(reg, subject);
    char *body = schema_body(schema_json);
    if (!esc || !body) {
        curl_free(esc);
        free(body);
        snprintf(errstr, errstr_size, "out of memory");
        return HUB_REGISTRY_UNAVAILABLE;
    }
    snprintf(path, sizeof path, "%s%s%s", prefix, esc, suffix);
    curl_free(esc);
    hub_registry_status st = perform(reg, path, body, r, errstr, errstr_size);
    free(body);
    return st;
}

hub_registry_status hub_registry_register(hub_registry *reg, const char *subject,
                                          const char *schema_json, int32_t *id, char *errstr,
                                          size_t errstr_size)
{
    static const int not_found[] = {40401, 0};
    char what[300];
    reply r;
    snprintf(what, sizeof what, "register under subject %s", subject);
    hub_registry_status st = post_schema(reg, "/subjects/", subject, "/versions", schema_json,
                                         &r, errstr, errstr_size);
    if (st != HUB_REGISTRY_OK) return st;
    if (r.status != 200) {
        st = classify(reg, what, &r, not_found, errstr, errstr_size);
    } else {
        json_t *jid = json_object_get(r.json, "id");
        if (!json_is_integer(jid) || json_integer_value(jid) <= 0 ||
            json_integer_value(jid) > INT32_MAX) {
            snprintf(errstr, errstr_size, "%s: registry answer lacks a valid id", what);
            st = HUB_REGISTRY_BAD_RESPONSE;
        } else {
            *id = (int32_t)json_integer_value(jid);
        }
    }
    reply_clear(&r);
    return st;
}

hub_registry_status hub_registry_check(hub_registry *reg, const char *subject,
                                       const char *schema_json, bool *compatible,
                                       json_t **messages, char *errstr, size_t errstr_size)
{
    static const int not_found[] = {40401, 40402, 0};
    char what[300];
    reply r;
    if (messages) *messages = NULL;
    snprintf(what, sizeof what, "compatibility with subject %s", subject);
    hub_registry_status st =
        post_schema(reg, "/compatibility/subjects/", subject, "/versions/latest?verbose=true",
                    schema_json, &r, errstr, errstr_size);
    if (st != HUB_REGISTRY_OK) return st;
    json_t *verdict = json_object_get(r.json, "is_compatible");
    if (r.status != 200) {
        st = classify(reg, what, &r, not_found, errstr, errstr_size);
    } else if (!json_is_boolean(verdict)) {
        snprintf(errstr, errstr_size, "%s: registry answer has no is_compatible", what);
        st = HUB_REGISTRY_BAD_RESPONSE;
    } else {
        *compatible = json_is_true(verdict);
        if (messages) {
            json_t *out = json_array(), *m;
            size_t i;
            json_array_foreach(json_object_get(r.json, "messages"), i, m) {
                /* Registries send strings; keep anything else as JSON text. */
                if (json_is_string(m)) json_array_append(out, m);
                else {
                    char *text = json_dumps(m, JSON_COMPACT | JSON_ENCODE_ANY);
                    if (text) json_array_append_new(out, json_string(text));
                    free(text);
                }
            }
            *messages = out;
        }
    }
    reply_clear(&r);
    return st;
}

#else /* !HUB_HAVE_REGISTRY: built without libcurl */

hub_registry *hub_registry_new(const hub_config *cfg, char *errstr, size_t errstr_size)
{
    (void)cfg;
    (void)known_keys;
    snprintf(errstr, errstr_size,
             "this build has no schema registry client (libcurl was not found; "
             "meson setup -Dregistry=enabled)");
    return NULL;
}

/* No client can exist, so the calls below are never reached with one. */
void hub_registry_destroy(hub_registry *reg) { (void)reg; }

static hub_registry_status no_client(char *errstr, size_t errstr_size)
{
    snprintf(errstr, errstr_size, "no schema registry client in this build");
    return HUB_REGISTRY_UNAVAILABLE;
}

hub_registry_status hub_registry_get_by_id(hub_registry *reg, int32_t id, char **schema_json,
                                           char *errstr, size_t errstr_size)
{
    (void)reg, (void)id, (void)schema_json;
    return no_client(errstr, errstr_size);
}

hub_registry_status hub_registry_latest(hub_registry *reg, const char *subject, int32_t *id,
                                        int *version, char **schema_json, char *errstr,
                                        size_t errstr_size)
{
    (void)reg, (void)subject, (void)id, (void)version, (void)schema_json;
    return no_client(errstr, errstr_size);
}

hub_registry_status hub_registry_register(hub_registry *reg, const char *subject,
                                          const char *schema_json, int32_t *id, char *errstr,
                                          size_t errstr_size)
{
    (void)reg, (void)subject, (void)schema_json, (void)id;
    return no_client(errstr, errstr_size);
}

hub_registry_status hub_registry_check(hub_registry *reg, const char *subject,
                                       const char *schema_json, bool *compatible,
                                       json_t **messages, char *errstr, size_t errstr_size)
{
    (void)reg, (void)subject, (void)schema_json, (void)compatible, (void)messages;
    return no_client(errstr, errstr_size);
}

#endif
