/* The audit chain's rule (hub_chain): a chain of rows each hashed over the
 * one before walks clean; an edited, a deleted and an inserted row, a
 * removed tail and rows past the head are each reported once, at the right
 * row, and the rows after an edited one still check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "hub_chain.h"

#define ROWS 6

typedef struct row {
    long long id, seq;
    char canon[32];
    unsigned char hash[HUB_CHAIN_HASH_LEN];
} row;

typedef struct seen {
    int n;
    hub_chain_report r[8];
    char text[8][600];
} seen;

static void collect(void *ctx, const hub_chain_report *r)
{
    seen *s = ctx;
    if (s->n >= 8) return;
    s->r[s->n] = *r;
    hub_chain_describe(r, s->text[s->n], sizeof s->text[s->n]);
    s->n++;
}

/* A chain of ROWS rows as the database writes it: ids 101, 102, ... */
static void make_chain(row rows[ROWS])
{
    unsigned char prev[HUB_CHAIN_HASH_LEN] = {0};
    for (int i = 0; i < ROWS; i++) {
        rows[i].id = 101 + i;
        rows[i].seq = i + 1;
        snprintf(rows[i].canon, sizeof rows[i].canon, "[\"t/0\", %d, \"create\"]", i + 1);
        hub_chain_hash(prev, rows[i].canon, strlen(rows[i].canon), rows[i].hash);
        memcpy(prev, rows[i].hash, sizeof prev);
    }
}

static void walk(const row *rows, int n, long long head_seq, const unsigned char *head_hash,
                 seen *s)
{
    hub_chain_walk w;
    memset(s, 0, sizeof *s);
    hub_chain_walk_init(&w, collect, s);
    hub_chain_begin(&w, "t/0", 0, NULL);
    for (int i = 0; i < n; i++)
        hub_chain_row(&w, rows[i].id, rows[i].seq, rows[i].hash, rows[i].canon,
                      strlen(rows[i].canon));
    hub_chain_end(&w, head_seq, head_hash);
    assert_int_equal(w.problems, s->n);
}

static void known_vector(void **state)
{
    (void)state;
    /* sha256(32 zero bytes || "abc"), as Python's hashlib gives it. */
    unsigned char zero[HUB_CHAIN_HASH_LEN] = {0}, h[HUB_CHAIN_HASH_LEN], back[HUB_CHAIN_HASH_LEN];
    char hex[2 * HUB_CHAIN_HASH_LEN + 1];
    hub_chain_hash(zero, "abc", 3, h);
    hub_chain_hex(h, hex);
    assert_string_equal(hex, "365aa7d8f7f9402c4b9434502b4cc89ddb09fe50d7cd95b493b834c62d5a5370");
    assert_true(hub_chain_unhex(hex, back));
    assert_memory_equal(back, h, sizeof h);
    assert_false(hub_chain_unhex("365aa7", back));
    hex[5] = 'g';
    assert_false(hub_chain_unhex(hex, back));
}

static void untouched_chain_is_clean(void **state)
{
    (void)state;
    row rows[ROWS];
    seen s;
    make_chain(rows);
    walk(rows, ROWS, ROWS, rows[ROWS - 1].hash, &s);
    assert_int_equal(s.n, 0);
}

static void edited_row(void **state)
{
    (void)state;
    row rows[ROWS];
    seen s;
    make_chain(rows);
    rows[2].canon[strlen(rows[2].canon) - 3] = 'X'; /* "creatX" */
    walk(rows, ROWS, ROWS, rows[ROWS - 1].hash, &s);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.r[0].problem, HUB_CHAIN_EDITED);
    assert_int_equal(s.r[0].id, 103);
    assert_int_equal(s.r[0].from, 3);
    assert_non_null(strstr(s.text[0], "t/0 #3 (row id 103)"));
    assert_null(strstr(s.text[0], "creat")); /* never the content */

    /* Its hash recomputed too, to hide it: the next row no longer chains. */
    make_chain(rows);
    rows[2].canon[strlen(rows[2].canon) - 3] = 'X';
    unsigned char prev[HUB_CHAIN_HASH_LEN];
    memcpy(prev, rows[1].hash, sizeof prev);
    hub_chain_hash(prev, rows[2].canon, strlen(rows[2].canon), rows[2].hash);
    walk(rows, ROWS, ROWS, rows[ROWS - 1].hash, &s);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.r[0].problem, HUB_CHAIN_EDITED);
    assert_int_equal(s.r[0].id, 104);
}

