/* Civil-registration record mapping and rules: a decoded registration (a
 * birth, death, marriage, or a divorce recorded in the civil-status book)
 * -> registry row (crvs.civil_registration), or a refusal with a
 * validation reason.
 *
 * Refused ("validation.<rule>"): an office code that is not 5 digits or an
 * empty office name (office); an empty registration number
 * (registration_number); issued_at, registration_date or event_date not a
 * date, or a registration before 1900 (date); a date or issue in the future
 * beyond 5 minutes' skew (future_date); issued before the registration date
 * (issued_before_registration); an event after its registration, or no
 * event_date for a birth or a death (event_date); persons whose roles do
 * not fit the kind (persons: BIRTH one CHILD, at most one MOTHER and one
 * FATHER; DEATH one DECEASED; MARRIAGE and DIVORCE two SPOUSE); a missing
 * name of the child, the deceased or a spouse, or an invalid one (name); a
 * personal ID malformed or contradicting sex or year of birth
 * (personal_id); a child's birth date other than the event date
 * (event_date); a source document of another kind than the registration's
 * (a birth certificate for a birth, a death notice for a death, a court
 * judgment for a divorce; none for a marriage) or an issuer code holding
 * '/' (source_document).
 *
 * Kept with quality flags: source_document_missing (a birth, death or
 * divorce registered without its document), late_registration_unstated
 * (a birth registered more than 60 days after it, a death more than 15,
 * not marked late), late_registration_inconsistent (marked late within the
 * limit), subject_personal_id_missing (no ID for the child or the
 * deceased).
 *
 * Names are stored normalised in the document (NFC, trimmed, single
 * spaces), so that a re-sent registration that only spells a name
 * differently is a duplicate. */
#ifndef CIVIL_RULES_H
#define CIVIL_RULES_H

#include <jansson.h>
#include <stdint.h>

#include "hub_reject.h"


/* `now_ms` is the wall clock used for "not in the future" (a parameter so
 * tests can fix it). Contract as hub_service_spec.map. `doc` is modified in
 * place (normalised names) and referenced by the row. */
int civil_map(json_t *doc, int64_t now_ms, json_t **row, hub_reject *why);

#endif
