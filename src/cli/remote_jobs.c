/*
 * remote_jobs.c — the jobs commands over the daemon's HTTP API (see
 * remote.h): enqueue, list, show, retry and cancel, with the API's job
 * objects read back into chore_job_info so that admin_cmds.c prints them
 * exactly as it prints what the store gave. Also the readers of API
 * fields the schedules share.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_util.h"
#include "remote.h"

/* Most jobs the API lists in one page. */
#define API_PAGE_MAX 1000

/* ---------------------------------------------------------------- field readers */

bool cli_json_string(json_t *o, const char *key, bool nullable, char **out)
{
    json_t *v = json_object_get(o, key);
    *out = NULL;
    if (json_is_null(v) && nullable)
        return true;
    if (!json_is_string(v))
        return false;
    return (*out = strdup(json_string_value(v))) != NULL;
}

bool cli_json_instant(json_t *o, const char *key, int64_t *ms)
{
    json_t *v = json_object_get(o, key);
    *ms = 0;
    if (json_is_null(v))
        return true;
    return json_is_string(v) && chore_time_parse(json_string_value(v), ms) == CHORE_OK;
}

bool cli_json_text(json_t *o, const char *key, bool nullable, char **out)
{
    json_t *v = json_object_get(o, key);
    *out = NULL;
    if (v == NULL || (json_is_null(v) && nullable))
        return v != NULL;
    /* the daemon stores what it received compactly, so this is its text */
    return (*out = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY)) != NULL;
}

bool cli_json_int(json_t *o, const char *key, int64_t min, int64_t max, int64_t *out)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v))
        return false;
    json_int_t i = json_integer_value(v);
    if (i < min || i > max)
        return false;
    *out = (int64_t)i;
    return true;
}

/* ---------------------------------------------------------------- jobs from JSON */

/* The attempt errors of a job object, when it has them. */
static bool errors_from_json(json_t *o, chore_job_info *j)
{
    json_t *arr = json_object_get(o, "errors");
    if (arr == NULL)
        return true;
    if (!json_is_array(arr))
        return false;
    size_t n = json_array_size(arr);
    if (n == 0)
        return true;
    if ((j->errors = calloc(n, sizeof *j->errors)) == NULL)
        return false;
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(arr, i);
        chore_attempt_error *d = &j->errors[i];
        int64_t attempt = 0;
        j->n_errors = i + 1; /* so chore_job_info_free frees what was read */
        if (!cli_json_int(e, "attempt", 0, INT32_MAX, &attempt) ||
            !cli_json_instant(e, "at", &d->at_ms) || !cli_json_string(e, "error", true, &d->error))
            return false;
        d->attempt = (int)attempt;
    }
    return true;
}

/* A job object of the API as a chore_job_info (built as the library builds
 * one, so chore_job_info_free / chore_job_list_free free it, even a job
 * half read); false when malformed. */
static bool job_from_json(json_t *o, chore_job_info *j)
{
    memset(j, 0, sizeof *j);
    int64_t id = 0, priority = 0, attempt = 0, max_attempts = 0, timeout = 0;
    chore_state state;
    const char *state_name = json_string_value(json_object_get(o, "state"));
    if (state_name == NULL || chore_state_parse(state_name, &state) != CHORE_OK)
        return false;
    j->state = state;
    bool ok = cli_json_int(o, "id", 1, INT64_MAX, &id) &&
              cli_json_string(o, "name", false, &j->name) &&
              cli_json_string(o, "queue", false, &j->queue) &&
              cli_json_text(o, "payload", true, &j->payload) &&
              cli_json_string(o, "unique_key", true, &j->unique_key) &&
              cli_json_int(o, "priority", INT32_MIN, INT32_MAX, &priority) &&
              cli_json_int(o, "attempt", 0, INT32_MAX, &attempt) &&
              cli_json_int(o, "max_attempts", 0, INT32_MAX, &max_attempts) &&
              cli_json_int(o, "timeout_ms", 0, INT64_MAX, &timeout) &&
              cli_json_instant(o, "created_at", &j->created_at_ms) &&
              cli_json_instant(o, "run_at", &j->run_at_ms) &&
              cli_json_instant(o, "attempted_at", &j->attempted_at_ms) &&
              cli_json_instant(o, "finished_at", &j->finished_at_ms) &&
              cli_json_instant(o, "lease_until", &j->lease_until_ms) &&
              (json_object_get(o, "result") == NULL ||
               cli_json_text(o, "result", true, &j->result)) &&
              errors_from_json(o, j);
    j->id = id;
    j->priority = (int)priority;
    j->attempt = (int)attempt;
    j->max_attempts = (int)max_attempts;
    j->timeout_ms = timeout;
    return ok;
}

