/*
 * http_worker.c — the worker protocol for programs that work jobs outside
 * the daemon: fetch (a long poll, capped at HTTP_MAX_WAIT_MS), heartbeat,
 * ack and fail, each finishing by the fencing token the fetch gave. A stale
 * token is 409 "stale_token" and changes nothing (the library refuses it).
 */
#include <stdlib.h>

#include "http_api.h"

/* Most jobs one fetch may claim. */
#define FETCH_MAX 1000

/* Copy a JSON array of strings into a NULL-terminated array of borrowed strings. */
static const char **string_list(json_t *arr, size_t *n)
{
    *n = json_array_size(arr);
    const char **out = calloc(*n + 1, sizeof *out);
    for (size_t i = 0; out != NULL && i < *n; i++)
        out[i] = json_string_value(json_array_get(arr, i));
    return out;
}

void http_worker_fetch(http_req *rq, http_resp *rs)
{
    json_t *names = NULL, *queues = NULL;
    int max = 1;
    int64_t wait_ms = 0, lease_ms = 0;
    const http_field fields[] = {
        HTTP_FIELD("names", HF_STRINGS, &names),
        HTTP_FIELD("queues", HF_STRINGS, &queues),
        HTTP_FIELD("max", HF_INT, &max, .min = 1, .max = FETCH_MAX),
        HTTP_FIELD("wait_ms", HF_INT64, &wait_ms, .min = 0, .max = INT64_MAX),
        HTTP_FIELD("lease_ms", HF_INT64, &lease_ms, .min = 1, .max = 7 * 86400000LL),
    };
    if (!http_read_fields(rs, rq->body, fields, sizeof fields / sizeof fields[0]))
        return;
    if (wait_ms > HTTP_MAX_WAIT_MS)
        wait_ms = HTTP_MAX_WAIT_MS; /* stay below the connection timeout */
    chore_fetch_opts o = {.max = max, .wait_ms = wait_ms, .lease_ms = lease_ms};
    const char **nv = NULL, **qv = NULL;
    if (names != NULL && (nv = string_list(names, &o.n_names)) == NULL)
        goto oom;
    if (queues != NULL && (qv = string_list(queues, &o.n_queues)) == NULL)
        goto oom;
    o.names = nv;
    o.queues = qv;
    chore_fetched *jobs = NULL;
    size_t n = 0;
    int rc = chore_fetch(rq->c, &o, &jobs, &n);
    free(nv);
    free(qv);
    if (rc < 0) {
        http_chore_error(rs, rc, "fetch");
        return;
    }
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++) {
        const chore_fetched *f = &jobs[i];
        json_array_append_new(
            list, json_pack("{s:I,s:s,s:s,s:o,s:i,s:i,s:I,s:I,s:o}", "id", (json_int_t)f->id,
                            "name", f->name, "queue", f->queue, "payload",
                            http_payload(f->payload), "attempt", f->attempt, "max_attempts",
                            f->max_attempts, "token", (json_int_t)f->token, "timeout_ms",
                            (json_int_t)f->timeout_ms, "lease_until",
                            http_instant(f->lease_until_ms)));
    }
    chore_fetched_free(jobs, n);
    http_json(rs, 200, json_pack("{s:o}", "jobs", list));
    return;
oom:
    free(nv);
    http_error(rs, 500, "internal", "out of memory");
}

void http_worker_heartbeat(http_req *rq, http_resp *rs)
{
    int64_t id, token = 0, lease_ms = 0, until = 0;
    const http_field fields[] = {
        HTTP_FIELD("token", HF_INT64, &token, .required = true, .min = 0, .max = INT64_MAX),
        HTTP_FIELD("lease_ms", HF_INT64, &lease_ms, .min = 1, .max = 7 * 86400000LL),
    };
    if (!http_param_id(rq, rs, &id) || !http_read_fields(rs, rq->body, fields, 2))
        return;
    int rc = chore_job_heartbeat(rq->c, id, token, lease_ms, &until);
    if (rc < 0)
        http_chore_error(rs, rc, "heartbeat");
    else
        http_json(rs, 200, json_pack("{s:o}", "lease_until", http_instant(until)));
}

void http_worker_ack(http_req *rq, http_resp *rs)
{
    int64_t id, token = 0;
    json_t *result = NULL;
    const http_field fields[] = {
        HTTP_FIELD("token", HF_INT64, &token, .required = true, .min = 0, .max = INT64_MAX),
        HTTP_FIELD("result", HF_ANY, &result),
    };
    if (!http_param_id(rq, rs, &id) || !http_read_fields(rs, rq->body, fields, 2))
        return;
    char *text = NULL;
    if (result != NULL && (text = http_dump(result)) == NULL) {
        http_error(rs, 500, "internal", "out of memory");
        return;
    }
    int rc = chore_job_complete(rq->c, id, token, text);
    free(text);
    if (rc < 0)
        http_chore_error(rs, rc, "ack");
    else
        http_json(rs, 200, json_pack("{s:I,s:s}", "id", (json_int_t)id, "state", "completed"));
}

void http_worker_fail(http_req *rq, http_resp *rs)
{
    int64_t id, token = 0;
    chore_fail_opts o = {0};
    const http_field fields[] = {
        HTTP_FIELD("token", HF_INT64, &token, .required = true, .min = 0, .max = INT64_MAX),
        HTTP_FIELD("error", HF_STRING, &o.error),
        HTTP_FIELD("retry_in", HF_DURATION, &o.retry_in_ms),
        HTTP_FIELD("discard", HF_BOOL, &o.discard),
    };
    if (!http_param_id(rq, rs, &id) ||
        !http_read_fields(rs, rq->body, fields, sizeof fields / sizeof fields[0]))
        return;
    if (o.retry_in_ms > CHORE_TIME_MAX_MS - chore_now(rq->c)) {
        http_error(rs, 400, "bad_request", "retry_in: the job would run after the year 9999");
        return;
    }
    int rc = chore_job_fail_with(rq->c, id, token, &o);
    if (rc < 0) {
        http_chore_error(rs, rc, "fail");
        return;
    }
    chore_job_info *info = NULL;
    const char *state = "scheduled";
    if (chore_job_get(rq->c, id, &info) == CHORE_OK)
        state = chore_state_name(info->state);
    http_json(rs, 200, json_pack("{s:I,s:s}", "id", (json_int_t)id, "state", state));
    chore_job_info_free(info);
}
