/* crvsctl loadgen: realistic synthetic records, deterministic for a seed.
 *
 * Names are Vietnamese with diacritics, personal IDs agree with sex and year
 * of birth, provinces are the ones in force on the event date (63 before
 * 1 July 2025, 34 from then on). A share of the output can be exact
 * duplicates of earlier records, corrections of them (same business key,
 * changed content) or records the services must refuse. Without --publish
 * the documents are printed one JSON object per line (feed them to
 * `crvsctl publish`); with it they are encoded and produced directly, at
 * --rate records per second when given.
 *
 * For benchmarks (bench/run.sh): --max-lag N holds production while more
 * than N records of this run are not yet stored by the topic's service
 * (crvs.consumer_offset), so that the development broker, which silently
 * drops a partition's oldest data beyond about 5 MiB, never holds more than
 * it keeps; --timestamps FILE writes "key<TAB>unix microseconds" for each
 * record as it is handed to the producer, the start of produce-to-committed
 * latency. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hub_avro.h"
#include "hub_topics.h"

#include "ctl_kafka.h"
#include "ctl_loadgen.h"
#include "ctl_pg.h"

static const char *const SURNAMES[] = {"Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh",
                                       "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ",
                                       "Hồ", "Ngô", "Dương", "Lý", "Đinh", "Trịnh"};
static const char *const MIDDLE_F[] = {"Thị", "Ngọc", "Thu", "Thanh", "Bích", "Kim", "Mỹ"};
static const char *const MIDDLE_M[] = {"Văn", "Đức", "Minh", "Quang", "Hữu", "Công", "Gia"};
static const char *const GIVEN_F[] = {"Lan", "Hương", "Mai", "Anh", "Hà", "Thảo", "Linh",
                                      "Trang", "Yến", "Phương", "Hạnh", "Nhung", "Ánh Đào"};
static const char *const GIVEN_M[] = {"Hùng", "Dũng", "Tuấn", "Nam", "Long", "Khoa", "Huy",
                                      "Phúc", "Quân", "Bảo", "Sơn", "Thắng", "Đạt"};
static const char *const ETHNICITIES[] = {"01", "01", "01", "01", "01", "01", "01", "01",
                                          "02", "03", "04", "05", "06", "07"}; /* mostly Kinh */

uint64_t lg_rnd(gen *g)
{
    /* xorshift64*: small, fast and good enough for synthetic data. */
    g->state ^= g->state >> 12;
    g->state ^= g->state << 25;
    g->state ^= g->state >> 27;
    return g->state * 0x2545F4914F6CDD1DULL;
}
int lg_int(gen *g, int lo, int hi) { return lo + (int)(lg_rnd(g) % (uint64_t)(hi - lo + 1)); }
double lg_unit(gen *g) { return (double)(lg_rnd(g) >> 11) / 9007199254740992.0; }
bool lg_share(gen *g, double share) { return share > 0 && lg_unit(g) < share; }

int lg_bell(gen *g, int mean, int spread)
{
    double u = (lg_unit(g) + lg_unit(g) + lg_unit(g)) / 3.0 * 2.0 - 1.0;
    return mean + (int)(u * spread);
}

void lg_person_name(gen *g, bool female, char *out, size_t size)
{
    snprintf(out, size, "%s %s %s", LG_PICK(g, SURNAMES), female ? LG_PICK(g, MIDDLE_F) : LG_PICK(g, MIDDLE_M),
             female ? LG_PICK(g, GIVEN_F) : LG_PICK(g, GIVEN_M));
}

/* PPP C YY NNNNNN: place of birth registration (0 + legacy province), the
 * century/sex digit, the year, a serial. */
void lg_personal_id(gen *g, const char *legacy_province, bool female, int year, char *out,
                        size_t size)
{
    int century = (year / 100 - 19) * 2 + (female ? 1 : 0);
    snprintf(out, size, "0%s%d%02d%06d", legacy_province, century, year % 100,
             lg_int(g, 0, 999999));
}

void lg_date(int64_t days, char *out, size_t size)
{
    int y, m, d;
    hub_civil_from_days(days, &y, &m, &d);
    snprintf(out, size, "%04d-%02d-%02d", y, m, d);
}

