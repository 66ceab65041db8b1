/* test_rt_fetch.c — outside workers on the manual clock: fetching by name,
 * queue and count; leases, heartbeats and fencing; completing with a
 * result; failing with a retry time, a discard or the backoff; long polls
 * woken by an enqueue, a due job or a stop, or timing out; results set by
 * in-process handlers; counts by name; a process with no handlers, whose
 * enqueues leave its dispatcher asleep; and bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "rt_fixture.h"
#include "runtime/clock.h"
#include "runtime/runtime.h"

static chore_job_info *get(fixture *f, int64_t id)
{
    chore_job_info *info = NULL;
    assert_int_equal(chore_job_get(f->c, id, &info), CHORE_OK);
    return info;
}

static int64_t enqueue(fixture *f, const char *name, const char *queue, int64_t delay_ms)
{
    chore_enqueue_opts o = {.queue = queue, .delay_ms = delay_ms};
    int64_t id = 0;
    assert_int_equal(chore_enqueue(f->c, name, "{\"k\":1}", &o, &id), CHORE_OK);
    return id;
}

/* Fetch jobs of one name (NULL = any), asserting success. */
static chore_fetched *fetch(fixture *f, const char *name, int max, int64_t lease_ms, size_t *n)
{
    const char *names[1] = {name};
    chore_fetch_opts o = {.names = name != NULL ? names : NULL,
                          .n_names = name != NULL ? 1 : 0,
                          .max = max,
                          .lease_ms = lease_ms};
    chore_fetched *jobs = NULL;
    assert_int_equal(chore_fetch(f->c, &o, &jobs, n), CHORE_OK);
    if (*n == 0)
        assert_null(jobs);
    return jobs;
}

/* Fetch exactly one job of `name`; returns its token. */
static int64_t fetch_one(fixture *f, const char *name, int64_t expect_id)
{
    size_t n = 0;
    chore_fetched *jobs = fetch(f, name, 1, 0, &n);
    assert_int_equal(n, 1);
    assert_int_equal(jobs[0].id, expect_id);
    int64_t token = jobs[0].token;
    chore_fetched_free(jobs, n);
    return token;
}

static void fetch_by_name_queue_and_max(void **state)
{
    (void)state;
    fixture f;
    chore_config cfg = {.lease_ms = 30000};
    fixture_open(&f, &cfg); /* not started: a fetch without waiting needs no threads */
    int64_t a[3], b[2];
    for (int i = 0; i < 3; i++)
        a[i] = enqueue(&f, "alpha", NULL, 0);
    for (int i = 0; i < 2; i++)
        b[i] = enqueue(&f, "beta", "slow", 0);
    int64_t later = enqueue(&f, "alpha", NULL, 1000);

    size_t n = 0;
    chore_fetched *jobs = fetch(&f, "alpha", 2, 0, &n);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(jobs[i].id, a[i]); /* claim order */
        assert_string_equal(jobs[i].name, "alpha");
        assert_string_equal(jobs[i].queue, "default");
        assert_string_equal(jobs[i].payload, "{\"k\":1}");
        assert_int_equal(jobs[i].attempt, 1);
        assert_int_equal(jobs[i].max_attempts, 0);
        assert_true(jobs[i].token > 0);
        assert_int_equal(jobs[i].lease_until_ms, T0 + 30000);
        assert_int_equal(fixture_state(&f, jobs[i].id), CHORE_RUNNING);
    }
    chore_fetched_free(jobs, n);

    const char *queues[1] = {"slow"};
    chore_fetch_opts by_queue = {.queues = queues, .n_queues = 1, .max = 10, .lease_ms = 500};
    assert_int_equal(chore_fetch(f.c, &by_queue, &jobs, &n), CHORE_OK);
    assert_int_equal(n, 2);
    assert_int_equal(jobs[0].id, b[0]);
    assert_int_equal(jobs[1].id, b[1]);
    assert_string_equal(jobs[0].queue, "slow");
    assert_int_equal(jobs[0].lease_until_ms, T0 + 500);
    chore_fetched_free(jobs, n);

    /* max 0 is the default, one job; NULL opts too. */
    jobs = fetch(&f, NULL, 0, 0, &n);
    assert_int_equal(n, 1);
    assert_int_equal(jobs[0].id, a[2]);
    chore_fetched_free(jobs, n);
    /* A job scheduled ahead is not taken, nor one of another name. */
    assert_int_equal(chore_fetch(f.c, NULL, &jobs, &n), CHORE_OK);
    assert_int_equal(n, 0);
    assert_null(jobs);
    chore_clock_advance(f.clock, 1000);
    jobs = fetch(&f, "gamma", 10, 0, &n);
    assert_int_equal(n, 0);
    jobs = fetch(&f, "alpha", 10, 0, &n);
    assert_int_equal(n, 1);
    assert_int_equal(jobs[0].id, later);
    chore_fetched_free(jobs, n);
    fixture_close(&f);
}

