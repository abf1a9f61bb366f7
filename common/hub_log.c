#include "hub_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char *log_service = "crvs";
static volatile hub_log_level log_level = HUB_LOG_INFO;
static const char *const level_names[] = {"error", "warn", "info", "debug"};

void hub_log_init(const char *service, hub_log_level level)
{
    log_service = service;
    log_level = level;
}

void hub_log_set_level(hub_log_level level) { log_level = level; }
hub_log_level hub_log_get_level(void) { return log_level; }

bool hub_log_parse_level(const char *name, hub_log_level *out)
{
    for (int i = 0; i <= HUB_LOG_DEBUG; i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *out = (hub_log_level)i;
            return true;
        }
    }
    return false;
}

void hub_log_write(hub_log_level level, const char *fmt, ...)
{
    /* Built in one buffer and written with one fputs so that lines from
     * librdkafka's threads never interleave mid-line. */
    char line[2048];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof line,
                     "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s svc=%s ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                     tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
                     level_names[level], log_service);
    if (n < 0 || (size_t)n >= sizeof line) return;
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0) return;
    size_t len = strlen(line);
    /* One event, one line: a newline inside a value would forge a new event. */
    for (size_t i = (size_t)n; i < len; i++)
        if (line[i] == '\n' || line[i] == '\r') line[i] = ' ';
    line[len] = '\n';
    line[len + 1] = '\0';
    fputs(line, stderr);
}
