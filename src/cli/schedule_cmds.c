/*
 * schedule_cmds.c — `chore cron add|list|rm|pause|resume`: the durable
 * schedules of a store, managed from the command line. Each command opens
 * the store named by --store (default sqlite:chore.db) with chore_open
 * only — never chore_start — does one thing and closes it; a running
 * daemon or program fires the schedules. With --server URL the command
 * goes through that daemon's HTTP API instead (remote_schedules.c), and
 * prints the same. Every argument is checked before
 * the store is opened, so bad input (exit 2) stores nothing; a bad
 * expression or zone is reported with chore_cron_parse's own message.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chore.h"
#include "cli/cli_util.h"
#include "cli/schedule_cmds.h"
#include "remote.h"

enum { MAX_MISSED_CAP = 1000 /* the library's limit on --missed-cap */ };

/* ---------------------------------------------------------------- names of policies */

static const char *const missed_names[] = {"once", "skip", "each", NULL};
static const char *const overlap_names[] = {"allow", "skip", "queue-one", NULL};

static const char *missed_name(chore_missed m)
{
    return (unsigned)m < 3 ? missed_names[m] : "?";
}

static const char *overlap_name(chore_overlap o)
{
    return (unsigned)o < 3 ? overlap_names[o] : "?";
}

/* ---------------------------------------------------------------- JSON */

/* A string as JSON; null for NULL. */
static json_t *string_json(const char *s)
{
    return s != NULL ? json_string(s) : json_null();
}

/* Every field of a schedule as a JSON object. */
static json_t *schedule_json(const chore_schedule_info *s)
{
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    json_object_set_new(o, "name", string_json(s->name));
    json_object_set_new(o, "cron", string_json(s->cron));
    json_object_set_new(o, "zone", string_json(s->zone));
    json_object_set_new(o, "job", string_json(s->job));
    json_object_set_new(o, "payload", cli_payload_json(s->payload));
    json_object_set_new(o, "queue", string_json(s->queue));
    json_object_set_new(o, "priority", json_integer(s->priority));
    json_object_set_new(o, "max_attempts", json_integer(s->max_attempts));
    json_object_set_new(o, "timeout_ms", json_integer(s->timeout_ms));
    json_object_set_new(o, "missed", json_string(missed_name(s->missed)));
    json_object_set_new(o, "missed_cap", json_integer(s->missed_cap));
    json_object_set_new(o, "overlap", json_string(overlap_name(s->overlap)));
    json_object_set_new(o, "paused", json_boolean(s->paused));
    json_object_set_new(o, "last_fire", cli_instant_json(s->last_fire_ms));
    json_object_set_new(o, "last_job_id",
                        s->last_job_id != 0 ? json_integer(s->last_job_id) : json_null());
    json_object_set_new(o, "next_fire", cli_instant_json(s->next_fire_ms));
    return o;
}

/* Flush stdout; a failed write is a runtime failure. */
static int finish_output(const char *cmd, int status)
{
    if (fflush(stdout) != 0)
        return cli_error(CLI_FAIL, "%s: cannot write the output", cmd);
    return status;
}

/* ---------------------------------------------------------------- add */

/* Whether the store holds a schedule named `name`. Returns a CHORE_* code. */
static int schedule_exists(chore *c, const char *name, bool *exists)
{
    chore_schedule_info *items = NULL;
    size_t n = 0;
    int rc = chore_schedule_list(c, &items, &n);
    if (rc != CHORE_OK)
        return rc;
    *exists = false;
    for (size_t i = 0; i < n && !*exists; i++)
        *exists = items[i].name != NULL && strcmp(items[i].name, name) == 0;
    chore_schedule_list_free(items, n);
    return CHORE_OK;
}

