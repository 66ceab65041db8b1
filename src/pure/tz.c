/*
 * tz.c — time zones, pure part: TZif parsing (RFC 8536), the POSIX TZ rule
 * of the footer (Jn, n and Mm.w.d dates, RFC 8536's extended hours),
 * stretches of constant offset, and civil calendar arithmetic. No I/O
 * (tz_load.c reads the files), no global state: a zone is immutable once
 * built, so threads share it freely; its reference count is atomic.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "chore.h"
#include "pure/tz.h"

#define DAY 86400LL

/* When in a year a POSIX rule switches: Jn, n or Mm.w.d, at local `time`. */
typedef struct rule_date {
    char kind; /* 'J' (1..365, no 29 February), 'D' (0..365), 'M' */
    int n, m, w, d;
    int32_t time; /* seconds after local midnight; may be negative or > 24 h */
} rule_date;

typedef struct tz_rule {
    bool has_dst;
    int32_t std_off, dst_off; /* seconds east of UTC */
    rule_date start, end;     /* start in standard time, end in daylight time */
} tz_rule;

struct tz {
    atomic_int refs;
    size_t n;           /* transitions */
    int64_t *at;        /* their instants, ascending */
    int32_t *off_after; /* the offset from each on */
    int32_t off0;       /* the offset before the first (or always, when n == 0) */
    bool has_rule;      /* the footer rule governs instants from at[n-1] on */
    tz_rule rule;
    char name[];
};

/* ------------------------------------------------------------ calendar */

bool civil_is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int civil_month_days(int64_t y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return days[m - 1] + (m == 2 && civil_is_leap(y));
}

/* Howard Hinnant's days_from_civil. */
int64_t civil_days(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

int civil_weekday(int64_t days)
{
    int64_t w = (days + 4) % 7; /* 1970-01-01 was a Thursday */
    return (int)(w < 0 ? w + 7 : w);
}

/* ------------------------------------------------------------ objects */

static tz *tz_alloc(const char *name, size_t n)
{
    size_t name_len = strlen(name);
    if (n > SIZE_MAX / 16 || name_len > TZ_NAME_MAX)
        return NULL;
    tz *z = calloc(1, sizeof *z + name_len + 1);
    if (z == NULL)
        return NULL;
    if (n > 0) {
        z->at = malloc(n * sizeof *z->at);
        z->off_after = malloc(n * sizeof *z->off_after);
        if (z->at == NULL || z->off_after == NULL) {
            free(z->at);
            free(z->off_after);
            free(z);
            return NULL;
        }
    }
    atomic_init(&z->refs, 1);
    memcpy(z->name, name, name_len + 1);
    return z;
}

tz *tz_ref(tz *z)
{
    if (z != NULL)
        atomic_fetch_add_explicit(&z->refs, 1, memory_order_relaxed);
    return z;
}

void tz_free(tz *z)
{
    if (z == NULL || atomic_fetch_sub_explicit(&z->refs, 1, memory_order_acq_rel) != 1)
        return;
    free(z->at);
    free(z->off_after);
    free(z);
}

const char *tz_name(const tz *z)
{
    return z->name;
}

int tz_fixed(const char *name, int32_t off, tz **out)
{
    *out = NULL;
    tz *z = tz_alloc(name, 0);
    if (z == NULL)
        return strlen(name) > TZ_NAME_MAX ? CHORE_EINVAL : CHORE_ENOMEM;
    z->off0 = off;
    *out = z;
    return CHORE_OK;
}

bool tz_name_valid(const char *name)
{
    size_t len = name == NULL ? 0 : strlen(name);
    if (len == 0 || len > TZ_NAME_MAX || name[0] == '/' || strstr(name, "..") != NULL)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '+' || c == '-' || c == '/';
        if (!ok)
            return false;
    }
    return true;
}

/* ------------------------------------------------------------ POSIX TZ rule */

/* A number of at most `max_digits` digits in [0, max]. */
static bool rule_number(const char **p, int max_digits, int max, int *out)
{
    int v = 0, digits = 0;
    while (**p >= '0' && **p <= '9') {
        if (++digits > max_digits)
            return false;
        v = v * 10 + (**p - '0');
        (*p)++;
    }
    if (digits == 0 || v > max)
        return false;
    *out = v;
    return true;
}