void lg_event_id(gen *g, char *out, size_t size)
{
    snprintf(out, size, "%08" PRIx64 "-%04x-4%03x-8%03x-%012" PRIx64, lg_rnd(g) & 0xffffffffu,
             lg_int(g, 0, 0xffff), lg_int(g, 0, 0xfff), lg_int(g, 0, 0xfff),
             (uint64_t)(lg_rnd(g) & 0xffffffffffffULL));
}

const char *lg_province(gen *g, int64_t days)
{
    bool reformed = days >= hub_days_from_civil(HUB_REFORM_2025_Y, HUB_REFORM_2025_M,
                                                HUB_REFORM_2025_D);
    return reformed ? g->current[lg_rnd(g) % (uint64_t)g->n_current]
                    : g->legacy[lg_rnd(g) % (uint64_t)g->n_legacy];
}

const char *lg_province_name(const char *code, int64_t days)
{
    bool reformed = days >= hub_days_from_civil(HUB_REFORM_2025_Y, HUB_REFORM_2025_M,
                                                HUB_REFORM_2025_D);
    const char *name = reformed ? hub_province_current_name(code) : hub_province_legacy_name(code);
    return name ? name : code;
}

int64_t lg_issue_after(gen *g, int64_t event_ms, int max_hours)
{
    int64_t issued = event_ms + (int64_t)lg_int(g, 1, max_hours) * 3600 * 1000LL;
    int64_t limit = g->reference_days * 86400 * 1000LL;
    if (issued > limit) issued = limit;
    return issued < event_ms ? event_ms : issued;
}

const char *lg_birth_province(gen *g)
{
    static const char *const codes[] = {"01", "79", "31", "48", "92", "38", "27", "15", "40"};
    return LG_PICK(g, codes);
}

json_t *lg_residence(gen *g, const char *province)
{
    char commune[16], address[96];
    snprintf(commune, sizeof commune, "%s%03d", province, lg_int(g, 1, 400));
    snprintf(address, sizeof address, "Số %d, tổ %d", lg_int(g, 1, 300), lg_int(g, 1, 30));
    return json_pack("{s:s, s:s, s:s}", "province_code", province, "commune_code", commune,
                     "address", address);
}

static json_t *parent(gen *g, bool female, int64_t child_birth_days, const char *province)
{
    char name[96], dob[16], pid[32];
    int age = female ? lg_bell(g, 29, 12) : lg_bell(g, 32, 12);
    int64_t dob_days = child_birth_days - (int64_t)age * 365 - lg_int(g, 0, 364);
    int y, m, d;
    hub_civil_from_days(dob_days, &y, &m, &d);
    lg_person_name(g, female, name, sizeof name);
    lg_date(dob_days, dob, sizeof dob);
    lg_personal_id(g, lg_birth_province(g), female, y, pid, sizeof pid);
    json_t *p = json_pack("{s:s, s:s, s:s, s:s}", "name", name, "birth_date", dob, "personal_id",
                          pid, "nationality", "VN");
    if (female) {
        json_object_set_new(p, "ethnicity", json_string(LG_PICK(g, ETHNICITIES)));
        json_object_set_new(p, "residence", lg_residence(g, province));
    }
    return p;
}

/* One birth certificate; `twin_of` (may be NULL) is the first child of the
 * same delivery, whose mother, father, time and place are reused. */
