/*
 * store_conformance_threads.c — the concurrency part of the store
 * conformance suite: threads enqueue while other threads claim and finish,
 * through one store handle, and every job must complete exactly once;
 * threads race to fire one schedule's slots, and each fires once.
 * Written only against store_ops, like store_conformance.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>
#include <sched.h>

#include "store_conformance.h"

#define T0 1700000000000LL
#define PRODUCERS 4
#define CONSUMERS 2
#define PER_PRODUCER 2000
#define TOTAL (PRODUCERS * PER_PRODUCER)
#define BATCH 25

static const store_ops *g_ops;
static store_location_fn g_new_location;

typedef struct shared {
    const store_ops *ops;
    store *s;
    int failures;       /* calls that returned an error; atomic */
    int producers_done; /* atomic */
    int completed;      /* outcomes applied; atomic */
    int64_t max_id;     /* ids seen by producers, under mu */
    pthread_mutex_t mu;
    unsigned char *done_count; /* per id, under mu; sized generously */
    size_t done_len;
} shared;

static void *producer(void *arg)
{
    shared *sh = arg;
    store_new_job jobs[BATCH];
    int64_t ids[BATCH];
    for (int i = 0; i < BATCH; i++)
        jobs[i] =
            (store_new_job){.name = "t", .payload = "{}", .queue = "default", .run_at_ms = T0};
    for (int made = 0; made < PER_PRODUCER; made += BATCH) {
        if (sh->ops->enqueue(sh->s, jobs, BATCH, T0, ids, NULL) != CHORE_OK) {
            __atomic_add_fetch(&sh->failures, 1, __ATOMIC_SEQ_CST);
            continue;
        }
        pthread_mutex_lock(&sh->mu);
        for (int i = 0; i < BATCH; i++)
            if (ids[i] > sh->max_id)
                sh->max_id = ids[i];
        pthread_mutex_unlock(&sh->mu);
    }
    __atomic_add_fetch(&sh->producers_done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static void *consumer(void *arg)
{
    shared *sh = arg;
    store_claim_req req = {.max = 64, .lease_ms = 600000};
    store_outcome outs[64];
    bool applied[64];
    for (;;) {
        int done_producers = __atomic_load_n(&sh->producers_done, __ATOMIC_SEQ_CST);
        store_claimed *got = NULL;
        size_t n = 0;
        if (sh->ops->claim(sh->s, &req, T0, &got, &n) != CHORE_OK) {
            __atomic_add_fetch(&sh->failures, 1, __ATOMIC_SEQ_CST);
            break;
        }
        if (n == 0) {
            /* Empty after every producer finished: nothing more will come. */
            if (done_producers == PRODUCERS)
                break;
            sched_yield();
            continue;
        }
        for (size_t i = 0; i < n; i++)
            outs[i] =
                (store_outcome){.id = got[i].id, .token = got[i].token, .kind = STORE_COMPLETE};
        if (sh->ops->finish(sh->s, outs, n, T0 + 1, applied) != CHORE_OK) {
            __atomic_add_fetch(&sh->failures, 1, __ATOMIC_SEQ_CST);
        } else {
            pthread_mutex_lock(&sh->mu);
            for (size_t i = 0; i < n; i++) {
                if (!applied[i])
                    continue;
                sh->completed++;
                if ((size_t)got[i].id < sh->done_len)
                    sh->done_count[got[i].id]++;
            }
            pthread_mutex_unlock(&sh->mu);
        }
        store_claimed_free(got, n);
    }
    return NULL;
}

static void test_concurrent_enqueue_claim_finish(void **state)
{
    (void)state;
    char loc[600];
    g_new_location(loc, sizeof loc);
    shared sh = {.ops = g_ops};
    char err[256];
    assert_int_equal(g_ops->open(&sh.s, loc, CHORE_DURABLE_PROCESS, err, sizeof err), CHORE_OK);
    assert_int_equal(pthread_mutex_init(&sh.mu, NULL), 0);
    sh.done_len = TOTAL * 4 + 16; /* ids start low on a fresh store */
    sh.done_count = calloc(sh.done_len, 1);
    assert_non_null(sh.done_count);

    pthread_t threads[PRODUCERS + CONSUMERS];
    for (int i = 0; i < PRODUCERS + CONSUMERS; i++)
        assert_int_equal(
            pthread_create(&threads[i], NULL, i < PRODUCERS ? producer : consumer, &sh), 0);
    for (int i = 0; i < PRODUCERS + CONSUMERS; i++)
        pthread_join(threads[i], NULL);

    assert_int_equal(sh.failures, 0);
    assert_int_equal(sh.completed, TOTAL);
    assert_true((size_t)sh.max_id < sh.done_len);
    int once = 0;
    for (size_t id = 0; id < sh.done_len; id++) {
        assert_true(sh.done_count[id] <= 1);
        once += sh.done_count[id];
    }
    assert_int_equal(once, TOTAL);
    int64_t counts[CHORE_STATE_COUNT];
    assert_int_equal(g_ops->count_by_state(sh.s, counts), CHORE_OK);
    assert_int_equal(counts[CHORE_COMPLETED], TOTAL);
    for (int s = 0; s < CHORE_STATE_COUNT; s++)
        if (s != CHORE_COMPLETED)
            assert_int_equal(counts[s], 0);

    free(sh.done_count);
    pthread_mutex_destroy(&sh.mu);
    g_ops->close(sh.s);
}

/* Readers run beside writers: reads never fail while the writer writes. */
typedef struct reader_args {
    const store_ops *ops;
    store *s;
    int *stop;
    int failures;
} reader_args;

static void *reader(void *arg)
{
    reader_args *r = arg;
    while (!__atomic_load_n(r->stop, __ATOMIC_SEQ_CST)) {
        int64_t counts[CHORE_STATE_COUNT], next, cc;
        chore_job_info *items = NULL;
        size_t n = 0;
        chore_list_query q = {.any_state = true, .limit = 20};
        if (r->ops->count_by_state(r->s, counts) != CHORE_OK ||
            r->ops->next_run_at(r->s, &next) != CHORE_OK ||
            r->ops->change_counter(r->s, &cc) != CHORE_OK ||
            r->ops->list(r->s, &q, &items, &n, NULL) != CHORE_OK)
            r->failures++;
        chore_job_list_free(items, n);
    }
    return NULL;
}

static void test_reads_beside_writes(void **state)
{
    (void)state;
    char loc[600];
    g_new_location(loc, sizeof loc);
    store *s = NULL;
    char err[256];
    assert_int_equal(g_ops->open(&s, loc, CHORE_DURABLE_PROCESS, err, sizeof err), CHORE_OK);
    int stop = 0;
    reader_args r = {g_ops, s, &stop, 0};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, reader, &r), 0);
    store_new_job j = {.name = "rw", .payload = "{}", .queue = "default", .run_at_ms = T0 + 5};
    for (int i = 0; i < 300; i++) {
        int64_t id;
        assert_int_equal(g_ops->enqueue(s, &j, 1, T0, &id, NULL), CHORE_OK);
    }
    __atomic_store_n(&stop, 1, __ATOMIC_SEQ_CST);
    pthread_join(t, NULL);
    assert_int_equal(r.failures, 0);
    g_ops->close(s);
}

