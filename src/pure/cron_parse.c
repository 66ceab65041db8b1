/*
 * cron_parse.c — the cron expression parser: 5 or 6 fields (`*`, lists,
 * ranges, steps, month and weekday names, 7 = Sunday), the @descriptors,
 * @every DURATION and a CRON_TZ=Zone prefix, into the bitmasks of
 * struct chore_cron. Every error names its field and its problem; nothing
 * is clamped or ignored. Pure, apart from the zone loader it is given.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pure/cron.h"

typedef struct field_spec {
    const char *name;
    int min, max;
    const char *const *names; /* 3-letter names for min, min+1, … or NULL */
} field_spec;

static const char *const month_names[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                          "JUL", "AUG", "SEP", "OCT", "NOV", "DEC", NULL};
static const char *const day_names[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", NULL};

static const field_spec specs[CRON_NFIELDS] = {
    {"second", 0, 59, NULL},      {"minute", 0, 59, NULL},      {"hour", 0, 23, NULL},
    {"day-of-month", 1, 31, NULL}, {"month", 1, 12, month_names}, {"day-of-week", 0, 7, day_names},
};

/* The longest @every accepted: 100 years. */
#define EVERY_MAX_MS (100LL * 366 * 86400 * 1000)

typedef struct parser {
    char *err;
    size_t errlen;
} parser;

static int fail(parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(parser *p, const char *fmt, ...)
{
    if (p->errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->err, p->errlen, fmt, ap);
        va_end(ap);
        for (char *c = p->err; *c != '\0'; c++) { /* one line, printable */
            if ((unsigned char)*c < 0x20 || *c == 0x7f)
                *c = '?';
        }
    }
    return CHORE_EINVAL;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_alpha(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static char upper(char c)
{
    return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

/* Printable quote of s[0..n) for messages, cut short when long. */
static const char *quote(char *buf, size_t size, const char *s, size_t n)
{
    size_t max = size - 4;
    if (n > max) {
        memcpy(buf, s, max);
        memcpy(buf + max, "...", 4);
    } else {
        memcpy(buf, s, n);
        buf[n] = '\0';
    }
    return buf;
}

/* One value (a number or a name) at *s; into *v. */
static int parse_value(parser *p, const field_spec *f, const char **s, const char *end, int *v)
{
    const char *b = *s;
    char q[48];
    if (b < end && is_digit(*b)) {
        long long n = 0;
        const char *c = b;
        for (; c < end && is_digit(*c); c++) {
            if (n < 1000000)
                n = n * 10 + (*c - '0');
        }
        if (n < f->min || n > f->max)
            return fail(p, "%s: %s is out of range %d-%d", f->name, quote(q, sizeof q, b, (size_t)(c - b)),
                        f->min, f->max);
        *v = (int)n;
        *s = c;
        return CHORE_OK;
    }
    if (b < end && is_alpha(*b)) {
        const char *c = b;
        while (c < end && is_alpha(*c))
            c++;
        if (f->names != NULL && c - b == 3) {
            for (int i = 0; f->names[i] != NULL; i++) {
                if (upper(b[0]) == f->names[i][0] && upper(b[1]) == f->names[i][1] &&
                    upper(b[2]) == f->names[i][2]) {
                    *v = f->min + i;
                    *s = c;
                    return CHORE_OK;
                }
            }
        }
        return fail(p, "%s: unknown name '%s'", f->name, quote(q, sizeof q, b, (size_t)(c - b)));
    }
    if (b == end)
        return fail(p, "%s: empty value", f->name);
    return fail(p, "%s: unexpected '%s'", f->name, quote(q, sizeof q, b, (size_t)(end - b)));
}

/* One list element: *, a, a-b, with an optional /step. Sets bits in *mask. */
static int parse_element(parser *p, const field_spec *f, const char *s, const char *end,
                         uint64_t *mask)
{
    char q[48];
    if (s == end)
        return fail(p, "%s: empty element in list", f->name);
    int lo, hi, step = 1, rc;
    bool open_range = false; /* "a/n": a to the field's end */
    if (*s == '*') {
        lo = f->min;
        hi = f->name == specs[CRON_DOW].name ? 6 : f->max; /* 7 is Sunday again */
        s++;
    } else {
        if ((rc = parse_value(p, f, &s, end, &lo)) != CHORE_OK)
            return rc;
        hi = lo;
        if (s < end && *s == '-') {
            s++;
            if (s == end || *s == '/' || *s == ',')
                return fail(p, "%s: range %d- has no end", f->name, lo);
            if ((rc = parse_value(p, f, &s, end, &hi)) != CHORE_OK)
                return rc;
            if (hi < lo)
                return fail(p, "%s: range %d-%d is out of range (it goes backwards)", f->name, lo, hi);
        } else {
            open_range = true;
        }
    }
    if (s < end && *s == '/') {
        s++;
        const char *b = s;
        long long n = 0;
        for (; s < end && is_digit(*s); s++) {
            if (n < 1000000)
                n = n * 10 + (*s - '0');
        }
        int span = f->max - f->min + 1 - (f->name == specs[CRON_DOW].name);
        if (s == b)
            return fail(p, "%s: missing step after '/'", f->name);
        if (n == 0)
            return fail(p, "%s: step 0", f->name);
        if (n > span)
            return fail(p, "%s: step %s is out of range 1-%d", f->name,
                        quote(q, sizeof q, b, (size_t)(s - b)), span);
        step = (int)n;
        if (open_range)
            hi = f->name == specs[CRON_DOW].name ? (lo > 6 ? lo : 6) : f->max;
    }
    if (s < end)
        return fail(p, "%s: trailing garbage '%s'", f->name, quote(q, sizeof q, s, (size_t)(end - s)));
    for (int v = lo; v <= hi; v += step)
        *mask |= 1ULL << v;
    return CHORE_OK;
}

/* One whole field (a comma list). */
static int parse_field(parser *p, enum cron_field which, const char *s, const char *end,
                       uint64_t *mask, int *star_step)
{
    const field_spec *f = &specs[which];
    *mask = 0;
    *star_step = 0;
    if (s == end)
        return fail(p, "%s: empty field", f->name);
    const char *whole = s;
    for (;;) {
        const char *comma = memchr(s, ',', (size_t)(end - s));
        const char *e = comma == NULL ? end : comma;
        int rc = parse_element(p, f, s, e, mask);
        if (rc != CHORE_OK)
            return rc;
        if (comma == NULL)
            break;
        s = comma + 1;
        if (s == end)
            return fail(p, "%s: empty element in list", f->name);
    }
    if (end - whole == 1 && *whole == '*')
        *star_step = 1;
    else if (end - whole > 2 && whole[0] == '*' && whole[1] == '/' &&
             memchr(whole, ',', (size_t)(end - whole)) == NULL)
        *star_step = atoi(whole + 2); /* checked above: 1..60 */
    if (which == CRON_DOW && (*mask & (1u << 7))) /* 7 is Sunday too */
        *mask = (*mask & 0x7f) | 1u;
    return CHORE_OK;
}

/* @every's duration: <digits><unit> parts, units d h m s ms, largest first, each once. */
static int parse_every(parser *p, const char *s, const char *end, int64_t *out)
{
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {{"d", 86400000}, {"h", 3600000}, {"ms", 1}, {"m", 60000}, {"s", 1000}};
    static const int rank[] = {0, 1, 4, 2, 3}; /* order of d h ms m s from largest */
    char q[48];
    if (s == end)
        return fail(p, "@every: missing duration (e.g. 90s, 1h30m)");
    const char *whole = s;
    int64_t total = 0;
    int last_rank = -1;
    while (s < end) {
        const char *b = s;
        int64_t n = 0;
        for (; s < end && is_digit(*s); s++) {
            if (n > EVERY_MAX_MS)
                return fail(p, "@every: duration '%s' is out of range (at most 100 years)",
                            quote(q, sizeof q, whole, (size_t)(end - whole)));
            n = n * 10 + (*s - '0');
        }
        if (s == b)
            return fail(p, "@every: bad duration '%s' (expected e.g. 90s, 1h30m)",
                        quote(q, sizeof q, whole, (size_t)(end - whole)));
        int u = -1;
        for (int i = 0; i < 5 && u < 0; i++) {
            size_t ul = strlen(units[i].unit);
            if ((size_t)(end - s) >= ul && memcmp(s, units[i].unit, ul) == 0 &&
                (i != 3 || s + 1 == end || s[1] != 's'))
                u = i;
        }
        if (u < 0)
            return fail(p, "@every: bad unit in '%s' (units: d h m s ms)",
                        quote(q, sizeof q, whole, (size_t)(end - whole)));
        if (rank[u] <= last_rank)
            return fail(p, "@every: units of '%s' must each appear once, largest first",
                        quote(q, sizeof q, whole, (size_t)(end - whole)));
        last_rank = rank[u];
        s += strlen(units[u].unit);
        if (n > EVERY_MAX_MS / units[u].ms || total + n * units[u].ms > EVERY_MAX_MS)
            return fail(p, "@every: duration '%s' is out of range (at most 100 years)",
                        quote(q, sizeof q, whole, (size_t)(end - whole)));
        total += n * units[u].ms;
    }
    if (total < 1000)
        return fail(p, "@every: duration '%s' is out of range (at least 1s)",
                    quote(q, sizeof q, whole, (size_t)(end - whole)));
    if (total % 1000 != 0) /* slots fall on whole seconds */
        return fail(p, "@every: duration '%s' is not a whole number of seconds",
                    quote(q, sizeof q, whole, (size_t)(end - whole)));
    *out = total;
    return CHORE_OK;
}

/* The next whitespace-separated token of [*s, end). */
static bool next_token(const char **s, const char *end, const char **tb, const char **te)
{
    const char *c = *s;
    while (c < end && is_space(*c))
        c++;
    if (c == end)
        return false;
    *tb = c;
    while (c < end && !is_space(*c))
        c++;
    *te = c;
    *s = c;
    return true;
}

static const struct {
    const char *name;
    const char *fields;
} descriptors[] = {
    {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
    {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"},
};

static bool token_is(const char *b, const char *e, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(e - b) != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = b[i] >= 'A' && b[i] <= 'Z' ? (char)(b[i] - 'A' + 'a') : b[i];
        if (c != word[i])
            return false;
    }
    return true;
}

/* The fields of a 5- or 6-field expression into c. */
static int parse_fields(parser *p, const char *s, const char *end, chore_cron *c)
{
    const char *tb[8], *te[8];
    int n = 0;
    const char *cur = s;
    const char *b, *e;
    while (next_token(&cur, end, &b, &e)) {
        if (n < 8) {
            tb[n] = b;
            te[n] = e;
        }
        n++;
    }
    if (n != 5 && n != 6)
        return fail(p, "expected 5 or 6 fields (6 = seconds first), got %d", n);
    int first = n == 6 ? CRON_SEC : CRON_MIN;
    uint64_t masks[CRON_NFIELDS] = {1, 0, 0, 0, 0, 0}; /* 5 fields: at second 0 */
    c->star_step[CRON_SEC] = 0;
    for (int i = 0; i < n; i++) {
        int rc = parse_field(p, (enum cron_field)(first + i), tb[i], te[i], &masks[first + i],
                             &c->star_step[first + i]);
        if (rc != CHORE_OK)
            return rc;
    }
    c->has_seconds = n == 6;
    c->sec = masks[CRON_SEC];
    c->min = masks[CRON_MIN];
    c->hour = (uint32_t)masks[CRON_HOUR];
    c->dom = (uint32_t)masks[CRON_DOM];
    c->mon = (uint16_t)masks[CRON_MON];
    c->dow = (uint8_t)masks[CRON_DOW];
    c->dom_star = *tb[CRON_DOM - first] == '*';
    c->dow_star = *tb[CRON_DOW - first] == '*';
    c->wall_clock = *tb[CRON_MIN - first] != '*' && *tb[CRON_HOUR - first] != '*';
    for (int w = 0; w < 7; w++) {
        uint32_t days = 0;
        for (int d = 1; d <= 31; d++) {
            if (c->dow & (1u << ((w + d - 1) % 7)))
                days |= 1u << d;
        }
        c->dow_days[w] = days;
    }
    return CHORE_OK;
}

static int load_zone(parser *p, const char *name, cron_zone_loader load, void *ud, tz **out)
{
    char q[48];
    if (!tz_name_valid(name))
        return fail(p, "zone: invalid zone name '%s'", quote(q, sizeof q, name, strlen(name)));
    int rc = load != NULL ? load(ud, name, out) : tz_load(name, out);
    if (rc == CHORE_ENOTFOUND)
        return fail(p, "zone: unknown time zone '%s'", name), CHORE_ENOTFOUND;
    if (rc == CHORE_EINVAL)
        return fail(p, "zone: '%s' is not a usable time zone file", name);
    if (rc != CHORE_OK) {
        if (p->errlen > 0)
            snprintf(p->err, p->errlen, "zone: %s", chore_strerror(rc));
        return rc;
    }
    return CHORE_OK;
}

int cron_parse(chore_cron **out, const char *expr, const char *zone, cron_zone_loader load,
               void *ud, char *err, size_t errlen)
{
    parser p = {.err = err, .errlen = errlen};
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    else
        p.errlen = 0;
    if (out == NULL)
        return fail(&p, "no place for the result");
    *out = NULL;
    if (expr == NULL)
        return fail(&p, "no expression");
    const char *s = expr, *end = expr + strlen(expr);
    char zone_buf[TZ_NAME_MAX + 2];
    const char *b, *e;
    const char *cur = s;
    if (next_token(&cur, end, &b, &e) && (size_t)(e - b) >= 8 && memcmp(b, "CRON_TZ=", 8) == 0) {
        size_t zl = (size_t)(e - b) - 8;
        if (zl == 0)
            return fail(&p, "CRON_TZ: empty zone name");
        if (zl > TZ_NAME_MAX)
            return fail(&p, "CRON_TZ: zone name too long");
        memcpy(zone_buf, b + 8, zl);
        zone_buf[zl] = '\0';
        zone = zone_buf;
        s = cur;
    }

    chore_cron *c = calloc(1, sizeof *c);
    if (c == NULL)
        return fail(&p, "out of memory"), CHORE_ENOMEM;
    int rc;
    cur = s;
    if (next_token(&cur, end, &b, &e) && *b == '@') {
        if (token_is(b, e, "@every")) {
            const char *db, *de;
            if (!next_token(&cur, end, &db, &de)) {
                rc = parse_every(&p, cur, cur, &c->every_ms);
            } else {
                rc = parse_every(&p, db, de, &c->every_ms);
                const char *gb, *ge;
                if (rc == CHORE_OK && next_token(&cur, end, &gb, &ge)) {
                    char q[48];
                    rc = fail(&p, "@every: trailing garbage '%s'",
                              quote(q, sizeof q, gb, (size_t)(end - gb)));
                }
            }
            c->has_seconds = true;
        } else {
            size_t i = 0, nd = sizeof descriptors / sizeof descriptors[0];
            while (i < nd && !token_is(b, e, descriptors[i].name))
                i++;
            char q[48];
            const char *gb, *ge;
            if (i == nd) {
                rc = fail(&p, "unknown descriptor '%s' (known: @yearly @annually @monthly "
                              "@weekly @daily @midnight @hourly @every)",
                          quote(q, sizeof q, b, (size_t)(e - b)));
            } else if (next_token(&cur, end, &gb, &ge)) {
                rc = fail(&p, "%s: trailing garbage '%s'", descriptors[i].name,
                          quote(q, sizeof q, gb, (size_t)(end - gb)));
            } else {
                const char *f = descriptors[i].fields;
                rc = parse_fields(&p, f, f + strlen(f), c);
            }
        }
    } else {
        rc = parse_fields(&p, s, end, c);
    }
    if (rc == CHORE_OK)
        rc = load_zone(&p, zone == NULL ? "UTC" : zone, load, ud, &c->zone);
    if (rc != CHORE_OK) {
        free(c);
        return rc;
    }
    *out = c;
    return CHORE_OK;
}
