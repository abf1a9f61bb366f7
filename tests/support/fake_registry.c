#include "fake_registry.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CONTENT_TYPE "application/vnd.schemaregistry.v1+json"

typedef struct schema_rec {
    int32_t id;
    char *text;  /* as registered */
    char *canon; /* compact, sorted keys: identity of a schema */
} schema_rec;

typedef struct version_rec {
    char *subject;
    int version;
    int32_t id;
} version_rec;

struct fake_registry {
    struct MHD_Daemon *daemon;
    unsigned port;
    FILE *log;
    pthread_mutex_t lock; /* guards everything below */
    schema_rec *schemas;
    size_t n_schemas;
    version_rec *versions;
    size_t n_versions;
    int32_t next_id;
    int fail_count, fail_status, delay_ms;
    char *auth_header; /* "Basic <base64>" required, or NULL */
    unsigned long requests;
    bool stopping;
};

/* Per-connection: the request body as it arrives. */
typedef struct request {
    char *body;
    size_t len;
} request;

/* ---- state (caller holds the lock) --------------------------------------- */

static const schema_rec *schema_by_id(const fake_registry *fr, int32_t id)
{
    for (size_t i = 0; i < fr->n_schemas; i++)
        if (fr->schemas[i].id == id) return &fr->schemas[i];
    return NULL;
}

static const schema_rec *schema_by_canon(const fake_registry *fr, const char *canon)
{
    for (size_t i = 0; i < fr->n_schemas; i++)
        if (strcmp(fr->schemas[i].canon, canon) == 0) return &fr->schemas[i];
    return NULL;
}

static const version_rec *latest_version(const fake_registry *fr, const char *subject)
{
    const version_rec *best = NULL;
    for (size_t i = 0; i < fr->n_versions; i++)
        if (!strcmp(fr->versions[i].subject, subject) &&
            (!best || fr->versions[i].version > best->version))
            best = &fr->versions[i];
    return best;
}

static bool subject_has_id(const fake_registry *fr, const char *subject, int32_t id)
{
    for (size_t i = 0; i < fr->n_versions; i++)
        if (!strcmp(fr->versions[i].subject, subject) && fr->versions[i].id == id) return true;
    return false;
}

/* Compact JSON with sorted keys, or NULL when the text is not JSON. */
static char *canonical(const char *schema_json)
{
    json_t *j = json_loads(schema_json, JSON_DECODE_ANY, NULL);
    char *c = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;
    json_decref(j);
    return c;
}

/* Records schema `id` (new or existing) as the next version of subject. */
static int add_locked(fake_registry *fr, const char *subject, int32_t id, const char *text,
                      const char *canon)
{
    if (!schema_by_id(fr, id)) {
        schema_rec *g = realloc(fr->schemas, (fr->n_schemas + 1) * sizeof *g);
        if (!g) return -1;
        fr->schemas = g;
        g[fr->n_schemas++] = (schema_rec){id, strdup(text), strdup(canon)};
        if (id >= fr->next_id) fr->next_id = id + 1;
    }
    version_rec *v = realloc(fr->versions, (fr->n_versions + 1) * sizeof *v);
    if (!v) return -1;
    fr->versions = v;
    const version_rec *last = latest_version(fr, subject);
    v[fr->n_versions] = (version_rec){strdup(subject), last ? last->version + 1 : 1, id};
    fr->n_versions++;
    return 0;
}

/* ---- the rough BACKWARD check ------------------------------------------- */

static bool promotes(const char *writer, const char *reader)
{
    static const char *const ok[][2] = {
        {"int", "long"}, {"int", "float"}, {"int", "double"}, {"long", "float"},
        {"long", "double"}, {"float", "double"}, {"string", "bytes"}, {"bytes", "string"}};
    if (!strcmp(writer, reader)) return true;
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
        if (!strcmp(ok[i][0], writer) && !strcmp(ok[i][1], reader)) return true;
    return false;
}

