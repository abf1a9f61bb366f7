/* hub_http: the service's HTTP endpoints, on libmicrohttpd's own thread.
 *
 *   GET /metrics  the registry in Prometheus text format 0.0.4
 *   GET /healthz  200 "ok" when healthy() says so, else 503 with its reason
 *   GET /readyz   200 "ok" when ready() says so, else 503 with its reason
 *
 * Any other path goes to the optional route callback (crvsctl serve's
 * console), else 404; a method other than GET or HEAD is 405. The
 * callbacks run on the server's thread, concurrently with the caller's
 * threads: they may only read state that is safe to read from there
 * (atomics, a mutex held briefly; hub_metrics is thread-safe).
 *
 * Built without libmicrohttpd (meson -Dhttp=disabled, or the library not
 * found), hub_http_start() fails and says so. */
#ifndef HUB_HTTP_H
#define HUB_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "hub_metrics.h"

#ifndef HUB_WUR
#define HUB_WUR __attribute__((warn_unused_result))
#endif

/* Writes a short reason (one line, no personal data) into why on false. */
typedef bool (*hub_http_check_fn)(void *opaque, char *why, size_t why_size);

/* A request, borrowed for the duration of the route callback. */
typedef struct hub_http_request hub_http_request;
const char *hub_http_request_path(const hub_http_request *r);
/* A request header (case-insensitive name) or query argument; NULL if absent. */
const char *hub_http_request_header(const hub_http_request *r, const char *name);
const char *hub_http_request_query(const hub_http_request *r, const char *name);

typedef struct hub_http_reply {
    unsigned status;          /* 0 means 200 */
    const char *content_type; /* static string; NULL means text/plain */
    char *body;               /* malloc'd, taken over by hub_http; NULL: empty */
    size_t len;
    const char *headers[8];   /* extra {name, value} pairs (static strings), NULL-ended */
} hub_http_reply;

/* Answers a path the server does not know itself: fills *reply (zeroed on
 * entry) and returns true, or returns false for a 404. */
typedef bool (*hub_http_route_fn)(void *opaque, const hub_http_request *req,
                                  hub_http_reply *reply);

typedef struct hub_http_handlers {
    hub_metrics *metrics;      /* borrowed; must outlive the server; NULL: no /metrics */
    hub_http_check_fn healthy; /* NULL: always healthy */
    hub_http_check_fn ready;   /* NULL: always ready */
    hub_http_route_fn route;   /* NULL: other paths are 404 */
    void *opaque;
    /* HTTPS: PEM files of the certificate (chain) and its private key; both
     * NULL or empty: plain HTTP. */
    const char *tls_cert_file, *tls_key_file;
} hub_http_handlers;

typedef struct hub_http hub_http;

/* Listens on bind_address:port (IPv4 or IPv6 literal, or a host name that
 * resolves; port 1..65535) and serves until hub_http_stop(). The handlers
 * are copied. NULL on failure, errstr says why (address in use ...). */
hub_http *hub_http_start(const char *bind_address, int port, const hub_http_handlers *handlers,
                         char *errstr, size_t errstr_size) HUB_WUR;
/* Stops the server (waits for its thread) and frees it; NULL is ignored. */
void hub_http_stop(hub_http *h);
/* True when this build can serve HTTP. */
bool hub_http_available(void);

#endif