static void leases_heartbeats_and_stale_tokens(void **state)
{
    (void)state;
    fixture f;
    chore_config cfg = {.lease_ms = 30000, .rescue_interval_ms = 1000};
    fixture_open(&f, &cfg);
    assert_int_equal(chore_start(f.c), CHORE_OK); /* the rescuer runs */
    int64_t id = enqueue(&f, "ext", NULL, 0);
    size_t n = 0;
    chore_fetched *jobs = fetch(&f, "ext", 1, 5000, &n);
    assert_int_equal(n, 1);
    int64_t old = jobs[0].token;
    assert_int_equal(jobs[0].lease_until_ms, T0 + 5000);
    chore_fetched_free(jobs, n);

    fixture_advance(&f, 4000);
    int64_t until = 0;
    assert_int_equal(chore_job_heartbeat(f.c, id, old, 5000, &until), CHORE_OK);
    assert_int_equal(until, T0 + 9000);
    chore_job_info *info = get(&f, id);
    assert_int_equal(info->lease_until_ms, T0 + 9000);
    chore_job_info_free(info);
    assert_int_equal(chore_job_heartbeat(f.c, id, old, 0, &until), CHORE_OK); /* 0: lease_ms */
    assert_int_equal(until, T0 + 4000 + 30000);
    assert_int_equal(chore_job_heartbeat(f.c, id, old, 5000, NULL), CHORE_OK);
    fixture_advance(&f, 4000); /* inside the renewed lease */
    assert_int_equal(fixture_state(&f, id), CHORE_RUNNING);
    fixture_advance(&f, 2000); /* past it: rescued */
    info = get(&f, id);
    assert_int_equal(info->state, CHORE_AVAILABLE);
    assert_int_equal(info->n_errors, 1);
    chore_job_info_free(info);

    int64_t current = fetch_one(&f, "ext", id);
    assert_true(current > old);
    /* The old token changes nothing. */
    assert_int_equal(chore_job_complete(f.c, id, old, "{\"late\":true}"), CHORE_ESTALE);
    chore_fail_opts discard = {.error = "late", .discard = true};
    assert_int_equal(chore_job_fail_with(f.c, id, old, &discard), CHORE_ESTALE);
    assert_int_equal(chore_job_fail_with(f.c, id, old, NULL), CHORE_ESTALE);
    assert_int_equal(chore_job_heartbeat(f.c, id, old, 5000, &until), CHORE_ESTALE);
    info = get(&f, id);
    assert_int_equal(info->state, CHORE_RUNNING);
    assert_int_equal(info->attempt, 2);
    assert_int_equal(info->n_errors, 1);
    assert_null(info->result);
    assert_int_equal(info->lease_until_ms, chore_now(f.c) + 30000);
    chore_job_info_free(info);

    /* The current token completes it, with a result. */
    assert_int_equal(chore_job_complete(f.c, id, current, "{\"rows\":42}"), CHORE_OK);
    info = get(&f, id);
    assert_int_equal(info->state, CHORE_COMPLETED);
    assert_string_equal(info->result, "{\"rows\":42}");
    chore_job_info_free(info);
    assert_int_equal(chore_job_complete(f.c, id, current, NULL), CHORE_ESTALE);
    assert_int_equal(chore_job_heartbeat(f.c, id, current, 0, NULL), CHORE_ESTALE);
    assert_int_equal(chore_job_complete(f.c, id + 100, 1, NULL), CHORE_ENOTFOUND);
    assert_int_equal(chore_job_heartbeat(f.c, id + 100, 1, 0, NULL), CHORE_ENOTFOUND);
    assert_int_equal(chore_job_fail_with(f.c, id + 100, 1, NULL), CHORE_ENOTFOUND);
    fixture_close(&f);
}

