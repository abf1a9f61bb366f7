/* hub_rules: checks shared by the services' record mappings.
 *
 * Each rule reads a decoded document (JSON shaped like the reader schema,
 * see hub_avro.h) and writes registry row columns. A hard failure fills
 * `why` with reason "validation.<rule>" and a message naming the field path;
 * messages never hold a full personal ID or name. */
#ifndef HUB_RULES_H
#define HUB_RULES_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "hub_reject.h"
#include "hub_validate.h"

/* Vietnam's civil date of an instant (UTC+7 all year). */
int64_t hub_local_days(int64_t epoch_ms);
/* A "YYYY-MM-DD" JSON string -> days since 1970-01-01. */
bool hub_json_date(json_t *v, int64_t *days);
/* An ISO-8601 JSON string -> milliseconds since the epoch. */
bool hub_json_timestamp(json_t *v, int64_t *epoch_ms);
/* "MALE"/"FEMALE" -> hub_sex; anything else is unknown. */
hub_sex hub_sex_from_json(json_t *v);

/* Normalises the name in obj[field] in place (NFC, trimmed, single spaces)
 * and sets row[col] and row[key_col] (diacritics-folded match key; key_col
 * may be NULL). An absent or null name is refused only when `required`. */
int hub_rule_name(json_t *obj, const char *field, const char *path, bool required,
                  json_t *row, const char *col, const char *key_col, hub_reject *why);

/* Checks obj[field] (a personal ID, may be absent) against sex and birth year
 * (HUB_SEX_UNKNOWN / 0 = not known) and sets row[col]. Reason
 * "validation.personal_id". */
int hub_rule_personal_id(json_t *obj, const char *field, const char *path, hub_sex sex,
                         int birth_year, json_t *row, const char *col, hub_reject *why);

/* Checks a province code for an event date: unknown -> refused with
 * "validation.province_code"; a legacy code used after the 2025 reform ->
 * accepted with the quality flag "<path>.province_code_retired". */
int hub_rule_province(const char *code, const char *path, int64_t event_days, json_t *flags,
                      hub_reject *why);

/* A producer value as a refusal message may quote it: 'value' when it is
 * 1..8 characters of [A-Za-z0-9.*+_-], else "(N bytes, not shown)": a
 * field misused for a personal ID or a name is never echoed. Returns buf. */
const char *hub_rule_shown(const char *s, char *buf, size_t size);

/* Whether a text is missing (NULL) or only spaces, tabs and line breaks. */
bool hub_rule_blank(const char *s);
/* Appends a data-quality flag (a short snake_case text). */
void hub_rule_flag(json_t *flags, const char *flag);

/* Copies obj[field] into row[col] (nothing if absent); returns the value. */
json_t *hub_rule_copy(json_t *obj, const char *field, json_t *row, const char *col);

/* Completes a registry row: the person facts and record-level
 * reconciliation items for crvs.person_link (docs/linkage.md), the quality
 * flags (the three arrays are taken over) and the normalised document. */
void hub_rule_finish(json_t *row, json_t *doc, json_t *facts, json_t *reconcile, json_t *flags);

#endif
