#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hub_file.h"

/* Writes len bytes to a new temporary file; the caller unlinks path. */
static void write_temp(char *path, size_t path_size, const void *bytes, size_t len)
{
    snprintf(path, path_size, "/tmp/hubfileXXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    if (len) assert_int_equal(write(fd, bytes, len), (ssize_t)len);
    close(fd);
}

static void reads_exact_bytes(void **state)
{
    (void)state;
    /* An embedded NUL and no newline at the end: nothing added, nothing cut. */
    static const char bytes[] = {'a', 'b', '\0', 'c', '\n', 'd'};
    char path[64], err[256] = "";
    size_t len = 0;
    write_temp(path, sizeof path, bytes, sizeof bytes);
    char *buf = hub_file_read(path, &len, err, sizeof err);
    unlink(path);
    assert_non_null(buf);
    assert_int_equal(len, sizeof bytes);
    assert_memory_equal(buf, bytes, sizeof bytes);
    assert_int_equal(buf[len], '\0');
    free(buf);
}

static void reads_past_one_buffer(void **state)
{
    (void)state;
    /* Larger than the first buffer, and a size that is not a power of two. */
    size_t n = 3 * 8192 + 17;
    char *bytes = malloc(n);
    assert_non_null(bytes);
    for (size_t i = 0; i < n; i++) bytes[i] = (char)(i * 7 + 1);
    char path[64], err[256] = "";
    size_t len = 0;
    write_temp(path, sizeof path, bytes, n);
    char *buf = hub_file_read(path, &len, err, sizeof err);
    unlink(path);
    assert_non_null(buf);
    assert_int_equal(len, n);
    assert_memory_equal(buf, bytes, n);
    assert_int_equal(buf[len], '\0');
    free(buf);
    free(bytes);
}

static void empty_file_is_empty_string(void **state)
{
    (void)state;
    char path[64], err[256] = "";
    size_t len = 99;
    write_temp(path, sizeof path, "", 0);
    char *buf = hub_file_read(path, &len, err, sizeof err);
    assert_non_null(buf);
    assert_int_equal(len, 0);
    assert_string_equal(buf, "");
    free(buf);
    /* len may be NULL for callers that use the text as a C string. */
    buf = hub_file_read(path, NULL, err, sizeof err);
    unlink(path);
    assert_non_null(buf);
    assert_string_equal(buf, "");
    free(buf);
}

static void missing_file_names_path(void **state)
{
    (void)state;
    char err[256] = "";
    size_t len = 99;
    assert_null(hub_file_read("/nonexistent/hub_file_test.txt", &len, err, sizeof err));
    char expect[256];
    snprintf(expect, sizeof expect, "/nonexistent/hub_file_test.txt: cannot open: %s",
             strerror(ENOENT));
    assert_string_equal(err, expect);
    assert_int_equal(len, 99);
}

static void stream_reads_from_position(void **state)
{
    (void)state;
    char path[64], err[256] = "";
    size_t len = 0;
    write_temp(path, sizeof path, "header\nbody", 11);
    FILE *f = fopen(path, "rb");
    unlink(path);
    assert_non_null(f);
    char line[16];
    assert_non_null(fgets(line, sizeof line, f));
    char *buf = hub_file_read_stream(f, path, &len, err, sizeof err);
    fclose(f);
    assert_non_null(buf);
    assert_int_equal(len, 4);
    assert_string_equal(buf, "body");
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reads_exact_bytes),
        cmocka_unit_test(reads_past_one_buffer),
        cmocka_unit_test(empty_file_is_empty_string),
        cmocka_unit_test(missing_file_names_path),
        cmocka_unit_test(stream_reads_from_position),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
