/*
 * test_cron_dst.c — daylight saving time: the exact rule of docs/CRON.md
 * in America/New_York, Europe/London, Australia/Lord_Howe (a 30-minute
 * shift) and Pacific/Chatham, and a brute-force cross-check of next()
 * against a slow reference that steps through time one minute (or one
 * second) at a time, for random expressions in several zones, over days
 * with and without a change of offset.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "chore.h"
#include "pure/cron.h"

static int64_t utc(int64_t y, int m, int d, int h, int mi, int s)
{
    return (civil_days(y, m, d) * 86400 + h * 3600 + mi * 60 + s) * 1000;
}

static chore_cron *parse_ok(const char *expr, const char *zone)
{
    chore_cron *c = NULL;
    char err[256] = "";
    if (chore_cron_parse(&c, expr, zone, err, sizeof err) != CHORE_OK)
        fail_msg("'%s' refused: %s", expr, err);
    return c;
}

/* The fires of expr in zone strictly after `after`, in order: want[] (UTC). */
static void expect_fires(const char *expr, const char *zone, int64_t after, const int64_t *want,
                         size_t n)
{
    chore_cron *c = parse_ok(expr, zone);
    int64_t t = after;
    for (size_t i = 0; i < n; i++) {
        int64_t got;
        assert_int_equal(chore_cron_next(c, t, &got), CHORE_OK);
        if (got != want[i])
            fail_msg("%s in %s, fire %zu: got %lld, want %lld", expr, zone, i, (long long)got,
                     (long long)want[i]);
        t = got;
    }
    chore_cron_free(c);
}

#define FIRES(expr, zone, after, ...)                                                          \
    do {                                                                                       \
        const int64_t want_[] = {__VA_ARGS__};                                                 \
        expect_fires(expr, zone, after, want_, sizeof want_ / sizeof want_[0]);                \
    } while (0)

static const char NY[] = "America/New_York";

/* 2025-03-09: 02:00 EST (07:00Z) jumps to 03:00 EDT. */
static void new_york_spring_forward(void **state)
{
    (void)state;
    int64_t from = utc(2025, 3, 8, 12, 0, 0);
    /* wall-clock in the gap: once, at the first instant after it */
    FIRES("30 2 * * *", NY, from, utc(2025, 3, 9, 7, 0, 0), utc(2025, 3, 10, 6, 30, 0));
    FIRES("0,15,30,45 2 * * *", NY, from, utc(2025, 3, 9, 7, 0, 0), utc(2025, 3, 10, 6, 0, 0));
    /* 02:00 (in the gap) and 03:00 both land on 07:00Z: one fire */
    FIRES("0 2,3 * * *", NY, from, utc(2025, 3, 9, 7, 0, 0), utc(2025, 3, 10, 6, 0, 0),
          utc(2025, 3, 10, 7, 0, 0));
    FIRES("0 30 2 * * *", NY, from, utc(2025, 3, 9, 7, 0, 0), utc(2025, 3, 10, 6, 30, 0));
    FIRES("*/20 30 2 * * *", NY, from, utc(2025, 3, 9, 7, 0, 0), utc(2025, 3, 10, 6, 30, 0));
    /* asked from just before and exactly at the gap */
    FIRES("30 2 * * *", NY, utc(2025, 3, 9, 7, 0, 0) - 1, utc(2025, 3, 9, 7, 0, 0));
    FIRES("30 2 * * *", NY, utc(2025, 3, 9, 7, 0, 0), utc(2025, 3, 10, 6, 30, 0));
    FIRES("30 2 * * *", NY, utc(2025, 3, 9, 6, 59, 59), utc(2025, 3, 9, 7, 0, 0));
    /* not wall-clock: nothing for local times that do not exist */
    FIRES("*/30 2 * * *", NY, from, utc(2025, 3, 10, 6, 0, 0));
    FIRES("* 2 * * *", NY, from, utc(2025, 3, 10, 6, 0, 0));
    FIRES("30 * * * *", NY, utc(2025, 3, 9, 6, 0, 0), utc(2025, 3, 9, 6, 30, 0),
          utc(2025, 3, 9, 7, 30, 0), utc(2025, 3, 9, 8, 30, 0));
    /* every real hour still fires */
    FIRES("0 * * * *", NY, utc(2025, 3, 9, 5, 30, 0), utc(2025, 3, 9, 6, 0, 0),
          utc(2025, 3, 9, 7, 0, 0), utc(2025, 3, 9, 8, 0, 0));
    /* outside the gap nothing changes */
    FIRES("30 1 * * *", NY, from, utc(2025, 3, 9, 6, 30, 0), utc(2025, 3, 10, 5, 30, 0));
    FIRES("0 3 * * *", NY, from, utc(2025, 3, 9, 7, 0, 0), utc(2025, 3, 10, 7, 0, 0));
}