/* Report an answer that is not what the API promises. */
static int unreadable(const char *cmd)
{
    return cli_error(CLI_FAIL, "%s: the server's answer is not the chore API's", cmd);
}

/* ---------------------------------------------------------------- enqueue */

int cli_remote_enqueue(cli_http *h, const char *name, const char *payload,
                       const chore_enqueue_opts *o, int64_t *id, bool *duplicate)
{
    json_t *body = json_pack("{s:s}", "name", name);
    if (body == NULL)
        return cli_error(CLI_FAIL, "out of memory");
    if (payload != NULL) {
        json_t *v = json_loads(payload, JSON_DECODE_ANY, NULL);
        if (v == NULL) {
            json_decref(body);
            return cli_error(CLI_USAGE, "enqueue: the payload is not valid JSON");
        }
        json_object_set_new(body, "payload", v);
    }
    if (o->run_at_ms > 0)
        json_object_set_new(body, "run_at", cli_instant_json(o->run_at_ms));
    if (o->delay_ms > 0)
        json_object_set_new(body, "delay", json_integer(o->delay_ms));
    if (o->queue != NULL)
        json_object_set_new(body, "queue", json_string(o->queue));
    if (o->priority != 0)
        json_object_set_new(body, "priority", json_integer(o->priority));
    if (o->max_attempts != 0)
        json_object_set_new(body, "max_attempts", json_integer(o->max_attempts));
    if (o->unique_key != NULL)
        json_object_set_new(body, "unique_key", json_string(o->unique_key));
    json_t *resp = NULL;
    int status = cli_http_call(h, "enqueue", "POST", "/v1/jobs", body, NULL, &resp);
    json_decref(body);
    if (status != CLI_OK)
        return status;
    if (!cli_json_int(resp, "id", 1, INT64_MAX, id))
        status = unreadable("enqueue");
    *duplicate = json_is_true(json_object_get(resp, "duplicate"));
    json_decref(resp);
    return status;
}

/* ---------------------------------------------------------------- list */

/* GET one page into items[*n..], at most `limit` jobs; *next_cursor as the
 * API says. */
static int list_page(cli_http *h, const chore_list_query *q, int64_t cursor, int limit,
                     chore_job_info *items, size_t *n, int64_t *next_cursor)
{
    char path[600];
    int len = snprintf(path, sizeof path, "/v1/jobs?limit=%d", limit);
    if (!q->any_state)
        len += snprintf(path + len, sizeof path - (size_t)len, "&state=%s",
                        chore_state_name((chore_state)q->state));
    if (cursor > 0)
        len += snprintf(path + len, sizeof path - (size_t)len, "&cursor=%" PRId64, cursor);
    if (q->name != NULL) {
        char *e = cli_http_escape(h, q->name);
        if (e == NULL)
            return cli_error(CLI_FAIL, "out of memory");
        snprintf(path + len, sizeof path - (size_t)len, "&name=%s", e);
        free(e);
    }
    json_t *resp = NULL;
    int status = cli_http_call(h, "jobs", "GET", path, NULL, NULL, &resp);
    if (status != CLI_OK)
        return status;
    json_t *jobs = json_object_get(resp, "jobs"), *next = json_object_get(resp, "next_cursor");
    status = json_is_array(jobs) && json_array_size(jobs) <= (size_t)limit &&
                     (json_is_null(next) || json_is_integer(next))
                 ? CLI_OK
                 : unreadable("jobs");
    for (size_t i = 0; status == CLI_OK && i < json_array_size(jobs); i++) {
        bool read = job_from_json(json_array_get(jobs, i), &items[*n]);
        *n += 1; /* a job half read is freed with the rest */
        if (!read)
            status = unreadable("jobs");
    }
    *next_cursor = json_is_integer(next) ? (int64_t)json_integer_value(next) : 0;
    json_decref(resp);
    return status;
}

