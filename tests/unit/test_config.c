#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hub_config.h"

static const hub_config_setting table[] = {
    {"batch.max.messages", HUB_CFG_INT, "500", 1, 100000, "doc"},
    {"log.level", HUB_CFG_STRING, "info", 0, 0, "doc"},
    {"metrics.enabled", HUB_CFG_BOOL, "false", 0, 0, "doc"},
};

static char *write_temp(const char *text)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/hubcfgXXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void defaults_and_file_values(void **state)
{
    (void)state;
    hub_config *cfg = hub_config_new(table, 3);
    char err[256];
    char *path = write_temp("# comment\n\n  batch.max.messages = 42  \n"
                            "kafka.bootstrap.servers=host:9092\npg.dbname = crvs\n");
    assert_int_equal(hub_config_load_file(cfg, path, err, sizeof err), 0);
    unlink(path);
    assert_int_equal(hub_config_get_int(cfg, "batch.max.messages"), 42);
    assert_string_equal(hub_config_get(cfg, "log.level"), "info");
    assert_false(hub_config_get_bool(cfg, "metrics.enabled"));
    assert_string_equal(hub_config_get(cfg, "kafka.bootstrap.servers"), "host:9092");
    assert_string_equal(hub_config_get(cfg, "pg.dbname"), "crvs");
    hub_config_destroy(cfg);
}

static void errors_name_file_and_line(void **state)
{
    (void)state;
    hub_config *cfg = hub_config_new(table, 3);
    char err[256], expect[128];
    char *path = write_temp("log.level = debug\nbatch.max.mesages = 10\n");
    assert_int_equal(hub_config_load_file(cfg, path, err, sizeof err), -1);
    snprintf(expect, sizeof expect, "%s:2: unknown setting 'batch.max.mesages'", path);
    assert_string_equal(err, expect);
    unlink(path);

    path = write_temp("batch.max.messages = many\n");
    assert_int_equal(hub_config_load_file(cfg, path, err, sizeof err), -1);
    assert_non_null(strstr(err, ":1: 'batch.max.messages' must be an integer from 1 to 100000"));
    unlink(path);

    path = write_temp("just a line without equals\n");
    assert_int_equal(hub_config_load_file(cfg, path, err, sizeof err), -1);
    assert_non_null(strstr(err, ":1: expected key=value"));
    unlink(path);

    assert_int_equal(hub_config_load_file(cfg, "/nonexistent/x.conf", err, sizeof err), -1);
    assert_non_null(strstr(err, "/nonexistent/x.conf: cannot open"));
    hub_config_destroy(cfg);
}

static void environment_overrides(void **state)
{
    (void)state;
    hub_config *cfg = hub_config_new(table, 3);
    char err[256];
    assert_int_equal(hub_config_set(cfg, "batch.max.messages", "5", "test", err, sizeof err), 0);
    char *env[] = {"CRVS_BATCH_MAX_MESSAGES=77", "CRVS_KAFKA_BOOTSTRAP_SERVERS=b:1",
                   "CRVS_PG_APPLICATION_NAME=x", "CRVS_PG_PORT_FOR_SCRIPTS", "PATH=/bin",
                   "CRVS_METRICS_ENABLED=yes", NULL};
    assert_int_equal(hub_config_apply_env(cfg, env, err, sizeof err), 0);
    assert_int_equal(hub_config_get_int(cfg, "batch.max.messages"), 77);
    assert_string_equal(hub_config_get(cfg, "kafka.bootstrap.servers"), "b:1");
    assert_string_equal(hub_config_get(cfg, "pg.application_name"), "x");
    assert_true(hub_config_get_bool(cfg, "metrics.enabled"));

    char *bad[] = {"CRVS_BATCH_MAX_MESSAGES=0", NULL};
    assert_int_equal(hub_config_apply_env(cfg, bad, err, sizeof err), -1);
    assert_non_null(strstr(err, "environment CRVS_BATCH_MAX_MESSAGES"));
    hub_config_destroy(cfg);
}

static int count_pairs(const char *name, const char *value, void *opaque)
{
    (void)name;
    (void)value;
    (*(int *)opaque)++;
    return 0;
}

static void prefix_iteration_strips_prefix(void **state)
{
    (void)state;
    hub_config *cfg = hub_config_new(table, 3);
    char err[256];
    assert_int_equal(hub_config_set(cfg, "kafka.a", "1", "t", err, sizeof err), 0);
    assert_int_equal(hub_config_set(cfg, "kafka.b", "2", "t", err, sizeof err), 0);
    assert_int_equal(hub_config_set(cfg, "kafka.a", "3", "t", err, sizeof err), 0);
    assert_int_equal(hub_config_set(cfg, "pg.host", "h", "t", err, sizeof err), 0);
    assert_int_equal(hub_config_set(cfg, "kafka.", "x", "t", err, sizeof err), -1);
    int n = 0;
    assert_int_equal(hub_config_foreach(cfg, "kafka.", count_pairs, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(hub_config_get(cfg, "kafka.a"), "3");
    hub_config_destroy(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_and_file_values),
        cmocka_unit_test(errors_name_file_and_line),
        cmocka_unit_test(environment_overrides),
        cmocka_unit_test(prefix_iteration_strips_prefix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