/* 2025-11-02: 02:00 EDT (06:00Z) falls back to 01:00 EST; 01:00-01:59 twice. */
static void new_york_fall_back(void **state)
{
    (void)state;
    int64_t from = utc(2025, 11, 1, 12, 0, 0);
    /* wall-clock: the first occurrence only */
    FIRES("30 1 * * *", NY, from, utc(2025, 11, 2, 5, 30, 0), utc(2025, 11, 3, 6, 30, 0));
    /* even when asked from between the two occurrences */
    FIRES("30 1 * * *", NY, utc(2025, 11, 2, 5, 45, 0), utc(2025, 11, 3, 6, 30, 0));
    FIRES("30 1 * * *", NY, utc(2025, 11, 2, 6, 15, 0), utc(2025, 11, 3, 6, 30, 0));
    FIRES("30 1 * * *", NY, utc(2025, 11, 2, 6, 30, 0) - 1, utc(2025, 11, 3, 6, 30, 0));
    FIRES("0 1 * * *", NY, from, utc(2025, 11, 2, 5, 0, 0), utc(2025, 11, 3, 6, 0, 0));
    FIRES("0 1 * * *", NY, utc(2025, 11, 2, 6, 0, 0) - 1, utc(2025, 11, 3, 6, 0, 0));
    FIRES("0,59 1 * * *", NY, from, utc(2025, 11, 2, 5, 0, 0), utc(2025, 11, 2, 5, 59, 0),
          utc(2025, 11, 3, 6, 0, 0));
    FIRES("0 2 * * *", NY, from, utc(2025, 11, 2, 7, 0, 0), utc(2025, 11, 3, 7, 0, 0));
    FIRES("59 59 0 * * *", NY, from, utc(2025, 11, 2, 4, 59, 59), utc(2025, 11, 3, 5, 59, 59));
    /* not wall-clock: both occurrences */
    FIRES("*/15 1 * * *", NY, from, utc(2025, 11, 2, 5, 0, 0), utc(2025, 11, 2, 5, 15, 0),
          utc(2025, 11, 2, 5, 30, 0), utc(2025, 11, 2, 5, 45, 0), utc(2025, 11, 2, 6, 0, 0),
          utc(2025, 11, 2, 6, 15, 0), utc(2025, 11, 2, 6, 30, 0), utc(2025, 11, 2, 6, 45, 0),
          utc(2025, 11, 3, 6, 0, 0));
    FIRES("30 * * * *", NY, utc(2025, 11, 2, 5, 0, 0), utc(2025, 11, 2, 5, 30, 0),
          utc(2025, 11, 2, 6, 30, 0), utc(2025, 11, 2, 7, 30, 0));
    FIRES("0 * * * *", NY, utc(2025, 11, 2, 4, 30, 0), utc(2025, 11, 2, 5, 0, 0),
          utc(2025, 11, 2, 6, 0, 0), utc(2025, 11, 2, 7, 0, 0));
    FIRES("* 1 * * *", NY, utc(2025, 11, 2, 5, 59, 0), utc(2025, 11, 2, 6, 0, 0),
          utc(2025, 11, 2, 6, 1, 0));
}

