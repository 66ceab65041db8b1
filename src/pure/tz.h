/*
 * tz.h — time zones from the system's tz database, without the C library's
 * global TZ state (no setenv("TZ"), no localtime): a zone is an immutable,
 * reference-counted object that any number of threads may read at once.
 *
 * tz_parse (pure) turns the bytes of a TZif file (RFC 8536; v1, or v2+ with
 * its 64-bit section and the footer's POSIX TZ rule for instants after the
 * last transition) into a zone. tz_load (the one part that does I/O, in
 * tz_load.c) reads /usr/share/zoneinfo/NAME and calls tz_parse; "UTC" and
 * "Etc/UTC" work without any file.
 *
 * Times here are whole seconds: instants are seconds since the Unix epoch
 * (UTC); "local" times are the local civil time written as if it were UTC,
 * so that civil_* below decompose them.
 */
#ifndef CHORE_TZ_H
#define CHORE_TZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct tz tz;

/* Where tz_load looks for zone files. */
#define TZ_DEFAULT_DIR "/usr/share/zoneinfo"
/* The longest zone name accepted. */
#define TZ_NAME_MAX 255

/*
 * A stretch of time with one UTC offset: [start, end) in instants (start
 * may be INT64_MIN, end INT64_MAX). prev_off is the offset just before
 * start (== off when nothing changes there). A boundary may separate two
 * stretches with the same offset (a change of name or of isdst only).
 */
typedef struct tz_seg {
    int64_t start, end;
    int32_t off, prev_off; /* seconds east of UTC */
} tz_seg;

/*
 * Parse the bytes of a TZif file into a zone named `name`. Pure.
 * CHORE_EINVAL when the data is not a valid TZif file (or uses leap
 * seconds, which are not supported); CHORE_ENOMEM.
 */
int tz_parse(const uint8_t *data, size_t len, const char *name, tz **out);

/* A zone with a fixed offset (seconds east of UTC) and no transitions. */
int tz_fixed(const char *name, int32_t off, tz **out);

/* True when `name` may name a zone: [A-Za-z0-9_+-/] only, not empty, not
 * absolute, no "..", at most TZ_NAME_MAX bytes. */
bool tz_name_valid(const char *name);

/*
 * Load zone `name` from TZ_DEFAULT_DIR (tz_load) or from `dir`
 * (tz_load_dir). CHORE_EINVAL for a name tz_name_valid refuses or a file
 * that is not a valid TZif file, CHORE_ENOTFOUND when there is no such
 * zone, CHORE_ENOMEM. "UTC" and "Etc/UTC" never touch the disk.
 */
int tz_load(const char *name, tz **out);
int tz_load_dir(const char *dir, const char *name, tz **out);

/* Take another reference to z (thread-safe); returns z. */
tz *tz_ref(tz *z);
/* Drop a reference; the last one frees. NULL is a no-op. */
void tz_free(tz *z);

/* The zone's name, as given to tz_parse / tz_load. */
const char *tz_name(const tz *z);

/* The stretch of constant offset holding instant t. */
void tz_segment(const tz *z, int64_t t, tz_seg *out);
/* The UTC offset (seconds east) at instant t. */
int32_t tz_offset(const tz *z, int64_t t);

/* ---- civil (proleptic Gregorian) calendar arithmetic, all pure ---- */

/* Days since 1970-01-01 of y-m-d (m 1..12, d 1..31). */
int64_t civil_days(int64_t y, int m, int d);
/* The date of a day number from civil_days. */
void civil_from_days(int64_t days, int64_t *y, int *m, int *d);
/* 0 = Sunday … 6 = Saturday, of a day number. */
int civil_weekday(int64_t days);
/* Days in month m of year y. */
int civil_month_days(int64_t y, int m);
bool civil_is_leap(int64_t y);

#endif /* CHORE_TZ_H */
