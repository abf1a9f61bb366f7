/* hub_log: one line per event, key=value, level-checked.
 *
 * Lines look like
 *   ts=2026-11-23T01:02:03.456Z level=info svc=birth-certificate event=batch_committed n=500
 * The message part is written by the caller as key=value pairs. Personal IDs
 * and names must go through hub_text_mask_id()/hub_text_mask_name() first:
 * logs never hold a full personal ID or a full name. */
#ifndef HUB_LOG_H
#define HUB_LOG_H

#include <stdbool.h>

typedef enum {
    HUB_LOG_ERROR = 0,
    HUB_LOG_WARN = 1,
    HUB_LOG_INFO = 2,
    HUB_LOG_DEBUG = 3
} hub_log_level;

/* Process-wide; set once at start-up before threads exist. `service` is
 * borrowed and must outlive all logging (a string literal in practice). */
void hub_log_init(const char *service, hub_log_level level);
void hub_log_set_level(hub_log_level level);
hub_log_level hub_log_get_level(void);
/* "error" | "warn" | "info" | "debug" -> level; false if unknown. */
bool hub_log_parse_level(const char *name, hub_log_level *out);

void hub_log_write(hub_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define HUB_LOG_(lvl, ...)                                              \
    do {                                                                \
        if ((lvl) <= hub_log_get_level()) hub_log_write((lvl), __VA_ARGS__); \
    } while (0)
#define hub_log_error(...) HUB_LOG_(HUB_LOG_ERROR, __VA_ARGS__)
#define hub_log_warn(...) HUB_LOG_(HUB_LOG_WARN, __VA_ARGS__)
#define hub_log_info(...) HUB_LOG_(HUB_LOG_INFO, __VA_ARGS__)
#define hub_log_debug(...) HUB_LOG_(HUB_LOG_DEBUG, __VA_ARGS__)

#endif
