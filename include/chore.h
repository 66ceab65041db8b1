/*
 * chore.h — durable background work for C programs.
 *
 * The one public header of libchore: a job queue whose jobs survive crashes
 * and are retried with backoff until they succeed, stored in an embedded
 * SQLite file. Everything not declared here is private.
 *
 * Conventions: functions return 0 (CHORE_OK) on success and a negative
 * CHORE_E* code on failure; results come back through out-parameters. A
 * call that fails never invokes its callback. Times are milliseconds since
 * the Unix epoch (instants) or milliseconds (durations), read from the
 * instance's clock. No global state: several instances may live side by
 * side in one process.
 */
#ifndef CHORE_H
#define CHORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CHORE_VERSION "0.1.0"

/* ---------------------------------------------------------------- errors */

/* Every status code, once: name, value, message. Codes are never renumbered. */
#define CHORE_STATUS_LIST(X)                                                     \
    X(CHORE_OK, 0, "success")                                                    \
    X(CHORE_DUPLICATE, 1, "a job with this unique key exists; its id was returned") \
    X(CHORE_EINVAL, -1, "invalid argument")                                      \
    X(CHORE_ENOMEM, -2, "out of memory")                                         \
    X(CHORE_ESTORE, -3, "storage error")                                         \
    X(CHORE_ENOTFOUND, -4, "not found")                                          \
    X(CHORE_ESTALE, -5, "stale fencing token: the job's lease was lost")         \
    X(CHORE_ESTATE, -6, "not allowed in the job's current state")                \
    X(CHORE_EEXIST, -7, "already exists")                                        \
    X(CHORE_EJSON, -8, "invalid JSON")                                           \
    X(CHORE_ESTOPPED, -9, "not running")                                         \
    X(CHORE_ETIMEDOUT, -10, "timed out")                                         \
    X(CHORE_EVERSION, -11, "store schema is newer than this library")            \
    X(CHORE_EBUSY, -12, "already running")                                       \
    X(CHORE_ETHREAD, -13, "could not start a thread")

enum chore_status {
#define CHORE_STATUS_ENUM(name, value, message) name = (value),
    CHORE_STATUS_LIST(CHORE_STATUS_ENUM)
#undef CHORE_STATUS_ENUM
};

/* The message for a status code; "unknown status" for a code not listed. */
const char *chore_strerror(int code);

/* ---------------------------------------------------------------- states */

/* A job's state. Stored as these numbers: never renumber. */
typedef enum chore_state {
    CHORE_SCHEDULED = 0, /* waits for its run time (retries included) */
    CHORE_AVAILABLE = 1, /* may be claimed now */
    CHORE_RUNNING = 2,   /* leased to one worker */
    CHORE_SUSPENDED = 3, /* deferred: waits for chore_job_done/fail or its deadline */
    CHORE_COMPLETED = 4,
    CHORE_DISCARDED = 5, /* failed for good */
    CHORE_CANCELLED = 6,
} chore_state;

#define CHORE_STATE_COUNT 7

/* "scheduled", "available", …; NULL for a number that is not a state. */
const char *chore_state_name(chore_state state);
/* The state named `name`; CHORE_EINVAL when there is none. */
int chore_state_parse(const char *name, chore_state *out);

/* The longest job, queue, schedule or handler name, in bytes. */
#define CHORE_NAME_MAX 128
/* Whether `name` may name a job, queue, schedule or handler: 1 to
 * CHORE_NAME_MAX bytes, no control characters. Every call that takes a
 * name refuses any other with CHORE_EINVAL. */
bool chore_name_valid(const char *name);

/* ----------------------------------------------------------------- clock */

/*
 * A clock that tests move by hand. Pass it in chore_config.clock and every
 * timer of the instance (run times, leases, backoff, rescue, pruning) reads
 * it; advancing it wakes the instance's threads. One clock may serve
 * several instances.
 */
typedef struct chore_clock chore_clock;

