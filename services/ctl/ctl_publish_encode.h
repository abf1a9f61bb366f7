/* crvsctl publish's conversion of one JSON document into what a producer
 * sends: the Confluent-framed Avro value and the business key. Pure (no
 * Kafka, no database): the fuzz harness tests/fuzz/fuzz_publish.c drives it
 * with any text. */
#ifndef CTL_PUBLISH_ENCODE_H
#define CTL_PUBLISH_ENCODE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "hub_avro.h"
#include "hub_topics.h"

/* Encodes doc with enc and builds its key into key (key_size bytes). On
 * success *out is malloc'd (the caller frees). On failure returns -1 and
 * errstr (one line of valid UTF-8) names the field and why. */
int ctl_publish_encode_doc(hub_avro_encoder *enc, const hub_topic_info *info, json_t *doc,
                           uint8_t **out, size_t *out_len, char *key, size_t key_size,
                           char *errstr, size_t errstr_size) HUB_WUR;

/* The same for one line of JSON text of `len` bytes (a NUL byte in it is an
 * error, never the end of the document). */
int ctl_publish_encode_line(hub_avro_encoder *enc, const hub_topic_info *info, const char *text,
                            size_t len, uint8_t **out, size_t *out_len, char *key,
                            size_t key_size, char *errstr, size_t errstr_size) HUB_WUR;

#endif
