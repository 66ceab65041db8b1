/*
 * cli_util.c — argument parsing for the `chore` binary: the table-driven
 * flag parser, integers with range checks, durations, and the one-line
 * error report; also opening a store and the JSON helpers the store
 * commands share. RFC 3339 instants are the library's (chore_time_parse,
 * chore_time_format).
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
    char buf[CHORE_TIME_TEXT_MAX];
    chore_time_format(ms, buf, sizeof buf);
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