/* A manual clock that starts at `start_ms` and moves only when told. */
int chore_clock_new_manual(chore_clock **out, int64_t start_ms);
/* Move the manual clock forward by `ms` (>= 0) and wake every waiting thread. */
void chore_clock_advance(chore_clock *clock, int64_t ms);
/* The clock's time now. */
int64_t chore_clock_now(const chore_clock *clock);
/* Free a manual clock no instance uses any more. NULL is a no-op. */
void chore_clock_free(chore_clock *clock);

/* ---------------------------------------------------------------- config */

/* What a returned OK promises about an enqueue or a completion. */
typedef enum chore_durability {
    /* Default. OK means the write is on stable storage: it survives power loss. */
    CHORE_DURABLE_FULL = 0,
    /* OK means the write survives a crash of the process, but the last
     * commits may be lost if the machine loses power. Faster. */
    CHORE_DURABLE_PROCESS = 1,
} chore_durability;

/* How much the instance logs. */
typedef enum chore_log_level {
    CHORE_LOG_INFO = 0, /* default */
    CHORE_LOG_DEBUG = 1,
    CHORE_LOG_WARN = 2,
    CHORE_LOG_ERROR = 3,
    CHORE_LOG_OFF = 4,
} chore_log_level;

/*
 * Receives each log line: `line` is one logfmt line without a newline, e.g.
 * `time=2026-11-22T10:00:00.123Z level=info component=chore.rescuer msg="..." jobs=3`;
 * `component` is the loop's or part's name. Called from the instance's
 * threads, so it must be thread-safe; it must not call back into chore.
 */
typedef void (*chore_log_fn)(void *ud, chore_log_level level, const char *component,
                             const char *line);

/* Settings for chore_open. A zeroed field takes the default given beside it. */
typedef struct chore_config {
    const char *store;            /* "sqlite:PATH"; default "sqlite:chore.db" */
    int workers;                  /* handler threads; default 4 */
    int fetch_batch;              /* most jobs claimed at once and held here; default 1000 */
    int64_t lease_ms;             /* a claim's lease, renewed by heartbeats; default 30000 */
    int64_t poll_interval_ms;     /* look for jobs written by other connections; default 100 */
    int64_t rescue_interval_ms;   /* look for expired leases; default 1000 */
    int64_t retention_ms;         /* keep final jobs this long; default 24 h; <0 = forever */
    int64_t prune_interval_ms;    /* default 60000 */
    chore_durability durability;  /* default CHORE_DURABLE_FULL */
    const char *const *queues;    /* NULL-terminated queues to work; NULL = every queue */
    chore_clock *clock;           /* NULL = the system clock */
    uint64_t seed;                /* seeds backoff jitter; 0 = from the time */
    int64_t misfire_ms;           /* a schedule's slot this late is missed; default 60000 */
    chore_log_level log_level;    /* least severe level logged; default CHORE_LOG_INFO */
    chore_log_fn log_fn;          /* NULL = write lines to stderr */
    void *log_ud;
} chore_config;

/* ---------------------------------------------------------------- instance */

typedef struct chore chore;

/*
 * Open (creating if needed) the store named in cfg and migrate its schema.
 * No thread runs until chore_start. cfg may be NULL for every default.
 */
int chore_open(chore **out, const chore_config *cfg);
/* Start the worker threads and the dispatcher. CHORE_EBUSY if running. */
int chore_start(chore *c);
/*
 * Stop claiming jobs and wait up to grace_ms (real time) for running
 * handlers to return; their results are stored. Jobs whose handler is still
 * running after the grace period go back to `available` (no attempt is
 * counted) and CHORE_ETIMEDOUT is returned; chore_close then waits for
 * those handlers to return. Stopping a stopped instance is a no-op.
 */
int chore_stop(chore *c, int64_t grace_ms);
/* Stop (with no grace) if running, then free everything. NULL is a no-op. */
void chore_close(chore *c);
/*
 * Block until no job is due for this instance's handlers and none is in
 * flight, or until timeout_ms of real time passes (CHORE_ETIMEDOUT).
 * Meant for tests and for programs that drain before exiting. With several
 * instances on one store, one may claim jobs another enqueued after its
 * own wait returned: wait on each in turn until a round finds the work
 * done.
 */
