/* The batch writer's exactly-once core on a real PostgreSQL, without a
 * broker (common/hub_writer.c): run by test_writer.sh, which starts and
 * migrates the database and passes it in PGHOST/PGPORT. Items are made as
 * the consumer makes them from messages: birth certificates from
 * tests/data, mapped by the birth-certificate service's rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "birth_rules.h"
#include "hub_config.h"
#include "hub_writer.h"

#define TOPIC "birth-certificate"
#define GROUP "writer-test"
#define NOW_MS 1798761600000LL /* 2027-01-01: every test document is in the past */

static atomic_int stop_flag;
static hub_config *cfg;
static hub_writer_settings settings;
static PGconn *admin;
static char **docs; /* lines of tests/data/birth-certificates.jsonl */
static size_t n_docs;

static char *query1(const char *sql)
{
    PGresult *res = PQexec(admin, sql);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        fprintf(stderr, "query failed: %s: %s\n", sql, PQerrorMessage(admin));
        PQclear(res);
        fail();
    }
    char *v = strdup(PQgetisnull(res, 0, 0) ? "" : PQgetvalue(res, 0, 0));
    PQclear(res);
    return v;
}

static long long count(const char *sql)
{
    char *v = query1(sql);
    long long n = atoll(v);
    free(v);
    return n;
}

static int setup(void **state)
{
    (void)state;
    cfg = hub_config_new(NULL, 0);
    char err[256];
    const char *host = getenv("PGHOST"), *port = getenv("PGPORT"), *src = getenv("MESON_SOURCE_ROOT");
    if (!cfg || !host || !port || !src) return -1;
    const char *pg[][2] = {{"pg.host", host}, {"pg.port", port}, {"pg.dbname", "crvs"},
                           {"pg.user", "crvs_service"}};
    for (size_t i = 0; i < sizeof pg / sizeof *pg; i++)
        if (hub_config_set(cfg, pg[i][0], pg[i][1], "test", err, sizeof err) != 0)
        return -1;
    settings = (hub_writer_settings){.cfg = cfg, .service = "writer-test", .topic = TOPIC,
                                     .group = GROUP, .topic_info = hub_topic_find(TOPIC),
                                     .backoff_initial_ms = 50, .backoff_max_ms = 200,
                                     .stop = &stop_flag, .telemetry = NULL};
    char conninfo[256];
    snprintf(conninfo, sizeof conninfo, "host=%s port=%s dbname=crvs user=crvs_admin", host, port);
    admin = PQconnectdb(conninfo);
    if (PQstatus(admin) != CONNECTION_OK) return -1;

    char path[1024];
    snprintf(path, sizeof path, "%s/tests/data/birth-certificates.jsonl", src);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        docs = realloc(docs, (n_docs + 1) * sizeof *docs);
        docs[n_docs++] = strdup(line);
    }
    free(line);
    fclose(f);
    return n_docs >= 14 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < n_docs; i++) free(docs[i]);
    free(docs);
    PQfinish(admin);
    hub_config_destroy(cfg);
    return 0;
}

/* An item for document `doc` (a JSON line) at `offset` of partition 0, as
 * the consumer makes it: mapped by the service's rules, or a dead letter. */
static void make_item(hub_write_item *it, const char *doc, int64_t offset)
{
    memset(it, 0, sizeof *it);
    it->partition = 0;
    it->offset = offset;
    it->payload = doc;
    it->len = strlen(doc);
    it->timestamp_ms = NOW_MS;
    it->schema_id = 1;
    it->event_ms = -1;
    json_error_t e;
    json_t *d = json_loads(doc, 0, &e);
    assert_non_null(d);
    char err[128];
    assert_int_equal(hub_topic_key(hub_topic_find(TOPIC), d, it->key_text, sizeof it->key_text,
                                   err, sizeof err),
                     0);
    snprintf(it->source_system, sizeof it->source_system, "test");
    if (birth_map(d, NOW_MS, &it->row, &it->why) != 0) it->row = NULL;
    json_decref(d);
}

static void free_items(hub_write_item *items, size_t n)
{
    for (size_t i = 0; i < n; i++) hub_write_item_clear(&items[i]);
}

static int64_t stored_offset(void)
{
    char *v = query1("SELECT crvs.claim_partition('" GROUP "', '" TOPIC "', 0)");
    int64_t o = atoll(v);
    free(v);
    return o;
}

static long long audit_rows(void)
{
    return count("SELECT count(*) FROM crvs.audit_log WHERE source_topic = '" TOPIC
                 "' AND service = 'writer-test'");
}

