/*
 * admin_cmds.c — the admin commands of `chore`: enqueue, jobs, job, retry
 * and cancel. Each opens the store named by --store (default
 * sqlite:chore.db) through the public API without starting any thread,
 * does one thing, and closes it; or, with --server URL, does the same
 * through a running daemon's HTTP API (remote_jobs.c), whose answers come
 * back as the same structs, printed by the same code.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chore.h"
#include "cli_util.h"
#include "remote.h"

/* ---------------------------------------------------------------- JSON */

/* A job as a JSON object; with its attempt errors when with_errors. */
static json_t *job_json(const chore_job_info *j, bool with_errors)
{
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    const char *state = chore_state_name(j->state);
    json_object_set_new(o, "id", json_integer(j->id));
    json_object_set_new(o, "name", json_string(j->name));
    json_object_set_new(o, "queue", json_string(j->queue));
    json_object_set_new(o, "state", state != NULL ? json_string(state) : json_integer(j->state));
    json_object_set_new(o, "priority", json_integer(j->priority));
    json_object_set_new(o, "attempt", json_integer(j->attempt));
    json_object_set_new(o, "max_attempts", json_integer(j->max_attempts));
    json_object_set_new(o, "timeout_ms", json_integer(j->timeout_ms));
    json_object_set_new(o, "unique_key",
                        j->unique_key != NULL ? json_string(j->unique_key) : json_null());
    json_object_set_new(o, "payload", cli_payload_json(j->payload));
    json_object_set_new(o, "created_at", cli_instant_json(j->created_at_ms));
    json_object_set_new(o, "run_at", cli_instant_json(j->run_at_ms));
    json_object_set_new(o, "attempted_at", cli_instant_json(j->attempted_at_ms));
    json_object_set_new(o, "finished_at", cli_instant_json(j->finished_at_ms));
    json_object_set_new(o, "lease_until", cli_instant_json(j->lease_until_ms));
    json_object_set_new(o, "result", cli_payload_json(j->result));
    if (with_errors) {
        json_t *errors = json_array();
        for (size_t i = 0; i < j->n_errors; i++) {
            const chore_attempt_error *e = &j->errors[i];
            json_t *eo = json_object();
            json_object_set_new(eo, "attempt", json_integer(e->attempt));
            json_object_set_new(eo, "at", cli_instant_json(e->at_ms));
            json_object_set_new(eo, "error", json_string(e->error != NULL ? e->error : ""));
            json_array_append_new(errors, eo);
        }
        json_object_set_new(o, "errors", errors);
    }
    return o;
}

/* ---------------------------------------------------------------- enqueue */