int chore_wait_idle(chore *c, int64_t timeout_ms);
/* The instance's current time (its clock's); 0 for NULL. */
int64_t chore_now(const chore *c);

/* ---------------------------------------------------------------- handlers */

/* What a handler returns, besides CHORE_OK (completed) and errors (< 0: retry). */
enum chore_handler_result {
    CHORE_DISCARD = 100, /* fail for good: no more attempts */
    CHORE_SNOOZE = 101,  /* run again after chore_job_snooze's delay, no attempt counted */
    CHORE_DEFER = 102,   /* the job waits in `suspended` for chore_job_done / chore_job_fail */
};

/* A job being worked: valid only inside the handler call that received it. */
typedef struct chore_job chore_job;

int64_t chore_job_id(const chore_job *job);
const char *chore_job_name(const chore_job *job);
const char *chore_job_payload(const chore_job *job); /* JSON text */
const char *chore_job_queue(const chore_job *job);
int chore_job_attempt(const chore_job *job);         /* 1 on the first attempt */
int64_t chore_job_token(const chore_job *job);       /* fencing token, for chore_job_done/fail */
/* Record why this attempt failed (copied); shown in the job's attempts. */
int chore_job_set_error(chore_job *job, const char *message);
/* Set the delay for a CHORE_SNOOZE return (one past CHORE_TIME_MAX_MS
 * waits until then); returns CHORE_SNOOZE. */
int chore_job_snooze(chore_job *job, int64_t delay_ms);
/* Keep result_json (copied) with the job when this attempt completes (the
 * handler returns CHORE_OK); a later call replaces it. CHORE_EJSON when it
 * is not JSON, CHORE_EINVAL when NULL or longer than 1 MiB. */
int chore_job_set_result(chore_job *job, const char *result_json);
/*
 * True once the handler should return early: the job's timeout passed, or
 * the instance stopped and the grace it gave running handlers ran out (the
 * job was given back). A graceful stop does not ask handlers to stop: they
 * get the whole grace to finish, as with Sidekiq's and River's soft stops.
 */
bool chore_job_should_stop(const chore_job *job);

/*
 * A handler works one job. It runs on a worker thread; several run at once,
 * so it must be thread-safe with respect to its user pointer. It must not
 * call chore_stop or chore_close on its own instance.
 */
typedef int (*chore_handler_fn)(chore_job *job, void *ud);

/* How a handler's failures are retried. A zeroed field takes its default. */
typedef struct chore_handler_opts {
    int64_t backoff_base_ms;  /* delay after the first failure; default 1000 */
    int64_t backoff_max_ms;   /* cap on the delay; default 3600000 (1 h) */
    double backoff_jitter;    /* cut the delay by up to this fraction at random; default 0.2, <0 = none */
    int64_t defer_timeout_ms; /* how long a deferred job waits; default 3600000 */
    int concurrency;          /* at most this many of the name's jobs run at once here; 0 = no limit */
} chore_handler_opts;

/* Register (or replace) the handler for job name `name`. opts may be NULL. */
int chore_handle(chore *c, const char *name, chore_handler_fn fn, void *ud,
                 const chore_handler_opts *opts);
/* Remove the handler for `name`; jobs already claimed finish. CHORE_ENOTFOUND if none. */
int chore_unhandle(chore *c, const char *name);

/* Complete a deferred (or running) job. CHORE_ESTALE if token is no longer current. */
int chore_job_done(chore *c, int64_t id, int64_t token);
/* Fail a deferred (or running) job: it is retried with backoff, or discarded. */
int chore_job_fail(chore *c, int64_t id, int64_t token, const char *error);

/* ---------------------------------------------------------------- enqueue */

/* The longest unique key, in bytes. */
#define CHORE_UNIQUE_KEY_MAX 512

