/*
 * cli_util.c — argument parsing for the `chore` binary: the table-driven
 * flag parser, integers with range checks, durations, RFC 3339 instants
 * (UTC calendar arithmetic done here, so the TZ environment never
 * matters), and the one-line error report; also opening a store and the
 * JSON helpers the store commands share.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli_util.h"

#define MS_PER_DAY (86400LL * 1000)

int cli_error(int status, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    /* one line, whatever the message holds */
    for (char *p = line; *p != '\0'; p++) {
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    }
    fprintf(stderr, "chore: %s\n", line);
    return status;
}

int cli_status_for(int rc)
{
    return rc == CHORE_EINVAL || rc == CHORE_EJSON ? CLI_USAGE : CLI_FAIL;
}

int cli_target_check(const char *cmd, cli_target *t)
{
    if (t->store != NULL && t->server != NULL)
        return cli_error(CLI_USAGE, "%s: give --store or --server, not both", cmd);
    if (t->server != NULL && t->server[0] == '\0')
        return cli_error(CLI_USAGE, "--server: needs a URL like http://127.0.0.1:7700");
    if (t->store == NULL)
        t->store = CLI_DEFAULT_STORE;
    return CLI_OK;
}

int cli_open_store(const char *url, chore **out)
{
    chore_config cfg = {.store = url, .workers = 1};
    int rc = chore_open(out, &cfg);
    if (rc != CHORE_OK)
        return cli_error(cli_status_for(rc), "cannot open store %s: %s", url, chore_strerror(rc));
    return CLI_OK;
}

/*
 * Match argv[*i] against the flag `name` ("--queue") taking a value, given
 * as "--queue VALUE" or "--queue=VALUE". Returns 1 and sets *value (moving
 * *i past the value) when it matched, 0 when argv[*i] is another argument,
 * -1 when it matched but the value is missing (reported on stderr).
 */
static int flag_value(int argc, char **argv, int *i, const char *name, const char **value)
{
    const char *arg = argv[*i];
    size_t len = strlen(name);
    if (strncmp(arg, name, len) != 0)
        return 0;
    if (arg[len] == '=') {
        *value = arg + len + 1;
        return 1;
    }
    if (arg[len] != '\0')
        return 0;
    if (*i + 1 >= argc) {
        cli_error(CLI_USAGE, "%s needs a value", name);
        return -1;
    }
    *i += 1;
    *value = argv[*i];
    return 1;
}

/* Store `value` (NULL for a bool) through f->dest; false when it is not a
 * value of f->kind. */
static bool set_flag(const cli_flag *f, const char *value)
{
    switch (f->kind) {
    case CLI_FLAG_BOOL:
        *(bool *)f->dest = true;
        return true;
    case CLI_FLAG_STRING:
        *(const char **)f->dest = value;
        return true;
    case CLI_FLAG_INT: {
        int64_t v;
        if (!cli_parse_int64(value, f->min, f->max, &v))
            return false;
        *(int *)f->dest = (int)v;
        return true;
    }
    case CLI_FLAG_INT64:
        return cli_parse_int64(value, f->min, f->max, f->dest);
    case CLI_FLAG_DURATION:
        return cli_parse_duration_ms(value, f->dest);
    case CLI_FLAG_CHOICE:
        for (int k = 0; f->choices[k] != NULL; k++) {
            if (strcmp(f->choices[k], value) == 0) {
                *(int *)f->dest = k;
                return true;
            }
        }
        return false;
    }
    return false;
}

/* Report a bad value of f: "--limit: not a number from 1 to 10000: 'x'". */
static int bad_value(const cli_flag *f, const char *value)
{
    if (f->why != NULL)
        return cli_error(CLI_USAGE, "%s: %s: '%s'", f->name, f->why, value);
    if (f->kind == CLI_FLAG_DURATION)
        return cli_error(CLI_USAGE, "%s: not a duration like 90s, 1h30m or 500ms: '%s'", f->name,
                         value);
    return cli_error(CLI_USAGE, "%s: not a number from %" PRId64 " to %" PRId64 ": '%s'",
                     f->name, f->min, f->max, value);
}

