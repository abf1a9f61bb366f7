/* hub_loss: broker data loss, judged from offsets alone.
 *
 * A partition's stored next offset (crvs.consumer_offset) must lie within
 * what the broker holds: from the log start (the oldest message it still
 * has) to the log end (the offset the next message will get). A stored
 * offset equal to the log end is the normal "everything stored". One below
 * the log start means messages the hub never stored were removed
 * (retention, the delete-records API); one above the log end means the log
 * the offset was stored for is gone (the topic was deleted and made anew,
 * or the log was truncated). The services stop such a partition, and every
 * operator tool shows it (docs/operations.md, "Broker data loss"). */
#ifndef HUB_LOSS_H
#define HUB_LOSS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    HUB_LOSS_NONE = 0,
    HUB_LOSS_BEHIND_LOG_START, /* stored < log start: log start - stored messages are gone */
    HUB_LOSS_AHEAD_OF_LOG_END, /* stored > log end: how many are gone is not known */
    HUB_LOSS_OUT_OF_RANGE      /* the broker refused the offset; its log start and end unknown */
} hub_loss_kind;

typedef struct hub_loss {
    hub_loss_kind kind;
    int64_t stored;    /* the stored next offset judged (-2, "beginning", counts as 0) */
    int64_t log_start; /* -1: not known */
    int64_t log_end;   /* -1: not known */
    int64_t missing;   /* messages never stored that the broker no longer has; -1: not known */
} hub_loss;

/* What a service does on finding it (setting offsets.on.loss). */
typedef enum { HUB_LOSS_STOP, HUB_LOSS_CONTINUE } hub_loss_policy;

/* Judges a stored next offset (>= 0, or -2 for "from the beginning", which
 * counts as 0: a partition that stored nothing yet must still find its
 * first message) against the partition's log start and end. Fills *out
 * (kind HUB_LOSS_NONE when the offset is within the log, or when a
 * watermark is not known: negative) and returns whether data was lost. */
bool hub_loss_judge(int64_t stored, int64_t log_start, int64_t log_end, hub_loss *out);

/* "behind_log_start" | "ahead_of_log_end" | "out_of_range" | "none": the
 * names crvs.partition_fault.kind stores. hub_loss_kind_parse reads them
 * back (HUB_LOSS_NONE for anything else). */
const char *hub_loss_kind_name(hub_loss_kind kind);
hub_loss_kind hub_loss_kind_parse(const char *name);

/* "stored 5, log start 10, log end 20, 5 messages missing"; "nothing
 * stored" for a stored -2, "missing messages not known" when they are not,
 * "-" for an unknown watermark. Always NUL-terminated. */
void hub_loss_describe(const hub_loss *l, char *out, size_t out_size);

/* "stop" | "continue"; false for anything else. */
bool hub_loss_policy_parse(const char *text, hub_loss_policy *out);

#endif
