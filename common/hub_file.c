#include "hub_file.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

char *hub_file_read(const char *path, size_t *len, char *errstr, size_t errstr_size)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(errstr, errstr_size, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = hub_file_read_stream(f, path, len, errstr, errstr_size);
    fclose(f);
    return buf;
}

char *hub_file_read_stream(FILE *f, const char *name, size_t *len, char *errstr,
                           size_t errstr_size)
{
    char *buf = NULL;
    size_t used = 0, cap = 0, want, got;
    /* Read until a short read rather than trusting a size from fstat or
     * ftell: a pipe or standard input has none, and a file may grow. The
     * buffer always keeps one byte free for the final NUL. */
    do {
        if (cap - used < 2) {
            size_t grown_cap = cap ? cap * 2 : 8192;
            char *grown = grown_cap > cap ? realloc(buf, grown_cap) : NULL;
            if (!grown) {
                errno = ENOMEM;
                goto fail;
            }
            buf = grown;
            cap = grown_cap;
        }
        want = cap - used - 1;
        got = fread(buf + used, 1, want, f);
        used += got;
    } while (got == want);
    if (ferror(f)) goto fail;
    buf[used] = '\0';
    if (len) *len = used;
    return buf;
fail:
    snprintf(errstr, errstr_size, "%s: cannot read: %s", name, strerror(errno));
    free(buf);
    return NULL;
}