/* [+-]hh[:mm[:ss]] with hours up to max_h; seconds into *out. */
static bool rule_hms(const char **p, int max_h, int32_t *out)
{
    int sign = 1, h, m = 0, s = 0;
    if (**p == '+' || **p == '-') {
        sign = **p == '-' ? -1 : 1;
        (*p)++;
    }
    if (!rule_number(p, 3, max_h, &h))
        return false;
    if (**p == ':') {
        (*p)++;
        if (!rule_number(p, 2, 59, &m))
            return false;
        if (**p == ':') {
            (*p)++;
            if (!rule_number(p, 2, 59, &s))
                return false;
        }
    }
    *out = sign * (h * 3600 + m * 60 + s);
    return true;
}

/* A zone abbreviation: alphabetic, or <quoted> (may hold digits and signs). */
static bool rule_abbr(const char **p)
{
    const char *s = *p;
    if (*s == '<') {
        s++;
        const char *b = s;
        while (*s != '\0' && *s != '>')
            s++;
        if (*s != '>' || s - b < 1)
            return false;
        *p = s + 1;
        return true;
    }
    const char *b = s;
    while ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z'))
        s++;
    if (s - b < 3)
        return false;
    *p = s;
    return true;
}

static bool rule_date_parse(const char **p, rule_date *r)
{
    memset(r, 0, sizeof *r);
    if (**p == 'J') {
        (*p)++;
        r->kind = 'J';
        if (!rule_number(p, 3, 365, &r->n) || r->n < 1)
            return false;
    } else if (**p == 'M') {
        (*p)++;
        r->kind = 'M';
        if (!rule_number(p, 2, 12, &r->m) || r->m < 1 || **p != '.')
            return false;
        (*p)++;
        if (!rule_number(p, 1, 5, &r->w) || r->w < 1 || **p != '.')
            return false;
        (*p)++;
        if (!rule_number(p, 1, 6, &r->d))
            return false;
    } else {
        r->kind = 'D';
        if (!rule_number(p, 3, 365, &r->n))
            return false;
    }
    r->time = 2 * 3600;
    if (**p == '/') {
        (*p)++;
        if (!rule_hms(p, 167, &r->time))
            return false;
    }
    return true;
}

/* Parse a POSIX TZ string ("EST5EDT,M3.2.0,M11.1.0"). */
static bool rule_parse(const char *s, tz_rule *r)
{
    memset(r, 0, sizeof *r);
    const char *p = s;
    int32_t off;
    if (!rule_abbr(&p) || !rule_hms(&p, 24, &off))
        return false;
    r->std_off = -off; /* POSIX offsets count west */
    if (*p == '\0')
        return true;
    if (!rule_abbr(&p))
        return false;
    r->has_dst = true;
    r->dst_off = r->std_off + 3600;
    if (*p != ',' && *p != '\0') {
        if (!rule_hms(&p, 24, &off))
            return false;
        r->dst_off = -off;
    }
    if (*p == '\0') { /* no dates: the US rules, as glibc assumes */
        r->start = (rule_date){.kind = 'M', .m = 3, .w = 2, .d = 0, .time = 7200};
        r->end = (rule_date){.kind = 'M', .m = 11, .w = 1, .d = 0, .time = 7200};
        return true;
    }
    if (*p != ',')
        return false;
    p++;
    if (!rule_date_parse(&p, &r->start) || *p != ',')
        return false;
    p++;
    if (!rule_date_parse(&p, &r->end))
        return false;
    return *p == '\0';
}

/* The local instant (seconds, local time as if UTC) of a rule date in year y. */
static int64_t rule_local(const rule_date *r, int64_t y)
{
    int64_t day;
    if (r->kind == 'J') {
        day = civil_days(y, 1, 1) + r->n - 1 + (civil_is_leap(y) && r->n >= 60);
    } else if (r->kind == 'D') {
        day = civil_days(y, 1, 1) + r->n;
    } else {
        int64_t first = civil_days(y, r->m, 1);
        int dd = (r->d - civil_weekday(first) + 7) % 7 + 7 * (r->w - 1);
        int mdays = civil_month_days(y, r->m);
        while (dd >= mdays)
            dd -= 7;
        day = first + dd;
    }
    return day * DAY + r->time;
}