static void failures_retry_discard_or_back_off(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, NULL); /* not started: nothing but the calls under test moves jobs */
    int64_t now = chore_now(f.c);

    int64_t later = enqueue(&f, "ext", NULL, 0);
    chore_fail_opts in_a_minute = {.error = "busy", .retry_in_ms = 60000};
    assert_int_equal(chore_job_fail_with(f.c, later, fetch_one(&f, "ext", later), &in_a_minute),
                     CHORE_OK);
    chore_job_info *info = get(&f, later);
    assert_int_equal(info->state, CHORE_SCHEDULED);
    assert_int_equal(info->run_at_ms, now + 60000);
    assert_int_equal(info->n_errors, 1);
    assert_string_equal(info->errors[0].error, "busy");
    chore_job_info_free(info);

    int64_t gone = enqueue(&f, "ext", NULL, 0);
    chore_fail_opts discard = {.discard = true};
    assert_int_equal(chore_job_fail_with(f.c, gone, fetch_one(&f, "ext", gone), &discard),
                     CHORE_OK);
    info = get(&f, gone);
    assert_int_equal(info->state, CHORE_DISCARDED);
    assert_string_equal(info->errors[0].error, "failed"); /* no error given */
    chore_job_info_free(info);

    /* No handler here: the default backoff (1 s, up to 20% jitter off). */
    int64_t backed = enqueue(&f, "ext", NULL, 0);
    assert_int_equal(chore_job_fail_with(f.c, backed, fetch_one(&f, "ext", backed), NULL),
                     CHORE_OK);
    info = get(&f, backed);
    assert_int_equal(info->state, CHORE_SCHEDULED);
    assert_true(info->run_at_ms > now + 800 - 1 && info->run_at_ms <= now + 1000);
    chore_job_info_free(info);

    /* A handler of the name here: its backoff, without jitter. */
    chore_handler_opts ho = {.backoff_base_ms = 5000, .backoff_jitter = -1};
    assert_int_equal(chore_handle(f.c, "own", probe_handler, NULL, &ho), CHORE_OK);
    int64_t own = enqueue(&f, "own", NULL, 0);
    assert_int_equal(chore_job_fail_with(f.c, own, fetch_one(&f, "own", own), NULL), CHORE_OK);
    info = get(&f, own);
    assert_int_equal(info->run_at_ms, now + 5000);
    chore_job_info_free(info);

    /* Attempts used up: discarded even when a retry time is given. */
    chore_enqueue_opts twice = {.max_attempts = 2};
    int64_t limited = 0;
    assert_int_equal(chore_enqueue(f.c, "lim", NULL, &twice, &limited), CHORE_OK);
    chore_fail_opts soon = {.error = "e1", .retry_in_ms = 10};
    assert_int_equal(chore_job_fail_with(f.c, limited, fetch_one(&f, "lim", limited), &soon),
                     CHORE_OK);
    assert_int_equal(fixture_state(&f, limited), CHORE_SCHEDULED);
    chore_clock_advance(f.clock, 10);
    soon.error = "e2";
    assert_int_equal(chore_job_fail_with(f.c, limited, fetch_one(&f, "lim", limited), &soon),
                     CHORE_OK);
    info = get(&f, limited);
    assert_int_equal(info->state, CHORE_DISCARDED);
    assert_int_equal(info->attempt, 2);
    assert_int_equal(info->n_errors, 2);
    assert_string_equal(info->errors[1].error, "e2");
    chore_job_info_free(info);
    fixture_close(&f);
}