/* Options for one job. A zeroed field takes the default beside it. */
typedef struct chore_enqueue_opts {
    int64_t run_at_ms;      /* instant to run at; 0 = now (or after delay_ms) */
    int64_t delay_ms;       /* run this long from now; used when run_at_ms is 0 */
    /* (a run time past CHORE_TIME_MAX_MS, given or from the delay, is CHORE_EINVAL) */
    const char *queue;      /* default "default" */
    int priority;           /* smaller runs first; default 0 */
    int max_attempts;       /* 0 = retry forever */
    const char *unique_key; /* while a job with this key is not final, return it instead
                               (1 to CHORE_UNIQUE_KEY_MAX bytes) */
    int64_t timeout_ms;     /* per attempt; 0 = none */
} chore_enqueue_opts;

/*
 * Store one job. payload is JSON text (NULL = "{}"); invalid JSON is
 * CHORE_EJSON and nothing is stored. On CHORE_OK *id is the new job; on
 * CHORE_DUPLICATE *id is the existing job with the same unique key.
 */
int chore_enqueue(chore *c, const char *name, const char *payload,
                  const chore_enqueue_opts *opts, int64_t *id);

/* One job of a bulk enqueue. */
typedef struct chore_job_spec {
    const char *name;
    const char *payload;
    chore_enqueue_opts opts;
} chore_job_spec;

/*
 * Store n jobs in one transaction: all or none. ids[i] receives each job's
 * id; duplicate[i] (may be NULL) says whether it was an existing job.
 */
int chore_enqueue_bulk(chore *c, const chore_job_spec *specs, size_t n, int64_t *ids,
                       bool *duplicate);

/*
 * Store one job inside the caller's own open transaction on `native`, a
 * sqlite3* connection to the same file: the job exists if and only if the
 * caller commits. The instance notices the job within poll_interval_ms of
 * the commit.
 */
int chore_enqueue_tx(chore *c, void *native, const char *name, const char *payload,
                     const chore_enqueue_opts *opts, int64_t *id);

/* ---------------------------------------------------------------- admin */

/* One failed attempt of a job. */
typedef struct chore_attempt_error {
    int attempt;
    int64_t at_ms;
    char *error;
} chore_attempt_error;

/* A job as stored. */
typedef struct chore_job_info {
    int64_t id;
    char *name;
    char *queue;
    char *payload;
    char *unique_key; /* NULL when none */
    chore_state state;
    int priority;
    int attempt; /* attempts made so far */
    int max_attempts;
    int64_t timeout_ms;
    int64_t created_at_ms;
    int64_t run_at_ms;
    int64_t attempted_at_ms; /* 0 = never */
    int64_t finished_at_ms;  /* 0 = not final */
    int64_t lease_until_ms;  /* running: lease end; suspended: deadline; else 0 */
    char *result;            /* completed: the JSON result its worker gave, else NULL;
                                chore_job_get fills it, chore_job_list does not */
    size_t n_errors;
    chore_attempt_error *errors; /* oldest first */
} chore_job_info;

/* Read one job with its attempt errors. Free it with chore_job_info_free. */
int chore_job_get(chore *c, int64_t id, chore_job_info **out);
void chore_job_info_free(chore_job_info *info);

/* A page of jobs, newest first. Zeroed fields mean "any". */
typedef struct chore_list_query {
    int state;          /* a chore_state, or -1 (or 0 with any_state) for any */
    bool any_state;     /* true: ignore `state` */
    const char *name;   /* NULL = any */
    int64_t before_id;  /* paging cursor: only ids below this; 0 = from the newest */
    int limit;          /* default 100, at most 10000 */
} chore_list_query;

/*
 * List jobs (without their errors). *out is an array of *n entries, freed
 * with chore_job_list_free. *next_cursor is the before_id for the next page,
 * or 0 when this was the last.
 */
int chore_job_list(chore *c, const chore_list_query *q, chore_job_info **out, size_t *n,
                   int64_t *next_cursor);
void chore_job_list_free(chore_job_info *items, size_t n);