/* One batch of five new certificates: committed with five creates, five
 * audit rows, the stored offset one past the last; written again from the
 * same (now stale) position it is refused as a conflict and nothing more is
 * written: the exactly-once fence. */
static void batch_then_replay(void **state)
{
    (void)state;
    hub_writer *w = hub_writer_new(&settings);
    assert_non_null(w);
    int64_t from = stored_offset();
    _Atomic int64_t pos[1] = {from};
    int64_t first = from < 0 ? 0 : from;
    hub_write_item items[5];
    for (int i = 0; i < 5; i++) make_item(&items[i], docs[i], first + i);
    long long audit_before = audit_rows();

    hub_write_outcome out;
    hub_writer_write(w, items, 5, pos, 1, NULL, &out);
    assert_int_equal(out.status, HUB_WRITE_COMMITTED);
    assert_int_equal(out.counts.created, 5);
    assert_int_equal(out.counts.dead_letters, 0);
    assert_int_equal(stored_offset(), first + 5);
    assert_int_equal(audit_rows() - audit_before, 5);

    hub_writer_write(w, items, 5, pos, 1, NULL, &out); /* pos still says `from` */
    assert_int_equal(out.status, HUB_WRITE_CONFLICT);
    assert_int_equal(stored_offset(), first + 5);
    assert_int_equal(audit_rows() - audit_before, 5);
    free_items(items, 5);
    hub_writer_free(w);
}

/* The same certificate again (another event id: a duplicate) and changed (a
 * correction, version 2, the audit keeping before and after), with a new
 * one, in one batch. */
static void duplicate_and_correction(void **state)
{
    (void)state;
    hub_writer *w = hub_writer_new(&settings);
    int64_t first = stored_offset();
    _Atomic int64_t pos[1] = {first};
    json_error_t e;
    json_t *d = json_loads(docs[0], 0, &e);
    json_object_set_new(d, "event_id", json_string("writer-test-again"));
    char *again = json_dumps(d, JSON_COMPACT);
    json_object_set_new(d, "event_id", json_string("writer-test-changed"));
    json_object_set_new(json_object_get(d, "child"), "weight_grams", json_integer(3333));
    char *changed = json_dumps(d, JSON_COMPACT);
    json_decref(d);
    hub_write_item items[3];
    make_item(&items[0], again, first);
    make_item(&items[1], changed, first + 1);
    make_item(&items[2], docs[5], first + 2);
    hub_write_outcome out;
    hub_writer_write(w, items, 3, pos, 1, NULL, &out);
    assert_int_equal(out.status, HUB_WRITE_COMMITTED);
    assert_int_equal(out.counts.duplicates, 1);
    assert_int_equal(out.counts.corrected, 1);
    assert_int_equal(out.counts.created, 1);
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT version || ' ' || weight_grams FROM crvs.birth_certificate "
             "WHERE facility_code || '/' || certificate_number = '%s'", items[0].key_text);
    char *v = query1(sql);
    assert_string_equal(v, "2 3333");
    free(v);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM crvs.audit_log WHERE entity_key = '%s' AND action = 'correct' "
             "AND before IS NOT NULL AND (after->'child'->>'weight_grams')::int = 3333",
             items[0].key_text);
    assert_int_equal(count(sql), 1);
    free_items(items, 3);
    free(again);
    free(changed);
    hub_writer_free(w);
}

/* A record PostgreSQL refuses (a sex the table's CHECK does not allow)
 * among good ones: the batch is retried one savepoint per record, the
 * refused record becomes a dead letter `db.refused` whose message names
 * the SQLSTATE and constraint only, the others are stored, the offset
 * moves past all. A message that did not map is a dead letter too, its
 * reason text scrubbed to valid UTF-8. */
