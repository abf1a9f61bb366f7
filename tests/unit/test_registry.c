/* The schema registry client against the fake registry, run in this process
 * on a loopback port: outcomes (ok, definitive, transient, invalid), the
 * negative cache, failover, basic auth, timeouts, register and check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fake_registry.h"
#include "hub_build.h"
#include "hub_catalog.h"
#include "hub_log.h"
#include "hub_registry.h"

static const char *rec_v1 =
    "{\"type\":\"record\",\"name\":\"Rec\",\"namespace\":\"vn.test\",\"fields\":["
    "{\"name\":\"a\",\"type\":\"string\"},{\"name\":\"n\",\"type\":\"int\"}]}";
/* v1 plus an optional field with a default: readable by v2 readers. */
static const char *rec_v2 =
    "{\"type\":\"record\",\"name\":\"Rec\",\"namespace\":\"vn.test\",\"fields\":["
    "{\"name\":\"a\",\"type\":\"string\"},{\"name\":\"n\",\"type\":\"long\"},"
    "{\"name\":\"note\",\"type\":[\"null\",\"string\"],\"default\":null}]}";
/* A new required field without default: cannot read v2 data. */
static const char *rec_bad =
    "{\"type\":\"record\",\"name\":\"Rec\",\"namespace\":\"vn.test\",\"fields\":["
    "{\"name\":\"a\",\"type\":\"string\"},{\"name\":\"n\",\"type\":\"long\"},"
    "{\"name\":\"note\",\"type\":[\"null\",\"string\"],\"default\":null},"
    "{\"name\":\"must\",\"type\":\"string\"}]}";

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static fake_registry *start_fake(int32_t first_id, bool preload)
{
    char err[512];
    fake_registry *fr = fake_registry_start(0, first_id, err, sizeof err);
    if (!fr) fail_msg("fake registry: %s", err);
    if (preload && fake_registry_preload(fr, HUB_SCHEMA_DIR, err, sizeof err) != 0)
        fail_msg("preload: %s", err);
    return fr;
}

static char *url_of(const fake_registry *fr, const char *suffix)
{
    static char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", fake_registry_port(fr), suffix);
    return url;
}

/* A client from key/value pairs (schema.registry. prefix added), NULL-ended. */
static hub_registry *client(const char *const *kv)
{
    hub_config *cfg = hub_config_new(NULL, 0);
    char err[512], key[128];
    for (; kv[0]; kv += 2) {
        snprintf(key, sizeof key, "schema.registry.%s", kv[0]);
        if (hub_config_set(cfg, key, kv[1], "test", err, sizeof err) != 0) fail_msg("%s", err);
    }
    hub_registry *reg = hub_registry_new(cfg, err, sizeof err);
    hub_config_destroy(cfg);
    if (!reg) fail_msg("hub_registry_new: %s", err);
    return reg;
}

/* hub_registry_new's error for the settings, or "" when it succeeded. */
static const char *new_error(const char *const *kv)
{
    static char err[512];
    hub_config *cfg = hub_config_new(NULL, 0);
    char key[128];
    for (; kv[0]; kv += 2) {
        snprintf(key, sizeof key, "schema.registry.%s", kv[0]);
        assert_int_equal(hub_config_set(cfg, key, kv[1], "test", err, sizeof err), 0);
    }
    err[0] = '\0';
    hub_registry *reg = hub_registry_new(cfg, err, sizeof err);
    hub_config_destroy(cfg);
    if (reg) {
        hub_registry_destroy(reg);
        return "";
    }
    return err;
}

static void fetch_by_id(void **state)
{
    (void)state;
    fake_registry *fr = start_fake(9001, true);
    char err[512];
    assert_int_equal(fake_registry_add(fr, "other-value", 7001, rec_v1, err, sizeof err), 0);
    const char *kv[] = {"url", url_of(fr, ""), NULL};
    hub_registry *reg = client(kv);
    char *text = NULL;

    assert_int_equal(hub_registry_get_by_id(reg, 1001, &text, err, sizeof err), HUB_REGISTRY_OK);
    hub_schema *s = hub_schema_parse(text, 1001, "birth-certificate", 1, err, sizeof err);
    assert_non_null(s);
    assert_string_equal(hub_schema_fullname(s), "vn.gov.crvs.BirthCertificate");
    hub_schema_destroy(s);
    free(text);

    /* Through the catalog: local ids stay local, others are fetched once. */
    hub_catalog *cat = hub_catalog_open(HUB_SCHEMA_DIR, err, sizeof err);
    assert_non_null(cat);
    hub_catalog_set_fetcher(cat, hub_registry_fetch, reg);
    const hub_schema *got;
    unsigned long before = fake_registry_requests(fr);
    assert_int_equal(hub_catalog_get(cat, 1001, &got, err, sizeof err), HUB_SCHEMA_OK);
    assert_int_equal(fake_registry_requests(fr), before);
    assert_int_equal(hub_catalog_get(cat, 7001, &got, err, sizeof err), HUB_SCHEMA_OK);
    assert_string_equal(hub_schema_fullname(got), "vn.test.Rec");
    assert_int_equal(hub_catalog_get(cat, 7001, &got, err, sizeof err), HUB_SCHEMA_OK);
    assert_int_equal(fake_registry_requests(fr), before + 1);
    hub_catalog_destroy(cat);

    hub_registry_destroy(reg);
    fake_registry_stop(fr);
}

