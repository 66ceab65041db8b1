/* dispatcher.c — the dispatcher thread: claims jobs in batches into the
 * local queue, writes finished attempts in batches, renews the leases of
 * jobs held here and notices jobs other connections stored (rescue and
 * pruning are loops: maintenance.c). It sleeps on
 * the instance's clock until the earliest thing it has to do. A store
 * that can tell when other nodes wrote (store_ops.set_wake, registered in
 * rt_start) wakes it through rt_jobs_arrived, as a local enqueue does;
 * the change counter polled every poll_interval_ms is then the fallback. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/runtime.h"

/* The dispatcher's own state; only its thread touches it. */
typedef struct dispatcher {
    chore *c;
    int64_t next_heartbeat, next_poll;
    int64_t change_counter;
    char **names; /* snapshot of the handler names, for claims: */
    size_t n_names;
    size_t n_open; /* the first n_open have no concurrency limit */
    uint64_t names_version;
} dispatcher;

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

static void free_names(dispatcher *d)
{
    for (size_t i = 0; i < d->n_names; i++)
        free(d->names[i]);
    free(d->names);
    d->names = NULL;
    d->n_names = d->n_open = 0;
}

/* Copy the handler names when they changed. With `mu` held. */
static int refresh_names(dispatcher *d)
{
    chore *c = d->c;
    if (d->names != NULL && d->names_version == c->handlers_version)
        return CHORE_OK;
    free_names(d);
    if (c->n_handlers == 0) {
        d->names_version = c->handlers_version;
        return CHORE_OK;
    }
    d->names = calloc(c->n_handlers, sizeof *d->names);
    if (d->names == NULL)
        return CHORE_ENOMEM;
    /* Names without a limit first: they are claimed together. */
    size_t n_limited = 0;
    for (size_t i = 0; i < c->n_handlers; i++)
        n_limited += c->handlers[i].concurrency > 0;
    d->n_open = c->n_handlers - n_limited;
    size_t open = 0, limited = d->n_open;
    for (size_t i = 0; i < c->n_handlers; i++) {
        size_t at = c->handlers[i].concurrency > 0 ? limited++ : open++;
        d->names[at] = strdup(c->handlers[i].name);
        if (d->names[at] == NULL) {
            d->n_names = c->n_handlers;
            free_names(d);
            return CHORE_ENOMEM;
        }
    }
    d->n_names = c->n_handlers;
    d->names_version = c->handlers_version;
    return CHORE_OK;
}

static void report(chore *c, const char *what, int rc)
{
    rt_log_kv(c, CHORE_LOG_ERROR, "dispatcher", "store call failed", "op", what, "error",
              chore_strerror(rc), "detail", c->ops->errmsg(c->st), NULL);
}

/* Learn when the next scheduled job is due. With `mu` released. */
static void refresh_next_due(chore *c, int64_t *next_due)
{
    int64_t due = INT64_MAX;
    int rc = c->ops->next_run_at(c->st, &due);
    if (rc != CHORE_OK)
        report(c, "next_run_at", rc);
    *next_due = due;
}

/* Write the finished attempts waiting. With `mu` held; releases it while writing. */
static void flush_outcomes(dispatcher *d)
{
    chore *c = d->c;
    pending_outcome *pending = c->outcomes;
    size_t n = c->n_outcomes;
    c->outcomes = NULL;
    c->n_outcomes = c->cap_outcomes = 0;
    pthread_mutex_unlock(&c->mu);

    int rc = CHORE_ENOMEM;
    store_outcome *outs = malloc(n * sizeof *outs);
    if (outs != NULL) {
        for (size_t i = 0; i < n; i++)
            outs[i] = pending[i].outcome;
        rc = c->ops->finish(c->st, outs, n, chore_clock_now(c->clock), NULL);
    }
    if (rc != CHORE_OK)
        report(c, "writing finished attempts", rc); /* leases lapse; rescue re-runs them */

    bool available = false;
    int64_t due = INT64_MAX;
    size_t finished = 0;
    for (size_t i = 0; i < n; i++) {
        store_outcome *o = &pending[i].outcome;
        finished += o->kind != STORE_RELEASE;
        if (o->kind == STORE_RELEASE)
            available = true;
        else if (o->kind == STORE_RETRY || o->kind == STORE_SNOOZE)
            due = min64(due, o->run_at_ms);
        free(pending[i].error);
    }
    free(outs);
    free(pending);

    pthread_mutex_lock(&c->mu);
    rt_prefetch_update(c, finished);
    if (available)
        c->maybe_available = true;
    c->next_due_ms = min64(c->next_due_ms, due);
}

