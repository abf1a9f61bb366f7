/* hub_frame: the Confluent wire format.
 *   byte 0     magic, always 0
 *   bytes 1-4  schema id, big-endian signed 32-bit
 *   bytes 5..  Avro binary encoding of one datum
 * Pure functions, no allocation. */
#ifndef HUB_FRAME_H
#define HUB_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define HUB_FRAME_HEADER_SIZE 5
#define HUB_FRAME_MAGIC 0

typedef enum {
    HUB_FRAME_OK = 0,
    HUB_FRAME_TOO_SHORT, /* fewer than 5 bytes (or no payload at all) */
    HUB_FRAME_BAD_MAGIC  /* first byte is not 0 */
} hub_frame_result;

/* On HUB_FRAME_OK sets *schema_id and the body slice (borrowed from buf). */
hub_frame_result hub_frame_parse(const void *buf, size_t len, int32_t *schema_id,
                                 const uint8_t **body, size_t *body_len);
void hub_frame_write_header(uint8_t out[HUB_FRAME_HEADER_SIZE], int32_t schema_id);
const char *hub_frame_result_name(hub_frame_result r);

#endif