static void deleted_row(void **state)
{
    (void)state;
    row rows[ROWS], kept[ROWS];
    seen s;
    make_chain(rows);
    int n = 0;
    for (int i = 0; i < ROWS; i++)
        if (i != 3) kept[n++] = rows[i];
    walk(kept, n, ROWS, rows[ROWS - 1].hash, &s);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.r[0].problem, HUB_CHAIN_MISSING);
    assert_int_equal(s.r[0].from, 4);
    assert_int_equal(s.r[0].to, 4);
    assert_int_equal(s.r[0].id, 105);
    assert_non_null(strstr(s.text[0], "t/0 #4: missing (deleted) before row id 105"));
}

static void inserted_row(void **state)
{
    (void)state;
    row rows[ROWS + 1];
    seen s;
    make_chain(rows);
    /* A row put at place 3 again, after the real one (the unique index
     * dropped). */
    memmove(&rows[4], &rows[3], (ROWS - 3) * sizeof *rows);
    rows[3] = rows[2];
    rows[3].id = 900;
    walk(rows, ROWS + 1, ROWS, rows[ROWS].hash, &s);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.r[0].problem, HUB_CHAIN_REPEATED);
    assert_int_equal(s.r[0].id, 900);

    /* A row added after the last with a made-up hash, the head left. */
    make_chain(rows);
    rows[ROWS] = rows[ROWS - 1];
    rows[ROWS].id = 901;
    rows[ROWS].seq = ROWS + 1;
    walk(rows, ROWS + 1, ROWS, rows[ROWS - 1].hash, &s);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.r[0].problem, HUB_CHAIN_EDITED);
    assert_int_equal(s.r[0].id, 901);
    assert_int_equal(s.r[1].problem, HUB_CHAIN_HEAD);
}

static void removed_tail(void **state)
{
    (void)state;
    row rows[ROWS];
    seen s;
    make_chain(rows);
    walk(rows, ROWS - 2, ROWS, rows[ROWS - 1].hash, &s);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.r[0].problem, HUB_CHAIN_TAIL);
    assert_int_equal(s.r[0].from, ROWS - 1);
    assert_int_equal(s.r[0].to, ROWS);
    /* Cut back together with its head: only an anchor can tell (the walk
     * sees a whole chain). */
    walk(rows, ROWS - 2, ROWS - 2, rows[ROWS - 3].hash, &s);
    assert_int_equal(s.n, 0);
}

static void start_inside_a_chain(void **state)
{
    (void)state;
    row rows[ROWS];
    seen s = {0};
    make_chain(rows);
    hub_chain_walk w;
    hub_chain_walk_init(&w, collect, &s);
    hub_chain_begin(&w, "t/0", rows[2].seq, rows[2].hash);
    for (int i = 3; i < ROWS; i++)
        hub_chain_row(&w, rows[i].id, rows[i].seq, rows[i].hash, rows[i].canon,
                      strlen(rows[i].canon));
    hub_chain_end(&w, ROWS, rows[ROWS - 1].hash);
    assert_int_equal(s.n, 0);
    assert_int_equal(w.rows, ROWS - 3);
}

static void anchor_lines(void **state)
{
    (void)state;
    hub_chain_anchor a;
    static const char h[] = "365aa7d8f7f9402c4b9434502b4cc89ddb09fe50d7cd95b493b834c62d5a5370";
    char line[300];
    snprintf(line, sizeof line, "birth-certificate/0 202 %s 4711 2026-12-07T18:39:52.050354Z\n", h);
    assert_int_equal(hub_chain_anchor_parse(line, &a), 1);
    assert_string_equal(a.chain, "birth-certificate/0");
    assert_int_equal(a.seq, 202);
    assert_int_equal(a.id, 4711);
    char hex[2 * HUB_CHAIN_HASH_LEN + 1];
    hub_chain_hex(a.hash, hex);
    assert_string_equal(hex, h);
    snprintf(line, sizeof line, "crvsctl 1 %s - -", h);
    assert_int_equal(hub_chain_anchor_parse(line, &a), 1);
    assert_int_equal(a.id, -1);
    assert_int_equal(hub_chain_anchor_parse("# a comment\n", &a), 0);
    assert_int_equal(hub_chain_anchor_parse("  \n", &a), 0);
    static const char *const bad[] = {
        "x 0 %s 1",                     /* numbers start at 1 */
        "x -3 %s 1",
        "x 99999999999999999999 %s 1",  /* out of range */
        "x 1 %s",                       /* no row id */
        "x 1 %s -1",
        "x 1 %.63s 1",                  /* a digit short */
        "x 1 %sab 1",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        snprintf(line, sizeof line, bad[i], h);
        assert_int_equal(hub_chain_anchor_parse(line, &a), -1);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(known_vector),      cmocka_unit_test(untouched_chain_is_clean),
        cmocka_unit_test(edited_row),        cmocka_unit_test(deleted_row),
        cmocka_unit_test(inserted_row),      cmocka_unit_test(removed_tail),
        cmocka_unit_test(start_inside_a_chain), cmocka_unit_test(anchor_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
