/* hub_chain: the audit chain's rule, checked in C (docs/security.md, "The
 * audit chain"; 012_audit_chain.sql writes it).
 *
 * The rows of a chain are numbered 1, 2, 3, ... and row n carries
 * hash(n) = SHA-256(hash(n - 1) || its canonical content), hash(0) being 32
 * zero bytes. A walk is fed a chain's rows in the order of their numbers
 * and reports, through its callback, each row whose number or hash is wrong
 * and each run of numbers that is missing: an edited row (its hash does not
 * match its content), a deleted row (a gap), an inserted row (a number
 * repeated, or a hash that does not match), a removed tail (the chain ends
 * before its head). Problems are described by chain, number and row id
 * only: never by content. */
#ifndef HUB_CHAIN_H
#define HUB_CHAIN_H

#include <stdbool.h>
#include <stddef.h>

#define HUB_CHAIN_HASH_LEN 32

typedef enum {
    HUB_CHAIN_EDITED,    /* the row's hash is not that of its content after the row before */
    HUB_CHAIN_MISSING,   /* numbers from..to are not there (deleted rows) */
    HUB_CHAIN_REPEATED,  /* the row's number was seen already (an inserted row) */
    HUB_CHAIN_TAIL,      /* the chain ends at from - 1, its head says to */
    HUB_CHAIN_HEAD,      /* the last row's hash is not the head's, or rows go past the head */
    HUB_CHAIN_UNCHAINED  /* a row with no chain, number or hash */
} hub_chain_problem;

typedef struct hub_chain_report {
    hub_chain_problem problem;
    const char *chain; /* NULL for HUB_CHAIN_UNCHAINED */
    long long id;      /* the row at fault, -1 when none (a removed tail) */
    long long from, to; /* the numbers concerned */
} hub_chain_report;

typedef void (*hub_chain_reporter)(void *ctx, const hub_chain_report *r);

typedef struct hub_chain_walk {
    char chain[256];
    bool started;
    long long next_seq; /* the number the next row must carry */
    long long last_id;
    unsigned char prev[HUB_CHAIN_HASH_LEN]; /* the hash the next row chains on */
    long long rows, problems;               /* over every chain walked */
    hub_chain_reporter report;
    void *ctx;
} hub_chain_walk;

void hub_chain_walk_init(hub_chain_walk *w, hub_chain_reporter report, void *ctx);
/* Starts a chain. start_seq 0 with start_hash NULL walks it from its first
 * row; otherwise the walk trusts row start_seq's hash (start_hash) and
 * checks from start_seq + 1 on. */
void hub_chain_begin(hub_chain_walk *w, const char *chain, long long start_seq,
                     const unsigned char *start_hash);
/* The next row of the chain, in the order of numbers. */
void hub_chain_row(hub_chain_walk *w, long long id, long long seq,
                   const unsigned char hash[HUB_CHAIN_HASH_LEN], const char *canon,
                   size_t canon_len);
/* The chain's end against its head (head_seq 0 and head_hash NULL: the
 * chain has no head row). */
void hub_chain_end(hub_chain_walk *w, long long head_seq, const unsigned char *head_hash);
/* A row outside every chain. */
void hub_chain_unchained(hub_chain_walk *w, long long id);

/* hash(n) from hash(n - 1) and the canonical content. */
void hub_chain_hash(const unsigned char prev[HUB_CHAIN_HASH_LEN], const char *canon,
                    size_t canon_len, unsigned char out[HUB_CHAIN_HASH_LEN]);
/* 64 lowercase hex digits and a NUL into out; and back: false unless s is
 * exactly 64 hex digits. */
void hub_chain_hex(const unsigned char hash[HUB_CHAIN_HASH_LEN], char out[2 * HUB_CHAIN_HASH_LEN + 1]);
bool hub_chain_unhex(const char *s, unsigned char out[HUB_CHAIN_HASH_LEN]);
/* A line of `crvsctl audit anchor`: "chain number hash row-id time" (the
 * row id and time may be "-"). */
typedef struct hub_chain_anchor {
    char chain[256];
    long long seq; /* >= 1 */
    long long id;  /* -1 for "-" */
    unsigned char hash[HUB_CHAIN_HASH_LEN];
} hub_chain_anchor;
/* 1: a head parsed into *out; 0: a comment ('#') or blank line; -1: not a
 * line of `audit anchor` (a chain name too long or with control
 * characters, a number out of range, a hash not 64 hex digits). */
int hub_chain_anchor_parse(const char *line, hub_chain_anchor *out);

/* One line describing r, without content, into out. */
void hub_chain_describe(const hub_chain_report *r, char *out, size_t out_size);

#endif
