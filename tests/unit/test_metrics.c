/* hub_metrics: exact exposition text, label escaping, histogram buckets,
 * gauges that come and go, the cardinality guard, and concurrent updates
 * against renders. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub_metrics.h"
#include "hub_telemetry.h"

static void assert_render(hub_metrics *m, const char *expected)
{
    size_t len = 0;
    char *text = hub_metrics_render(m, &len);
    assert_non_null(text);
    assert_string_equal(text, expected);
    assert_int_equal(len, strlen(expected));
    free(text);
}

static void counters_gauges_and_labels(void **state)
{
    (void)state;
    char err[256];
    const char *konst[] = {"service", "birth-certificate", NULL};
    hub_metrics *m = hub_metrics_new(konst, err, sizeof err);
    assert_non_null(m);
    const char *outcome_reason[] = {"outcome", "reason", NULL};
    hub_metric *msgs = hub_metrics_counter(m, "crvs_messages_total", "Messages by outcome.",
                                           outcome_reason, err, sizeof err);
    assert_non_null(msgs);
    hub_metric *batches = hub_metrics_counter(m, "crvs_batches_total", "Batches.", NULL, err,
                                              sizeof err);
    assert_non_null(batches);
    const char *part[] = {"partition", NULL};
    hub_metric *lag = hub_metrics_gauge(m, "crvs_lag", "Lag\\n with a \"quote\"\nand newline.",
                                        part, err, sizeof err);
    assert_non_null(lag);

    /* A family without labels renders 0 at once; a labelled one only once
     * it has a series. */
    assert_render(m, "# HELP crvs_batches_total Batches.\n"
                     "# TYPE crvs_batches_total counter\n"
                     "crvs_batches_total{service=\"birth-certificate\"} 0\n");

    hub_series *created = hub_metric_series(msgs, (const char *[]){"created", ""});
    hub_counter_add(created, 200);
    hub_counter_inc(hub_metric_series(msgs, (const char *[]){"dead_lettered", "schema.unknown_id"}));
    hub_counter_add(hub_metric_series(msgs, (const char *[]){"dead_lettered", "we\"ird\\re\nason"}), 2);
    /* The same label values give the same series. */
    assert_ptr_equal(hub_metric_series(msgs, (const char *[]){"created", ""}), created);
    hub_counter_inc(hub_metric_series(batches, NULL));
    hub_gauge_set(hub_metric_series1(lag, "0"), 12);
    hub_gauge_set(hub_metric_series1(lag, "1"), 0.1);
    hub_gauge_set(hub_metric_series1(lag, "2"), -3.5e-7);

    assert_render(m,
                  "# HELP crvs_messages_total Messages by outcome.\n"
                  "# TYPE crvs_messages_total counter\n"
                  "crvs_messages_total{service=\"birth-certificate\",outcome=\"created\"} 200\n"
                  "crvs_messages_total{service=\"birth-certificate\",outcome=\"dead_lettered\","
                  "reason=\"schema.unknown_id\"} 1\n"
                  "crvs_messages_total{service=\"birth-certificate\",outcome=\"dead_lettered\","
                  "reason=\"we\\\"ird\\\\re\\nason\"} 2\n"
                  "# HELP crvs_batches_total Batches.\n"
                  "# TYPE crvs_batches_total counter\n"
                  "crvs_batches_total{service=\"birth-certificate\"} 1\n"
                  "# HELP crvs_lag Lag\\\\n with a \"quote\"\\nand newline.\n"
                  "# TYPE crvs_lag gauge\n"
                  "crvs_lag{service=\"birth-certificate\",partition=\"0\"} 12\n"
                  "crvs_lag{service=\"birth-certificate\",partition=\"1\"} 0.1\n"
                  "crvs_lag{service=\"birth-certificate\",partition=\"2\"} -3.5e-07\n");

    assert_int_equal(hub_counter_value(created), 200);
    assert_true(hub_gauge_value(hub_metric_series1(lag, "0")) == 12);

    /* A cleared gauge disappears, and its family with it when it was the
     * last one; set again, it is back. */
    hub_gauge_clear(hub_metric_series1(lag, "0"));
    hub_gauge_clear(hub_metric_series1(lag, "1"));
    hub_gauge_clear(hub_metric_series1(lag, "2"));
    assert_true(isnan(hub_gauge_value(hub_metric_series1(lag, "0"))));
    size_t len;
    char *text = hub_metrics_render(m, &len);
    assert_null(strstr(text, "crvs_lag"));
    free(text);
    hub_gauge_set(hub_metric_series1(lag, "1"), 7);
    text = hub_metrics_render(m, &len);
    assert_non_null(strstr(text, "# TYPE crvs_lag gauge\n"
                                 "crvs_lag{service=\"birth-certificate\",partition=\"1\"} 7\n"));
    free(text);
    hub_metrics_destroy(m);
}

