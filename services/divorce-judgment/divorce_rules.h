/* Divorce-judgment record mapping and rules: decoded document -> registry
 * row (crvs.divorce_judgment) with its person facts and record-level
 * reconciliation items (docs/linkage.md), or a refusal with a validation
 * reason. */
#ifndef DIVORCE_RULES_H
#define DIVORCE_RULES_H

#include <jansson.h>
#include <stdint.h>

#include "hub_reject.h"

/* `now_ms` is the wall clock used for "not in the future" (a parameter so
 * tests can fix it). Contract as hub_service_spec.map. On success the row
 * always holds `person_facts` (one fact per spouse, personal_id null for a
 * spouse without one) and `reconcile` (possibly empty), which are not
 * columns; names in `doc` are normalised in place. */
int divorce_map(json_t *doc, int64_t now_ms, json_t **row, hub_reject *why);

#endif
