/*
 * rfc3339.c — instants as RFC 3339 text and back (chore_time_parse,
 * chore_time_format), on the calendar arithmetic of tz.c, so neither the
 * TZ environment nor the C library's time functions ever matter.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>

#include "chore.h"
#include "pure/tz.h"

#define MS_PER_DAY (86400LL * 1000)

/* Read exactly n digits at *p into *out. */
static bool digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return false;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return true;
}

static bool expect(const char **p, char c)
{
    if (**p != c)
        return false;
    (*p)++;
    return true;
}

/* The zone designator at *p ("Z", "+02:00", "-05:30") as milliseconds
 * east of UTC. */
static bool zone_offset(const char **p, int64_t *out_ms)
{
    if (**p == 'Z' || **p == 'z') {
        (*p)++;
        *out_ms = 0;
        return true;
    }
    if (**p != '+' && **p != '-')
        return false;
    int sign = **p == '-' ? -1 : 1;
    int hours, minutes;
    (*p)++;
    if (!digits(p, 2, &hours) || !expect(p, ':') || !digits(p, 2, &minutes) || hours > 23 ||
        minutes > 59)
        return false;
    *out_ms = sign * ((int64_t)hours * 3600000 + (int64_t)minutes * 60000);
    return true;
}

int chore_time_parse(const char *text, int64_t *out_ms)
{
    if (text == NULL || out_ms == NULL)
        return CHORE_EINVAL;
    const char *p = text;
    int year, mon, day, hour, min, sec;
    if (!digits(&p, 4, &year) || !expect(&p, '-') || !digits(&p, 2, &mon) ||
        !expect(&p, '-') || !digits(&p, 2, &day))
        return CHORE_EINVAL;
    if (*p != 'T' && *p != 't' && *p != ' ')
        return CHORE_EINVAL;
    p++;
    if (!digits(&p, 2, &hour) || !expect(&p, ':') || !digits(&p, 2, &min) ||
        !expect(&p, ':') || !digits(&p, 2, &sec))
        return CHORE_EINVAL;
    if (mon < 1 || mon > 12 || day < 1 || day > civil_month_days(year, mon) || hour > 23 ||
        min > 59 || sec > 60)
        return CHORE_EINVAL;
    int frac_ms = 0;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return CHORE_EINVAL;
        for (int scale = 100; isdigit((unsigned char)*p); p++, scale /= 10)
            frac_ms += (*p - '0') * scale; /* digits past the third add 0 */
    }
    int64_t offset_ms;
    if (!zone_offset(&p, &offset_ms) || *p != '\0')
        return CHORE_EINVAL;
    int64_t local_ms = civil_days(year, mon, day) * MS_PER_DAY +
                       ((int64_t)hour * 3600 + min * 60 + sec) * 1000 + frac_ms;
    *out_ms = local_ms - offset_ms; /* local = UTC + offset */
    return CHORE_OK;
}

int chore_time_format(int64_t ms, char *buf, size_t len)
{
    if (buf == NULL || len == 0)
        return CHORE_EINVAL;
    buf[0] = '\0';
    int64_t days = ms / MS_PER_DAY, rem = ms % MS_PER_DAY;
    if (rem < 0) { /* floor division for instants before 1970 */
        rem += MS_PER_DAY;
        days--;
    }
    int64_t y;
    int m, d;
    civil_from_days(days, &y, &m, &d);
    if (y < 0 || y > 9999)
        return CHORE_EINVAL;
    int secs = (int)(rem / 1000), millis = (int)(rem % 1000);
    char text[CHORE_TIME_TEXT_MAX];
    int n = snprintf(text, sizeof text, "%04" PRId64 "-%02d-%02dT%02d:%02d:%02d", y, m, d,
                     secs / 3600, secs / 60 % 60, secs % 60);
    if (millis != 0)
        n += snprintf(text + n, sizeof text - (size_t)n, ".%03d", millis);
    text[n++] = 'Z';
    text[n] = '\0';
    if ((size_t)n >= len)
        return CHORE_EINVAL;
    snprintf(buf, len, "%s", text);
    return n;
}
