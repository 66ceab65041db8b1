/*
 * cron_next.c — the next fire of a parsed expression. Pure.
 *
 * Two steps. cron_next_local finds the first matching local civil time at
 * or after a given one, field by field with bitmasks (month, day, hour,
 * minute, second, carrying into the next unit when a field runs out), so
 * its cost does not depend on how far away the fire is. cron_next_s walks
 * the zone's stretches of constant UTC offset from the starting instant:
 * in each, local time is UTC plus one offset, so the first match in it is
 * the first local match inside its local range. Daylight saving time
 * (Vixie cron's rule, docs/CRON.md) only decides where each stretch's
 * local range starts for wall-clock schedules: local times a fall-back
 * repeats are skipped (they fired in the first pass), and local times a
 * spring-forward skips fire at the first instant after the gap.
 */
#include "pure/cron.h"

#define DAY 86400LL

/* The lowest set bit of mask at or above `from`, or -1. */
static inline int next_bit(uint64_t mask, int from)
{
    if (from > 63)
        return -1;
    uint64_t m = mask & (~0ULL << from);
    return m == 0 ? -1 : __builtin_ctzll(m);
}

/* Days of month mo of year y (day number of its 1st: first) that match. */
static inline uint32_t day_mask(const chore_cron *c, int64_t y, int mo, int64_t first)
{
    int md = civil_month_days(y, mo);
    uint32_t valid = (uint32_t)(((1ULL << (md + 1)) - 1) & ~1ULL);
    uint32_t dw = c->dow_days[civil_weekday(first)];
    /* Vixie cron: when either field starts with '*', both must match;
     * when both are restricted, either may. */
    uint32_t m = (c->dom_star || c->dow_star) ? (c->dom & dw) : (c->dom | dw);
    return m & valid;
}

int64_t cron_next_local(const chore_cron *c, int64_t local)
{
    int64_t days = local / DAY - (local % DAY < 0);
    int sod = (int)(local - days * DAY);
    int64_t y;
    int mo, d;
    civil_from_days(days, &y, &mo, &d);
    int h = sod / 3600, mi = sod / 60 % 60, s = sod % 60;
    /* The calendar (weekdays included) repeats every 400 years: a match
     * that has not come within 401 never will. */
    int64_t last_year = y + 401;
    for (;;) {
        if (!(c->mon & (1u << mo))) {
            int nm = next_bit(c->mon, mo + 1);
            if (nm < 0) {
                if (++y > last_year)
                    return CRON_NEVER;
                nm = next_bit(c->mon, 1);
            }
            mo = nm;
            d = 1;
            h = mi = s = 0;
        }
        int64_t first = civil_days(y, mo, 1);
        int nd = next_bit(day_mask(c, y, mo, first), d);
        if (nd < 0) {
            if (++mo > 12) {
                mo = 1;
                if (++y > last_year)
                    return CRON_NEVER;
            }
            d = 1;
            h = mi = s = 0;
            continue;
        }
        if (nd != d) {
            d = nd;
            h = mi = s = 0;
        }
        int nh = next_bit(c->hour, h);
        if (nh < 0) {
            d++;
            h = mi = s = 0;
            continue;
        }
        if (nh != h) {
            h = nh;
            mi = s = 0;
        }
        int nmi = next_bit(c->min, mi);
        if (nmi < 0) {
            h++;
            mi = s = 0;
            continue;
        }
        if (nmi != mi) {
            mi = nmi;
            s = 0;
        }
        int ns = next_bit(c->sec, s);
        if (ns < 0) {
            mi++;
            s = 0;
            continue;
        }
        return (first + d - 1) * DAY + h * 3600 + mi * 60 + ns;
    }
}

/* cron_next_local with a one-entry memo: the first match at or after any
 * local time in [lb, result] is the same. */
typedef struct memo {
    int64_t lb, result;
} memo;

static int64_t next_local_memo(const chore_cron *c, memo *m, int64_t lb)
{
    if (lb >= m->lb && lb <= m->result)
        return m->result;
    m->lb = lb;
    m->result = cron_next_local(c, lb);
    return m->result;
}

int64_t cron_next_s(const chore_cron *c, int64_t t)
{
    tz_seg seg;
    tz_segment(c->zone, t, &seg);
    memo m = {.lb = INT64_MAX, .result = INT64_MIN};
    /* Each round looks in one stretch; a match is at most 401 years away,
     * and zones change offset a few times a year at most. */
    for (int round = 0; round < 4 * 402 + 16; round++) {
        int64_t from = round == 0 ? t : seg.start; /* first instant to consider here */
        int64_t off = seg.off;
        int64_t lb = from + off;                   /* first local time to consider here */
        if (c->wall_clock && seg.start != INT64_MIN) {
            if (seg.prev_off > off) {
                /* fall-back: local times up to start + prev_off were the
                 * previous stretch's, and fired there */
                if (lb < seg.start + seg.prev_off)
                    lb = seg.start + seg.prev_off;
            } else if (seg.prev_off < off && from == seg.start) {
                /* spring-forward: a local time in the gap fires at once */
                int64_t gap = next_local_memo(c, &m, seg.start + seg.prev_off);
                if (gap == CRON_NEVER)
                    return CRON_NEVER;
                if (gap < seg.start + off)
                    return seg.start;
            }
        }
        int64_t local = next_local_memo(c, &m, lb);
        if (local == CRON_NEVER)
            return CRON_NEVER;
        if (seg.end == INT64_MAX || local < seg.end + off)
            return local - off;
        tz_segment(c->zone, seg.end, &seg);
    }
    return CRON_NEVER;
}
