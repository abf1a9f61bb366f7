#include "hub_service.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub_avro.h"
#include "hub_build.h"
#include "hub_catalog.h"
#include "hub_config.h"
#include "hub_consumer.h"
#include "hub_linker.h"
#include "hub_log.h"
#include "hub_loss.h"
#include "hub_registry.h"
#include "hub_telemetry.h"
#include "hub_topics.h"
#include "hub_writer.h"

/* Set by signals and by a fatal error on either of the loop's threads. */
static atomic_int stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static const hub_config_setting service_settings[] = {
    {"topic", HUB_CFG_STRING, NULL, 0, 0, "topic to consume (default: the service's own)"},
    {"log.level", HUB_CFG_STRING, "info", 0, 0, "error | warn | info | debug"},
    {"schema.catalog", HUB_CFG_STRING, HUB_SCHEMA_DIR, 0, 0, "folder with catalog.tsv and .avsc files"},
    {"batch.max.messages", HUB_CFG_INT, "1000", 1, 100000, "most messages per transaction"},
    {"batch.linger.ms", HUB_CFG_INT, "5", 0, 60000,
     "longest wait for more messages before a batch is written"},
    {"retry.backoff.initial.ms", HUB_CFG_INT, "100", 1, 60000, "first wait after a transient error"},
    {"retry.backoff.max.ms", HUB_CFG_INT, "5000", 1, 600000, "longest wait between retries"},
    {"http.port", HUB_CFG_INT, "0", 0, 65535, "port for /metrics, /healthz, /readyz (0: off)"},
    {"http.bind", HUB_CFG_STRING, "127.0.0.1", 0, 0, "address the HTTP endpoints listen on"},
    {"http.tls.cert", HUB_CFG_STRING, "", 0, 0, "PEM certificate (chain): the endpoints over HTTPS"},
    {"http.tls.key", HUB_CFG_STRING, "", 0, 0, "PEM private key of http.tls.cert"},
    {"http.healthz.stall.s", HUB_CFG_INT, "60", 1, 86400, "/healthz fails after the loop stalls this long"},
    {"offsets.on.loss", HUB_CFG_STRING, "stop", 0, 0,
     "broker data loss: stop (the partition waits for crvsctl offsets reset) | continue "
     "(development only: skip to the log start, logged and audited)"},
    {"offsets.fault.poll.ms", HUB_CFG_INT, "5000", 100, 600000,
     "how often a stopped partition looks for an operator's offsets reset"},
    {"linker.enabled", HUB_CFG_BOOL, "true", 0, 0,
     "fold queued records into persons and marriages (one process at a time per database folds; "
     "the others stand by)"},
    {"linker.batch", HUB_CFG_INT, "5000", 1, 1000000, "most queued records per linker transaction"},
    {"linker.idle.ms", HUB_CFG_INT, "100", 1, 60000,
     "the linker's wait after it emptied the queue or found another process folding"},
};

static void usage(const hub_service_spec *spec, hub_config *cfg)
{
    fprintf(stderr,
            "usage: crvs-%s [-c FILE]...\n"
            "Consumes topic '%s' into the PostgreSQL registry, exactly once.\n"
            "Files are read in order; CRVS_* environment variables override them.\n\n",
            spec->name, spec->topic);
    hub_config_print_help(cfg);
}

