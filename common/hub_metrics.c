#include "hub_metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub_buf.h"

/* Doubles live in atomics as their bit patterns. */
typedef _Atomic uint64_t atomic_bits;

struct hub_series {
    hub_series *next;      /* creation order within the family */
    hub_metric *family;
    char *values[HUB_METRICS_MAX_LABELS];
    atomic_bits value;     /* counter: count; gauge: double bits */
    _Atomic bool visible;  /* gauges: false until set, false after clear */
    atomic_bits sum;       /* histogram: double bits */
    atomic_bits buckets[]; /* histogram: n_bounds + 1, not cumulative; last = +Inf */
};

struct hub_metric {
    hub_metric *next; /* registration order */
    hub_metrics *registry;
    hub_metric_type type;
    char *name, *help;
    char *labels[HUB_METRICS_MAX_LABELS];
    size_t n_labels;
    double *bounds;
    size_t n_bounds;
    hub_series *series, *last_series;
    size_t n_series;
};

struct hub_metrics {
    pthread_mutex_t lock; /* families list and every family's series list */
    char **const_labels;  /* name, value, ..., NULL */
    size_t n_const;       /* pairs */
    hub_metric *families, *last_family;
};

static uint64_t bits_of(double v)
{
    uint64_t b;
    memcpy(&b, &v, sizeof b);
    return b;
}

static double double_of(uint64_t b)
{
    double v;
    memcpy(&v, &b, sizeof v);
    return v;
}

static bool valid_name(const char *s, bool colon_ok)
{
    if (!s || !*s) return false;
    for (const char *p = s; *p; p++) {
        char c = *p;
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                     (colon_ok && c == ':');
        if (!alpha && !(p > s && c >= '0' && c <= '9')) return false;
    }
    return true;
}

static bool valid_label_name(const char *s)
{
    return valid_name(s, false) && strncmp(s, "__", 2) != 0;
}

hub_metrics *hub_metrics_new(const char *const *const_labels, char *errstr, size_t errstr_size)
{
    hub_metrics *m = calloc(1, sizeof *m);
    size_t n = 0;
    snprintf(errstr, errstr_size, "out of memory");
    if (!m) goto fail;
    pthread_mutex_init(&m->lock, NULL);
    while (const_labels && const_labels[2 * n]) {
        if (!valid_label_name(const_labels[2 * n]) || !const_labels[2 * n + 1]) {
            snprintf(errstr, errstr_size, "invalid constant label '%s'", const_labels[2 * n]);
            goto fail;
        }
        n++;
    }
    m->const_labels = calloc(2 * n + 1, sizeof *m->const_labels);
    if (!m->const_labels) goto fail;
    for (size_t i = 0; i < 2 * n; i++)
        if (!(m->const_labels[i] = strdup(const_labels[i]))) goto fail;
    m->n_const = n;
    return m;
fail:
    hub_metrics_destroy(m);
    return NULL;
}

static void series_free(hub_series *s)
{
    for (size_t i = 0; i < HUB_METRICS_MAX_LABELS; i++) free(s->values[i]);
    free(s);
}

static void family_free(hub_metric *f)
{
    if (!f) return;
    for (hub_series *s = f->series, *next; s; s = next) {
        next = s->next;
        series_free(s);
    }
    for (size_t i = 0; i < f->n_labels; i++) free(f->labels[i]);
    free(f->bounds);
    free(f->name);
    free(f->help);
    free(f);
}