/* Renew the lease of every job held here whose attempt has not timed out. */
static void heartbeat(dispatcher *d, int64_t now)
{
    chore *c = d->c;
    size_t n = c->queued + c->n_held + c->n_inflight;
    if (n == 0)
        return;
    store_lease *leases = malloc(n * sizeof *leases);
    if (leases == NULL)
        return; /* tried again at the next beat, well inside the lease */
    size_t k = 0;
    for (chore_job *j = c->queue_head; j != NULL; j = j->next)
        leases[k++] = (store_lease){j->stored.id, j->stored.token};
    for (chore_job *j = c->held; j != NULL; j = j->next)
        leases[k++] = (store_lease){j->stored.id, j->stored.token};
    for (chore_job *j = c->inflight; j != NULL; j = j->next) {
        if (now < j->deadline_ms && !j->released)
            leases[k++] = (store_lease){j->stored.id, j->stored.token};
    }
    pthread_mutex_unlock(&c->mu);
    int rc = k > 0 ? c->ops->heartbeat(c->st, leases, k, now, c->cfg.lease_ms, NULL) : CHORE_OK;
    if (rc != CHORE_OK)
        report(c, "heartbeat", rc);
    free(leases);
    pthread_mutex_lock(&c->mu);
}

/* Claim up to `room` jobs of the n `names` into the local queue. With `mu`
 * held; releases it while claiming. Returns how many were claimed. */
static size_t claim_names(dispatcher *d, char **names, size_t n_names, size_t room, int64_t now)
{
    chore *c = d->c;
    store_claim_req req = {
        .names = (const char *const *)names,
        .n_names = n_names,
        .queues = (const char *const *)c->queues,
        .n_queues = c->n_queues,
        .max = room,
        .lease_ms = c->cfg.lease_ms,
        .horizon_ms = rt_claim_horizon(c, now),
    };
    pthread_mutex_unlock(&c->mu);
    store_claimed *got = NULL;
    size_t n = 0;
    int rc = c->ops->claim(c->st, &req, now, &got, &n);
    if (rc != CHORE_OK)
        report(c, "claim", rc);
    chore_job **made = n > 0 ? calloc(n, sizeof *made) : NULL;
    size_t n_made = 0;
    for (size_t i = 0; i < n; i++) {
        chore_job *job = made != NULL ? calloc(1, sizeof *job) : NULL;
        if (job == NULL) {
            /* give it back at once rather than let its lease lapse */
            store_outcome back = {.id = got[i].id, .token = got[i].token, .kind = STORE_RELEASE};
            c->ops->finish(c->st, &back, 1, now, NULL);
            store_claimed_clear(&got[i]);
            continue;
        }
        job->stored = got[i];
        job->owner = c;
        job->deadline_ms = INT64_MAX;
        made[n_made++] = job;
    }
    free(got);
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < n_made; i++) {
        chore_job *job = made[i];
        rt_handler_owned(c, job->stored.name, +1);
        if (!c->accepting) { /* stop began while we claimed: give them back */
            rt_release_job(c, job);
            rt_job_free(job);
        } else if (job->stored.run_at_ms > now) {
            rt_hold(c, job);
        } else {
            rt_queue(c, job);
        }
    }
    free(made);
    if (c->queued > 0)
        pthread_cond_broadcast(&c->work_cond);
    if (rc != CHORE_OK) /* try again after a poll interval: the failure may pass */
        c->next_due_ms = min64(c->next_due_ms, now + c->cfg.poll_interval_ms);
    return n;
}

/* Claim up to `room` jobs: one claim for the names without a concurrency
 * limit, then one for each limited name with room left, so that no more of
 * its jobs are claimed here than may run. With `mu` held (released while
 * claiming). */
static size_t claim(dispatcher *d, size_t room, int64_t now)
{
    chore *c = d->c;
    if (refresh_names(d) != CHORE_OK || d->n_names == 0)
        return 0;
    size_t got = d->n_open > 0 ? claim_names(d, d->names, d->n_open, room, now) : 0;
    for (size_t i = d->n_open; i < d->n_names && got < room; i++) {
        handler *h = rt_find_handler(c, d->names[i]);
        if (h == NULL || h->owned >= (size_t)h->concurrency)
            continue;
        size_t left = (size_t)h->concurrency - h->owned;
        got += claim_names(d, &d->names[i], 1, left < room - got ? left : room - got, now);
    }
    return got;
}

/* Claim when jobs may be waiting and the local queue wants more. With
 * `mu` held. Returns whether it claimed any. */
static bool claim_step(dispatcher *d, int64_t now)
{
    chore *c = d->c;
    if (now >= c->next_due_ms - HOLD_MS) { /* due, or soon enough to hold */
        c->maybe_available = true;
        c->next_due_ms = INT64_MAX;
    }
    if (!c->maybe_available || c->n_handlers == 0 || !rt_wants_jobs(c))
        return false;
    size_t room = c->prefetch - c->queued;
    /* Cleared before the claim, not after it: jobs that arrive while it
     * runs (mu is released) set it again and are not missed. */
    c->maybe_available = false;
    size_t got = claim(d, room, now);
    if (got >= room) {
        c->maybe_available = true; /* a full batch: there may be more */
    } else {
        int64_t due = INT64_MAX;
        pthread_mutex_unlock(&c->mu);
        refresh_next_due(c, &due);
        pthread_mutex_lock(&c->mu);
        c->next_due_ms = min64(c->next_due_ms, due);
    }
    return got > 0;
}

