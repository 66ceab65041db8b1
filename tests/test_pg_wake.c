/*
 * test_pg_wake.c — wake-ups on PostgreSQL: two chore instances on one
 * schema, B idle with a poll interval of an hour, so that only a
 * notification can make it look for work; A enqueues (one job, a bulk, a
 * scheduled job then its retry, a schedule's fire, a job for an outside
 * worker long-polling in chore_fetch) and B must get the job within a few
 * seconds of real time. Then the fallbacks: a job inserted with plain SQL
 * (no notification) is noticed by the change counter's poll, and a
 * listening connection the server terminates is reopened, its gap counted
 * as a change. Also the store's own hook: called for another store's
 * write and for enqueue_native's commit. And the batches that replaced
 * per-job statements: a mix of outcomes, and lease renewals, in one
 * statement give what the per-job statements give.
 *
 * Needs the cluster of scripts/pg-cluster.sh (ctest fixture "pg").
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>
#include <pthread.h>

#include "chore.h"
#include "store/store.h"
#include "test_pg.h"

#define HOUR_MS (3600 * 1000LL)
#define DEADLINE_MS 5000 /* real time for a wake-up; the poll interval is an hour */

static char base_url[512]; /* postgres://…/chore_test */

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---------------------------------------------------------------- a test's world */

/* What B's handler saw. */
typedef struct seen {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int count;
} seen;

typedef struct world {
    char schema[64];
    char url[700];
    chore *a, *b;
    seen got;
} world;

static int count_job(chore_job *job, void *ud)
{
    (void)job;
    seen *s = ud;
    pthread_mutex_lock(&s->mu);
    s->count++;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return CHORE_OK;
}

/* Wait (real time, at most DEADLINE_MS) until B's handler saw `want` jobs. */
static int wait_seen(seen *s, int want)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += DEADLINE_MS / 1000;
    pthread_mutex_lock(&s->mu);
    while (s->count < want) {
        if (pthread_cond_timedwait(&s->cv, &s->mu, &until) != 0)
            break;
    }
    int n = s->count;
    pthread_mutex_unlock(&s->mu);
    return n;
}

static chore *open_instance(world *w, int64_t poll_ms)
{
    chore_config cfg = {
        .store = w->url,
        .workers = 2,
        .poll_interval_ms = poll_ms,
        .rescue_interval_ms = HOUR_MS,
        .log_level = CHORE_LOG_ERROR,
    };
    chore *c = NULL;
    assert_int_equal(chore_open(&c, &cfg), CHORE_OK);
    return c;
}

static int setup(void **state)
{
    world *w = calloc(1, sizeof *w);
    assert_non_null(w);
    test_pg_schema(w->schema, sizeof w->schema, "wake");
    snprintf(w->url, sizeof w->url, "%s?schema=%s", base_url, w->schema);
    pthread_mutex_init(&w->got.mu, NULL);
    pthread_cond_init(&w->got.cv, NULL);
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    world *w = *state;
    chore_close(w->a);
    chore_close(w->b);
    pthread_cond_destroy(&w->got.cv);
    pthread_mutex_destroy(&w->got.mu);
    free(w);
    return 0;
}

/* A opened (not started: it only writes); B started with a handler for
 * `name`, idle, polling every poll_ms. */
static void start_pair(world *w, const char *name, int64_t poll_ms)
{
    w->a = open_instance(w, HOUR_MS);
    w->b = open_instance(w, poll_ms);
    assert_int_equal(chore_handle(w->b, name, count_job, &w->got, NULL), CHORE_OK);
    assert_int_equal(chore_start(w->b), CHORE_OK);
    assert_int_equal(chore_wait_idle(w->b, DEADLINE_MS), CHORE_OK);
}

/* ---------------------------------------------------------------- wake-ups */

static void test_single_enqueue_wakes_idle_node(void **state)
{
    world *w = *state;
    start_pair(w, "wake.one", HOUR_MS);
    for (int i = 1; i <= 3; i++) {
        int64_t t0 = mono_ms(), id = 0;
        assert_int_equal(chore_enqueue(w->a, "wake.one", NULL, NULL, &id), CHORE_OK);
        assert_int_equal(wait_seen(&w->got, i), i);
        assert_true(mono_ms() - t0 < DEADLINE_MS);
        assert_int_equal(chore_wait_idle(w->b, DEADLINE_MS), CHORE_OK);
    }
}

