/* hub_metrics: counters, gauges and histograms with labels, rendered in the
 * Prometheus text exposition format 0.0.4.
 *
 * A registry holds families (one metric name, one type, fixed label names);
 * a family holds series (one set of label values). Families are registered
 * at start-up; a series is created on first use by hub_metric_series() and
 * lives as long as the registry, so the hot path keeps the pointer (or looks
 * up one of a small fixed set of label values) and never allocates.
 *
 * Threads: any number of threads may update series and render at the same
 * time. Updates are lock-free atomics (relaxed: a scrape may see one
 * observation's bucket before its sum); creating a series and rendering take
 * the registry's mutex briefly.
 *
 * Rendering rules: families in registration order, series in creation
 * order; the registry's constant labels come first on every sample, then
 * the family's labels in their declared order; a label whose value is the
 * empty string is left out (Prometheus treats it as absent), which lets one
 * family carry a label only on some series (reason= only on dead letters).
 * A family without a visible series is not rendered. */
#ifndef HUB_METRICS_H
#define HUB_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef HUB_WUR
#define HUB_WUR __attribute__((warn_unused_result))
#endif

/* Label names per family (constant labels not counted). */
#define HUB_METRICS_MAX_LABELS 4
/* Series per family. Beyond it hub_metric_series() returns NULL (updates on
 * NULL do nothing): a label fed from input (a dead-letter reason) cannot
 * grow the output without bound. */
#define HUB_METRICS_MAX_SERIES 128

typedef enum {
    HUB_METRIC_COUNTER,
    HUB_METRIC_GAUGE,
    HUB_METRIC_HISTOGRAM
} hub_metric_type;

typedef struct hub_metrics hub_metrics; /* a registry */
typedef struct hub_metric hub_metric;   /* one family, owned by its registry */
typedef struct hub_series hub_series;   /* one series, owned by its family */

/* const_labels: {name, value, name, value, ..., NULL} put on every sample
 * (copied), or NULL. Fails on an invalid label name. */
hub_metrics *hub_metrics_new(const char *const *const_labels, char *errstr,
                             size_t errstr_size) HUB_WUR;
void hub_metrics_destroy(hub_metrics *m);

/* Registers a family. label_names: NULL-terminated, or NULL for none. The
 * strings are copied. Fails (NULL, errstr says why) on an invalid or
 * duplicate name, too many labels, or a histogram's bounds not strictly
 * increasing and finite. A family without labels gets its one series at
 * once, so it renders 0 before the first update. */
hub_metric *hub_metrics_counter(hub_metrics *m, const char *name, const char *help,
                                const char *const *label_names, char *errstr,
                                size_t errstr_size) HUB_WUR;
hub_metric *hub_metrics_gauge(hub_metrics *m, const char *name, const char *help,
                              const char *const *label_names, char *errstr,
                              size_t errstr_size) HUB_WUR;
/* bounds: the buckets' upper bounds (le), without +Inf, which is implied. */
hub_metric *hub_metrics_histogram(hub_metrics *m, const char *name, const char *help,
                                  const char *const *label_names, const double *bounds,
                                  size_t n_bounds, char *errstr, size_t errstr_size) HUB_WUR;

/* The series with these label values (one per label name, in order; NULL
 * for a family without labels), created on first use. NULL when the family
 * is full (HUB_METRICS_MAX_SERIES) or memory ran out. */
hub_series *hub_metric_series(hub_metric *f, const char *const *label_values);
/* The same for a family with exactly one label. */
hub_series *hub_metric_series1(hub_metric *f, const char *label_value);

/* Updates. A NULL series, or a series of another type, is ignored. */
void hub_counter_add(hub_series *s, uint64_t n);
void hub_counter_inc(hub_series *s);
void hub_gauge_set(hub_series *s, double v);
/* Hides a gauge series from the output until it is set again (a partition
 * no longer assigned has no lag). */
void hub_gauge_clear(hub_series *s);
void hub_histogram_observe(hub_series *s, double v);

/* Reads, for tests and health checks. */
uint64_t hub_counter_value(const hub_series *s);
double hub_gauge_value(const hub_series *s); /* NaN when cleared or never set */
uint64_t hub_histogram_count(const hub_series *s);

/* The exposition text (Content-Type: text/plain; version=0.0.4). Returns a
 * malloc'd NUL-terminated string the caller frees, its length in *len (may
 * be NULL); NULL when memory ran out. */
char *hub_metrics_render(hub_metrics *m, size_t *len);

/* Formats a sample value as Prometheus reads it: the shortest of %.15g and
 * %.17g that reads back exactly, "NaN", "+Inf", "-Inf". out: 32 bytes. */
void hub_metrics_format_value(double v, char *out, size_t out_size);

#endif
