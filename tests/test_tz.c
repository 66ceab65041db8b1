/*
 * test_tz.c — time zones: UTC offsets from our TZif reader against glibc's
 * localtime_r over 1970-2100 in many zones (the test, unlike the library,
 * may set TZ), POSIX footer rules of every date form against glibc, zone
 * name checks, unknown zones, and corrupt files (no crash, an error).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chore.h"
#include "pure/tz.h"

static int32_t glibc_offset(int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    assert_non_null(localtime_r(&tt, &tm));
    return (int32_t)tm.tm_gmtoff;
}

static void use_tz(const char *value)
{
    setenv("TZ", value, 1);
    tzset();
}

static uint64_t rng_state = 0x1234567887654321ULL;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Compare every transition (and a second either side) and many random
 * instants from 1970 to 2100 with glibc, for one zone. */
static void compare_zone(const char *name)
{
    tz *z;
    assert_int_equal(tz_load(name, &z), CHORE_OK);
    char tzvar[300];
    snprintf(tzvar, sizeof tzvar, ":%s", name);
    use_tz(tzvar);
    const int64_t from = 0, to = 4102444800LL; /* 2100-01-01 */
    long checked = 0;
    /* walk the stretches: each boundary and its neighbours */
    int64_t t = from;
    while (t < to) {
        tz_seg s;
        tz_segment(z, t, &s);
        assert_true(s.start <= t && t < s.end);
        for (int64_t d = -2; d <= 2; d++) {
            int64_t u = t + d;
            if (u >= from && u < to) {
                if (tz_offset(z, u) != glibc_offset(u))
                    fail_msg("%s at %lld: ours %d, glibc %d", name, (long long)u,
                             (int)tz_offset(z, u), (int)glibc_offset(u));
                checked++;
            }
        }
        if (s.start != INT64_MIN && s.start >= from)
            assert_int_equal(s.prev_off, glibc_offset(s.start - 1));
        assert_int_equal(s.off, glibc_offset(t));
        t = s.end == INT64_MAX ? to : s.end;
    }
    for (int i = 0; i < 20000; i++) {
        int64_t u = from + (int64_t)(rnd() % (uint64_t)(to - from));
        if (tz_offset(z, u) != glibc_offset(u))
            fail_msg("%s at %lld: ours %d, glibc %d", name, (long long)u, (int)tz_offset(z, u),
                     (int)glibc_offset(u));
        checked++;
    }
    assert_true(checked > 20000);
    tz_free(z);
}

static void offsets_match_glibc_1970_2100(void **state)
{
    (void)state;
    static const char *const zones[] = {
        "America/New_York", "Europe/London",     "Australia/Lord_Howe", "Pacific/Chatham",
        "Europe/Dublin",    "America/Sao_Paulo", "Asia/Kolkata",        "Africa/Casablanca",
        "America/Santiago", "Asia/Tehran",       "Pacific/Apia",        "America/St_Johns",
        "Australia/Sydney", "Europe/Berlin",     "America/Los_Angeles", "Asia/Gaza",
        "Antarctica/Troll", "Pacific/Kiritimati", "America/Godthab",    "Europe/Moscow",
    };
    for (size_t i = 0; i < sizeof zones / sizeof zones[0]; i++)
        compare_zone(zones[i]);
}

/* A minimal TZif v2 file: no transitions, one type, the given footer. */
static size_t make_tzif(uint8_t *buf, const char *footer, int32_t utoff)
{
    size_t n = 0;
    for (int part = 0; part < 2; part++) {
        memset(buf + n, 0, 44);
        memcpy(buf + n, "TZif2", 5);
        buf[n + 39] = 1; /* typecnt */
        buf[n + 43] = 4; /* charcnt */
        n += 44;
        buf[n++] = (uint8_t)((uint32_t)utoff >> 24);
        buf[n++] = (uint8_t)((uint32_t)utoff >> 16);
        buf[n++] = (uint8_t)((uint32_t)utoff >> 8);
        buf[n++] = (uint8_t)utoff;
        buf[n++] = 0;
        buf[n++] = 0;
        memcpy(buf + n, "XXX", 4);
        n += 4;
    }
    buf[n++] = '\n';
    memcpy(buf + n, footer, strlen(footer));
    n += strlen(footer);
    buf[n++] = '\n';
    return n;
}

/* Footer rules in every date form (Jn, n, Mm.w.d, odd times) against
 * glibc reading the same POSIX TZ string. */
