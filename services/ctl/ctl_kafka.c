#include "ctl_kafka.h"

#include <stdio.h>

typedef struct kconf {
    rd_kafka_conf_t *conf;
    char err[512];
} kconf;

static int set_kafka(const char *name, const char *value, void *opaque)
{
    kconf *k = opaque;
    char err[256];
    if (rd_kafka_conf_set(k->conf, name, value, err, sizeof err) != RD_KAFKA_CONF_OK) {
        snprintf(k->err, sizeof k->err, "kafka.%s: %s", name, err);
        return -1;
    }
    return 0;
}

static rd_kafka_t *make_kafka(ctl *c, rd_kafka_type_t type, const char *const *defaults,
                              const char *bootstrap, ctl_delivery_fn on_delivery, void *opaque)
{
    kconf k = {rd_kafka_conf_new(), ""};
    if (on_delivery) rd_kafka_conf_set_dr_msg_cb(k.conf, on_delivery);
    rd_kafka_conf_set_opaque(k.conf, opaque);
    for (; defaults && defaults[0]; defaults += 2)
        if (set_kafka(defaults[0], defaults[1], &k) != 0) goto fail;
    if (hub_config_foreach(c->cfg, "kafka.", set_kafka, &k) != 0) goto fail;
    if (bootstrap && set_kafka("bootstrap.servers", bootstrap, &k) != 0) goto fail;
    rd_kafka_t *rk = rd_kafka_new(type, k.conf, k.err, sizeof k.err);
    if (rk) return rk;
fail:
    rd_kafka_conf_destroy(k.conf);
    fprintf(stderr, "crvsctl: kafka: %s\n", k.err);
    return NULL;
}

rd_kafka_t *ctl_kafka(ctl *c, rd_kafka_type_t type, const char *const *defaults,
                      ctl_delivery_fn on_delivery, void *opaque)
{
    return make_kafka(c, type, defaults, NULL, on_delivery, opaque);
}

rd_kafka_t *ctl_kafka_at(ctl *c, const char *broker)
{
    return make_kafka(c, RD_KAFKA_PRODUCER, NULL, broker, NULL, NULL);
}
