/* jsonb_hash: for each line of standard input, a JSON document, prints the
 * content hash hub_jsonb.c computes, a tab, and the document as jansson
 * writes it (the text a service used to send PostgreSQL), for
 * test_content_hash.sh to compare with PostgreSQL's own md5 of the jsonb.
 * A line hub_jsonb refuses prints "refused" as its hash. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub_jsonb.h"

int main(void)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int status = 0;
    while ((n = getline(&line, &cap, stdin)) > 0) {
        if (line[n - 1] == '\n') line[--n] = '\0';
        json_error_t e;
        json_t *doc = json_loadb(line, (size_t)n, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
        if (!doc) {
            fprintf(stderr, "jsonb_hash: line %d: %s\n", e.line, e.text);
            status = 1;
            continue;
        }
        char hash[33] = "refused";
        if (hub_content_hash(doc, hash) != 0) snprintf(hash, sizeof hash, "refused");
        char *dump = json_dumps(doc, JSON_COMPACT | JSON_ENCODE_ANY);
        printf("%s\t%s\n", hash, dump ? dump : "");
        free(dump);
        json_decref(doc);
    }
    free(line);
    return status;
}
