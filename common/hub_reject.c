#include "hub_reject.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "hub_text.h"

int hub_reject_set(hub_reject *why, const char *reason, const char *fmt, ...)
{
    va_list ap;
    hub_text_copy(why->reason, sizeof why->reason, reason);
    va_start(ap, fmt);
    int n = vsnprintf(why->message, sizeof why->message, fmt, ap);
    va_end(ap);
    /* Messages quote producer text: a cut must not split a character, and
     * what reaches logs and the dead letters is one line of valid UTF-8. */
    if (n >= (int)sizeof why->message) {
        why->message[hub_text_complete(why->message, strlen(why->message))] = '\0';
    }
    hub_text_scrub(why->message);
    /* Numbers from the data (avro-c's "Cannot skip N bytes") may be a
     * personal ID a producer's bytes spell: never a full one. */
    hub_text_mask_digit_runs(why->message);
    return -1;
}
