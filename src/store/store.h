/*
 * store.h — the storage interface: one versioned table of function pointers,
 * one backend per engine. All SQL lives in the backends. The runtime above
 * talks to storage only through this table and never sees an engine type.
 *
 * Rules every backend keeps:
 *  - every function is safe to call from several threads at once;
 *  - every write function is one transaction: all of it happens or none;
 *  - times are passed in by the caller (the runtime's clock), never read
 *    from the machine's clock; a backend on a server may translate them
 *    into the server's clock with a constant per-store skew, as long as
 *    the caller sees its own time base back (PostgreSQL: docs/POSTGRES.md);
 *  - a function that fails returns a negative CHORE_E* code and, when the
 *    store has one, leaves a message for store_errmsg; it never aborts;
 *  - the store starts no threads of its own, except a helper that a
 *    backend needs for wake-ups (PostgreSQL's listener, pg_listen.c),
 *    which never calls into the runtime except through set_wake's hook.
 */
#ifndef CHORE_STORE_H
#define CHORE_STORE_H

#include "chore.h"

#define STORE_INTERFACE_VERSION 2

/* A job to insert (persistent fields only). */
typedef struct store_new_job {
    const char *name;
    const char *payload; /* validated JSON */
    const char *queue;
    const char *unique_key; /* NULL = none */
    int priority;
    int max_attempts;
    int64_t run_at_ms;
    int64_t timeout_ms;
} store_new_job;

/* What the claim asks for. names/queues NULL = any. */
typedef struct store_claim_req {
    const char *const *names;
    size_t n_names;
    const char *const *queues;
    size_t n_queues;
    size_t max;         /* at most this many jobs */
    int64_t lease_ms;   /* lease_until = now + lease_ms */
    int64_t horizon_ms; /* also claim scheduled jobs due by then (held until due); 0 = now */
} store_claim_req;

/* A claimed job: what a worker needs. Strings are owned; free with store_claimed_free. */
typedef struct store_claimed {
    int64_t id;
    int64_t token; /* fencing token of this claim */
    char *name;
    char *queue;
    char *payload;
    int attempt; /* this attempt's number, 1-based */
    int max_attempts;
    int64_t timeout_ms;
    int64_t lease_until_ms;
    int64_t run_at_ms; /* after the claim's now: a held job, to start then */
} store_claimed;

/* How an attempt ended. */
typedef enum store_outcome_kind {
    STORE_COMPLETE,  /* -> completed */
    STORE_RETRY,     /* -> scheduled at run_at_ms (or available if due), error recorded */
    STORE_DISCARD,   /* -> discarded, error recorded */
    STORE_SNOOZE,    /* -> scheduled at run_at_ms, the attempt is not counted */
    STORE_SUSPEND,   /* -> suspended until deadline (lease_until = run_at_ms) */
    STORE_RELEASE,   /* -> available (scheduled if its run_at is still ahead), the attempt
                      * is not counted: a job given back unworked */
} store_outcome_kind;

/* The end of one attempt, applied only while the job's token is `token`
 * and its state is running (or suspended, for COMPLETE/RETRY/DISCARD). */
typedef struct store_outcome {
    int64_t id;
    int64_t token;
    store_outcome_kind kind;
    int64_t run_at_ms;  /* RETRY/SNOOZE: next run; SUSPEND: deadline */
    const char *error;  /* RETRY/DISCARD: the attempt's error; may be NULL */
    const char *result; /* COMPLETE: the job's JSON result (validated); NULL = none */
} store_outcome;

/* A lease to extend: only while the job is running with this token. */
typedef struct store_lease {
    int64_t id;
    int64_t token;
} store_lease;

typedef enum store_admin_op {
    STORE_ADMIN_RETRY,
    STORE_ADMIN_CANCEL,
    STORE_ADMIN_REQUEUE,
    STORE_ADMIN_DELETE,
} store_admin_op;

/* A cron schedule as stored. Strings are owned (see store_schedule_free). */
typedef struct store_schedule {
    char *name;
    char *expr;        /* the cron expression as given */
    char *zone;        /* IANA zone name */
    char *job_name;    /* what each fire enqueues */
    char *payload;
    char *queue;
    int priority;
    int max_attempts;
    int64_t timeout_ms;
    int missed;        /* chore_missed */
    int missed_cap;
    int overlap;       /* chore_overlap */
    bool paused;
    int64_t last_slot_ms;    /* the last slot claimed: later slots fire when due */
    int64_t last_job_id;     /* the job of the last fire that enqueued one; 0 = none */
    int64_t pending_slot_ms; /* CHORE_OVERLAP_QUEUE_ONE: a slot waiting for the last job; 0 = none */
    int64_t created_at_ms;
    int64_t updated_at_ms;
} store_schedule;

