/* PostgreSQL's text form of a jsonb value, written in C, and the content
 * hash the registry keeps of a document.
 *
 * A registry row's content_hash is md5 of its document without event_id, as
 * text in the form PostgreSQL's jsonb output gives it (what
 * `md5((document - 'event_id')::text)` returns): object keys sorted (shorter
 * first, then bytewise) and unique, ", " between elements and ": " after a
 * key, strings escaped as PostgreSQL escapes them, numbers as numeric
 * prints them (no exponent; the digits after the point kept). Computing it
 * here lets a service send rows, not documents PostgreSQL must take apart,
 * and keeps the hashes of rows stored before the same
 * (tests/integration/test_content_hash.sh compares both on every test
 * document and on generated ones). */
#ifndef HUB_JSONB_H
#define HUB_JSONB_H

#include <jansson.h>
#include <stddef.h>

#ifndef HUB_WUR
#define HUB_WUR __attribute__((warn_unused_result))
#endif

/* The jsonb text of `value`, NUL-terminated, in a buffer the caller frees;
 * *len (when not NULL) its length. When `skip_key` is not NULL and `value`
 * is an object, its member of that name is left out (top level only).
 * NULL when out of memory, or when a string holds a NUL character or a real
 * is not finite (jsonb holds neither). */
char *hub_jsonb_text(const json_t *value, const char *skip_key, size_t *len) HUB_WUR;

/* The content hash of a document: 32 lowercase hex digits and a NUL into
 * out. -1 when hub_jsonb_text refuses the document (out untouched). */
int hub_content_hash(const json_t *document, char out[33]) HUB_WUR;

#endif
