/* Birth-certificate record mapping and rules: decoded document -> registry
 * row (crvs.birth_certificate) or a refusal with a validation reason. */
#ifndef BIRTH_RULES_H
#define BIRTH_RULES_H

#include <jansson.h>
#include <stdint.h>

#include "hub_reject.h"

/* `now_ms` is the wall clock used for "not in the future" (a parameter so
 * tests can fix it). Contract as hub_service_spec.map. */
int birth_map(json_t *doc, int64_t now_ms, json_t **row, hub_reject *why);

#endif
