/* Harness: the configuration a service or crvsctl reads. Byte 0 even: the
 * rest is a configuration file; odd: environment variables, one per line.
 * Errors are one bounded line of valid UTF-8; what is accepted reads back
 * within each setting's type and range. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "hub_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Settings of every type, as the services declare theirs (hub_consumer.c). */
static const hub_config_setting settings[] = {
    {"topic", HUB_CFG_STRING, NULL, 0, 0, "topic"},
    {"log.level", HUB_CFG_STRING, "info", 0, 0, "level"},
    {"batch.max.messages", HUB_CFG_INT, "500", 1, 100000, "batch"},
    {"retry.backoff.max.ms", HUB_CFG_INT, "5000", 1, 600000, "backoff"},
    {"http.port", HUB_CFG_INT, "0", 0, 65535, "port"},
    {"metrics.enabled", HUB_CFG_BOOL, "true", 0, 0, "flag"},
};
#define N_SETTINGS (sizeof settings / sizeof *settings)

static int visit(const char *name, const char *value, void *opaque)
{
    (void)opaque;
    if (!*name) fuzz_fail("pass-through key without a name");
    (void)value;
    return 0;
}

static void check_loaded(const hub_config *cfg)
{
    for (size_t i = 0; i < N_SETTINGS; i++) {
        const hub_config_setting *s = &settings[i];
        const char *v = hub_config_get(cfg, s->key);
        if (s->type == HUB_CFG_INT) {
            int64_t n = hub_config_get_int(cfg, s->key);
            if (!v || n < s->min || n > s->max)
                fuzz_fail("%s = %lld is outside %lld..%lld", s->key, (long long)n,
                          (long long)s->min, (long long)s->max);
        } else if (s->type == HUB_CFG_BOOL) {
            bool b = hub_config_get_bool(cfg, s->key);
            if (!v || (b != (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes") ||
                             !strcmp(v, "on"))))
                fuzz_fail("%s = '%s' does not read back", s->key, v ? v : "(unset)");
        }
    }
    (void)hub_config_foreach(cfg, "kafka.", visit, NULL);
    (void)hub_config_foreach(cfg, "pg.", visit, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    hub_config *cfg = hub_config_new(settings, N_SETTINGS);
    if (!cfg) return 0;
    char err[512];
    int rc;
    if (data[0] % 2 == 0) {
        FILE *f = fmemopen((void *)(data + 1), size - 1, "r");
        if (!f) { /* an empty buffer: glibc refuses a zero size */
            hub_config_destroy(cfg);
            return 0;
        }
        rc = hub_config_load_stream(cfg, f, "fuzz.conf", err, sizeof err);
        fclose(f);
    } else {
        /* NAME=VALUE lines; a NUL byte ends a variable as in a real environ. */
        char *text = malloc(size);
        size_t n = 0;
        char **envp = calloc(size + 1, sizeof *envp);
        if (!text || !envp) {
            free(text);
            free(envp);
            hub_config_destroy(cfg);
            return 0;
        }
        memcpy(text, data + 1, size - 1);
        text[size - 1] = '\0';
        for (char *p = text, *nl; p < text + size - 1; p = nl + 1) {
            envp[n++] = p;
            nl = memchr(p, '\n', (size_t)(text + size - 1 - p));
            if (!nl) break;
            *nl = '\0';
        }
        rc = hub_config_apply_env(cfg, envp, err, sizeof err);
        free(envp);
        free(text);
    }
    if (rc != 0) fuzz_check_line("config error", err, sizeof err);
    else check_loaded(cfg);
    hub_config_destroy(cfg);
    return 0;
}