void hub_metrics_destroy(hub_metrics *m)
{
    if (!m) return;
    for (hub_metric *f = m->families, *next; f; f = next) {
        next = f->next;
        family_free(f);
    }
    for (size_t i = 0; m->const_labels && m->const_labels[i]; i++) free(m->const_labels[i]);
    free(m->const_labels);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

/* Creates a series and links it; the caller holds the lock. */
static hub_series *series_new_locked(hub_metric *f, const char *const *values)
{
    if (f->n_series >= HUB_METRICS_MAX_SERIES) return NULL;
    size_t n_buckets = f->type == HUB_METRIC_HISTOGRAM ? f->n_bounds + 1 : 0;
    hub_series *s = calloc(1, sizeof *s + n_buckets * sizeof s->buckets[0]);
    if (!s) return NULL;
    s->family = f;
    for (size_t i = 0; i < f->n_labels; i++) {
        if (!(s->values[i] = strdup(values[i] ? values[i] : ""))) {
            series_free(s);
            return NULL;
        }
    }
    atomic_init(&s->value, f->type == HUB_METRIC_GAUGE ? bits_of(NAN) : 0);
    atomic_init(&s->visible, f->type != HUB_METRIC_GAUGE);
    atomic_init(&s->sum, bits_of(0.0));
    for (size_t i = 0; i < n_buckets; i++) atomic_init(&s->buckets[i], 0);
    if (f->last_series) f->last_series->next = s;
    else f->series = s;
    f->last_series = s;
    f->n_series++;
    return s;
}

static hub_metric *family_new(hub_metrics *m, hub_metric_type type, const char *name,
                              const char *help, const char *const *label_names,
                              const double *bounds, size_t n_bounds, char *errstr,
                              size_t errstr_size)
{
    hub_metric *f = NULL;
    if (!valid_name(name, true)) {
        snprintf(errstr, errstr_size, "invalid metric name '%s'", name ? name : "");
        return NULL;
    }
    size_t n_labels = 0;
    while (label_names && label_names[n_labels]) {
        const char *l = label_names[n_labels];
        if (n_labels == HUB_METRICS_MAX_LABELS) {
            snprintf(errstr, errstr_size, "%s: more than %d labels", name, HUB_METRICS_MAX_LABELS);
            return NULL;
        }
        if (!valid_label_name(l) || (type == HUB_METRIC_HISTOGRAM && !strcmp(l, "le"))) {
            snprintf(errstr, errstr_size, "%s: invalid label name '%s'", name, l);
            return NULL;
        }
        n_labels++;
    }
    for (size_t i = 0; i < n_bounds; i++) {
        if (!isfinite(bounds[i]) || (i > 0 && !(bounds[i] > bounds[i - 1]))) {
            snprintf(errstr, errstr_size, "%s: bucket bounds must be finite and increasing", name);
            return NULL;
        }
    }
    pthread_mutex_lock(&m->lock);
    for (hub_metric *g = m->families; g; g = g->next) {
        if (!strcmp(g->name, name)) {
            pthread_mutex_unlock(&m->lock);
            snprintf(errstr, errstr_size, "metric '%s' registered twice", name);
            return NULL;
        }
    }
    f = calloc(1, sizeof *f);
    if (!f) goto oom;
    f->registry = m;
    f->type = type;
    f->n_labels = n_labels;
    if (!(f->name = strdup(name)) || !(f->help = strdup(help ? help : ""))) goto oom;
    for (size_t i = 0; i < n_labels; i++)
        if (!(f->labels[i] = strdup(label_names[i]))) goto oom;
    if (n_bounds) {
        f->bounds = malloc(n_bounds * sizeof *f->bounds);
        if (!f->bounds) goto oom;
        memcpy(f->bounds, bounds, n_bounds * sizeof *bounds);
        f->n_bounds = n_bounds;
    }
    if (n_labels == 0 && !series_new_locked(f, NULL)) goto oom;
    if (m->last_family) m->last_family->next = f;
    else m->families = f;
    m->last_family = f;
    pthread_mutex_unlock(&m->lock);
    return f;
oom:
    pthread_mutex_unlock(&m->lock);
    family_free(f);
    snprintf(errstr, errstr_size, "%s: out of memory", name);
    return NULL;
}

hub_metric *hub_metrics_counter(hub_metrics *m, const char *name, const char *help,
                                const char *const *label_names, char *errstr, size_t errstr_size)
{
    return family_new(m, HUB_METRIC_COUNTER, name, help, label_names, NULL, 0, errstr,
                      errstr_size);
}

hub_metric *hub_metrics_gauge(hub_metrics *m, const char *name, const char *help,
                              const char *const *label_names, char *errstr, size_t errstr_size)
{
    return family_new(m, HUB_METRIC_GAUGE, name, help, label_names, NULL, 0, errstr,
                      errstr_size);
}

hub_metric *hub_metrics_histogram(hub_metrics *m, const char *name, const char *help,
                                  const char *const *label_names, const double *bounds,
                                  size_t n_bounds, char *errstr, size_t errstr_size)
{
    return family_new(m, HUB_METRIC_HISTOGRAM, name, help, label_names, bounds, n_bounds,
                      errstr, errstr_size);
}

hub_series *hub_metric_series(hub_metric *f, const char *const *label_values)
{
    if (!f) return NULL;
    hub_series *found = NULL;
    pthread_mutex_lock(&f->registry->lock);
    for (hub_series *s = f->series; s && !found; s = s->next) {
        bool same = true;
        for (size_t i = 0; i < f->n_labels && same; i++)
            same = !strcmp(s->values[i], label_values[i] ? label_values[i] : "");
        if (same) found = s;
    }
    if (!found) found = series_new_locked(f, label_values);
    pthread_mutex_unlock(&f->registry->lock);
    return found;
}

hub_series *hub_metric_series1(hub_metric *f, const char *label_value)
{
    const char *values[1] = {label_value};
    return hub_metric_series(f, values);
}

void hub_counter_add(hub_series *s, uint64_t n)
{
    if (s && s->family->type == HUB_METRIC_COUNTER)
        atomic_fetch_add_explicit(&s->value, n, memory_order_relaxed);
}

void hub_counter_inc(hub_series *s) { hub_counter_add(s, 1); }

void hub_gauge_set(hub_series *s, double v)
{
    if (!s || s->family->type != HUB_METRIC_GAUGE) return;
    atomic_store_explicit(&s->value, bits_of(v), memory_order_relaxed);
    atomic_store_explicit(&s->visible, true, memory_order_relaxed);
}

void hub_gauge_clear(hub_series *s)
{
    if (!s || s->family->type != HUB_METRIC_GAUGE) return;
    atomic_store_explicit(&s->visible, false, memory_order_relaxed);
    atomic_store_explicit(&s->value, bits_of(NAN), memory_order_relaxed);
}

void hub_histogram_observe(hub_series *s, double v)
{
    if (!s || s->family->type != HUB_METRIC_HISTOGRAM || isnan(v)) return;
    const hub_metric *f = s->family;
    size_t i = 0;
    while (i < f->n_bounds && v > f->bounds[i]) i++;
    atomic_fetch_add_explicit(&s->buckets[i], 1, memory_order_relaxed);
    uint64_t old = atomic_load_explicit(&s->sum, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(&s->sum, &old, bits_of(double_of(old) + v),
                                                  memory_order_relaxed, memory_order_relaxed)) {
    }
}

uint64_t hub_counter_value(const hub_series *s)
{
    if (!s || s->family->type != HUB_METRIC_COUNTER) return 0;
    return atomic_load_explicit(&((hub_series *)s)->value, memory_order_relaxed);
}

double hub_gauge_value(const hub_series *s)
{
    if (!s || s->family->type != HUB_METRIC_GAUGE) return NAN;
    return double_of(atomic_load_explicit(&((hub_series *)s)->value, memory_order_relaxed));
}

uint64_t hub_histogram_count(const hub_series *s)
{
    if (!s || s->family->type != HUB_METRIC_HISTOGRAM) return 0;
    uint64_t n = 0;
    for (size_t i = 0; i <= s->family->n_bounds; i++)
        n += atomic_load_explicit(&((hub_series *)s)->buckets[i], memory_order_relaxed);
    return n;
}

void hub_metrics_format_value(double v, char *out, size_t out_size)
{
    if (isnan(v)) {
        snprintf(out, out_size, "NaN");
    } else if (isinf(v)) {
        snprintf(out, out_size, v > 0 ? "+Inf" : "-Inf");
    } else {
        snprintf(out, out_size, "%.15g", v);
        if (strtod(out, NULL) != v) snprintf(out, out_size, "%.17g", v);
    }
}

/* ---- rendering ------------------------------------------------------------ */

/* HELP text escapes backslash and newline; label values also '"'. */
static void buf_escaped(hub_buf *b, const char *s, bool quote)
{
    for (; *s; s++) {
        if (*s == '\\') hub_buf_puts(b, "\\\\");
        else if (*s == '\n') hub_buf_puts(b, "\\n");
        else if (quote && *s == '"') hub_buf_puts(b, "\\\"");
        else hub_buf_put(b, s, 1);
    }
}

static void buf_label(hub_buf *b, bool *first, const char *name, const char *value)
{
    if (!value[0]) return;
    hub_buf_puts(b, *first ? "{" : ",");
    *first = false;
    hub_buf_puts(b, name);
    hub_buf_puts(b, "=\"");
    buf_escaped(b, value, true);
    hub_buf_puts(b, "\"");
}

/* name{labels[,le="x"]} value\n */
static void buf_sample(hub_buf *b, const hub_metrics *m, const hub_series *s, const char *suffix,
                       const char *le, const char *value)
{
    const hub_metric *f = s->family;
    bool first = true;
    hub_buf_puts(b, f->name);
    hub_buf_puts(b, suffix);
    for (size_t i = 0; i < m->n_const; i++)
        buf_label(b, &first, m->const_labels[2 * i], m->const_labels[2 * i + 1]);
    for (size_t i = 0; i < f->n_labels; i++) buf_label(b, &first, f->labels[i], s->values[i]);
    if (le) buf_label(b, &first, "le", le);
    if (!first) hub_buf_puts(b, "}");
    hub_buf_puts(b, " ");
    hub_buf_puts(b, value);
    hub_buf_puts(b, "\n");
}

static void render_series(hub_buf *b, const hub_metrics *m, hub_series *s)
{
    const hub_metric *f = s->family;
    char v[40], le[40];
    if (f->type == HUB_METRIC_COUNTER) {
        snprintf(v, sizeof v, "%llu",
                 (unsigned long long)atomic_load_explicit(&s->value, memory_order_relaxed));
        buf_sample(b, m, s, "", NULL, v);
    } else if (f->type == HUB_METRIC_GAUGE) {
        hub_metrics_format_value(double_of(atomic_load_explicit(&s->value, memory_order_relaxed)),
                                 v, sizeof v);
        buf_sample(b, m, s, "", NULL, v);
    } else {
        /* Cumulative from per-bucket counts read once each, so the +Inf
         * bucket and _count always agree within one scrape. */
        uint64_t cumulative = 0;
        for (size_t i = 0; i <= f->n_bounds; i++) {
            cumulative += atomic_load_explicit(&s->buckets[i], memory_order_relaxed);
            if (i < f->n_bounds) hub_metrics_format_value(f->bounds[i], le, sizeof le);
            else snprintf(le, sizeof le, "+Inf");
            snprintf(v, sizeof v, "%llu", (unsigned long long)cumulative);
            buf_sample(b, m, s, "_bucket", le, v);
        }
        hub_metrics_format_value(double_of(atomic_load_explicit(&s->sum, memory_order_relaxed)),
                                 v, sizeof v);
        buf_sample(b, m, s, "_sum", NULL, v);
        snprintf(v, sizeof v, "%llu", (unsigned long long)cumulative);
        buf_sample(b, m, s, "_count", NULL, v);
    }
}

char *hub_metrics_render(hub_metrics *m, size_t *len)
{
    static const char *const type_names[] = {"counter", "gauge", "histogram"};
    hub_buf b = {0};
    hub_buf_put(&b, "", 0); /* an empty registry renders "" */
    pthread_mutex_lock(&m->lock);
    for (hub_metric *f = m->families; f; f = f->next) {
        bool any = false;
        for (hub_series *s = f->series; s && !any; s = s->next)
            any = atomic_load_explicit(&s->visible, memory_order_relaxed);
        if (!any) continue;
        hub_buf_puts(&b, "# HELP ");
        hub_buf_puts(&b, f->name);
        hub_buf_puts(&b, " ");
        buf_escaped(&b, f->help, false);
        hub_buf_puts(&b, "\n# TYPE ");
        hub_buf_puts(&b, f->name);
        hub_buf_puts(&b, " ");
        hub_buf_puts(&b, type_names[f->type]);
        hub_buf_puts(&b, "\n");
        for (hub_series *s = f->series; s; s = s->next)
            if (atomic_load_explicit(&s->visible, memory_order_relaxed)) render_series(&b, m, s);
    }
    pthread_mutex_unlock(&m->lock);
    if (b.failed) {
        free(b.s);
        return NULL;
    }
    if (len) *len = b.len;
    return b.s;
}