static json_t *birth(gen *g, json_t *twin_of, int plurality, int order)
{
    char number[32], event_id[40], facility_code[16], facility_name[160], when[32], issued[32];
    json_t *doc;
    lg_event_id(g, event_id, sizeof event_id);
    bool female = lg_int(g, 0, 1000) < 480; /* about 108 boys per 100 girls */
    char child_name[128];
    lg_person_name(g, female, child_name, sizeof child_name);

    if (twin_of) {
        doc = json_deep_copy(twin_of);
    } else {
        int64_t days = g->reference_days - lg_int(g, 1, 730);
        int64_t ms = (days * 86400 + lg_int(g, 0, 86399)) * 1000LL - 7 * 3600 * 1000LL;
        const char *province = lg_province(g, days);
        int64_t issued_ms = lg_issue_after(g, ms, 72);
        hub_timestamp_format(ms, when, sizeof when);
        hub_timestamp_format(issued_ms, issued, sizeof issued);
        snprintf(facility_code, sizeof facility_code, "BV%s%03d", province, lg_int(g, 1, 40));
        snprintf(facility_name, sizeof facility_name, "Bệnh viện Đa khoa %s số %d",
                 lg_province_name(province, days), lg_int(g, 1, 9));
        int kind_draw = lg_int(g, 0, 99);
        const char *kind = kind_draw < 95 ? "HEALTH_FACILITY" : kind_draw < 99 ? "HOME" : "OTHER";
        char commune[16];
        snprintf(commune, sizeof commune, "%s%03d", province, lg_int(g, 1, 400));
        json_t *place = json_pack("{s:s, s:s, s:s}", "kind", kind, "province_code", province,
                                  "commune_code", commune);
        if (!strcmp(kind, "HEALTH_FACILITY"))
            json_object_set_new(place, "facility_code", json_string(facility_code));
        else
            json_object_set_new(place, "address", json_string("Thôn Đông, xã Hòa Bình"));
        char system[32];
        snprintf(system, sizeof system, "his-%s", province);
        doc = json_pack("{s:s, s:{s:s, s:s}, s:s, s:{s:s, s:o}}", "source_system", system,
                        "facility", "code", facility_code, "name", facility_name, "issued_at",
                        issued, "child", "birth_time", when, "place", place);
        json_object_set_new(doc, "mother", parent(g, true, days, province));
        if (lg_int(g, 0, 99) < 85) json_object_set_new(doc, "father", parent(g, false, days, province));
    }
    snprintf(number, sizeof number, "GCS-%07ld", g->next_number++);
    json_object_set_new(doc, "certificate_number", json_string(number));
    json_object_set_new(doc, "event_id", json_string(event_id));
    json_t *child = json_object_get(doc, "child");
    json_object_set_new(child, "sex", json_string(female ? "FEMALE" : "MALE"));
    /* Children take the father's family name, or the mother's without one. */
    json_t *elder = json_object_get(doc, "father");
    if (!json_is_object(elder)) elder = json_object_get(doc, "mother");
    const char *family = json_string_value(json_object_get(elder, "name"));
    const char *given = strchr(child_name, ' ');
    if (family && given) {
        char full[sizeof child_name];
        int n = snprintf(full, sizeof full, "%.*s%s", (int)strcspn(family, " "), family, given);
        if (n > 0 && (size_t)n < sizeof full) memcpy(child_name, full, (size_t)n + 1);
    }
    if (lg_int(g, 0, 99) < 90) json_object_set_new(child, "name", json_string(child_name));
    else json_object_del(child, "name");
    int gestation = plurality > 1 ? lg_bell(g, 36, 3) : lg_bell(g, 39, 3);
    int weight = plurality > 1 ? lg_bell(g, 2500, 600) : lg_bell(g, 3150, 900);
    json_object_set_new(child, "weight_grams", json_integer(weight));
    json_object_set_new(child, "gestation_weeks", json_integer(gestation));
    json_object_set_new(child, "plurality", json_integer(plurality));
    json_object_set_new(child, "birth_order", json_integer(order));
    return doc;
}

static json_t *make_birth(gen *g)
{
    json_t *doc;
    if (g->pending) { /* the second child of a delivery */
        doc = birth(g, g->pending, 2, 2);
        json_decref(g->pending);
        g->pending = NULL;
    } else if (lg_share(g, g->twin_share)) {
        doc = birth(g, NULL, 2, 1);
        g->pending = json_incref(doc);
    } else {
        doc = birth(g, NULL, 1, 1);
    }
    return doc;
}

static void correct_birth(gen *g, json_t *doc)
{
    json_t *child = json_object_get(doc, "child");
    json_int_t w = json_integer_value(json_object_get(child, "weight_grams"));
    json_object_set_new(child, "weight_grams", json_integer(w + lg_int(g, 1, 200)));
}

