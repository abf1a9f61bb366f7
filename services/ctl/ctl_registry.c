/* crvsctl's schemas: the local catalog (schema.catalog), loaded once; the
 * schema registry client from the schema.registry.* settings; the writer
 * schema `publish` encodes with; and `schema register --topic T FILE.avsc`,
 * which checks compatibility with the subject's latest version first and
 * prints the registry's verdict. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "ctl_input.h"
#include "hub_file.h"

hub_catalog *ctl_catalog(ctl *c)
{
    char err[512];
    if (!c->cat) c->cat = hub_catalog_open(hub_config_get(c->cfg, "schema.catalog"), err, sizeof err);
    if (!c->cat) fprintf(stderr, "crvsctl: schema catalog: %s\n", err);
    return c->cat;
}

int ctl_registry_open(ctl *c, hub_registry **out)
{
    char err[512];
    *out = NULL;
    if (!hub_registry_configured(c->cfg)) return 0;
    *out = hub_registry_new(c->cfg, err, sizeof err);
    if (!*out) {
        fprintf(stderr, "crvsctl: schema registry: %s\n", err);
        return -1;
    }
    return 0;
}

/* Parses registry text into a schema the caller destroys; prints why not. */
static hub_schema *parse_remote(const char *text, int32_t id, const char *topic, int version)
{
    char err[512];
    hub_schema *s = hub_schema_parse(text, id, topic, version, err, sizeof err);
    if (!s) fprintf(stderr, "crvsctl: schema id %d from the registry: %s\n", (int)id, err);
    return s;
}

int ctl_writer_schema(ctl *c, const char *topic, int32_t schema_id, const hub_schema **schema,
                      hub_schema **owned)
{
    char err[512], subject[300];
    char *text = NULL;
    hub_registry *reg = NULL;
    int rc = -1;
    *schema = NULL;
    *owned = NULL;
    hub_catalog *cat = ctl_catalog(c);
    if (!cat || ctl_registry_open(c, &reg) != 0) return -1;
    if (schema_id) {
        /* Local (pinned) ids first, as the services resolve them. */
        hub_schema_status st = hub_catalog_get(cat, schema_id, schema, err, sizeof err);
        if (st == HUB_SCHEMA_OK) {
            rc = 0;
        } else if (!reg) {
            fprintf(stderr, "crvsctl: %s\n", err);
        } else if (hub_registry_get_by_id(reg, schema_id, &text, err, sizeof err) !=
                   HUB_REGISTRY_OK) {
            fprintf(stderr, "crvsctl: schema id %d: %s\n", (int)schema_id, err);
        } else if ((*owned = parse_remote(text, schema_id, topic, 0))) {
            *schema = *owned;
            rc = 0;
        }
    } else if (reg) {
        int32_t id = 0;
        int version = 0;
        if (hub_registry_subject(topic, subject, sizeof subject) != 0) {
            fprintf(stderr, "crvsctl: topic name too long\n");
            goto out;
        }
        hub_registry_status st =
            hub_registry_latest(reg, subject, &id, &version, &text, err, sizeof err);
        if (st == HUB_REGISTRY_NOT_FOUND) {
            fprintf(stderr,
                    "crvsctl: %s\nregister the topic's schema first: crvsctl schema register "
                    "--topic %s FILE.avsc (or name a local id with --schema-id)\n",
                    err, topic);
        } else if (st != HUB_REGISTRY_OK) {
            fprintf(stderr, "crvsctl: %s\n", err);
        } else if ((*owned = parse_remote(text, id, topic, version))) {
            *schema = *owned;
            rc = 0;
        }
    } else if ((*schema = hub_catalog_latest(cat, topic))) {
        rc = 0;
    } else {
        fprintf(stderr, "crvsctl: no schema for topic '%s'\n", topic);
    }
out:
    free(text);
    hub_registry_destroy(reg);
    return rc;
}

/* The .avsc an operator names, "-" for standard input; NULL after printing
 * why. */
