/* Harness: a message as a producer sends it. Byte 0 picks the topic, the
 * rest is the Kafka message value: Confluent frame -> writer schema by id
 * (any version in the catalog) -> Avro decode -> resolution into the
 * reader's shape -> business key -> the service's rules and row mapping:
 * everything a service does before SQL. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    const char *topic = fuzz_topic(data[0]);
    json_t *doc = NULL;
    int32_t schema_id;
    hub_reject why;
    hub_decode_status st =
        hub_avro_decode(fuzz_decoder(topic), data + 1, size - 1, &doc, &schema_id, &why);
    if (st != HUB_DECODE_OK) {
        if (doc) fuzz_fail("decode refused (%s) and returned a document", why.reason);
        fuzz_check_reject(&why);
        return 0;
    }
    if (!json_is_object(doc)) fuzz_fail("decoded document is not an object");
    fuzz_map_and_check(topic, doc);
    json_decref(doc);
    return 0;
}