/* A copy of a valid record the birth-certificate service must refuse. */
static json_t *spoil_birth(gen *g, json_t *doc)
{
    json_t *bad = json_deep_copy(doc);
    json_t *child = json_object_get(bad, "child"), *mother = json_object_get(bad, "mother");
    switch (lg_int(g, 0, 3)) {
    case 0: /* sex digit of a man in the mother's ID */
    {
        char pid[32];
        snprintf(pid, sizeof pid, "%s", json_string_value(json_object_get(mother, "personal_id")));
        pid[3] = (char)(pid[3] == '1' || pid[3] == '3' ? pid[3] - 1 : pid[3]);
        json_object_set_new(mother, "personal_id", json_string(pid));
        break;
    }
    case 1: json_object_set_new(child, "birth_time", json_string("2099-01-01T00:00:00.000Z")); break;
    case 2: json_object_set_new(child, "weight_grams", json_integer(12000)); break;
    default: json_object_set_new(child, "birth_order", json_integer(3)); break;
    }
    char num[32];
    snprintf(num, sizeof num, "GCS-X%07ld", g->next_number++);
    json_object_set_new(bad, "certificate_number", json_string(num));
    return bad;
}

const lg_kind lg_births = {"birth-certificate", make_birth, correct_birth, spoil_birth};

static void remember(gen *g, json_t *doc)
{
    long slot = g->n_recent % RECENT_MAX;
    if (g->n_recent >= RECENT_MAX) json_decref(g->recent[slot]);
    g->recent[slot] = json_incref(doc);
    g->n_recent++;
}

json_t *lg_recall(gen *g)
{
    long n = g->n_recent < RECENT_MAX ? g->n_recent : RECENT_MAX;
    return n ? g->recent[lg_rnd(g) % (uint64_t)n] : NULL;
}

typedef struct sink {
    FILE *out;                 /* print mode */
    rd_kafka_t *rk;            /* publish mode */
    FILE *stamps;              /* --timestamps: key and produce time per record */
    hub_avro_encoder *enc;
    const hub_topic_info *info;
    long failed;
} sink;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    sink *s = opaque;
    if (m->err) s->failed++;
}

static int emit(sink *s, json_t *doc)
{
    if (s->out) {
        if (json_dumpf(doc, s->out, JSON_COMPACT) != 0) return -1;
        return fputc('\n', s->out) == EOF ? -1 : 0;
    }
    char key[256], err[512];
    uint8_t *buf;
    size_t len;
    if (hub_avro_encode(s->enc, doc, &buf, &len, err, sizeof err) != 0 ||
        hub_topic_key(s->info, doc, key, sizeof key, err, sizeof err) != 0) {
        fprintf(stderr, "crvsctl loadgen: generated a record that does not fit: %s\n", err);
        return -1;
    }
    if (s->stamps) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        if (fprintf(s->stamps, "%s\t%lld\n", key,
                    (long long)now.tv_sec * 1000000LL + now.tv_nsec / 1000) < 0) {
            free(buf);
            fprintf(stderr, "crvsctl loadgen: cannot write the timestamps file\n");
            return -1;
        }
    }
    rd_kafka_resp_err_t e;
    while ((e = rd_kafka_producev(s->rk, RD_KAFKA_V_TOPIC(s->info->topic),
                                  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_FREE),
                                  RD_KAFKA_V_KEY(key, strlen(key)), RD_KAFKA_V_VALUE(buf, len),
                                  RD_KAFKA_V_END)) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
        rd_kafka_poll(s->rk, 50);
    if (e) {
        free(buf);
        fprintf(stderr, "crvsctl loadgen: %s\n", rd_kafka_err2str(e));
        return -1;
    }
    rd_kafka_poll(s->rk, 0);
    return 0;
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Records of the topic stored by the group so far (sum of the stored
 * offsets, partitions not yet started counting 0); -1 after printing why. */
static long long stored_count(PGconn *conn, const char *group, const char *topic)
{
    const char *params[2] = {group, topic};
    PGresult *res = ctl_pg_query(conn, "loadgen",
                              "SELECT coalesce(sum(greatest(next_offset, 0)), 0) "
                              "FROM crvs.consumer_offset WHERE consumer_group = $1 AND topic = $2",
                              2, params);
    if (!res) return -1;
    long long n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return n;
}

/* --max-lag: before the next record, waits until fewer than max_lag of the
 * `made` records of this run are unstored. *seen is the count stored since
 * the start as last read; PostgreSQL is asked only when that is not enough.
 * Returns -1 after printing why. */