/* Run a scheduled, discarded, cancelled or completed job again now, keeping its history. */
int chore_job_retry(chore *c, int64_t id);
/* Cancel a job that is not final; a running job's worker loses its lease. */
int chore_job_cancel(chore *c, int64_t id);
/* Put a job that is not running back to `available` as new: attempts and errors reset. */
int chore_job_requeue(chore *c, int64_t id);
/* Delete a job that is not running. */
int chore_job_delete(chore *c, int64_t id);
/* How many jobs are in each state, indexed by chore_state. */
int chore_count_by_state(chore *c, int64_t counts[CHORE_STATE_COUNT]);
/* Delete final jobs that finished before `before_ms`; *pruned (may be NULL) counts them. */
int chore_prune(chore *c, int64_t before_ms, int64_t *pruned);

/* ------------------------------------------------------- outside workers */

/*
 * Jobs worked outside this process (the daemon's worker protocol): fetched
 * with a lease, kept alive with heartbeats, finished by their fencing
 * token. A stale token (the lease was lost, the job was rescued, cancelled
 * or finished) is CHORE_ESTALE and changes nothing.
 */

/* A fetched job. Strings are owned: free the array with chore_fetched_free. */
typedef struct chore_fetched {
    int64_t id;
    int64_t token;          /* fencing token of this attempt */
    char *name;
    char *queue;
    char *payload;          /* JSON text */
    int attempt;            /* 1 on the first attempt */
    int max_attempts;       /* 0 = retry forever */
    int64_t timeout_ms;     /* 0 = none */
    int64_t lease_until_ms; /* renew before then with chore_job_heartbeat */
} chore_fetched;

/* What to fetch. A zeroed field takes the default beside it. */
typedef struct chore_fetch_opts {
    const char *const *names;  /* job names to fetch; NULL (or n_names 0) = any; at most 100 */
    size_t n_names;
    const char *const *queues; /* queues to fetch from; NULL (or n_queues 0) = any; at most 100 */
    size_t n_queues;
    int max;                   /* at most this many jobs; default 1, at most 1000 */
    int64_t lease_ms;          /* default the instance's lease_ms */
    int64_t wait_ms;           /* none available: wait this long (real time) for one; 0 = don't */
} chore_fetch_opts;

/*
 * Claim up to opts->max available jobs (due now; scheduled ones are left),
 * in the order the instance's own workers would take them. *out is an
 * array of *n jobs (NULL when none), freed with chore_fetched_free. With
 * none available and wait_ms > 0 it waits for one, if the instance is
 * started: on an instance not running it claims once and returns. When
 * the wait ends without jobs, or chore_stop ends it, *n is 0 and the
 * result CHORE_OK. Do not call chore_close while a fetch is in progress.
 * CHORE_EINVAL for max outside 0..1000, a negative wait_ms, a lease_ms
 * outside 0..CHORE_TIME_MAX_MS, a bad name or queue, or a count without
 * its list.
 */
int chore_fetch(chore *c, const chore_fetch_opts *opts, chore_fetched **out, size_t *n);
void chore_fetched_free(chore_fetched *jobs, size_t n);
/* Extend a fetched job's lease to now + lease_ms (0 = the instance's lease_ms;
 * CHORE_EINVAL outside 0..CHORE_TIME_MAX_MS); *lease_until_ms (may be
 * NULL) is the new end. Only a running job's. */
int chore_job_heartbeat(chore *c, int64_t id, int64_t token, int64_t lease_ms,
                        int64_t *lease_until_ms);
/* Complete a running or deferred job; result_json (NULL = none) is kept
 * with it (chore_job_info.result). CHORE_EJSON when it is not JSON,
 * CHORE_EINVAL when longer than 1 MiB. */
int chore_job_complete(chore *c, int64_t id, int64_t token, const char *result_json);

/* How a failed attempt goes on. A zeroed field takes the default beside it. */
typedef struct chore_fail_opts {
    const char *error;   /* why; kept with the attempt */
    int64_t retry_in_ms; /* > 0: retry after this long instead of the backoff */
    bool discard;        /* fail for good: no more attempts */
} chore_fail_opts;

/* Fail a running or deferred job (opts NULL = defaults): retried with the
 * backoff of this process's handler for the name (else the default
 * policy) or after retry_in_ms, or discarded; a job out of attempts is
 * discarded either way. CHORE_EINVAL (nothing changed) for a negative
 * retry_in_ms, or one that ends past CHORE_TIME_MAX_MS. */
