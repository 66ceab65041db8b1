/* enqueue_batch.c — enqueues from many threads share one commit.
 *
 * Each caller adds its request to a list. If no commit is in progress the
 * caller becomes the leader: it takes every request waiting, writes them in
 * one transaction and tells each caller its result. Callers that arrive
 * while a commit is running wait for the next one, so a commit (and its
 * fsync) serves everyone who came during the previous one. */
#include <stdlib.h>
#include <string.h>

#include "runtime/metrics.h"
#include "runtime/runtime.h"

enum { MAX_LEADER_ROUNDS = 4, LOCAL_DUP = 64 };

/* Write one request on its own. */
static void write_alone(chore *c, enqueue_req *r, int64_t now)
{
    r->rc = c->ops->enqueue(c->st, r->jobs, r->n, now, r->ids, r->duplicate);
}

/* Write every request of the list in one transaction; if that fails (or
 * memory for the joined arrays runs out), write each alone so one bad
 * request does not fail the others. */
static void write_batch(chore *c, enqueue_req *list)
{
    int64_t now = chore_clock_now(c->clock);
    size_t total = 0, count = 0;
    for (enqueue_req *r = list; r != NULL; r = r->next) {
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
        for (enqueue_req *r = list; r != NULL; r = r->next) {
            memcpy(jobs + at, r->jobs, r->n * sizeof *jobs);
            at += r->n;
        }
        rc = c->ops->enqueue(c->st, jobs, total, now, ids, dup);
    }
    if (rc == CHORE_OK) {
        size_t at = 0;
        for (enqueue_req *r = list; r != NULL; r = r->next) {
            memcpy(r->ids, ids + at, r->n * sizeof *ids);
            if (r->duplicate != NULL)
                memcpy(r->duplicate, dup + at, r->n * sizeof *dup);
            r->rc = CHORE_OK;
            at += r->n;
        }
    } else {
        for (enqueue_req *r = list; r != NULL; r = r->next)
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
    pthread_mutex_lock(&c->batch_mu);
    req.next = c->batch_pending;
    c->batch_pending = &req;
    while (!req.done) {
        if (c->batch_leader) {
            pthread_cond_wait(&c->batch_cond, &c->batch_mu);
            continue;
        }
        /* Lead a few commits in a row while callers keep arriving: handing
         * the lead to a sleeping thread costs a wake-up per commit. */
        c->batch_leader = true;
        for (int round = 0; round < MAX_LEADER_ROUNDS && c->batch_pending != NULL; round++) {
            enqueue_req *list = c->batch_pending;
            c->batch_pending = NULL;
            pthread_mutex_unlock(&c->batch_mu);
            write_batch(c, list);
            pthread_mutex_lock(&c->batch_mu);
            for (enqueue_req *r = list; r != NULL; r = r->next)
                r->done = true;
            pthread_cond_broadcast(&c->batch_cond);
        }
        c->batch_leader = false;
        pthread_cond_broadcast(&c->batch_cond);
    }
    pthread_mutex_unlock(&c->batch_mu);
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