int cli_cmd_enqueue(int argc, char **argv)
{
    cli_target t = {0};
    const char *at = NULL, *in = NULL;
    const char *positional[2] = {NULL, NULL};
    int n_positional = 0;
    chore_enqueue_opts opts = {0};
    const cli_flag flags[] = {
        CLI_TARGET_FLAGS(&t),
        CLI_STRING("--at", &at),
        CLI_STRING("--in", &in),
        CLI_STRING("--queue", &opts.queue),
        CLI_INT("--priority", &opts.priority, INT32_MIN, INT32_MAX, "not an integer"),
        CLI_INT("--max-attempts", &opts.max_attempts, 0, INT32_MAX,
                "not a count (0 = retry forever)"),
        CLI_STRING("--unique", &opts.unique_key),
    };
    if (cli_parse_args("enqueue", argc, argv, flags, CLI_COUNT(flags), positional, 2,
                       &n_positional) != CLI_OK)
        return CLI_USAGE;
    if (n_positional == 0)
        return cli_error(CLI_USAGE, "enqueue: missing job NAME");
    if (!chore_name_valid(positional[0]))
        return cli_error(CLI_USAGE,
                         "enqueue: not a job name (1 to %d bytes, no control characters)",
                         CHORE_NAME_MAX);
    if (opts.queue != NULL && !chore_name_valid(opts.queue))
        return cli_error(CLI_USAGE,
                         "--queue: not a queue name (1 to %d bytes, no control characters)",
                         CHORE_NAME_MAX);
    if (at != NULL && in != NULL)
        return cli_error(CLI_USAGE, "enqueue: give --at or --in, not both");
    if (at != NULL) {
        if (chore_time_parse(at, &opts.run_at_ms) != CHORE_OK || opts.run_at_ms <= 0 ||
            opts.run_at_ms > CHORE_TIME_MAX_MS)
            return cli_error(CLI_USAGE, "--at: not an RFC 3339 instant from 1970 to 9999: '%s'",
                             at);
    }
    if (in != NULL && !cli_parse_duration_ms(in, &opts.delay_ms))
        return cli_error(CLI_USAGE, "--in: not a duration like 90s, 1h30m or 500ms: '%s'", in);
    if (opts.delay_ms > CHORE_TIME_MAX_MS - cli_real_us() / 1000)
        return cli_error(CLI_USAGE, "--in: the job would run after the year 9999: '%s'", in);
    if (opts.unique_key != NULL &&
        (opts.unique_key[0] == '\0' || strlen(opts.unique_key) > CHORE_UNIQUE_KEY_MAX))
        return cli_error(CLI_USAGE, "--unique: must be 1 to %d bytes", CHORE_UNIQUE_KEY_MAX);
    if (cli_target_check("enqueue", &t) != CLI_OK)
        return CLI_USAGE;

    int64_t id = 0;
    if (t.server != NULL) {
        cli_http *h = NULL;
        bool duplicate = false;
        int status = cli_http_open(t.server, NULL, &h);
        if (status == CLI_OK)
            status = cli_remote_enqueue(h, positional[0], positional[1], &opts, &id, &duplicate);
        cli_http_close(h);
        if (status == CLI_OK)
            printf(duplicate ? "duplicate of %" PRId64 "\n" : "%" PRId64 "\n", id);
        return status;
    }
    chore *c = NULL;
    int status = cli_open_store(t.store, &c);
    if (status != CLI_OK)
        return status;
    int rc = chore_enqueue(c, positional[0], positional[1], &opts, &id);
    chore_close(c);
    if (rc == CHORE_DUPLICATE) {
        printf("duplicate of %" PRId64 "\n", id);
        return CLI_OK;
    }
    if (rc == CHORE_EJSON)
        return cli_error(CLI_USAGE, "enqueue: the payload is not valid JSON");
    if (rc != CHORE_OK)
        return cli_error(cli_status_for(rc), "enqueue: %s", chore_strerror(rc));
    printf("%" PRId64 "\n", id);
    return CLI_OK;
}

/* ---------------------------------------------------------------- jobs */

/* Print the list as an aligned table. */
static void print_job_table(const chore_job_info *items, size_t n)
{
    int name_w = 4, queue_w = 5;
    for (size_t i = 0; i < n; i++) {
        int nl = (int)strlen(items[i].name), ql = (int)strlen(items[i].queue);
        name_w = nl > name_w ? nl : name_w;
        queue_w = ql > queue_w ? ql : queue_w;
    }
    printf("%-10s %-10s %-*s %-*s %8s %8s  %s\n", "ID", "STATE", name_w, "NAME", queue_w, "QUEUE",
           "PRIORITY", "ATTEMPTS", "RUN_AT");
    for (size_t i = 0; i < n; i++) {
        const chore_job_info *j = &items[i];
        const char *state = chore_state_name(j->state);
        char run_at[40], attempts[32];
        chore_time_format(j->run_at_ms, run_at, sizeof run_at);
        if (j->max_attempts > 0)
            snprintf(attempts, sizeof attempts, "%d/%d", j->attempt, j->max_attempts);
        else
            snprintf(attempts, sizeof attempts, "%d", j->attempt);
        printf("%-10" PRId64 " %-10s %-*s %-*s %8d %8s  %s\n", j->id,
               state != NULL ? state : "?", name_w, j->name, queue_w, j->queue, j->priority,
               attempts, run_at);
    }
}

/* A page of jobs from the store at url. */
static int store_list(const char *url, const chore_list_query *q, chore_job_info **items,
                      size_t *n, int64_t *next)
{
    chore *c = NULL;
    int status = cli_open_store(url, &c);
    if (status != CLI_OK)
        return status;
    int rc = chore_job_list(c, q, items, n, next);
    chore_close(c);
    if (rc != CHORE_OK)
        return cli_error(cli_status_for(rc), "jobs: %s", chore_strerror(rc));
    return CLI_OK;
}

