/* ctl_print: crvsctl's aligned terminal output. Widths are display
 * columns of UTF-8 text (hub_text_width), not bytes: Vietnamese letters
 * with diacritics count one. */
#ifndef CTL_PRINT_H
#define CTL_PRINT_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

/* Prints s padded with spaces to `width` terminal columns, on the left or,
 * with `right`, on the right. */
void ctl_print_padded(const char *s, size_t width, bool right);
/* Prints a query's rows as an aligned table under `head` (one title a
 * column), two spaces between columns, the last one unpadded. */
void ctl_print_rows(const PGresult *res, const char *const *head);

/* One CSV field on stdout (RFC 4180): a field with a comma, quote or line
 * break quoted, quotes doubled. */
void ctl_print_csv_field(const char *s);
/* A query's rows as CSV under `head`, CRLF line ends. */
void ctl_print_csv_rows(const PGresult *res, const char *const *head);

#endif