int cli_cmd_cron_add(int argc, char **argv)
{
    cli_target t = {0};
    const char *positional[5] = {NULL};
    int n_positional = 0, missed = CHORE_MISSED_ONCE, overlap = CHORE_OVERLAP_ALLOW;
    chore_schedule_opts opts = {0};
    const cli_flag flags[] = {
        CLI_TARGET_FLAGS(&t),
        CLI_STRING("--tz", &opts.zone),
        CLI_STRING("--queue", &opts.queue),
        CLI_INT("--priority", &opts.priority, INT32_MIN, INT32_MAX, "not an integer"),
        CLI_INT("--max-attempts", &opts.max_attempts, 0, INT32_MAX,
                "not a count (0 = retry forever)"),
        CLI_DURATION("--timeout", &opts.timeout_ms),
        CLI_CHOICE("--missed", &missed, missed_names, "expected once, skip or each"),
        CLI_INT("--missed-cap", &opts.missed_cap, 1, MAX_MISSED_CAP, NULL),
        CLI_CHOICE("--overlap", &overlap, overlap_names, "expected allow, skip or queue-one"),
    };
    /* any number of positionals, to say more than four is an unquoted expression */
    if (cli_parse_args("cron add", argc, argv, flags, CLI_COUNT(flags), positional,
                       -(int)CLI_COUNT(positional), &n_positional) != CLI_OK)
        return CLI_USAGE;
    if (n_positional > 4)
        return cli_error(CLI_USAGE, "cron add: unexpected argument '%s' (quote the expression)",
                         positional[4]);
    if (opts.queue != NULL && !chore_name_valid(opts.queue))
        return cli_error(CLI_USAGE,
                         "--queue: not a queue name (1 to %d bytes, no control characters): "
                         "'%s'",
                         CHORE_NAME_MAX, opts.queue);
    opts.missed = (chore_missed)missed;
    opts.overlap = (chore_overlap)overlap;
    if (n_positional < 3)
        return cli_error(CLI_USAGE, "usage: chore cron add NAME EXPR JOB [PAYLOAD] [--tz ZONE] "
                                    "[--queue Q] [--priority N] [--max-attempts N] "
                                    "[--timeout DURATION] [--missed once|skip|each] "
                                    "[--missed-cap N] [--overlap allow|skip|queue-one] "
                                    "[--store URL | --server URL]");
    const char *name = positional[0], *expr = positional[1], *job = positional[2];
    const char *payload = positional[3];
    if (!chore_name_valid(name))
        return cli_error(CLI_USAGE,
                         "cron add: not a schedule name (1 to %d bytes, no control characters)",
                         CHORE_NAME_MAX);
    if (!chore_name_valid(job))
        return cli_error(CLI_USAGE,
                         "cron add: not a job name (1 to %d bytes, no control characters)",
                         CHORE_NAME_MAX);

    /* the expression and zone first, for the parser's own message */
    char err[256] = "";
    chore_cron *cron = NULL;
    int rc = chore_cron_parse(&cron, expr, opts.zone, err, sizeof err);
    chore_cron_free(cron);
    if (rc == CHORE_ENOMEM)
        return cli_error(CLI_FAIL, "cron add: out of memory");
    if (rc != CHORE_OK)
        return cli_error(CLI_USAGE, "cron add: %s", err[0] != '\0' ? err : chore_strerror(rc));
    if (cli_target_check("cron add", &t) != CLI_OK)
        return CLI_USAGE;

    bool exists = false;
    if (t.server != NULL) {
        cli_http *h = NULL;
        int status = cli_http_open(t.server, NULL, &h);
        if (status == CLI_OK)
            status = cli_remote_schedule_put(h, name, expr, job, payload, &opts, &exists);
        cli_http_close(h);
        if (status != CLI_OK)
            return status;
        printf("%s %s\n", exists ? "updated" : "added", name);
        return finish_output("cron add", CLI_OK);
    }
    chore *c = NULL;
    int status = cli_open_store(t.store, &c);
    if (status != CLI_OK)
        return status;
    rc = schedule_exists(c, name, &exists);
    if (rc == CHORE_OK)
        rc = chore_schedule(c, name, expr, job, payload, &opts);
    chore_close(c);
    if (rc == CHORE_EJSON)
        return cli_error(CLI_USAGE, "cron add: the payload is not valid JSON");
    if (rc != CHORE_OK)
        return cli_error(cli_status_for(rc), "cron add: %s", chore_strerror(rc));
    printf("%s %s\n", exists ? "updated" : "added", name);
    return finish_output("cron add", CLI_OK);
}

/* ---------------------------------------------------------------- list */

/* An instant for the table: RFC 3339 UTC, or `none` for 0. */
static void table_instant(int64_t ms, const char *none, char *buf, size_t len)
{
    if (ms == 0)
        snprintf(buf, len, "%s", none);
    else
        chore_time_format(ms, buf, len);
}

/* Longer of w and the length of s. */
static int widen(int w, const char *s)
{
    int l = s != NULL ? (int)strlen(s) : 0;
    return l > w ? l : w;
}

/* Print the schedules as an aligned table with a header; nothing when none. */
static void print_schedule_table(const chore_schedule_info *items, size_t n)
{
    if (n == 0)
        return;
    int name_w = 4, expr_w = 4, zone_w = 4, job_w = 3, last_w = 9;
    for (size_t i = 0; i < n; i++) {
        char last[40];
        table_instant(items[i].last_fire_ms, "-", last, sizeof last);
        name_w = widen(name_w, items[i].name);
        expr_w = widen(expr_w, items[i].cron);
        zone_w = widen(zone_w, items[i].zone);
        job_w = widen(job_w, items[i].job);
        last_w = widen(last_w, last);
    }
    printf("%-*s  %-*s  %-*s  %-*s  %-6s  %-*s  %s\n", name_w, "NAME", expr_w, "EXPR", zone_w,
           "ZONE", job_w, "JOB", "STATE", last_w, "LAST_FIRE", "NEXT_FIRE");
    for (size_t i = 0; i < n; i++) {
        const chore_schedule_info *s = &items[i];
        char last[40], next[40];
        table_instant(s->last_fire_ms, "-", last, sizeof last);
        table_instant(s->next_fire_ms, "never", next, sizeof next);
        printf("%-*s  %-*s  %-*s  %-*s  %-6s  %-*s  %s\n", name_w, s->name ? s->name : "",
               expr_w, s->cron ? s->cron : "", zone_w, s->zone ? s->zone : "", job_w,
               s->job ? s->job : "", s->paused ? "paused" : "active", last_w, last, next);
    }
}