static void not_found_is_definitive_and_remembered(void **state)
{
    (void)state;
    fake_registry *fr = start_fake(1, true);
    const char *kv[] = {"url", url_of(fr, ""), "negative.cache.ms", "2000", NULL};
    hub_registry *reg = client(kv);
    char err[512], *text = NULL;

    unsigned long n0 = fake_registry_requests(fr);
    assert_int_equal(hub_registry_fetch(reg, 999, &text, err, sizeof err), HUB_SCHEMA_UNKNOWN);
    assert_null(text);
    assert_non_null(strstr(err, "40403"));
    assert_int_equal(fake_registry_requests(fr), n0 + 1);
    /* Remembered: no request. */
    assert_int_equal(hub_registry_fetch(reg, 999, &text, err, sizeof err), HUB_SCHEMA_UNKNOWN);
    assert_int_equal(fake_registry_requests(fr), n0 + 1);
    /* Another id is asked. */
    assert_int_equal(hub_registry_fetch(reg, 1001, &text, err, sizeof err), HUB_SCHEMA_OK);
    free(text);
    assert_int_equal(fake_registry_requests(fr), n0 + 2);
    /* Forgotten after negative.cache.ms. */
    usleep(2100 * 1000);
    assert_int_equal(hub_registry_fetch(reg, 999, &text, err, sizeof err), HUB_SCHEMA_UNKNOWN);
    assert_int_equal(fake_registry_requests(fr), n0 + 3);

    /* An injected 404/40403 is definitive too. */
    fake_registry_fail_next(fr, 1, 404);
    assert_int_equal(hub_registry_fetch(reg, 1001, &text, err, sizeof err), HUB_SCHEMA_UNKNOWN);
    hub_registry_destroy(reg);

    /* A 404 without the registry's error code (a wrong base URL) is not. */
    const char *wrong[] = {"url", url_of(fr, "/not-the-registry"), NULL};
    reg = client(wrong);
    assert_int_equal(hub_registry_fetch(reg, 1001, &text, err, sizeof err), HUB_SCHEMA_TRANSIENT);
    hub_registry_destroy(reg);
    fake_registry_stop(fr);
}

static void server_errors_are_transient(void **state)
{
    (void)state;
    fake_registry *fr = start_fake(1, true);
    const char *kv[] = {"url", url_of(fr, ""), NULL};
    hub_registry *reg = client(kv);
    char err[512], *text = NULL;

    fake_registry_fail_next(fr, 2, 503);
    assert_int_equal(hub_registry_get_by_id(reg, 1001, &text, err, sizeof err),
                     HUB_REGISTRY_UNAVAILABLE);
    assert_non_null(strstr(err, "503"));
    assert_int_equal(hub_registry_fetch(reg, 1001, &text, err, sizeof err), HUB_SCHEMA_TRANSIENT);
    /* Not remembered as missing: the next call works. */
    assert_int_equal(hub_registry_fetch(reg, 1001, &text, err, sizeof err), HUB_SCHEMA_OK);
    free(text);
    fake_registry_fail_next(fr, 1, 500);
    assert_int_equal(hub_registry_fetch(reg, 1001, &text, err, sizeof err), HUB_SCHEMA_TRANSIENT);
    hub_registry_destroy(reg);

    /* Nobody listening at all. */
    const char *dead[] = {"url", "http://127.0.0.1:1", NULL};
    reg = client(dead);
    assert_int_equal(hub_registry_fetch(reg, 1001, &text, err, sizeof err), HUB_SCHEMA_TRANSIENT);
    assert_non_null(strstr(err, "unreachable"));
    hub_registry_destroy(reg);
    fake_registry_stop(fr);
}