/* A fetch run in its own thread. */
typedef struct poller {
    fixture *f;
    const char *name;
    int64_t wait_ms;
    pthread_t thread;
    int rc;
    size_t n;
    chore_fetched *jobs;
    int64_t took_ms; /* real time */
} poller;

static void *poll_main(void *arg)
{
    poller *p = arg;
    const char *names[1] = {p->name};
    chore_fetch_opts o = {.names = names, .n_names = 1, .wait_ms = p->wait_ms};
    int64_t start = real_now_ms();
    p->rc = chore_fetch(p->f->c, &o, &p->jobs, &p->n);
    p->took_ms = real_now_ms() - start;
    return NULL;
}

static void poll_start(poller *p, fixture *f, const char *name, int64_t wait_ms)
{
    *p = (poller){.f = f, .name = name, .wait_ms = wait_ms};
    assert_int_equal(pthread_create(&p->thread, NULL, poll_main, p), 0);
}

/* Wait until job `id` is in `state` (real-time limit WAIT_MS). */
static void wait_state(fixture *f, int64_t id, chore_state state)
{
    int64_t deadline = real_now_ms() + WAIT_MS;
    while (fixture_state(f, id) != state) {
        if (real_now_ms() > deadline)
            fail_msg("job %lld never reached state %d", (long long)id, (int)state);
        sched_yield();
    }
}

/* Start a poller of `name` and return once it has made its first claim:
 * that claim makes a marker job, due but not yet promoted (nothing here
 * handles it), available. */
static void poll_start_claimed(poller *p, fixture *f, const char *name, int64_t wait_ms)
{
    int64_t marker = enqueue(f, "marker", NULL, 1);
    chore_clock_advance(f->clock, 1);
    assert_int_equal(fixture_state(f, marker), CHORE_SCHEDULED);
    poll_start(p, f, name, wait_ms);
    wait_state(f, marker, CHORE_AVAILABLE);
}

static void poll_join(poller *p)
{
    assert_int_equal(pthread_join(p->thread, NULL), 0);
    assert_int_equal(p->rc, CHORE_OK);
}

/* poll_interval_ms is also the waiters' safety net: an enqueue that
 * commits between a waiter's empty claim and its wait broadcasts before
 * anyone waits, and the waiter notices the store's change counter at its
 * next slice. With a long one, a wake-up that arrives is shown to work:
 * the due-time and stop checks are made under the instance's lock, so
 * they cannot be missed. */
static const chore_config slow_poll = {.poll_interval_ms = 600000};

static void long_poll_woken_by_an_enqueue(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, NULL);
    assert_int_equal(chore_start(f.c), CHORE_OK);
    for (int round = 0; round < 3; round++) {
        poller p;
        poll_start_claimed(&p, &f, "lp", WAIT_MS);
        int64_t id = enqueue(&f, "lp", NULL, 0);
        poll_join(&p);
        assert_int_equal(p.n, 1);
        assert_int_equal(p.jobs[0].id, id);
        assert_true(p.took_ms < WAIT_MS / 2);
        chore_fetched_free(p.jobs, p.n);
    }
    fixture_close(&f);
}

static void long_poll_woken_by_another_process(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, NULL);
    assert_int_equal(chore_start(f.c), CHORE_OK);
    chore *peer = fixture_open_peer(&f, NULL);
    poller p;
    poll_start(&p, &f, "lp", WAIT_MS);
    int64_t id = 0;
    assert_int_equal(chore_enqueue(peer, "lp", NULL, NULL, &id), CHORE_OK);
    poll_join(&p); /* nothing here was told: the store's change counter moved */
    assert_int_equal(p.n, 1);
    assert_int_equal(p.jobs[0].id, id);
    assert_true(p.took_ms < WAIT_MS / 2);
    chore_fetched_free(p.jobs, p.n);
    chore_close(peer);
    fixture_close(&f);
}