static char *read_all(const char *path)
{
    FILE *f = ctl_input_open("schema register", path);
    if (!f) return NULL;
    char err[4352];
    size_t len = 0;
    char *buf = hub_file_read_stream(f, path, &len, err, sizeof err);
    ctl_input_close(f);
    if (!buf) {
        fprintf(stderr, "crvsctl schema register: %s\n", err);
    } else if (len == 0) {
        fprintf(stderr, "crvsctl schema register: %s: empty or unreadable\n", path);
        free(buf);
        buf = NULL;
    }
    return buf;
}

int ctl_schema_register(ctl *c, int argc, char **argv)
{
    static const struct option opts[] = {{"topic", required_argument, NULL, 't'},
                                         {NULL, 0, NULL, 0}};
    const char *topic = NULL;
    char err[512], subject[300];
    char *file_text = NULL, *text = NULL;
    hub_schema *schema = NULL;
    hub_registry *reg = NULL;
    json_t *messages = NULL;
    int opt, status = CTL_FAILED;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "t:", opts, NULL)) != -1) {
        if (opt == 't') topic = optarg;
        else goto usage;
    }
    if (!topic || optind != argc - 1) goto usage;
    if (hub_registry_subject(topic, subject, sizeof subject) != 0) goto usage;
    if (ctl_registry_open(c, &reg) != 0) return CTL_FAILED;
    if (!reg) {
        fprintf(stderr, "crvsctl schema register: no schema registry configured "
                        "(schema.registry.url); without one, schemas are added to "
                        "schemas/avro/catalog.tsv with a pinned id\n");
        return CTL_FAILED;
    }
    if (!(file_text = read_all(argv[optind]))) goto out;
    /* Only a schema avro-c accepts is sent; what is sent is its JSON, compact. */
    if (!(schema = hub_schema_parse(file_text, 0, topic, 0, err, sizeof err))) {
        fprintf(stderr, "crvsctl schema register: %s: %s\n", argv[optind], err);
        goto out;
    }
    hub_catalog *cat = ctl_catalog(c);
    const hub_schema *local = cat ? hub_catalog_latest(cat, topic) : NULL;
    if (local && strcmp(hub_schema_fullname(local), hub_schema_fullname(schema)) != 0) {
        fprintf(stderr, "crvsctl schema register: %s defines %s, but topic %s carries %s\n",
                argv[optind], hub_schema_fullname(schema), topic, hub_schema_fullname(local));
        goto out;
    }
    if (!(text = json_dumps(hub_schema_json(schema), JSON_COMPACT))) {
        fprintf(stderr, "crvsctl schema register: out of memory\n");
        goto out;
    }

    bool compatible = false;
    hub_registry_status st =
        hub_registry_check(reg, subject, text, &compatible, &messages, err, sizeof err);
    if (st == HUB_REGISTRY_NOT_FOUND) {
        printf("compatibility: %s has no version yet, nothing to check against\n", subject);
    } else if (st != HUB_REGISTRY_OK) {
        fprintf(stderr, "crvsctl schema register: %s\n", err);
        goto out;
    } else {
        printf("compatibility with %s latest: %s\n", subject,
               compatible ? "compatible" : "NOT compatible");
        size_t i;
        json_t *m;
        json_array_foreach(messages, i, m) printf("  %s\n", json_string_value(m));
        if (!compatible) {
            fprintf(stderr, "crvsctl schema register: not registered: the registry says data "
                            "written with the latest version could not be read with it\n");
            goto out;
        }
    }
    int32_t id = 0;
    st = hub_registry_register(reg, subject, text, &id, err, sizeof err);
    if (st != HUB_REGISTRY_OK) {
        fprintf(stderr, "crvsctl schema register: %s\n", err);
        goto out;
    }
    printf("registered subject=%s id=%d\n", subject, (int)id);
    status = CTL_OK;
out:
    json_decref(messages);
    free(text);
    free(file_text);
    hub_schema_destroy(schema);
    hub_registry_destroy(reg);
    return status;
usage:
    fprintf(stderr, "usage: crvsctl schema register --topic T FILE.avsc|-\n"
                    "  checks FILE against the latest version of subject T-value in the "
                    "schema registry,\n  then registers it there and prints its id\n");
    return CTL_USAGE;
}