static void refused_record_and_dead_letter(void **state)
{
    (void)state;
    hub_writer *w = hub_writer_new(&settings);
    int64_t first = stored_offset();
    _Atomic int64_t pos[1] = {first};
    hub_write_item items[4];
    make_item(&items[0], docs[6], first);
    make_item(&items[1], docs[7], first + 1);
    json_object_set_new(items[1].row, "child_sex", json_string("X"));
    make_item(&items[2], docs[8], first + 2);
    /* A message the consumer could not map: a dead letter from the start,
     * its reason's text not valid UTF-8. */
    memset(&items[3], 0, sizeof items[3]);
    items[3].partition = 0;
    items[3].offset = first + 3;
    items[3].payload = "\xff not avro";
    items[3].len = strlen(items[3].payload);
    items[3].timestamp_ms = -1;
    items[3].schema_id = -1;
    snprintf(items[3].why.reason, sizeof items[3].why.reason, "test.unmapped");
    snprintf(items[3].why.message, sizeof items[3].why.message, "bad \xff byte");
    long long dead_before = count("SELECT count(*) FROM crvs.dead_letter WHERE source_topic = '" TOPIC "'");
    hub_write_outcome out;
    hub_writer_write(w, items, 4, pos, 1, NULL, &out);
    assert_int_equal(out.status, HUB_WRITE_COMMITTED);
    assert_int_equal(out.counts.created, 2);
    assert_int_equal(out.counts.dead_letters, 2);
    assert_null(items[1].row);
    assert_string_equal(items[1].why.reason, "db.refused");
    assert_non_null(strstr(items[1].why.message, "sqlstate=23514"));
    assert_int_equal(stored_offset(), first + 4);
    assert_int_equal(count("SELECT count(*) FROM crvs.dead_letter WHERE source_topic = '" TOPIC "'") -
                         dead_before,
                     2);
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM crvs.dead_letter WHERE source_offset = %lld AND reason = "
             "'test.unmapped' AND message = 'bad ? byte'", (long long)(first + 3));
    assert_int_equal(count(sql), 1);
    free_items(items, 4);
    hub_writer_free(w);
}

/* The writer's session killed between batches: the next batch reconnects,
 * prepares the new session and commits, once. */
static void connection_lost(void **state)
{
    (void)state;
    hub_writer *w = hub_writer_new(&settings);
    int64_t first = stored_offset();
    _Atomic int64_t pos[1] = {first};
    hub_write_item items[2];
    make_item(&items[0], docs[9], first);
    hub_write_outcome out;
    hub_writer_write(w, items, 1, pos, 1, NULL, &out);
    assert_int_equal(out.status, HUB_WRITE_COMMITTED);
    pos[0] = first + 1;
    assert_int_equal(count("SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM "
                           "pg_stat_activity WHERE application_name = 'writer-test') t"),
                     1);
    make_item(&items[1], docs[10], first + 1);
    long long audit_before = audit_rows();
    hub_writer_write(w, &items[1], 1, pos, 1, NULL, &out);
    assert_int_equal(out.status, HUB_WRITE_COMMITTED);
    assert_true(out.attempts >= 2);
    assert_int_equal(audit_rows() - audit_before, 1);
    assert_int_equal(stored_offset(), first + 2);
    free_items(items, 2);
    hub_writer_free(w);
}

/* Text goes to PostgreSQL as COPY text: backslashes, quotes and
 * characters outside ASCII are stored exactly as the row had them, in the
 * typed column and in the document, and the quality flags array too. */
static void text_stored_exactly(void **state)
{
    (void)state;
    static const char name[] = "Bệnh viện \\N \\\\ \"Số 1\" {a,b} 'x'";
    static const char flag[] = "a \"flag\" \\ ,{}";
    hub_writer *w = hub_writer_new(&settings);
    int64_t first = stored_offset();
    _Atomic int64_t pos[1] = {first};
    json_error_t e;
    json_t *d = json_loads(docs[3], 0, &e);
    json_object_set_new(json_object_get(d, "facility"), "name", json_string(name));
    char *doc = json_dumps(d, JSON_COMPACT);
    json_decref(d);
    hub_write_item it;
    make_item(&it, doc, first);
    assert_non_null(it.row);
    json_array_append_new(json_object_get(it.row, "quality_flags"), json_string(flag));
    hub_write_outcome out;
    hub_writer_write(w, &it, 1, pos, 1, NULL, &out);
    assert_int_equal(out.status, HUB_WRITE_COMMITTED);
    const char *params[3] = {it.key_text, name, flag};
    PGresult *res = PQexecParams(
        admin,
        "SELECT facility_name = $2, document->'facility'->>'name' = $2, "
        "quality_flags[array_length(quality_flags, 1)] = $3 FROM crvs.birth_certificate "
        "WHERE facility_code || '/' || certificate_number = $1",
        3, NULL, params, NULL, NULL, 0);
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    assert_int_equal(PQntuples(res), 1);
    assert_string_equal(PQgetvalue(res, 0, 0), "t"); /* the typed column */
    assert_string_equal(PQgetvalue(res, 0, 1), "t"); /* the document */
    assert_string_equal(PQgetvalue(res, 0, 2), "t"); /* the array */
    PQclear(res);
    free_items(&it, 1);
    free(doc);
    hub_writer_free(w);
}

/* Offsets that do not increase from the stored position are refused like
 * a conflict: storing them would pass records never written. */
