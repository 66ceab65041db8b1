/* fetch.c — outside workers take jobs: chore_fetch claims available jobs
 * with a lease for a caller outside this process's handlers (the daemon's
 * worker protocol), and when there are none may long-poll for them.
 *
 * The long poll waits on c->fetch_cond, which is broadcast when this
 * process enqueues or retries jobs, when the dispatcher notices another
 * connection's commit, when the store's wake hook reports another node's
 * (PostgreSQL's notifications: see rt_start), when a manual clock moves
 * and when the instance stops. Each broadcast bumps c->fetch_wakes: a broadcast that came
 * between an empty claim and the wait shows as a changed count, and the
 * waiter claims again instead of waiting. A waiter also wakes every
 * poll_interval_ms and claims again if the store's change counter moved
 * since before its last claim. It also wakes when
 * the earliest scheduled job comes due, read from the store (next_run_at)
 * after each empty claim rather than from the dispatcher's next_due_ms,
 * which knows only what this process has seen. */
#include <stdlib.h>

#include "pure/instant.h"
#include "runtime/runtime.h"

enum {
    FETCH_MAX = 1000,       /* jobs per fetch */
    FETCH_MAX_FILTERS = 100 /* names, and queues, per fetch: each is a slice of the claim */
};

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* A list of names or queues: NULL = any; else n valid identifiers. */
static bool valid_filter(const char *const *items, size_t n)
{
    if (items == NULL)
        return n == 0;
    if (n > FETCH_MAX_FILTERS)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!chore_name_valid(items[i]))
            return false;
    }
    return true;
}

void chore_fetched_free(chore_fetched *jobs, size_t n)
{
    if (jobs == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        free(jobs[i].name);
        free(jobs[i].queue);
        free(jobs[i].payload);
    }
    free(jobs);
}

/* Give claimed jobs back untouched (their attempt not counted): the caller
 * could not be handed them. Best effort: if this fails too, their leases
 * lapse and the rescuer returns them. */
