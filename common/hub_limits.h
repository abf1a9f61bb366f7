/* hub_limits: the limits every text field and array of a topic's record
 * must keep before anything is stored (docs/schema-guide.md, "Limits").
 *
 * One table per topic names each field by its path in the decoded document
 * (the reader schema's shape, hub_avro.h): "child.name", "part1[].text" for
 * the items of an array, "part1" for the array itself. A text field has a
 * maximum length in characters (Unicode code points, counted on the NFC
 * form that is stored) and says whether line breaks are allowed in it; an
 * array has a maximum number of items. Fields the table does not name get
 * HUB_LIMIT_DEFAULT_CHARS / HUB_LIMIT_DEFAULT_ITEMS.
 *
 * hub_limits_check refuses, before any other rule, a document with:
 *   - a NUL inside a string ("validation.nul_character": the value would be
 *     cut silently wherever C strings are used),
 *   - another control character, C0, DEL or C1 (TAB, LF and CR allowed in
 *     free text only) ("validation.control_character"),
 *   - text that is not valid UTF-8 ("encoding.utf8"),
 *   - a text longer than its limit ("validation.text_length"),
 *   - an array with more items than its limit ("validation.item_count");
 * and rewrites every other text in NFC (canonically equivalent, so the
 * value is the same text). Messages name the field path and the numbers,
 * never the value. */
#ifndef HUB_LIMITS_H
#define HUB_LIMITS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "hub_reject.h"

#ifndef HUB_WUR
#define HUB_WUR __attribute__((warn_unused_result))
#endif

#define HUB_LIMIT_DEFAULT_CHARS 255
#define HUB_LIMIT_DEFAULT_ITEMS 20

typedef enum {
    HUB_LIMIT_LINE = 0, /* one line of text: no control character at all */
    HUB_LIMIT_FREE,     /* free text: TAB, LF and CR allowed */
    HUB_LIMIT_ITEMS     /* an array: `max` is its number of items */
} hub_limit_kind;

typedef struct hub_field_limit {
    const char *path;
    hub_limit_kind kind;
    size_t max; /* characters, or items for HUB_LIMIT_ITEMS */
} hub_field_limit;

/* The i-th limit of a topic's table (NULL past the end or for a topic
 * without a table): for the schema guide's tables and their tests. */
const hub_field_limit *hub_limits_at(const char *topic, size_t i);
/* The limit of a path in a topic's table; NULL when the table does not
 * name it (the defaults apply). */
const hub_field_limit *hub_limits_find(const char *topic, const char *path);

/* Checks doc (a decoded document of `topic`) as above and puts every text
 * in NFC in place. 0, or -1 with `why` filled. */
int hub_limits_check(const char *topic, json_t *doc, hub_reject *why) HUB_WUR;

/* Checks one text value as hub_limits_check does for `path` (without
 * rewriting it): 0 when it may be stored as it is. For tests and the fuzz
 * harnesses' invariants. */
int hub_limits_check_text(const char *topic, const char *path, const char *s, size_t len,
                          hub_reject *why) HUB_WUR;

#endif