/* Every schedule of the store at url. */
static int store_list(const char *url, chore_schedule_info **items, size_t *n)
{
    chore *c = NULL;
    int status = cli_open_store(url, &c);
    if (status != CLI_OK)
        return status;
    int rc = chore_schedule_list(c, items, n);
    chore_close(c);
    if (rc != CHORE_OK)
        return cli_error(cli_status_for(rc), "cron list: %s", chore_strerror(rc));
    return CLI_OK;
}

/* Every schedule of the daemon at url. */
static int remote_list(const char *url, chore_schedule_info **items, size_t *n)
{
    cli_http *h = NULL;
    int status = cli_http_open(url, NULL, &h);
    if (status == CLI_OK)
        status = cli_remote_schedules(h, "cron list", items, n);
    cli_http_close(h);
    return status;
}

int cli_cmd_cron_list(int argc, char **argv)
{
    cli_target t = {0};
    bool json = false;
    const cli_flag flags[] = {CLI_BOOL("--json", &json), CLI_TARGET_FLAGS(&t)};
    if (cli_parse_args("cron list", argc, argv, flags, CLI_COUNT(flags), NULL, 0, NULL) !=
            CLI_OK ||
        cli_target_check("cron list", &t) != CLI_OK)
        return CLI_USAGE;
    chore_schedule_info *items = NULL;
    size_t n = 0;
    int status = t.server != NULL ? remote_list(t.server, &items, &n) : store_list(t.store, &items, &n);
    if (status != CLI_OK)
        return status;
    if (json) {
        json_t *root = json_object(), *arr = json_array();
        if (root == NULL || arr == NULL) {
            json_decref(root);
            json_decref(arr);
            status = cli_error(CLI_FAIL, "out of memory");
        } else {
            for (size_t i = 0; i < n; i++)
                json_array_append_new(arr, schedule_json(&items[i]));
            json_object_set_new(root, "schedules", arr);
            status = cli_print_json(root);
        }
    } else {
        print_schedule_table(items, n);
    }
    chore_schedule_list_free(items, n);
    return finish_output("cron list", status);
}

/* ---------------------------------------------------------------- rm, pause, resume */

/* Parse "NAME [--store URL | --server URL]", run `change` (or the route
 * `action`, NULL for DELETE, on a daemon) on NAME and print "<done> NAME".
 * An unknown schedule is a runtime failure (exit 1); a daemon's 404 is an
 * exit 2, as for every 4xx answer. */
static int schedule_change(const char *cmd, int (*change)(chore *, const char *),
                           const char *action, const char *done, int argc, char **argv)
{
    cli_target t = {0};
    const char *name = NULL;
    const cli_flag flags[] = {CLI_TARGET_FLAGS(&t)};
    if (cli_parse_args(cmd, argc, argv, flags, CLI_COUNT(flags), &name, 1, NULL) != CLI_OK)
        return CLI_USAGE;
    if (name == NULL || name[0] == '\0')
        return cli_error(CLI_USAGE, "%s: missing schedule NAME", cmd);
    if (cli_target_check(cmd, &t) != CLI_OK)
        return CLI_USAGE;
    int status;
    if (t.server != NULL) {
        cli_http *h = NULL;
        if ((status = cli_http_open(t.server, NULL, &h)) == CLI_OK)
            status = cli_remote_schedule_change(h, cmd, action, name);
        cli_http_close(h);
        if (status != CLI_OK)
            return status;
        printf("%s %s\n", done, name);
        return finish_output(cmd, CLI_OK);
    }
    chore *c = NULL;
    status = cli_open_store(t.store, &c);
    if (status != CLI_OK)
        return status;
    int rc = change(c, name);
    chore_close(c);
    if (rc == CHORE_ENOTFOUND)
        return cli_error(CLI_FAIL, "%s: no schedule named %s", cmd, name);
    if (rc != CHORE_OK)
        return cli_error(cli_status_for(rc), "%s %s: %s", cmd, name, chore_strerror(rc));
    printf("%s %s\n", done, name);
    return finish_output(cmd, CLI_OK);
}

int cli_cmd_cron_rm(int argc, char **argv)
{
    return schedule_change("cron rm", chore_unschedule, NULL, "removed", argc, argv);
}

int cli_cmd_cron_pause(int argc, char **argv)
{
    return schedule_change("cron pause", chore_schedule_pause, "pause", "paused", argc, argv);
}

int cli_cmd_cron_resume(int argc, char **argv)
{
    return schedule_change("cron resume", chore_schedule_resume, "resume", "resumed", argc, argv);
}