static void long_poll_woken_by_a_due_job(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, &slow_poll);
    assert_int_equal(chore_start(f.c), CHORE_OK);
    int64_t due = enqueue(&f, "lp", NULL, 5000);
    poller p;
    poll_start_claimed(&p, &f, "lp", WAIT_MS);
    chore_clock_advance(f.clock, 4999);
    poll_join(&p);
    assert_int_equal(p.n, 1);
    assert_int_equal(p.jobs[0].id, due);
    assert_true(p.took_ms < WAIT_MS / 2);
    chore_fetched_free(p.jobs, p.n);
    fixture_close(&f);
}

static void long_poll_times_out_empty(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, NULL);
    assert_int_equal(chore_start(f.c), CHORE_OK);
    int64_t other = enqueue(&f, "someone_else", NULL, 0);
    const char *names[1] = {"nobody"};
    chore_fetch_opts o = {.names = names, .n_names = 1, .wait_ms = 300};
    chore_fetched *jobs = (chore_fetched *)&o;
    size_t n = 99;
    int64_t start = real_now_ms();
    assert_int_equal(chore_fetch(f.c, &o, &jobs, &n), CHORE_OK);
    int64_t took = real_now_ms() - start;
    assert_int_equal(n, 0);
    assert_null(jobs);
    assert_true(took >= 300);
    assert_true(took < WAIT_MS);
    assert_int_equal(fixture_state(&f, other), CHORE_AVAILABLE);
    fixture_close(&f);
}

static void stop_ends_a_waiting_fetch(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, &slow_poll);
    assert_int_equal(chore_start(f.c), CHORE_OK);
    poller p;
    poll_start_claimed(&p, &f, "lp", 10 * WAIT_MS);
    assert_int_equal(chore_stop(f.c, WAIT_MS), CHORE_OK);
    poll_join(&p);
    assert_int_equal(p.n, 0);
    assert_true(p.took_ms < WAIT_MS);
    /* Not running: a fetch claims once and does not wait. */
    poll_start(&p, &f, "lp", 10 * WAIT_MS);
    poll_join(&p);
    assert_int_equal(p.n, 0);
    assert_true(p.took_ms < WAIT_MS);
    fixture_close(&f);
}

/* A handler that keeps a result from its payload, then returns what the payload says. */
static int result_handler(chore_job *job, void *ud)
{
    int *bad_rc = ud;
    const char *payload = chore_job_payload(job);
    int rc = chore_job_set_result(job, "{\"first\":1}");
    if (rc == CHORE_OK) /* a second call replaces the first */
        rc = chore_job_set_result(job, payload);
    if (rc != CHORE_OK)
        return rc;
    *bad_rc = chore_job_set_result(job, "{not json");
    if (*bad_rc == CHORE_EJSON)
        *bad_rc = chore_job_set_result(job, NULL);
    return strstr(payload, "fail") != NULL ? CHORE_EINVAL : CHORE_OK;
}

static void handlers_keep_results(void **state)
{
    (void)state;
    fixture f;
    chore_config cfg = {.workers = 1};
    fixture_open(&f, &cfg);
    int bad_rc = 0;
    assert_int_equal(chore_handle(f.c, "r", result_handler, &bad_rc, NULL), CHORE_OK);
    assert_int_equal(chore_start(f.c), CHORE_OK);
    int64_t ok = 0, failed = 0;
    assert_int_equal(chore_enqueue(f.c, "r", "{\"sum\":3}", NULL, &ok), CHORE_OK);
    assert_int_equal(chore_enqueue(f.c, "r", "{\"fail\":true}", NULL, &failed), CHORE_OK);
    fixture_idle(&f);
    assert_int_equal(bad_rc, CHORE_EINVAL); /* {not json} was EJSON, then NULL EINVAL */
    chore_job_info *info = get(&f, ok);
    assert_int_equal(info->state, CHORE_COMPLETED);
    assert_string_equal(info->result, "{\"sum\":3}");
    chore_job_info_free(info);
    info = get(&f, failed); /* a failed attempt keeps no result */
    assert_int_equal(info->state, CHORE_SCHEDULED);
    assert_null(info->result);
    chore_job_info_free(info);
    fixture_close(&f);
}