int cli_remote_jobs(cli_http *h, const chore_list_query *q, chore_job_info **items, size_t *n,
                    int64_t *next_cursor)
{
    int limit = q->limit > 0 ? q->limit : 100;
    *items = calloc((size_t)limit, sizeof **items);
    *n = 0;
    *next_cursor = 0;
    if (*items == NULL)
        return cli_error(CLI_FAIL, "out of memory");
    /* the API pages at most 1000 jobs: follow the cursor up to the limit */
    int64_t cursor = q->before_id;
    int status = CLI_OK;
    do {
        int left = limit - (int)*n;
        status = list_page(h, q, cursor, left < API_PAGE_MAX ? left : API_PAGE_MAX, *items, n,
                           &cursor);
    } while (status == CLI_OK && cursor > 0 && (int)*n < limit);
    if (status != CLI_OK) {
        chore_job_list_free(*items, *n);
        *items = NULL;
        *n = 0;
        return status;
    }
    *next_cursor = cursor;
    return CLI_OK;
}

/* ---------------------------------------------------------------- show, retry, cancel */

int cli_remote_job(cli_http *h, const char *cmd, int64_t id, chore_job_info **info)
{
    char path[64];
    snprintf(path, sizeof path, "/v1/jobs/%" PRId64, id);
    json_t *resp = NULL;
    int status = cli_http_call(h, cmd, "GET", path, NULL, NULL, &resp);
    if (status != CLI_OK)
        return status;
    if ((*info = calloc(1, sizeof **info)) == NULL)
        status = cli_error(CLI_FAIL, "out of memory");
    else if (!job_from_json(resp, *info))
        status = unreadable(cmd);
    json_decref(resp);
    if (status != CLI_OK) {
        chore_job_info_free(*info);
        *info = NULL;
    }
    return status;
}

int cli_remote_job_change(cli_http *h, const char *cmd, const char *action, int64_t id)
{
    char path[96];
    snprintf(path, sizeof path, "/v1/jobs/%" PRId64 "/%s", id, action);
    long st = 0;
    json_t *resp = NULL;
    int status = cli_http_request(h, "POST", path, NULL, &st, &resp);
    if (status != CLI_OK)
        return status;
    const char *code = json_string_value(json_object_get(json_object_get(resp, "error"), "code"));
    if (st == 409 && code != NULL && strcmp(code, "invalid_state") == 0) {
        /* say which state forbade it, as the store mode does */
        json_decref(resp);
        const char *state = "unknown";
        snprintf(path, sizeof path, "/v1/jobs/%" PRId64, id);
        if (cli_http_request(h, "GET", path, NULL, &st, &resp) == CLI_OK && st == 200) {
            const char *s = json_string_value(json_object_get(resp, "state"));
            state = s != NULL ? s : state;
        }
        status = cli_error(CLI_USAGE, "%s %" PRId64 ": not allowed in its current state (%s)",
                           cmd, id, state);
        json_decref(resp);
        return status;
    }
    if (st < 200 || st > 299) {
        char what[64];
        snprintf(what, sizeof what, "%s %" PRId64, cmd, id);
        status = cli_http_report(what, st, resp);
    }
    json_decref(resp);
    return status;
}
