/* fuzz_seeds OUTDIR: the seed corpora of the harnesses, made from the
 * project's test data (tests/data, deploy/config) so that nothing binary is
 * kept in git:
 *   OUTDIR/decode/   topic byte + every sample document encoded with every
 *                    schema version of its topic, and the raw invalid frames
 *                    of tests/data/birth-certificates.invalid.hex;
 *   OUTDIR/rules/    topic byte + every sample document as JSON;
 *   OUTDIR/publish/  topic/version byte + every sample document as JSON;
 *   OUTDIR/config/   0 + each configuration file, 1 + sample environments;
 *   OUTDIR/anchor/   an anchor file as `crvsctl audit anchor` prints it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_check.h"
#include "hub_build.h"
#include "hub_file.h"

#define ROOT HUB_SCHEMA_DIR "/../.."

static const char *const samples[FUZZ_TOPICS] = {
    ROOT "/tests/data/birth-certificates.jsonl",
    ROOT "/tests/data/death-notices.jsonl",
    ROOT "/tests/data/divorce-judgments.jsonl",
    ROOT "/tests/data/civil-registrations.jsonl",
};

static int written;

static void put(const char *dir, const char *sub, uint8_t first, const void *body, size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, sub);
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        perror(path);
        exit(1);
    }
    snprintf(path, sizeof path, "%s/%s/seed-%04d", dir, sub, written++);
    FILE *f = fopen(path, "wb");
    if (!f || fputc(first, f) == EOF || (len && fwrite(body, 1, len, f) != len) || fclose(f)) {
        perror(path);
        exit(1);
    }
}

static int hex(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: fuzz_seeds OUTDIR\n");
        return 2;
    }
    const char *out = argv[1];
    if (mkdir(out, 0755) != 0 && errno != EEXIST) {
        perror(out);
        return 1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    for (unsigned t = 0; t < FUZZ_TOPICS; t++) {
        FILE *f = fopen(samples[t], "r");
        if (!f) {
            perror(samples[t]);
            return 1;
        }
        while ((n = getline(&line, &cap, f)) > 0) {
            if (line[n - 1] == '\n') line[--n] = '\0';
            if (n == 0) continue;
            put(out, "rules", (uint8_t)t, line, (size_t)n);
            int versions = fuzz_versions(fuzz_topic(t));
            for (int v = 1; v <= versions; v++)
                put(out, "publish", (uint8_t)(t + FUZZ_TOPICS * (v - 1)), line, (size_t)n);
            json_t *doc = json_loads(line, 0, NULL);
            for (int v = 1; doc && v <= versions; v++) {
                uint8_t *frame;
                size_t len;
                char err[512];
                if (hub_avro_encode(fuzz_encoder(fuzz_topic(t), v), doc, &frame, &len, err,
                                    sizeof err) == 0) {
                    put(out, "decode", (uint8_t)t, frame, len);
                    free(frame);
                }
            }
            json_decref(doc);
        }
        fclose(f);
    }
    FILE *f = fopen(ROOT "/tests/data/birth-certificates.invalid.hex", "r");
    while (f && (n = getline(&line, &cap, f)) > 0) {
        uint8_t frame[4096];
        size_t len = 0;
        for (ssize_t i = 0; i + 1 < n && len < sizeof frame; i += 2) {
            int hi = hex(line[i]), lo = hex(line[i + 1]);
            if (hi < 0 || lo < 0) break;
            frame[len++] = (uint8_t)(hi << 4 | lo);
        }
        if (len) put(out, "decode", 0, frame, len);
    }
    if (f) fclose(f);
    static const char *const configs[] = {
        ROOT "/deploy/config/birth-certificate.conf", ROOT "/deploy/config/death-notice.conf",
        ROOT "/deploy/config/divorce-judgment.conf", ROOT "/deploy/config/civil-registration.conf",
        ROOT "/deploy/config/ctl.conf"};
    for (size_t i = 0; i < sizeof configs / sizeof *configs; i++) {
        char err[512];
        size_t len;
        char *text = hub_file_read(configs[i], &len, err, sizeof err);
        if (!text) continue;
        put(out, "config", 0, text, len);
        free(text);
    }
    static const char env[] = "CRVS_BATCH_MAX_MESSAGES=100\nCRVS_KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092\n"
                              "CRVS_PG_APPLICATION_NAME=crvs\nCRVS_HTTP_PORT=9101\n"
                              "CRVS_METRICS_ENABLED=off\nPATH=/usr/bin\nCRVS_PG_PORT=55432\n";
    put(out, "config", 1, env, sizeof env - 1);
    static const char anchor[] =
        " crvs audit anchor: chain, number, hash, row id and time of each chain's head.\n"
        "birth-certificate/0 202 365aa7d8f7f9402c4b9434502b4cc89ddb09fe50d7cd95b493b834c62d5a5370 "
        "4711 2026-12-07T18:39:52.050354Z\n"
        "linkage 17 0000000000000000000000000000000000000000000000000000000000000000 9 -\n";
    put(out, "anchor", '#', anchor, sizeof anchor - 1);
    free(line);
    printf("%d seeds in %s\n", written, out);
    return 0;
}
