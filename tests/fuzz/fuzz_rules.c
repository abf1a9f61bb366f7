/* Harness: the services' rules on documents. Byte 0 picks the topic, the
 * rest is a JSON document (\u0000 allowed, as Avro strings may hold NUL).
 * A document that fits the topic's schema goes the way a message goes
 * (encoded, decoded, mapped); any document is also mapped as it is, so the
 * rules hold on shapes the decoder never makes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    const char *topic = fuzz_topic(data[0]);
    json_t *doc = json_loadb((const char *)data + 1, size - 1, JSON_ALLOW_NUL, NULL);
    if (!json_is_object(doc)) {
        json_decref(doc);
        return 0;
    }
    uint8_t *frame;
    size_t len;
    char err[512];
    if (hub_avro_encode(fuzz_encoder(topic, fuzz_versions(topic)), doc, &frame, &len, err, sizeof err) == 0) {
        json_t *decoded = NULL;
        int32_t id;
        hub_reject why;
        if (hub_avro_decode(fuzz_decoder(topic), frame, len, &decoded, &id, &why) != HUB_DECODE_OK)
            fuzz_fail("a document the schema encodes does not decode: %s: %s", why.reason,
                      why.message);
        fuzz_map_and_check(topic, decoded);
        json_decref(decoded);
        free(frame);
    }
    fuzz_map_and_check(topic, doc);
    json_decref(doc);
    return 0;
}