static void counts_by_name(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, NULL);
    chore_name_counts *items = NULL;
    size_t n = 9;
    assert_int_equal(chore_count_by_name(f.c, &items, &n), CHORE_OK);
    assert_int_equal(n, 0);
    int64_t b = enqueue(&f, "b", NULL, 0);
    enqueue(&f, "b", NULL, 0);
    enqueue(&f, "a", NULL, 60000);
    assert_int_equal(chore_job_complete(f.c, b, fetch_one(&f, "b", b), NULL), CHORE_OK);
    assert_int_equal(chore_count_by_name(f.c, &items, &n), CHORE_OK);
    assert_int_equal(n, 2);
    assert_string_equal(items[0].name, "a");
    assert_int_equal(items[0].counts[CHORE_SCHEDULED], 1);
    assert_string_equal(items[1].name, "b");
    assert_int_equal(items[1].counts[CHORE_AVAILABLE], 1);
    assert_int_equal(items[1].counts[CHORE_COMPLETED], 1);
    assert_int_equal(items[1].counts[CHORE_RUNNING], 0);
    chore_name_counts_free(items, n);
    assert_int_equal(chore_count_by_name(NULL, &items, &n), CHORE_EINVAL);
    assert_int_equal(chore_count_by_name(f.c, NULL, &n), CHORE_EINVAL);
    assert_int_equal(chore_count_by_name(f.c, &items, NULL), CHORE_EINVAL);
    fixture_close(&f);
}

/* How many passes the dispatcher has made. */
static uint64_t dispatcher_passes(chore *c)
{
    pthread_mutex_lock(&c->mu);
    uint64_t n = c->passes;
    pthread_mutex_unlock(&c->mu);
    return n;
}

/* A process that only enqueues, for outside workers, does not wake its
 * dispatcher for each enqueue: it would claim nothing. Once a handler is
 * registered, its jobs are claimed and run as they come. */
static void enqueues_wake_the_dispatcher_only_for_handlers(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, NULL);
    assert_int_equal(chore_start(f.c), CHORE_OK);
    fixture_idle(&f);
    uint64_t before = dispatcher_passes(f.c);
    int64_t outside[20];
    for (int i = 0; i < 20; i++)
        outside[i] = enqueue(&f, "outside", NULL, 0);
    fixture_idle(&f); /* waits for a pass whenever an enqueue woke it */
    assert_int_equal(dispatcher_passes(f.c), before);
    size_t n = 0;
    chore_fetched *jobs = fetch(&f, "outside", 20, 0, &n);
    assert_int_equal(n, 20);
    assert_int_equal(jobs[19].id, outside[19]);
    chore_fetched_free(jobs, n);

    probe p;
    probe_init(&p, CHORE_OK);
    assert_int_equal(chore_handle(f.c, "inside", probe_handler, &p, NULL), CHORE_OK);
    fixture_idle(&f);
    for (int i = 0; i < 3; i++) {
        int64_t id = enqueue(&f, "inside", NULL, 0);
        fixture_idle(&f);
        assert_int_equal(fixture_state(&f, id), CHORE_COMPLETED);
        assert_int_equal(probe_calls(&p), i + 1);
    }
    fixture_close(&f);
    probe_destroy(&p);
}

