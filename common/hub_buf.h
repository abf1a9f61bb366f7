/* hub_buf: a growing text buffer, always NUL-terminated. An allocation that
 * fails sets `failed`; every later append does nothing, so a caller builds
 * the whole text and checks once. */
#ifndef HUB_BUF_H
#define HUB_BUF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct hub_buf {
    char *s;     /* NULL until the first append; the caller frees it */
    size_t len, cap;
    bool failed;
} hub_buf;

void hub_buf_put(hub_buf *b, const char *s, size_t n);
void hub_buf_puts(hub_buf *b, const char *s);
void hub_buf_printf(hub_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