static void test_bulk_enqueue_wakes_idle_node(void **state)
{
    world *w = *state;
    start_pair(w, "wake.bulk", HOUR_MS);
    enum { N = 500 };
    chore_job_spec specs[N];
    int64_t ids[N];
    for (int i = 0; i < N; i++)
        specs[i] = (chore_job_spec){.name = "wake.bulk"};
    assert_int_equal(chore_enqueue_bulk(w->a, specs, N, ids, NULL), CHORE_OK);
    assert_int_equal(wait_seen(&w->got, N), N);
}

/* A scheduled job (due in an hour) tells B nothing to run; its retry by
 * A ("run again now") must wake B. */
static void test_admin_retry_wakes_idle_node(void **state)
{
    world *w = *state;
    start_pair(w, "wake.retry", HOUR_MS);
    chore_enqueue_opts o = {.delay_ms = HOUR_MS};
    int64_t id = 0;
    assert_int_equal(chore_enqueue(w->a, "wake.retry", NULL, &o, &id), CHORE_OK);
    assert_int_equal(chore_wait_idle(w->b, DEADLINE_MS), CHORE_OK);
    pthread_mutex_lock(&w->got.mu);
    assert_int_equal(w->got.count, 0);
    pthread_mutex_unlock(&w->got.mu);
    assert_int_equal(chore_job_retry(w->a, id), CHORE_OK);
    assert_int_equal(wait_seen(&w->got, 1), 1);
}

/* A's scheduler fires a schedule B never read (B rereads schedules only
 * every poll interval): B learns of each fire's job from its notification. */
static void test_schedule_fire_wakes_idle_node(void **state)
{
    world *w = *state;
    start_pair(w, "wake.cron", HOUR_MS);
    assert_int_equal(chore_schedule(w->a, "every-second", "@every 1s", "wake.cron", NULL, NULL),
                     CHORE_OK);
    assert_int_equal(chore_start(w->a), CHORE_OK); /* A has no handler for the job */
    assert_true(wait_seen(&w->got, 2) >= 2);
}

typedef struct fetch_call {
    chore *c;
    int64_t took_ms;
    size_t n;
    int rc;
} fetch_call;

static void *fetch_main(void *arg)
{
    fetch_call *f = arg;
    const char *names[1] = {"wake.fetch"};
    chore_fetch_opts o = {.names = names, .n_names = 1, .wait_ms = 4 * DEADLINE_MS};
    chore_fetched *jobs = NULL;
    int64_t t0 = mono_ms();
    f->rc = chore_fetch(f->c, &o, &jobs, &f->n);
    f->took_ms = mono_ms() - t0;
    chore_fetched_free(jobs, f->n);
    return NULL;
}

/* An outside worker long-polling on B (no handlers) gets A's job. */
static void test_enqueue_wakes_long_poll(void **state)
{
    world *w = *state;
    w->a = open_instance(w, HOUR_MS);
    w->b = open_instance(w, HOUR_MS);
    assert_int_equal(chore_start(w->b), CHORE_OK);
    /* B's maintenance loops done with their first ticks: the fetch's
     * connection is then the only one of B's to read the next due time. */
    assert_int_equal(chore_wait_idle(w->b, DEADLINE_MS), CHORE_OK);
    fetch_call f = {.c = w->b};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, fetch_main, &f), 0);
    /* Enqueue only once the fetch waits: after its empty claim it reads the
     * next due time (nothing else on B does: it has no handlers), which
     * shows in pg_stat_activity. */
    PGconn *c = test_pg_connect(base_url);
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'chore_%s'"
             " AND state = 'idle' AND query LIKE 'SELECT min(run_at)%%'",
             w->schema);
    int64_t waiting = test_pg_wait_int(c, sql, 1, DEADLINE_MS);
    PQfinish(c);
    assert_true(waiting >= 1);
    int64_t id = 0;
    assert_int_equal(chore_enqueue(w->a, "wake.fetch", NULL, NULL, &id), CHORE_OK);
    pthread_join(t, NULL);
    assert_int_equal(f.rc, CHORE_OK);
    assert_int_equal(f.n, 1);
    assert_true(f.took_ms < DEADLINE_MS);
}

