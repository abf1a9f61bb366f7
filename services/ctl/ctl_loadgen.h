/* crvsctl loadgen internals: the shared random source and helpers, and one
 * generator per topic (ctl_loadgen.c births, ctl_loadgen_death.c,
 * ctl_loadgen_divorce.c). Deterministic for a seed. */
#ifndef CTL_LOADGEN_H
#define CTL_LOADGEN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctl.h"
#include "hub_validate.h"

#define RECENT_MAX 512 /* earlier records kept for duplicates and corrections */

typedef struct gen {
    uint64_t state;
    int64_t reference_days; /* events fall in the two years before this day */
    long next_number;
    const char *current[40]; /* the 34 provinces since 1 July 2025 */
    int n_current;
    const char *legacy[70]; /* the 63 before */
    int n_legacy;
    json_t *recent[RECENT_MAX];
    long n_recent;
    json_t *pending; /* births: the second child of a delivery still to emit */
    double twin_share;
} gen;

/* One topic's records. `make` returns a new valid record (and may keep state
 * in the gen); `correct` changes a copy of an earlier record in place as a
 * producer's correction would (same business key); `spoil` returns a new
 * record, with a new business key, that the service must refuse. */
typedef struct lg_kind {
    const char *topic;
    json_t *(*make)(gen *g);
    void (*correct)(gen *g, json_t *doc);
    json_t *(*spoil)(gen *g, json_t *doc);
} lg_kind;

extern const lg_kind lg_births, lg_deaths, lg_divorces;

uint64_t lg_rnd(gen *g);
int lg_int(gen *g, int lo, int hi);
double lg_unit(gen *g);
bool lg_share(gen *g, double share);
int lg_bell(gen *g, int mean, int spread); /* roughly normal: mean of three uniforms */
#define LG_PICK(g, arr) ((arr)[lg_rnd(g) % (sizeof(arr) / sizeof((arr)[0]))])

void lg_person_name(gen *g, bool female, char *out, size_t size);
/* PPP C YY NNNNNN, consistent with sex and year of birth. */
void lg_personal_id(gen *g, const char *legacy_province, bool female, int year, char *out,
                    size_t size);
const char *lg_birth_province(gen *g); /* where an ID was issued */
void lg_date(int64_t days, char *out, size_t size);
void lg_event_id(gen *g, char *out, size_t size);
/* A province in force on that day, and its name. */
const char *lg_province(gen *g, int64_t days);
const char *lg_province_name(const char *code, int64_t days);
json_t *lg_residence(gen *g, const char *province);
/* An issue time 1..max_hours after the event, not after the reference day. */
int64_t lg_issue_after(gen *g, int64_t event_ms, int max_hours);
/* An earlier record of this run (NULL before the first). */
json_t *lg_recall(gen *g);

#endif
