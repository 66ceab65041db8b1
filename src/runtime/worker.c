/* worker.c — worker threads: take a claimed job from the local queue, run
 * its handler, turn the handler's return into an outcome for the
 * dispatcher to write. Also the accessors handlers use on chore_job. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pure/instant.h"
#include "pure/json_check.h"
#include "runtime/metrics.h"
#include "runtime/runtime.h"

int64_t chore_job_id(const chore_job *job) { return job->stored.id; }
const char *chore_job_name(const chore_job *job) { return job->stored.name; }
const char *chore_job_payload(const chore_job *job) { return job->stored.payload; }
const char *chore_job_queue(const chore_job *job) { return job->stored.queue; }
int chore_job_attempt(const chore_job *job) { return job->stored.attempt; }
int64_t chore_job_token(const chore_job *job) { return job->stored.token; }

int chore_job_set_error(chore_job *job, const char *message)
{
    if (job == NULL || message == NULL)
        return CHORE_EINVAL;
    char *copy = strdup(message);
    if (copy == NULL)
        return CHORE_ENOMEM;
    free(job->error);
    job->error = copy;
    return CHORE_OK;
}

int rt_check_result(const char *json)
{
    if (json == NULL || strnlen(json, RT_RESULT_MAX + 1) > RT_RESULT_MAX)
        return CHORE_EINVAL;
    return json_check(json);
}

int chore_job_set_result(chore_job *job, const char *result_json)
{
    if (job == NULL)
        return CHORE_EINVAL;
    int rc = rt_check_result(result_json);
    if (rc != CHORE_OK)
        return rc;
    char *copy = strdup(result_json);
    if (copy == NULL)
        return CHORE_ENOMEM;
    free(job->result);
    job->result = copy;
    return CHORE_OK;
}

int chore_job_snooze(chore_job *job, int64_t delay_ms)
{
    job->snooze_ms = delay_ms > 0 ? delay_ms : 0;
    return CHORE_SNOOZE;
}

bool chore_job_should_stop(const chore_job *job)
{
    chore *c = job->owner;
    pthread_mutex_lock(&c->mu);
    bool stop = job->released; /* stopping alone is not a reason: the grace is theirs */
    pthread_mutex_unlock(&c->mu);
    return stop || chore_clock_now(c->clock) >= job->deadline_ms;
}

store_outcome rt_failure_outcome(chore *c, const backoff_policy *backoff, int64_t id,
                                 int64_t token, int attempt, int max_attempts, int64_t now)
{
    store_outcome o = {.id = id, .token = token};
    if (max_attempts > 0 && attempt >= max_attempts) {
        o.kind = STORE_DISCARD;
    } else {
        o.kind = STORE_RETRY;
        o.run_at_ms = now + backoff_delay(backoff, attempt, &c->rng);
    }
    return o;
}

int rt_push_outcome(chore *c, store_outcome outcome, char *error)
{
    if (c->n_outcomes == c->cap_outcomes) {
        size_t cap = c->cap_outcomes ? c->cap_outcomes * 2 : 64;
        pending_outcome *grown = realloc(c->outcomes, cap * sizeof *grown);
        if (grown == NULL) {
            free(error);
            return CHORE_ENOMEM;
        }
        c->outcomes = grown;
        c->cap_outcomes = cap;
    }
    if (outcome.kind == STORE_COMPLETE) {
        outcome.result = error;
        outcome.error = NULL;
    } else {
        outcome.error = error;
        outcome.result = NULL;
    }
    c->outcomes[c->n_outcomes++] = (pending_outcome){.outcome = outcome, .error = error};
    pthread_cond_signal(&c->dispatch_cond);
    return CHORE_OK;
}

/* The error text of a failed attempt: the handler's own, or one made from rc. */
static char *failure_text(chore_job *job, int rc)
{
    if (job->error != NULL) {
        char *e = job->error;
        job->error = NULL;
        return e;
    }
    char buf[96];
    if (rc == CHORE_DISCARD)
        snprintf(buf, sizeof buf, "discarded by handler");
    else if (rc < 0)
        snprintf(buf, sizeof buf, "handler failed: %s", chore_strerror(rc));
    else
        snprintf(buf, sizeof buf, "handler returned %d", rc);
    return strdup(buf); /* NULL on ENOMEM: the attempt is recorded without text */
}

