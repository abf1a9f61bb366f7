/* Broker data loss judged from a stored offset and the log's start and end:
 * the normal positions (at the log end, inside the log, nothing stored on a
 * log that starts at 0) are no loss; behind the log start and ahead of the
 * log end are, with the missing count where it can be known. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "hub_loss.h"

static void normal_positions_are_no_loss(void **state)
{
    (void)state;
    static const int64_t cases[][3] = {
        /* stored, log start, log end */
        {0, 0, 0},   {-2, 0, 0},  {-2, 0, 50}, {0, 0, 50},   {50, 0, 50},
        {10, 10, 50}, {30, 10, 50}, {50, 10, 50}, {7, 7, 7},
        /* a watermark not known: nothing can be said */
        {5, -1, 50}, {500, 0, -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        hub_loss l;
        assert_false(hub_loss_judge(cases[i][0], cases[i][1], cases[i][2], &l));
        assert_int_equal(l.kind, HUB_LOSS_NONE);
    }
}

static void behind_the_log_start(void **state)
{
    (void)state;
    hub_loss l;
    assert_true(hub_loss_judge(5, 10, 20, &l));
    assert_int_equal(l.kind, HUB_LOSS_BEHIND_LOG_START);
    assert_int_equal(l.stored, 5);
    assert_int_equal(l.log_start, 10);
    assert_int_equal(l.log_end, 20);
    assert_int_equal(l.missing, 5);
    /* Nothing stored yet, but the log no longer starts at 0. */
    assert_true(hub_loss_judge(-2, 3, 9, &l));
    assert_int_equal(l.kind, HUB_LOSS_BEHIND_LOG_START);
    assert_int_equal(l.missing, 3);
    /* Everything removed: start = end, past the stored offset. */
    assert_true(hub_loss_judge(4, 12, 12, &l));
    assert_int_equal(l.missing, 8);
}

static void ahead_of_the_log_end(void **state)
{
    (void)state;
    hub_loss l;
    /* A topic made anew: its log is shorter than the offset stored. */
    assert_true(hub_loss_judge(120, 0, 3, &l));
    assert_int_equal(l.kind, HUB_LOSS_AHEAD_OF_LOG_END);
    assert_int_equal(l.missing, -1);
    assert_true(hub_loss_judge(1, 0, 0, &l));
    assert_int_equal(l.kind, HUB_LOSS_AHEAD_OF_LOG_END);
}

static void names_and_descriptions(void **state)
{
    (void)state;
    for (int k = HUB_LOSS_BEHIND_LOG_START; k <= HUB_LOSS_OUT_OF_RANGE; k++)
        assert_int_equal(hub_loss_kind_parse(hub_loss_kind_name((hub_loss_kind)k)), k);
    assert_int_equal(hub_loss_kind_parse("none"), HUB_LOSS_NONE);
    assert_int_equal(hub_loss_kind_parse(NULL), HUB_LOSS_NONE);
    assert_string_equal(hub_loss_kind_name(HUB_LOSS_BEHIND_LOG_START), "behind_log_start");

    hub_loss l;
    char text[128];
    (void)hub_loss_judge(5, 10, 20, &l);
    hub_loss_describe(&l, text, sizeof text);
    assert_string_equal(text, "stored 5, log start 10, log end 20, 5 messages missing");
    (void)hub_loss_judge(120, 0, 3, &l);
    hub_loss_describe(&l, text, sizeof text);
    assert_string_equal(text, "stored 120, log start 0, log end 3, missing messages not known");
    l = (hub_loss){HUB_LOSS_OUT_OF_RANGE, -2, -1, -1, -1};
    hub_loss_describe(&l, text, sizeof text);
    assert_string_equal(text, "nothing stored, log start -, log end -, missing messages not known");
    char small[12];
    hub_loss_describe(&l, small, sizeof small);
    assert_int_equal(strlen(small), sizeof small - 1);
}

static void policy(void **state)
{
    (void)state;
    hub_loss_policy p = HUB_LOSS_CONTINUE;
    assert_true(hub_loss_policy_parse("stop", &p));
    assert_int_equal(p, HUB_LOSS_STOP);
    assert_true(hub_loss_policy_parse("continue", &p));
    assert_int_equal(p, HUB_LOSS_CONTINUE);
    assert_false(hub_loss_policy_parse("earliest", &p));
    assert_false(hub_loss_policy_parse("", &p));
    assert_false(hub_loss_policy_parse(NULL, &p));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(normal_positions_are_no_loss),
        cmocka_unit_test(behind_the_log_start),
        cmocka_unit_test(ahead_of_the_log_end),
        cmocka_unit_test(names_and_descriptions),
        cmocka_unit_test(policy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
