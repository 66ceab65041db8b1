/*
 * remote_schedules.c — `chore cron add|list|rm|pause|resume` over the
 * daemon's HTTP API (see remote.h): the API's schedule objects are read
 * back into chore_schedule_info so that schedule_cmds.c prints them as it
 * prints what the store gave.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_util.h"
#include "remote.h"

/* The API's names of the policies, in enum order ("queue_one" where the
 * command line says "queue-one"). */
static const char *const api_missed[] = {"once", "skip", "each"};
static const char *const api_overlap[] = {"allow", "skip", "queue_one"};

/* The index of o[key] among names[0..3); -1 when it is none of them. */
static int policy(json_t *o, const char *key, const char *const names[3])
{
    const char *v = json_string_value(json_object_get(o, key));
    for (int i = 0; v != NULL && i < 3; i++) {
        if (strcmp(v, names[i]) == 0)
            return i;
    }
    return -1;
}

/* A schedule object of the API as a chore_schedule_info; false when
 * malformed. */
static bool schedule_from_json(json_t *o, chore_schedule_info *s)
{
    memset(s, 0, sizeof *s);
    int64_t priority = 0, max_attempts = 0, missed_cap = 0, last_job = 0;
    int missed = policy(o, "missed", api_missed), overlap = policy(o, "overlap", api_overlap);
    json_t *paused = json_object_get(o, "paused"), *last_job_v = json_object_get(o, "last_job_id");
    bool ok = missed >= 0 && overlap >= 0 && json_is_boolean(paused) &&
              cli_json_string(o, "name", false, &s->name) &&
              cli_json_string(o, "cron", false, &s->cron) &&
              cli_json_string(o, "zone", false, &s->zone) &&
              cli_json_string(o, "job", false, &s->job) &&
              cli_json_text(o, "payload", true, &s->payload) &&
              cli_json_string(o, "queue", false, &s->queue) &&
              cli_json_int(o, "priority", INT32_MIN, INT32_MAX, &priority) &&
              cli_json_int(o, "max_attempts", 0, INT32_MAX, &max_attempts) &&
              cli_json_int(o, "timeout_ms", 0, INT64_MAX, &s->timeout_ms) &&
              cli_json_int(o, "missed_cap", 0, INT32_MAX, &missed_cap) &&
              cli_json_instant(o, "last_fire", &s->last_fire_ms) &&
              cli_json_instant(o, "next_fire", &s->next_fire_ms) &&
              (json_is_null(last_job_v) || cli_json_int(o, "last_job_id", 1, INT64_MAX, &last_job));
    if (!ok)
        return false; /* what was read is freed with the list */
    s->priority = (int)priority;
    s->max_attempts = (int)max_attempts;
    s->missed_cap = (int)missed_cap;
    s->missed = (chore_missed)missed;
    s->overlap = (chore_overlap)overlap;
    s->paused = json_is_true(paused);
    s->last_job_id = last_job;
    return true;
}

int cli_remote_schedules(cli_http *h, const char *cmd, chore_schedule_info **items, size_t *n)
{
    *items = NULL;
    *n = 0;
    json_t *resp = NULL;
    int status = cli_http_call(h, cmd, "GET", "/v1/schedules", NULL, NULL, &resp);
    if (status != CLI_OK)
        return status;
    json_t *arr = json_object_get(resp, "schedules");
    size_t count = json_array_size(arr);
    if (!json_is_array(arr)) {
        status = cli_error(CLI_FAIL, "%s: the server's answer is not the chore API's", cmd);
    } else if ((*items = calloc(count > 0 ? count : 1, sizeof **items)) == NULL) {
        status = cli_error(CLI_FAIL, "out of memory");
    }
    for (size_t i = 0; status == CLI_OK && i < count; i++) {
        bool read = schedule_from_json(json_array_get(arr, i), &(*items)[i]);
        *n += 1; /* a schedule half read is freed with the rest */
        if (!read)
            status = cli_error(CLI_FAIL, "%s: the server's answer is not the chore API's", cmd);
    }
    json_decref(resp);
    if (status != CLI_OK) {
        chore_schedule_list_free(*items, *n);
        *items = NULL;
        *n = 0;
    }
    return status;
}

/* "/v1/schedules/<escaped name>[/action]" into a malloc'd string. */
static char *schedule_path(cli_http *h, const char *name, const char *action)
{
    char *e = cli_http_escape(h, name);
    if (e == NULL)
        return NULL;
    size_t len = strlen(e) + 64;
    char *path = malloc(len);
    if (path != NULL)
        snprintf(path, len, "/v1/schedules/%s%s%s", e, action != NULL ? "/" : "",
                 action != NULL ? action : "");
    free(e);
    return path;
}

int cli_remote_schedule_put(cli_http *h, const char *name, const char *expr, const char *job,
                            const char *payload, const chore_schedule_opts *o, bool *existed)
{
    /* whether it exists, to say "added" or "updated" as the store mode does */
    chore_schedule_info *items = NULL;
    size_t n = 0;
    int status = cli_remote_schedules(h, "cron add", &items, &n);
    if (status != CLI_OK)
        return status;
    *existed = false;
    for (size_t i = 0; i < n && !*existed; i++)
        *existed = strcmp(items[i].name, name) == 0;
    chore_schedule_list_free(items, n);

    json_t *body = json_pack("{s:s,s:s,s:s,s:s,s:i,s:i,s:I}", "cron", expr, "job", job,
                             "missed", api_missed[o->missed % 3], "overlap",
                             api_overlap[o->overlap % 3], "priority", o->priority,
                             "max_attempts", o->max_attempts, "timeout",
                             (json_int_t)o->timeout_ms);
    if (body == NULL)
        return cli_error(CLI_FAIL, "out of memory");
    if (payload != NULL) {
        json_t *v = json_loads(payload, JSON_DECODE_ANY, NULL);
        if (v == NULL) {
            json_decref(body);
            return cli_error(CLI_USAGE, "cron add: the payload is not valid JSON");
        }
        json_object_set_new(body, "payload", v);
    }
    if (o->zone != NULL)
        json_object_set_new(body, "zone", json_string(o->zone));
    if (o->queue != NULL)
        json_object_set_new(body, "queue", json_string(o->queue));
    if (o->missed_cap > 0)
        json_object_set_new(body, "missed_cap", json_integer(o->missed_cap));
    char *path = schedule_path(h, name, NULL);
    if (path == NULL) {
        json_decref(body);
        return cli_error(CLI_FAIL, "out of memory");
    }
    status = cli_http_call(h, "cron add", "PUT", path, body, NULL, NULL);
    free(path);
    json_decref(body);
    return status;
}

int cli_remote_schedule_change(cli_http *h, const char *cmd, const char *action,
                               const char *name)
{
    char *path = schedule_path(h, name, action);
    if (path == NULL)
        return cli_error(CLI_FAIL, "out of memory");
    long st = 0;
    json_t *resp = NULL;
    int status = cli_http_request(h, action != NULL ? "POST" : "DELETE", path, NULL, &st, &resp);
    free(path);
    if (status == CLI_OK && st == 404)
        status = cli_error(CLI_USAGE, "%s: no schedule named %s", cmd, name);
    else if (status == CLI_OK && (st < 200 || st > 299))
        status = cli_http_report(cmd, st, resp);
    json_decref(resp);
    return status;
}