static void histogram_buckets(void **state)
{
    (void)state;
    char err[256];
    hub_metrics *m = hub_metrics_new(NULL, err, sizeof err);
    assert_non_null(m);
    const double bounds[] = {0.005, 0.1, 1, 2.5};
    hub_metric *h = hub_metrics_histogram(m, "crvs_tx_seconds", "Transaction time.", NULL, bounds,
                                          4, err, sizeof err);
    assert_non_null(h);
    hub_series *s = hub_metric_series(h, NULL);
    hub_histogram_observe(s, 0.005); /* on a bound: that bucket (le is <=) */
    hub_histogram_observe(s, 0.05);
    hub_histogram_observe(s, 0.25);
    hub_histogram_observe(s, 3);
    hub_histogram_observe(s, 100);
    hub_histogram_observe(s, NAN); /* ignored */
    assert_int_equal(hub_histogram_count(s), 5);
    assert_render(m, "# HELP crvs_tx_seconds Transaction time.\n"
                     "# TYPE crvs_tx_seconds histogram\n"
                     "crvs_tx_seconds_bucket{le=\"0.005\"} 1\n"
                     "crvs_tx_seconds_bucket{le=\"0.1\"} 2\n"
                     "crvs_tx_seconds_bucket{le=\"1\"} 3\n"
                     "crvs_tx_seconds_bucket{le=\"2.5\"} 3\n"
                     "crvs_tx_seconds_bucket{le=\"+Inf\"} 5\n"
                     "crvs_tx_seconds_sum 103.305\n"
                     "crvs_tx_seconds_count 5\n");

    /* With labels: le comes last. */
    const char *op[] = {"op", NULL};
    const double one[] = {1};
    hub_metric *h2 = hub_metrics_histogram(m, "crvs_op_seconds", "Op.", op, one, 1, err,
                                           sizeof err);
    assert_non_null(h2);
    hub_histogram_observe(hub_metric_series1(h2, "read"), 0.5);
    size_t len;
    char *text = hub_metrics_render(m, &len);
    assert_non_null(strstr(text, "crvs_op_seconds_bucket{op=\"read\",le=\"1\"} 1\n"
                                 "crvs_op_seconds_bucket{op=\"read\",le=\"+Inf\"} 1\n"
                                 "crvs_op_seconds_sum{op=\"read\"} 0.5\n"
                                 "crvs_op_seconds_count{op=\"read\"} 1\n"));
    free(text);
    hub_metrics_destroy(m);
}

static void refusals(void **state)
{
    (void)state;
    char err[256];
    hub_metrics *m = hub_metrics_new(NULL, err, sizeof err);
    assert_non_null(m);
    assert_null(hub_metrics_counter(m, "9lives", "x", NULL, err, sizeof err));
    assert_string_equal(err, "invalid metric name '9lives'");
    assert_null(hub_metrics_counter(m, "crvs-x", "x", NULL, err, sizeof err));
    const char *bad_label[] = {"__reserved", NULL};
    assert_null(hub_metrics_counter(m, "crvs_x", "x", bad_label, err, sizeof err));
    const char *le[] = {"le", NULL};
    const double b[] = {1};
    assert_null(hub_metrics_histogram(m, "crvs_h", "x", le, b, 1, err, sizeof err));
    const double unordered[] = {1, 1};
    assert_null(hub_metrics_histogram(m, "crvs_h", "x", NULL, unordered, 2, err, sizeof err));
    assert_string_equal(err, "crvs_h: bucket bounds must be finite and increasing");
    assert_non_null(hub_metrics_counter(m, "crvs_x", "x", NULL, err, sizeof err));
    assert_null(hub_metrics_gauge(m, "crvs_x", "x", NULL, err, sizeof err));
    assert_string_equal(err, "metric 'crvs_x' registered twice");
    const char *konst[] = {"bad-name", "v", NULL};
    assert_null(hub_metrics_new(konst, err, sizeof err));

    /* Updates of the wrong type and on NULL are ignored. */
    hub_series *c = hub_metric_series(hub_metrics_gauge(m, "crvs_g", "g", NULL, err, sizeof err),
                                      NULL);
    hub_counter_inc(c);
    hub_histogram_observe(c, 1);
    hub_counter_inc(NULL);
    hub_gauge_set(NULL, 1);
    assert_true(isnan(hub_gauge_value(c)));

    /* The cardinality guard. */
    const char *r[] = {"reason", NULL};
    hub_metric *f = hub_metrics_counter(m, "crvs_r", "r", r, err, sizeof err);
    char v[32];
    for (int i = 0; i < HUB_METRICS_MAX_SERIES; i++) {
        snprintf(v, sizeof v, "r%d", i);
        assert_non_null(hub_metric_series1(f, v));
    }
    assert_null(hub_metric_series1(f, "one.too.many"));
    assert_non_null(hub_metric_series1(f, "r0"));
    hub_metrics_destroy(m);
}