int chore_job_fail_with(chore *c, int64_t id, int64_t token, const chore_fail_opts *opts);

/* Jobs of one name in each state. */
typedef struct chore_name_counts {
    char *name;
    int64_t counts[CHORE_STATE_COUNT];
} chore_name_counts;

/* Job counts by name and state, by name. Free with chore_name_counts_free. */
int chore_count_by_name(chore *c, chore_name_counts **out, size_t *n);
void chore_name_counts_free(chore_name_counts *items, size_t n);

/* ---------------------------------------------------------------- schedules */

/* What to do with slots missed while no process ran the schedule. A slot is
 * missed when it is more than misfire_ms late. Stored as these numbers. */
typedef enum chore_missed {
    CHORE_MISSED_ONCE = 0, /* default: one job for all the missed slots */
    CHORE_MISSED_SKIP = 1, /* none: missed slots are dropped */
    CHORE_MISSED_EACH = 2, /* a job per missed slot, the newest missed_cap of them */
} chore_missed;

/* What to do when a slot comes while the previous fire's job is not final. */
typedef enum chore_overlap {
    CHORE_OVERLAP_ALLOW = 0,     /* default: enqueue anyway */
    CHORE_OVERLAP_SKIP = 1,      /* drop the slot */
    CHORE_OVERLAP_QUEUE_ONE = 2, /* keep one slot waiting; enqueue it when the job is final */
} chore_overlap;

/* Options of a schedule. A zeroed field takes the default beside it. */
typedef struct chore_schedule_opts {
    const char *zone;         /* IANA zone; default "UTC" (a CRON_TZ= prefix wins) */
    const char *queue;        /* of each fire's job; default "default" */
    int priority;             /* of each fire's job */
    int max_attempts;         /* of each fire's job; 0 = retry forever */
    int64_t timeout_ms;       /* of each fire's job; 0 = none */
    chore_missed missed;
    int missed_cap;           /* CHORE_MISSED_EACH: at most this many jobs; default 10 */
    chore_overlap overlap;
} chore_schedule_opts;

/*
 * Add or update the schedule `name`: fire `job` with `payload` (JSON; NULL
 * = "{}") at every slot of the cron expression `cron`. The schedule lives
 * in the store; each slot fires once across restarts and processes. A new
 * schedule's first slot is the first after now; an update keeps the slot
 * history. CHORE_EINVAL for a bad expression or zone (see chore_cron_parse
 * for the reason), CHORE_EJSON for a bad payload.
 */
int chore_schedule(chore *c, const char *name, const char *cron, const char *job,
                   const char *payload, const chore_schedule_opts *opts);
/* Remove a schedule; jobs it enqueued stay. CHORE_ENOTFOUND if none. */
int chore_unschedule(chore *c, const char *name);
/* Pause or resume a schedule. Slots that pass while paused are missed slots. */
int chore_schedule_pause(chore *c, const char *name);
int chore_schedule_resume(chore *c, const char *name);

/* A schedule as stored, with its next slot. */
typedef struct chore_schedule_info {
    char *name;
    char *cron;
    char *zone;
    char *job;
    char *payload;
    char *queue;
    int priority;
    int max_attempts;
    int64_t timeout_ms;
    chore_missed missed;
    int missed_cap;
    chore_overlap overlap;
    bool paused;
    int64_t last_fire_ms; /* the last slot claimed (at creation: the creation time) */
    int64_t last_job_id;  /* 0 = none yet */
    int64_t next_fire_ms; /* the next slot; 0 = never */
} chore_schedule_info;

/* Every schedule, by name. Free with chore_schedule_list_free. */
int chore_schedule_list(chore *c, chore_schedule_info **out, size_t *n);
void chore_schedule_list_free(chore_schedule_info *items, size_t n);

/* ---------------------------------------------------------------- loops */

/*
 * A loop is a function run on an interval inside the program (a periodic
 * chore, a tick runner), as opposed to a durable job. Ticks of one loop
 * never overlap. With `locked`, of several processes sharing the store
 * only the one holding the loop's lock runs a tick; the others record a
 * skip ("locked elsewhere"). chore's own maintenance (lease rescue,
 * pruning, schedule firing) runs as loops and shows in the same health.
 */
