/* hub_file: a whole file read into memory (schemas, migrations, the files
 * an operator names, fuzz inputs). The hub's one reader, so that every
 * caller gets the exact bytes, the same checks and the same error text. */
#ifndef HUB_FILE_H
#define HUB_FILE_H

#include <stddef.h>
#include <stdio.h>

#ifndef HUB_WUR
#define HUB_WUR __attribute__((warn_unused_result))
#endif

/* The whole of `path`, read in binary mode, in a new buffer the caller
 * frees: exactly the file's bytes (embedded NULs and a missing last newline
 * included) followed by one NUL that *len does not count, so a text file
 * can be used as a C string. An empty file gives "" and *len 0. len may be
 * NULL; it is set only on success. On failure returns NULL and errstr says
 * "PATH: cannot open: REASON" or "PATH: cannot read: REASON" (strerror's
 * text; "Cannot allocate memory" when out of memory). There is no size
 * limit: the callers read files they trust (the hub's own schemas and
 * migrations, an operator's input, test data). */
char *hub_file_read(const char *path, size_t *len, char *errstr, size_t errstr_size) HUB_WUR;

/* The same for a stream already open (standard input, say): from its
 * current position to its end; errstr names it `name` ("NAME: cannot
 * read: REASON"). The stream stays open: the caller closes it. */
char *hub_file_read_stream(FILE *f, const char *name, size_t *len, char *errstr,
                           size_t errstr_size) HUB_WUR;

#endif