/* One schedule's fire: claim its slots with a compare-and-set on
 * last_slot_ms, and enqueue a job for each of `slots` (oldest first; the
 * runtime has applied the missed-slot policy) unless the overlap policy
 * says otherwise. Slot S's job is named, paid and optioned from the
 * schedule, runs at S (at once when S has passed), and has the unique key
 * "schedule:<name>:<S>". */
typedef struct store_fire {
    const char *name;
    int64_t expected_last_ms; /* compare: the last_slot_ms the runtime saw */
    int64_t new_last_ms;      /* and set */
    const int64_t *slots;
    size_t n_slots;
} store_fire;

/* What one fire did. */
typedef struct store_fire_result {
    bool claimed;      /* the compare-and-set matched: this caller owns the slots */
    size_t enqueued;   /* jobs inserted (0 when overlap skipped or queued them) */
} store_fire_result;

typedef struct store store; /* a backend's handle; starts with nothing common */

/* The table every backend fills in. */
typedef struct store_ops {
    int version;      /* STORE_INTERFACE_VERSION */
    const char *name; /* "sqlite" */

    /* Open the store at `location` (the URL after its scheme), create or
     * migrate the schema. On failure *out is NULL and err holds the reason. */
    int (*open)(store **out, const char *location, chore_durability durability, char *err,
                size_t errlen);
    void (*close)(store *s);
    /* The message of the last failure on this thread (in any store of
     * this backend), or "". */
    const char *(*errmsg)(store *s);

    /* Insert n jobs in one transaction. A job whose unique_key matches a
     * job that is not final is not inserted: ids[i] is the existing job and
     * duplicate[i] is set. Jobs due at now_ms start available, else scheduled. */
    int (*enqueue)(store *s, const store_new_job *jobs, size_t n, int64_t now_ms, int64_t *ids,
                   bool *duplicate);
    /* The same inside the caller's open transaction on `native` (sqlite3*). */
    int (*enqueue_native)(void *native, const store_new_job *jobs, size_t n, int64_t now_ms,
                          int64_t *ids, bool *duplicate);

    /* Make due scheduled jobs available, then claim up to req->max
     * available jobs (smaller priority first, then earlier run_at, then
     * id), and after them scheduled jobs due by req->horizon_ms (earlier
     * run_at first): each gets state running, attempt+1, a new token and a
     * lease. *out is a malloc'd array of *n jobs (NULL when none), in that
     * order. */
    int (*claim)(store *s, const store_claim_req *req, int64_t now_ms, store_claimed **out,
                 size_t *n);
    /* Apply n outcomes in one transaction, in order: of two outcomes for
     * one job, the second meets the first's effect. applied[i] (may be
     * NULL) is set when outcome i matched its job's token and state; a
     * stale outcome changes nothing. */
    int (*finish)(store *s, const store_outcome *outs, size_t n, int64_t now_ms, bool *applied);
    /* Set lease_until = now + lease_ms for each running job whose token matches. */
    int (*heartbeat)(store *s, const store_lease *leases, size_t n, int64_t now_ms,
                     int64_t lease_ms, bool *applied);
    /* Expired leases (running) and passed deadlines (suspended): back to
     * available with the error recorded, or discarded when the attempts
     * are used up. *rescued counts them. */
    int (*rescue)(store *s, int64_t now_ms, int64_t *rescued);
    /* Delete completed, discarded and cancelled jobs finished before before_ms. */
    int (*prune)(store *s, int64_t before_ms, int64_t *pruned);
    /* The earliest run_at of a scheduled job, or INT64_MAX when none. */
    int (*next_run_at)(store *s, int64_t *out);
    /* A number that changes whenever any connection commits a write (this
     * store's own included). Unchanged means nobody committed since the
     * last call; how much it changed means nothing. */
    int (*change_counter)(store *s, int64_t *out);

    /* Read one job with its errors and result. */
    int (*get)(store *s, int64_t id, chore_job_info **out);
    /* A page of jobs by id descending (no errors). *next_cursor is the
     * page's last id when older jobs match too, else 0. */
    int (*list)(store *s, const chore_list_query *q, chore_job_info **out, size_t *n,
                int64_t *next_cursor);
    /* One admin change to one job (see chore.h for each one's rules).
     * CHORE_ENOTFOUND, CHORE_ESTATE when the state forbids it, or
     * CHORE_EEXIST when a retry or requeue would give two live jobs the
     * same unique key. */
    int (*admin)(store *s, store_admin_op op, int64_t id, int64_t now_ms);
    int (*count_by_state)(store *s, int64_t counts[CHORE_STATE_COUNT]);
    /* Jobs per name and state, by name: *out is a malloc'd array of *n
     * entries (NULL when there are no jobs), freed with chore_name_counts_free. */
    int (*count_by_name)(store *s, chore_name_counts **out, size_t *n);

    /* Schedules. */
    /* Insert the schedule sc->name, or update it keeping its last slot,
     * last job, pending slot and paused flag. On insert last_slot_ms =
     * sc->last_slot_ms and paused = sc->paused. A NULL zone, payload or
     * queue means "UTC", "{}", "default"; no name, expression or job name
     * is CHORE_EINVAL. */
    int (*schedule_put)(store *s, const store_schedule *sc, int64_t now_ms);
    /* CHORE_ENOTFOUND when there is no such schedule. */
    int (*schedule_remove)(store *s, const char *name);
    /* Sets updated_at too. */
    int (*schedule_set_paused)(store *s, const char *name, bool paused, int64_t now_ms);
    /* Every schedule, by name. *out is a malloc'd array (NULL when none). */
    int (*schedule_list)(store *s, store_schedule **out, size_t *n);
    /* One schedule, freed with store_schedule_free(*out, 1). */
    int (*schedule_get)(store *s, const char *name, store_schedule **out);
    /* Apply n fires in one transaction. For each: when the schedule exists,
     * is not paused and its last_slot_ms equals expected_last_ms, set it to
     * new_last_ms (claimed); then by its overlap policy, judged by the
     * state of last_job_id inside the transaction ("busy" = not final):
     * ALLOW, or not busy: insert a job per slot, last_job_id = the newest;
     * SKIP and busy: insert nothing; QUEUE_ONE and busy: pending_slot_ms =
     * the newest slot, insert nothing. A claimed fire with slots first
     * enqueues a pending slot whose last job is no longer busy, so slots
     * never run out of order. A fire that does not match claims nothing and
     * changes nothing; fires never change updated_at. results[i] (results
     * may be NULL) says what fire i did; on failure nothing happened. */
    int (*schedule_fire)(store *s, const store_fire *fires, size_t n, int64_t now_ms,
                         store_fire_result *results);
    /* For each schedule, not paused, with a pending slot whose last job is
     * final or gone:
     * insert the pending slot's job and clear the pending slot. *enqueued
     * counts the jobs. */
    int (*schedule_release_pending)(store *s, int64_t now_ms, size_t *enqueued);
    /* A number that changes whenever a schedule is put, removed, paused or
     * resumed (by any process), and not when one fires. */
    int (*schedule_version)(store *s, int64_t *out);

    /* Locks for loops: a lease row per lock name. A backend may also
     * refuse while another process's live session holds the lock, past
     * its lease (PostgreSQL's advisory locks). */
    /* Take or renew `name` for `owner` until now + ttl_ms: *held is true
     * when it was free, expired, or already `owner`'s; false when another
     * owner holds an unexpired lease (nothing changes then). */
    int (*lock_acquire)(store *s, const char *name, const char *owner, int64_t now_ms,
                        int64_t ttl_ms, bool *held);
    /* Give `name` up if `owner` holds it; a no-op otherwise. */
    int (*lock_release)(store *s, const char *name, const char *owner);

    /* Optional (NULL when the backend has nothing better than polling
     * change_counter, as SQLite): register fn(arg), which the backend calls
     * from a thread of its own when another process or connection may have
     * made work available (PostgreSQL: a NOTIFY received). fn must be quick
     * and must not call the store. NULL unregisters; once set_wake returns,
     * the old fn is not running and will not be called again. With a fn,
     * set_wake returns once the backend listens, so nothing committed after
     * it returns goes unnoticed. Added without a version bump: a table
     * that leaves it out has it NULL. */
    void (*set_wake)(store *s, void (*fn)(void *arg), void *arg);
} store_ops;

