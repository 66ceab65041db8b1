/* enqueue_batch.c — enqueues from many threads share one commit
 * (group_commit.c): the leader writes every waiting request's jobs with
 * one store enqueue. */
#include <stdlib.h>
#include <string.h>

#include "runtime/metrics.h"
#include "runtime/runtime.h"

enum { LOCAL_DUP = 64 };

/* Write one request on its own. */
static void write_alone(chore *c, enqueue_req *r, int64_t now)
{
    r->rc = c->ops->enqueue(c->st, r->jobs, r->n, now, r->ids, r->duplicate);
}

/* Write every request of the list in one transaction; if that fails (or
 * memory for the joined arrays runs out), write each alone so one bad
 * request does not fail the others. */
static void write_batch(chore *c, rt_group_req *group_list)
{
    enqueue_req *list = (enqueue_req *)group_list;
    int64_t now = chore_clock_now(c->clock);
    size_t total = 0, count = 0;
    for (enqueue_req *r = list; r != NULL; r = (enqueue_req *)r->g.next) {
        total += r->n;
        count++;
    }
    if (count == 1) {
        write_alone(c, list, now);
        return;
    }
    store_new_job *jobs = malloc(total * sizeof *jobs);
    int64_t *ids = malloc(total * sizeof *ids);
    bool *dup = malloc(total * sizeof *dup);
    int rc = CHORE_ENOMEM;
    if (jobs != NULL && ids != NULL && dup != NULL) {
        size_t at = 0;
        for (enqueue_req *r = list; r != NULL; r = (enqueue_req *)r->g.next) {
            memcpy(jobs + at, r->jobs, r->n * sizeof *jobs);
            at += r->n;
        }
        rc = c->ops->enqueue(c->st, jobs, total, now, ids, dup);
    }
    if (rc == CHORE_OK) {
        size_t at = 0;
        for (enqueue_req *r = list; r != NULL; r = (enqueue_req *)r->g.next) {
            memcpy(r->ids, ids + at, r->n * sizeof *ids);
            if (r->duplicate != NULL)
                memcpy(r->duplicate, dup + at, r->n * sizeof *dup);
            r->rc = CHORE_OK;
            at += r->n;
        }
    } else {
        for (enqueue_req *r = list; r != NULL; r = (enqueue_req *)r->g.next)
            write_alone(c, r, now);
    }
    free(jobs);
    free(ids);
    free(dup);
}

/* Count the jobs written (duplicates are not enqueues) by name in the
 * metrics; a run of jobs with one name counts at once. */
static void count_enqueued(chore *c, const store_new_job *jobs, size_t n, const bool *duplicate)
{
    for (size_t i = 0; i < n;) {
        uint64_t written = 0;
        size_t j = i;
        while (j < n && (jobs[j].name == jobs[i].name || strcmp(jobs[j].name, jobs[i].name) == 0))
            written += duplicate[j++] ? 0 : 1;
        if (written > 0)
            (void)rt_metrics_enqueued(c->metrics, jobs[i].name, written);
        i = j;
    }
}

int rt_enqueue_group_init(chore *c)
{
    return rt_group_init(&c->enqueues, write_batch);
}

/* Write the jobs through a shared commit; with `duplicate` NULL, one is
 * made here (the metrics must tell duplicates apart). */
int rt_enqueue(chore *c, const store_new_job *jobs, size_t n, int64_t *ids, bool *duplicate)
{
    bool local_dup[LOCAL_DUP];
    bool *dup_alloc = NULL;
    if (duplicate == NULL) {
        duplicate = n <= LOCAL_DUP ? local_dup : (dup_alloc = malloc(n * sizeof *dup_alloc));
        if (duplicate == NULL)
            return CHORE_ENOMEM;
    }
    enqueue_req req = {.jobs = jobs, .n = n, .ids = ids, .duplicate = duplicate};
    rt_group_run(c, &c->enqueues, &req.g);
    if (req.rc == CHORE_OK)
        count_enqueued(c, jobs, n, duplicate);
    free(dup_alloc);
    if (req.rc == CHORE_OK) {
        int64_t earliest = INT64_MAX;
        for (size_t i = 0; i < n; i++)
            earliest = jobs[i].run_at_ms < earliest ? jobs[i].run_at_ms : earliest;
        rt_jobs_arrived(c, earliest);
    }
    return req.rc;
}