/* Every poll interval: notice jobs other connections committed. */
static void poll_store(dispatcher *d, int64_t now)
{
    chore *c = d->c;
    if (now < d->next_poll)
        return;
    pthread_mutex_unlock(&c->mu);
    bool more = false;
    int64_t due = INT64_MAX;
    int64_t counter = 0;
    if (c->ops->change_counter(c->st, &counter) == CHORE_OK && counter != d->change_counter) {
        d->change_counter = counter;
        more = true;
        refresh_next_due(c, &due);
    }
    d->next_poll = now + c->cfg.poll_interval_ms;
    pthread_mutex_lock(&c->mu);
    if (more) {
        c->maybe_available = true;
        rt_wake_fetchers(c);
    }
    c->next_due_ms = min64(c->next_due_ms, due);
}

void *rt_dispatcher_main(void *arg)
{
    dispatcher d = {.c = arg, .names_version = UINT64_MAX};
    chore *c = d.c;
    int64_t now = chore_clock_now(c->clock);
    d.next_heartbeat = now + c->cfg.lease_ms / 3;
    d.next_poll = now + c->cfg.poll_interval_ms;
    c->ops->change_counter(c->st, &d.change_counter);

    pthread_mutex_lock(&c->mu);
    for (;;) {
        uint64_t moves = c->clock_moves;
        bool busy = false;
        /* When the workers have nothing left, claiming comes before writing
         * results: a burst of due jobs starts sooner. */
        bool starving = c->queued == 0 && c->accepting;
        if (c->n_outcomes > 0 && !starving) {
            flush_outcomes(&d);
            busy = true;
        }
        if (c->dispatcher_exit && c->n_outcomes == 0)
            break;
        now = chore_clock_now(c->clock);
        if (now >= d.next_heartbeat) {
            heartbeat(&d, now);
            d.next_heartbeat = now + c->cfg.lease_ms / 3;
        }
        if (c->accepting) {
            rt_release_held(c, now);
            poll_store(&d, now);
            busy = claim_step(&d, now) || busy;
        }
        if (c->n_outcomes > 0 && starving) {
            flush_outcomes(&d);
            busy = true;
        }
        bool idle = !busy && moves == c->clock_moves && c->n_outcomes == 0 && c->queued == 0 &&
                    c->n_inflight == 0 && (!c->maybe_available || c->n_handlers == 0);
        if (idle != c->idle) {
            c->idle = idle;
            if (idle)
                pthread_cond_broadcast(&c->idle_cond);
        }
        c->passes++;
        pthread_cond_broadcast(&c->idle_cond);
        if (busy || moves != c->clock_moves)
            continue;
        int64_t deadline = min64(d.next_heartbeat, rt_next_held(c));
        if (c->next_due_ms != INT64_MAX)
            deadline = min64(deadline, c->next_due_ms - HOLD_MS);
        if (c->accepting)
            deadline = min64(deadline, d.next_poll);
        if (c->n_outcomes == 0 && !c->dispatcher_exit &&
            !(c->accepting && c->maybe_available && c->n_handlers > 0 && rt_wants_jobs(c)))
            clock_wait(c->clock, &c->dispatch_cond, &c->mu, deadline);
    }
    c->idle = true;
    pthread_cond_broadcast(&c->idle_cond);
    pthread_mutex_unlock(&c->mu);
    free_names(&d);
    return NULL;
}

void rt_jobs_arrived(chore *c, int64_t due_ms)
{
    pthread_mutex_lock(&c->mu);
    bool was_available = c->maybe_available;
    int64_t was_due = c->next_due_ms;
    if (due_ms <= chore_clock_now(c->clock) + HOLD_MS)
        c->maybe_available = true;
    else
        c->next_due_ms = min64(c->next_due_ms, due_ms);
    /* The dispatcher is woken only when it has something new to do: with
     * no handler it claims nothing, and a flag already set has woken it
     * (waking a thread costs more than the enqueue it follows). */
    bool news = c->maybe_available != was_available || c->next_due_ms != was_due;
    if (news && c->n_handlers > 0) {
        c->idle = false;
        pthread_cond_signal(&c->dispatch_cond);
    }
    rt_wake_fetchers(c);
    pthread_mutex_unlock(&c->mu);
}

void rt_wake_fetchers(chore *c)
{
    c->fetch_wakes++;
    pthread_cond_broadcast(&c->fetch_cond);
}
