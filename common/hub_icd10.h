/* hub_icd10: ICD-10 codes as the WHO ICD-10 (2019 edition) writes them.
 *
 * Shape (strict): a letter, two digits, and optionally one more digit after
 * a dot: "A00", "I21.9". Accepted spellings of the same code: lower case
 * and a missing dot ("i219"), and white space around the code. Refused:
 * anything else, in particular the optional 5th characters that WHO uses in
 * a few chapters and that national modifications add ("S72.00"), the 'X'
 * placeholder of other classifications ("T36.X"), the dagger and asterisk
 * marks ("A17.0+", "G01*") and white space inside the code. The hub stores
 * codes at the 4-character level.
 *
 * Chapters are the WHO block ranges by 3-character category (docs/domain.md):
 * I A00-B99, II C00-D48, III D50-D89, IV E00-E90, V F00-F99, VI G00-G99,
 * VII H00-H59, VIII H60-H95, IX I00-I99, X J00-J99, XI K00-K93, XII L00-L99,
 * XIII M00-M99, XIV N00-N99, XV O00-O99, XVI P00-P96, XVII Q00-Q99,
 * XVIII R00-R99, XIX S00-T98, XX V01-Y98, XXI Z00-Z99, XXII U00-U99 (the
 * letter U is reserved for special purposes as a whole: WHO's provisional
 * codes such as U07.1 and national extensions alike). A well-shaped code
 * between the ranges (D49, E95, H96, K94, P97, T99, V00, Y99) belongs to no
 * chapter. Gaps inside a range (unused categories) are not checked: the hub
 * does not ship the list of categories.
 *
 * Pure functions, no allocation. `normalized` arguments are codes written by
 * hub_icd10_normalize (or anything starting with a 3-character category). */
#ifndef HUB_ICD10_H
#define HUB_ICD10_H

#include <stdbool.h>
#include <stddef.h>

/* Room for a normalized code: "I21.9" and its NUL. */
#define HUB_ICD10_SIZE 6

typedef enum {
    HUB_ICD10_OK = 0,
    HUB_ICD10_SHAPE,     /* not letter, two digits, optional '.' digit */
    HUB_ICD10_NO_CHAPTER /* well shaped but outside every chapter (e.g. "E95") */
} hub_icd10_result;

/* Writes the canonical spelling of `in` ("i219" -> "I21.9") into out
 * (out_size >= HUB_ICD10_SIZE). False, with out untouched, when `in` is
 * NULL, does not have the shape above or out is too small. */
bool hub_icd10_normalize(const char *in, char *out, size_t out_size);

/* Shape and chapter: what the hub accepts as a code on a certificate. On
 * HUB_ICD10_OK out holds the canonical code; otherwise errstr says what is
 * wrong without repeating the input (an out smaller than HUB_ICD10_SIZE
 * also gives HUB_ICD10_SHAPE). */
hub_icd10_result hub_icd10_parse(const char *in, char *out, size_t out_size, char *errstr,
                                 size_t errstr_size) __attribute__((warn_unused_result));
const char *hub_icd10_result_name(hub_icd10_result r); /* "ok", "shape", "no_chapter" */

/* The 3-character category ("I21.9" -> "I21"); out needs 4 bytes. */
void hub_icd10_category(const char *normalized, char *out, size_t out_size);
/* Same code, or same 3-character category. */
bool hub_icd10_same_category(const char *a, const char *b);

int hub_icd10_chapter(const char *normalized);    /* 1..22, 0 outside every chapter */
const char *hub_icd10_chapter_roman(int chapter); /* "I".."XXII", "?" otherwise */

bool hub_icd10_is_injury(const char *normalized);      /* S00-T98, chapter XIX */
bool hub_icd10_is_external(const char *normalized);    /* V01-Y98, chapter XX (external causes) */
bool hub_icd10_is_ill_defined(const char *normalized); /* R00-R99, chapter XVIII */
/* O00-O99, chapter XV. WHO also counts a few codes outside the chapter as
 * maternal deaths (A34 obstetrical tetanus, with the pregnancy status);
 * this predicate is the chapter only. */
bool hub_icd10_is_maternal(const char *normalized);

#endif