int hub_service_main(const hub_service_spec *spec, int argc, char **argv)
{
    extern char **environ;
    char err[1024];
    int status = 1;
    hub_catalog *cat = NULL;
    hub_registry *reg = NULL; /* NULL without schema.registry.url: local catalog only */
    hub_avro_decoder *dec = NULL;
    hub_telemetry *telemetry = NULL;
    hub_writer *writer = NULL;
    hub_linker *linker = NULL;
    hub_log_init(spec->name, HUB_LOG_INFO);
    hub_config *cfg =
        hub_config_new(service_settings, sizeof service_settings / sizeof *service_settings);
    if (!cfg) return 1;
    for (int i = 1; i < argc; i++) {
        if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) && i + 1 < argc) {
            if (hub_config_load_file(cfg, argv[++i], err, sizeof err) != 0) {
                fprintf(stderr, "crvs-%s: %s\n", spec->name, err);
                goto out;
            }
        } else if (!strcmp(argv[i], "--version")) {
            printf("crvs-%s %s\n", spec->name, HUB_VERSION);
            status = 0;
            goto out;
        } else {
            usage(spec, cfg);
            status = strcmp(argv[i], "-h") && strcmp(argv[i], "--help") ? 2 : 0;
            goto out;
        }
    }
    if (hub_config_apply_env(cfg, environ, err, sizeof err) != 0) {
        fprintf(stderr, "crvs-%s: %s\n", spec->name, err);
        goto out;
    }
    hub_log_level level;
    if (!hub_log_parse_level(hub_config_get(cfg, "log.level"), &level)) {
        fprintf(stderr, "crvs-%s: log.level must be error, warn, info or debug\n", spec->name);
        goto out;
    }
    hub_log_set_level(level);
    const char *topic = hub_config_get(cfg, "topic") ? hub_config_get(cfg, "topic") : spec->topic;
    char group[256];
    const char *group_set = hub_config_get(cfg, "kafka.group.id");
    if (group_set) snprintf(group, sizeof group, "%s", group_set);
    else snprintf(group, sizeof group, "crvs-%s", spec->name);
    hub_consumer_params run = {
        .spec = spec,
        .cfg = cfg,
        .batch_max = (int)hub_config_get_int(cfg, "batch.max.messages"),
        .linger_ms = (int)hub_config_get_int(cfg, "batch.linger.ms"),
        .fault_poll_ms = (int)hub_config_get_int(cfg, "offsets.fault.poll.ms"),
    };
    if (!hub_loss_policy_parse(hub_config_get(cfg, "offsets.on.loss"), &run.on_loss)) {
        fprintf(stderr, "crvs-%s: offsets.on.loss must be stop or continue\n", spec->name);
        goto out;
    }

    cat = hub_catalog_open(hub_config_get(cfg, "schema.catalog"), err, sizeof err);
    if (!cat) {
        hub_log_error("event=catalog_failed error=\"%s\"", err);
        goto out;
    }
    /* With a registry, ids of the local catalog still resolve locally
     * (pinned); any other id is asked there. An unreachable registry makes
     * the decoder answer HUB_DECODE_TRANSIENT: the message waits, it is
     * never a dead letter (hub_consumer). */
    if (hub_registry_configured(cfg)) {
        reg = hub_registry_new(cfg, err, sizeof err);
        if (!reg) {
            hub_log_error("event=registry_config_failed error=\"%s\"", err);
            goto out;
        }
        hub_catalog_set_fetcher(cat, hub_registry_fetch, reg);
    }
    const hub_schema *reader = hub_catalog_latest(cat, spec->topic);
    if (!reader) {
        hub_log_error("event=no_reader_schema topic=%s", spec->topic);
        goto out;
    }
    dec = hub_avro_decoder_new(cat, reader, err, sizeof err);
    if (!dec) {
        hub_log_error("event=decoder_failed error=\"%s\"", err);
        goto out;
    }

    int http_port = (int)hub_config_get_int(cfg, "http.port");
    if (http_port > 0) {
        const char *bind = hub_config_get(cfg, "http.bind");
        telemetry = hub_telemetry_new(spec->name, HUB_VERSION, err, sizeof err);
        if (!telemetry ||
            hub_telemetry_serve(telemetry, bind, http_port,
                                (int)hub_config_get_int(cfg, "http.healthz.stall.s"),
                                hub_config_get(cfg, "http.tls.cert"),
                                hub_config_get(cfg, "http.tls.key"), err, sizeof err) != 0) {
            hub_log_error("event=http_failed error=\"%s\"", err);
            goto out;
        }
        hub_log_info("event=http_listening address=%s port=%d tls=%s", bind, http_port,
                     *hub_config_get(cfg, "http.tls.cert") ? "on" : "off");
    }

    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    hub_writer_settings wset = {
        .cfg = cfg,
        .service = spec->name,
        .topic = topic,
        .group = group,
        .topic_info = hub_topic_find(spec->topic),
        .backoff_initial_ms = (int)hub_config_get_int(cfg, "retry.backoff.initial.ms"),
        .backoff_max_ms = (int)hub_config_get_int(cfg, "retry.backoff.max.ms"),
        .stop = &stop_requested,
        .telemetry = telemetry,
    };
    if (!(writer = hub_writer_new(&wset))) {
        hub_log_error("event=out_of_memory");
        goto out;
    }
    if (!hub_writer_connection(writer)) { /* stopped while connecting, or cannot work */
        status = hub_writer_fatal(writer) ? 1 : 0;
        goto out;
    }
    hub_log_info("event=started version=%s topic=%s group=%s reader_schema=%s:%d batch_max=%d "
                 "linger_ms=%d offsets_on_loss=%s",
                 HUB_VERSION, topic, group, hub_schema_fullname(reader),
                 (int)hub_schema_id(reader), run.batch_max, run.linger_ms,
                 run.on_loss == HUB_LOSS_STOP ? "stop" : "continue");
    if (run.on_loss == HUB_LOSS_CONTINUE)
        hub_log_warn("event=offsets_on_loss_continue reason=\"development only: broker data loss "
                     "is skipped (logged, counted, audited), not stopped\"");
    if (hub_config_get_bool(cfg, "linker.enabled")) {
        hub_linker_settings lset = {
            .cfg = cfg,
            .service = spec->name,
            .batch = (int)hub_config_get_int(cfg, "linker.batch"),
            .idle_ms = (int)hub_config_get_int(cfg, "linker.idle.ms"),
            .backoff_initial_ms = wset.backoff_initial_ms,
            .backoff_max_ms = wset.backoff_max_ms,
            .stop = &stop_requested,
            .telemetry = telemetry,
        };
        if (!(linker = hub_linker_start(&lset, err, sizeof err))) {
            hub_log_error("event=linker_failed error=\"%s\"", err);
            goto out;
        }
    }
    run.dec = dec;
    run.writer = writer;
    run.wset = &wset;
    status = hub_consumer_run(&run);
out:
    stop_requested = 1; /* the consumer returned: the linker stops too */
    hub_linker_join(linker);
    hub_telemetry_destroy(telemetry); /* after the consumer: its callbacks report */
    hub_writer_free(writer);
    hub_avro_decoder_destroy(dec);
    hub_catalog_destroy(cat);
    hub_registry_destroy(reg); /* after the catalog, which borrows it */
    hub_config_destroy(cfg);
    return status;
}
