/* crvsctl loadgen: death notices. Ages, sexes and places in plausible
 * shares; causes from a small table of WHO-style chains (Part I from the
 * immediate cause down to the underlying one, the underlying cause coded
 * and among the lines), including external causes with their injury, an
 * ill-defined share, maternal and perinatal deaths. */
#include <stdio.h>
#include <string.h>

#include "ctl_loadgen.h"
#include "hub_rules.h"

typedef struct chain {
    const char *manner;
    const char *underlying;
    int n_lines;
    struct {
        const char *text, *icd10, *interval;
    } lines[3];
    int weight;          /* relative frequency */
    unsigned who;        /* WHO_* */
} chain;

enum { WHO_ANY = 0, WHO_ADULT = 1, WHO_MATERNAL = 2, WHO_NEONATE = 4 };

static const chain CHAINS[] = {
    {"DISEASE", "I21.9", 2, {{"Sốc tim", "R57.0", "2 giờ"}, {"Nhồi máu cơ tim cấp", "I21.9", "1 ngày"}}, 14, WHO_ADULT},
    {"DISEASE", "I64", 2, {{"Viêm phổi hít", "J69.0", "3 ngày"}, {"Đột quỵ não", "I64", "10 ngày"}}, 18, WHO_ADULT},
    {"DISEASE", "I10", 2, {{"Xuất huyết não", "I61.9", "1 ngày"}, {"Tăng huyết áp", "I10", "12 năm"}}, 8, WHO_ADULT},
    {"DISEASE", "C34.9", 2, {{"Suy hô hấp", "J96.0", "2 ngày"}, {"Ung thư phổi", "C34.9", "1 năm"}}, 7, WHO_ADULT},
    {"DISEASE", "C22.0", 2, {{"Hôn mê gan", "K72.9", "3 ngày"}, {"Ung thư biểu mô tế bào gan", "C22.0", "8 tháng"}}, 7, WHO_ADULT},
    {"DISEASE", "J44.9", 2, {{"Suy hô hấp cấp", "J96.0", "1 ngày"}, {"Bệnh phổi tắc nghẽn mạn tính", "J44.9", "9 năm"}}, 6, WHO_ADULT},
    {"DISEASE", "E11.2", 2, {{"Suy thận mạn giai đoạn cuối", "N18.5", "2 năm"}, {"Đái tháo đường type 2 có biến chứng thận", "E11.2", "15 năm"}}, 5, WHO_ADULT},
    {"DISEASE", "A15.0", 2, {{"Suy hô hấp", "J96.0", "5 ngày"}, {"Lao phổi", "A15.0", "6 tháng"}}, 3, WHO_ADULT},
    {"DISEASE", "K74.6", 2, {{"Xuất huyết tiêu hoá do vỡ giãn tĩnh mạch thực quản", "I85.0", "1 ngày"}, {"Xơ gan", "K74.6", "5 năm"}}, 4, WHO_ADULT},
    {"DISEASE", "R99", 1, {{"Chết không rõ nguyên nhân", "R99", NULL}}, 5, WHO_ANY},
    {"DISEASE", "R54", 1, {{"Già yếu", "R54", NULL}}, 3, WHO_ADULT},
    {"ACCIDENT", "V89.2", 2, {{"Chấn thương sọ não", "S06.9", "6 giờ"}, {"Tai nạn giao thông đường bộ", "V89.2", "6 giờ"}}, 8, WHO_ANY},
    {"ACCIDENT", "W74", 2, {{"Ngạt nước", "T75.1", "1 giờ"}, {"Đuối nước", "W74", "1 giờ"}}, 3, WHO_ANY},
    {"ACCIDENT", "W19", 2, {{"Gãy cổ xương đùi", "S72.0", "10 ngày"}, {"Ngã", "W19", "10 ngày"}}, 2, WHO_ADULT},
    {"INTENTIONAL_SELF_HARM", "X68", 2, {{"Ngộ độc thuốc trừ sâu", "T60.0", "1 ngày"}, {"Tự đầu độc bằng thuốc trừ sâu", "X68", "1 ngày"}}, 1, WHO_ADULT},
    {"ASSAULT", "X99", 2, {{"Vết thương thấu ngực", "S21.9", "2 giờ"}, {"Bị tấn công bằng vật sắc nhọn", "X99", "2 giờ"}}, 1, WHO_ADULT},
    {"DISEASE", "O72.1", 2, {{"Sốc mất máu", "R57.1", "3 giờ"}, {"Băng huyết sau sinh", "O72.1", "4 giờ"}}, 1, WHO_MATERNAL},
    {"DISEASE", "P07.3", 2, {{"Suy hô hấp sơ sinh", "P22.0", "2 ngày"}, {"Sinh non", "P07.3", "3 ngày"}}, 2, WHO_NEONATE},
};

