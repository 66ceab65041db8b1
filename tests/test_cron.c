/*
 * test_cron.c — cron expressions without daylight saving: every syntax
 * form, every error class (with the field named), next() for each value of
 * each field, the Vixie day-of-month/day-of-week rule, leap years, month
 * ends, far dates, "never", seconds, @every, explain. Daylight saving and
 * the brute-force cross-check are in test_cron_dst.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "chore.h"
#include "pure/cron.h"

/* Instant of a UTC civil time, in ms. */
static int64_t utc(int64_t y, int m, int d, int h, int mi, int s)
{
    return (civil_days(y, m, d) * 86400 + h * 3600 + mi * 60 + s) * 1000;
}

static chore_cron *parse_ok(const char *expr, const char *zone)
{
    chore_cron *c = NULL;
    char err[256] = "";
    int rc = chore_cron_parse(&c, expr, zone, err, sizeof err);
    if (rc != CHORE_OK)
        fail_msg("'%s' refused: %s", expr, err);
    return c;
}

static int64_t next_of(const char *expr, const char *zone, int64_t after)
{
    chore_cron *c = parse_ok(expr, zone);
    int64_t n = -1;
    int rc = chore_cron_next(c, after, &n);
    chore_cron_free(c);
    return rc == CHORE_OK ? n : rc;
}

static void masks_of_every_form(void **state)
{
    (void)state;
    chore_cron *c = parse_ok("*/15 0-6/2 10/10 jan,Jun-AUG MON-fri", NULL);
    assert_int_equal(c->min, (1ULL << 0) | (1ULL << 15) | (1ULL << 30) | (1ULL << 45));
    assert_int_equal(c->hour, 1u | 1u << 2 | 1u << 4 | 1u << 6);
    assert_int_equal(c->dom, 1u << 10 | 1u << 20 | 1u << 30);
    assert_int_equal(c->mon, 1u << 1 | 1u << 6 | 1u << 7 | 1u << 8);
    assert_int_equal(c->dow, 0x3e);
    assert_false(c->has_seconds);
    assert_int_equal(c->sec, 1);
    assert_false(c->wall_clock);
    assert_false(c->dom_star);
    assert_false(c->dow_star);
    chore_cron_free(c);

    c = parse_ok("5,10-12 30 2 * * 7", NULL);
    assert_true(c->has_seconds);
    assert_int_equal(c->sec, 1ULL << 5 | 1ULL << 10 | 1ULL << 11 | 1ULL << 12);
    assert_int_equal(c->min, 1ULL << 30);
    assert_int_equal(c->hour, 1u << 2);
    assert_int_equal(c->dow, 1); /* 7 is Sunday */
    assert_true(c->wall_clock);
    assert_true(c->dom_star);
    assert_false(c->dow_star);
    chore_cron_free(c);

    c = parse_ok("0 0 * * 5-7", NULL);
    assert_int_equal(c->dow, 1u | 1u << 5 | 1u << 6);
    chore_cron_free(c);
    c = parse_ok("0 0 * * 0-7", NULL);
    assert_int_equal(c->dow, 0x7f);
    chore_cron_free(c);
    c = parse_ok("0 0 * * sun,SAT,Wed", NULL);
    assert_int_equal(c->dow, 1u | 1u << 3 | 1u << 6);
    chore_cron_free(c);
    c = parse_ok("* * * */3 */2", NULL);
    assert_int_equal(c->mon, 1u << 1 | 1u << 4 | 1u << 7 | 1u << 10);
    assert_int_equal(c->dow, 1u | 1u << 2 | 1u << 4 | 1u << 6);
    assert_int_equal(c->min, (1ULL << 60) - 1);
    assert_int_equal(c->hour, (1u << 24) - 1);
    assert_int_equal(c->dom, 0xfffffffeu);
    chore_cron_free(c);
    c = parse_ok("  \t0   12 1 1 *  ", NULL); /* spaces and tabs around */
    assert_int_equal(c->hour, 1u << 12);
    chore_cron_free(c);
    c = parse_ok("00 05 01 01 00", NULL); /* leading zeros */
    assert_int_equal(c->hour, 1u << 5);
    assert_int_equal(c->dow, 1);
    chore_cron_free(c);
}

