/* hub_text: Unicode handling of names, and masking for logs.
 * All functions take and return UTF-8. */
#ifndef HUB_TEXT_H
#define HUB_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef HUB_WUR
#define HUB_WUR __attribute__((warn_unused_result))
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

/* "079195012345" -> "079*******45": first 3 and last 2 characters kept
 * when they are ASCII letters or digits, every other character one '*'.
 * Shorter input gives stars only, absent input "-". Always NUL-terminates
 * out and never ends inside a UTF-8 sequence. */
void hub_text_mask_id(const char *id, char *out, size_t out_size);
/* "Nguyễn Thị Lan" -> "N. T. L." (initials); NULL or invalid -> "?". */
void hub_text_mask_name(const char *name, char *out, size_t out_size);

/* True when s[0..len) is valid UTF-8 (hub_text_valid_utf8) and already in
 * Unicode Normalization Form C. */
bool hub_text_is_nfc(const char *s, size_t len);
/* s[0..len) in NFC, malloc'd (the caller frees); NULL with errstr on invalid
 * UTF-8 (an embedded NUL included) or allocation failure. */
char *hub_text_nfc(const char *s, size_t len, char *errstr, size_t errstr_size) HUB_WUR;
/* Code points in valid UTF-8 s[0..len). */
size_t hub_text_chars(const char *s, size_t len);

/* C0 controls (U+0000..U+001F), DEL and the C1 controls (U+0080..U+009F). */
bool hub_text_is_control(uint32_t cp);
/* Finds the first control character in s[0..len) (NUL included; with
 * allow_breaks TAB, LF and CR are allowed): true, with its character
 * position in *at and the code point in *cp (both optional). */
bool hub_text_find_control(const char *s, size_t len, bool allow_breaks, size_t *at,
                           uint32_t *cp);

/* The longest prefix of s[0..len) of at most max bytes that does not end
 * inside a UTF-8 sequence (len itself when len <= max). */
size_t hub_text_boundary(const char *s, size_t len, size_t max);
/* The length of s[0..len) without a UTF-8 sequence cut short at its end
 * (what snprintf leaves when it truncates inside a character). */
size_t hub_text_complete(const char *s, size_t len);
/* Makes a NUL-terminated text printable as one line of valid UTF-8, in
 * place: each invalid byte and each control character becomes '?'. */
void hub_text_scrub(char *s);
/* Masks, in place, every run of 12 or more digits as hub_text_mask_id
 * does ("079195012345" -> "079*******45"): text that quotes numbers read
 * from producer data may be quoting a personal ID. */
void hub_text_mask_digit_runs(char *s);
/* Copies s (NULL: "") into out, cut on a character boundary to fit and
 * scrubbed (hub_text_scrub): for producer text in fixed-size buffers. */
void hub_text_copy(char *out, size_t out_size, const char *s);

#endif
