/*
 * loops_cmd.c — `chore loops [--json] [--server URL]`: the health of every
 * loop of a running daemon, from GET /v1/loops. Loops live in a process,
 * not in the store, so this command always asks a daemon (by default
 * http://127.0.0.1:7700). --json prints the API's answer as it came.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_util.h"
#include "http_client.h"
#include "remote.h"

enum { ERROR_WIDTH = 40 }; /* the table's LAST_ERROR column, at most */

/* One loop's fields as the table shows them. */
typedef struct loop_row {
    const char *name;
    const char *state;
    int64_t runs, skips, failures, consecutive;
    char last_success[24];
    char next_tick[24];
    char error[ERROR_WIDTH + 1];
} loop_row;

/* A span as "850ms", "42s", "7m", "3h", "2d": the largest whole unit. */
static void span(int64_t ms, char *buf, size_t len)
{
    if (ms < 1000)
        snprintf(buf, len, "%" PRId64 "ms", ms);
    else if (ms < 60 * 1000)
        snprintf(buf, len, "%" PRId64 "s", ms / 1000);
    else if (ms < 3600 * 1000)
        snprintf(buf, len, "%" PRId64 "m", ms / 60000);
    else if (ms < 86400 * 1000)
        snprintf(buf, len, "%" PRId64 "h", ms / 3600000);
    else
        snprintf(buf, len, "%" PRId64 "d", ms / 86400000);
}

/* An instant relative to now: "3s ago", "in 2s", or `none` for never. */
static void relative(int64_t at, int64_t now, const char *none, char *buf, size_t len)
{
    char s[16];
    if (at == 0) {
        snprintf(buf, len, "%s", none);
    } else if (at <= now) {
        span(now - at, s, sizeof s);
        snprintf(buf, len, "%s ago", s);
    } else {
        span(at - now, s, sizeof s);
        snprintf(buf, len, "in %s", s);
    }
}

/* Read one loop object into a row; false when malformed. */
static bool row_from_json(json_t *o, int64_t now, loop_row *r)
{
    memset(r, 0, sizeof *r);
    int64_t success = 0, next = 0;
    json_t *paused = json_object_get(o, "paused"), *stopped = json_object_get(o, "stopped");
    json_t *err = json_object_get(o, "last_error");
    r->name = json_string_value(json_object_get(o, "name"));
    if (r->name == NULL || !json_is_boolean(paused) || !json_is_boolean(stopped) ||
        !(json_is_null(err) || json_is_string(err)) ||
        !cli_json_int(o, "runs", 0, INT64_MAX, &r->runs) ||
        !cli_json_int(o, "skips", 0, INT64_MAX, &r->skips) ||
        !cli_json_int(o, "failures", 0, INT64_MAX, &r->failures) ||
        !cli_json_int(o, "consecutive_failures", 0, INT64_MAX, &r->consecutive) ||
        !cli_json_instant(o, "last_success", &success) ||
        !cli_json_instant(o, "next_tick", &next))
        return false;
    r->state = json_is_true(stopped)  ? "stopped"
               : json_is_true(paused) ? "paused"
               : r->consecutive > 0   ? "failing"
                                      : "ok";
    relative(success, now, "never", r->last_success, sizeof r->last_success);
    relative(next, now, "-", r->next_tick, sizeof r->next_tick);
    /* an error is shortened to fit the line, on one line */
    const char *e = json_is_string(err) ? json_string_value(err) : "-";
    size_t len = strlen(e);
    if (len > ERROR_WIDTH)
        snprintf(r->error, sizeof r->error, "%.*s...", ERROR_WIDTH - 3, e);
    else
        snprintf(r->error, sizeof r->error, "%s", e);
    for (char *p = r->error; *p != '\0'; p++) {
        if (*p == '\n' || *p == '\r' || *p == '\t')
            *p = ' ';
    }
    return true;
}

/* Print the loops of the API's array as an aligned table. */
static int print_table(json_t *loops)
{
    size_t n = json_array_size(loops);
    loop_row *rows = calloc(n > 0 ? n : 1, sizeof *rows);
    if (rows == NULL)
        return cli_error(CLI_FAIL, "out of memory");
    int64_t now = cli_real_us() / 1000;
    int name_w = 4;
    for (size_t i = 0; i < n; i++) {
        if (!row_from_json(json_array_get(loops, i), now, &rows[i])) {
            free(rows);
            return cli_error(CLI_FAIL, "loops: the server's answer is not the chore API's");
        }
        int l = (int)strlen(rows[i].name);
        name_w = l > name_w ? l : name_w;
    }
    printf("%-*s  %-7s  %8s  %8s  %8s  %6s  %-12s  %-10s  %s\n", name_w, "NAME", "STATE", "RUNS",
           "SKIPS", "FAILURES", "CONSEC", "LAST_SUCCESS", "NEXT_TICK", "LAST_ERROR");
    for (size_t i = 0; i < n; i++) {
        const loop_row *r = &rows[i];
        printf("%-*s  %-7s  %8" PRId64 "  %8" PRId64 "  %8" PRId64 "  %6" PRId64
               "  %-12s  %-10s  %s\n",
               name_w, r->name, r->state, r->runs, r->skips, r->failures, r->consecutive,
               r->last_success, r->next_tick, r->error);
    }
    free(rows);
    return CLI_OK;
}

int cli_cmd_loops(int argc, char **argv)
{
    const char *server = CLI_DEFAULT_SERVER;
    bool json = false;
    const cli_flag flags[] = {CLI_BOOL("--json", &json), CLI_STRING("--server", &server)};
    if (cli_parse_args("loops", argc, argv, flags, CLI_COUNT(flags), NULL, 0, NULL) != CLI_OK)
        return CLI_USAGE;
    cli_http *h = NULL;
    json_t *resp = NULL;
    int status = cli_http_open(server, NULL, &h);
    if (status == CLI_OK)
        status = cli_http_call(h, "loops", "GET", "/v1/loops", NULL, NULL, &resp);
    cli_http_close(h);
    if (status != CLI_OK)
        return status;
    json_t *loops = json_object_get(resp, "loops");
    if (!json_is_array(loops))
        status = cli_error(CLI_FAIL, "loops: the server's answer is not the chore API's");
    else if (json)
        status = cli_print_json(json_incref(resp));
    else
        status = print_table(loops);
    json_decref(resp);
    if (status == CLI_OK && fflush(stdout) != 0)
        return cli_error(CLI_FAIL, "loops: cannot write the output");
    return status;
}