/* London: 2025-03-30 01:00 GMT -> 02:00 BST (01:00Z); 2025-10-26 02:00 BST -> 01:00 GMT (01:00Z). */
static void london(void **state)
{
    (void)state;
    const char *L = "Europe/London";
    FIRES("30 1 * * *", L, utc(2025, 3, 29, 12, 0, 0), utc(2025, 3, 30, 1, 0, 0),
          utc(2025, 3, 31, 0, 30, 0));
    FIRES("*/20 1 * * *", L, utc(2025, 3, 29, 12, 0, 0), utc(2025, 3, 31, 0, 0, 0));
    FIRES("30 1 * * *", L, utc(2025, 10, 25, 12, 0, 0), utc(2025, 10, 26, 0, 30, 0),
          utc(2025, 10, 27, 1, 30, 0));
    FIRES("30 1 * * *", L, utc(2025, 10, 26, 1, 0, 0), utc(2025, 10, 27, 1, 30, 0));
    FIRES("*/20 1 * * *", L, utc(2025, 10, 25, 12, 0, 0), utc(2025, 10, 26, 0, 0, 0),
          utc(2025, 10, 26, 0, 20, 0), utc(2025, 10, 26, 0, 40, 0), utc(2025, 10, 26, 1, 0, 0),
          utc(2025, 10, 26, 1, 20, 0), utc(2025, 10, 26, 1, 40, 0), utc(2025, 10, 27, 1, 0, 0));
    FIRES("0 9 * * MON-FRI", L, utc(2025, 3, 28, 12, 0, 0), utc(2025, 3, 31, 8, 0, 0));
}

/* Lord Howe: +10:30 standard, +11:00 daylight. 2025-04-06 02:00 LHDT
 * (04-05T15:00Z) falls back to 01:30; 2025-10-05 02:00 LHST (10-04T15:30Z)
 * springs to 02:30. */
static void lord_howe_half_hour(void **state)
{
    (void)state;
    const char *LH = "Australia/Lord_Howe";
    FIRES("45 1 * * *", LH, utc(2025, 4, 5, 0, 0, 0), utc(2025, 4, 5, 14, 45, 0),
          utc(2025, 4, 6, 15, 15, 0));
    FIRES("45 1 * * *", LH, utc(2025, 4, 5, 14, 50, 0), utc(2025, 4, 6, 15, 15, 0));
    FIRES("15 1 * * *", LH, utc(2025, 4, 5, 0, 0, 0), utc(2025, 4, 5, 14, 15, 0),
          utc(2025, 4, 6, 14, 45, 0));
    FIRES("*/15 1 * * *", LH, utc(2025, 4, 5, 0, 0, 0), utc(2025, 4, 5, 14, 0, 0),
          utc(2025, 4, 5, 14, 15, 0), utc(2025, 4, 5, 14, 30, 0), utc(2025, 4, 5, 14, 45, 0),
          utc(2025, 4, 5, 15, 0, 0), utc(2025, 4, 5, 15, 15, 0), utc(2025, 4, 6, 14, 30, 0));
    FIRES("15 2 * * *", LH, utc(2025, 10, 4, 0, 0, 0), utc(2025, 10, 4, 15, 30, 0),
          utc(2025, 10, 5, 15, 15, 0));
    FIRES("0,29 2 * * *", LH, utc(2025, 10, 4, 0, 0, 0), utc(2025, 10, 4, 15, 30, 0),
          utc(2025, 10, 5, 15, 0, 0));
    FIRES("30 2 * * *", LH, utc(2025, 10, 4, 0, 0, 0), utc(2025, 10, 4, 15, 30, 0),
          utc(2025, 10, 5, 15, 30, 0));
    FIRES("*/10 2 * * *", LH, utc(2025, 10, 4, 0, 0, 0), utc(2025, 10, 4, 15, 30, 0),
          utc(2025, 10, 4, 15, 40, 0), utc(2025, 10, 4, 15, 50, 0), utc(2025, 10, 5, 15, 0, 0));
}

