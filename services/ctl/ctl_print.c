#include "ctl_print.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub_text.h"

void ctl_print_padded(const char *s, size_t width, bool right)
{
    size_t w = hub_text_width(s);
    size_t pad = w < width ? width - w : 0;
    if (right) printf("%*s%s", (int)pad, "", s);
    else printf("%s%*s", s, (int)pad, "");
}

void ctl_print_rows(const PGresult *res, const char *const *head)
{
    int cols = PQnfields(res), rows = PQntuples(res);
    size_t *width = calloc(cols > 0 ? (size_t)cols : 1, sizeof *width);
    if (!width) return;
    for (int c = 0; c < cols; c++) {
        width[c] = hub_text_width(head[c]);
        for (int r = 0; r < rows; r++) {
            size_t w = hub_text_width(PQgetvalue(res, r, c));
            if (w > width[c]) width[c] = w;
        }
    }
    for (int r = -1; r < rows; r++) {
        for (int c = 0; c < cols; c++) {
            if (c) fputs("  ", stdout);
            const char *s = r < 0 ? head[c] : PQgetvalue(res, r, c);
            ctl_print_padded(s, c == cols - 1 ? 0 : width[c], false);
        }
        putchar('\n');
    }
    free(width);
}

void ctl_print_csv_field(const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, stdout);
        return;
    }
    putchar('"');
    for (; *s; s++) {
        if (*s == '"') putchar('"');
        putchar(*s);
    }
    putchar('"');
}

void ctl_print_csv_rows(const PGresult *res, const char *const *head)
{
    int cols = PQnfields(res);
    for (int r = -1; r < PQntuples(res); r++) {
        for (int c = 0; c < cols; c++) {
            if (c) putchar(',');
            ctl_print_csv_field(r < 0 ? head[c] : PQgetvalue(res, r, c));
        }
        fputs("\r\n", stdout);
    }
}