/* A page of jobs from the daemon at url. */
static int remote_list(const char *url, const chore_list_query *q, chore_job_info **items,
                       size_t *n, int64_t *next)
{
    cli_http *h = NULL;
    int status = cli_http_open(url, NULL, &h);
    if (status == CLI_OK)
        status = cli_remote_jobs(h, q, items, n, next);
    cli_http_close(h);
    return status;
}

int cli_cmd_jobs(int argc, char **argv)
{
    cli_target t = {0};
    const char *state_text = NULL;
    chore_list_query q = {.any_state = true, .limit = 100};
    bool json = false;
    const cli_flag flags[] = {
        CLI_BOOL("--json", &json),
        CLI_TARGET_FLAGS(&t),
        CLI_STRING("--state", &state_text),
        CLI_STRING("--name", &q.name),
        CLI_INT("--limit", &q.limit, 1, 10000, NULL),
    };
    if (cli_parse_args("jobs", argc, argv, flags, CLI_COUNT(flags), NULL, 0, NULL) != CLI_OK)
        return CLI_USAGE;
    if (state_text != NULL) {
        chore_state state;
        if (chore_state_parse(state_text, &state) != CHORE_OK)
            return cli_error(CLI_USAGE,
                             "--state: unknown state '%s' (scheduled, available, running, "
                             "suspended, completed, discarded, cancelled)",
                             state_text);
        q.state = (int)state;
        q.any_state = false;
    }
    if (cli_target_check("jobs", &t) != CLI_OK)
        return CLI_USAGE;

    chore_job_info *items = NULL;
    size_t n = 0;
    int64_t next = 0;
    int status = t.server != NULL ? remote_list(t.server, &q, &items, &n, &next)
                                  : store_list(t.store, &q, &items, &n, &next);
    if (status != CLI_OK)
        return status;

    if (json) {
        json_t *root = json_object(), *arr = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, job_json(&items[i], false));
        json_object_set_new(root, "jobs", arr);
        json_object_set_new(root, "next_cursor", next > 0 ? json_integer(next) : json_null());
        status = cli_print_json(root);
    } else {
        print_job_table(items, n);
        if (next > 0)
            printf("(more: older jobs have ids below %" PRId64 ")\n", next);
    }
    chore_job_list_free(items, n);
    return status;
}

/* ---------------------------------------------------------------- job */

/* Print "label: instant" or "label: -" for 0. */
static void print_instant(const char *label, int64_t ms)
{
    char buf[40] = "-";
    if (ms != 0)
        chore_time_format(ms, buf, sizeof buf);
    printf("%-13s %s\n", label, buf);
}

static void print_job_detail(const chore_job_info *j)
{
    const char *state = chore_state_name(j->state);
    printf("%-13s %" PRId64 "\n", "id:", j->id);
    printf("%-13s %s\n", "name:", j->name);
    printf("%-13s %s\n", "queue:", j->queue);
    printf("%-13s %s\n", "state:", state != NULL ? state : "?");
    printf("%-13s %d\n", "priority:", j->priority);
    if (j->max_attempts > 0)
        printf("%-13s %d of %d\n", "attempts:", j->attempt, j->max_attempts);
    else
        printf("%-13s %d (no limit)\n", "attempts:", j->attempt);
    if (j->timeout_ms > 0)
        printf("%-13s %" PRId64 " ms\n", "timeout:", j->timeout_ms);
    else
        printf("%-13s none\n", "timeout:");
    printf("%-13s %s\n", "unique key:", j->unique_key != NULL ? j->unique_key : "-");
    printf("%-13s %s\n", "payload:", j->payload != NULL ? j->payload : "");
    if (j->result != NULL)
        printf("%-13s %s\n", "result:", j->result);
    print_instant("created at:", j->created_at_ms);
    print_instant("run at:", j->run_at_ms);
    print_instant("attempted at:", j->attempted_at_ms);
    print_instant("finished at:", j->finished_at_ms);
    print_instant(j->state == CHORE_SUSPENDED ? "deadline:" : "lease until:", j->lease_until_ms);
    printf("errors:%s\n", j->n_errors == 0 ? "       none" : "");
    for (size_t i = 0; i < j->n_errors; i++) {
        char at[40];
        chore_time_format(j->errors[i].at_ms, at, sizeof at);
        printf("  attempt %d at %s: %s\n", j->errors[i].attempt, at,
               j->errors[i].error != NULL ? j->errors[i].error : "");
    }
}