/* Chatham: +12:45 / +13:45. 2025-04-06 03:45 CHADT -> 02:45 CHAST
 * (04-05T14:00Z); 2025-09-28 02:45 CHAST -> 03:45 CHADT (09-27T14:00Z). */
static void chatham(void **state)
{
    (void)state;
    const char *CH = "Pacific/Chatham";
    FIRES("0 3 * * *", CH, utc(2025, 4, 5, 0, 0, 0), utc(2025, 4, 5, 13, 15, 0),
          utc(2025, 4, 6, 14, 15, 0));
    FIRES("0 3 * * *", CH, utc(2025, 9, 27, 0, 0, 0), utc(2025, 9, 27, 14, 0, 0),
          utc(2025, 9, 28, 13, 15, 0));
    FIRES("0 * * * *", CH, utc(2025, 9, 27, 13, 0, 0), utc(2025, 9, 27, 13, 15, 0),
          utc(2025, 9, 27, 14, 15, 0));
}

/* Far from today: the footer's POSIX rule governs after the tables end. */
static void rule_years(void **state)
{
    (void)state;
    /* 2090-03-12: second Sunday of March */
    FIRES("30 2 * * *", NY, utc(2090, 3, 11, 12, 0, 0), utc(2090, 3, 12, 7, 0, 0),
          utc(2090, 3, 13, 6, 30, 0));
    /* 2090-11-05: first Sunday of November */
    FIRES("30 1 * * *", NY, utc(2090, 11, 5, 5, 45, 0), utc(2090, 11, 6, 6, 30, 0));
    FIRES("15 2 * * *", "Australia/Lord_Howe", utc(2090, 9, 30, 0, 0, 0),
          utc(2090, 9, 30, 15, 30, 0));
}

/* ---------------------------------------------------------------- brute force */

static bool matches(const chore_cron *c, int64_t local)
{
    int64_t days = local / 86400 - (local % 86400 < 0), y;
    int sod = (int)(local - days * 86400), m, d;
    civil_from_days(days, &y, &m, &d);
    int w = civil_weekday(days);
    bool dom = c->dom >> d & 1, dow = c->dow >> w & 1;
    bool day = (c->dom_star || c->dow_star) ? (dom && dow) : (dom || dow);
    return day && (c->mon >> m & 1) && (c->hour >> (sod / 3600) & 1) &&
           (c->min >> (sod / 60 % 60) & 1) && (c->sec >> (sod % 60) & 1);
}

/* The fires in [w0, w1) (seconds) by the rule's definition, stepping by
 * `step` seconds: a wall-clock schedule fires at the first instant whose
 * local time matches and has not been seen before, and at the first
 * instant after a jump forward that skipped a matching local time; any
 * other schedule fires whenever the local time matches. */
static size_t reference(const chore_cron *c, int64_t w0, int64_t w1, int step, int64_t *out,
                        size_t max)
{
    size_t n = 0;
    int64_t warm = w0 - 2 * 86400;
    int64_t high = warm - step + tz_offset(c->zone, warm - step);
    for (int64_t t = warm; t < w1; t += step) {
        int64_t local = t + tz_offset(c->zone, t);
        bool fire;
        if (c->wall_clock) {
            fire = false;
            for (int64_t g = high + step; g < local; g += step)
                fire = fire || matches(c, g);
            if (local > high) {
                fire = fire || matches(c, local);
                high = local;
            }
        } else {
            fire = matches(c, local);
        }
        if (fire && t >= w0) {
            assert_true(n < max);
            out[n++] = t;
        }
    }
    return n;
}