/* The offset the rule gives at instant t. */
static int32_t rule_offset(const tz_rule *r, int64_t t)
{
    if (!r->has_dst)
        return r->std_off;
    int64_t y, days = (t + r->std_off) / DAY - ((t + r->std_off) % DAY < 0);
    int m, d;
    civil_from_days(days, &y, &m, &d);
    int64_t s = rule_local(&r->start, y) - r->std_off;
    int64_t e = rule_local(&r->end, y) - r->dst_off;
    bool dst = s < e ? (t >= s && t < e) : !(t >= e && t < s);
    return dst ? r->dst_off : r->std_off;
}

/* Instants in and around the year of t where the rule's offset changes. */
static size_t rule_boundaries(const tz_rule *r, int64_t t, int64_t out[6])
{
    int64_t y, days = (t + r->std_off) / DAY - ((t + r->std_off) % DAY < 0);
    int m, d;
    civil_from_days(days, &y, &m, &d);
    size_t n = 0;
    for (int64_t yy = y - 1; yy <= y + 1; yy++) {
        int64_t c[2] = {rule_local(&r->start, yy) - r->std_off,
                        rule_local(&r->end, yy) - r->dst_off};
        for (int k = 0; k < 2; k++) {
            if (rule_offset(r, c[k]) != rule_offset(r, c[k] - 1))
                out[n++] = c[k];
        }
    }
    for (size_t i = 1; i < n; i++) { /* insertion sort of at most 6 */
        int64_t v = out[i];
        size_t j = i;
        for (; j > 0 && out[j - 1] > v; j--)
            out[j] = out[j - 1];
        out[j] = v;
    }
    return n;
}

/* The stretch holding t when the rule governs t (t >= from). */
static void rule_segment(const tz *z, int64_t t, int64_t from, int32_t off_before_from,
                         tz_seg *out)
{
    const tz_rule *r = &z->rule;
    const int64_t far = 400000000000LL; /* about the year 14,600 */
    if (t > far || t < -far) {          /* keep the arithmetic below from overflowing */
        out->off = rule_offset(r, t > far ? far : -far);
        out->start = t > far ? (from > far ? from : far) : from;
        out->prev_off = out->start == from ? off_before_from : out->off;
        out->end = t > far ? INT64_MAX : -far;
        return;
    }
    out->off = rule_offset(r, t);
    if (!r->has_dst) {
        out->start = from;
        out->prev_off = off_before_from;
        out->end = INT64_MAX;
        return;
    }
    int64_t b[6];
    size_t n = rule_boundaries(r, t, b);
    /* Fallbacks when no change falls near t (a rule that never changes
     * the offset): an artificial boundary two years away, harmless. */
    int64_t start = t - 2 * 366 * DAY, end = t + 2 * 366 * DAY;
    for (size_t i = 0; i < n; i++) {
        if (b[i] <= t)
            start = b[i];
        else if (b[i] < end)
            end = b[i];
    }
    if (start <= from) {
        out->start = from;
        out->prev_off = off_before_from;
    } else {
        out->start = start;
        out->prev_off = rule_offset(r, start - 1);
    }
    out->end = end;
}

