#include "hub_loss.h"

#include <stdio.h>
#include <string.h>

bool hub_loss_judge(int64_t stored, int64_t log_start, int64_t log_end, hub_loss *out)
{
    int64_t at = stored < 0 ? 0 : stored;
    *out = (hub_loss){HUB_LOSS_NONE, stored, log_start, log_end, -1};
    if (log_start < 0 || log_end < 0) return false;
    if (at < log_start) {
        out->kind = HUB_LOSS_BEHIND_LOG_START;
        out->missing = log_start - at;
    } else if (at > log_end) {
        out->kind = HUB_LOSS_AHEAD_OF_LOG_END;
    }
    return out->kind != HUB_LOSS_NONE;
}

static const char *const kind_names[] = {"none", "behind_log_start", "ahead_of_log_end",
                                         "out_of_range"};

const char *hub_loss_kind_name(hub_loss_kind kind)
{
    return (size_t)kind < sizeof kind_names / sizeof *kind_names ? kind_names[kind] : "none";
}

hub_loss_kind hub_loss_kind_parse(const char *name)
{
    for (size_t i = 1; name && i < sizeof kind_names / sizeof *kind_names; i++)
        if (!strcmp(name, kind_names[i])) return (hub_loss_kind)i;
    return HUB_LOSS_NONE;
}

static void watermark(int64_t v, char *out, size_t out_size)
{
    if (v < 0) snprintf(out, out_size, "-");
    else snprintf(out, out_size, "%lld", (long long)v);
}

void hub_loss_describe(const hub_loss *l, char *out, size_t out_size)
{
    char lo[24], hi[24], missing[48];
    watermark(l->log_start, lo, sizeof lo);
    watermark(l->log_end, hi, sizeof hi);
    if (l->missing >= 0) snprintf(missing, sizeof missing, "%lld messages missing", (long long)l->missing);
    else snprintf(missing, sizeof missing, "missing messages not known");
    char stored[32];
    if (l->stored < 0) snprintf(stored, sizeof stored, "nothing stored");
    else snprintf(stored, sizeof stored, "stored %lld", (long long)l->stored);
    snprintf(out, out_size, "%s, log start %s, log end %s, %s", stored, lo, hi, missing);
}

bool hub_loss_policy_parse(const char *text, hub_loss_policy *out)
{
    if (text && !strcmp(text, "stop")) *out = HUB_LOSS_STOP;
    else if (text && !strcmp(text, "continue")) *out = HUB_LOSS_CONTINUE;
    else return false;
    return true;
}