/* ---------------------------------------------------------------- fallbacks */

/* A job inserted with plain SQL sends no notification: B's change
 * counter, polled every 200 ms, still notices it. */
static void test_plain_insert_noticed_by_polling(void **state)
{
    world *w = *state;
    start_pair(w, "wake.sql", 200);
    PGconn *c = test_pg_connect(base_url);
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO \"%s\".chore_jobs(name, queue, payload, state, priority, run_at,"
             " max_attempts, timeout_ms, created_at)"
             " VALUES('wake.sql', 'default', '{}', 1, 0, 0, 0, 0, 0) RETURNING id",
             w->schema);
    assert_true(test_pg_int(c, sql) > 0);
    PQfinish(c);
    assert_int_equal(wait_seen(&w->got, 1), 1);
}

/* The server terminates B's listening connection; a job enqueued at once
 * (its notification may be lost) still reaches B, whose poll interval is
 * an hour: the reconnect counts as a change. Then notifications flow again
 * on the new connection. */
static void test_listener_killed_recovers(void **state)
{
    world *w = *state;
    start_pair(w, "wake.kill", HOUR_MS);
    int64_t id = 0;
    assert_int_equal(chore_enqueue(w->a, "wake.kill", NULL, NULL, &id), CHORE_OK);
    assert_int_equal(wait_seen(&w->got, 1), 1); /* A's listener is up too now */
    PGconn *c = test_pg_connect(base_url);
    char sql[512];
    /* Every listening backend of this schema: A's and B's. */
    snprintf(sql, sizeof sql,
             "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
             " WHERE application_name = 'chore_%s' AND (query LIKE 'LISTEN%%'"
             " OR query LIKE 'NOTIFY%%')",
             w->schema);
    assert_true(test_pg_int(c, sql) >= 1);
    assert_int_equal(chore_enqueue(w->a, "wake.kill", NULL, NULL, &id), CHORE_OK);
    assert_int_equal(wait_seen(&w->got, 2), 2);
    /* The listeners are back (polled with a deadline), and wake B again. */
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'chore_%s'"
             " AND (query LIKE 'LISTEN%%' OR query LIKE 'NOTIFY%%')",
             w->schema);
    assert_true(test_pg_wait_int(c, sql, 2, DEADLINE_MS) >= 2);
    PQfinish(c);
    assert_int_equal(chore_wait_idle(w->b, DEADLINE_MS), CHORE_OK);
    assert_int_equal(chore_enqueue(w->a, "wake.kill", NULL, NULL, &id), CHORE_OK);
    assert_int_equal(wait_seen(&w->got, 3), 3);
}

/* ---------------------------------------------------------------- the store's hook */