/* Threads race to fire the same slots of one schedule, each reading the
 * last slot and firing the next: each slot is claimed, and its job
 * enqueued, exactly once. */
#define RACERS 4
#define RACE_SLOTS 200
#define RACE_STEP 1000

typedef struct race {
    const store_ops *ops;
    store *s;
    int failures;               /* atomic */
    int claims[RACE_SLOTS + 1]; /* per slot index, atomic */
    int enqueued;               /* atomic */
} race;

static void *racer(void *arg)
{
    race *r = arg;
    for (;;) {
        store_schedule *sc = NULL;
        if (r->ops->schedule_get(r->s, "race", &sc) != CHORE_OK) {
            __atomic_add_fetch(&r->failures, 1, __ATOMIC_SEQ_CST);
            return NULL;
        }
        int64_t last = sc->last_slot_ms;
        store_schedule_free(sc, 1);
        if (last >= T0 + (int64_t)RACE_SLOTS * RACE_STEP)
            return NULL;
        int64_t slot = last + RACE_STEP;
        store_fire f = {.name = "race",
                        .expected_last_ms = last,
                        .new_last_ms = slot,
                        .slots = &slot,
                        .n_slots = 1};
        store_fire_result res;
        if (r->ops->schedule_fire(r->s, &f, 1, T0, &res) != CHORE_OK) {
            __atomic_add_fetch(&r->failures, 1, __ATOMIC_SEQ_CST);
            return NULL;
        }
        if (res.claimed) {
            __atomic_add_fetch(&r->claims[(slot - T0) / RACE_STEP], 1, __ATOMIC_SEQ_CST);
            __atomic_add_fetch(&r->enqueued, (int)res.enqueued, __ATOMIC_SEQ_CST);
        }
    }
}

