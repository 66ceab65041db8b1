/* test_time.c — RFC 3339 instants: chore_time_parse and chore_time_format,
 * checked against fixed instants and against the C library's gmtime_r. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "chore.h"

#define MS_PER_DAY (86400LL * 1000)

static int64_t parsed(const char *text)
{
    int64_t ms = -1;
    assert_int_equal(chore_time_parse(text, &ms), CHORE_OK);
    return ms;
}

static void parses_utc_offsets_and_fractions(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int64_t ms;
    } cases[] = {
        {"1970-01-01T00:00:00Z", 0},
        {"2024-05-01T12:00:00Z", 1714564800000},
        {"2024-05-01t12:00:00z", 1714564800000},
        {"2024-05-01 12:00:00Z", 1714564800000},
        /* the same instant written in other zones */
        {"2024-05-01T14:00:00+02:00", 1714564800000},
        {"2024-05-01T06:30:00-05:30", 1714564800000},
        {"2024-05-01T12:00:00-00:00", 1714564800000},
        /* fractions: up to milliseconds count, finer digits are dropped */
        {"2024-05-01T12:00:00.250Z", 1714564800250},
        {"2024-05-01T12:00:00.5Z", 1714564800500},
        {"2024-05-01T12:00:00.123999999Z", 1714564800123},
        /* leap days, the last instant of a year, a leap second */
        {"2024-02-29T00:00:00Z", 1709164800000},
        {"2000-02-29T12:00:00Z", 951825600000},
        {"1999-12-31T23:59:59.999Z", 946684799999},
        {"2016-12-31T23:59:60Z", 1483228800000},
        /* before 1970 */
        {"1969-12-31T23:59:59Z", -1000},
        {"0001-01-01T00:00:00Z", -62135596800000},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        if (parsed(cases[i].text) != cases[i].ms)
            fail_msg("'%s': %lld, not %lld", cases[i].text, (long long)parsed(cases[i].text),
                     (long long)cases[i].ms);
    }
}

static void refuses_what_is_not_rfc_3339(void **state)
{
    (void)state;
    const char *bad[] = {
        "",
        "2024-05-01",
        "2024-05-01T12:00Z",
        "2024-05-01T12:00:00",          /* no zone */
        "2024-05-01T12:00:00+0200",     /* offset without its colon */
        "2024-05-01T12:00:00+24:00",
        "2024-05-01T12:00:00+02:60",
        "2024-05-01T12:00:00.Z",        /* a dot with no digit */
        "2024-05-01T12:00:00Z ",        /* anything after the zone */
        "2024-05-01X12:00:00Z",
        "24-05-01T12:00:00Z",
        "2024-5-01T12:00:00Z",
        "2024-13-01T12:00:00Z",
        "2024-00-01T12:00:00Z",
        "2024-04-31T12:00:00Z",
        "2023-02-29T12:00:00Z",         /* not a leap year */
        "1900-02-29T12:00:00Z",         /* nor is 1900 */
        "2024-05-00T12:00:00Z",
        "2024-05-01T24:00:00Z",
        "2024-05-01T12:60:00Z",
        "2024-05-01T12:00:61Z",
        "+2024-05-01T12:00:00Z",
        "yesterday",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int64_t ms = 42;
        if (chore_time_parse(bad[i], &ms) != CHORE_EINVAL)
            fail_msg("accepted '%s'", bad[i]);
        assert_int_equal(ms, 42); /* untouched */
    }
    int64_t ms;
    assert_int_equal(chore_time_parse(NULL, &ms), CHORE_EINVAL);
    assert_int_equal(chore_time_parse("2024-05-01T12:00:00Z", NULL), CHORE_EINVAL);
}

static void formats_whole_seconds_and_milliseconds(void **state)
{
    (void)state;
    char buf[CHORE_TIME_TEXT_MAX];
    assert_int_equal(chore_time_format(0, buf, sizeof buf), 20);
    assert_string_equal(buf, "1970-01-01T00:00:00Z");
    assert_int_equal(chore_time_format(1714564800250, buf, sizeof buf), 24);
    assert_string_equal(buf, "2024-05-01T12:00:00.250Z");
    assert_int_equal(chore_time_format(-1, buf, sizeof buf), 24);
    assert_string_equal(buf, "1969-12-31T23:59:59.999Z");
    assert_int_equal(chore_time_format(253402300799999, buf, sizeof buf), 24);
    assert_string_equal(buf, "9999-12-31T23:59:59.999Z");
}

static void format_refuses_small_buffers_and_far_instants(void **state)
{
    (void)state;
    char buf[CHORE_TIME_TEXT_MAX];
    assert_int_equal(chore_time_format(0, buf, 20), CHORE_EINVAL); /* no room for the NUL */
    assert_string_equal(buf, "");
    assert_int_equal(chore_time_format(0, buf, 21), 20);
    assert_int_equal(chore_time_format(0, NULL, 32), CHORE_EINVAL);
    assert_int_equal(chore_time_format(0, buf, 0), CHORE_EINVAL);
    assert_int_equal(chore_time_format(253402300800000, buf, sizeof buf), CHORE_EINVAL);
    assert_string_equal(buf, "");
    assert_int_equal(chore_time_format(-62167219200001, buf, sizeof buf), CHORE_EINVAL);
    assert_int_equal(chore_time_format(INT64_MIN, buf, sizeof buf), CHORE_EINVAL);
    assert_int_equal(chore_time_format(INT64_MAX, buf, sizeof buf), CHORE_EINVAL);
}

/* Every 61st day from year 1 to 9999, at a changing time of day: the text
 * matches gmtime_r's fields, and parsing it gives the instant back. */
static void agrees_with_gmtime_and_round_trips(void **state)
{
    (void)state;
    int64_t first = parsed("0001-01-01T00:00:00Z");
    int64_t last = parsed("9999-12-31T23:59:59.999Z");
    int n = 0;
    for (int64_t ms = first; ms <= last; ms += 61 * MS_PER_DAY + 3723001, n++) {
        char text[CHORE_TIME_TEXT_MAX], want[64];
        assert_true(chore_time_format(ms, text, sizeof text) > 0);
        int64_t secs = ms / 1000 - (ms % 1000 < 0);
        time_t t = (time_t)secs;
        struct tm tm;
        assert_non_null(gmtime_r(&t, &tm));
        snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        if (strncmp(text, want, 19) != 0)
            fail_msg("%lld: '%s', gmtime_r says '%s'", (long long)ms, text, want);
        int64_t back;
        assert_int_equal(chore_time_parse(text, &back), CHORE_OK);
        assert_int_equal(back, ms);
    }
    assert_true(n > 55000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_utc_offsets_and_fractions),
        cmocka_unit_test(refuses_what_is_not_rfc_3339),
        cmocka_unit_test(formats_whole_seconds_and_milliseconds),
        cmocka_unit_test(format_refuses_small_buffers_and_far_instants),
        cmocka_unit_test(agrees_with_gmtime_and_round_trips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
