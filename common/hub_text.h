/* hub_text: Unicode handling of names, and masking for logs.
 * All functions take and return UTF-8. */
#ifndef HUB_TEXT_H
#define HUB_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#ifndef HUB_WUR
#define HUB_WUR __attribute__((warn_unused_result))
/* Copies len bytes of s (NULL: none) into out as text that PostgreSQL and a
 * one-line log accept whatever the input: each invalid UTF-8 byte becomes
 * U+FFFD, each control character (C0, DEL, C1; NUL among them) a space, and
 * text that does not fit is cut at a character boundary and ends with "…".
 * Always NUL-terminates out (out_size > 0); returns the bytes written. */
size_t hub_text_sanitize(const char *s, size_t len, char *out, size_t out_size);

#endif

/* False on any invalid sequence, overlong form, surrogate or embedded NUL. */
bool hub_text_valid_utf8(const char *s, size_t len);

/* Display form of a name: Unicode NFC, white space (any Unicode space,
 * tabs, NBSP) trimmed at both ends and collapsed inside to one ASCII space.
 * Returns a malloc'd string the caller frees; NULL with errstr on invalid
 * UTF-8 or allocation failure. May return "" (all white space). */
char *hub_text_normalize_name(const char *s, char *errstr, size_t errstr_size) HUB_WUR;

/* Match key for linking names across sources: the normalised name without
 * diacritics (decomposed, combining marks dropped, Đ/đ -> D), upper-cased.
 * "  Nguyễn   Thị Ánh Đào " -> "NGUYEN THI ANH DAO". malloc'd; NULL+errstr
 * on invalid UTF-8. */
char *hub_text_match_key(const char *s, char *errstr, size_t errstr_size) HUB_WUR;

/* Columns a terminal gives `s`: East Asian wide characters count 2,
 * combining marks 0 (utf8proc_charwidth), so a decomposed "ễ" is 1 like a
 * composed one. Invalid UTF-8 counts one column per byte. */
size_t hub_text_width(const char *s);

/* "079195012345" -> "079*******45": first 3 and last 2 kept. Shorter or
 * absent input gives "-" or stars only. Always NUL-terminates out. */
void hub_text_mask_id(const char *id, char *out, size_t out_size);
/* "Nguyễn Thị Lan" -> "N. T. L." (initials); NULL or invalid -> "?". */
void hub_text_mask_name(const char *name, char *out, size_t out_size);

/* Copies len bytes of s (NULL: none) into out as text that PostgreSQL and a
 * one-line log accept whatever the input: each invalid UTF-8 byte becomes
 * U+FFFD, each control character (C0, DEL, C1; NUL among them) a space, and
 * text that does not fit is cut at a character boundary and ends with "…".
 * Always NUL-terminates out (out_size > 0); returns the bytes written. */
size_t hub_text_sanitize(const char *s, size_t len, char *out, size_t out_size);

#endif
