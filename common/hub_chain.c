/* hub_chain: the audit chain's rule, checked in C. See hub_chain.h. */
#include "hub_chain.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

void hub_chain_hash(const unsigned char prev[HUB_CHAIN_HASH_LEN], const char *canon,
                    size_t canon_len, unsigned char out[HUB_CHAIN_HASH_LEN])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned int len = 0;
    if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
        EVP_DigestUpdate(md, prev, HUB_CHAIN_HASH_LEN) != 1 ||
        EVP_DigestUpdate(md, canon, canon_len) != 1 || EVP_DigestFinal_ex(md, out, &len) != 1 ||
        len != HUB_CHAIN_HASH_LEN)
        memset(out, 0xff, HUB_CHAIN_HASH_LEN); /* matches no stored hash: reported, never passed */
    EVP_MD_CTX_free(md);
}

void hub_chain_hex(const unsigned char hash[HUB_CHAIN_HASH_LEN], char out[2 * HUB_CHAIN_HASH_LEN + 1])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < HUB_CHAIN_HASH_LEN; i++) {
        out[2 * i] = digits[hash[i] >> 4];
        out[2 * i + 1] = digits[hash[i] & 15];
    }
    out[2 * HUB_CHAIN_HASH_LEN] = '\0';
}

static int nibble(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool hub_chain_unhex(const char *s, unsigned char out[HUB_CHAIN_HASH_LEN])
{
    if (!s || strlen(s) != 2 * HUB_CHAIN_HASH_LEN) return false;
    for (int i = 0; i < HUB_CHAIN_HASH_LEN; i++) {
        int hi = nibble(s[2 * i]), lo = nibble(s[2 * i + 1]);
        if (hi < 0 || lo < 0) return false;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return true;
}

static void report(hub_chain_walk *w, hub_chain_problem p, long long id, long long from,
                   long long to)
{
    w->problems++;
    hub_chain_report r = {p, p == HUB_CHAIN_UNCHAINED ? NULL : w->chain, id, from, to};
    if (w->report) w->report(w->ctx, &r);
}

void hub_chain_walk_init(hub_chain_walk *w, hub_chain_reporter rep, void *ctx)
{
    memset(w, 0, sizeof *w);
    w->report = rep;
    w->ctx = ctx;
}

void hub_chain_begin(hub_chain_walk *w, const char *chain, long long start_seq,
                     const unsigned char *start_hash)
{
    snprintf(w->chain, sizeof w->chain, "%s", chain);
    w->started = true;
    w->next_seq = start_seq + 1;
    w->last_id = -1;
    if (start_hash) memcpy(w->prev, start_hash, HUB_CHAIN_HASH_LEN);
    else memset(w->prev, 0, HUB_CHAIN_HASH_LEN);
}

void hub_chain_row(hub_chain_walk *w, long long id, long long seq,
                   const unsigned char hash[HUB_CHAIN_HASH_LEN], const char *canon,
                   size_t canon_len)
{
    w->rows++;
    if (seq < w->next_seq) {
        /* A place already taken: the row was put there by hand. What it
         * chains on is already decided; it changes nothing after it. */
        report(w, HUB_CHAIN_REPEATED, id, seq, seq);
        return;
    }
    if (seq > w->next_seq) {
        /* Rows missing: this row cannot be checked (what it chains on is
         * gone); the walk goes on from its hash. */
        report(w, HUB_CHAIN_MISSING, id, w->next_seq, seq - 1);
    } else {
        unsigned char want[HUB_CHAIN_HASH_LEN];
        hub_chain_hash(w->prev, canon, canon_len, want);
        /* An edited row is reported once: the rows after it chain on its
         * stored hash, which they still match. */
        if (memcmp(want, hash, HUB_CHAIN_HASH_LEN)) report(w, HUB_CHAIN_EDITED, id, seq, seq);
    }
    memcpy(w->prev, hash, HUB_CHAIN_HASH_LEN);
    w->next_seq = seq + 1;
    w->last_id = id;
}

void hub_chain_end(hub_chain_walk *w, long long head_seq, const unsigned char *head_hash)
{
    long long last = w->next_seq - 1;
    if (!head_hash) {
        /* Rows of a chain the heads do not know: they were put in by hand. */
        report(w, HUB_CHAIN_HEAD, w->last_id, 0, last);
    } else if (last < head_seq) {
        report(w, HUB_CHAIN_TAIL, -1, last + 1, head_seq);
    } else if (last > head_seq || memcmp(head_hash, w->prev, HUB_CHAIN_HASH_LEN)) {
        report(w, HUB_CHAIN_HEAD, w->last_id, head_seq, last);
    }
    w->started = false;
}

void hub_chain_unchained(hub_chain_walk *w, long long id)
{
    w->rows++;
    report(w, HUB_CHAIN_UNCHAINED, id, 0, 0);
}

/* The next field of a line split on blanks: its start, and its length in
 * *len; NULL at the end. */
static const char *field(const char **p, size_t *len)
{
    while (**p == ' ' || **p == '\t') (*p)++;
    if (!**p || **p == '\n' || **p == '\r') return NULL;
    const char *start = *p;
    while (**p && **p != ' ' && **p != '\t' && **p != '\n' && **p != '\r') (*p)++;
    *len = (size_t)(*p - start);
    return start;
}

/* A decimal number of the field, within min..max; false otherwise. */
static bool number(const char *f, size_t len, long long min, long long max, long long *out)
{
    char buf[24];
    if (len == 0 || len >= sizeof buf) return false;
    memcpy(buf, f, len);
    buf[len] = '\0';
    for (size_t i = 0; i < len; i++)
        if (buf[i] < '0' || buf[i] > '9') return false;
    errno = 0;
    char *end;
    long long v = strtoll(buf, &end, 10);
    if (errno || *end || v < min || v > max) return false;
    *out = v;
    return true;
}

int hub_chain_anchor_parse(const char *line, hub_chain_anchor *out)
{
    const char *p = line, *f[5];
    size_t len[5] = {0};
    int n = 0;
    while (n < 5 && (f[n] = field(&p, &len[n]))) n++;
    if (n == 0 || f[0][0] == '#') return 0;
    if (n < 4 || len[0] >= sizeof out->chain) return -1;
    for (size_t i = 0; i < len[0]; i++)
        if ((unsigned char)f[0][i] < 0x20 || f[0][i] == 0x7f) return -1;
    memcpy(out->chain, f[0], len[0]);
    out->chain[len[0]] = '\0';
    if (!number(f[1], len[1], 1, INT64_MAX, &out->seq)) return -1;
    char hex[2 * HUB_CHAIN_HASH_LEN + 1];
    if (len[2] != 2 * HUB_CHAIN_HASH_LEN) return -1;
    memcpy(hex, f[2], len[2]);
    hex[len[2]] = '\0';
    if (!hub_chain_unhex(hex, out->hash)) return -1;
    if (len[3] == 1 && f[3][0] == '-') out->id = -1;
    else if (!number(f[3], len[3], 0, INT64_MAX, &out->id)) return -1;
    return 1;
}

void hub_chain_describe(const hub_chain_report *r, char *out, size_t out_size)
{
    switch (r->problem) {
    case HUB_CHAIN_EDITED:
        snprintf(out, out_size,
                 "%s #%lld (row id %lld): its hash does not match its content: the row was changed or put in by hand",
                 r->chain, r->from, r->id);
        break;
    case HUB_CHAIN_MISSING:
        if (r->from == r->to)
            snprintf(out, out_size, "%s #%lld: missing (deleted) before row id %lld", r->chain,
                     r->from, r->id);
        else
            snprintf(out, out_size, "%s #%lld to #%lld: missing (deleted) before row id %lld",
                     r->chain, r->from, r->to, r->id);
        break;
    case HUB_CHAIN_REPEATED:
        snprintf(out, out_size, "%s #%lld (row id %lld): the place is taken twice: a row was inserted",
                 r->chain, r->from, r->id);
        break;
    case HUB_CHAIN_TAIL:
        snprintf(out, out_size,
                 "%s #%lld to #%lld: missing at the end (the head is #%lld): the tail was removed",
                 r->chain, r->from, r->to, r->to);
        break;
    case HUB_CHAIN_HEAD:
        snprintf(out, out_size,
                 "%s: the rows end at #%lld (row id %lld), the head says #%lld with another hash: "
                 "rows were added or the head changed by hand",
                 r->chain, r->to, r->id, r->from);
        break;
    case HUB_CHAIN_UNCHAINED:
        snprintf(out, out_size, "row id %lld: in no chain (no place or hash): a row was inserted",
                 r->id);
        break;
    }
}