static int hold_lag(sink *s, PGconn *conn, const char *group, long long base, long made,
                    long max_lag, long long *seen)
{
    while ((long long)made - *seen >= max_lag) {
        if (s->stamps) fflush(s->stamps); /* the file shows what was produced while held */
        long long stored = stored_count(conn, group, s->info->topic);
        if (stored < 0) return -1;
        *seen = stored - base;
        if ((long long)made - *seen >= max_lag) rd_kafka_poll(s->rk, 20);
    }
    return 0;
}

static void gen_init(gen *g, uint64_t seed, long start, double twins)
{
    memset(g, 0, sizeof *g);
    g->state = seed * 0x9E3779B97F4A7C15ULL + 0x632BE59BD9B4E019ULL;
    if (!g->state) g->state = 1;
    g->reference_days = hub_days_from_civil(2026, 11, 1);
    g->next_number = start;
    g->twin_share = twins;
    static char codes[100][3];
    for (int i = 1; i < 100; i++) {
        snprintf(codes[i], sizeof codes[i], "%02d", i);
        if (hub_province_current_name(codes[i]) && g->n_current < 40) g->current[g->n_current++] = codes[i];
        if (hub_province_legacy_known(codes[i]) && g->n_legacy < 70) g->legacy[g->n_legacy++] = codes[i];
    }
}