static void value_format(void **state)
{
    (void)state;
    char out[32];
    hub_metrics_format_value(0, out, sizeof out);
    assert_string_equal(out, "0");
    hub_metrics_format_value(1754000000.123, out, sizeof out);
    assert_string_equal(out, "1754000000.123");
    hub_metrics_format_value(0.1 + 0.2, out, sizeof out);
    assert_string_equal(out, "0.30000000000000004");
    hub_metrics_format_value(INFINITY, out, sizeof out);
    assert_string_equal(out, "+Inf");
    hub_metrics_format_value(-INFINITY, out, sizeof out);
    assert_string_equal(out, "-Inf");
    hub_metrics_format_value(NAN, out, sizeof out);
    assert_string_equal(out, "NaN");
}

typedef struct race {
    hub_metrics *m;
    hub_series *c, *h;
    hub_metric *f;
} race;

static void *writer(void *arg)
{
    race *r = arg;
    char v[16];
    for (int i = 0; i < 100000; i++) {
        hub_counter_inc(r->c);
        hub_histogram_observe(r->h, 0.5);
        if (i % 1000 == 0) {
            snprintf(v, sizeof v, "p%d", i / 1000 % 8);
            hub_gauge_set(hub_metric_series1(r->f, v), i);
        }
    }
    return NULL;
}

static void concurrent_updates_and_renders(void **state)
{
    (void)state;
    char err[256];
    race r;
    r.m = hub_metrics_new(NULL, err, sizeof err);
    r.c = hub_metric_series(hub_metrics_counter(r.m, "crvs_c", "c", NULL, err, sizeof err), NULL);
    const double b[] = {1};
    r.h = hub_metric_series(hub_metrics_histogram(r.m, "crvs_h", "h", NULL, b, 1, err, sizeof err),
                            NULL);
    const char *p[] = {"partition", NULL};
    r.f = hub_metrics_gauge(r.m, "crvs_g", "g", p, err, sizeof err);
    pthread_t th[2];
    for (int i = 0; i < 2; i++) assert_int_equal(pthread_create(&th[i], NULL, writer, &r), 0);
    for (int i = 0; i < 50; i++) free(hub_metrics_render(r.m, NULL));
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    assert_int_equal(hub_counter_value(r.c), 200000);
    assert_int_equal(hub_histogram_count(r.h), 200000);
    char *text = hub_metrics_render(r.m, NULL);
    assert_non_null(strstr(text, "crvs_h_sum 100000\n"));
    free(text);
    hub_metrics_destroy(r.m);
}

/* The service's metric set: the families the runbook and alerts use, and
 * the lag from librdkafka statistics. */
static int64_t stored(void *opaque, const char *topic, int32_t partition)
{
    (void)opaque;
    (void)topic;
    return partition == 1 ? 40 : -1;
}

