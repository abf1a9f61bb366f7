#include "ctl_publish_encode.h"

#include <stdio.h>
#include <stdlib.h>

#include "hub_text.h"

int ctl_publish_encode_doc(hub_avro_encoder *enc, const hub_topic_info *info, json_t *doc,
                           uint8_t **out, size_t *out_len, char *key, size_t key_size,
                           char *errstr, size_t errstr_size)
{
    *out = NULL;
    if (hub_avro_encode(enc, doc, out, out_len, errstr, errstr_size) != 0 ||
        hub_topic_key(info, doc, key, key_size, errstr, errstr_size) != 0) {
        free(*out);
        *out = NULL;
        /* Errors quote the document's values: one printable line. */
        hub_text_scrub(errstr);
        return -1;
    }
    return 0;
}

int ctl_publish_encode_line(hub_avro_encoder *enc, const hub_topic_info *info, const char *text,
                            size_t len, uint8_t **out, size_t *out_len, char *key,
                            size_t key_size, char *errstr, size_t errstr_size)
{
    json_error_t jerr;
    *out = NULL;
    json_t *doc = json_loadb(text, len, 0, &jerr);
    if (!doc) {
        snprintf(errstr, errstr_size, "invalid JSON: %s", jerr.text);
        hub_text_scrub(errstr);
        return -1;
    }
    int rc = ctl_publish_encode_doc(enc, info, doc, out, out_len, key, key_size, errstr,
                                    errstr_size);
    json_decref(doc);
    return rc;
}