int ctl_loadgen(ctl *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"topic", required_argument, NULL, 't'},          {"count", required_argument, NULL, 'n'},
        {"seed", required_argument, NULL, 's'},           {"start", required_argument, NULL, 'S'},
        {"duplicate-share", required_argument, NULL, 'd'}, {"correction-share", required_argument, NULL, 'c'},
        {"invalid-share", required_argument, NULL, 'i'},  {"twin-share", required_argument, NULL, 'w'},
        {"publish", no_argument, NULL, 'p'},              {"rate", required_argument, NULL, 'r'},
        {"max-lag", required_argument, NULL, 'L'},        {"group", required_argument, NULL, 'g'},
        {"timestamps", required_argument, NULL, 'T'},     {NULL, 0, NULL, 0}};
    const char *topic = NULL;
    long count = 100, start = 1;
    uint64_t seed = 1;
    double dup = 0, corr = 0, inval = 0, twins = 0.015, rate = 0;
    bool publish = false;
    long max_lag = 0;
    const char *group = NULL, *stamps_path = NULL;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "t:n:s:", opts, NULL)) != -1) {
        switch (opt) {
        case 't': topic = optarg; break;
        case 'n': count = atol(optarg); break;
        case 's': seed = strtoull(optarg, NULL, 10); break;
        case 'S': start = atol(optarg); break;
        case 'd': dup = atof(optarg); break;
        case 'c': corr = atof(optarg); break;
        case 'i': inval = atof(optarg); break;
        case 'w': twins = atof(optarg); break;
        case 'p': publish = true; break;
        case 'r': rate = atof(optarg); break;
        case 'L': max_lag = atol(optarg); break;
        case 'g': group = optarg; break;
        case 'T': stamps_path = optarg; break;
        default: goto usage;
        }
    }
    if (!topic || optind != argc || count < 0 || dup < 0 || corr < 0 || inval < 0 ||
        dup + corr + inval > 1 || rate < 0 || max_lag < 0 ||
        ((max_lag || stamps_path) && !publish))
        goto usage;
    const lg_kind *kind = NULL;
    static const lg_kind *const kinds[] = {&lg_births, &lg_deaths, &lg_divorces};
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++)
        if (!strcmp(topic, kinds[k]->topic)) kind = kinds[k];
    if (!kind) {
        fprintf(stderr, "crvsctl loadgen: unknown topic '%s'\n", topic);
        return CTL_USAGE;
    }

    sink s = {.info = hub_topic_find(topic)};
    int status = CTL_FAILED;
    PGconn *conn = NULL;
    long long stored_base = 0, stored_seen = 0;
    char group_buf[256];
    gen g;
    gen_init(&g, seed, start, twins);
    if (!group) {
        snprintf(group_buf, sizeof group_buf, "crvs-%s", topic);
        group = group_buf;
    }
    if (stamps_path && !(s.stamps = fopen(stamps_path, "w"))) {
        fprintf(stderr, "crvsctl loadgen: cannot create %s\n", stamps_path);
        goto out;
    }
    if (max_lag) {
        if (!(conn = ctl_pg_connect(c)) || (stored_base = stored_count(conn, group, topic)) < 0) goto out;
    }
    if (publish) {
        char err[512];
        hub_catalog *cat = ctl_catalog(c);
        const hub_schema *schema = cat ? hub_catalog_latest(cat, topic) : NULL;
        if (!schema || !(s.enc = hub_avro_encoder_new(schema, err, sizeof err))) {
            fprintf(stderr, "crvsctl loadgen: no usable schema for %s\n", topic);
            goto out;
        }
        static const char *const defaults[] = {"enable.idempotence", "true", "linger.ms", "5",
                                               "client.id", "crvsctl-loadgen", NULL};
        if (!(s.rk = ctl_kafka(c, RD_KAFKA_PRODUCER, defaults, on_delivery, &s))) goto out;
    } else {
        s.out = stdout;
    }

    long made = 0, n_dup = 0, n_corr = 0, n_inval = 0;
    int64_t t0 = now_ns();
    while (made < count) {
        if (max_lag && hold_lag(&s, conn, group, stored_base, made, max_lag, &stored_seen))
            goto out;
        json_t *doc = NULL;
        json_t *earlier = lg_recall(&g);
        double draw = lg_unit(&g);
        if (!g.pending && earlier && draw < dup) {
            doc = json_incref(earlier);
            n_dup++;
        } else if (!g.pending && earlier && draw < dup + corr) {
            doc = json_deep_copy(earlier);
            kind->correct(&g, doc);
            char id[48];
            snprintf(id, sizeof id, "correction-%ld-%" PRIx64, made, lg_rnd(&g) & 0xffffff);
            json_object_set_new(doc, "event_id", json_string(id));
            remember(&g, doc);
            n_corr++;
        } else if (!g.pending && earlier && draw < dup + corr + inval) {
            doc = kind->spoil(&g, earlier);
            n_inval++;
        } else {
            doc = kind->make(&g);
            remember(&g, doc);
        }
        int rc = emit(&s, doc);
        json_decref(doc);
        if (rc) goto out;
        made++;
        if (rate > 0) { /* hold the average rate from the start */
            int64_t due = t0 + (int64_t)((double)made / rate * 1e9);
            int64_t wait = due - now_ns();
            if (s.rk) rd_kafka_poll(s.rk, 0);
            if (wait > 0) {
                struct timespec ts = {wait / 1000000000LL, wait % 1000000000LL};
                nanosleep(&ts, NULL);
            }
        }
    }
    if (s.rk && rd_kafka_flush(s.rk, 60000)) s.failed++;
    fprintf(stderr, "loadgen: %ld records (%ld duplicates, %ld corrections, %ld invalid)%s\n", made,
            n_dup, n_corr, n_inval, s.failed ? ", DELIVERY FAILURES" : "");
    status = s.failed ? CTL_FAILED : CTL_OK;
    if (s.stamps && fflush(s.stamps) != 0) {
        fprintf(stderr, "crvsctl loadgen: cannot write %s\n", stamps_path);
        status = CTL_FAILED;
    }
out:
    if (s.stamps) fclose(s.stamps);
    if (conn) PQfinish(conn);
    json_decref(g.pending);
    for (long i = 0; i < (g.n_recent < RECENT_MAX ? g.n_recent : RECENT_MAX); i++)
        json_decref(g.recent[i]);
    if (s.rk) rd_kafka_destroy(s.rk);
    hub_avro_encoder_destroy(s.enc);
    return status;
usage:
    fprintf(stderr,
            "usage: crvsctl loadgen --topic T [--count N] [--seed S] [--start FIRST_NUMBER]\n"
            "         [--duplicate-share F] [--correction-share F] [--invalid-share F]\n"
            "         [--twin-share F] [--publish [--rate PER_SECOND] [--max-lag N [--group G]]\n"
            "         [--timestamps FILE]]\n");
    return CTL_USAGE;
}
