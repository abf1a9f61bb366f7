#include "ctl_input.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

FILE *ctl_input_open(const char *who, const char *path)
{
    if (!strcmp(path, "-")) return stdin;
    FILE *in = fopen(path, "r");
    if (!in) fprintf(stderr, "crvsctl %s: %s: %s\n", who, path, strerror(errno));
    return in;
}

void ctl_input_close(FILE *in)
{
    if (in && in != stdin) fclose(in);
}

bool ctl_parse_count(const char *s, long long *out)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end || v < 0) return false;
    *out = v;
    return true;
}

int ctl_parse_decision(int argc, char **argv, ctl_decision *d)
{
    static const struct option opts[] = {{"comment", required_argument, NULL, 'm'},
                                         {"by", required_argument, NULL, 'b'},
                                         {NULL, 0, NULL, 0}};
    int opt;
    d->comment = NULL;
    d->by = getenv("USER");
    optind = 1;
    while ((opt = getopt_long(argc, argv, "m:b:", opts, NULL)) != -1) {
        if (opt == 'm') d->comment = optarg;
        else if (opt == 'b') d->by = optarg;
        else return -1;
    }
    if (optind != argc - 1 || !d->comment || !d->comment[0]) return -1;
    char *end;
    d->id = argv[optind];
    if (strtoll(d->id, &end, 10) <= 0 || *end) return -1;
    if (!d->by || !d->by[0]) d->by = "unknown";
    return 0;
}