static void descriptors_and_zone_prefix(void **state)
{
    (void)state;
    static const struct {
        const char *desc, *same;
    } cases[] = {
        {"@yearly", "0 0 1 1 *"},  {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
        {"@weekly", "0 0 * * 0"},  {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
        {"@hourly", "0 * * * *"},  {"@DAILY", "0 0 * * *"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        chore_cron *a = parse_ok(cases[i].desc, NULL), *b = parse_ok(cases[i].same, NULL);
        assert_int_equal(a->sec, b->sec);
        assert_int_equal(a->min, b->min);
        assert_int_equal(a->hour, b->hour);
        assert_int_equal(a->dom, b->dom);
        assert_int_equal(a->mon, b->mon);
        assert_int_equal(a->dow, b->dow);
        assert_int_equal(a->wall_clock, b->wall_clock);
        assert_int_equal(a->dom_star, b->dom_star);
        assert_int_equal(a->dow_star, b->dow_star);
        chore_cron_free(a);
        chore_cron_free(b);
    }
    chore_cron *c = parse_ok("CRON_TZ=America/New_York 30 2 * * *", "Europe/London");
    assert_string_equal(chore_cron_zone(c), "America/New_York");
    chore_cron_free(c);
    c = parse_ok("30 2 * * *", "Europe/London");
    assert_string_equal(chore_cron_zone(c), "Europe/London");
    chore_cron_free(c);
    c = parse_ok("30 2 * * *", NULL);
    assert_string_equal(chore_cron_zone(c), "UTC");
    chore_cron_free(c);
    c = parse_ok("CRON_TZ=Australia/Lord_Howe @daily", NULL);
    assert_string_equal(chore_cron_zone(c), "Australia/Lord_Howe");
    chore_cron_free(c);
    c = parse_ok("CRON_TZ=UTC @every 90s", "Europe/Paris");
    assert_int_equal(c->every_ms, 90000);
    chore_cron_free(c);
}

/* expr must be refused with a message holding each of the needles. */
static void refused(const char *expr, const char *zone, int code, const char *n1, const char *n2)
{
    chore_cron *c = (chore_cron *)1;
    char err[256] = "x";
    int rc = chore_cron_parse(&c, expr, zone, err, sizeof err);
    if (rc != code)
        fail_msg("'%s': rc %d, expected %d (err '%s')", expr, rc, code, err);
    assert_null(c);
    assert_null(strchr(err, '\n'));
    if (strstr(err, n1) == NULL || (n2 != NULL && strstr(err, n2) == NULL))
        fail_msg("'%s': message '%s' lacks '%s' / '%s'", expr, err, n1, n2 ? n2 : "");
}

static void every_error_names_field_and_problem(void **state)
{
    (void)state;
    /* out of range, each field, both ends */
    refused("60 * * * *", NULL, CHORE_EINVAL, "minute:", "60 is out of range 0-59");
    refused("* 24 * * *", NULL, CHORE_EINVAL, "hour:", "24 is out of range 0-23");
    refused("* * 0 * *", NULL, CHORE_EINVAL, "day-of-month:", "0 is out of range 1-31");
    refused("* * 32 * *", NULL, CHORE_EINVAL, "day-of-month:", "out of range");
    refused("* * * 0 *", NULL, CHORE_EINVAL, "month:", "0 is out of range 1-12");
    refused("* * * 13 *", NULL, CHORE_EINVAL, "month:", "out of range");
    refused("* * * * 8", NULL, CHORE_EINVAL, "day-of-week:", "8 is out of range 0-7");
    refused("60 * * * * *", NULL, CHORE_EINVAL, "second:", "out of range 0-59");
    refused("0 60 * * * *", NULL, CHORE_EINVAL, "minute:", "out of range");
    refused("1-60 * * * *", NULL, CHORE_EINVAL, "minute:", "60 is out of range");
    refused("99999999999999999999 * * * *", NULL, CHORE_EINVAL, "minute:", "out of range");
    refused("5-2 * * * *", NULL, CHORE_EINVAL, "minute:", "backwards");
    refused("* * * DEC-JAN *", NULL, CHORE_EINVAL, "month:", "backwards");
    refused("*/61 * * * *", NULL, CHORE_EINVAL, "minute:", "step 61 is out of range");
    refused("* * * * */8", NULL, CHORE_EINVAL, "day-of-week:", "out of range");
    /* step 0 */
    refused("*/0 * * * *", NULL, CHORE_EINVAL, "minute:", "step 0");
    refused("* 1-5/0 * * *", NULL, CHORE_EINVAL, "hour:", "step 0");
    refused("* * * * * 0/00", NULL, CHORE_EINVAL, "day-of-week:", "step 0");
    refused("*/ * * * *", NULL, CHORE_EINVAL, "minute:", "missing step");
    /* empty */
    refused("1,,2 * * * *", NULL, CHORE_EINVAL, "minute:", "empty");
    refused("* 1, * * *", NULL, CHORE_EINVAL, "hour:", "empty");
    refused("* * ,1 * *", NULL, CHORE_EINVAL, "day-of-month:", "empty");
    refused("* * * , *", NULL, CHORE_EINVAL, "month:", "empty");
    refused("5- * * * *", NULL, CHORE_EINVAL, "minute:", "no end");
    refused("* * * * -1", NULL, CHORE_EINVAL, "day-of-week:", "unexpected");
    /* number of fields */
    refused("", NULL, CHORE_EINVAL, "expected 5 or 6 fields", "got 0");
    refused("   ", NULL, CHORE_EINVAL, "expected 5 or 6 fields", "got 0");
    refused("* * * *", NULL, CHORE_EINVAL, "expected 5 or 6 fields", "got 4");
    refused("* * * * * * *", NULL, CHORE_EINVAL, "expected 5 or 6 fields", "got 7");
    refused("CRON_TZ=UTC", NULL, CHORE_EINVAL, "expected 5 or 6 fields", "got 0");
    /* unknown names */
    refused("* * * FOO *", NULL, CHORE_EINVAL, "month:", "unknown name 'FOO'");
    refused("* * * * MONDAY", NULL, CHORE_EINVAL, "day-of-week:", "unknown name 'MONDAY'");
    refused("* * * MON *", NULL, CHORE_EINVAL, "month:", "unknown name 'MON'");
    refused("* * * * JAN", NULL, CHORE_EINVAL, "day-of-week:", "unknown name 'JAN'");
    refused("JAN * * * *", NULL, CHORE_EINVAL, "minute:", "unknown name");
    refused("* * L * *", NULL, CHORE_EINVAL, "day-of-month:", "unknown name 'L'");
    refused("@weird", NULL, CHORE_EINVAL, "unknown descriptor '@weird'", NULL);
    /* trailing garbage */
    refused("5x * * * *", NULL, CHORE_EINVAL, "minute:", "trailing garbage 'x'");
    refused("*5 * * * *", NULL, CHORE_EINVAL, "minute:", "trailing garbage '5'");
    refused("* 1-5x * * *", NULL, CHORE_EINVAL, "hour:", "trailing garbage");
    refused("* * * * MON-FRI/2x", NULL, CHORE_EINVAL, "day-of-week:", "trailing garbage");
    refused("* * ? * *", NULL, CHORE_EINVAL, "day-of-month:", "unexpected '?'");
    refused("* * * * 1#2", NULL, CHORE_EINVAL, "day-of-week:", "trailing garbage '#2'");
    refused("@daily now", NULL, CHORE_EINVAL, "@daily:", "trailing garbage 'now'");
    /* bad @every */
    refused("@every", NULL, CHORE_EINVAL, "@every:", "missing duration");
    refused("@every 0s", NULL, CHORE_EINVAL, "@every:", "out of range");
    refused("@every 500ms", NULL, CHORE_EINVAL, "@every:", "at least 1s");
    refused("@every 1s500ms", NULL, CHORE_EINVAL, "@every:", "whole number of seconds");
    refused("@every 90", NULL, CHORE_EINVAL, "@every:", "bad unit");
    refused("@every 10q", NULL, CHORE_EINVAL, "@every:", "bad unit");
    refused("@every 1m1h", NULL, CHORE_EINVAL, "@every:", "largest first");
    refused("@every 1h1h", NULL, CHORE_EINVAL, "@every:", "once");
    refused("@every -5s", NULL, CHORE_EINVAL, "@every:", "bad duration");
    refused("@every 1h 30m", NULL, CHORE_EINVAL, "@every:", "trailing garbage '30m'");
    refused("@every 99999999999999999999h", NULL, CHORE_EINVAL, "@every:", "out of range");
    refused("@every 36600d1s", NULL, CHORE_EINVAL, "@every:", "out of range");
    /* zones */
    refused("* * * * *", "Mars/Olympus_Mons", CHORE_ENOTFOUND, "zone:", "unknown time zone");
    refused("CRON_TZ=Nowhere/City * * * * *", NULL, CHORE_ENOTFOUND, "unknown time zone",
            "Nowhere/City");
    refused("* * * * *", "../../etc/passwd", CHORE_EINVAL, "zone:", "invalid zone name");
    refused("* * * * *", "/etc/localtime", CHORE_EINVAL, "zone:", "invalid zone name");
    refused("CRON_TZ= * * * * *", NULL, CHORE_EINVAL, "CRON_TZ:", "empty zone");
    /* the field is still named when the zone is fine */
    refused("CRON_TZ=Europe/London 61 * * * *", NULL, CHORE_EINVAL, "minute:", "61");
    /* bad arguments */
    char err[64];
    assert_int_equal(chore_cron_parse(NULL, "* * * * *", NULL, err, sizeof err), CHORE_EINVAL);
    chore_cron *c;
    assert_int_equal(chore_cron_parse(&c, NULL, NULL, NULL, 0), CHORE_EINVAL);
    /* a tiny err buffer is cut, not overrun */
    char small[8];
    assert_int_equal(chore_cron_parse(&c, "61 * * * *", NULL, small, sizeof small), CHORE_EINVAL);
    assert_int_equal(strlen(small), 7);
    /* control characters do not reach the message */
    assert_int_equal(chore_cron_parse(&c, "5\x01 * * * *", NULL, err, sizeof err), CHORE_EINVAL);
    for (const char *p = err; *p; p++)
        assert_true((unsigned char)*p >= 0x20);
}

/* next() for every single value of every field, against a direct walk. */
static void each_value_of_each_field(void **state)
{
    (void)state;
    const int64_t from = utc(2025, 1, 1, 0, 0, 0) + 500; /* Wednesday */
    char expr[64];
    for (int v = 0; v < 60; v++) {
        snprintf(expr, sizeof expr, "%d * * * *", v);
        int64_t want = utc(2025, 1, 1, 0, v, 0);
        if (v == 0)
            want = utc(2025, 1, 1, 1, 0, 0);
        assert_int_equal(next_of(expr, NULL, from), want);
        snprintf(expr, sizeof expr, "%d * * * * *", v);
        assert_int_equal(next_of(expr, NULL, from), v == 0 ? utc(2025, 1, 1, 0, 1, 0)
                                                              : utc(2025, 1, 1, 0, 0, v));
    }
    for (int v = 0; v < 24; v++) {
        snprintf(expr, sizeof expr, "0 %d * * *", v);
        assert_int_equal(next_of(expr, NULL, from),
                         v == 0 ? utc(2025, 1, 2, 0, 0, 0) : utc(2025, 1, 1, v, 0, 0));
    }
    for (int v = 1; v <= 31; v++) {
        snprintf(expr, sizeof expr, "0 0 %d * *", v);
        assert_int_equal(next_of(expr, NULL, from),
                         v == 1 ? utc(2025, 2, 1, 0, 0, 0) : utc(2025, 1, v, 0, 0, 0));
        /* from the end of February: months without that day are skipped */
        int64_t got = next_of(expr, NULL, utc(2025, 2, 28, 12, 0, 0));
        int64_t want = v <= 28 ? utc(2025, 3, v, 0, 0, 0)
                               : (v <= 31 ? utc(2025, 3, v, 0, 0, 0) : 0);
        assert_int_equal(got, want);
        got = next_of(expr, NULL, utc(2025, 4, 1, 0, 0, 0));
        want = v == 31 ? utc(2025, 5, 31, 0, 0, 0) : utc(2025, 4, v, 0, 0, 0);
        if (v == 1)
            want = utc(2025, 5, 1, 0, 0, 0);
        assert_int_equal(got, want);
    }
    for (int v = 1; v <= 12; v++) {
        snprintf(expr, sizeof expr, "0 0 1 %d *", v);
        assert_int_equal(next_of(expr, NULL, from),
                         v == 1 ? utc(2026, 1, 1, 0, 0, 0) : utc(2025, v, 1, 0, 0, 0));
    }
    for (int v = 0; v <= 7; v++) { /* 2025-01-01 is a Wednesday (3) */
        snprintf(expr, sizeof expr, "0 0 * * %d", v);
        int w = v % 7, ahead = (w - 3 + 7) % 7;
        if (ahead == 0)
            ahead = 7;
        assert_int_equal(next_of(expr, NULL, from), utc(2025, 1, 1 + ahead, 0, 0, 0));
    }
}

/* Every minute of a day for every step, against a plain modulo check. */
static void steps_over_a_whole_day(void **state)
{
    (void)state;
    for (int step = 1; step <= 60; step++) {
        char expr[32];
        snprintf(expr, sizeof expr, "*/%d */%d * * *", step, step <= 24 ? step : 24);
        chore_cron *c = parse_ok(expr, NULL);
        int64_t t = utc(2025, 6, 1, 0, 0, 0) - 1;
        int64_t want_t = utc(2025, 6, 1, 0, 0, 0);
        for (int i = 0; i < 200; i++) {
            while (!((want_t / 60000) % 60 % step == 0 &&
                     (want_t / 3600000) % 24 % (step <= 24 ? step : 24) == 0))
                want_t += 60000;
            int64_t got;
            assert_int_equal(chore_cron_next(c, t, &got), CHORE_OK);
            assert_int_equal(got, want_t);
            t = got;
            want_t += 60000;
        }
        chore_cron_free(c);
    }
}

static void strictly_after_and_rounding(void **state)
{
    (void)state;
    int64_t t = utc(2025, 1, 1, 0, 0, 0);
    assert_int_equal(next_of("*/5 * * * *", NULL, t), t + 300000);
    assert_int_equal(next_of("*/5 * * * *", NULL, t - 1), t);
    assert_int_equal(next_of("*/5 * * * *", NULL, t + 299999), t + 300000);
    assert_int_equal(next_of("* * * * * *", NULL, t), t + 1000);
    assert_int_equal(next_of("* * * * * *", NULL, t + 1), t + 1000);
    /* before 1970: floor, not truncation */
    assert_int_equal(next_of("* * * * * *", NULL, -1500), -1000);
    assert_int_equal(next_of("0 0 * * *", NULL, utc(1969, 12, 31, 12, 0, 0)), 0);
    assert_int_equal(next_of("0 0 1 1 *", NULL, utc(1600, 6, 1, 0, 0, 0)),
                     utc(1601, 1, 1, 0, 0, 0));
}

static void vixie_day_rule(void **state)
{
    (void)state;
    /* both restricted: either matches (1st or 15th, or any Friday) */
    chore_cron *c = parse_ok("0 0 1,15 * FRI", NULL);
    int64_t t = utc(2025, 1, 1, 0, 0, 0); /* Wednesday the 1st */
    static const int days[] = {3, 10, 15, 17, 24, 31};
    for (size_t i = 0; i < sizeof days / sizeof days[0]; i++) {
        assert_int_equal(chore_cron_next(c, t, &t), CHORE_OK);
        assert_int_equal(t, utc(2025, 1, days[i], 0, 0, 0));
    }
    assert_int_equal(chore_cron_next(c, t, &t), CHORE_OK);
    assert_int_equal(t, utc(2025, 2, 1, 0, 0, 0));
    chore_cron_free(c);
    /* day-of-month starts with '*': both must match (odd days that are Fridays) */
    c = parse_ok("0 0 */2 * FRI", NULL);
    t = utc(2025, 1, 1, 0, 0, 0);
    static const int odd_fridays[] = {3, 17, 31};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(chore_cron_next(c, t, &t), CHORE_OK);
        assert_int_equal(t, utc(2025, 1, odd_fridays[i], 0, 0, 0));
    }
    chore_cron_free(c);
    /* day-of-week starts with '*': both must match (the 13th, if a Sunday) */
    c = parse_ok("0 0 13 * */7", NULL);
    assert_int_equal(chore_cron_next(c, utc(2025, 1, 1, 0, 0, 0), &t), CHORE_OK);
    assert_int_equal(t, utc(2025, 4, 13, 0, 0, 0));
    chore_cron_free(c);
    /* one restricted: that one decides */
    assert_int_equal(next_of("0 0 * * MON", NULL, utc(2025, 1, 1, 0, 0, 0)),
                     utc(2025, 1, 6, 0, 0, 0));
    assert_int_equal(next_of("0 0 13 * *", NULL, utc(2025, 1, 14, 0, 0, 0)),
                     utc(2025, 2, 13, 0, 0, 0));
}

static void leap_days_and_rare_dates(void **state)
{
    (void)state;
    assert_int_equal(next_of("0 0 29 2 *", NULL, utc(2025, 1, 1, 0, 0, 0)),
                     utc(2028, 2, 29, 0, 0, 0));
    assert_int_equal(next_of("0 0 29 2 *", NULL, utc(2096, 3, 1, 0, 0, 0)),
                     utc(2104, 2, 29, 0, 0, 0)); /* 2100 is not a leap year */
    assert_int_equal(next_of("0 0 29 2 *", NULL, utc(1896, 3, 1, 0, 0, 0)),
                     utc(1904, 2, 29, 0, 0, 0));
    /* 29 February on a Monday. By Vixie's rule "0 0 29 2 MON" means the
     * 29th OR a Monday (both fields restricted); the AND reading needs one
     * field to start with '*': day-of-month "*" "/28" is {1, 29}. */
    chore_cron *c = parse_ok("0 0 */28 2 MON", NULL);
    int64_t t = utc(2025, 1, 1, 0, 0, 0);
    for (;;) {
        assert_int_equal(chore_cron_next(c, t, &t), CHORE_OK);
        int64_t y;
        int m, d;
        civil_from_days(t / 86400000, &y, &m, &d);
        assert_int_equal(m, 2);
        assert_int_equal(civil_weekday(t / 86400000), 1);
        assert_true(d == 1 || d == 29);
        if (d == 29)
            break;
    }
    assert_int_equal(t, utc(2044, 2, 29, 0, 0, 0));
    chore_cron_free(c);
    /* the same search on the AND form directly */
    c = parse_ok("0 0 29 2 MON", NULL);
    c->dom_star = true;
    assert_int_equal(chore_cron_next(c, utc(2025, 1, 1, 0, 0, 0), &t), CHORE_OK);
    assert_int_equal(t, utc(2044, 2, 29, 0, 0, 0));
    assert_int_equal(chore_cron_next(c, t, &t), CHORE_OK);
    assert_int_equal(t, utc(2072, 2, 29, 0, 0, 0));
    chore_cron_free(c);
    /* the Vixie reading: Mondays in February, and the 29th */
    assert_int_equal(next_of("0 0 29 2 MON", NULL, utc(2025, 1, 1, 0, 0, 0)),
                     utc(2025, 2, 3, 0, 0, 0));
    /* month ends */
    assert_int_equal(next_of("0 0 31 * *", NULL, utc(2025, 1, 31, 0, 0, 0)),
                     utc(2025, 3, 31, 0, 0, 0));
    assert_int_equal(next_of("59 23 31 12 *", NULL, utc(2025, 12, 31, 23, 59, 0)),
                     utc(2026, 12, 31, 23, 59, 0));
    assert_int_equal(next_of("59 59 23 31 12 *", NULL, utc(9998, 6, 1, 0, 0, 0)),
                     utc(9998, 12, 31, 23, 59, 59));
}

static void never_is_reported_quickly(void **state)
{
    (void)state;
    static const char *const never[] = {
        "0 0 30 2 *", "0 0 31 2,4,6,9,11 *", "* * 30,31 2 *", "0 0 31 4 *",
        "0 0 */30 2 */7" /* 1 and 31 Feb, and a Sunday: the 1st can be */,
    };
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (size_t i = 0; i < 4; i++) {
        chore_cron *c = parse_ok(never[i], "America/New_York");
        int64_t n = 42;
        for (int k = 0; k < 100; k++)
            assert_int_equal(chore_cron_next(c, utc(2025, 1, 1, 0, 0, 0), &n), CHORE_ENOTFOUND);
        assert_int_equal(n, 42);
        chore_cron_free(c);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    double ms = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
    assert_true(ms < 2000);
    assert_int_not_equal(next_of(never[4], NULL, utc(2025, 1, 1, 0, 0, 0)), CHORE_ENOTFOUND);
    /* past the year 9999 */
    assert_int_equal(next_of("0 0 1 1 *", NULL, utc(9999, 6, 1, 0, 0, 0)), CHORE_ENOTFOUND);
    assert_int_equal(next_of("0 0 1 1 *", NULL, utc(9998, 6, 1, 0, 0, 0)),
                     utc(9999, 1, 1, 0, 0, 0));
    /* bad arguments */
    chore_cron *c = parse_ok("* * * * *", NULL);
    int64_t n;
    assert_int_equal(chore_cron_next(NULL, 0, &n), CHORE_EINVAL);
    assert_int_equal(chore_cron_next(c, 0, NULL), CHORE_EINVAL);
    assert_int_equal(chore_cron_next(c, INT64_MAX, &n), CHORE_EINVAL);
    assert_int_equal(chore_cron_next(c, INT64_MIN, &n), CHORE_EINVAL);
    chore_cron_free(c);
    chore_cron_free(NULL);
}

static void every_is_anchored_at_the_epoch(void **state)
{
    (void)state;
    chore_cron *c = parse_ok("@every 90s", "America/New_York");
    int64_t n;
    assert_int_equal(chore_cron_next(c, 0, &n), CHORE_OK);
    assert_int_equal(n, 90000);
    assert_int_equal(chore_cron_next(c, 89999, &n), CHORE_OK);
    assert_int_equal(n, 90000);
    assert_int_equal(chore_cron_next(c, 90000, &n), CHORE_OK);
    assert_int_equal(n, 180000);
    assert_int_equal(chore_cron_next(c, -1, &n), CHORE_OK);
    assert_int_equal(n, 0);
    assert_int_equal(chore_cron_next(c, -90001, &n), CHORE_OK);
    assert_int_equal(n, -90000);
    chore_cron_free(c);
    c = parse_ok("@every 1h30m", NULL);
    int64_t t = utc(2025, 3, 9, 0, 0, 0);
    for (int i = 0; i < 100; i++) {
        int64_t prev = t;
        assert_int_equal(chore_cron_next(c, t, &t), CHORE_OK);
        assert_int_equal(t % 5400000, 0);
        assert_true(t > prev && t - prev <= 5400000);
    }
    chore_cron_free(c);
    static const struct {
        const char *d;
        int64_t ms;
    } durations[] = {{"1s", 1000},     {"2d", 172800000}, {"1d2h3m4s5000ms", 93789000},
                     {"1000ms", 1000}, {"45m", 2700000},  {"36600d", 3162240000000LL}};
    for (size_t i = 0; i < sizeof durations / sizeof durations[0]; i++) {
        char expr[64];
        snprintf(expr, sizeof expr, "@every %s", durations[i].d);
        c = parse_ok(expr, NULL);
        assert_int_equal(c->every_ms, durations[i].ms);
        chore_cron_free(c);
    }
}

static void explain_reads_well(void **state)
{
    (void)state;
    static const struct {
        const char *expr, *zone, *text;
    } cases[] = {
        {"30 2 * * *", "America/New_York", "at 02:30 every day, America/New_York"},
        {"0 9 * * MON-FRI", NULL, "at 09:00 on Mon-Fri, UTC"},
        {"*/5 * * * *", NULL, "every 5 minutes every day, UTC"},
        {"* * * * *", NULL, "every minute every day, UTC"},
        {"15 30 2 * * *", NULL, "at 02:30:15 every day, UTC"},
        {"0 9-17 * * *", NULL, "at minute 0, hours 9-17 every day, UTC"},
        {"0 0 1,15 * FRI", NULL, "at 00:00 on day-of-month 1,15 or on Fri, UTC"},
        {"0 0 */2 * FRI", NULL,
         "at 00:00 on day-of-month 1,3,5,7,9,11,13,15,17,19,21,23,25,27,29,31 if a Fri, UTC"},
        {"0 12 1 JAN,JUL *", NULL, "at 12:00 on day-of-month 1 in Jan,Jul, UTC"},
        {"*/10 * * * * *", NULL, "every 10 seconds every day, UTC"},
        {"@every 1h30m", NULL, "every 1h30m (at multiples of it since 1970-01-01T00:00:00Z)"},
        {"@hourly", NULL, "at minute 0 every day, UTC"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        chore_cron *c = parse_ok(cases[i].expr, cases[i].zone);
        char buf[CHORE_CRON_EXPLAIN_MAX];
        assert_int_equal(chore_cron_explain(c, buf, sizeof buf), CHORE_OK);
        assert_string_equal(buf, cases[i].text);
        char small[10];
        assert_int_equal(chore_cron_explain(c, small, sizeof small), CHORE_EINVAL);
        assert_int_equal(strlen(small), 9);
        chore_cron_free(c);
    }
    /* the longest readings fit in CHORE_CRON_EXPLAIN_MAX */
    chore_cron *c = parse_ok("0,2,4,6,8,10,12,14,16,18,20,22,24,26,28,30,32,34,36,38,40,42,44,"
                             "46,48,50,52,54,56,58 1,3,5,7,9,11,13,15,17,19,21,23,25,27,29,31,33,"
                             "35,37,39,41,43,45,47,49,51,53,55,57,59 0,2,4,6,8,10,12,14,16,18,20,"
                             "22 1,3,5,7,9,11,13,15,17,19,21,23,25,27,29,31 1,3,5,7,9,11 0,2,4,6",
                             "America/Argentina/ComodRivadavia");
    char buf[CHORE_CRON_EXPLAIN_MAX];
    assert_int_equal(chore_cron_explain(c, buf, sizeof buf), CHORE_OK);
    assert_true(strlen(buf) < 700);
    chore_cron_free(c);
    assert_int_equal(chore_cron_explain(NULL, buf, sizeof buf), CHORE_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(masks_of_every_form),
        cmocka_unit_test(descriptors_and_zone_prefix),
        cmocka_unit_test(every_error_names_field_and_problem),
        cmocka_unit_test(each_value_of_each_field),
        cmocka_unit_test(steps_over_a_whole_day),
        cmocka_unit_test(strictly_after_and_rounding),
        cmocka_unit_test(vixie_day_rule),
        cmocka_unit_test(leap_days_and_rare_dates),
        cmocka_unit_test(never_is_reported_quickly),
        cmocka_unit_test(every_is_anchored_at_the_epoch),
        cmocka_unit_test(explain_reads_well),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
