/*
 * runtime.h — the inside of a chore instance: its threads and what they
 * share. One dispatcher thread claims jobs in batches into a local queue,
 * flushes finished attempts in batches and renews leases; worker threads
 * take jobs from the local queue and run handlers; loops (loop.h) rescue
 * expired leases, prune and fire schedules. Enqueues from any thread share
 * commits (enqueue_batch.c).
 *
 * Locking: `mu` guards everything below it in struct chore; the store is
 * called with `mu` released. Handlers run with no lock held.
 */
#ifndef CHORE_RUNTIME_H
#define CHORE_RUNTIME_H

#include <pthread.h>
#include <stdbool.h>

#include "chore.h"
#include "pure/backoff.h"
#include "runtime/clock.h"
#include "runtime/group_commit.h"
#include "store/store.h"

/* A registered handler. */
typedef struct handler {
    char *name;
    chore_handler_fn fn;
    void *ud;
    backoff_policy backoff;
    int64_t defer_timeout_ms;
    int concurrency; /* at most this many claimed here at once; 0 = no limit */
    size_t owned;    /* jobs of this name claimed here and not yet finished */
} handler;

/* A claimed job in this process: the stored fields from the claim, and the
 * in-memory ones. This is what a handler sees as chore_job. */
struct chore_job {
    store_claimed stored;
    chore *owner;
    handler handler;         /* copied when a worker takes the job */
    int64_t deadline_ms;     /* end of the attempt's timeout; INT64_MAX = none */
    char *error;             /* set by chore_job_set_error */
    char *result;            /* set by chore_job_set_result: kept if the attempt completes */
    int64_t snooze_ms;       /* set by chore_job_snooze */
    bool released;           /* stop gave the job back: drop the handler's result */
    struct chore_job *next;  /* in the local queue or the in-flight list */
    struct chore_job *prev;
};

/* A finished attempt waiting to be written, with its own copy of its text:
 * `error` owns what outcome.error points to, or for STORE_COMPLETE what
 * outcome.result points to (an attempt has one or the other, never both,
 * so the dispatcher frees one pointer either way). */
typedef struct pending_outcome {
    store_outcome outcome;
    char *error;
} pending_outcome;

/* The largest job result kept, in bytes: results are for small summaries,
 * not bulk data, and each is read back whole by chore_job_get. */
enum { RT_RESULT_MAX = 1 << 20 };
/* Check a job result: CHORE_EINVAL when NULL or longer than RT_RESULT_MAX,
 * CHORE_EJSON when not JSON. */
int rt_check_result(const char *json);

/* One caller's request in the shared enqueue commit. */
typedef struct enqueue_req {
    rt_group_req g;
    const store_new_job *jobs;
    size_t n;
    int64_t *ids;
    bool *duplicate;
    int rc;
} enqueue_req;

struct chore {
    chore_config cfg;        /* defaults filled in; strings owned */
    char *store_url;
    char **queues;           /* NULL-terminated, or NULL = every queue */
    size_t n_queues;
    const store_ops *ops;
    store *st;
    chore_clock *clock;
    clock_listener clock_listener;

    rt_group enqueues; /* shared enqueue commits */
    rt_group finishes; /* shared commits of outside workers' outcomes (fetch_finish.c) */

    pthread_mutex_t mu;
    pthread_cond_t dispatch_cond; /* the dispatcher waits here */
    pthread_cond_t work_cond;     /* workers wait here */
    pthread_cond_t idle_cond;     /* chore_wait_idle and chore_stop wait here */
    uint64_t fetch_wakes;         /* fetch_cond broadcasts so far: a fetch that saw
                                     an older count claims again instead of waiting */
    pthread_cond_t fetch_cond;    /* chore_fetch long polls wait here; broadcast
                                     whenever jobs may have become available */

    handler *handlers;
    size_t n_handlers, cap_handlers;
    uint64_t handlers_version;

    chore_job *queue_head, *queue_tail; /* claimed, due, not yet started */
    size_t queued;
    chore_job *held;                    /* claimed before their run time (held.c) */
    size_t n_held;
    size_t prefetch;                    /* how many may wait claimed here now (prefetch.c) */
    int64_t rate_window_start;          /* real ms; for prefetch.c */
    size_t rate_finished;
    double rate;                        /* jobs finished per second, smoothed */
    chore_job *inflight;                /* handlers running */
    size_t n_inflight;
    pending_outcome *outcomes;          /* finished, not yet written */
    size_t n_outcomes, cap_outcomes;

    bool running;          /* threads started and not yet stopped */
    bool accepting;        /* the dispatcher may claim */
    bool stopping;         /* workers leave once the queue is empty */
    bool dispatcher_exit;  /* the dispatcher leaves after a last flush */
    bool maybe_available;  /* a claim may find jobs */
    bool idle;             /* the dispatcher found nothing to do */
    int64_t next_due_ms;   /* earliest scheduled run_at known */
    uint64_t passes;       /* dispatcher loop passes, for rt_sync */
    uint64_t clock_moves;  /* times a manual clock moved: a pass that saw an
                              older count may not call itself idle */
    uint64_t rng;

    /* The scheduler (scheduler.c), run by the loop chore.scheduler. */
    struct scheduler *scheduler;
    struct chore_loop *scheduler_loop;
    bool schedules_changed;     /* reread the store's schedules */

    /* Loops (loop.c, loop_control.c); each loop has its own lock too. */
    struct chore_loop **loops;  /* never removed until chore_close */
    size_t n_loops, cap_loops;
    bool loops_running;         /* loop threads run: started last, stopped first */
    char owner_id[64];          /* this instance as a lock owner; "" until a locked loop */

    struct rt_metrics *metrics; /* runtime/metrics.h; its own lock */

