/* hub_avro: Confluent-framed Avro <-> JSON documents.
 *
 * The services work on JSON documents (jansson) shaped like the reader
 * schema: records are objects, a union is its branch's plain value or null,
 * enums are symbol strings, bytes/fixed are lower-case hex, `date` logical
 * ints are "YYYY-MM-DD" and `timestamp-millis` longs are ISO-8601 UTC
 * ("2026-11-02T01:15:00.000Z"). The encoder accepts the same shape (and any
 * ISO-8601 offset for timestamps, and a field under one of its "aliases",
 * so documents written for an older version still encode); it is what
 * producers test with `crvsctl publish`.
 *
 * Decoding reads the body with the writer schema (by the frame's schema id,
 * through the catalog) and resolves it into the reader's shape with a
 * hub_resolve plan built once per writer id; the writer's avro-c value is
 * reused for every message of that id. avro-c's own resolver is not used
 * (it cannot fill reader fields from defaults; docs/schema-evolution.md). */
#ifndef HUB_AVRO_H
#define HUB_AVRO_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "hub_catalog.h"
#include "hub_reject.h"

typedef struct hub_avro_decoder hub_avro_decoder;
typedef struct hub_avro_encoder hub_avro_encoder;

typedef enum {
    HUB_DECODE_OK = 0,
    HUB_DECODE_REJECT,   /* never decodable: dead letter with reason */
    HUB_DECODE_TRANSIENT /* schema source unreachable: retry the batch later */
} hub_decode_status;

/* `cat` and `reader` are borrowed and must outlive the decoder. Fails when
 * the reader schema cannot be read as itself (a default that does not fit
 * its field's type). */
hub_avro_decoder *hub_avro_decoder_new(hub_catalog *cat, const hub_schema *reader,
                                       char *errstr, size_t errstr_size) HUB_WUR;
void hub_avro_decoder_destroy(hub_avro_decoder *dec);

/* On HUB_DECODE_OK *out is a new reference the caller decrefs. *schema_id is
 * set whenever the frame header could be read (else -1). */
hub_decode_status hub_avro_decode(hub_avro_decoder *dec, const void *buf, size_t len,
                                  json_t **out, int32_t *schema_id, hub_reject *why) HUB_WUR;

/* Encoder for one writer schema (borrowed; must outlive the encoder). */
hub_avro_encoder *hub_avro_encoder_new(const hub_schema *writer, char *errstr,
                                       size_t errstr_size) HUB_WUR;
void hub_avro_encoder_destroy(hub_avro_encoder *enc);
/* Encodes doc with the Confluent header for the writer's schema id. *out is
 * malloc'd (caller frees). errstr names the field path ("child.sex: ..."). */
int hub_avro_encode(hub_avro_encoder *enc, json_t *doc, uint8_t **out, size_t *out_len,
                    char *errstr, size_t errstr_size) HUB_WUR;

#endif