static void test_concurrent_fire_once(void **state)
{
    (void)state;
    char loc[600];
    g_new_location(loc, sizeof loc);
    race r = {.ops = g_ops};
    char err[256];
    assert_int_equal(g_ops->open(&r.s, loc, CHORE_DURABLE_PROCESS, err, sizeof err), CHORE_OK);
    store_schedule sc = {.name = "race",
                         .expr = "* * * * * *",
                         .zone = "UTC",
                         .job_name = "raced",
                         .payload = "{}",
                         .queue = "default",
                         .overlap = CHORE_OVERLAP_ALLOW,
                         .last_slot_ms = T0};
    assert_int_equal(g_ops->schedule_put(r.s, &sc, T0), CHORE_OK);

    pthread_t threads[RACERS];
    for (int i = 0; i < RACERS; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, racer, &r), 0);
    for (int i = 0; i < RACERS; i++)
        pthread_join(threads[i], NULL);

    assert_int_equal(r.failures, 0);
    assert_int_equal(r.claims[0], 0);
    for (int k = 1; k <= RACE_SLOTS; k++)
        assert_int_equal(r.claims[k], 1);
    assert_int_equal(r.enqueued, RACE_SLOTS);
    /* In the store: one job per slot, keyed by it. */
    chore_list_query q = {.any_state = true, .limit = 10000};
    chore_job_info *items = NULL;
    size_t n = 0;
    assert_int_equal(g_ops->list(r.s, &q, &items, &n, NULL), CHORE_OK);
    assert_int_equal(n, RACE_SLOTS);
    int seen[RACE_SLOTS + 1] = {0};
    for (size_t i = 0; i < n; i++) {
        long long slot = 0;
        assert_non_null(items[i].unique_key);
        assert_int_equal(sscanf(items[i].unique_key, "schedule:race:%lld", &slot), 1);
        assert_true(slot > T0 && slot <= T0 + (long long)RACE_SLOTS * RACE_STEP);
        assert_int_equal((slot - T0) % RACE_STEP, 0);
        seen[(slot - T0) / RACE_STEP]++;
    }
    for (int k = 1; k <= RACE_SLOTS; k++)
        assert_int_equal(seen[k], 1);
    chore_job_list_free(items, n);
    g_ops->close(r.s);
}

int store_conformance_run_threads(const char *suite_name, const store_ops *ops,
                                  store_location_fn new_location)
{
    g_ops = ops;
    g_new_location = new_location;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_concurrent_enqueue_claim_finish),
        cmocka_unit_test(test_reads_beside_writes),
        cmocka_unit_test(test_concurrent_fire_once),
    };
    return _cmocka_run_group_tests(suite_name, tests, sizeof tests / sizeof tests[0], NULL, NULL);
}
