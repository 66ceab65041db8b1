/* jobs.c — the public job calls: enqueue (single, bulk, inside the
 * caller's transaction), completing deferred jobs (through fetch_finish.c),
 * reads, counts and admin. */
#include <stdlib.h>
#include <string.h>

#include "pure/instant.h"
#include "pure/json_check.h"
#include "runtime/metrics.h"
#include "runtime/runtime.h"

#define DEFAULT_QUEUE "default"
#define DEFAULT_PAYLOAD "{}"

/* Check one job and turn it into the store's form. */
static int prepare_job(chore *c, const char *name, const char *payload,
                       const chore_enqueue_opts *o, store_new_job *out)
{
    static const chore_enqueue_opts no_opts;
    if (o == NULL)
        o = &no_opts;
    if (!chore_name_valid(name))
        return CHORE_EINVAL;
    if (o->queue != NULL && !chore_name_valid(o->queue))
        return CHORE_EINVAL;
    if (o->run_at_ms < 0 || o->run_at_ms > CHORE_TIME_MAX_MS || o->delay_ms < 0 ||
        o->max_attempts < 0 || o->timeout_ms < 0)
        return CHORE_EINVAL;
    if (o->unique_key != NULL &&
        (o->unique_key[0] == '\0' || strlen(o->unique_key) > CHORE_UNIQUE_KEY_MAX))
        return CHORE_EINVAL;
    if (payload == NULL)
        payload = DEFAULT_PAYLOAD;
    int rc = json_check(payload);
    if (rc != CHORE_OK)
        return rc;
    int64_t run_at = o->run_at_ms;
    if (run_at == 0 && !instant_storable(chore_clock_now(c->clock), o->delay_ms, &run_at))
        return CHORE_EINVAL;
    *out = (store_new_job){
        .name = name,
        .payload = payload,
        .queue = o->queue != NULL ? o->queue : DEFAULT_QUEUE,
        .unique_key = o->unique_key,
        .priority = o->priority,
        .max_attempts = o->max_attempts,
        .run_at_ms = run_at,
        .timeout_ms = o->timeout_ms,
    };
    return CHORE_OK;
}

int chore_enqueue(chore *c, const char *name, const char *payload,
                  const chore_enqueue_opts *opts, int64_t *id)
{
    if (c == NULL || id == NULL)
        return CHORE_EINVAL;
    store_new_job job;
    int rc = prepare_job(c, name, payload, opts, &job);
    if (rc != CHORE_OK)
        return rc;
    bool duplicate = false;
    rc = rt_enqueue(c, &job, 1, id, &duplicate);
    return rc == CHORE_OK && duplicate ? CHORE_DUPLICATE : rc;
}

int chore_enqueue_bulk(chore *c, const chore_job_spec *specs, size_t n, int64_t *ids,
                       bool *duplicate)
{
    if (c == NULL || (n > 0 && (specs == NULL || ids == NULL)))
        return CHORE_EINVAL;
    if (n == 0)
        return CHORE_OK;
    store_new_job *jobs = malloc(n * sizeof *jobs);
    if (jobs == NULL)
        return CHORE_ENOMEM;
    int rc = CHORE_OK;
    for (size_t i = 0; i < n && rc == CHORE_OK; i++)
        rc = prepare_job(c, specs[i].name, specs[i].payload, &specs[i].opts, &jobs[i]);
    if (rc == CHORE_OK)
        rc = rt_enqueue(c, jobs, n, ids, duplicate);
    free(jobs);
    return rc;
}

int chore_enqueue_tx(chore *c, void *native, const char *name, const char *payload,
                     const chore_enqueue_opts *opts, int64_t *id)
{
    if (c == NULL || native == NULL || id == NULL)
        return CHORE_EINVAL;
    store_new_job job;
    int rc = prepare_job(c, name, payload, opts, &job);
    if (rc != CHORE_OK)
        return rc;
    bool duplicate = false;
    rc = c->ops->enqueue_native(native, &job, 1, chore_clock_now(c->clock), id, &duplicate);
    if (rc == CHORE_OK && !duplicate) /* counted even if the caller rolls back */
        (void)rt_metrics_enqueued(c->metrics, name, 1);
    return rc == CHORE_OK && duplicate ? CHORE_DUPLICATE : rc;
}

/* A deferred job's end: the same calls as an outside worker's (fetch_finish.c). */
int chore_job_done(chore *c, int64_t id, int64_t token)
{
    return chore_job_complete(c, id, token, NULL);
}

int chore_job_fail(chore *c, int64_t id, int64_t token, const char *error)
{
    chore_fail_opts opts = {.error = error};
    return chore_job_fail_with(c, id, token, &opts);
}

int chore_job_get(chore *c, int64_t id, chore_job_info **out)
{
    if (c == NULL || out == NULL)
        return CHORE_EINVAL;
    *out = NULL;
    return c->ops->get(c->st, id, out);
}

int chore_job_list(chore *c, const chore_list_query *q, chore_job_info **out, size_t *n,
                   int64_t *next_cursor)
{
    static const chore_list_query everything = {.any_state = true};
    if (c == NULL || out == NULL || n == NULL)
        return CHORE_EINVAL;
    *out = NULL;
    *n = 0;
    if (q == NULL)
        q = &everything;
    if ((!q->any_state && chore_state_name((chore_state)q->state) == NULL) || q->limit < 0 ||
        q->limit > 10000 || q->before_id < 0)
        return CHORE_EINVAL;
    int64_t cursor = 0;
    int rc = c->ops->list(c->st, q, out, n, &cursor);
    if (next_cursor != NULL)
        *next_cursor = cursor;
    return rc;
}

static int admin(chore *c, store_admin_op op, int64_t id)
{
    if (c == NULL || id <= 0)
        return CHORE_EINVAL;
    int64_t now = chore_clock_now(c->clock);
    int rc = c->ops->admin(c->st, op, id, now);
    if (rc == CHORE_OK && (op == STORE_ADMIN_RETRY || op == STORE_ADMIN_REQUEUE))
        rt_jobs_arrived(c, now);
    return rc;
}

int chore_job_retry(chore *c, int64_t id) { return admin(c, STORE_ADMIN_RETRY, id); }
int chore_job_cancel(chore *c, int64_t id) { return admin(c, STORE_ADMIN_CANCEL, id); }
int chore_job_requeue(chore *c, int64_t id) { return admin(c, STORE_ADMIN_REQUEUE, id); }
int chore_job_delete(chore *c, int64_t id) { return admin(c, STORE_ADMIN_DELETE, id); }

int chore_count_by_state(chore *c, int64_t counts[CHORE_STATE_COUNT])
{
    if (c == NULL || counts == NULL)
        return CHORE_EINVAL;
    return c->ops->count_by_state(c->st, counts);
}

int chore_count_by_name(chore *c, chore_name_counts **out, size_t *n)
{
    if (c == NULL || out == NULL || n == NULL)
        return CHORE_EINVAL;
    *out = NULL;
    *n = 0;
    return c->ops->count_by_name(c->st, out, n);
}

int chore_prune(chore *c, int64_t before_ms, int64_t *pruned)
{
    if (c == NULL)
        return CHORE_EINVAL;
    int64_t count = 0;
    int rc = c->ops->prune(c->st, before_ms, &count);
    if (pruned != NULL)
        *pruned = count;
    return rc;
}
