/* crvsctl: the operator tool. Each subcommand is a function in its own
 * ctl_*.c file taking the shared context and its own arguments. */
#ifndef CTL_H
#define CTL_H

#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>

#include "hub_catalog.h"
#include "hub_config.h"

typedef struct ctl {
    hub_config *cfg;
    hub_catalog *cat; /* loaded on first use by ctl_catalog() */
} ctl;

/* Exit statuses: 0 ok, 1 the operation failed, 2 usage. */
#define CTL_OK 0
#define CTL_FAILED 1
#define CTL_USAGE 2

/* Connects to PostgreSQL with pg.* or prints why and returns NULL. */
PGconn *ctl_pg(ctl *c);
/* Runs a parameterised query; on failure prints "crvsctl WHO: error" and
 * returns NULL. */
PGresult *ctl_query(PGconn *conn, const char *who, const char *sql, int n,
                    const char *const *params);
/* The schema catalog (schema.catalog setting), or NULL after printing why. */
hub_catalog *ctl_catalog(ctl *c);
/* A Kafka client of the given type configured from kafka.* plus the given
 * defaults ({name, value} pairs, NULL-terminated); NULL after printing why. */
typedef void (*ctl_delivery_fn)(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque);
rd_kafka_t *ctl_kafka(ctl *c, rd_kafka_type_t type, const char *const *defaults,
                      ctl_delivery_fn on_delivery, void *opaque);

int ctl_migrate(ctl *c, int argc, char **argv);
int ctl_publish(ctl *c, int argc, char **argv);
int ctl_wait(ctl *c, int argc, char **argv);
int ctl_dlq(ctl *c, int argc, char **argv);
int ctl_loadgen(ctl *c, int argc, char **argv);
int ctl_reconcile(ctl *c, int argc, char **argv);
int ctl_marriage(ctl *c, int argc, char **argv);

#endif