static json_t *field_named(json_t *fields, json_t *reader_field)
{
    const char *name = json_string_value(json_object_get(reader_field, "name"));
    json_t *aliases = json_object_get(reader_field, "aliases");
    size_t i, j;
    json_t *f, *a;
    json_array_foreach(fields, i, f) {
        const char *n = json_string_value(json_object_get(f, "name"));
        if (!n) continue;
        if (name && !strcmp(n, name)) return f;
        json_array_foreach(aliases, j, a) if (json_is_string(a) && !strcmp(json_string_value(a), n)) return f;
    }
    return NULL;
}

/* Appends one message per problem found reading old-schema data with the
 * new schema. */
static void check_backward(json_t *newer, json_t *older, json_t *messages)
{
    const char *nn = json_string_value(json_object_get(newer, "name"));
    const char *on = json_string_value(json_object_get(older, "name"));
    if (nn && on && strcmp(nn, on) != 0) {
        json_array_append_new(messages, json_sprintf("NAME_MISMATCH: the record name changed "
                                                     "from '%s' to '%s'", on, nn));
        return;
    }
    json_t *old_fields = json_object_get(older, "fields");
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(newer, "fields"), i, f) {
        const char *name = json_string_value(json_object_get(f, "name"));
        json_t *old = field_named(old_fields, f);
        if (!old) {
            if (!json_object_get(f, "default"))
                json_array_append_new(messages, json_sprintf(
                    "READER_FIELD_MISSING_DEFAULT_VALUE: the field '%s' at path '/fields/%zu' "
                    "in the new schema has no default value and is missing in the old schema",
                    name ? name : "?", i));
            continue;
        }
        const char *nt = json_string_value(json_object_get(f, "type"));
        const char *ot = json_string_value(json_object_get(old, "type"));
        if (nt && ot && !promotes(ot, nt))
            json_array_append_new(messages, json_sprintf(
                "TYPE_MISMATCH: the type of the field '%s' at path '/fields/%zu' changed from "
                "%s in the old schema to %s in the new schema", name ? name : "?", i, ot, nt));
    }
}

/* ---- HTTP ---------------------------------------------------------------- */

static enum MHD_Result send_json(struct MHD_Connection *c, unsigned status, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (!text) return MHD_NO;
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, CONTENT_TYPE);
    if (status == 401)
        MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                "Basic realm=\"fake-registry\"");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, int code,
                                  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, int code,
                                  const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return send_json(c, status, json_pack("{s:i, s:s}", "error_code", code, "message", msg));
}

/* The Confluent error code that goes with an injected status. */
static int code_for(int status)
{
    switch (status) {
    case 404: return 40403;
    case 401: return 401;
    case 403: return 403;
    case 500: return 50001;
    case 504: return 50002;
    default: return status >= 500 ? 50003 : status;
    }
}

static void base64(const char *in, char *out)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = strlen(in), o = 0;
    const unsigned char *s = (const unsigned char *)in;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = s[i] << 16 | (i + 1 < n ? s[i + 1] << 8 : 0) | (i + 2 < n ? s[i + 2] : 0);
        out[o++] = t[v >> 18 & 63];
        out[o++] = t[v >> 12 & 63];
        out[o++] = i + 1 < n ? t[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? t[v & 63] : '=';
    }
    out[o] = '\0';
}

/* Waits ms, cut short when the server stops. */
static void pause_ms(fake_registry *fr, int ms)
{
    while (ms > 0) {
        pthread_mutex_lock(&fr->lock);
        bool stopping = fr->stopping;
        pthread_mutex_unlock(&fr->lock);
        if (stopping) return;
        int step = ms < 10 ? ms : 10;
        struct timespec ts = {0, step * 1000000L};
        nanosleep(&ts, NULL);
        ms -= step;
    }
}

