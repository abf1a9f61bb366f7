#include "hub_frame.h"

hub_frame_result hub_frame_parse(const void *buf, size_t len, int32_t *schema_id,
                                 const uint8_t **body, size_t *body_len)
{
    const uint8_t *p = buf;
    if (!p || len < HUB_FRAME_HEADER_SIZE) return HUB_FRAME_TOO_SHORT;
    if (p[0] != HUB_FRAME_MAGIC) return HUB_FRAME_BAD_MAGIC;
    uint32_t id = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 | p[4];
    *schema_id = (int32_t)id;
    *body = p + HUB_FRAME_HEADER_SIZE;
    *body_len = len - HUB_FRAME_HEADER_SIZE;
    return HUB_FRAME_OK;
}

void hub_frame_write_header(uint8_t out[HUB_FRAME_HEADER_SIZE], int32_t schema_id)
{
    uint32_t id = (uint32_t)schema_id;
    out[0] = HUB_FRAME_MAGIC;
    out[1] = (uint8_t)(id >> 24);
    out[2] = (uint8_t)(id >> 16);
    out[3] = (uint8_t)(id >> 8);
    out[4] = (uint8_t)id;
}

const char *hub_frame_result_name(hub_frame_result r)
{
    switch (r) {
    case HUB_FRAME_OK: return "ok";
    case HUB_FRAME_TOO_SHORT: return "frame.too_short";
    case HUB_FRAME_BAD_MAGIC: return "frame.bad_magic";
    }
    return "frame.unknown";
}