static void bad_input_changes_nothing(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, NULL);
    int64_t id = enqueue(&f, "x", NULL, 0);
    chore_fetched *jobs = NULL;
    size_t n = 0;
    const char *names[2] = {"x", NULL};
    const char *bad_name[1] = {""};
    const chore_fetch_opts bad[] = {
        {.max = -1},
        {.max = 1001},
        {.max = 2000},
        {.lease_ms = -1},
        {.wait_ms = -1},
        {.names = names, .n_names = 2},   /* a NULL name */
        {.names = bad_name, .n_names = 1},
        {.names = NULL, .n_names = 3},    /* a count without a list */
        {.queues = NULL, .n_queues = 1},
        {.names = names, .n_names = 101}, /* too many */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        jobs = (chore_fetched *)&n;
        n = 7;
        assert_int_equal(chore_fetch(f.c, &bad[i], &jobs, &n), CHORE_EINVAL);
        assert_null(jobs);
        assert_int_equal(n, 0);
    }
    assert_int_equal(chore_fetch(NULL, NULL, &jobs, &n), CHORE_EINVAL);
    assert_int_equal(chore_fetch(f.c, NULL, NULL, &n), CHORE_EINVAL);
    assert_int_equal(chore_fetch(f.c, NULL, &jobs, NULL), CHORE_EINVAL);
    assert_int_equal(fixture_state(&f, id), CHORE_AVAILABLE);

    int64_t token = fetch_one(&f, "x", id);
    assert_int_equal(chore_job_complete(f.c, id, token, "{not json"), CHORE_EJSON);
    assert_int_equal(chore_job_complete(f.c, id, token, ""), CHORE_EJSON);
    size_t big_len = (1u << 20) + 1;
    char *big = malloc(big_len + 1);
    assert_non_null(big);
    memset(big, ' ', big_len);
    big[0] = '1';
    big[big_len] = '\0';
    assert_int_equal(chore_job_complete(f.c, id, token, big), CHORE_EINVAL);
    big[big_len - 1] = '\0'; /* exactly 1 MiB is fine */
    assert_int_equal(chore_job_complete(f.c, 0, token, "1"), CHORE_EINVAL);
    assert_int_equal(chore_job_complete(NULL, id, token, "1"), CHORE_EINVAL);
    assert_int_equal(chore_job_heartbeat(f.c, id, token, -1, NULL), CHORE_EINVAL);
    assert_int_equal(chore_job_heartbeat(f.c, 0, token, 0, NULL), CHORE_EINVAL);
    assert_int_equal(chore_job_heartbeat(NULL, id, token, 0, NULL), CHORE_EINVAL);
    chore_fail_opts negative = {.retry_in_ms = -5};
    assert_int_equal(chore_job_fail_with(f.c, id, token, &negative), CHORE_EINVAL);
    assert_int_equal(chore_job_fail_with(NULL, id, token, NULL), CHORE_EINVAL);
    assert_int_equal(chore_job_fail_with(f.c, -1, token, NULL), CHORE_EINVAL);
    chore_job_info *info = get(&f, id);
    assert_int_equal(info->state, CHORE_RUNNING);
    assert_int_equal(info->attempt, 1);
    assert_int_equal(info->n_errors, 0);
    assert_null(info->result);
    chore_job_info_free(info);

    assert_int_equal(chore_job_complete(f.c, id, token, big), CHORE_OK);
    info = get(&f, id);
    assert_int_equal(strlen(info->result), 1u << 20);
    chore_job_info_free(info);
    free(big);
    chore_fetched_free(NULL, 0);
    fixture_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fetch_by_name_queue_and_max),
        cmocka_unit_test(leases_heartbeats_and_stale_tokens),
        cmocka_unit_test(failures_retry_discard_or_back_off),
        cmocka_unit_test(long_poll_woken_by_an_enqueue),
        cmocka_unit_test(long_poll_woken_by_another_process),
        cmocka_unit_test(long_poll_woken_by_a_due_job),
        cmocka_unit_test(long_poll_times_out_empty),
        cmocka_unit_test(stop_ends_a_waiting_fetch),
        cmocka_unit_test(handlers_keep_results),
        cmocka_unit_test(counts_by_name),
        cmocka_unit_test(enqueues_wake_the_dispatcher_only_for_handlers),
        cmocka_unit_test(bad_input_changes_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