static enum MHD_Result control(fake_registry *fr, struct MHD_Connection *c, const char *url,
                               const char *method)
{
    if (!strcmp(url, "/_fake/stats") && !strcmp(method, "GET")) {
        pthread_mutex_lock(&fr->lock);
        json_t *j = json_pack("{s:I}", "requests", (json_int_t)fr->requests);
        pthread_mutex_unlock(&fr->lock);
        return send_json(c, 200, j);
    }
    if (strcmp(url, "/_fake/control") != 0 || strcmp(method, "POST") != 0)
        return send_error(c, 404, 404, "HTTP 404 Not Found");
    const char *count = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "fail_count");
    const char *status = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "fail_status");
    const char *delay = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "delay_ms");
    const char *auth = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "auth");
    if (count) fake_registry_fail_next(fr, atoi(count), status ? atoi(status) : 503);
    if (delay) fake_registry_set_delay(fr, atoi(delay));
    if (auth) fake_registry_require_auth(fr, strcmp(auth, "none") ? auth : NULL);
    return send_json(c, 200, json_pack("{s:b}", "ok", 1));
}

/* The subject between prefix and suffix of url, or NULL. */
static char *subject_in(const char *url, const char *prefix, const char *suffix)
{
    size_t pl = strlen(prefix), sl = strlen(suffix), ul = strlen(url);
    if (ul <= pl + sl || strncmp(url, prefix, pl) != 0 || strcmp(url + ul - sl, suffix) != 0)
        return NULL;
    return strndup(url + pl, ul - pl - sl);
}

/* The schema of a {"schema": "..."} body, parsed, with its canonical text.
 * NULL when the body or the schema is not JSON. */
static json_t *body_schema(const request *rq, const char **text, char **canon)
{
    json_t *body = rq->body ? json_loadb(rq->body, rq->len, 0, NULL) : NULL;
    *text = json_string_value(json_object_get(body, "schema"));
    *canon = *text ? canonical(*text) : NULL;
    if (!*canon) {
        json_decref(body);
        return NULL;
    }
    return body;
}

static enum MHD_Result api(fake_registry *fr, struct MHD_Connection *c, const char *url,
                           const char *method, const request *rq)
{
    enum MHD_Result ret;
    int id;
    char tail;
    char *subject = NULL, *canon = NULL;
    const char *text;
    json_t *body = NULL;
    bool get = !strcmp(method, "GET"), post = !strcmp(method, "POST");
    pthread_mutex_lock(&fr->lock);

    if (sscanf(url, "/schemas/ids/%d%c", &id, &tail) == 1 && get) {
        const schema_rec *s = schema_by_id(fr, id);
        ret = s ? send_json(c, 200, json_pack("{s:s}", "schema", s->text))
                : send_error(c, 404, 40403, "Schema %d not found", id);
    } else if (get && (subject = subject_in(url, "/subjects/", "/versions/latest"))) {
        const version_rec *v = latest_version(fr, subject);
        ret = v ? send_json(c, 200, json_pack("{s:s, s:i, s:i, s:s}", "subject", subject, "id",
                                              (int)v->id, "version", v->version, "schema",
                                              schema_by_id(fr, v->id)->text))
                : send_error(c, 404, 40401, "Subject '%s' not found.", subject);
    } else if (post && (subject = subject_in(url, "/subjects/", "/versions"))) {
        if (!(body = body_schema(rq, &text, &canon))) {
            ret = send_error(c, 422, 42201, "Invalid schema");
            goto out;
        }
        const schema_rec *same = schema_by_canon(fr, canon);
        if (same && subject_has_id(fr, subject, same->id)) {
            ret = send_json(c, 200, json_pack("{s:i}", "id", (int)same->id));
            goto out;
        }
        const version_rec *last = latest_version(fr, subject);
        json_t *problems = json_array();
        if (last) {
            json_t *older = json_loads(schema_by_id(fr, last->id)->text, JSON_DECODE_ANY, NULL);
            json_t *newer = json_loads(text, JSON_DECODE_ANY, NULL);
            check_backward(newer, older, problems);
            json_decref(older);
            json_decref(newer);
        }
        if (json_array_size(problems)) {
            char *details = json_dumps(problems, JSON_COMPACT);
            ret = send_error(c, 409, 409,
                             "Schema being registered is incompatible with an earlier schema "
                             "for subject \"%s\", details: %s", subject, details);
            free(details);
        } else {
            int32_t new_id = same ? same->id : fr->next_id;
            ret = add_locked(fr, subject, new_id, text, canon) == 0
                      ? send_json(c, 200, json_pack("{s:i}", "id", (int)new_id))
                      : send_error(c, 500, 50001, "out of memory");
        }
        json_decref(problems);
    } else if (post && (subject = subject_in(url, "/compatibility/subjects/", "/versions/latest"))) {
        const version_rec *last = latest_version(fr, subject);
        if (!last) {
            ret = send_error(c, 404, 40401, "Subject '%s' not found.", subject);
        } else if (!(body = body_schema(rq, &text, &canon))) {
            ret = send_error(c, 422, 42201, "Invalid schema");
        } else {
            json_t *problems = json_array();
            json_t *older = json_loads(schema_by_id(fr, last->id)->text, JSON_DECODE_ANY, NULL);
            json_t *newer = json_loads(text, JSON_DECODE_ANY, NULL);
            check_backward(newer, older, problems);
            json_decref(older);
            json_decref(newer);
            const char *verbose = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "verbose");
            json_t *answer = json_pack("{s:b}", "is_compatible", json_array_size(problems) == 0);
            if (verbose && !strcmp(verbose, "true")) json_object_set(answer, "messages", problems);
            json_decref(problems);
            ret = send_json(c, 200, answer);
        }
    } else if (!get && !post) {
        ret = send_error(c, 405, 405, "HTTP 405 Method Not Allowed");
    } else {
        ret = send_error(c, 404, 404, "HTTP 404 Not Found");
    }