/* Parse "ID [--store URL | --server URL] [--json]" (json may be NULL: no
 * --json allowed). */
static int parse_id_args(const char *cmd, int argc, char **argv, int64_t *id, cli_target *t,
                         bool *json)
{
    const char *id_text = NULL;
    const cli_flag flags[] = {
        CLI_TARGET_FLAGS(t),
        CLI_BOOL("--json", json),
    };
    size_t n_flags = json != NULL ? 3 : 2;
    int n = 0;
    if (cli_parse_args(cmd, argc, argv, flags, n_flags, &id_text, 1, &n) != CLI_OK)
        return CLI_USAGE;
    if (n == 0)
        return cli_error(CLI_USAGE, "%s: missing job ID", cmd);
    if (!cli_parse_int64(id_text, 1, INT64_MAX, id))
        return cli_error(CLI_USAGE, "%s: not a job id: '%s'", cmd, id_text);
    return cli_target_check(cmd, t);
}

int cli_cmd_job(int argc, char **argv)
{
    cli_target t = {0};
    bool json = false;
    int64_t id = 0;
    int status = parse_id_args("job", argc, argv, &id, &t, &json);
    if (status != CLI_OK)
        return status;
    chore_job_info *info = NULL;
    if (t.server != NULL) {
        cli_http *h = NULL;
        char what[48];
        snprintf(what, sizeof what, "job %" PRId64, id);
        if ((status = cli_http_open(t.server, NULL, &h)) == CLI_OK)
            status = cli_remote_job(h, what, id, &info);
        cli_http_close(h);
    } else {
        chore *c = NULL;
        if ((status = cli_open_store(t.store, &c)) != CLI_OK)
            return status;
        int rc = chore_job_get(c, id, &info);
        chore_close(c);
        if (rc != CHORE_OK)
            return cli_error(cli_status_for(rc), "job %" PRId64 ": %s", id, chore_strerror(rc));
    }
    if (status != CLI_OK)
        return status;
    if (json)
        status = cli_print_json(job_json(info, true));
    else
        print_job_detail(info);
    chore_job_info_free(info);
    return status;
}

/* ---------------------------------------------------------------- retry, cancel */

/* Run one admin change on the job named by the arguments. */
static int admin_change(const char *cmd, int (*change)(chore *, int64_t), const char *done,
                        int argc, char **argv)
{
    cli_target t = {0};
    int64_t id = 0;
    int status = parse_id_args(cmd, argc, argv, &id, &t, NULL);
    if (status != CLI_OK)
        return status;
    if (t.server != NULL) {
        cli_http *h = NULL;
        if ((status = cli_http_open(t.server, NULL, &h)) == CLI_OK)
            status = cli_remote_job_change(h, cmd, cmd, id); /* the route is the command */
        cli_http_close(h);
        if (status == CLI_OK)
            printf("job %" PRId64 " %s\n", id, done);
        return status;
    }
    chore *c = NULL;
    if ((status = cli_open_store(t.store, &c)) != CLI_OK)
        return status;
    int rc = change(c, id);
    if (rc == CHORE_ESTATE) {
        /* say which state forbade it */
        chore_job_info *info = NULL;
        const char *state = NULL;
        if (chore_job_get(c, id, &info) == CHORE_OK)
            state = chore_state_name(info->state);
        cli_error(CLI_FAIL, "%s %" PRId64 ": not allowed in its current state (%s)", cmd, id,
                  state != NULL ? state : "unknown");
        chore_job_info_free(info);
        chore_close(c);
        return CLI_FAIL;
    }
    chore_close(c);
    if (rc != CHORE_OK)
        return cli_error(cli_status_for(rc), "%s %" PRId64 ": %s", cmd, id, chore_strerror(rc));
    printf("job %" PRId64 " %s\n", id, done);
    return CLI_OK;
}

int cli_cmd_retry(int argc, char **argv)
{
    return admin_change("retry", chore_job_retry, "will run again now", argc, argv);
}

int cli_cmd_cancel(int argc, char **argv)
{
    return admin_change("cancel", chore_job_cancel, "cancelled", argc, argv);
}