static const chain *pick_chain(gen *g, unsigned allowed)
{
    int total = 0;
    for (size_t i = 0; i < sizeof CHAINS / sizeof *CHAINS; i++)
        if ((CHAINS[i].who & ~allowed) == 0) total += CHAINS[i].weight;
    int draw = lg_int(g, 0, total - 1);
    for (size_t i = 0; i < sizeof CHAINS / sizeof *CHAINS; i++) {
        if ((CHAINS[i].who & ~allowed) != 0) continue;
        if ((draw -= CHAINS[i].weight) < 0) return &CHAINS[i];
    }
    return &CHAINS[0];
}

static json_t *make_death(gen *g)
{
    char event_id[40], number[32], fcode[16], fname[160], when[32], issued[32];
    char name[96], dob[16], pid[32], certifier[96];
    bool male = lg_int(g, 0, 99) < 56;
    /* age: about 2% neonates, 1% other infants, the rest weighted to old age */
    int draw = lg_int(g, 0, 99), age_days;
    if (draw < 2) {
        age_days = lg_int(g, 0, 27);
    } else if (draw < 3) {
        age_days = lg_int(g, 28, 364);
    } else {
        int years = lg_bell(g, 70, 28);
        if (years < 1) years = 1 + lg_int(g, 0, 30);
        if (years > 104) years = 104;
        age_days = years * 365 + lg_int(g, 0, 364);
    }
    int64_t days = g->reference_days - lg_int(g, 1, 730);
    int64_t ms = (days * 86400 + lg_int(g, 0, 86399)) * 1000LL - 7 * 3600 * 1000LL;
    int64_t dob_days = days - age_days;
    int y, m, d;
    hub_civil_from_days(dob_days, &y, &m, &d);
    int age = hub_age_years(dob_days, days);

    unsigned allowed = age >= 15 ? WHO_ADULT : 0;
    if (!male && age >= 15 && age <= 49) allowed |= WHO_MATERNAL;
    if (days - dob_days < 28) allowed = WHO_NEONATE;
    const chain *c = pick_chain(g, allowed);

    const char *province = lg_province(g, days);
    int place_draw = lg_int(g, 0, 99);
    const char *place_kind = place_draw < 62 ? "HEALTH_FACILITY" : place_draw < 95 ? "HOME" : "OTHER";
    snprintf(fcode, sizeof fcode, "BV%s%03d", province, lg_int(g, 1, 40));
    snprintf(fname, sizeof fname, "Bệnh viện Đa khoa %s số %d", lg_province_name(province, days),
             lg_int(g, 1, 9));
    snprintf(number, sizeof number, "GBT-%07ld", g->next_number++);
    lg_event_id(g, event_id, sizeof event_id);
    hub_timestamp_format(ms, when, sizeof when);
    hub_timestamp_format(lg_issue_after(g, ms, 48), issued, sizeof issued);
    lg_person_name(g, !male, name, sizeof name);
    lg_person_name(g, lg_int(g, 0, 1), certifier, sizeof certifier);
    lg_date(dob_days, dob, sizeof dob);
    lg_personal_id(g, lg_birth_province(g), !male, y, pid, sizeof pid);

    json_t *deceased = json_pack("{s:s, s:s, s:s, s:s, s:o}", "name", name, "sex",
                                 male ? "MALE" : "FEMALE", "birth_date", dob, "nationality", "VN",
                                 "residence", lg_residence(g, province));
    if (age >= 14 && lg_int(g, 0, 99) < 93) json_object_set_new(deceased, "personal_id", json_string(pid));
    json_t *place = json_pack("{s:s, s:s}", "kind", place_kind, "province_code", province);
    if (!strcmp(place_kind, "HEALTH_FACILITY")) json_object_set_new(place, "facility_code", json_string(fcode));
    else json_object_set_new(place, "address", json_string("Thôn Tân Lập"));

    json_t *part1 = json_array();
    for (int i = 0; i < c->n_lines; i++) {
        json_t *line = json_pack("{s:s, s:s}", "text", c->lines[i].text, "icd10", c->lines[i].icd10);
        if (c->lines[i].interval) json_object_set_new(line, "interval", json_string(c->lines[i].interval));
        json_array_append_new(part1, line);
    }
    json_t *part2 = json_array();
    if (age >= 60 && lg_int(g, 0, 99) < 30)
        json_array_append_new(part2, json_pack("{s:s, s:s}", "text", "Tăng huyết áp", "icd10", "I10"));

    char system[32];
    snprintf(system, sizeof system, "his-%s", province);
    json_t *doc = json_pack("{s:s, s:s, s:s, s:{s:s, s:s}, s:s, s:o, s:s, s:o, s:o, s:o, s:s, s:s}",
                            "event_id", event_id, "source_system", system, "notice_number", number,
                            "facility", "code", fcode, "name", fname, "issued_at", issued,
                            "deceased", deceased, "death_time", when, "place", place, "part1",
                            part1, "part2", part2, "underlying_cause", c->underlying, "manner",
                            c->manner);
    json_object_set_new(doc, "pregnancy",
                        json_string(male || age < 10 ? "NOT_APPLICABLE"
                                    : allowed & WHO_MATERNAL && c->who == WHO_MATERNAL ? "WITHIN_42_DAYS"
                                    : age <= 49 ? "NOT_PREGNANT" : "NOT_APPLICABLE"));
    if (strcmp(c->manner, "DISEASE")) {
        char injury_date[16];
        lg_date(days, injury_date, sizeof injury_date);
        json_object_set_new(doc, "injury", json_pack("{s:s, s:s, s:s}", "date", injury_date,
                                                     "external_cause", c->underlying,
                                                     "place", place_kind));
    }
    if (c->who == WHO_NEONATE)
        json_object_set_new(doc, "perinatal",
                            json_pack("{s:b, s:i, s:i, s:b, s:i}", "stillbirth", 0, "gestation_weeks",
                                      lg_bell(g, 32, 4), "birth_weight_grams", lg_bell(g, 1700, 500),
                                      "multiple_pregnancy", 0, "mother_age_years", lg_bell(g, 28, 8)));
    json_object_set_new(doc, "certifier", json_pack("{s:s, s:s}", "name", certifier, "title", "Bác sĩ"));
    return doc;
}

