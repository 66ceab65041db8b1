/*
 * cron.h — cron expressions, private side: the parsed form (bitmasks per
 * field), the parser and next-fire search, for the public chore_cron_*
 * functions and for the durable schedules built on them.
 *
 * Parsing and the search are pure. The only I/O is loading the zone, which
 * goes through a caller-supplied loader (tz_load by default) so that a
 * scheduler can share loaded zones between its schedules.
 */
#ifndef CHORE_CRON_H
#define CHORE_CRON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chore.h"
#include "pure/tz.h"

/* The fields of a 6-field expression, in order (5 fields start at MINUTE). */
enum cron_field { CRON_SEC, CRON_MIN, CRON_HOUR, CRON_DOM, CRON_MON, CRON_DOW, CRON_NFIELDS };

/* "No fire": what cron_next_s returns when none comes. */
#define CRON_NEVER INT64_MAX

/* The instants chore_cron_next works in: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z. */
#define CRON_MIN_S (-62135596800LL)
#define CRON_MAX_S 253402300799LL

/* A parsed expression. Immutable after parsing: any number of threads may
 * call cron_next_s / chore_cron_next on one at once. */
struct chore_cron {
    uint64_t sec;  /* bits 0..59 */
    uint64_t min;  /* bits 0..59 */
    uint32_t hour; /* bits 0..23 */
    uint32_t dom;  /* bits 1..31 */
    uint16_t mon;  /* bits 1..12 */
    uint8_t dow;   /* bits 0..6, 0 = Sunday */
    bool dom_star, dow_star; /* the field starts with '*' (Vixie's DOM_STAR/DOW_STAR) */
    bool wall_clock;         /* minute and hour both do not start with '*' */
    bool has_seconds;        /* 6 fields (or @every) */
    /* days 1..31 of a month whose 1st falls on weekday w that match the
     * day-of-week field: dow_days[w] */
    uint32_t dow_days[7];
    /* for explain: 1 when the field is "*", n when it is "*" "/n", else 0 */
    int star_step[CRON_NFIELDS];
    int64_t every_ms; /* > 0: an @every expression (the fields are unused) */
    tz *zone;         /* never NULL once parsed */
};

/* Load zone `name` into *out (a new reference); CHORE_* code. */
typedef int (*cron_zone_loader)(void *ud, const char *name, tz **out);

/*
 * Parse `expr` (syntax in docs/CRON.md). The zone is `zone` (NULL = UTC)
 * unless expr starts with "CRON_TZ=Name ". Zones come from load(ud, …)
 * (load NULL = tz_load). On failure err (when errlen > 0) holds one line
 * naming the field and the problem. Returns CHORE_EINVAL for a bad
 * expression or zone name, CHORE_ENOTFOUND for an unknown zone,
 * CHORE_ENOMEM.
 */
int cron_parse(chore_cron **out, const char *expr, const char *zone, cron_zone_loader load,
               void *ud, char *err, size_t errlen);

/*
 * The first fire at or after instant t (seconds), CRON_NEVER when none
 * comes before local year t's + 401 (the calendar repeats every 400
 * years). Daylight saving time as docs/CRON.md says. Not for @every.
 */
int64_t cron_next_s(const chore_cron *c, int64_t t);

/* The first local civil time (seconds, as if UTC) at or after `local` that
 * the fields match, or CRON_NEVER. Exposed for tests. */
int64_t cron_next_local(const chore_cron *c, int64_t local);

#endif /* CHORE_CRON_H */
