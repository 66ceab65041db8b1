/* fetch_finish.c — ending or extending an attempt by its fencing token,
 * from outside a handler: outside workers' heartbeats, completions and
 * failures, and deferred jobs' chore_job_done / chore_job_fail (jobs.c),
 * which are the same calls. They write to the store at once, not through
 * the dispatcher's batches, so the caller is told whether its token still
 * held; completions and failures from many threads share a commit
 * (group_commit.c). */
#include <stdlib.h>

#include "pure/instant.h"
#include "runtime/metrics.h"
#include "runtime/runtime.h"

/* Why an outcome or lease did not apply: the job is gone (CHORE_ENOTFOUND)
 * or its token is no longer current (CHORE_ESTALE). */
static int not_applied(chore *c, int64_t id)
{
    chore_job_info *info = NULL;
    int rc = c->ops->get(c->st, id, &info);
    chore_job_info_free(info);
    return rc == CHORE_OK ? CHORE_ESTALE : rc;
}

/* One caller's outcome in a shared commit of outcomes. */
typedef struct finish_req {
    rt_group_req g;
    store_outcome o;
    bool applied;
    int rc;
} finish_req;

/* rt_group_write_fn: the outcomes of many callers with one store call;
 * when that fails (or memory runs out), each alone, so one caller's error
 * is not every caller's. */
static void write_outcomes(chore *c, rt_group_req *group_list)
{
    finish_req *list = (finish_req *)group_list;
    int64_t now = chore_clock_now(c->clock);
    size_t n = 0;
    for (finish_req *r = list; r != NULL; r = (finish_req *)r->g.next)
        n++;
    /* Two outcomes for one job may share the write: the store applies
     * them in order and refuses the second (store_ops.finish). */
    store_outcome *os = n > 1 ? malloc(n * sizeof *os) : NULL;
    bool *applied = os != NULL ? malloc(n * sizeof *applied) : NULL;
    int rc = CHORE_ENOMEM;
    if (applied != NULL) {
        size_t i = 0;
        for (finish_req *r = list; r != NULL; r = (finish_req *)r->g.next)
            os[i++] = r->o;
        rc = c->ops->finish(c->st, os, n, now, applied);
    }
    size_t i = 0;
    for (finish_req *r = list; r != NULL; r = (finish_req *)r->g.next, i++) {
        if (rc == CHORE_OK) {
            r->rc = CHORE_OK;
            r->applied = applied[i];
        } else {
            r->applied = false;
            r->rc = c->ops->finish(c->st, &r->o, 1, now, &r->applied);
        }
    }
    free(os);
    free(applied);
}

int rt_finish_group_init(chore *c)
{
    return rt_group_init(&c->finishes, write_outcomes);
}

/* Apply one outcome (in a commit shared with other callers) and say why
 * when it did not match. */
static int finish_now(chore *c, store_outcome o)
{
    finish_req req = {.o = o};
    rt_group_run(c, &c->finishes, &req.g);
    if (req.rc != CHORE_OK)
        return req.rc;
    if (!req.applied)
        return not_applied(c, o.id);
    if (o.kind == STORE_RETRY)
        rt_jobs_arrived(c, o.run_at_ms);
    return CHORE_OK;
}

int chore_job_heartbeat(chore *c, int64_t id, int64_t token, int64_t lease_ms,
                        int64_t *lease_until_ms)
{
    if (c == NULL || id <= 0 || lease_ms < 0 || lease_ms > CHORE_TIME_MAX_MS)
        return CHORE_EINVAL;
    if (lease_ms == 0)
        lease_ms = c->cfg.lease_ms;
    int64_t now = chore_clock_now(c->clock);
    store_lease lease = {.id = id, .token = token};
    bool applied = false;
    int rc = c->ops->heartbeat(c->st, &lease, 1, now, lease_ms, &applied);
    if (rc == CHORE_OK && !applied)
        rc = not_applied(c, id);
    if (rc == CHORE_OK && lease_until_ms != NULL)
        *lease_until_ms = now + lease_ms;
    return rc;
}

int chore_job_complete(chore *c, int64_t id, int64_t token, const char *result_json)
{
    if (c == NULL || id <= 0)
        return CHORE_EINVAL;
    if (result_json != NULL) {
        int rc = rt_check_result(result_json);
        if (rc != CHORE_OK)
            return rc;
    }
    int rc = finish_now(c, (store_outcome){.id = id,
                                           .token = token,
                                           .kind = STORE_COMPLETE,
                                           .result = result_json});
    if (rc == CHORE_OK) { /* count it under the job's name, if it can be read */
        chore_job_info *info = NULL;
        if (c->ops->get(c->st, id, &info) == CHORE_OK)
            (void)rt_metrics_job(c->metrics, info->name, RT_JOB_COMPLETED, -1);
        chore_job_info_free(info);
    }
    return rc;
}

/* The outcome of a failed attempt of `info` as opts asks: a discard, or
 * the backoff of the name's handler (the default policy when this process
 * has none); a job out of attempts is discarded. */
static store_outcome failure_outcome(chore *c, const chore_job_info *info, int64_t token,
                                     const chore_fail_opts *opts, int64_t now)
{
    if (opts->discard)
        return (store_outcome){.id = info->id, .token = token, .kind = STORE_DISCARD};
    pthread_mutex_lock(&c->mu);
    handler *h = rt_find_handler(c, info->name);
    handler policy;
    if (h != NULL)
        policy = *h;
    else
        rt_default_handler(&policy);
    store_outcome o = rt_failure_outcome(c, &policy.backoff, info->id, token, info->attempt,
                                         info->max_attempts, now);
    pthread_mutex_unlock(&c->mu);
    return o;
}

int chore_job_fail_with(chore *c, int64_t id, int64_t token, const chore_fail_opts *opts)
{
    static const chore_fail_opts defaults;
    if (opts == NULL)
        opts = &defaults;
    if (c == NULL || id <= 0 || opts->retry_in_ms < 0)
        return CHORE_EINVAL;
    int64_t now = chore_clock_now(c->clock), retry_at;
    if (!instant_storable(now, opts->retry_in_ms, &retry_at))
        return CHORE_EINVAL;
    /* The attempt number decides the backoff and whether attempts are
     * used up. If the job moves on between this read and the write, the
     * token no longer matches and the write changes nothing. */
    chore_job_info *info = NULL;
    int rc = c->ops->get(c->st, id, &info);
    if (rc != CHORE_OK)
        return rc;
    store_outcome o = failure_outcome(c, info, token, opts, now);
    if (o.kind == STORE_RETRY && opts->retry_in_ms > 0)
        o.run_at_ms = retry_at; /* max_attempts still wins: no retry, no time */
    o.error = opts->error != NULL ? opts->error : "failed";
    rc = finish_now(c, o);
    if (rc == CHORE_OK)
        (void)rt_metrics_job(c->metrics, info->name,
                             o.kind == STORE_DISCARD ? RT_JOB_DISCARDED : RT_JOB_FAILED, -1);
    chore_job_info_free(info);
    return rc;
}
