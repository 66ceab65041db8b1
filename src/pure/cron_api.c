/*
 * cron_api.c — the public chore_cron_* functions: parse (loading the zone
 * from the tz database, the only I/O), next fire in milliseconds, @every,
 * a human reading of an expression, free.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chore.h"
#include "pure/cron.h"

int chore_cron_parse(chore_cron **out, const char *expr, const char *zone, char *err,
                     size_t errlen)
{
    return cron_parse(out, expr, zone, NULL, NULL, err, errlen);
}

void chore_cron_free(chore_cron *cron)
{
    if (cron == NULL)
        return;
    tz_free(cron->zone);
    free(cron);
}

const char *chore_cron_zone(const chore_cron *cron)
{
    return cron == NULL ? NULL : tz_name(cron->zone);
}

/* Floor division: instants before 1970 round down too. */
static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

int chore_cron_next(const chore_cron *cron, int64_t after_ms, int64_t *next_ms)
{
    if (cron == NULL || next_ms == NULL)
        return CHORE_EINVAL;
    if (after_ms < CRON_MIN_S * 1000 - 1 || after_ms > CRON_MAX_S * 1000 + 999)
        return CHORE_EINVAL;
    if (cron->every_ms > 0) {
        /* multiples of the period since the Unix epoch: the same slots
         * whenever and wherever they are computed */
        int64_t next = (floor_div(after_ms, cron->every_ms) + 1) * cron->every_ms;
        if (next > CRON_MAX_S * 1000 + 999)
            return CHORE_ENOTFOUND;
        *next_ms = next;
        return CHORE_OK;
    }
    int64_t s = cron_next_s(cron, floor_div(after_ms, 1000) + 1);
    if (s == CRON_NEVER || s > CRON_MAX_S)
        return CHORE_ENOTFOUND;
    *next_ms = s * 1000;
    return CHORE_OK;
}

/* ---------------------------------------------------------------- explain */

typedef struct out {
    char *buf;
    size_t len, used;
    bool overflow;
} out;

static void put(out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(out *o, const char *fmt, ...)
{
    size_t room = o->used < o->len ? o->len - o->used : 0;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->buf + (room > 0 ? o->used : 0), room, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= room)
        o->overflow = true;
    o->used += n < 0 ? 0 : (size_t)n;
}

static const char *const month_abbr[] = {"", "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
static const char *const day_abbr[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};

/* The set bits lo..hi of mask as "1,5,10-20", runs of 3 or more as ranges. */
static void put_list(out *o, uint64_t mask, int lo, int hi, const char *const *names)
{
    bool first = true;
    for (int v = lo; v <= hi; v++) {
        if (!(mask >> v & 1))
            continue;
        int e = v;
        while (e + 1 <= hi && (mask >> (e + 1) & 1))
            e++;
        int run = e - v + 1;
        for (int k = 0; k < (run >= 3 ? 1 : run); k++) {
            if (names != NULL)
                put(o, "%s%s", first ? "" : ",", names[v + k]);
            else
                put(o, "%s%d", first ? "" : ",", v + k);
            first = false;
        }
        if (run >= 3) {
            if (names != NULL)
                put(o, "-%s", names[e]);
            else
                put(o, "-%d", e);
        }
        v = e;
    }
}

static bool single(uint64_t mask)
{
    return mask != 0 && (mask & (mask - 1)) == 0;
}

static void put_every(out *o, int64_t ms)
{
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {{"d", 86400000}, {"h", 3600000}, {"m", 60000}, {"s", 1000}, {"ms", 1}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (ms >= units[i].ms) {
            put(o, "%lld%s", (long long)(ms / units[i].ms), units[i].unit);
            ms %= units[i].ms;
        }
    }
}

int chore_cron_explain(const chore_cron *c, char *buf, size_t len)
{
    if (c == NULL || buf == NULL || len == 0)
        return CHORE_EINVAL;
    out o = {.buf = buf, .len = len};
    buf[0] = '\0';
    if (c->every_ms > 0) {
        put(&o, "every ");
        put_every(&o, c->every_ms);
        put(&o, " (at multiples of it since 1970-01-01T00:00:00Z)");
        return o.overflow ? CHORE_EINVAL : CHORE_OK;
    }
    /* time of day */
    if (single(c->sec) && single(c->min) && single(c->hour)) {
        int s = __builtin_ctzll(c->sec);
        put(&o, "at %02d:%02d", __builtin_ctz(c->hour), __builtin_ctzll(c->min));
        if (s != 0)
            put(&o, ":%02d", s);
    } else {
        const char *sep = "";
        if (c->has_seconds) {
            if (c->star_step[CRON_SEC] == 1)
                put(&o, "every second");
            else if (c->star_step[CRON_SEC] > 1)
                put(&o, "every %d seconds", c->star_step[CRON_SEC]);
            else {
                put(&o, "at second ");
                put_list(&o, c->sec, 0, 59, NULL);
            }
            sep = ", ";
        }
        if (c->star_step[CRON_MIN] == 1) {
            if (!c->has_seconds) /* with seconds, "every second" says it already */
                put(&o, "every minute");
        } else if (c->star_step[CRON_MIN] > 1) {
            put(&o, "%severy %d minutes", sep, c->star_step[CRON_MIN]);
        } else {
            put(&o, "%sat minute ", sep);
            put_list(&o, c->min, 0, 59, NULL);
        }
        if (c->star_step[CRON_HOUR] > 1) {
            put(&o, ", every %d hours", c->star_step[CRON_HOUR]);
        } else if (c->star_step[CRON_HOUR] != 1) {
            put(&o, single(c->hour) ? ", hour " : ", hours ");
            put_list(&o, c->hour, 0, 23, NULL);
        }
    }
    /* days */
    bool dom_all = (c->dom & 0xfffffffeu) == 0xfffffffeu, dow_all = c->dow == 0x7f;
    if (dom_all && dow_all) {
        put(&o, " every day");
    } else if (!c->dom_star && !c->dow_star) {
        put(&o, " on day-of-month ");
        put_list(&o, c->dom, 1, 31, NULL);
        put(&o, " or on ");
        put_list(&o, c->dow, 0, 6, day_abbr);
    } else {
        if (!dom_all) {
            put(&o, " on day-of-month ");
            put_list(&o, c->dom, 1, 31, NULL);
        }
        if (!dow_all) {
            put(&o, dom_all ? " on " : " if a ");
            put_list(&o, c->dow, 0, 6, day_abbr);
        }
    }
    if ((c->mon & 0x1ffe) != 0x1ffe) {
        put(&o, " in ");
        put_list(&o, c->mon, 1, 12, month_abbr);
    }
    put(&o, ", %s", tz_name(c->zone));
    return o.overflow ? CHORE_EINVAL : CHORE_OK;
}