static void give_back(chore *c, const store_claimed *got, size_t n)
{
    store_outcome *outs = malloc(n * sizeof *outs);
    if (outs == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        outs[i] = (store_outcome){.id = got[i].id, .token = got[i].token, .kind = STORE_RELEASE};
    (void)c->ops->finish(c->st, outs, n, chore_clock_now(c->clock), NULL);
    free(outs);
    rt_jobs_arrived(c, chore_clock_now(c->clock));
}

/* One claim at `now`; the claimed jobs' strings move into *out. */
static int claim_once(chore *c, const store_claim_req *req, int64_t now, chore_fetched **out,
                      size_t *n)
{
    store_claimed *got = NULL;
    size_t k = 0;
    int rc = c->ops->claim(c->st, req, now, &got, &k);
    if (rc != CHORE_OK || k == 0)
        return rc;
    chore_fetched *jobs = calloc(k, sizeof *jobs);
    if (jobs == NULL) {
        give_back(c, got, k);
        store_claimed_free(got, k);
        return CHORE_ENOMEM;
    }
    for (size_t i = 0; i < k; i++) {
        store_claimed *g = &got[i];
        jobs[i] = (chore_fetched){
            .id = g->id,
            .token = g->token,
            .name = g->name,
            .queue = g->queue,
            .payload = g->payload,
            .attempt = g->attempt,
            .max_attempts = g->max_attempts,
            .timeout_ms = g->timeout_ms,
            .lease_until_ms = g->lease_until_ms,
        };
        g->name = g->queue = g->payload = NULL;
    }
    store_claimed_free(got, k);
    *out = jobs;
    *n = k;
    return CHORE_OK;
}

/* What a waiter knew when its last claim found nothing. */
typedef struct fetch_wait {
    int64_t real_deadline; /* real (monotonic) ms */
    int64_t due_ms;        /* a scheduled job comes due then (instance clock); INT64_MAX = none */
    int64_t counter;       /* the store's change counter read before the claim */
    bool has_counter;
    uint64_t wakes;        /* c->fetch_wakes read before the claim */
} fetch_wait;

/* With `mu` held: sleep one slice, at most a poll interval, until the
 * deadline or the due time, or until fetch_cond is broadcast. */
static void sleep_slice(chore *c, const fetch_wait *w)
{
    int64_t now_real = real_now_ms();
    int64_t slice_end = min64(w->real_deadline, now_real + c->cfg.poll_interval_ms);
    int64_t now = chore_clock_now(c->clock);
    if (now >= w->due_ms || c->fetch_wakes != w->wakes)
        return; /* due, or woken since the claim: claim again */
    if (clock_is_manual(c->clock)) /* it moves by hand, and a move broadcasts fetch_cond */
        real_wait(&c->fetch_cond, &c->mu, slice_end);
    else
        clock_wait(c->clock, &c->fetch_cond, &c->mu,
                   min64(w->due_ms, now + (slice_end - now_real)));
}

/* Wait until jobs may be claimable: true when a claim is worth making,
 * false when the wait is over (the deadline passed, or the instance is not
 * running or stops). */
static bool wait_for_jobs(chore *c, fetch_wait *w)
{
    for (;;) {
        pthread_mutex_lock(&c->mu);
        bool running = c->running && !c->stopping;
        if (running && real_now_ms() < w->real_deadline) {
            sleep_slice(c, w);
            running = c->running && !c->stopping;
        }
        bool woken = c->fetch_wakes != w->wakes;
        w->wakes = c->fetch_wakes;
        pthread_mutex_unlock(&c->mu);
        if (!running)
            return false;
        if (woken)
            return true;
        if (chore_clock_now(c->clock) >= w->due_ms)
            return true;
        int64_t counter = 0;
        if (!w->has_counter || c->ops->change_counter(c->st, &counter) != CHORE_OK ||
            counter != w->counter)
            return true;
        if (real_now_ms() >= w->real_deadline)
            return false;
    }
}

/* Check opts and turn them into a claim request. */
static int prepare(const chore *c, const chore_fetch_opts *o, store_claim_req *req)
{
    if (o->max < 0 || o->max > FETCH_MAX || o->lease_ms < 0 || o->lease_ms > CHORE_TIME_MAX_MS ||
        o->wait_ms < 0 ||
        !valid_filter(o->names, o->n_names) || !valid_filter(o->queues, o->n_queues))
        return CHORE_EINVAL;
    *req = (store_claim_req){
        .names = o->n_names > 0 ? o->names : NULL,
        .n_names = o->n_names,
        .queues = o->n_queues > 0 ? o->queues : NULL,
        .n_queues = o->n_queues,
        .max = o->max > 0 ? (size_t)o->max : 1,
        .lease_ms = o->lease_ms > 0 ? o->lease_ms : c->cfg.lease_ms,
        .horizon_ms = 0, /* only jobs due now: a held job would sit leased outside */
    };
    return CHORE_OK;
}

int chore_fetch(chore *c, const chore_fetch_opts *opts, chore_fetched **out, size_t *n)
{
    static const chore_fetch_opts defaults;
    if (out != NULL)
        *out = NULL;
    if (n != NULL)
        *n = 0;
    if (c == NULL || out == NULL || n == NULL)
        return CHORE_EINVAL;
    if (opts == NULL)
        opts = &defaults;
    store_claim_req req;
    int rc = prepare(c, opts, &req);
    if (rc != CHORE_OK)
        return rc;
    int64_t start = real_now_ms();
    fetch_wait w = {.real_deadline = instant_add(start, opts->wait_ms)};
    for (;;) {
        /* Read before the claim: a commit after this read, even one racing
         * the claim, shows as a changed counter. */
        w.has_counter = c->ops->change_counter(c->st, &w.counter) == CHORE_OK;
        pthread_mutex_lock(&c->mu);
        w.wakes = c->fetch_wakes;
        pthread_mutex_unlock(&c->mu);
        int64_t now = chore_clock_now(c->clock);
        rc = claim_once(c, &req, now, out, n);
        if (rc != CHORE_OK || *n > 0 || opts->wait_ms == 0)
            return rc;
        /* The claim made every job due by `now` available: what it did not
         * take comes due later (perhaps already, if the clock moved since;
         * then the wait returns at once). A scheduled job due by `now` was
         * written after the claim, and the change counter shows it. */
        if (c->ops->next_run_at(c->st, &w.due_ms) != CHORE_OK || w.due_ms <= now)
            w.due_ms = INT64_MAX;
        if (!wait_for_jobs(c, &w))
            return CHORE_OK;
    }
}