static void offsets_out_of_order(void **state)
{
    (void)state;
    hub_writer *w = hub_writer_new(&settings);
    int64_t first = stored_offset();
    _Atomic int64_t pos[1] = {first};
    hub_write_item items[2];
    make_item(&items[0], docs[11], first + 1);
    make_item(&items[1], docs[11], first);
    long long audit_before = audit_rows();
    hub_write_outcome out;
    hub_writer_write(w, items, 2, pos, 1, NULL, &out);
    assert_int_equal(out.status, HUB_WRITE_CONFLICT);
    assert_int_equal(audit_rows(), audit_before);
    assert_int_equal(stored_offset(), first);
    free_items(items, 2);
    hub_writer_free(w);
}

/* The facility name stored for an item's key. */
static char *stored_facility(const hub_write_item *it)
{
    const char *params[1] = {it->key_text};
    PGresult *res = PQexecParams(admin,
                                 "SELECT facility_name FROM crvs.birth_certificate "
                                 "WHERE facility_code || '/' || certificate_number = $1",
                                 1, NULL, params, NULL, NULL, 0);
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    assert_int_equal(PQntuples(res), 1);
    char *v = strdup(PQgetvalue(res, 0, 0));
    PQclear(res);
    return v;
}

/* An item as the consumer thread makes it, its line encoded ahead for the
 * columns of w's session (connected here). */
static void encoded_item(hub_writer *w, hub_write_item *it, const char *doc, int64_t offset)
{
    assert_non_null(hub_writer_connection(w));
    make_item(it, doc, offset);
    assert_non_null(it->row);
    hub_row_layout *L = hub_writer_layout(w);
    assert_non_null(L);
    hub_write_item_encode(it, L);
    hub_row_layout_unref(L);
    assert_non_null(it->line);
}

/* A row encoded ahead (on the consumer thread, hub_write_item_encode) for
 * the columns the writer's session has is stored from that line: changing
 * the row afterwards changes nothing stored. */
static void line_encoded_ahead(void **state)
{
    (void)state;
    hub_writer *w = hub_writer_new(&settings);
    int64_t first = stored_offset();
    _Atomic int64_t pos[1] = {first};
    hub_write_item it;
    encoded_item(w, &it, docs[12], first);
    char *encoded = strdup(json_string_value(json_object_get(it.row, "facility_name")));
    json_object_set_new(it.row, "facility_name", json_string("changed after encoding"));
    hub_write_outcome out;
    hub_writer_write(w, &it, 1, pos, 1, NULL, &out);
    assert_int_equal(out.status, HUB_WRITE_COMMITTED);
    char *stored = stored_facility(&it);
    assert_string_equal(stored, encoded);
    free(stored);
    free(encoded);
    free_items(&it, 1);
    hub_writer_free(w);
}

/* A line encoded for the columns of a session that is gone, when the new
 * session has other columns (a migration added one meanwhile), is not sent:
 * the writer encodes the row again for the new columns, and the record is
 * stored, not refused. */
static void line_for_other_columns(void **state)
{
    (void)state;
    hub_writer *w = hub_writer_new(&settings);
    int64_t first = stored_offset();
    _Atomic int64_t pos[1] = {first};
    hub_write_item it;
    encoded_item(w, &it, docs[13], first);
    json_object_set_new(it.row, "facility_name", json_string("the row as it is now"));
    PGresult *res = PQexec(admin, "ALTER TABLE crvs.birth_certificate ADD COLUMN writer_test_extra text");
    assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
    PQclear(res);
    assert_int_equal(count("SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM "
                           "pg_stat_activity WHERE application_name = 'writer-test') t"),
                     1);
    long long dead_before = count("SELECT count(*) FROM crvs.dead_letter");
    hub_write_outcome out;
    hub_writer_write(w, &it, 1, pos, 1, NULL, &out);
    PQclear(PQexec(admin, "ALTER TABLE crvs.birth_certificate DROP COLUMN writer_test_extra"));
    assert_int_equal(out.status, HUB_WRITE_COMMITTED);
    assert_int_equal(out.counts.created, 1);
    assert_int_equal(count("SELECT count(*) FROM crvs.dead_letter"), dead_before);
    char *stored = stored_facility(&it);
    assert_string_equal(stored, "the row as it is now");
    free(stored);
    free_items(&it, 1);
    hub_writer_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(batch_then_replay),
        cmocka_unit_test(duplicate_and_correction),
        cmocka_unit_test(refused_record_and_dead_letter),
        cmocka_unit_test(connection_lost),
        cmocka_unit_test(text_stored_exactly),
        cmocka_unit_test(offsets_out_of_order),
        cmocka_unit_test(line_encoded_ahead),
        cmocka_unit_test(line_for_other_columns),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
