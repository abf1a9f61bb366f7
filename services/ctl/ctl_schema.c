/* crvsctl schema check --topic T FILE.avsc: whether data a producer writes
 * with FILE can be read by the schema the topic's service reads with (the
 * local catalog's latest version for T), and if not, which reader field and
 * why. It runs the resolution the services run (hub_resolve), so its answer
 * is theirs. Exit status: 0 compatible, 1 incompatible (or FILE unusable),
 * 2 usage. Problems that refuse only some messages (an enum symbol the
 * reader lacks, a union branch it cannot take) count as incompatible too:
 * such messages would become dead letters "avro.resolve". */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "hub_resolve.h"

/* FILE (or "-") as a parsed schema the caller destroys; prints why not. */
static hub_schema *load_schema(const char *path, const char *topic)
{
    json_error_t jerr;
    char err[512];
    json_t *j = strcmp(path, "-") ? json_load_file(path, 0, &jerr) : json_loadf(stdin, 0, &jerr);
    if (!j) {
        fprintf(stderr, "crvsctl schema check: %s:%d: %s\n", path, jerr.line, jerr.text);
        return NULL;
    }
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (!text) {
        fprintf(stderr, "crvsctl schema check: out of memory\n");
        return NULL;
    }
    hub_schema *s = hub_schema_parse(text, 0, topic, 0, err, sizeof err);
    free(text);
    if (!s) fprintf(stderr, "crvsctl schema check: %s: %s\n", path, err);
    return s;
}

static void print_problem(void *opaque, const char *path, const char *why, bool at_read_time)
{
    (void)opaque;
    (void)at_read_time; /* the text says which messages it refuses */
    printf("incompatible: %s: %s\n", path, why);
}

static int check(ctl *c, const char *topic, const char *path)
{
    hub_catalog *cat = ctl_catalog(c);
    if (!cat) return CTL_FAILED;
    const hub_schema *reader = hub_catalog_latest(cat, topic);
    if (!reader) {
        fprintf(stderr, "crvsctl schema check: no schema for topic '%s' in the catalog\n", topic);
        return CTL_FAILED;
    }
    hub_schema *writer = load_schema(path, topic);
    if (!writer) return CTL_FAILED;
    int n = hub_resolve_check(writer, reader, print_problem, NULL);
    int status = CTL_FAILED;
    if (n < 0) {
        fprintf(stderr, "crvsctl schema check: out of memory\n");
    } else if (n == 0) {
        printf("compatible: data written with %s can be read by %s v%d\n", path,
               hub_schema_fullname(reader), hub_schema_version(reader));
        status = CTL_OK;
    }
    hub_schema_destroy(writer);
    return status;
}

int ctl_schema_check(ctl *c, int argc, char **argv)
{
    static const struct option opts[] = {{"topic", required_argument, NULL, 't'},
                                         {NULL, 0, NULL, 0}};
    const char *topic = NULL;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "t:", opts, NULL)) != -1) {
        if (opt == 't') topic = optarg;
        else goto usage;
    }
    if (!topic || optind != argc - 1) goto usage;
    return check(c, topic, argv[optind]);
usage:
    fprintf(stderr, "usage: crvsctl schema check --topic T FILE.avsc|-\n"
                    "  says whether data written with FILE can be read by the topic's current\n"
                    "  schema; exit 0 compatible, 1 incompatible (each problem printed)\n");
    return CTL_USAGE;
}