/* A correction: the certifier fixes the time of death (up to an hour
 * earlier), within the same local day: an earlier day would make the
 * injury date or a neonate's birth date later than the death, a record the
 * service refuses (the benchmark caught such "corrections" as dead letters
 * loadgen had not counted as invalid). */
static void correct_death(gen *g, json_t *doc)
{
    int64_t ms;
    const char *t = json_string_value(json_object_get(doc, "death_time"));
    if (!t || !hub_timestamp_parse(t, &ms)) return;
    int64_t earlier = ms - (int64_t)lg_int(g, 10, 60) * 60 * 1000;
    int64_t day_start = ms - (ms + 7 * 3600 * 1000LL) % (86400 * 1000LL); /* local, UTC+7 */
    if (hub_local_days(earlier) != hub_local_days(ms)) earlier = day_start;
    char when[32];
    hub_timestamp_format(earlier, when, sizeof when);
    json_object_set_new(doc, "death_time", json_string(when));
}

static json_t *spoil_death(gen *g, json_t *doc)
{
    json_t *bad = json_deep_copy(doc);
    json_t *first = json_array_get(json_object_get(bad, "part1"), 0);
    switch (lg_int(g, 0, 3)) {
    case 0: json_object_set_new(bad, "death_time", json_string("2099-01-01T00:00:00.000Z")); break;
    case 1: json_object_set_new(first, "icd10", json_string("XYZ")); break;
    case 2: json_object_set_new(bad, "underlying_cause", json_string("B20")); break; /* not on the certificate */
    default: {
        json_t *deceased = json_object_get(bad, "deceased");
        json_object_set_new(deceased, "birth_date", json_string("2099-01-01"));
        json_object_del(deceased, "personal_id");
        break;
    }
    }
    char num[32];
    snprintf(num, sizeof num, "GBT-X%07ld", g->next_number++);
    json_object_set_new(bad, "notice_number", json_string(num));
    return bad;
}

const lg_kind lg_deaths = {"death-notice", make_death, correct_death, spoil_death};
