/* crvsctl: the operator tool. Each subcommand is a function in its own
 * ctl_*.c file taking the shared context and its own arguments. What the
 * subcommands share lives in modules of their own: ctl_pg (PostgreSQL),
 * ctl_kafka (Kafka clients), ctl_input (input files, shared argument
 * shapes) and ctl_print (aligned output); crvsctl.c is main and the usage. */
#ifndef CTL_H
#define CTL_H

#include <jansson.h>
#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>

#include "hub_catalog.h"
#include "hub_config.h"
#include "hub_loss.h"
#include "hub_registry.h"

typedef struct ctl {
    hub_config *cfg;
    hub_catalog *cat; /* loaded on first use by ctl_catalog() */
} ctl;

/* Exit statuses: 0 ok, 1 the operation failed, 2 usage. */
#define CTL_OK 0
#define CTL_FAILED 1
#define CTL_USAGE 2

int ctl_migrate(ctl *c, int argc, char **argv);
int ctl_publish(ctl *c, int argc, char **argv);
int ctl_wait(ctl *c, int argc, char **argv);
int ctl_dlq(ctl *c, int argc, char **argv);
/* Exit status 2 means a threshold is breached (usage errors are 1 here). */
int ctl_status(ctl *c, int argc, char **argv);
int ctl_serve(ctl *c, int argc, char **argv);

/* The status document (ctl_status.c), shared by `status` and `serve`. */
#define CTL_STATUS_MAX_TOPICS 16
typedef struct ctl_status_opts {
    const char *topics[CTL_STATUS_MAX_TOPICS]; /* none: the hub's topics and every stored group */
    int n_topics;
    bool json;
    int watch_s;                                          /* 0: once */
    long long max_lag, max_commit_age_s, max_dl_per_hour; /* -1: no threshold */
    long long max_linker_age_s;                           /* -1: no threshold */
} ctl_status_opts;
/* A consumer for watermarks and lag ages; NULL after printing why. */
rd_kafka_t *ctl_status_kafka(ctl *c);
/* Gathers the figures (docs/operations.md "Status at a glance") into a new
 * JSON object the caller decrefs; NULL after printing why. */
json_t *ctl_status_gather(rd_kafka_t *rk, PGconn *conn, const ctl_status_opts *o);
/* Checks the thresholds: sets "breaches" and "ok" in doc and returns the
 * breaches array (a new reference). */
json_t *ctl_status_check(json_t *doc, const ctl_status_opts *o);
int ctl_loadgen(ctl *c, int argc, char **argv);

/* Registration indicators (ctl_stats.c, docs/indicators.md). */
#define CTL_STATS_MAX_BY 4
typedef struct ctl_stats_req {
    const char *name;              /* crvs.indicator.name */
    const char *from, *to;         /* YYYY-MM-DD, inclusive */
    const char *by[CTL_STATS_MAX_BY];
    int n_by;
    const char *units;             /* "current" (NULL) or "as-recorded" */
    const char *param;             /* NULL: the indicator's default */
    const char *unit;              /* NULL, or only this reporting unit */
} ctl_stats_req;
/* crvs.indicator_table for r: columns keys (text[]), labels, numerator,
 * denominator, value, keys and labels as JSON arrays. The caller PQclears;
 * NULL after printing why. */
PGresult *ctl_stats_query(PGconn *conn, const ctl_stats_req *r);
int ctl_stats(ctl *c, int argc, char **argv);
int ctl_report(ctl *c, int argc, char **argv);
int ctl_refdata(ctl *c, int argc, char **argv);
int ctl_reconcile(ctl *c, int argc, char **argv);
int ctl_marriage(ctl *c, int argc, char **argv);
/* `topics create|describe|delete` (ctl_topics.c): the hub's topics on a
 * Kafka cluster through the admin API. */
int ctl_topics(ctl *c, int argc, char **argv);
/* `worklist` (ctl_worklist.c): what registry offices have to act on. */
int ctl_worklist(ctl *c, int argc, char **argv);
/* `audit verify|anchor` (ctl_audit.c): the tamper-evident audit chain. */
int ctl_audit(ctl *c, int argc, char **argv);

/* Broker data loss (ctl_offsets.c; docs/operations.md, "Broker data loss"). */
int ctl_offsets(ctl *c, int argc, char **argv);
typedef struct ctl_partition_loss {
    hub_loss loss;         /* kind HUB_LOSS_NONE: the partition is fine */
    bool recorded;         /* a service stopped it: crvs.partition_fault holds it */
    char detected_at[40];  /* when recorded, UTC */
    char detected_by[64];  /* the service that recorded it */
} ctl_partition_loss;
/* The open faults of (group, topic), for ctl_partition_judge: the caller
 * PQclears; no rows on a database without the table; NULL after printing
 * "crvsctl WHO: ...". */
PGresult *ctl_faults_query(PGconn *conn, const char *who, const char *group, const char *topic);
/* Whether a partition is broken: its open fault in `faults` (the numbers
 * its service found), else its stored next offset (-2: nothing stored)
 * judged against the log start and end (hub_loss_judge; a service not
 * running has not found it yet). */
bool ctl_partition_judge(const PGresult *faults, int partition, long long stored, long long lo,
                         long long hi, ctl_partition_loss *out);
/* "broker data loss (behind_log_start): stored 5, log start 10, log end
 * 20, 5 messages missing; stopped by birth-certificate at ..." */
void ctl_partition_describe(const ctl_partition_loss *l, char *out, size_t out_size);

/* Schemas (ctl_registry.c): the local catalog and the schema registry. */
/* The schema catalog (schema.catalog setting), loaded on first use and kept
 * in c until main destroys it; NULL after printing why. */
hub_catalog *ctl_catalog(ctl *c);
/* Sets *out to a new client (the caller destroys it) when schema.registry.url
 * is set, to NULL when not. Returns -1 after printing why on a bad setting. */
int ctl_registry_open(ctl *c, hub_registry **out);
/* The writer schema `publish` encodes with. schema_id 0: the latest version
 * of subject <topic>-value in the registry, or without a registry the local
 * catalog's latest for topic. Otherwise that id: the local catalog first
 * (pinned ids), then the registry. *schema is borrowed from the catalog or
 * is *owned, which the caller destroys (hub_schema_destroy). Returns -1
 * after printing why. */
int ctl_writer_schema(ctl *c, const char *topic, int32_t schema_id, const hub_schema **schema,
                      hub_schema **owned);
/* `schema register --topic T FILE.avsc`: argv[0] is the subcommand's name
 * ("register"), options follow. Checks compatibility with the latest version
 * of T-value, prints the verdict, registers when compatible (or first). */
int ctl_schema_register(ctl *c, int argc, char **argv);
/* `schema check --topic T FILE.avsc` (ctl_schema.c): argv[0] is "check".
 * Whether data written with FILE can be read by T's current schema, with
 * the services' own resolution (hub_resolve); 0 yes, 1 no, 2 usage. */
int ctl_schema_check(ctl *c, int argc, char **argv);

#endif
