/*
 * http_jobs.c — the jobs routes of the HTTP API that read or change stored
 * jobs: list with paging, show with attempt errors, retry, cancel, delete,
 * and the counts of GET /v1/stats. Enqueues are in http_enqueue.c.
 */
#include <stdlib.h>
#include <string.h>

#include "cli_util.h"
#include "http_api.h"

/* A job as the API shows it; errors only when with_errors. */
static json_t *job_json(const chore_job_info *j, bool with_errors)
{
    json_t *v = json_pack(
        "{s:I,s:s,s:s,s:s,s:o,s:i,s:i,s:i,s:o,s:I,s:o,s:o,s:o,s:o,s:o,s:o}", "id",
        (json_int_t)j->id, "name", j->name, "queue", j->queue, "state",
        chore_state_name(j->state), "payload", http_payload(j->payload), "priority", j->priority,
        "attempt", j->attempt, "max_attempts", j->max_attempts, "unique_key",
        j->unique_key != NULL ? json_string(j->unique_key) : json_null(), "timeout_ms",
        (json_int_t)j->timeout_ms, "created_at", http_instant(j->created_at_ms), "run_at",
        http_instant(j->run_at_ms), "attempted_at", http_instant(j->attempted_at_ms),
        "finished_at", http_instant(j->finished_at_ms), "lease_until",
        http_instant(j->lease_until_ms), "result", http_payload(j->result));
    if (v == NULL || !with_errors)
        return v;
    json_t *errors = json_array();
    for (size_t i = 0; i < j->n_errors; i++) {
        const chore_attempt_error *e = &j->errors[i];
        json_array_append_new(errors, json_pack("{s:i,s:o,s:s}", "attempt", e->attempt, "at",
                                                http_instant(e->at_ms), "error",
                                                e->error != NULL ? e->error : ""));
    }
    json_object_set_new(v, "errors", errors);
    return v;
}

void http_jobs_list(http_req *rq, http_resp *rs)
{
    chore_list_query q = {.any_state = true, .limit = 100};
    const char *state = http_query(rq, "state"), *limit = http_query(rq, "limit");
    const char *cursor = http_query(rq, "cursor"), *name = http_query(rq, "name");
    int64_t v;
    if (state != NULL && state[0] != '\0') {
        chore_state st;
        if (chore_state_parse(state, &st) != CHORE_OK) {
            http_error(rs, 400, "bad_request", "state: no state named \"%.40s\"", state);
            return;
        }
        q.state = st;
        q.any_state = false;
    }
    if (limit != NULL) {
        if (!cli_parse_int64(limit, 1, 1000, &v)) {
            http_error(rs, 400, "bad_request", "limit: must be from 1 to 1000");
            return;
        }
        q.limit = (int)v;
    }
    if (cursor != NULL && cursor[0] != '\0') {
        if (!cli_parse_int64(cursor, 1, INT64_MAX, &q.before_id)) {
            http_error(rs, 400, "bad_request", "cursor: must be a next_cursor value");
            return;
        }
    }
    if (name != NULL && name[0] != '\0')
        q.name = name;
    chore_job_info *items = NULL;
    size_t n = 0;
    int64_t next = 0;
    int rc = chore_job_list(rq->c, &q, &items, &n, &next);
    if (rc < 0) {
        http_chore_error(rs, rc, "list");
        return;
    }
    json_t *jobs = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(jobs, job_json(&items[i], false));
    chore_job_list_free(items, n);
    http_json(rs, 200,
              json_pack("{s:o,s:o}", "jobs", jobs, "next_cursor",
                        next != 0 ? json_integer(next) : json_null()));
}

/* Reply with the job `id` as stored now. */
static void reply_job(http_req *rq, http_resp *rs, int64_t id, bool with_errors)
{
    chore_job_info *info = NULL;
    int rc = chore_job_get(rq->c, id, &info);
    if (rc < 0) {
        http_chore_error(rs, rc, "job");
        return;
    }
    http_json(rs, 200, job_json(info, with_errors));
    chore_job_info_free(info);
}

void http_jobs_show(http_req *rq, http_resp *rs)
{
    int64_t id;
    if (http_param_id(rq, rs, &id))
        reply_job(rq, rs, id, true);
}

/* Apply one admin change to the job of the path, then show it. */
static void change(http_req *rq, http_resp *rs, int (*op)(chore *, int64_t), const char *what)
{
    int64_t id;
    if (!http_param_id(rq, rs, &id))
        return;
    int rc = op(rq->c, id);
    if (rc < 0)
        http_chore_error(rs, rc, what);
    else
        reply_job(rq, rs, id, false);
}

void http_jobs_retry(http_req *rq, http_resp *rs)
{
    change(rq, rs, chore_job_retry, "retry");
}

void http_jobs_cancel(http_req *rq, http_resp *rs)
{
    change(rq, rs, chore_job_cancel, "cancel");
}

void http_jobs_delete(http_req *rq, http_resp *rs)
{
    int64_t id;
    if (!http_param_id(rq, rs, &id))
        return;
    int rc = chore_job_delete(rq->c, id);
    if (rc < 0)
        http_chore_error(rs, rc, "delete");
    else
        rs->status = 204;
}

/* {"scheduled": n, "available": n, ...} */
static json_t *counts_json(const int64_t counts[CHORE_STATE_COUNT])
{
    json_t *v = json_object();
    for (int s = 0; s < CHORE_STATE_COUNT; s++)
        json_object_set_new(v, chore_state_name((chore_state)s), json_integer(counts[s]));
    return v;
}

void http_stats(http_req *rq, http_resp *rs)
{
    int64_t counts[CHORE_STATE_COUNT];
    int rc = chore_count_by_state(rq->c, counts);
    chore_name_counts *names = NULL;
    size_t n = 0;
    if (rc == CHORE_OK)
        rc = chore_count_by_name(rq->c, &names, &n);
    if (rc < 0) {
        http_chore_error(rs, rc, "stats");
        return;
    }
    json_t *by_name = json_object();
    for (size_t i = 0; i < n; i++)
        json_object_set_new(by_name, names[i].name, counts_json(names[i].counts));
    chore_name_counts_free(names, n);
    http_json(rs, 200, json_pack("{s:o,s:o}", "states", counts_json(counts), "names", by_name));
}
