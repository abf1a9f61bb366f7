/* hub_reject: why a message was refused, the one type every stage that can
 * refuse a message fills (framing and decoding in hub_avro, resolution in
 * hub_resolve, limits in hub_limits, the services' rules) and the consumer
 * writes to the dead letters and metrics. Its own module so that those
 * stages share it without including each other. */
#ifndef HUB_REJECT_H
#define HUB_REJECT_H

/* Why a message was refused. `reason` is a stable dotted code used in the
 * dead-letter table and metrics ("frame.bad_magic", "schema.unknown_id",
 * "schema.incompatible", "avro.decode", "avro.resolve", "encoding.utf8",
 * ...); `message` says what and where. */
typedef struct hub_reject {
    char reason[64];
    char message[512];
} hub_reject;

/* Fills *why; returns -1, for `return hub_reject_set(...)`. The message is
 * made one line of valid UTF-8 (cut on a character boundary, invalid bytes
 * and control characters as '?') and every run of 12 or more digits is
 * masked (hub_text.h): it goes to logs and the dead letters as it is. */
int hub_reject_set(hub_reject *why, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
