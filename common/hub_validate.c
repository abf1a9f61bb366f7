#include "hub_validate.h"

#include <stdio.h>
#include <string.h>

/* ---- dates ---------------------------------------------------------------
 * Proleptic Gregorian calendar with 400-year eras (146097 days), so that
 * the conversion is exact for any year without tables. */

int64_t hub_days_from_civil(int y, int m, int d)
{
    int64_t yy = (int64_t)y - (m <= 2);
    int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
    int64_t yoe = yy - era * 400;                                  /* 0..399 */
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1; /* 0..365 */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;          /* 0..146096 */
    return era * 146097 + doe - 719468;
}

void hub_civil_from_days(int64_t days, int *y, int *m, int *d)
{
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

static int days_in_month(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

bool hub_date_valid(int y, int m, int d)
{
    return y >= 1800 && y <= 2399 && m >= 1 && m <= 12 && d >= 1 && d <= days_in_month(y, m);
}

/* Reads exactly n digits. */
static bool digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

bool hub_date_parse(const char *s, int *y, int *m, int *d)
{
    return s && strlen(s) == 10 && digits(s, 4, y) && s[4] == '-' && digits(s + 5, 2, m) &&
           s[7] == '-' && digits(s + 8, 2, d) && hub_date_valid(*y, *m, *d);
}

bool hub_timestamp_parse(const char *s, int64_t *epoch_ms)
{
    int y, mo, d, h, mi, sec, ms = 0;
    if (!s || strlen(s) < 20) return false;
    if (!(digits(s, 4, &y) && s[4] == '-' && digits(s + 5, 2, &mo) && s[7] == '-' &&
          digits(s + 8, 2, &d) && (s[10] == 'T' || s[10] == ' ') && digits(s + 11, 2, &h) &&
          s[13] == ':' && digits(s + 14, 2, &mi) && s[16] == ':' && digits(s + 17, 2, &sec)))
        return false;
    if (!hub_date_valid(y, mo, d) || h > 23 || mi > 59 || sec > 59) return false;
    const char *p = s + 19;
    if (*p == '.') {
        int n = 0, scale = 100;
        for (p++; *p >= '0' && *p <= '9'; p++, n++) {
            ms += (*p - '0') * scale;
            scale /= 10;
        }
        if (n == 0 || n > 9) return false;
    }
    int offset_min = 0;
    if (*p == 'Z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        int sign = *p == '-' ? -1 : 1;
        if (!digits(p + 1, 2, &oh)) return false;
        if (p[3] == ':') {
            if (!digits(p + 4, 2, &om)) return false;
            p += 6;
        } else {
            if (!digits(p + 3, 2, &om)) return false;
            p += 5;
        }
        if (oh > 14 || om > 59) return false;
        offset_min = sign * (oh * 60 + om);
    } else {
        return false;
    }
    if (*p != '\0') return false;
    int64_t secs = hub_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec -
                   (int64_t)offset_min * 60;
    *epoch_ms = secs * 1000 + ms;
    return true;
}

void hub_timestamp_format(int64_t epoch_ms, char *out, size_t out_size)
{
    int64_t days = epoch_ms >= 0 ? epoch_ms / 86400000 : -((-epoch_ms + 86399999) / 86400000);
    int64_t rest = epoch_ms - days * 86400000; /* 0..86399999 */
    int y, m, d;
    hub_civil_from_days(days, &y, &m, &d);
    snprintf(out, out_size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", y, m, d,
             (int)(rest / 3600000), (int)(rest / 60000 % 60), (int)(rest / 1000 % 60),
             (int)(rest % 1000));
}

int hub_age_years(int64_t birth_days, int64_t on_days)
{
    if (on_days < birth_days) return -1;
    int by, bm, bd, oy, om, od;
    hub_civil_from_days(birth_days, &by, &bm, &bd);
    hub_civil_from_days(on_days, &oy, &om, &od);
    int age = oy - by;
    if (om < bm || (om == bm && od < bd)) age--;
    return age;
}

/* ---- provinces -----------------------------------------------------------
 * Legacy codes and names: docs/domain.md. The code each province has kept
 * since 1 July 2025 follows the 2025 reorganisation (the merged province
 * takes the code of one predecessor); this table is the embedded default,
 * reference data loaded by operators takes precedence where available. */

typedef struct province {
    const char *code;
    const char *name;
    const char *current; /* code since 1 July 2025 */
} province;

static const province legacy[] = {
    {"01", "Hà Nội", "01"},          {"02", "Hà Giang", "08"},
    {"04", "Cao Bằng", "04"},        {"06", "Bắc Kạn", "19"},
    {"08", "Tuyên Quang", "08"},     {"10", "Lào Cai", "15"},
    {"11", "Điện Biên", "11"},       {"12", "Lai Châu", "12"},
    {"14", "Sơn La", "14"},          {"15", "Yên Bái", "15"},
    {"17", "Hòa Bình", "25"},        {"19", "Thái Nguyên", "19"},
    {"20", "Lạng Sơn", "20"},        {"22", "Quảng Ninh", "22"},
    {"24", "Bắc Giang", "24"},       {"25", "Phú Thọ", "25"},
    {"26", "Vĩnh Phúc", "25"},       {"27", "Bắc Ninh", "24"},
    {"30", "Hải Dương", "31"},       {"31", "Hải Phòng", "31"},
    {"33", "Hưng Yên", "33"},        {"34", "Thái Bình", "33"},
    {"35", "Hà Nam", "37"},          {"36", "Nam Định", "37"},
    {"37", "Ninh Bình", "37"},       {"38", "Thanh Hóa", "38"},
    {"40", "Nghệ An", "40"},         {"42", "Hà Tĩnh", "42"},
    {"44", "Quảng Bình", "44"},      {"45", "Quảng Trị", "44"},
    {"46", "Thừa Thiên Huế", "46"},  {"48", "Đà Nẵng", "48"},
    {"49", "Quảng Nam", "48"},       {"51", "Quảng Ngãi", "51"},
    {"52", "Bình Định", "52"},       {"54", "Phú Yên", "66"},
    {"56", "Khánh Hòa", "56"},       {"58", "Ninh Thuận", "56"},
    {"60", "Bình Thuận", "68"},      {"62", "Kon Tum", "51"},
    {"64", "Gia Lai", "52"},         {"66", "Đắk Lắk", "66"},
    {"67", "Đắk Nông", "68"},        {"68", "Lâm Đồng", "68"},
    {"70", "Bình Phước", "75"},      {"72", "Tây Ninh", "80"},
    {"74", "Bình Dương", "79"},      {"75", "Đồng Nai", "75"},
    {"77", "Bà Rịa - Vũng Tàu", "79"}, {"79", "Hồ Chí Minh", "79"},
    {"80", "Long An", "80"},         {"82", "Tiền Giang", "82"},
    {"83", "Bến Tre", "86"},         {"84", "Trà Vinh", "86"},
    {"86", "Vĩnh Long", "86"},       {"87", "Đồng Tháp", "82"},
    {"89", "An Giang", "91"},        {"91", "Kiên Giang", "91"},
    {"92", "Cần Thơ", "92"},         {"93", "Hậu Giang", "92"},
    {"94", "Sóc Trăng", "92"},       {"95", "Bạc Liêu", "96"},
    {"96", "Cà Mau", "96"},
};

static const province current[] = {
    {"01", "Hà Nội", "01"},      {"04", "Cao Bằng", "04"},    {"08", "Tuyên Quang", "08"},
    {"11", "Điện Biên", "11"},   {"12", "Lai Châu", "12"},    {"14", "Sơn La", "14"},
    {"15", "Lào Cai", "15"},     {"19", "Thái Nguyên", "19"}, {"20", "Lạng Sơn", "20"},
    {"22", "Quảng Ninh", "22"},  {"24", "Bắc Ninh", "24"},    {"25", "Phú Thọ", "25"},
    {"31", "Hải Phòng", "31"},   {"33", "Hưng Yên", "33"},    {"37", "Ninh Bình", "37"},
    {"38", "Thanh Hóa", "38"},   {"40", "Nghệ An", "40"},     {"42", "Hà Tĩnh", "42"},
    {"44", "Quảng Trị", "44"},   {"46", "Huế", "46"},         {"48", "Đà Nẵng", "48"},
    {"51", "Quảng Ngãi", "51"},  {"52", "Gia Lai", "52"},     {"56", "Khánh Hòa", "56"},
    {"66", "Đắk Lắk", "66"},     {"68", "Lâm Đồng", "68"},    {"75", "Đồng Nai", "75"},
    {"79", "Hồ Chí Minh", "79"}, {"80", "Tây Ninh", "80"},    {"82", "Đồng Tháp", "82"},
    {"86", "Vĩnh Long", "86"},   {"91", "An Giang", "91"},    {"92", "Cần Thơ", "92"},
    {"96", "Cà Mau", "96"},
};

static const province *find(const province *table, size_t n, const char *code)
{
    if (!code || strlen(code) != 2) return NULL;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(table[i].code, code)) return &table[i];
    return NULL;
}
#define FIND(table, code) find(table, sizeof table / sizeof *table, code)

bool hub_province_legacy_known(const char *code) { return FIND(legacy, code) != NULL; }

const char *hub_province_legacy_name(const char *code)
{
    const province *p = FIND(legacy, code);
    return p ? p->name : NULL;
}

const char *hub_province_current_code(const char *legacy_code)
{
    const province *p = FIND(legacy, legacy_code);
    return p ? p->current : NULL;
}

const char *hub_province_current_name(const char *current_code)
{
    const province *p = FIND(current, current_code);
    return p ? p->name : NULL;
}

bool hub_province_valid_on(const char *code, int64_t event_days)
{
    int64_t reform = hub_days_from_civil(HUB_REFORM_2025_Y, HUB_REFORM_2025_M, HUB_REFORM_2025_D);
    return event_days < reform ? FIND(legacy, code) != NULL : FIND(current, code) != NULL;
}

/* ---- personal ID ---------------------------------------------------------- */

bool hub_pid_decode(const char *id, hub_sex *sex, int *birth_year)
{
    if (!id || strlen(id) != 12) return false;
    for (int i = 0; i < 12; i++)
        if (id[i] < '0' || id[i] > '9') return false;
    int c = id[3] - '0';
    int yy = (id[4] - '0') * 10 + (id[5] - '0');
    *sex = c % 2 == 0 ? HUB_SEX_MALE : HUB_SEX_FEMALE;
    *birth_year = 1900 + (c / 2) * 100 + yy;
    return true;
}

hub_pid_result hub_pid_check(const char *id, hub_sex sex, int birth_year, char *errstr,
                             size_t errstr_size)
{
    hub_sex id_sex;
    int id_year;
    if (!hub_pid_decode(id, &id_sex, &id_year)) {
        snprintf(errstr, errstr_size, "not 12 digits");
        return HUB_PID_FORMAT;
    }
    char place[3] = {id[1], id[2], '\0'};
    if (id[0] == '0' && !hub_province_legacy_known(place)) {
        snprintf(errstr, errstr_size, "place code 0%s is not a province", place);
        return HUB_PID_PLACE;
    }
    if (sex != HUB_SEX_UNKNOWN && sex != id_sex) {
        snprintf(errstr, errstr_size, "digit 4 (%c) means %s, the record says %s", id[3],
                 id_sex == HUB_SEX_MALE ? "male" : "female",
                 sex == HUB_SEX_MALE ? "male" : "female");
        return HUB_PID_SEX_MISMATCH;
    }
    if (birth_year != 0 && birth_year != id_year) {
        snprintf(errstr, errstr_size, "the ID encodes birth year %d, the record says %d", id_year,
                 birth_year);
        return HUB_PID_YEAR_MISMATCH;
    }
    if (errstr_size) errstr[0] = '\0';
    return HUB_PID_OK;
}

const char *hub_pid_result_name(hub_pid_result r)
{
    switch (r) {
    case HUB_PID_OK: return "ok";
    case HUB_PID_FORMAT: return "format";
    case HUB_PID_PLACE: return "place";
    case HUB_PID_SEX_MISMATCH: return "sex_mismatch";
    case HUB_PID_YEAR_MISMATCH: return "year_mismatch";
    }
    return "?";
}