/* The metrics event of an outcome. */
static rt_job_event outcome_event(store_outcome_kind kind)
{
    switch (kind) {
    case STORE_COMPLETE: return RT_JOB_COMPLETED;
    case STORE_SNOOZE: return RT_JOB_SNOOZED;
    case STORE_SUSPEND: return RT_JOB_DEFERRED;
    case STORE_DISCARD: return RT_JOB_DISCARDED;
    default: return RT_JOB_FAILED;
    }
}

/* Turn a handler's return into an outcome and count it; `seconds` is the
 * real time the handler ran. With `mu` held. */
static void record_result(chore *c, chore_job *job, int rc, double seconds)
{
    int64_t now = chore_clock_now(c->clock);
    store_outcome o = {.id = job->stored.id, .token = job->stored.token};
    char *text = NULL; /* the error, or a completion's result */
    switch (rc) {
    case CHORE_OK:
        o.kind = STORE_COMPLETE;
        text = job->result;
        job->result = NULL;
        break;
    case CHORE_SNOOZE:
        o.kind = STORE_SNOOZE;
        o.run_at_ms = instant_capped(now, job->snooze_ms);
        break;
    case CHORE_DEFER:
        o.kind = STORE_SUSPEND;
        o.run_at_ms = instant_capped(now, job->handler.defer_timeout_ms);
        break;
    case CHORE_DISCARD:
        o.kind = STORE_DISCARD;
        text = failure_text(job, rc);
        break;
    default:
        o = rt_failure_outcome(c, &job->handler.backoff, job->stored.id, job->stored.token,
                               job->stored.attempt, job->stored.max_attempts, now);
        text = failure_text(job, rc);
        break;
    }
    (void)rt_metrics_job(c->metrics, job->stored.name, outcome_event(o.kind), seconds);
    rt_push_outcome(c, o, text);
}

static void list_remove(chore_job **head, chore_job *job)
{
    if (job->prev != NULL)
        job->prev->next = job->next;
    else
        *head = job->next;
    if (job->next != NULL)
        job->next->prev = job->prev;
    job->next = job->prev = NULL;
}

void rt_release_job(chore *c, const chore_job *job)
{
    rt_push_outcome(c,
                    (store_outcome){.id = job->stored.id,
                                    .token = job->stored.token,
                                    .kind = STORE_RELEASE},
                    NULL);
}

void rt_job_free(chore_job *job)
{
    rt_handler_owned(job->owner, job->stored.name, -1);
    store_claimed_clear(&job->stored);
    free(job->error);
    free(job->result);
    free(job);
}

void *rt_worker_main(void *arg)
{
    chore *c = arg;
    pthread_mutex_lock(&c->mu);
    for (;;) {
        while (c->queue_head == NULL && !c->stopping)
            pthread_cond_wait(&c->work_cond, &c->mu);
        if (c->queue_head == NULL)
            break; /* stopping, and nothing left to start */
        chore_job *job = c->queue_head;
        c->queue_head = job->next;
        if (c->queue_head == NULL)
            c->queue_tail = NULL;
        c->queued--;
        job->next = c->inflight;
        job->prev = NULL;
        if (c->inflight != NULL)
            c->inflight->prev = job;
        c->inflight = job;
        c->n_inflight++;
        if (rt_wants_jobs(c))
            pthread_cond_signal(&c->dispatch_cond); /* room for another claim */

        handler *h = rt_find_handler(c, job->stored.name);
        if (h == NULL) {
            rt_release_job(c, job); /* unhandled since the claim */
        } else {
            job->handler = *h;
            job->handler.name = NULL; /* the registry owns it and may free it */
            if (job->stored.timeout_ms > 0)
                job->deadline_ms = instant_add(chore_clock_now(c->clock), job->stored.timeout_ms);
            pthread_mutex_unlock(&c->mu);
            int64_t started_us = real_now_us();
            int rc = job->handler.fn(job, job->handler.ud);
            double took = (double)(real_now_us() - started_us) / 1e6;
            pthread_mutex_lock(&c->mu);
            if (!job->released)
                record_result(c, job, rc, took);
        }
        list_remove(&c->inflight, job);
        c->n_inflight--;
        rt_job_free(job);
        if (c->n_inflight == 0)
            pthread_cond_broadcast(&c->idle_cond);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}
