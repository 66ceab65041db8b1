/*
 * http_jobs.c — the jobs routes of the HTTP API: enqueue (one or in bulk),
 * list with paging, show with attempt errors, retry, cancel, delete, and
 * the counts of GET /v1/stats. Request fields are read by table
 * (http_read_fields), so unknown fields and wrong types are refused before
 * anything is stored.
 */
#include <stdlib.h>
#include <string.h>

#include "cli_util.h"
#include "http_api.h"

/* One job's fields as a request gives them; payload_text is malloc'd. */
typedef struct job_req {
    const char *name;
    json_t *payload;
    char *payload_text;
    const char *queue;
    const char *unique_key;
    int64_t run_at, delay, timeout;
    int priority, max_attempts;
    bool has_queue, has_timeout, has_max_attempts;
} job_req;

/* Read a job's fields from obj into *j; false with a 400 on rs. */
static bool read_job(http_resp *rs, json_t *obj, job_req *j)
{
    memset(j, 0, sizeof *j);
    bool has_run_at = false, has_delay = false;
    const http_field fields[] = {
        HTTP_FIELD("name", HF_NAME, &j->name, .required = true),
        HTTP_FIELD("payload", HF_ANY, &j->payload),
        HTTP_FIELD("run_at", HF_INSTANT, &j->run_at, .present = &has_run_at),
        HTTP_FIELD("delay", HF_DURATION, &j->delay, .present = &has_delay),
        HTTP_FIELD("queue", HF_NAME, &j->queue, .present = &j->has_queue),
        HTTP_FIELD("priority", HF_INT, &j->priority, .min = -1000000, .max = 1000000),
        HTTP_FIELD("max_attempts", HF_INT, &j->max_attempts, .min = 0, .max = 1000000,
                   .present = &j->has_max_attempts),
        HTTP_FIELD("unique_key", HF_STRING, &j->unique_key),
        HTTP_FIELD("timeout", HF_DURATION, &j->timeout, .present = &j->has_timeout),
    };
    if (!http_read_fields(rs, obj, fields, sizeof fields / sizeof fields[0]))
        return false;
    if (has_run_at && has_delay) {
        http_error(rs, 400, "bad_request", "give run_at or delay, not both");
        return false;
    }
    if (has_run_at && j->run_at <= 0) {
        http_error(rs, 400, "bad_request", "run_at must be after 1970");
        return false;
    }
    if (j->payload != NULL && (j->payload_text = http_dump(j->payload)) == NULL) {
        http_error(rs, 500, "internal", "out of memory");
        return false;
    }
    return true;
}

/* The enqueue options of a request; what it leaves out comes from the
 * job's command type, when the daemon has one by that name. */
static chore_enqueue_opts job_opts(const http_req *rq, const job_req *j)
{
    chore_enqueue_opts o = {.run_at_ms = j->run_at, .delay_ms = j->delay, .queue = j->queue,
                            .priority = j->priority, .max_attempts = j->max_attempts,
                            .unique_key = j->unique_key, .timeout_ms = j->timeout};
    const daemon_job_type *t = rq->runner != NULL ? command_runner_type(rq->runner, j->name) : NULL;
    if (t != NULL) {
        if (!j->has_queue)
            o.queue = t->queue;
        if (!j->has_max_attempts)
            o.max_attempts = t->max_attempts;
        if (!j->has_timeout)
            o.timeout_ms = t->timeout_ms;
    }
    return o;
}

/* The state of a job just enqueued, for the reply: a new job's follows
 * from its run time (no read); an existing one's is read. */
static const char *state_of(chore *c, int64_t id, const chore_enqueue_opts *o, bool existing)
{
    if (!existing) {
        int64_t now = chore_now(c);
        bool later = o->run_at_ms > now || (o->run_at_ms == 0 && o->delay_ms > 0);
        return later ? "scheduled" : "available";
    }
    chore_job_info *info = NULL;
    const char *name = "available";
    if (chore_job_get(c, id, &info) == CHORE_OK)
        name = chore_state_name(info->state);
    chore_job_info_free(info);
    return name;
}

void http_jobs_enqueue(http_req *rq, http_resp *rs)
{
    job_req j;
    if (!read_job(rs, rq->body, &j)) {
        free(j.payload_text);
        return;
    }
    chore_enqueue_opts o = job_opts(rq, &j);
    int64_t id = 0;
    int rc = chore_enqueue(rq->c, j.name, j.payload_text, &o, &id);
    free(j.payload_text);
    if (rc < 0) {
        http_chore_error(rs, rc, "enqueue");
        return;
    }
    bool dup = rc == CHORE_DUPLICATE;
    http_json(rs, dup ? 200 : 201,
              json_pack("{s:I,s:s,s:b}", "id", (json_int_t)id, "state", state_of(rq->c, id, &o, dup),
                        "duplicate", dup));
}

/* Most jobs in one bulk request. */
#define BULK_MAX 10000

void http_jobs_bulk(http_req *rq, http_resp *rs)
{
    json_t *list = NULL;
    const http_field fields[] = {HTTP_FIELD("jobs", HF_OBJECTS, &list, .required = true)};
    if (!http_read_fields(rs, rq->body, fields, 1))
        return;
    size_t n = json_array_size(list);
    if (n == 0 || n > BULK_MAX) {
        http_error(rs, 400, "bad_request", "jobs: give 1 to %d jobs", BULK_MAX);
        return;
    }
    job_req *jobs = calloc(n, sizeof *jobs);
    chore_job_spec *specs = calloc(n, sizeof *specs);
    int64_t *ids = calloc(n, sizeof *ids);
    json_t *out = json_array();
    size_t read = 0;
    if (jobs == NULL || specs == NULL || ids == NULL || out == NULL) {
        http_error(rs, 500, "internal", "out of memory");
        goto done;
    }
    for (; read < n; read++) {
        if (!read_job(rs, json_array_get(list, read), &jobs[read])) {
            free(jobs[read].payload_text);
            /* say which job was wrong, keeping the field's reason */
            json_t *err = json_object_get(rs->json, "error");
            char msg[600];
            snprintf(msg, sizeof msg, "jobs[%zu]: %s", read,
                     json_string_value(json_object_get(err, "message")));
            json_object_set_new(err, "message", json_string(msg));
            goto done;
        }
        specs[read] = (chore_job_spec){.name = jobs[read].name,
                                       .payload = jobs[read].payload_text,
                                       .opts = job_opts(rq, &jobs[read])};
    }
    int rc = chore_enqueue_bulk(rq->c, specs, n, ids, NULL);
    if (rc < 0) {
        http_chore_error(rs, rc, "enqueue");
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        json_array_append_new(out, json_integer(ids[i]));
    http_json(rs, 201, json_pack("{s:O}", "ids", out));
done:
    for (size_t i = 0; i < read && jobs != NULL; i++)
        free(jobs[i].payload_text);
    json_decref(out);
    free(jobs);
    free(specs);
    free(ids);
}

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
