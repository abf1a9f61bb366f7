/* Confluent framing and SQLSTATE classification: the two small decisions
 * everything else relies on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "hub_frame.h"
#include "hub_pg.h"

static void frame_round_trip(void **state)
{
    (void)state;
    uint8_t buf[8] = {0};
    hub_frame_write_header(buf, 1001);
    assert_memory_equal(buf, ((uint8_t[]){0, 0, 0, 0x03, 0xe9}), 5);
    buf[5] = 0x42;
    int32_t id = 0;
    const uint8_t *body;
    size_t body_len;
    assert_int_equal(hub_frame_parse(buf, 6, &id, &body, &body_len), HUB_FRAME_OK);
    assert_int_equal(id, 1001);
    assert_int_equal(body_len, 1);
    assert_int_equal(body[0], 0x42);
    hub_frame_write_header(buf, 0x7fffffff);
    assert_int_equal(hub_frame_parse(buf, 5, &id, &body, &body_len), HUB_FRAME_OK);
    assert_int_equal(id, 0x7fffffff);
    assert_int_equal(body_len, 0);
}

static void frame_refusals(void **state)
{
    (void)state;
    int32_t id;
    const uint8_t *body;
    size_t body_len;
    uint8_t bad_magic[6] = {1, 0, 0, 0, 1, 2};
    assert_int_equal(hub_frame_parse(bad_magic, 6, &id, &body, &body_len), HUB_FRAME_BAD_MAGIC);
    assert_int_equal(hub_frame_parse(bad_magic, 4, &id, &body, &body_len), HUB_FRAME_TOO_SHORT);
    assert_int_equal(hub_frame_parse(NULL, 0, &id, &body, &body_len), HUB_FRAME_TOO_SHORT);
    assert_string_equal(hub_frame_result_name(HUB_FRAME_BAD_MAGIC), "frame.bad_magic");
}

static void sqlstate_classes(void **state)
{
    (void)state;
    /* retry the batch */
    assert_int_equal(hub_pg_classify_sqlstate("08006"), HUB_PG_TRANSIENT); /* connection failure */
    assert_int_equal(hub_pg_classify_sqlstate("08001"), HUB_PG_TRANSIENT);
    assert_int_equal(hub_pg_classify_sqlstate("40001"), HUB_PG_TRANSIENT); /* serialization */
    assert_int_equal(hub_pg_classify_sqlstate("40P01"), HUB_PG_TRANSIENT); /* deadlock */
    assert_int_equal(hub_pg_classify_sqlstate("53100"), HUB_PG_TRANSIENT); /* disk full */
    assert_int_equal(hub_pg_classify_sqlstate("57P01"), HUB_PG_TRANSIENT); /* admin shutdown */
    assert_int_equal(hub_pg_classify_sqlstate("57P03"), HUB_PG_TRANSIENT); /* starting up */
    assert_int_equal(hub_pg_classify_sqlstate("58030"), HUB_PG_TRANSIENT); /* I/O error */
    /* isolate the record */
    assert_int_equal(hub_pg_classify_sqlstate("22007"), HUB_PG_DATA); /* bad datetime */
    assert_int_equal(hub_pg_classify_sqlstate("23514"), HUB_PG_DATA); /* check violation */
    assert_int_equal(hub_pg_classify_sqlstate("P0001"), HUB_PG_DATA); /* raise_exception */
    assert_int_equal(hub_pg_classify_sqlstate("21000"), HUB_PG_DATA); /* one key twice */
    assert_int_equal(hub_pg_classify_sqlstate("54000"), HUB_PG_DATA); /* index row too big */
    /* stop: configuration or code is wrong */
    assert_int_equal(hub_pg_classify_sqlstate("42501"), HUB_PG_FATAL); /* permission */
    assert_int_equal(hub_pg_classify_sqlstate("42P01"), HUB_PG_FATAL); /* no such table */
    assert_int_equal(hub_pg_classify_sqlstate("28P01"), HUB_PG_FATAL); /* bad password */
    assert_int_equal(hub_pg_classify_sqlstate("57000"), HUB_PG_FATAL);
    assert_int_equal(hub_pg_classify_sqlstate("00000"), HUB_PG_OK);
    /* no SQLSTATE at all: the client lost the server */
    assert_int_equal(hub_pg_classify_sqlstate(NULL), HUB_PG_TRANSIENT);
    assert_int_equal(hub_pg_classify(NULL, NULL), HUB_PG_TRANSIENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(frame_round_trip),
        cmocka_unit_test(frame_refusals),
        cmocka_unit_test(sqlstate_classes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
