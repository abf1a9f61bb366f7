/* crvsctl: the operator tool. Each subcommand is a function in its own
 * ctl_*.c file taking the shared context and its own arguments. */
#ifndef CTL_H
#define CTL_H

#include <jansson.h>
#include <stdio.h>
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

/* Connects to PostgreSQL with pg.* or prints why and returns NULL. */
PGconn *ctl_pg(ctl *c);
/* Runs a parameterised query; on failure prints "crvsctl WHO: error" and
 * returns NULL. */
PGresult *ctl_query(PGconn *conn, const char *who, const char *sql, int n,
                    const char *const *params);
/* Runs a statement without parameters or result rows (BEGIN, COMMIT, DDL);
 * -1 after printing why as ctl_query does. */
int ctl_exec(PGconn *conn, const char *who, const char *sql);
/* Runs copy_sql (a COPY ... FROM STDIN) and sends the whole of `in`; -1
 * after printing PostgreSQL's message (with the line of the input that
 * failed) prefixed by "crvsctl WHO: ". */
int ctl_copy_in(PGconn *conn, const char *who, const char *copy_sql, FILE *in);
/* The input file an operator named, "-" for standard input; NULL after
 * printing why ("crvsctl WHO: PATH: ..."). ctl_close_input closes it unless
 * it is standard input. */
FILE *ctl_open_input(const char *who, const char *path);
/* Prints s padded with spaces to `width` terminal columns (UTF-8 display
 * width: Vietnamese letters with diacritics count one), on the left or, with
 * `right`, on the right. */
void ctl_print_padded(const char *s, size_t width, bool right);
/* Prints a query's rows as an aligned table under `head` (one title a
 * column), two spaces between columns, the last one unpadded. */
void ctl_print_rows(const PGresult *res, const char *const *head);
void ctl_close_input(FILE *in);
/* A whole decimal number >= 0 ("12"; not "", "1x", "-3"). */
bool ctl_parse_count(const char *s, long long *out);
/* An operator's decision on one item: "ID --comment TEXT [--by NAME]",
 * --by defaulting to $USER. Returns -1 when the arguments do not fit. */
typedef struct ctl_decision {
    const char *id, *comment, *by;
} ctl_decision;
int ctl_parse_decision(int argc, char **argv, ctl_decision *d);
/* The schema catalog (schema.catalog setting), or NULL after printing why. */
hub_catalog *ctl_catalog(ctl *c);
/* A Kafka client of the given type configured from kafka.* plus the given
 * defaults ({name, value} pairs, NULL-terminated); NULL after printing why. */
typedef void (*ctl_delivery_fn)(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque);
rd_kafka_t *ctl_kafka(ctl *c, rd_kafka_type_t type, const char *const *defaults,
                      ctl_delivery_fn on_delivery, void *opaque);
/* A producer handle as ctl_kafka's whose bootstrap list is the one broker
 * "host:port": until told of others, it asks that broker for metadata
 * (sparse connections), so it sees the cluster as that broker does. */
rd_kafka_t *ctl_kafka_at(ctl *c, const char *broker);

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

/* Schema registry (ctl_registry.c). */
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