typedef struct chore_loop chore_loop;

/* The tick being run: valid only inside the call that received it. */
typedef struct chore_tick chore_tick;

/* True once the tick should end early: its timeout passed or the loop is stopping. */
bool chore_tick_should_stop(const chore_tick *tick);
/* Report how much this tick did (shown in health as last_work). */
void chore_tick_set_work(chore_tick *tick, int64_t count);
/* Record why this tick failed (copied); shown in health as last_error. */
int chore_tick_set_error(chore_tick *tick, const char *message);

/* One tick's work: CHORE_OK, or anything else for a failure. */
typedef int (*chore_loop_fn)(chore_tick *tick, void *ud);

/* A loop's settings. A zeroed field takes the default beside it. */
typedef struct chore_loop_config {
    const char *name;       /* unique, snake_case ([a-z0-9_.], 1-64 bytes); required */
    int64_t interval_ms;    /* between tick starts; required, > 0 */
    int64_t jitter_ms;      /* the first tick comes at a random point within this; default 0 */
    bool jitter_every_tick; /* also add random jitter to every later interval */
    int64_t timeout_ms;     /* per tick, cooperative (chore_tick_should_stop); 0 = none */
    chore_loop_fn run;      /* required */
    /* Optional: false skips the tick without counting a failure. */
    bool (*should_run)(void *ud);
    /* Optional: run once before the first tick; a failure is retried at the next tick. */
    int (*on_start)(void *ud);
    /* Optional: told about every failed tick. */
    void (*on_error)(void *ud, int code, const char *message);
    bool locked;            /* one process of many runs each tick */
    const char *lock_name;  /* the lock's id; default: the loop's name */
    void *ud;
} chore_loop_config;

/*
 * Register a loop; it starts with chore_start (or at once if running).
 * CHORE_EEXIST when a loop with that name or lock id exists. *out (may be
 * NULL) is the loop's handle, valid until chore_close.
 */
int chore_loop_add(chore *c, const chore_loop_config *cfg, chore_loop **out);
/* Find a loop by name (chore's own too: "chore.rescuer", "chore.pruner", "chore.scheduler"). */
chore_loop *chore_loop_find(chore *c, const char *name);
/* Run a tick now (after the current one, if one runs). Returns at once. */
int chore_loop_trigger(chore_loop *loop);
/* Run a tick now and return when it has finished (real-time timeout_ms). */
int chore_loop_trigger_wait(chore_loop *loop, int64_t timeout_ms);
/* Sleeper: ask for a tick; never blocks. Wakes during a tick coalesce into one more tick. */
void chore_loop_wake(chore_loop *loop);
/* No more ticks until resumed (a running tick finishes). */
int chore_loop_pause(chore_loop *loop);
int chore_loop_resume(chore_loop *loop);
/* Start the interval again from now. */
int chore_loop_restart(chore_loop *loop);
/* Stop this loop for good (waits for a running tick). */
int chore_loop_stop(chore_loop *loop);

/* A loop's health. */
typedef struct chore_loop_health {
    char name[65];
    bool paused, stopped;
    int64_t runs, skips, failures; /* ticks run, skipped, failed */
    int64_t consecutive_failures;
    int64_t last_success_ms;       /* 0 = never */
    int64_t last_failure_ms;       /* 0 = never */
    char last_error[256];          /* "" when none */
    char last_skip[64];            /* why the last skip: "locked elsewhere", "should_run said no" */
    int64_t last_duration_us;
    int64_t last_work;             /* what the last tick reported with chore_tick_set_work */
    int64_t next_tick_ms;          /* 0 = none planned (paused or stopped) */
} chore_loop_health;

int chore_loop_health_get(chore_loop *loop, chore_loop_health *out);
/* Every loop's health, by name; *out is malloc'd: free(*out). */
int chore_loops_health(chore *c, chore_loop_health **out, size_t *n);

