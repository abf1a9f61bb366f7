/* What every fuzz harness (tests/fuzz/fuzz_*.c) shares: the schemas and
 * decoders of the four topics, the path a service takes from a decoded
 * document to its registry row, and the invariants checked on every input.
 * A broken invariant prints what and aborts: libFuzzer keeps the input as a
 * finding, the regression replay (replay.c) fails. */
#ifndef FUZZ_CHECK_H
#define FUZZ_CHECK_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "hub_avro.h"
#include "hub_catalog.h"

/* The wall clock the rules see: 2026-11-20T00:00:00Z, after every date in
 * tests/data. */
#define FUZZ_NOW_MS 1795132800000LL

/* A harness's first byte picks the topic (byte % FUZZ_TOPICS); the saved
 * regression inputs made when there were three topics pick by the same
 * rule, so some now go to another topic: they are inputs all the same. */
#define FUZZ_TOPICS 4
const char *fuzz_topic(unsigned i); /* i % FUZZ_TOPICS */
/* How many schema versions the topic has in the catalog (1, 2, ...); the
 * latest is the services' reader. */
int fuzz_versions(const char *topic);

/* Opened once per process from the project's schemas/avro; abort on error. */
hub_catalog *fuzz_catalog(void);
/* The service's decoder for a topic (reader: the latest schema), kept for
 * the process as a service keeps it. */
hub_avro_decoder *fuzz_decoder(const char *topic);
/* An encoder for version `version` (1-based) of a topic's schema; NULL when
 * the topic has no such version. Kept for the process. */
hub_avro_encoder *fuzz_encoder(const char *topic, int version);

_Noreturn void fuzz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* An error an operator reads: valid UTF-8, no control character (one
 * line), shorter than `cap`. */
void fuzz_check_line(const char *what, const char *s, size_t cap);
/* Text that reaches logs and the dead letters: as fuzz_check_line, and no
 * run of 12 digits (a personal ID). */
void fuzz_check_message(const char *what, const char *s, size_t cap);
/* A refusal: reason a dotted lower-case code, message as above. */
void fuzz_check_reject(const hub_reject *why);

/* What a service does with a decoded document: the business key, then the
 * topic's map function; a refusal is checked with fuzz_check_reject and
 * against the names in `doc`, a row with fuzz_check_row. Takes a
 * reference of its own (doc is not consumed). */
void fuzz_map_and_check(const char *topic, json_t *doc);

/* Every text of a registry row is headed for PostgreSQL: valid NFC UTF-8
 * without NUL or control characters (TAB, LF, CR only in free text), within
 * its limit (the stored document field by field, hub_limits; the other
 * columns within the largest limit of the topic); the stored document
 * passes hub_limits_check again unchanged. */
void fuzz_check_row(const char *topic, json_t *row);

#endif