out:
    pthread_mutex_unlock(&fr->lock);
    json_decref(body);
    free(canon);
    free(subject);
    return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **con_cls)
{
    (void)version;
    fake_registry *fr = cls;
    request *rq = *con_cls;
    if (!rq) { /* headers only so far */
        if (!(rq = calloc(1, sizeof *rq))) return MHD_NO;
        *con_cls = rq;
        return MHD_YES;
    }
    if (*upload_data_size) {
        char *grown = realloc(rq->body, rq->len + *upload_data_size + 1);
        if (!grown) return MHD_NO;
        memcpy(grown + rq->len, upload_data, *upload_data_size);
        rq->body = grown;
        rq->len += *upload_data_size;
        rq->body[rq->len] = '\0';
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (!strncmp(url, "/_fake/", 7)) return control(fr, c, url, method);

    pthread_mutex_lock(&fr->lock);
    fr->requests++;
    int delay = fr->delay_ms, fail = 0;
    if (fr->fail_count > 0) {
        fr->fail_count--;
        fail = fr->fail_status;
    }
    bool auth_ok = true;
    if (fr->auth_header) {
        const char *got = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                      MHD_HTTP_HEADER_AUTHORIZATION);
        auth_ok = got && !strcmp(got, fr->auth_header);
    }
    pthread_mutex_unlock(&fr->lock);

    if (delay) pause_ms(fr, delay);
    enum MHD_Result ret;
    unsigned status = 0;
    if (!auth_ok) ret = send_error(c, status = 401, 401, "Unauthorized");
    else if (fail) ret = send_error(c, status = (unsigned)fail, code_for(fail), "injected failure");
    else ret = api(fr, c, url, method, rq);
    if (fr->log)
        fprintf(fr->log, "fake_registry: %s %s%s\n", method, url,
                !auth_ok ? " -> 401" : fail ? " -> injected failure" : "");
    return ret;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)c, (void)toe;
    request *rq = *con_cls;
    if (!rq) return;
    free(rq->body);
    free(rq);
    *con_cls = NULL;
}

/* ---- public -------------------------------------------------------------- */

fake_registry *fake_registry_start(unsigned port, int32_t first_id, char *errstr,
                                   size_t errstr_size)
{
    fake_registry *fr = calloc(1, sizeof *fr);
    if (!fr) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&fr->lock, NULL);
    fr->next_id = first_id > 0 ? first_id : 1;
    fr->fail_status = 503;
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fr->daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG,
        (uint16_t)port, NULL, NULL, handle, fr, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_NOTIFY_COMPLETED, completed, fr, MHD_OPTION_END);
    if (!fr->daemon) {
        snprintf(errstr, errstr_size, "cannot listen on 127.0.0.1:%u", port);
        pthread_mutex_destroy(&fr->lock);
        free(fr);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(fr->daemon, MHD_DAEMON_INFO_BIND_PORT);
    fr->port = info ? info->port : port;
    return fr;
}