static void failover_and_memory(void **state)
{
    (void)state;
    fake_registry *live = start_fake(1, true);
    char err[512], *text = NULL, urls[512];

    /* A refused connection moves on to the next URL within the call. */
    snprintf(urls, sizeof urls, "http://127.0.0.1:1, %s", url_of(live, "/"));
    const char *kv[] = {"url", urls, NULL};
    hub_registry *reg = client(kv);
    assert_int_equal(hub_registry_fetch(reg, 1001, &text, err, sizeof err), HUB_SCHEMA_OK);
    free(text);
    hub_registry_destroy(reg);

    /* A node that hangs spends the call's time; the next call starts with
     * the next node and stays there. */
    fake_registry *hung = start_fake(1, true);
    fake_registry_set_delay(hung, 6000);
    char first[256];
    snprintf(first, sizeof first, "%s", url_of(hung, ""));
    snprintf(urls, sizeof urls, "%s,%s", first, url_of(live, ""));
    const char *kv2[] = {"url", urls, "timeout.ms", "400", NULL};
    reg = client(kv2);
    int64_t t0 = now_ms();
    assert_int_equal(hub_registry_fetch(reg, 1001, &text, err, sizeof err), HUB_SCHEMA_TRANSIENT);
    assert_true(now_ms() - t0 < 4000); /* well before the hung node's 6 s */
    unsigned long live_before = fake_registry_requests(live);
    assert_int_equal(hub_registry_fetch(reg, 1001, &text, err, sizeof err), HUB_SCHEMA_OK);
    free(text);
    assert_int_equal(hub_registry_fetch(reg, 2001, &text, err, sizeof err), HUB_SCHEMA_OK);
    free(text);
    assert_int_equal(fake_registry_requests(live), live_before + 2);
    assert_int_equal(fake_registry_requests(hung), 1);
    hub_registry_destroy(reg);
    fake_registry_stop(hung);
    fake_registry_stop(live);
}

static void basic_auth(void **state)
{
    (void)state;
    fake_registry *fr = start_fake(1, true);
    fake_registry_require_auth(fr, "hub:s3cret-pw");
    char err[512], *text = NULL;

    const char *none[] = {"url", url_of(fr, ""), NULL};
    hub_registry *reg = client(none);
    assert_int_equal(hub_registry_get_by_id(reg, 1001, &text, err, sizeof err),
                     HUB_REGISTRY_UNAVAILABLE);
    assert_non_null(strstr(err, "401"));
    hub_registry_destroy(reg);

    const char *good[] = {"url", url_of(fr, ""), "basic.auth.user.info", "hub:s3cret-pw", NULL};
    reg = client(good);
    assert_int_equal(hub_registry_fetch(reg, 1001, &text, err, sizeof err), HUB_SCHEMA_OK);
    free(text);
    hub_registry_destroy(reg);

    const char *bad[] = {"url", url_of(fr, ""), "basic.auth.user.info", "hub:wrong-pw", NULL};
    reg = client(bad);
    assert_int_equal(hub_registry_fetch(reg, 1001, &text, err, sizeof err), HUB_SCHEMA_TRANSIENT);
    assert_null(strstr(err, "wrong-pw"));
    hub_registry_destroy(reg);

    char path[] = "/tmp/hubregauthXXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "hub:s3cret-pw\n", 14), 14);
    close(fd);
    const char *file[] = {"url", url_of(fr, ""), "basic.auth.file", path, NULL};
    reg = client(file);
    assert_int_equal(hub_registry_fetch(reg, 1001, &text, err, sizeof err), HUB_SCHEMA_OK);
    free(text);
    hub_registry_destroy(reg);
    unlink(path);
    fake_registry_stop(fr);
}

static void timeout_is_honoured(void **state)
{
    (void)state;
    fake_registry *fr = start_fake(1, true);
    fake_registry_set_delay(fr, 6000);
    const char *kv[] = {"url", url_of(fr, ""), "timeout.ms", "300", NULL};
    hub_registry *reg = client(kv);
    char err[512], *text = NULL;
    int64_t t0 = now_ms();
    assert_int_equal(hub_registry_fetch(reg, 1001, &text, err, sizeof err), HUB_SCHEMA_TRANSIENT);
    int64_t took = now_ms() - t0;
    assert_true(took >= 250);
    assert_true(took < 4000); /* the 6 s answer was not waited for */
    fake_registry_set_delay(fr, 0);
    assert_int_equal(hub_registry_fetch(reg, 1001, &text, err, sizeof err), HUB_SCHEMA_OK);
    free(text);
    hub_registry_destroy(reg);
    fake_registry_stop(fr);
}

