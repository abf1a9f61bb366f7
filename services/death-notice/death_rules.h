/* Death-notice record mapping and rules: decoded document -> registry row
 * (crvs.death_notice) with the deceased's person facts, or a refusal with a
 * validation reason.
 *
 * Refused ("validation.<rule>"): facility name missing (name); issued_at or
 * death_time not a timestamp, death before 1900, a date that is not a date
 * (date); death or issue in the future beyond 5 minutes' skew
 * (future_date); issued before the death (issued_before_death); born after
 * the death (death_before_birth); age at death, given or computed, outside
 * 0..130 (age); personal ID malformed or contradicting sex or year of birth
 * (personal_id); unknown province code (province_code); an ICD-10 code in
 * Part I, Part II or the underlying cause that is not a code of any chapter
 * (icd10, the message names the field, e.g. "part1[2].icd10"); Part I
 * without a line or with more than 4 (cause_chain); an underlying cause that
 * is not on the certificate (underlying_cause, below).
 *
 * The underlying cause is on the certificate when it has the same
 * 3-character category as a code of Part I, of Part II or of the injury's
 * external cause (which WHO selects as underlying cause when the chain ends
 * in an injury; certifiers write it either as the last line of Part I or in
 * the injury details). Same category rather than same code, because the
 * coder may refine or drop the 4th character when selecting (I21 -> I21.9).
 *
 * Kept with quality flags: underlying_cause_missing, underlying_cause_ill_defined
 * (R00-R99), underlying_cause_injury (S00-T98: the external cause should have
 * been selected), maternal_cause_inconsistent (O00-O99 underlying for a man
 * or a woman stated not pregnant), injury_details_missing (external manner
 * without injury date, external cause or description),
 * injury_external_cause_invalid (injury.external_cause given but not a
 * V01-Y98 code), personal_id_missing, <path>.province_code_retired,
 * age_inconsistent (age_years disagrees by more than a year with the date
 * of birth, or with the year of birth the personal ID encodes),
 * place_facility_code_missing, perinatal_gestation_implausible (outside
 * 18..46 weeks), perinatal_weight_implausible (outside 200..8,000 g),
 * perinatal_mother_age_implausible (outside 10..65).
 *
 * ICD-10 codes are stored normalised ("i219" -> "I21.9") in the row and in
 * the document, so that a re-sent notice that only spells a code
 * differently is a duplicate; a blank code counts as not coded (null).
 * Refusal messages index lines from 0 ("part1[0]" is line a). */
#ifndef DEATH_RULES_H
#define DEATH_RULES_H

#include <jansson.h>
#include <stdint.h>

#include "hub_reject.h"

/* `now_ms` is the wall clock used for "not in the future" (a parameter so
 * tests can fix it). Contract as hub_service_spec.map; the row also holds
 * `person_facts` and `reconcile` (docs/linkage.md). `doc` is modified in
 * place (normalised names and codes) and referenced by the row. */
int death_map(json_t *doc, int64_t now_ms, json_t **row, hub_reject *why);

#endif