    pthread_t dispatcher;
    pthread_t *workers;
    int n_workers_started;
    bool workers_joinable; /* a timed-out stop left workers to join */
};

/* Wake the dispatcher because jobs may be claimable at or after due_ms.
 * Takes `mu`. */
void rt_jobs_arrived(chore *c, int64_t due_ms);
/* Wake long-polling chore_fetch calls: jobs may be claimable. With `mu` held. */
void rt_wake_fetchers(chore *c);

/* The dispatcher thread. */
void *rt_dispatcher_main(void *arg);
/* A worker thread. */
void *rt_worker_main(void *arg);
/* Tell the scheduler to reread the schedules (one changed). Takes `mu`. */
void rt_schedules_changed(chore *c);
/* Register chore's own maintenance as loops (maintenance.c): chore.rescuer,
 * chore.pruner, chore.scheduler. At open, before any other loop. */
int rt_maintenance_add(chore *c);
/* Whether every maintenance loop waits with nothing due (or does not
 * run). With `mu` held; takes each loop's lock. */
bool rt_maintenance_settled(chore *c);

/* The outcome of a failed attempt: a retry after backoff, or a discard
 * when the attempts are used up. Call with `mu` held (uses c->rng). */
store_outcome rt_failure_outcome(chore *c, const backoff_policy *backoff, int64_t id,
                                 int64_t token, int attempt, int max_attempts, int64_t now);

/* Queue an outcome for the dispatcher, taking ownership of `error` (for
 * STORE_COMPLETE: of the result, NULL = none; see pending_outcome). With
 * `mu` held. Returns CHORE_ENOMEM when it could not (the job's lease will
 * lapse and it will be rescued). */
int rt_push_outcome(chore *c, store_outcome outcome, char *error);

/* Give a claimed job back to the store untouched (attempt not counted). With `mu` held. */
void rt_release_job(chore *c, const chore_job *job);
/* Free a job and what it owns, and stop counting it against its handler. With `mu` held. */
void rt_job_free(chore_job *job);

/* Adapt c->prefetch to how fast jobs finish: about PREFETCH_WORK_MS of
 * work, at least 2 per worker, at most fetch_batch. Call with `mu` held
 * after `finished` more jobs finished. */
void rt_prefetch_update(chore *c, size_t finished);
/* Whether the local queue is low enough to claim more. With `mu` held. */
bool rt_wants_jobs(const chore *c);

/* Held jobs (held.c), with `mu` held. A claim takes scheduled jobs due
 * within HOLD_MS; at most MAX_HELD wait here. */
enum { HOLD_MS = 500, MAX_HELD = 100000 };
/* Keep a claimed job until its run time. */
void rt_hold(chore *c, chore_job *job);
/* Append a job to the workers' queue. */
void rt_queue(chore *c, chore_job *job);
/* Move held jobs due by `now` to the queue; true if any moved. */
bool rt_release_held(chore *c, int64_t now);
/* The run time of the first held job, INT64_MAX when none. */
int64_t rt_next_held(const chore *c);
/* How far ahead a claim made now may reach. */
int64_t rt_claim_horizon(const chore *c, int64_t now);

/* Handler registry (handlers.c), with `mu` held. */
handler *rt_find_handler(chore *c, const char *name);
int rt_set_handler(chore *c, const char *name, chore_handler_fn fn, void *ud,
                   const chore_handler_opts *opts);
int rt_remove_handler(chore *c, const char *name);
void rt_free_handlers(chore *c);
/* Count a job of `name` claimed here (+1) or gone (-1). A limited name's
 * freed slot wakes the dispatcher: more of its jobs may be claimed now. */
void rt_handler_owned(chore *c, const char *name, int delta);
/* A handler with every option at its default (and no function). */
void rt_default_handler(handler *h);

/* Store jobs through the shared commit (enqueue_batch.c). */
int rt_enqueue(chore *c, const store_new_job *jobs, size_t n, int64_t *ids, bool *duplicate);
/* Set up c->enqueues and c->finishes: CHORE_OK or CHORE_ENOMEM. */
int rt_enqueue_group_init(chore *c);
int rt_finish_group_init(chore *c);

/* Lifecycle (lifecycle.c). */
int rt_start(chore *c);
int rt_stop(chore *c, int64_t grace_ms);
void rt_join_leftover_workers(chore *c);
/* Wait (real time, at most timeout_ms) until the dispatcher has made a
 * whole pass that began after this call, and the maintenance loops have
 * nothing due: all have seen the clock as it is now.
 * For tests that cannot wait for idleness because a handler is blocked. */
int rt_sync(chore *c, int64_t timeout_ms);
/* Loop threads (loop.c), called without `mu`: start every loop not
 * stopped for good (on failure the started ones are stopped again); stop
 * and join them all; free them (after rt_stop). */
int rt_loops_start(chore *c);
void rt_loops_stop(chore *c);
void rt_loops_free(chore *c);

/* Logs (log.c): one logfmt line per call, `time=... level=... component=...
 * msg="..." [key=value ...]`, to cfg.log_fn or else stderr; lines below
 * cfg.log_level are dropped before formatting. c may be NULL (defaults).
 * Never log payloads. */
bool rt_log_enabled(const chore *c, chore_log_level level);
/* msg is printf-formatted. */
void rt_log(const chore *c, chore_log_level level, const char *component, const char *fmt,
            ...) __attribute__((format(printf, 4, 5)));
/* msg as is, then `key`, `value` string pairs ending with NULL; values with
 * spaces, quotes, = or control characters are quoted and escaped. */
void rt_log_kv(const chore *c, chore_log_level level, const char *component, const char *msg,
               ...) __attribute__((sentinel));

#endif