static uint64_t rng = 0x243f6a8885a308d3ULL;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* A random field for values lo..hi, biased to small values (the hours of
 * the changes) and to every syntax form. */
static void random_field(char *buf, size_t len, int lo, int hi, int bias_hi)
{
    int kind = (int)(rnd() % 10);
    int span = hi - lo + 1;
    int a = lo + (int)(rnd() % (uint64_t)(bias_hi > 0 && rnd() % 2 ? bias_hi - lo + 1 : span));
    int b = a + (int)(rnd() % (uint64_t)(hi - a + 1));
    int step = 1 + (int)(rnd() % (uint64_t)(span < 8 ? span : span / 3));
    switch (kind) {
    case 0:
    case 1:
        snprintf(buf, len, "*");
        break;
    case 2:
        snprintf(buf, len, "*/%d", step);
        break;
    case 3:
    case 4:
        snprintf(buf, len, "%d", a);
        break;
    case 5:
        snprintf(buf, len, "%d-%d", a, b);
        break;
    case 6:
        snprintf(buf, len, "%d-%d/%d", a, b, step);
        break;
    case 7:
        snprintf(buf, len, "%d/%d", a, step);
        break;
    default: {
        int c = lo + (int)(rnd() % (uint64_t)span);
        snprintf(buf, len, "%d,%d", a < c ? a : c, a < c ? c : a + (a == c ? 0 : 0));
        if (a == c)
            snprintf(buf, len, "%d", a);
        break;
    }
    }
}

static void cross_check(const char *expr, const char *zone, int64_t w0, int64_t w1, int step)
{
    static int64_t want[200000];
    chore_cron *c = parse_ok(expr, zone);
    size_t n = reference(c, w0, w1, step, want, sizeof want / sizeof want[0]);
    /* the chain of next() from the window's start */
    int64_t t = w0 * 1000 - 1;
    for (size_t i = 0;; i++) {
        int64_t got;
        int rc = chore_cron_next(c, t, &got);
        if (i == n) {
            if (rc == CHORE_OK && got < w1 * 1000)
                fail_msg("%s in %s: extra fire %lld", expr, zone, (long long)got);
            break;
        }
        assert_int_equal(rc, CHORE_OK);
        if (got != want[i] * 1000)
            fail_msg("%s in %s: fire %zu is %lld, reference %lld", expr, zone, i,
                     (long long)got, (long long)want[i] * 1000);
        t = got;
    }
    /* from random points inside the window */
    for (int k = 0; k < 50; k++) {
        int64_t at = w0 * 1000 + (int64_t)(rnd() % (uint64_t)((w1 - w0) * 1000));
        size_t lo = 0, hi = n;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (want[mid] * 1000 <= at)
                lo = mid + 1;
            else
                hi = mid;
        }
        int64_t got;
        int rc = chore_cron_next(c, at, &got);
        if (lo < n) {
            assert_int_equal(rc, CHORE_OK);
            if (got != want[lo] * 1000)
                fail_msg("%s in %s after %lld: %lld, reference %lld", expr, zone,
                         (long long)at, (long long)got, (long long)want[lo] * 1000);
        } else if (rc == CHORE_OK) {
            assert_true(got >= w1 * 1000);
        }
    }
    chore_cron_free(c);
}

