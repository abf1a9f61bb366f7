#include "hub_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub_build.h"
#include "hub_file.h"

#if HUB_HAVE_MHD

#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <sys/socket.h>

#include "hub_log.h"

struct hub_http_request {
    struct MHD_Connection *conn;
    const char *path;
};

const char *hub_http_request_path(const hub_http_request *r) { return r->path; }

const char *hub_http_request_header(const hub_http_request *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *hub_http_request_query(const hub_http_request *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

struct hub_http {
    struct MHD_Daemon *daemon;
    hub_http_handlers handlers;
    char *tls_cert, *tls_key; /* PEM, kept while the daemon runs */
    char last_error[256];     /* libmicrohttpd's last complaint, for start errors */
};

static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
    hub_http *h = cls;
    char msg[256];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r')) msg[--n] = '\0';
    for (size_t i = 0; i < n; i++)
        if (msg[i] == '"') msg[i] = '\'';
    snprintf(h->last_error, sizeof h->last_error, "%s", msg);
    hub_log_warn("event=http_error error=\"%s\"", msg);
}

static enum MHD_Result reply_with(struct MHD_Connection *conn, unsigned status, const char *type,
                                  char *body, size_t len, bool owned,
                                  const char *const *headers)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        len, body ? body : (char *)"", body && owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_MUST_COPY);
    if (!r) {
        if (owned) free(body);
        return MHD_NO;
    }
    (void)MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    (void)MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    (void)MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    for (size_t i = 0; headers && i < 8 && headers[i] && headers[i + 1]; i += 2)
        (void)MHD_add_response_header(r, headers[i], headers[i + 1]);
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const char *type,
                             char *body, size_t len, bool owned)
{
    return reply_with(conn, status, type, body, len, owned, NULL);
}

static enum MHD_Result reply_text(struct MHD_Connection *conn, unsigned status, const char *text)
{
    return reply(conn, status, "text/plain; charset=utf-8", (char *)text, strlen(text), false);
}

static enum MHD_Result check(struct MHD_Connection *conn, hub_http_check_fn fn, void *opaque)
{
    char why[256] = "";
    if (!fn || fn(opaque, why, sizeof why)) return reply_text(conn, MHD_HTTP_OK, "ok\n");
    char body[300];
    snprintf(body, sizeof body, "%s\n", why[0] ? why : "not ok");
    return reply_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, body);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    (void)version;
    (void)upload_data;
    (void)upload_data_size;
    (void)con_cls;
    hub_http *h = cls;
    if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
        return reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "GET or HEAD only\n");
    if (!strcmp(url, "/metrics") && h->handlers.metrics) {
        size_t len = 0;
        char *text = hub_metrics_render(h->handlers.metrics, &len);
        if (!text) return reply_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
        return reply(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", text, len,
                     true);
    }
    if (!strcmp(url, "/healthz")) return check(conn, h->handlers.healthy, h->handlers.opaque);
    if (!strcmp(url, "/readyz")) return check(conn, h->handlers.ready, h->handlers.opaque);
    if (h->handlers.route) {
        hub_http_request req = {conn, url};
        hub_http_reply out;
        memset(&out, 0, sizeof out);
        if (h->handlers.route(h->handlers.opaque, &req, &out))
            return reply_with(conn, out.status ? out.status : MHD_HTTP_OK,
                              out.content_type ? out.content_type : "text/plain; charset=utf-8",
                              out.body, out.len, true, out.headers);
    }
    return reply_text(conn, MHD_HTTP_NOT_FOUND, "not found: /metrics, /healthz, /readyz\n");
}

