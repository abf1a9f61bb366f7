/* ctl_kafka: Kafka clients for crvsctl's subcommands, configured from the
 * kafka.* settings (passed to librdkafka as they are) on top of each
 * caller's defaults. */
#ifndef CTL_KAFKA_H
#define CTL_KAFKA_H

#include <librdkafka/rdkafka.h>

#include "ctl.h"

/* A Kafka client of the given type configured from kafka.* plus the given
 * defaults ({name, value} pairs, NULL-terminated); NULL after printing why.
 * kafka.* settings override the defaults. The caller destroys it. */
typedef void (*ctl_delivery_fn)(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque);
rd_kafka_t *ctl_kafka(ctl *c, rd_kafka_type_t type, const char *const *defaults,
                      ctl_delivery_fn on_delivery, void *opaque);
/* A producer handle as ctl_kafka's whose bootstrap list is the one broker
 * "host:port": until told of others, it asks that broker for metadata
 * (sparse connections), so it sees the cluster as that broker does. */
rd_kafka_t *ctl_kafka_at(ctl *c, const char *broker);

#endif