static void register_and_check(void **state)
{
    (void)state;
    fake_registry *fr = start_fake(5001, false);
    const char *kv[] = {"url", url_of(fr, ""), NULL};
    hub_registry *reg = client(kv);
    char err[512], subject[64], *text = NULL;
    bool ok = false;
    json_t *msgs = NULL;
    int32_t id = 0;
    int version = 0;
    assert_int_equal(hub_registry_subject("birth-certificate", subject, sizeof subject), 0);
    assert_string_equal(subject, "birth-certificate-value");

    /* Nothing yet. */
    assert_int_equal(hub_registry_check(reg, subject, rec_v1, &ok, &msgs, err, sizeof err),
                     HUB_REGISTRY_NOT_FOUND);
    assert_int_equal(hub_registry_latest(reg, subject, &id, &version, &text, err, sizeof err),
                     HUB_REGISTRY_NOT_FOUND);

    assert_int_equal(hub_registry_register(reg, subject, rec_v1, &id, err, sizeof err),
                     HUB_REGISTRY_OK);
    assert_int_equal(id, 5001);
    /* The same schema again: the same id. */
    assert_int_equal(hub_registry_register(reg, subject, rec_v1, &id, err, sizeof err),
                     HUB_REGISTRY_OK);
    assert_int_equal(id, 5001);

    assert_int_equal(hub_registry_check(reg, subject, rec_v2, &ok, &msgs, err, sizeof err),
                     HUB_REGISTRY_OK);
    assert_true(ok);
    assert_int_equal(json_array_size(msgs), 0);
    json_decref(msgs);
    assert_int_equal(hub_registry_register(reg, subject, rec_v2, &id, err, sizeof err),
                     HUB_REGISTRY_OK);
    assert_int_equal(id, 5002);

    assert_int_equal(hub_registry_latest(reg, subject, &id, &version, &text, err, sizeof err),
                     HUB_REGISTRY_OK);
    assert_int_equal(id, 5002);
    assert_int_equal(version, 2);
    assert_non_null(strstr(text, "note"));
    free(text);

    assert_int_equal(hub_registry_check(reg, subject, rec_bad, &ok, &msgs, err, sizeof err),
                     HUB_REGISTRY_OK);
    assert_false(ok);
    assert_int_equal(json_array_size(msgs), 1);
    assert_non_null(strstr(json_string_value(json_array_get(msgs, 0)), "must"));
    json_decref(msgs);
    assert_int_equal(hub_registry_register(reg, subject, rec_bad, &id, err, sizeof err),
                     HUB_REGISTRY_REFUSED);
    assert_non_null(strstr(err, "409"));

    /* Not JSON at all: 422. */
    assert_int_equal(hub_registry_register(reg, subject, "{not json", &id, err, sizeof err),
                     HUB_REGISTRY_REFUSED);
    hub_registry_destroy(reg);
    fake_registry_stop(fr);
}

static void settings(void **state)
{
    (void)state;
    hub_config *cfg = hub_config_new(NULL, 0);
    char err[256];
    assert_false(hub_registry_configured(cfg));
    assert_int_equal(hub_config_set(cfg, "schema.registry.url", "", "t", err, sizeof err), 0);
    assert_false(hub_registry_configured(cfg));
    assert_int_equal(hub_config_set(cfg, "schema.registry.url", "http://r:8081", "t", err,
                                    sizeof err), 0);
    assert_true(hub_registry_configured(cfg));
    hub_config_destroy(cfg);

    const char *typo[] = {"url", "http://r:8081", "ssl.verfy", "false", NULL};
    assert_non_null(strstr(new_error(typo), "schema.registry.ssl.verfy"));
    const char *creds[] = {"url", "https://hub:hunter2@r:8081", NULL};
    const char *e = new_error(creds);
    assert_non_null(strstr(e, "credentials"));
    assert_null(strstr(e, "hunter2"));
    const char *scheme[] = {"url", "ftp://r", NULL};
    assert_non_null(strstr(new_error(scheme), "not an http"));
    const char *both[] = {"url", "http://r", "basic.auth.user.info", "a:b",
                          "basic.auth.file", "/nonexistent", NULL};
    assert_non_null(strstr(new_error(both), "not both"));
    const char *nofile[] = {"url", "http://r", "basic.auth.file", "/nonexistent/auth", NULL};
    assert_non_null(strstr(new_error(nofile), "/nonexistent/auth"));
    const char *badms[] = {"url", "http://r", "timeout.ms", "0", NULL};
    assert_non_null(strstr(new_error(badms), "schema.registry.timeout.ms"));
    const char *fine[] = {"url", "http://a:1/, http://b:2", "ssl.verify", "true",
                          "connect.timeout.ms", "500", "negative.cache.ms", "0", NULL};
    assert_string_equal(new_error(fine), "");
}

int main(void)
{
    hub_log_init("test_registry", HUB_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fetch_by_id),
        cmocka_unit_test(not_found_is_definitive_and_remembered),
        cmocka_unit_test(server_errors_are_transient),
        cmocka_unit_test(failover_and_memory),
        cmocka_unit_test(basic_auth),
        cmocka_unit_test(timeout_is_honoured),
        cmocka_unit_test(register_and_check),
        cmocka_unit_test(settings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