hub_http *hub_http_start(const char *bind_address, int port, const hub_http_handlers *handlers,
                         char *errstr, size_t errstr_size)
{
    hub_http *h = NULL;
    struct addrinfo hints = {0}, *ai = NULL;
    char service[16];
    if (port < 1 || port > 65535) {
        snprintf(errstr, errstr_size, "http port %d is not 1..65535", port);
        return NULL;
    }
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    snprintf(service, sizeof service, "%d", port);
    int rc = getaddrinfo(bind_address, service, &hints, &ai);
    if (rc != 0 || !ai) {
        snprintf(errstr, errstr_size, "http bind address '%s': %s", bind_address,
                 rc ? gai_strerror(rc) : "no address");
        goto fail;
    }
    h = calloc(1, sizeof *h);
    if (!h) {
        snprintf(errstr, errstr_size, "out of memory");
        goto fail;
    }
    h->handlers = *handlers;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    if (ai->ai_family == AF_INET6) flags |= MHD_USE_IPv6;
    bool tls = (handlers->tls_cert_file && *handlers->tls_cert_file) ||
               (handlers->tls_key_file && *handlers->tls_key_file);
    if (tls) {
        if (!handlers->tls_cert_file || !*handlers->tls_cert_file || !handlers->tls_key_file ||
            !*handlers->tls_key_file) {
            snprintf(errstr, errstr_size, "HTTPS needs both a certificate and a key file");
            goto fail;
        }
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
            snprintf(errstr, errstr_size, "this libmicrohttpd cannot serve HTTPS");
            goto fail;
        }
        size_t len;
        char why[300];
        if (!(h->tls_cert = hub_file_read(handlers->tls_cert_file, &len, why, sizeof why)) ||
            !(h->tls_key = hub_file_read(handlers->tls_key_file, &len, why, sizeof why))) {
            snprintf(errstr, errstr_size, "HTTPS: %s", why);
            goto fail;
        }
        flags |= MHD_USE_TLS;
    }
    /* A handful of scrapers and probes: few connections, short timeouts.
     * The TLS options are last: without TLS they end the list. */
    h->daemon = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, on_request, h,
                                 MHD_OPTION_SOCK_ADDR, ai->ai_addr,
                                 MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, h,
                                 MHD_OPTION_CONNECTION_LIMIT, 16u,
                                 MHD_OPTION_CONNECTION_TIMEOUT, 10u,
                                 tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, h->tls_cert,
                                 MHD_OPTION_HTTPS_MEM_KEY, h->tls_key,
                                 MHD_OPTION_HTTPS_PRIORITIES, "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2",
                                 MHD_OPTION_END);
    if (!h->daemon) {
        snprintf(errstr, errstr_size, "cannot listen on %s:%d: %s", bind_address, port,
                 h->last_error[0] ? h->last_error : "libmicrohttpd refused to start");
        goto fail;
    }
    freeaddrinfo(ai);
    return h;
fail:
    if (ai) freeaddrinfo(ai);
    if (h) {
        free(h->tls_cert);
        if (h->tls_key) explicit_bzero(h->tls_key, strlen(h->tls_key));
        free(h->tls_key);
    }
    free(h);
    return NULL;
}

void hub_http_stop(hub_http *h)
{
    if (!h) return;
    MHD_stop_daemon(h->daemon);
    free(h->tls_cert);
    if (h->tls_key) explicit_bzero(h->tls_key, strlen(h->tls_key));
    free(h->tls_key);
    free(h);
}

bool hub_http_available(void) { return true; }

#else /* !HUB_HAVE_MHD */

struct hub_http {
    int unused;
};

hub_http *hub_http_start(const char *bind_address, int port, const hub_http_handlers *handlers,
                         char *errstr, size_t errstr_size)
{
    (void)bind_address;
    (void)port;
    (void)handlers;
    snprintf(errstr, errstr_size,
             "this build has no HTTP server (libmicrohttpd not found; meson -Dhttp=enabled)");
    return NULL;
}

void hub_http_stop(hub_http *h) { (void)h; }

bool hub_http_available(void) { return false; }

struct hub_http_request {
    int unused;
};

const char *hub_http_request_path(const hub_http_request *r)
{
    (void)r;
    return "";
}

const char *hub_http_request_header(const hub_http_request *r, const char *name)
{
    (void)r;
    (void)name;
    return NULL;
}

const char *hub_http_request_query(const hub_http_request *r, const char *name)
{
    (void)r;
    (void)name;
    return NULL;
}

#endif
