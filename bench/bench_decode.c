/* bench_decode: what schema resolution costs. One birth certificate is
 * encoded with version 1 (id 1001) and with version 2 (id 1002) of its
 * schema; each is decoded N times by a decoder whose reader is version 2,
 * through the whole hub_avro_decode path (frame, skip pass, avro-c read
 * with the writer schema, resolution plan into the JSON document). For
 * scale, the avro-c read alone (no document) is timed too. Each case runs in
 * several rounds, interleaved; the best round counts.
 *
 *   bench_decode [N [ROUNDS]]     defaults 200000 messages, 5 rounds */
#include <avro.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "hub_avro.h"
#include "hub_build.h"
#include "hub_frame.h"

static const char *doc_text =
    "{\"event_id\":\"7d1c2f0e-5b1a-4c3e-9f7a-2a8b6c4d0e11\",\"source_system\":\"his-79\","
    "\"certificate_number\":\"GCS-0000123\",\"facility\":{\"code\":\"BV79001\",\"name\":\"Bệnh viện Từ Dũ\"},"
    "\"issued_at\":\"2026-03-05T09:00:00+07:00\","
    "\"child\":{\"name\":\"Trần Bảo Ngọc\",\"sex\":\"FEMALE\",\"birth_time\":\"2026-03-04T23:30:00+07:00\","
    "\"place\":{\"kind\":\"HEALTH_FACILITY\",\"facility_code\":\"BV79001\",\"province_code\":\"79\","
    "\"commune_code\":\"26734\"},\"weight_grams\":3100,\"gestation_weeks\":39,\"plurality\":1,\"birth_order\":1},"
    "\"mother\":{\"name\":\"Nguyễn Thị Hoa\",\"birth_date\":\"1995-06-15\",\"personal_id\":\"079195000123\","
    "\"ethnicity\":\"01\",\"nationality\":\"VN\",\"residence\":{\"province_code\":\"79\",\"commune_code\":\"26734\","
    "\"address\":\"Số 12, tổ 3\"}},"
    "\"father\":{\"name\":\"Trần Văn Minh\",\"birth_date\":\"1992-01-20\",\"personal_id\":\"079092000456\","
    "\"nationality\":\"VN\"}}";

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint8_t *encode(hub_catalog *cat, int32_t id, json_t *doc, size_t *len)
{
    char err[512];
    const hub_schema *s;
    uint8_t *buf = NULL;
    if (hub_catalog_get(cat, id, &s, err, sizeof err) != HUB_SCHEMA_OK) {
        fprintf(stderr, "bench_decode: %s\n", err);
        return NULL;
    }
    hub_avro_encoder *enc = hub_avro_encoder_new(s, err, sizeof err);
    if (!enc || hub_avro_encode(enc, doc, &buf, len, err, sizeof err) != 0)
        fprintf(stderr, "bench_decode: schema %d: %s\n", (int)id, err);
    hub_avro_encoder_destroy(enc);
    return buf;
}

/* Seconds for n full decodes; -1 when one fails. */
static double run_decode(hub_avro_decoder *dec, const uint8_t *msg, size_t len, long n)
{
    double t0 = now_s();
    for (long i = 0; i < n; i++) {
        json_t *out;
        int32_t id;
        hub_reject why;
        if (hub_avro_decode(dec, msg, len, &out, &id, &why) != HUB_DECODE_OK) {
            fprintf(stderr, "bench_decode: %s: %s\n", why.reason, why.message);
            return -1;
        }
        json_decref(out);
    }
    return now_s() - t0;
}

/* Seconds for n avro-c reads of the body alone (writer schema, no JSON). */
static double run_read(avro_schema_t schema, const uint8_t *msg, size_t len, long n)
{
    avro_value_iface_t *iface = avro_generic_class_from_schema(schema);
    avro_value_t v;
    avro_reader_t r = avro_reader_memory("", 0);
    if (!iface || !r || avro_generic_value_new(iface, &v)) return -1;
    double t0 = now_s();
    for (long i = 0; i < n; i++) {
        avro_reader_memory_set_source(r, (const char *)msg + HUB_FRAME_HEADER_SIZE,
                                      (int64_t)(len - HUB_FRAME_HEADER_SIZE));
        avro_value_reset(&v);
        if (avro_value_read(r, &v)) return -1;
    }
    double t = now_s() - t0;
    avro_value_decref(&v);
    avro_value_iface_decref(iface);
    avro_reader_free(r);
    return t;
}

static void report(const char *what, double best, long n, double base)
{
    printf("%-34s %9.0f msg/s %8.0f ns/msg", what, (double)n / best, best / (double)n * 1e9);
    if (base > 0) printf("   %+.1f%%", (best / base - 1) * 100);
    putchar('\n');
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 200000;
    int rounds = argc > 2 ? atoi(argv[2]) : 5;
    char err[512];
    int status = 1;
    if (n <= 0 || rounds <= 0) {
        fprintf(stderr, "usage: bench_decode [N [ROUNDS]]\n");
        return 2;
    }
    hub_catalog *cat = hub_catalog_open(HUB_SCHEMA_DIR, err, sizeof err);
    if (!cat) {
        fprintf(stderr, "bench_decode: %s\n", err);
        return 1;
    }
    const hub_schema *reader = hub_catalog_latest(cat, "birth-certificate");
    json_t *doc = json_loads(doc_text, 0, NULL);
    size_t len1 = 0, len2 = 0;
    uint8_t *m1 = encode(cat, 1001, doc, &len1);
    /* the same certificate as a version 2 producer sends it */
    json_object_set_new(json_object_get(doc, "child"), "apgar_5min", json_integer(9));
    json_object_set_new(doc, "language", json_string("vi"));
    uint8_t *m2 = encode(cat, 1002, doc, &len2);
    hub_avro_decoder *dec = reader ? hub_avro_decoder_new(cat, reader, err, sizeof err) : NULL;
    if (!reader || !m1 || !m2 || !dec) {
        if (!dec) fprintf(stderr, "bench_decode: decoder: %s\n", reader ? err : "no reader schema");
        goto out;
    }
    double best1 = 0, best2 = 0, best_read = 0;
    (void)run_decode(dec, m1, len1, n / 10 + 1); /* warm up: plans built, caches filled */
    (void)run_decode(dec, m2, len2, n / 10 + 1);
    for (int r = 0; r < rounds; r++) {
        double t2 = run_decode(dec, m2, len2, n);
        double t1 = run_decode(dec, m1, len1, n);
        double tr = run_read(hub_schema_avro(reader), m2, len2, n);
        if (t1 < 0 || t2 < 0 || tr < 0) goto out;
        if (!r || t1 < best1) best1 = t1;
        if (!r || t2 < best2) best2 = t2;
        if (!r || tr < best_read) best_read = tr;
    }
    printf("bench_decode: %ld messages x %d rounds, best round; reader %s v%d\n", n, rounds,
           hub_schema_fullname(reader), hub_schema_version(reader));
    printf("message sizes: v1 %zu bytes, v2 %zu bytes\n", len1, len2);
    report("v2 -> v2 (plan, same schema)", best2, n, 0);
    report("v1 -> v2 (plan, resolved)", best1, n, best2);
    report("avro-c read only (v2, no JSON)", best_read, n, 0);
    status = 0;
out:
    hub_avro_decoder_destroy(dec);
    free(m1);
    free(m2);
    json_decref(doc);
    hub_catalog_destroy(cat);
    return status;
}