static void posix_rules_match_glibc(void **state)
{
    (void)state;
    static const struct {
        const char *rule;
        int32_t std_off;
    } rules[] = {
        {"EST5EDT,M3.2.0,M11.1.0", -5 * 3600},
        {"AAA3BBB,J60/2,J300/2", -3 * 3600},
        {"AAA-2BBB,59/1:30,299/23:59:59", 2 * 3600},
        {"AAA-10:30BBB-11,M10.1.0,M4.1.0", 37800},
        {"<+1245>-12:45<+1345>,M9.5.0/2:45,M4.1.0/3:45", 45900},
        {"AAA4BBB,M3.5.0/-2,M10.5.0/26", -4 * 3600},
        {"AAA-1BBB-2,M3.5.0/1,M10.5.0", 3600},
        {"<-03>3<-02>,M3.5.0/-2,M10.5.0/-1", -3 * 3600},
        {"IST-1GMT0,M10.5.0,M3.5.0/1", 3600},
        {"AAA5", -5 * 3600},
        {"<+0530>-5:30", 19800},
    };
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        uint8_t buf[512];
        size_t len = make_tzif(buf, rules[i].rule, rules[i].std_off);
        tz *z;
        assert_int_equal(tz_parse(buf, len, "test", &z), CHORE_OK);
        use_tz(rules[i].rule);
        for (int64_t t = 0; t < 4102444800LL; t += 3 * 3600 + 17) {
            if (tz_offset(z, t) != glibc_offset(t))
                fail_msg("rule %s at %lld: ours %d, glibc %d", rules[i].rule, (long long)t,
                         (int)tz_offset(z, t), (int)glibc_offset(t));
        }
        /* each stretch's boundary to the second */
        for (int64_t t = 0; t < 4102444800LL;) {
            tz_seg s;
            tz_segment(z, t, &s);
            for (int64_t d = -1; d <= 1; d++) {
                if (s.start != INT64_MIN && s.start + d >= 0)
                    assert_int_equal(tz_offset(z, s.start + d), glibc_offset(s.start + d));
            }
            assert_true(s.end > t);
            t = s.end;
        }
        tz_free(z);
    }
}

/* RFC 8536 3.3.1: "EST5EDT,0/0,J365/25" is daylight time all year. glibc
 * leaves an hour of standard time at each new year (it evaluates the rule
 * in the UTC year); we follow the RFC. */
static void all_year_daylight_time(void **state)
{
    (void)state;
    uint8_t buf[512];
    size_t len = make_tzif(buf, "EST5EDT,0/0,J365/25", -5 * 3600);
    tz *z;
    assert_int_equal(tz_parse(buf, len, "test", &z), CHORE_OK);
    for (int64_t t = 0; t < 4102444800LL; t += 1800)
        assert_int_equal(tz_offset(z, t), -4 * 3600);
    tz_free(z);
}

static void names_are_checked(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",        "/etc/passwd", "../etc/passwd", "America/../../etc", "America/New York",
        "a;b",     "zone\n",      "Europe/Lon$don", "..",               "Ame..rica",
        "a\\b",    "é",
    };
    tz *z = (tz *)1;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_false(tz_name_valid(bad[i]));
        assert_int_equal(tz_load(bad[i], &z), CHORE_EINVAL);
        assert_null(z);
    }
    char longname[400];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    assert_false(tz_name_valid(longname));
    assert_false(tz_name_valid(NULL));
    assert_true(tz_name_valid("America/Argentina/Buenos_Aires"));
    assert_true(tz_name_valid("Etc/GMT+5"));
    assert_true(tz_name_valid("Etc/GMT-14"));
}

