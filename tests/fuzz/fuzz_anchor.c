/* Harness: an anchor file an operator hands to `crvsctl audit verify
 * --anchor` (hub_chain_anchor_parse), line by line. A line is a head, a
 * comment or blank, or refused; a head's fields are within their ranges and
 * its hash reads back as the 64 hex digits the line gave. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "hub_chain.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_line(const char *line)
{
    hub_chain_anchor a;
    memset(&a, 0xa5, sizeof a);
    int r = hub_chain_anchor_parse(line, &a);
    if (r < -1 || r > 1) fuzz_fail("parse returned %d", r);
    if (r != 1) return;
    size_t n = strnlen(a.chain, sizeof a.chain);
    if (n == 0 || n == sizeof a.chain) fuzz_fail("chain name empty or unterminated");
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)a.chain[i] < 0x20 || a.chain[i] == ' ' || a.chain[i] == 0x7f)
            fuzz_fail("chain name with a blank or control character");
    if (a.seq < 1) fuzz_fail("number %lld below 1", a.seq);
    if (a.id < -1) fuzz_fail("row id %lld below -1", a.id);
    char hex[2 * HUB_CHAIN_HASH_LEN + 1];
    hub_chain_hex(a.hash, hex);
    /* The line's third field, lower-cased, is the hash read back. */
    const char *p = strstr(line, a.chain) + n;
    while (*p == ' ' || *p == '\t') p++;
    while (*p >= '0' && *p <= '9') p++;
    while (*p == ' ' || *p == '\t') p++;
    for (int i = 0; i < 2 * HUB_CHAIN_HASH_LEN; i++) {
        char c = p[i];
        if (c >= 'A' && c <= 'F') c = (char)(c - 'A' + 'a');
        if (c != hex[i]) fuzz_fail("hash does not read back at digit %d", i);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    /* Lines as fgets gives them (a NUL inside ends the line early, as
     * it would for crvsctl). */
    char *line = text;
    while (line <= text + size) {
        char *nl = memchr(line, '\n', (size_t)(text + size - line));
        if (nl) nl[0] = '\0';
        check_line(line);
        if (!nl) break;
        line = nl + 1;
    }
    free(text);
    return 0;
}
