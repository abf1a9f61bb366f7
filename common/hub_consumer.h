/* hub_consumer: the Kafka loop of a consumer service.
 *
 * Messages of the topic are decoded (hub_avro), checked and mapped by the
 * service's map function into batches, and each batch is handed to a writer
 * thread (hub_writer: one PostgreSQL transaction per batch holds the
 * registry rows, the audit rows, the dead letters and the advanced consumer
 * offsets) while the next one is filled. Offsets in PostgreSQL are the
 * truth: on assignment the loop starts where they say; Kafka-side commits
 * are made afterwards only so that lag tools see progress.
 *
 *   - another member advanced the stored offset (rebalance, zombie): the
 *     batch is dropped and the partitions are sought to the stored offsets;
 *   - partitions revoked: what is pending is written first (3 attempts);
 *   - the broker no longer holds a stored offset: that partition stops
 *     (docs/operations.md, "Broker data loss");
 *   - a stop: the batch being built is written, then the consumer is
 *     closed. kill -9 loses only uncommitted work, which is re-read. */
#ifndef HUB_CONSUMER_H
#define HUB_CONSUMER_H

#include "hub_avro.h"
#include "hub_config.h"
#include "hub_loss.h"
#include "hub_service.h"
#include "hub_writer.h"

typedef struct hub_consumer_params {
    const hub_service_spec *spec;
    const hub_config *cfg;            /* kafka.* settings */
    hub_avro_decoder *dec;            /* borrowed */
    hub_writer *writer;               /* borrowed, connected */
    const hub_writer_settings *wset;  /* topic, group, backoff, stop flag, telemetry */
    int batch_max, linger_ms;
    hub_loss_policy on_loss;
    int fault_poll_ms;
} hub_consumer_params;

/* Consumes until the stop flag is set or a fatal error sets it. Returns 0
 * after a stop, 1 after a fatal error (Kafka configuration, the writer's). */
int hub_consumer_run(const hub_consumer_params *params);

#endif