static void on_wake(void *arg)
{
    seen *s = arg;
    pthread_mutex_lock(&s->mu);
    s->count++;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

/* The hook of one store runs for another store's enqueue and for a
 * caller's transaction with enqueue_native; unregistered, it runs no more. */
static void test_store_hook(void **state)
{
    world *w = *state;
    const store_ops *ops = &pg_store_ops;
    const char *loc = w->url + strlen("postgres:");
    store *s1 = NULL, *s2 = NULL;
    char err[256];
    assert_int_equal(ops->open(&s1, loc, CHORE_DURABLE_FULL, err, sizeof err), CHORE_OK);
    assert_int_equal(ops->open(&s2, loc, CHORE_DURABLE_FULL, err, sizeof err), CHORE_OK);
    assert_non_null(ops->set_wake);
    assert_null(sqlite_store_ops.set_wake);
    ops->set_wake(s1, on_wake, &w->got);
    store_new_job j = {.name = "hook", .payload = "{}", .queue = "default"};
    int64_t id = 0;
    assert_int_equal(ops->enqueue(s2, &j, 1, 0, &id, NULL), CHORE_OK);
    assert_true(wait_seen(&w->got, 1) >= 1);

    PGconn *c = test_pg_connect(base_url);
    char sql[128];
    snprintf(sql, sizeof sql, "SET chore.schema = '%s'", w->schema);
    test_pg_exec(c, sql);
    pthread_mutex_lock(&w->got.mu);
    int before = w->got.count;
    pthread_mutex_unlock(&w->got.mu);
    test_pg_exec(c, "BEGIN");
    assert_int_equal(ops->enqueue_native(c, &j, 1, 0, &id, NULL), CHORE_OK);
    test_pg_exec(c, "COMMIT");
    assert_true(wait_seen(&w->got, before + 1) >= before + 1);
    PQfinish(c);

    ops->set_wake(s1, NULL, NULL);
    pthread_mutex_lock(&w->got.mu);
    w->got.count = -1000; /* a call after unregistering would move it */
    pthread_mutex_unlock(&w->got.mu);
    assert_int_equal(ops->enqueue(s2, &j, 1, 0, &id, NULL), CHORE_OK);
    ops->close(s2); /* sends its notification before returning */
    ops->close(s1);
    assert_int_equal(w->got.count, -1000);
}


/* ---------------------------------------------------------------- batches */

/* Claim n fresh jobs on a fresh schema's store; tokens and ids by job. */
static store *claimed_store(world *w, const char *schema, size_t n, store_claimed **got)
{
    const store_ops *ops = &pg_store_ops;
    char loc[700];
    snprintf(loc, sizeof loc, "%s?schema=%s_%s", base_url + strlen("postgres:"), w->schema,
             schema);
    store *s = NULL;
    char err[256];
    assert_int_equal(ops->open(&s, loc, CHORE_DURABLE_FULL, err, sizeof err), CHORE_OK);
    for (size_t i = 0; i < n; i++) {
        store_new_job j = {.name = "batch", .payload = "{}", .queue = "default",
                           .run_at_ms = 1000};
        int64_t id;
        assert_int_equal(ops->enqueue(s, &j, 1, 1000, &id, NULL), CHORE_OK);
    }
    store_claim_req req = {.max = n, .lease_ms = 60000};
    size_t k = 0;
    assert_int_equal(ops->claim(s, &req, 1000, got, &k), CHORE_OK);
    assert_int_equal(k, n);
    return s;
}

/* A batch of outcomes of every kind (and a stale one) leaves each job as
 * the same outcomes applied one at a time do: the one-statement path
 * (pg_finish_many) against the per-job statements; and a batch of lease
 * renewals as many single ones. */
static void test_mixed_batch_matches_one_by_one(void **state)
{
    world *w = *state;
    const store_ops *ops = &pg_store_ops;
    enum { N = 8 };
    store_claimed *ga = NULL, *gb = NULL;
    store *a = claimed_store(w, "one", N, &ga);
    store *b = claimed_store(w, "many", N, &gb);
    store_outcome oa[N], ob[N];
    static const store_outcome_kind kinds[N] = {STORE_COMPLETE, STORE_RETRY,  STORE_RETRY,
                                                STORE_DISCARD,  STORE_SNOOZE, STORE_SUSPEND,
                                                STORE_RELEASE,  STORE_COMPLETE};
    static const int64_t at[N] = {0, 1500, 90000, 0, 70000, 500000, 0, 0};
    for (size_t i = 0; i < N; i++) {
        store_outcome o = {.kind = kinds[i], .run_at_ms = at[i]};
        o.error = kinds[i] == STORE_RETRY || kinds[i] == STORE_DISCARD ? "it \"broke\"" : NULL;
        o.result = i == 0 ? "{\"ok\":1}" : NULL;
        oa[i] = ob[i] = o;
        oa[i].id = ga[i].id, oa[i].token = ga[i].token;
        ob[i].id = gb[i].id, ob[i].token = gb[i].token;
    }
    oa[N - 1].token = ob[N - 1].token = 0; /* stale: applies nowhere */
    bool app_a[N], app_b[N];
    for (size_t i = 0; i < N; i++)
        assert_int_equal(ops->finish(a, &oa[i], 1, 2000, &app_a[i]), CHORE_OK);
    assert_int_equal(ops->finish(b, ob, N, 2000, app_b), CHORE_OK);
    for (size_t i = 0; i < N; i++) {
        assert_int_equal(app_a[i], i != N - 1);
        assert_int_equal(app_a[i], app_b[i]);
        chore_job_info *x = NULL, *y = NULL;
        assert_int_equal(ops->get(a, ga[i].id, &x), CHORE_OK);
        assert_int_equal(ops->get(b, gb[i].id, &y), CHORE_OK);
        assert_int_equal(x->state, y->state);
        assert_int_equal(x->attempt, y->attempt);
        assert_int_equal(x->run_at_ms, y->run_at_ms);
        assert_int_equal(x->finished_at_ms, y->finished_at_ms);
        assert_int_equal(x->lease_until_ms != 0, y->lease_until_ms != 0);
        assert_int_equal(x->result == NULL, y->result == NULL);
        if (x->result != NULL)
            assert_string_equal(x->result, y->result);
        assert_int_equal(x->n_errors, y->n_errors);
        for (size_t e = 0; e < x->n_errors; e++) {
            assert_string_equal(x->errors[e].error, y->errors[e].error);
            assert_int_equal(x->errors[e].attempt, y->errors[e].attempt);
        }
        chore_job_info_free(x);
        chore_job_info_free(y);
    }
    /* Lease renewals: the still running job (the stale one's), a suspended
     * one (not renewed) and a wrong token, one at a time and as a batch. */
    store_lease la[3] = {{ga[N - 1].id, ga[N - 1].token}, {ga[5].id, ga[5].token}, {ga[6].id, 99}};
    store_lease lb[3] = {{gb[N - 1].id, gb[N - 1].token}, {gb[5].id, gb[5].token}, {gb[6].id, 99}};
    bool ha[3], hb[3];
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(ops->heartbeat(a, &la[i], 1, 3000, 60000, &ha[i]), CHORE_OK);
    assert_int_equal(ops->heartbeat(b, lb, 3, 3000, 60000, hb), CHORE_OK);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(ha[i], hb[i]);
    assert_true(hb[0]);
    assert_false(hb[1]);
    assert_false(hb[2]);
    /* A batch of completions only (its own statement): the running job
     * completes with its result, a stale one does not. */
    store_outcome done[2] = {{.id = gb[N - 1].id, .token = gb[N - 1].token,
                              .kind = STORE_COMPLETE, .result = "[1]"},
                             {.id = gb[1].id, .token = gb[1].token + 5, .kind = STORE_COMPLETE}};
    bool dapp[2];
    assert_int_equal(ops->finish(b, done, 2, 4000, dapp), CHORE_OK);
    assert_true(dapp[0]);
    assert_false(dapp[1]);
    chore_job_info *z = NULL;
    assert_int_equal(ops->get(b, gb[N - 1].id, &z), CHORE_OK);
    assert_int_equal(z->state, CHORE_COMPLETED);
    assert_string_equal(z->result, "[1]");
    assert_int_equal(z->finished_at_ms, 4000);
    chore_job_info_free(z);
    store_claimed_free(ga, N);
    store_claimed_free(gb, N);
    ops->close(a);
    ops->close(b);
}

int main(void)
{
    if (!test_pg_url(base_url, sizeof base_url)) {
        fprintf(stderr, "test_pg_wake: no PostgreSQL cluster (CHORE_TEST_PG_DIR): skipped\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_single_enqueue_wakes_idle_node, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bulk_enqueue_wakes_idle_node, setup, teardown),
        cmocka_unit_test_setup_teardown(test_admin_retry_wakes_idle_node, setup, teardown),
        cmocka_unit_test_setup_teardown(test_schedule_fire_wakes_idle_node, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enqueue_wakes_long_poll, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plain_insert_noticed_by_polling, setup, teardown),
        cmocka_unit_test_setup_teardown(test_listener_killed_recovers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_hook, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mixed_batch_matches_one_by_one, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
