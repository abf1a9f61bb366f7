#include "hub_icd10.h"

#include <stdio.h>
#include <string.h>

/* ASCII only, whatever the locale: codes are never localised. */
static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_letter(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
static char upper(char c) { return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c; }

bool hub_icd10_normalize(const char *in, char *out, size_t out_size)
{
    if (!in || !out || out_size < HUB_ICD10_SIZE) return false;
    while (is_space(*in)) in++;
    size_t n = strlen(in);
    while (n > 0 && is_space(in[n - 1])) n--;

    char fourth = '\0';
    if (n < 3 || !is_letter(in[0]) || !is_digit(in[1]) || !is_digit(in[2])) return false;
    if (n == 4 && is_digit(in[3])) fourth = in[3];                         /* I219 */
    else if (n == 5 && in[3] == '.' && is_digit(in[4])) fourth = in[4];   /* I21.9 */
    else if (n != 3) return false;                                         /* I21. I21.99 ... */

    out[0] = upper(in[0]);
    out[1] = in[1];
    out[2] = in[2];
    if (fourth) {
        out[3] = '.';
        out[4] = fourth;
        out[5] = '\0';
    } else {
        out[3] = '\0';
    }
    return true;
}

hub_icd10_result hub_icd10_parse(const char *in, char *out, size_t out_size, char *errstr,
                                 size_t errstr_size)
{
    char code[HUB_ICD10_SIZE];
    if (!hub_icd10_normalize(in, code, sizeof code) || out_size < HUB_ICD10_SIZE) {
        snprintf(errstr, errstr_size,
                 "not an ICD-10 code (a letter, two digits, optionally '.' and a digit)");
        return HUB_ICD10_SHAPE;
    }
    if (hub_icd10_chapter(code) == 0) {
        snprintf(errstr, errstr_size, "category %.3s is in no ICD-10 chapter", code);
        return HUB_ICD10_NO_CHAPTER;
    }
    memcpy(out, code, sizeof code);
    if (errstr_size) errstr[0] = '\0';
    return HUB_ICD10_OK;
}

const char *hub_icd10_result_name(hub_icd10_result r)
{
    switch (r) {
    case HUB_ICD10_OK: return "ok";
    case HUB_ICD10_SHAPE: return "shape";
    case HUB_ICD10_NO_CHAPTER: return "no_chapter";
    }
    return "?";
}

void hub_icd10_category(const char *c, char *out, size_t out_size)
{
    snprintf(out, out_size, "%.3s", c ? c : "");
}

bool hub_icd10_same_category(const char *a, const char *b)
{
    return a && b && strlen(a) >= 3 && strlen(b) >= 3 && strncmp(a, b, 3) == 0;
}

/* Ranges compare the 3-character category: letter first, then the number. */
static bool in_range(const char *code, const char *lo, const char *hi)
{
    return code && strlen(code) >= 3 && strncmp(code, lo, 3) >= 0 && strncmp(code, hi, 3) <= 0;
}

int hub_icd10_chapter(const char *c)
{
    static const struct {
        const char *lo, *hi;
    } chapters[] = {
        {"A00", "B99"}, {"C00", "D48"}, {"D50", "D89"}, {"E00", "E90"}, {"F00", "F99"},
        {"G00", "G99"}, {"H00", "H59"}, {"H60", "H95"}, {"I00", "I99"}, {"J00", "J99"},
        {"K00", "K93"}, {"L00", "L99"}, {"M00", "M99"}, {"N00", "N99"}, {"O00", "O99"},
        {"P00", "P96"}, {"Q00", "Q99"}, {"R00", "R99"}, {"S00", "T98"}, {"V01", "Y98"},
        {"Z00", "Z99"}, {"U00", "U99"},
    };
    for (size_t i = 0; i < sizeof chapters / sizeof *chapters; i++)
        if (in_range(c, chapters[i].lo, chapters[i].hi)) return (int)i + 1;
    return 0;
}

const char *hub_icd10_chapter_roman(int chapter)
{
    static const char *const roman[] = {"?",    "I",   "II",    "III", "IV",  "V",
                                        "VI",   "VII", "VIII",  "IX",  "X",   "XI",
                                        "XII",  "XIII", "XIV",  "XV",  "XVI", "XVII",
                                        "XVIII", "XIX", "XX",   "XXI", "XXII"};
    return chapter >= 1 && chapter <= 22 ? roman[chapter] : "?";
}

bool hub_icd10_is_injury(const char *c) { return in_range(c, "S00", "T98"); }
bool hub_icd10_is_external(const char *c) { return in_range(c, "V01", "Y98"); }
bool hub_icd10_is_ill_defined(const char *c) { return in_range(c, "R00", "R99"); }
bool hub_icd10_is_maternal(const char *c) { return in_range(c, "O00", "O99"); }