static void unknown_zones_and_non_zone_files(void **state)
{
    (void)state;
    tz *z;
    assert_int_equal(tz_load("Mars/Olympus_Mons", &z), CHORE_ENOTFOUND);
    assert_null(z);
    assert_int_equal(tz_load("America", &z), CHORE_ENOTFOUND);  /* a directory */
    assert_int_equal(tz_load("zone.tab", &z), CHORE_EINVAL);    /* '.' is refused */
    assert_int_equal(tz_load("iso3166", &z), CHORE_ENOTFOUND);
    assert_int_equal(tz_load("leapseconds", &z), CHORE_ENOTFOUND); /* text, not TZif */
    if (access(TZ_DEFAULT_DIR "/right/UTC", R_OK) == 0)
        assert_int_equal(tz_load("right/UTC", &z), CHORE_EINVAL); /* leap seconds */
    /* UTC needs no file */
    assert_int_equal(tz_load_dir("/nonexistent-dir", "UTC", &z), CHORE_OK);
    assert_string_equal(tz_name(z), "UTC");
    assert_int_equal(tz_offset(z, 1735689600), 0);
    tz_seg s;
    tz_segment(z, 0, &s);
    assert_true(s.start == INT64_MIN && s.end == INT64_MAX);
    tz_free(z);
    assert_int_equal(tz_load_dir("/nonexistent-dir", "Europe/Paris", &z), CHORE_ENOTFOUND);
    /* fixed-offset zones from the database */
    assert_int_equal(tz_load("Etc/GMT+5", &z), CHORE_OK);
    assert_int_equal(tz_offset(z, 1735689600), -5 * 3600);
    tz_free(z);
    tz_free(NULL);
}

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    uint8_t *buf = malloc(1 << 20);
    assert_non_null(buf);
    *len = fread(buf, 1, 1 << 20, f);
    fclose(f);
    return buf;
}

/* Every truncation and many random corruptions of real files: an error or
 * a zone, never a crash (ASan watches the reads). */
static void corrupt_files_are_refused(void **state)
{
    (void)state;
    static const char *const files[] = {TZ_DEFAULT_DIR "/America/New_York",
                                        TZ_DEFAULT_DIR "/Australia/Lord_Howe"};
    for (size_t k = 0; k < 2; k++) {
        size_t len;
        uint8_t *buf = read_file(files[k], &len);
        tz *z;
        assert_int_equal(tz_parse(buf, len, "x", &z), CHORE_OK);
        tz_free(z);
        for (size_t cut = 0; cut < len; cut++) {
            uint8_t *copy = malloc(cut + 1); /* exact size, so ASan sees overreads */
            memcpy(copy, buf, cut);
            int rc = tz_parse(copy, cut, "x", &z);
            assert_int_equal(rc, CHORE_EINVAL);
            assert_null(z);
            free(copy);
        }
        uint8_t *copy = malloc(len);
        for (int i = 0; i < 20000; i++) {
            memcpy(copy, buf, len);
            int flips = 1 + (int)(rnd() % 4);
            for (int f = 0; f < flips; f++)
                copy[rnd() % len] ^= (uint8_t)(1u << (rnd() % 8));
            if (tz_parse(copy, len, "x", &z) == CHORE_OK) {
                for (int j = 0; j < 50; j++)
                    (void)tz_offset(z, (int64_t)(rnd() % 8000000000ULL) - 4000000000LL);
                tz_free(z);
            }
        }
        free(copy);
        free(buf);
    }
    tz *z;
    assert_int_equal(tz_parse((const uint8_t *)"TZif", 4, "x", &z), CHORE_EINVAL);
    assert_int_equal(tz_parse(NULL, 0, "x", &z), CHORE_EINVAL);
}

static void refcounts_share_one_zone(void **state)
{
    (void)state;
    tz *z;
    assert_int_equal(tz_load("Europe/London", &z), CHORE_OK);
    tz *again = tz_ref(z);
    assert_ptr_equal(again, z);
    tz_free(z);
    assert_int_equal(tz_offset(again, 1751328000), 3600); /* 2025-07-01: BST */
    tz_free(again);
}

static void civil_calendar_round_trips(void **state)
{
    (void)state;
    for (int64_t d = -800000; d <= 3000000; d += 7) {
        int64_t y;
        int m, dd;
        civil_from_days(d, &y, &m, &dd);
        assert_int_equal(civil_days(y, m, dd), d);
        assert_true(dd >= 1 && dd <= civil_month_days(y, m));
    }
    assert_int_equal(civil_weekday(0), 4);                     /* 1970-01-01 Thursday */
    assert_int_equal(civil_weekday(civil_days(2044, 2, 29)), 1); /* Monday */
    assert_false(civil_is_leap(2100));
    assert_true(civil_is_leap(2000));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(offsets_match_glibc_1970_2100),
        cmocka_unit_test(posix_rules_match_glibc),
        cmocka_unit_test(all_year_daylight_time),
        cmocka_unit_test(names_are_checked),
        cmocka_unit_test(unknown_zones_and_non_zone_files),
        cmocka_unit_test(corrupt_files_are_refused),
        cmocka_unit_test(refcounts_share_one_zone),
        cmocka_unit_test(civil_calendar_round_trips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
