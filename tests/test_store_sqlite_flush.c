/*
 * test_store_sqlite_flush.c — the SQLite backend's shared flushes of the
 * WAL (src/store/sqlite_flush.c), on real files: a durable write returns
 * only after an fdatasync that began after its commit (a commit made while
 * a flush runs waits for the next one); claims and the
 * process mode never wait for one; a failed fdatasync is reported and the
 * next write flushes again; writes from many threads each return durable.
 * The fdatasync is wrapped (sq_flush_sync) to count and to fail on demand;
 * the wrapper still calls the real one.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "store/sqlite_internal.h"
#include "store_conformance.h"
#include "test_util.h"

#define T0 1700000000000LL
#define THREADS 8
#define WRITES_PER_THREAD 40

static const store_ops *ops = &sqlite_store_ops;

static _Atomic int syncs;      /* fdatasync calls made through the wrapper */
static _Atomic int fail_syncs; /* fail this many calls with EIO */

static int counting_sync(int fd)
{
    atomic_fetch_add(&syncs, 1);
    if (atomic_load(&fail_syncs) > 0) {
        atomic_fetch_sub(&fail_syncs, 1);
        errno = EIO;
        return -1;
    }
    return fdatasync(fd);
}

static int setup(void **state)
{
    (void)state;
    sq_flush_sync = counting_sync;
    atomic_store(&syncs, 0);
    atomic_store(&fail_syncs, 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sq_flush_sync = fdatasync;
    return 0;
}

static store *open_store(const char *name, chore_durability durability)
{
    char path[600];
    return store_test_open(ops, test_db_path(path, sizeof path, name), durability);
}

static int enqueue_one(store *s, int64_t *id)
{
    store_new_job j = {.name = "x", .payload = "{}", .queue = "default", .run_at_ms = T0};
    return ops->enqueue(s, &j, 1, T0, id, NULL);
}

/* Every commit counted so far is flushed. */
static void assert_all_durable(store *s)
{
    pthread_mutex_lock(&s->flush.mu);
    uint64_t durable = s->flush.durable;
    pthread_mutex_unlock(&s->flush.mu);
    assert_true(durable >= 1);
    assert_int_equal(durable, atomic_load(&s->flush.committed));
}

static void test_a_durable_write_returns_flushed(void **state)
{
    (void)state;
    store *s = open_store("flush-one", CHORE_DURABLE_FULL);
    int64_t id;
    int before = atomic_load(&syncs);
    assert_int_equal(enqueue_one(s, &id), CHORE_OK);
    assert_int_equal(atomic_load(&syncs), before + 1);
    assert_all_durable(s);
    /* A finish is durable too. */
    int64_t token = store_test_claim_one(ops, s, id, T0);
    store_outcome out = {.id = id, .token = token, .kind = STORE_COMPLETE};
    before = atomic_load(&syncs);
    assert_int_equal(ops->finish(s, &out, 1, T0, NULL), CHORE_OK);
    assert_int_equal(atomic_load(&syncs), before + 1);
    assert_all_durable(s);
    ops->close(s);
}

static void test_claims_and_process_mode_do_not_wait(void **state)
{
    (void)state;
    store *s = open_store("flush-claim", CHORE_DURABLE_FULL);
    int64_t id;
    assert_int_equal(enqueue_one(s, &id), CHORE_OK);
    int before = atomic_load(&syncs);
    store_test_claim_one(ops, s, id, T0);
    assert_int_equal(atomic_load(&syncs), before);
    ops->close(s);

    store *p = open_store("flush-process", CHORE_DURABLE_PROCESS);
    before = atomic_load(&syncs);
    assert_int_equal(enqueue_one(p, &id), CHORE_OK);
    assert_int_equal(atomic_load(&syncs), before);
    ops->close(p);
}

static void test_a_failed_fdatasync_is_reported_and_retried(void **state)
{
    (void)state;
    store *s = open_store("flush-fail", CHORE_DURABLE_FULL);
    int64_t first, second;
    atomic_store(&fail_syncs, 1);
    /* Committed, but not known to be on disk: the caller hears so. */
    assert_int_equal(enqueue_one(s, &first), CHORE_ESTORE);
    assert_non_null(ops->errmsg(s));
    chore_job_info *info = NULL;
    assert_int_equal(ops->get(s, first, &info), CHORE_OK);
    chore_job_info_free(info);
    /* The next write flushes again, and that covers the first one too. */
    int before = atomic_load(&syncs);
    assert_int_equal(enqueue_one(s, &second), CHORE_OK);
    assert_int_equal(atomic_load(&syncs), before + 1);
    assert_all_durable(s);
    ops->close(s);
}

typedef struct writer_arg {
    store *s;
    int failures; /* writes that returned before their commit was flushed */
    int errors;
} writer_arg;

static void *writer_main(void *p)
{
    writer_arg *a = p;
    for (int i = 0; i < WRITES_PER_THREAD; i++) {
        /* This write's commit is numbered after every commit counted now. */
        uint64_t before = atomic_load(&a->s->flush.committed);
        int64_t id;
        if (enqueue_one(a->s, &id) != CHORE_OK) {
            a->errors++;
            continue;
        }
        pthread_mutex_lock(&a->s->flush.mu);
        if (a->s->flush.durable <= before)
            a->failures++;
        pthread_mutex_unlock(&a->s->flush.mu);
    }
    return NULL;
}

static void test_writes_from_many_threads_each_return_durable(void **state)
{
    (void)state;
    store *s = open_store("flush-threads", CHORE_DURABLE_FULL);
    pthread_t threads[THREADS];
    writer_arg args[THREADS];
    int before = atomic_load(&syncs);
    for (int i = 0; i < THREADS; i++) {
        args[i] = (writer_arg){.s = s};
        assert_int_equal(pthread_create(&threads[i], NULL, writer_main, &args[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(threads[i], NULL), 0);
        assert_int_equal(args[i].errors, 0);
        assert_int_equal(args[i].failures, 0);
    }
    assert_all_durable(s);
    int flushes = atomic_load(&syncs) - before;
    /* One flush per write at most; fewer when they shared. */
    assert_true(flushes >= 1 && flushes <= THREADS * WRITES_PER_THREAD);
    int64_t counts[CHORE_STATE_COUNT];
    assert_int_equal(ops->count_by_state(s, counts), CHORE_OK);
    assert_int_equal(counts[CHORE_AVAILABLE], THREADS * WRITES_PER_THREAD);
    ops->close(s);
}

/* ---- a commit made during a flush: the racer commits while the first
 * writer's fdatasync runs, so that fdatasync must not count for it. */

static store *race_store;
static pthread_mutex_t race_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t race_cond = PTHREAD_COND_INITIALIZER;
static bool race_go;
static _Atomic int syncs_when_racer_returned;

static void *racer_main(void *p)
{
    (void)p;
    pthread_mutex_lock(&race_mu);
    while (!race_go)
        pthread_cond_wait(&race_cond, &race_mu);
    pthread_mutex_unlock(&race_mu);
    int64_t id;
    int rc = enqueue_one(race_store, &id);
    atomic_store(&syncs_when_racer_returned, atomic_load(&syncs));
    return (void *)(intptr_t)rc;
}

/* The fdatasync wrapper of that test: its first call lets the racer
 * commit and, before syncing, waits (20 s at most) until that commit is
 * counted. */
static int racing_sync(int fd)
{
    if (atomic_fetch_add(&syncs, 1) == 0) {
        uint64_t before = atomic_load(&race_store->flush.committed);
        pthread_mutex_lock(&race_mu);
        race_go = true;
        pthread_cond_signal(&race_cond);
        pthread_mutex_unlock(&race_mu);
        time_t give_up = time(NULL) + 20;
        while (atomic_load(&race_store->flush.committed) == before && time(NULL) < give_up)
            sched_yield();
    }
    return fdatasync(fd);
}

static void test_a_commit_during_a_flush_waits_for_the_next(void **state)
{
    (void)state;
    race_store = open_store("flush-race", CHORE_DURABLE_FULL);
    race_go = false;
    sq_flush_sync = racing_sync;
    atomic_store(&syncs, 0);
    pthread_t racer;
    assert_int_equal(pthread_create(&racer, NULL, racer_main, NULL), 0);
    int64_t id;
    assert_int_equal(enqueue_one(race_store, &id), CHORE_OK);
    void *racer_rc = NULL;
    assert_int_equal(pthread_join(racer, &racer_rc), 0);
    assert_int_equal((intptr_t)racer_rc, CHORE_OK);
    /* The racer's commit came during the first fdatasync: only a second covers it. */
    assert_int_equal(atomic_load(&syncs_when_racer_returned), 2);
    assert_all_durable(race_store);
    ops->close(race_store);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_a_durable_write_returns_flushed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_claims_and_process_mode_do_not_wait, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_failed_fdatasync_is_reported_and_retried, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_commit_during_a_flush_waits_for_the_next, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_writes_from_many_threads_each_return_durable, setup,
                                        teardown),
    };
    return cmocka_run_group_tests_name("sqlite_flush", tests, NULL, NULL);
}