static void telemetry_metrics(void **state)
{
    (void)state;
    char err[256];
    hub_telemetry *t = hub_telemetry_new("birth-certificate", "0.1.0", err, sizeof err);
    assert_non_null(t);
    hub_telemetry_batch(t, 3, 0.02, 2, 0, 0, 1754000000500);
    hub_telemetry_message(t, 1754000000500, 1754000000000, 1753999999500, NULL);
    hub_telemetry_message(t, 1754000000500, 1754000000000, -1, NULL);
    hub_telemetry_message(t, 1754000000500, 1754000000000, -1, "validation.personal_id");
    hub_telemetry_registry_lookup("error");
    /* Up: a bootstrap broker whose id is known and a learned one; not a
     * bootstrap address without an id, a broker down, the internal broker
     * or the coordinator's logical handle. */
    const char *stats =
        "{\"brokers\":{"
        "\"127.0.0.1:9091/bootstrap\":{\"source\":\"configured\",\"state\":\"UP\",\"nodeid\":-1},"
        "\":0/internal\":{\"source\":\"internal\",\"state\":\"UP\",\"nodeid\":-1},"
        "\"GroupCoordinator\":{\"source\":\"logical\",\"state\":\"UP\",\"nodeid\":1},"
        "\"127.0.0.1:9092/1\":{\"source\":\"configured\",\"state\":\"UP\",\"nodeid\":1},"
        "\"127.0.0.1:9093/2\":{\"source\":\"learned\",\"state\":\"UP\",\"nodeid\":2},"
        "\"127.0.0.1:9094/3\":{\"source\":\"learned\",\"state\":\"DOWN\",\"nodeid\":3}},"
        "\"topics\":{\"birth-certificate\":{\"partitions\":{"
        "\"0\":{\"consumer_lag\":5,\"hi_offset\":10},"
        "\"1\":{\"consumer_lag\":-1,\"hi_offset\":100,\"lo_offset\":0},"
        "\"2\":{\"consumer_lag\":-1,\"hi_offset\":7},"
        "\"-1\":{\"consumer_lag\":-1}}}}}";
    hub_telemetry_kafka_stats(t, stats, strlen(stats), stored, NULL);
    char *text = hub_metrics_render(hub_telemetry_metrics(t), NULL);
    const char *expect[] = {
        "crvs_build_info{service=\"birth-certificate\",version=\"0.1.0\"} 1\n",
        "crvs_messages_total{service=\"birth-certificate\",outcome=\"created\"} 2\n",
        "crvs_messages_total{service=\"birth-certificate\",outcome=\"corrected\"} 0\n",
        "crvs_messages_total{service=\"birth-certificate\",outcome=\"dead_lettered\","
        "reason=\"validation.personal_id\"} 1\n",
        "crvs_batches_total{service=\"birth-certificate\"} 1\n",
        "crvs_kafka_delay_seconds_bucket{service=\"birth-certificate\",le=\"0.5\"} 3\n",
        "crvs_kafka_delay_seconds_count{service=\"birth-certificate\"} 3\n",
        "crvs_event_delay_seconds_bucket{service=\"birth-certificate\",le=\"1\"} 1\n",
        "crvs_event_delay_seconds_count{service=\"birth-certificate\"} 1\n",
        "crvs_consumer_lag_messages{service=\"birth-certificate\",topic=\"birth-certificate\","
        "partition=\"0\"} 5\n",
        "crvs_consumer_lag_messages{service=\"birth-certificate\",topic=\"birth-certificate\","
        "partition=\"1\"} 60\n",
        "crvs_registry_lookups_total{service=\"birth-certificate\",outcome=\"error\"} 1\n",
        "crvs_last_commit_timestamp_seconds{service=\"birth-certificate\"} 1754000000.5\n",
        "crvs_pg_retries_total{service=\"birth-certificate\",op=\"batch\"} 0\n",
        "crvs_kafka_brokers_up{service=\"birth-certificate\"} 2\n",
    };
    for (size_t i = 0; i < sizeof expect / sizeof *expect; i++) {
        if (!strstr(text, expect[i])) fail_msg("missing: %s\nin:\n%s", expect[i], text);
    }
    assert_null(strstr(text, "partition=\"2\""));
    assert_null(strstr(text, "partition=\"-1\""));
    free(text);
    hub_telemetry_destroy(t);
    hub_telemetry_registry_lookup("ok"); /* no telemetry any more: nothing happens */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(counters_gauges_and_labels),
        cmocka_unit_test(histogram_buckets),
        cmocka_unit_test(refusals),
        cmocka_unit_test(value_format),
        cmocka_unit_test(concurrent_updates_and_renders),
        cmocka_unit_test(telemetry_metrics),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
