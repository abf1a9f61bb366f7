/* hub_validate: the legal and statistical facts the services check
 * (docs/schema-guide.md, docs/indicators.md): civil dates and timestamps, the personal ID
 * number, provinces before and after the 1 July 2025 reorganisation, and
 * ICD-10 codes. Pure functions, no allocation. */
#ifndef HUB_VALIDATE_H
#define HUB_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { HUB_SEX_UNKNOWN = 0, HUB_SEX_MALE, HUB_SEX_FEMALE } hub_sex;

/* ---- dates: days since 1970-01-01 (negative before) ---- */
int64_t hub_days_from_civil(int y, int m, int d);
void hub_civil_from_days(int64_t days, int *y, int *m, int *d);
bool hub_date_valid(int y, int m, int d); /* a real date, years 1800..2399 */
/* "YYYY-MM-DD" exactly; false on any other shape or an impossible date. */
bool hub_date_parse(const char *s, int *y, int *m, int *d);
/* "YYYY-MM-DDTHH:MM:SS[.f...](Z|+hh:mm|-hh:mm)" ('T' or ' '; the offset is
 * required: a time without one is ambiguous) -> ms since the epoch, UTC. */
bool hub_timestamp_parse(const char *s, int64_t *epoch_ms);
/* "YYYY-MM-DDTHH:MM:SS.mmmZ"; out must hold 25 bytes. */
void hub_timestamp_format(int64_t epoch_ms, char *out, size_t out_size);
/* Completed years from birth to `on`; -1 if on is before birth. */
int hub_age_years(int64_t birth_days, int64_t on_days);

/* ---- personal ID number: PPP C YY NNNNNN ---- */
typedef enum {
    HUB_PID_OK = 0,
    HUB_PID_FORMAT,       /* not exactly 12 ASCII digits */
    HUB_PID_PLACE,        /* PPP below 100 but not a legacy province code */
    HUB_PID_SEX_MISMATCH, /* the century/sex digit says the other sex */
    HUB_PID_YEAR_MISMATCH /* century digit + YY is not the year of birth */
} hub_pid_result;

/* Sex and year of birth encoded in an ID; false when the format is wrong. */
bool hub_pid_decode(const char *id, hub_sex *sex, int *birth_year);
/* sex HUB_SEX_UNKNOWN / birth_year 0: not known, not compared. The reason
 * written to errstr never contains the ID. */
hub_pid_result hub_pid_check(const char *id, hub_sex sex, int birth_year, char *errstr,
                             size_t errstr_size);
const char *hub_pid_result_name(hub_pid_result r); /* "ok", "format", ... */

/* ---- provinces ----
 * Codes are 2-digit strings. 63 legacy provinces until 30 June 2025; since
 * 1 July 2025, 34 provinces, each keeping the code of one predecessor. */
#define HUB_REFORM_2025_Y 2025
#define HUB_REFORM_2025_M 7
#define HUB_REFORM_2025_D 1
/* Registration time limits, days after the event (Law on Civil Status
 * 2014, art. 15: a birth within 60 days; art. 33: a death within 15). */
#define HUB_BIRTH_REGISTRATION_DAYS 60
#define HUB_DEATH_REGISTRATION_DAYS 15
bool hub_province_legacy_known(const char *code);
const char *hub_province_legacy_name(const char *code);  /* NULL if unknown */
/* The province a legacy one belongs to since the reform ("02" -> "08"). */
const char *hub_province_current_code(const char *legacy_code);
const char *hub_province_current_name(const char *current_code); /* NULL if not one of the 34 */
/* Valid for an event on that day: any of the 63 before the reform, one of
 * the 34 from it on. */
bool hub_province_valid_on(const char *code, int64_t event_days);

/* ---- ICD-10 ----
 * Lives in hub_icd10.h (its own module); included here so that existing
 * users of hub_validate.h keep compiling. */
#include "hub_icd10.h"

#endif