void fake_registry_stop(fake_registry *fr)
{
    if (!fr) return;
    pthread_mutex_lock(&fr->lock);
    fr->stopping = true;
    pthread_mutex_unlock(&fr->lock);
    MHD_stop_daemon(fr->daemon);
    for (size_t i = 0; i < fr->n_schemas; i++) {
        free(fr->schemas[i].text);
        free(fr->schemas[i].canon);
    }
    for (size_t i = 0; i < fr->n_versions; i++) free(fr->versions[i].subject);
    free(fr->schemas);
    free(fr->versions);
    free(fr->auth_header);
    pthread_mutex_destroy(&fr->lock);
    free(fr);
}

unsigned fake_registry_port(const fake_registry *fr) { return fr->port; }

void fake_registry_log_to(fake_registry *fr, FILE *f) { fr->log = f; }

int fake_registry_add(fake_registry *fr, const char *subject, int32_t id, const char *schema_json,
                      char *errstr, size_t errstr_size)
{
    char *canon = canonical(schema_json);
    if (!canon) {
        snprintf(errstr, errstr_size, "schema for %s is not JSON", subject);
        return -1;
    }
    pthread_mutex_lock(&fr->lock);
    int rc = add_locked(fr, subject, id, schema_json, canon);
    pthread_mutex_unlock(&fr->lock);
    free(canon);
    if (rc != 0) snprintf(errstr, errstr_size, "out of memory");
    return rc;
}

int fake_registry_preload(fake_registry *fr, const char *dir, char *errstr, size_t errstr_size)
{
    char path[1024], line[1024];
    snprintf(path, sizeof path, "%s/catalog.tsv", dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(errstr, errstr_size, "%s: %s", path, strerror(errno));
        return -1;
    }
    int rc = 0, lineno = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        lineno++;
        char topic[256], file[512], subject[300], schema_path[1300];
        int id, version;
        if (line[0] == '#' || line[0] == '\n') continue;
        if (sscanf(line, "%d\t%255s\t%d\t%511s", &id, topic, &version, file) != 4) {
            snprintf(errstr, errstr_size, "%s:%d: expected id topic version file", path, lineno);
            rc = -1;
            break;
        }
        snprintf(schema_path, sizeof schema_path, "%s/%s", dir, file);
        json_error_t jerr;
        json_t *schema = json_load_file(schema_path, 0, &jerr);
        char *text = schema ? json_dumps(schema, JSON_COMPACT) : NULL;
        json_decref(schema);
        snprintf(subject, sizeof subject, "%s-value", topic);
        if (!text) {
            snprintf(errstr, errstr_size, "%s: %s", schema_path, jerr.text);
            rc = -1;
        } else {
            rc = fake_registry_add(fr, subject, id, text, errstr, errstr_size);
        }
        free(text);
    }
    fclose(f);
    return rc;
}

void fake_registry_fail_next(fake_registry *fr, int count, int status)
{
    pthread_mutex_lock(&fr->lock);
    fr->fail_count = count;
    fr->fail_status = status;
    pthread_mutex_unlock(&fr->lock);
}

void fake_registry_set_delay(fake_registry *fr, int delay_ms)
{
    pthread_mutex_lock(&fr->lock);
    fr->delay_ms = delay_ms;
    pthread_mutex_unlock(&fr->lock);
}

void fake_registry_require_auth(fake_registry *fr, const char *user_password)
{
    char *header = NULL;
    if (user_password) {
        header = malloc(strlen(user_password) * 4 / 3 + 16);
        if (header) {
            strcpy(header, "Basic ");
            base64(user_password, header + 6);
        }
    }
    pthread_mutex_lock(&fr->lock);
    free(fr->auth_header);
    fr->auth_header = header;
    pthread_mutex_unlock(&fr->lock);
}

unsigned long fake_registry_requests(fake_registry *fr)
{
    pthread_mutex_lock(&fr->lock);
    unsigned long n = fr->requests;
    pthread_mutex_unlock(&fr->lock);
    return n;
}