void tz_segment(const tz *z, int64_t t, tz_seg *out)
{
    size_t n = z->n;
    if (n == 0 || t < z->at[0]) {
        if (n == 0 && z->has_rule) {
            rule_segment(z, t, INT64_MIN, z->rule.std_off, out);
            return;
        }
        out->start = INT64_MIN;
        out->end = n == 0 ? INT64_MAX : z->at[0];
        out->off = out->prev_off = z->off0;
        return;
    }
    size_t lo = 0, hi = n; /* last transition <= t: at[lo] */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (z->at[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    int32_t before = lo == 0 ? z->off0 : z->off_after[lo - 1];
    if (lo == n - 1 && z->has_rule) {
        rule_segment(z, t, z->at[lo], before, out);
        return;
    }
    out->start = z->at[lo];
    out->end = lo + 1 < n ? z->at[lo + 1] : INT64_MAX;
    out->off = z->off_after[lo];
    out->prev_off = before;
}

int32_t tz_offset(const tz *z, int64_t t)
{
    tz_seg s;
    tz_segment(z, t, &s);
    return s.off;
}

/* ------------------------------------------------------------ TZif */

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const uint8_t *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

typedef struct tzif_header {
    uint32_t isut, isstd, leap, time, type, chars;
} tzif_header;

static bool tzif_header_read(const uint8_t *p, size_t len, tzif_header *h, int *version)
{
    if (len < 44 || memcmp(p, "TZif", 4) != 0)
        return false;
    *version = p[4] == 0 ? 1 : p[4] - '0';
    if (*version < 1 || *version > 9)
        return false;
    h->isut = be32(p + 20);
    h->isstd = be32(p + 24);
    h->leap = be32(p + 28);
    h->time = be32(p + 32);
    h->type = be32(p + 36);
    h->chars = be32(p + 40);
    return h->type >= 1 && h->type <= 256 && h->time <= 1000000 && h->chars <= 1000000 &&
           h->leap <= 1000000 && h->isut <= 256 && h->isstd <= 256;
}

static size_t tzif_body_len(const tzif_header *h, size_t tsize)
{
    return h->time * tsize + h->time + h->type * 6 + h->chars + h->leap * (tsize + 4) +
           h->isstd + h->isut;
}

int tz_parse(const uint8_t *data, size_t len, const char *name, tz **out)
{
    *out = NULL;
    if (data == NULL || name == NULL)
        return CHORE_EINVAL;
    tzif_header h;
    int version;
    if (!tzif_header_read(data, len, &h, &version))
        return CHORE_EINVAL;
    const uint8_t *body = data + 44;
    size_t tsize = 4, body_len = tzif_body_len(&h, 4);
    if (body_len > len - 44)
        return CHORE_EINVAL;
    const char *footer = NULL;
    size_t footer_len = 0;
    if (version >= 2) {
        const uint8_t *h2 = body + body_len;
        size_t left = len - 44 - body_len;
        if (!tzif_header_read(h2, left, &h, &version))
            return CHORE_EINVAL;
        body = h2 + 44;
        tsize = 8;
        body_len = tzif_body_len(&h, 8);
        if (body_len > left - 44)
            return CHORE_EINVAL;
        const uint8_t *f = body + body_len, *end = data + len;
        if (f >= end || *f != '\n')
            return CHORE_EINVAL;
        const uint8_t *nl = memchr(f + 1, '\n', (size_t)(end - f - 1));
        if (nl == NULL)
            return CHORE_EINVAL;
        footer = (const char *)f + 1;
        footer_len = (size_t)(nl - f - 1);
    }
    if (h.leap != 0)
        return CHORE_EINVAL; /* "right/" zones count leap seconds: not supported */

    const uint8_t *times = body, *idx = body + h.time * tsize, *types = idx + h.time;
    int32_t offs[256];
    for (uint32_t i = 0; i < h.type; i++) {
        int32_t off = (int32_t)be32(types + 6 * i);
        if (off < -25 * 3600 || off > 26 * 3600 || types[6 * i + 4] > 1)
            return CHORE_EINVAL;
        offs[i] = off;
    }
    tz_rule rule;
    bool has_rule = false;
    if (footer_len > 0) {
        char buf[128];
        if (footer_len >= sizeof buf || memchr(footer, '\0', footer_len) != NULL)
            return CHORE_EINVAL;
        memcpy(buf, footer, footer_len);
        buf[footer_len] = '\0';
        if (!rule_parse(buf, &rule))
            return CHORE_EINVAL;
        has_rule = true;
    }
    tz *z = tz_alloc(name, h.time);
    if (z == NULL)
        return strlen(name) > TZ_NAME_MAX ? CHORE_EINVAL : CHORE_ENOMEM;
    z->off0 = offs[0];
    z->has_rule = has_rule;
    if (has_rule)
        z->rule = rule;
    size_t n = 0;
    int64_t last = INT64_MIN;
    for (uint32_t i = 0; i < h.time; i++) {
        int64_t at = tsize == 8 ? be64(times + 8 * i) : (int64_t)(int32_t)be32(times + 4 * i);
        if (idx[i] >= h.type || (i > 0 && at <= last)) {
            tz_free(z);
            return CHORE_EINVAL;
        }
        last = at;
        int32_t off = offs[idx[i]];
        int32_t before = n == 0 ? z->off0 : z->off_after[n - 1];
        if (off == before && !(i + 1 == h.time && has_rule))
            continue; /* only the name or isdst changes: not a boundary here */
        z->at[n] = at;
        z->off_after[n] = off;
        n++;
    }
    z->n = n;
    *out = z;
    return CHORE_OK;
}
