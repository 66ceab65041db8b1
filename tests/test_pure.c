/* test_pure.c — the pure parts: backoff, status messages, state names,
 * name and JSON validation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "chore.h"
#include "pure/backoff.h"
#include "pure/json_check.h"

static void backoff_without_jitter_doubles_up_to_the_cap(void **state)
{
    (void)state;
    backoff_policy p = {.base_ms = 1000, .max_ms = 60000, .jitter = 0};
    uint64_t rng = 1;
    int64_t expect = 1000;
    for (int attempt = 1; attempt <= 200; attempt++) {
        assert_int_equal(backoff_delay(&p, attempt, &rng), expect);
        expect = expect * 2 > 60000 ? 60000 : expect * 2;
    }
}

static void backoff_jitter_stays_in_bounds_and_varies(void **state)
{
    (void)state;
    backoff_policy p = {.base_ms = 1000, .max_ms = 3600000, .jitter = 0.25};
    uint64_t rng = 42;
    for (int attempt = 1; attempt <= 40; attempt++) {
        backoff_policy plain = p;
        plain.jitter = 0;
        int64_t full = backoff_delay(&plain, attempt, &rng);
        int64_t lo = full, hi = 0;
        for (int i = 0; i < 2000; i++) {
            int64_t d = backoff_delay(&p, attempt, &rng);
            assert_true(d <= full);
            assert_true(d >= full - full / 4 - 1);
            lo = d < lo ? d : lo;
            hi = d > hi ? d : hi;
        }
        assert_true(hi - lo > full / 8); /* the jitter really spreads the delays */
    }
}

static void backoff_handles_odd_inputs(void **state)
{
    (void)state;
    backoff_policy p = {.base_ms = 500, .max_ms = 500, .jitter = 0};
    uint64_t rng = 7;
    assert_int_equal(backoff_delay(&p, 0, &rng), 500);
    assert_int_equal(backoff_delay(&p, -5, &rng), 500);
    assert_int_equal(backoff_delay(&p, 1 << 30, &rng), 500);
    backoff_policy huge = {.base_ms = INT64_MAX / 2, .max_ms = INT64_MAX, .jitter = 1};
    assert_true(backoff_delay(&huge, 100, &rng) >= 0);
}

static void every_status_has_its_own_message(void **state)
{
    (void)state;
    const int codes[] = {
#define CODE(name, value, message) value,
        CHORE_STATUS_LIST(CODE)
#undef CODE
    };
    size_t n = sizeof codes / sizeof codes[0];
    for (size_t i = 0; i < n; i++) {
        const char *m = chore_strerror(codes[i]);
        assert_non_null(m);
        assert_string_not_equal(m, "unknown status");
        for (size_t j = 0; j < i; j++) {
            assert_int_not_equal(codes[i], codes[j]);
            assert_string_not_equal(m, chore_strerror(codes[j]));
        }
    }
    assert_string_equal(chore_strerror(-9999), "unknown status");
    assert_string_equal(chore_strerror(CHORE_ENOMEM), "out of memory");
}

static void state_names_round_trip(void **state)
{
    (void)state;
    for (int s = 0; s < CHORE_STATE_COUNT; s++) {
        chore_state parsed;
        assert_int_equal(chore_state_parse(chore_state_name((chore_state)s), &parsed), CHORE_OK);
        assert_int_equal(parsed, s);
    }
    chore_state parsed;
    assert_int_equal(chore_state_parse("done", &parsed), CHORE_EINVAL);
    assert_int_equal(chore_state_parse(NULL, &parsed), CHORE_EINVAL);
    assert_null(chore_state_name((chore_state)7));
    assert_null(chore_state_name((chore_state)-1));
    assert_string_equal(chore_state_name(CHORE_DISCARDED), "discarded");
}

static void names_are_checked(void **state)
{
    (void)state;
    char long_name[200];
    memset(long_name, 'a', sizeof long_name);
    long_name[128] = '\0';
    assert_true(chore_name_valid(long_name));
    long_name[128] = 'a';
    long_name[129] = '\0';
    assert_false(chore_name_valid(long_name));
    assert_true(chore_name_valid("email.send"));
    assert_true(chore_name_valid("héllo wörld"));
    assert_false(chore_name_valid(""));
    assert_false(chore_name_valid(NULL));
    assert_false(chore_name_valid("tab\there"));
    assert_false(chore_name_valid("del\x7f"));
}

static void json_payloads_are_checked(void **state)
{
    (void)state;
    const char *good[] = {"{}", "[]", "1", "\"s\"", "null", "{\"a\":[1,2,{\"b\":null}]}",
                          " {\"x\" : 1.5e3} "};
    const char *bad[] = {"", "{", "{\"a\":}", "[1,]", "nul", "{} {}", "{'a':1}", "\"\\x\""};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        assert_int_equal(json_check(good[i]), CHORE_OK);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(json_check(bad[i]), CHORE_EJSON);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(backoff_without_jitter_doubles_up_to_the_cap),
        cmocka_unit_test(backoff_jitter_stays_in_bounds_and_varies),
        cmocka_unit_test(backoff_handles_odd_inputs),
        cmocka_unit_test(every_status_has_its_own_message),
        cmocka_unit_test(state_names_round_trip),
        cmocka_unit_test(names_are_checked),
        cmocka_unit_test(json_payloads_are_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