/* ---------------------------------------------------------------- metrics */

/*
 * The instance's metrics as Prometheus text (exposition format 0.0.4):
 * jobs enqueued, completed, failed and discarded by job name; job duration
 * histograms by name; jobs by state; loop runs, skips, failures, duration
 * and last success. *text is malloc'd: free(*text).
 */
int chore_metrics_render(chore *c, char **text, size_t *len);

/* ---------------------------------------------------------------- cron */

/*
 * A parsed cron expression with its time zone (syntax and daylight-saving
 * rules in docs/CRON.md): 5 fields, or 6 with seconds first; `*`, lists,
 * ranges, steps, month and weekday names, 7 = Sunday; @yearly @annually
 * @monthly @weekly @daily @midnight @hourly; @every DURATION (90s, 1h30m;
 * fires at multiples of the duration since the Unix epoch); an optional
 * "CRON_TZ=Zone " prefix. Immutable once parsed: any number of threads may
 * use one at once.
 */
typedef struct chore_cron chore_cron;

/* chore_cron_explain's text always fits in this many bytes. */
#define CHORE_CRON_EXPLAIN_MAX 1024

/*
 * Parse `expr` in zone `zone` (an IANA name such as "America/New_York",
 * read from /usr/share/zoneinfo; NULL = "UTC"; a "CRON_TZ=Zone " prefix in
 * expr overrides it). On failure *out is NULL and err (errlen > 0) holds
 * one line naming the field and the problem, e.g. "minute: 60 is out of
 * range 0-59". CHORE_EINVAL for a bad expression or zone name,
 * CHORE_ENOTFOUND for an unknown zone, CHORE_ENOMEM.
 */
int chore_cron_parse(chore_cron **out, const char *expr, const char *zone, char *err,
                     size_t errlen);

/*
 * The first fire strictly after after_ms (both milliseconds since the Unix
 * epoch; fires fall on whole seconds). CHORE_ENOTFOUND when the expression
 * never fires again (e.g. "0 0 30 2 *") or not before year 10000;
 * CHORE_EINVAL for a NULL argument or an after_ms outside years 1-9999.
 */
int chore_cron_next(const chore_cron *cron, int64_t after_ms, int64_t *next_ms);

/*
 * A human reading of the expression into buf, e.g. "at 02:30 every day,
 * America/New_York". CHORE_EINVAL when buf is NULL or too small (it then
 * holds as much as fits); CHORE_CRON_EXPLAIN_MAX bytes are always enough.
 */
int chore_cron_explain(const chore_cron *cron, char *buf, size_t len);

/* The expression's zone name ("UTC" by default); valid while cron lives. */
const char *chore_cron_zone(const chore_cron *cron);

/* Free a parsed expression. NULL is a no-op. */
void chore_cron_free(chore_cron *cron);

/* ---------------------------------------------------------------- time */

/* chore_time_format's text always fits in this many bytes. */
#define CHORE_TIME_TEXT_MAX 32

/* The last instant a job may be stored to run at, 9999-12-31T23:59:59.999Z
 * in milliseconds since the Unix epoch; also the longest lease. */
#define CHORE_TIME_MAX_MS 253402300799999LL

/*
 * Parse an RFC 3339 date-time, e.g. "2024-05-01T12:00:00Z" or
 * "2024-05-01t14:00:00.250+02:00" (a space may stand for the T), into
 * milliseconds since the Unix epoch. Digits past the milliseconds are
 * dropped; a leap second (:60) counts as the second after :59.
 * CHORE_EINVAL for NULL or for anything else.
 */
int chore_time_parse(const char *text, int64_t *out_ms);

/*
 * Write ms (milliseconds since the Unix epoch) into buf as RFC 3339 UTC:
 * "2024-05-01T12:00:00Z", with ".250" before the Z when it is not a whole
 * second. Returns the text's length, or CHORE_EINVAL (buf then holds "")
 * when buf is NULL or too small, or the instant is outside years
 * 0000-9999. CHORE_TIME_TEXT_MAX bytes are always enough.
 */
int chore_time_format(int64_t ms, char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* CHORE_H */