static void brute_force_cross_check(void **state)
{
    (void)state;
    static const struct {
        const char *zone;
        int64_t day; /* a day of change (UTC midnight, seconds) */
    } windows[] = {
        {"America/New_York", 1741478400},    /* 2025-03-09 */
        {"America/New_York", 1762041600},    /* 2025-11-02 */
        {"Europe/London", 1743292800},       /* 2025-03-30 */
        {"Europe/London", 1761436800},       /* 2025-10-26 */
        {"Australia/Lord_Howe", 1743811200}, /* 2025-04-05 */
        {"Australia/Lord_Howe", 1759536000}, /* 2025-10-04 */
        {"Pacific/Chatham", 1743811200},     /* 2025-04-05 */
        {"Pacific/Chatham", 1758931200},     /* 2025-09-27 */
        {"America/New_York", 3792960000},    /* 2090-03-12: the POSIX rule's years */
        {"UTC", 1735689600},                 /* 2025-01-01 */
        {"Asia/Kolkata", 1740787200},        /* 2025-03-01 */
    };
    int checked = 0;
    for (int round = 0; round < 250; round++) {
        char f[6][48], expr[300];
        random_field(f[0], sizeof f[0], 0, 59, 0);
        random_field(f[1], sizeof f[1], 0, 59, 0);
        random_field(f[2], sizeof f[2], 0, 23, 3);
        random_field(f[3], sizeof f[3], 1, 31, 0);
        snprintf(f[4], sizeof f[4], "*");
        random_field(f[5], sizeof f[5], 0, 7, 0);
        bool seconds = round % 8 == 0;
        if (seconds)
            snprintf(expr, sizeof expr, "%s %s %s %s %s %s", f[0], f[1], f[2], f[3], f[4], f[5]);
        else
            snprintf(expr, sizeof expr, "%s %s %s %s %s", f[1], f[2], f[3], f[4], f[5]);
        for (size_t w = 0; w < sizeof windows / sizeof windows[0]; w++) {
            int64_t d = windows[w].day;
            if (seconds)
                cross_check(expr, windows[w].zone, d - 3 * 3600, d + 24 * 3600, 1);
            else
                cross_check(expr, windows[w].zone, d - 2 * 86400, d + 3 * 86400, 60);
            checked++;
        }
    }
    /* fixed expressions that stress the rule */
    static const char *const fixed[] = {"30 2 * * *", "0 1 * * *", "*/7 1-3 * * *",
                                        "0,30 0-3 * * *", "59 1 * * *", "15 * * * *",
                                        "0 0 * * *", "45 2 1-31/2 * MON"};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        for (size_t w = 0; w < sizeof windows / sizeof windows[0]; w++) {
            int64_t d = windows[w].day;
            cross_check(fixed[i], windows[w].zone, d - 2 * 86400, d + 3 * 86400, 60);
        }
    }
    assert_true(checked >= 2500);
}

/* 30 years of a daily wall-clock schedule in each zone: one fire per local day. */
static void one_fire_per_day_for_decades(void **state)
{
    (void)state;
    static const char *const zones[] = {"America/New_York", "Europe/London",
                                        "Australia/Lord_Howe", "Pacific/Chatham"};
    static const char *const exprs[] = {"30 2 * * *", "30 1 * * *", "15 2 * * *", "0 3 * * *"};
    for (size_t z = 0; z < 4; z++) {
        for (size_t e = 0; e < 4; e++) {
            chore_cron *c = parse_ok(exprs[e], zones[z]);
            int64_t t = utc(2020, 1, 1, 0, 0, 0);
            int64_t prev_day = -1;
            for (int i = 0; i < 365 * 30; i++) {
                int64_t got;
                assert_int_equal(chore_cron_next(c, t, &got), CHORE_OK);
                int64_t s = got / 1000, local = s + tz_offset(c->zone, s);
                int64_t day = local / 86400;
                assert_true(day == prev_day + 1 || prev_day < 0);
                prev_day = day;
                t = got;
            }
            chore_cron_free(c);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(new_york_spring_forward),
        cmocka_unit_test(new_york_fall_back),
        cmocka_unit_test(london),
        cmocka_unit_test(lord_howe_half_hour),
        cmocka_unit_test(chatham),
        cmocka_unit_test(rule_years),
        cmocka_unit_test(brute_force_cross_check),
        cmocka_unit_test(one_fire_per_day_for_decades),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
