/* Harness: `crvsctl publish` on one line of a producer's JSON file. Byte 0
 * picks the topic (byte % 4) and the writer schema version (byte / 4 % the
 * topic's versions: 1 or 2); the rest is the line. A line publish accepts must be a
 * message the hub decodes, and what the hub decodes must encode again to
 * the same document. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_publish_encode.h"
#include "fuzz_check.h"
#include "hub_topics.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static json_t *decode(const char *topic, const uint8_t *frame, size_t len)
{
    json_t *doc = NULL;
    int32_t id;
    hub_reject why;
    if (hub_avro_decode(fuzz_decoder(topic), frame, len, &doc, &id, &why) != HUB_DECODE_OK)
        fuzz_fail("publish sent what the hub cannot decode: %s: %s", why.reason, why.message);
    return doc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    const char *topic = fuzz_topic(data[0]);
    int latest = fuzz_versions(topic);
    int version = 1 + data[0] / FUZZ_TOPICS % latest;
    const hub_topic_info *info = hub_topic_find(topic);
    uint8_t *frame, *again;
    size_t len, again_len;
    char key[256], key2[256], err[512];
    if (ctl_publish_encode_line(fuzz_encoder(topic, version), info, (const char *)data + 1,
                                size - 1, &frame, &len, key, sizeof key, err, sizeof err) != 0) {
        fuzz_check_line("publish error", err, sizeof err);
        return 0;
    }
    json_t *doc = decode(topic, frame, len);
    /* The hub's document, encoded with the hub's version, reads back the same. */
    if (ctl_publish_encode_doc(fuzz_encoder(topic, latest), info, doc, &again, &again_len, key2,
                               sizeof key2, err, sizeof err) != 0)
        fuzz_fail("the decoded document does not encode again: %s", err);
    if (strcmp(key, key2)) fuzz_fail("business key changed: %s, then %s", key, key2);
    json_t *doc2 = decode(topic, again, again_len);
    if (!json_equal(doc, doc2)) fuzz_fail("the document changed through encode and decode");
    if (version == latest && (len != again_len || memcmp(frame, again, len)))
        fuzz_fail("the same document encoded with the same schema gave other bytes");
    json_decref(doc2);
    json_decref(doc);
    free(again);
    free(frame);
    return 0;
}