/* The backend for a URL's scheme ("sqlite:…"), and where the location starts. */
const store_ops *store_backend_for(const char *url, const char **location);

/* Free schedules returned by schedule_list / schedule_get. */
void store_schedule_free(store_schedule *schedules, size_t n);
/* Free the strings of one schedule, not the schedule itself. */
void store_schedule_clear(store_schedule *schedule);

/* Whether admin op `op` may act on a job in `state` (the rules of chore.h). */
bool store_admin_allowed(store_admin_op op, int state);
/* Fill info->errors from the stored errors column, a JSON array of
 * {attempt, at, error}. CHORE_ENOMEM, or CHORE_ESTORE when it is not JSON
 * (*why then says so); what was read is counted in info->n_errors. */
int store_errors_from_json(const char *text, chore_job_info *info, const char **why);

/* The number of jobs a list query's page holds: its limit, 100 when it
 * gives none, at most 10000. */
int store_list_limit(const chore_list_query *q);
/* A list reads one job more than its page holds, to know whether another
 * page follows. Given the *n jobs read for a page of `limit`, drop the
 * extra one and set *next_cursor to the page's last id when it was there
 * (*next_cursor is left alone otherwise). */
void store_list_page_end(chore_job_info *items, size_t *n, int limit, int64_t *next_cursor);

/* Free claimed jobs returned by claim. */
void store_claimed_free(store_claimed *jobs, size_t n);
/* Free the strings of one claimed job, not the job itself. */
void store_claimed_clear(store_claimed *job);

extern const store_ops sqlite_store_ops;
extern const store_ops pg_store_ops;

#endif /* CHORE_STORE_H */