int cli_parse_args(const char *cmd, int argc, char **argv, const cli_flag *flags, size_t n_flags,
                   const char **positional, int max_positional, int *n_positional)
{
    bool flags_done = false;
    int n = 0;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (flags_done || arg[0] != '-' || arg[1] == '\0') {
            if (n == max_positional)
                return cli_error(CLI_USAGE, "%s: unexpected argument '%s'", cmd, arg);
            if (n < (max_positional < 0 ? -max_positional : max_positional))
                positional[n] = arg;
            n++;
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            flags_done = true;
            continue;
        }
        const cli_flag *f = NULL;
        const char *value = NULL;
        for (size_t k = 0; k < n_flags && f == NULL; k++) {
            if (flags[k].kind == CLI_FLAG_BOOL) {
                if (strcmp(arg, flags[k].name) == 0)
                    f = &flags[k];
                continue;
            }
            int m = flag_value(argc, argv, &i, flags[k].name, &value);
            if (m < 0)
                return CLI_USAGE;
            if (m > 0)
                f = &flags[k];
        }
        if (f == NULL)
            return cli_error(CLI_USAGE, "%s: unknown flag '%s'", cmd, arg);
        if (!set_flag(f, value))
            return bad_value(f, value);
    }
    if (n_positional != NULL)
        *n_positional = n;
    return CLI_OK;
}

json_t *cli_instant_json(int64_t ms)
{
    if (ms == 0)
        return json_null();
    char buf[40];
    cli_format_rfc3339_ms(ms, buf, sizeof buf);
    return json_string(buf);
}

json_t *cli_payload_json(const char *payload)
{
    if (payload == NULL)
        return json_null();
    json_t *v = json_loads(payload, JSON_DECODE_ANY, NULL);
    return v != NULL ? v : json_string(payload);
}

int cli_print_json(json_t *v)
{
    char *text = v != NULL ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    json_decref(v);
    if (text == NULL)
        return cli_error(CLI_FAIL, "out of memory");
    puts(text);
    free(text);
    return CLI_OK;
}

bool cli_parse_int64(const char *text, int64_t min, int64_t max, int64_t *out)
{
    if (text == NULL || text[0] == '\0' || isspace((unsigned char)text[0]))
        return false;
    errno = 0;
    char *end = NULL;
    long long v = strtoll(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < min || v > max)
        return false;
    *out = (int64_t)v;
    return true;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* The date of a day number counted from 1970-01-01. */
static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
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

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Read exactly `n` digits at *p into *out. */
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

bool cli_parse_rfc3339_ms(const char *text, int64_t *out_ms)
{
    static const int month_days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (text == NULL)
        return false;
    const char *p = text;
    int year, mon, day, hour, min, sec;
    if (!digits(&p, 4, &year) || !expect(&p, '-') || !digits(&p, 2, &mon) ||
        !expect(&p, '-') || !digits(&p, 2, &day))
        return false;
    if (*p != 'T' && *p != 't' && *p != ' ')
        return false;
    p++;
    if (!digits(&p, 2, &hour) || !expect(&p, ':') || !digits(&p, 2, &min) ||
        !expect(&p, ':') || !digits(&p, 2, &sec))
        return false;
    if (mon < 1 || mon > 12 || day < 1 || hour > 23 || min > 59 || sec > 60)
        return false;
    int max_day = month_days[mon - 1] + (mon == 2 && is_leap(year));
    if (day > max_day)
        return false;
    int frac_ms = 0;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return false;
        for (int scale = 100; isdigit((unsigned char)*p); p++, scale /= 10)
            frac_ms += (*p - '0') * scale; /* digits past the third add 0 */
    }
    int64_t offset_ms = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1;
        int oh, om;
        p++;
        if (!digits(&p, 2, &oh) || !expect(&p, ':') || !digits(&p, 2, &om) || oh > 23 ||
            om > 59)
            return false;
        offset_ms = sign * ((int64_t)oh * 3600000 + (int64_t)om * 60000);
    } else {
        return false;
    }
    if (*p != '\0')
        return false;
    int64_t ms = days_from_civil(year, mon, day) * MS_PER_DAY +
                 ((int64_t)hour * 3600 + min * 60 + sec) * 1000 + frac_ms;
    *out_ms = ms - offset_ms; /* local = UTC + offset */
    return true;
}

void cli_format_rfc3339_ms(int64_t ms, char *buf, size_t len)
{
    int64_t days = ms / MS_PER_DAY, rem = ms % MS_PER_DAY;
    if (rem < 0) { /* floor division for instants before 1970 */
        rem += MS_PER_DAY;
        days--;
    }
    int64_t y;
    int m, d;
    civil_from_days(days, &y, &m, &d);
    int secs = (int)(rem / 1000), millis = (int)(rem % 1000);
    if (millis != 0)
        snprintf(buf, len, "%04" PRId64 "-%02d-%02dT%02d:%02d:%02d.%03dZ", y, m, d, secs / 3600,
                 secs / 60 % 60, secs % 60, millis);
    else
        snprintf(buf, len, "%04" PRId64 "-%02d-%02dT%02d:%02d:%02dZ", y, m, d, secs / 3600,
                 secs / 60 % 60, secs % 60);
}

int64_t cli_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

double cli_mono_s(void)
{
    return (double)cli_mono_us() / 1e6;
}

int64_t cli_real_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
