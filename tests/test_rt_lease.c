/* test_rt_lease.c — runtime on the manual clock: leases, rescue and
 * fencing, timeouts, deferred jobs and their deadlines, graceful stop,
 * pruning, admin calls and enqueue inside the caller's transaction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_fixture.h"
#include "runtime/runtime.h"
#include "store/store.h"

static chore_job_info *get(fixture *f, int64_t id)
{
    chore_job_info *info = NULL;
    assert_int_equal(chore_job_get(f->c, id, &info), CHORE_OK);
    return info;
}

/* A process that claimed a job and died: claim it through the store directly. */
static store_claimed claim_and_die(fixture *f, int64_t lease_ms)
{
    const store_ops *ops = NULL;
    store *st = fixture_store_open(f, &ops);
    store_claim_req req = {.max = 1, .lease_ms = lease_ms};
    store_claimed *got = NULL;
    size_t n = 0;
    assert_int_equal(ops->claim(st, &req, chore_now(f->c), &got, &n), CHORE_OK);
    assert_int_equal(n, 1);
    store_claimed job = got[0];
    free(got);
    ops->close(st);
    return job;
}

static void expired_leases_are_rescued_and_stale_tokens_refused(void **state)
{
    (void)state;
    fixture f;
    chore_config cfg = {.lease_ms = 30000, .rescue_interval_ms = 1000};
    fixture_open(&f, &cfg);
    int64_t id;
    assert_int_equal(chore_enqueue(f.c, "job", NULL, NULL, &id), CHORE_OK);
    store_claimed dead = claim_and_die(&f, 30000);
    assert_int_equal(dead.id, id);

    probe p;
    probe_init(&p, CHORE_OK);
    assert_int_equal(chore_handle(f.c, "job", probe_handler, &p, NULL), CHORE_OK);
    assert_int_equal(chore_start(f.c), CHORE_OK);
    fixture_idle(&f);
    assert_int_equal(probe_calls(&p), 0); /* leased elsewhere */
    assert_int_equal(fixture_state(&f, id), CHORE_RUNNING);
    fixture_advance(&f, 29000);
    assert_int_equal(probe_calls(&p), 0);
    fixture_advance(&f, 2000); /* the lease ended, the rescuer has run */
    assert_int_equal(probe_calls(&p), 1);
    assert_int_equal(p.attempts[0], 2);
    assert_true(p.tokens[0] > dead.token);
    chore_job_info *info = get(&f, id);
    assert_int_equal(info->state, CHORE_COMPLETED);
    assert_int_equal(info->n_errors, 1);
    assert_non_null(strstr(info->errors[0].error, "lease"));
    chore_job_info_free(info);
    /* the dead process's late completion is refused */
    assert_int_equal(chore_job_done(f.c, id, dead.token), CHORE_ESTALE);
    assert_int_equal(chore_job_fail(f.c, id, dead.token, "late"), CHORE_ESTALE);
    assert_int_equal(chore_job_done(f.c, id + 100, 1), CHORE_ENOTFOUND);
    store_claimed_clear(&dead);
    fixture_close(&f);
    probe_destroy(&p);
}

static void heartbeats_keep_a_long_job_leased(void **state)
{
    (void)state;
    fixture f;
    chore_config cfg = {.lease_ms = 3000, .rescue_interval_ms = 500};
    fixture_open(&f, &cfg);
    probe p;
    probe_init(&p, CHORE_OK);
    p.block = true;
    assert_int_equal(chore_handle(f.c, "long", probe_handler, &p, NULL), CHORE_OK);
    assert_int_equal(chore_start(f.c), CHORE_OK);
    int64_t id;
    assert_int_equal(chore_enqueue(f.c, "long", NULL, NULL, &id), CHORE_OK);
    probe_wait_blocked(&p, 1);
    for (int i = 0; i < 20; i++) { /* 20 s in steps of 1 s, well past the 3 s lease */
        chore_clock_advance(f.clock, 1000);
        assert_int_equal(rt_sync(f.c, WAIT_MS), CHORE_OK);
    }
    chore_job_info *info = get(&f, id);
    assert_int_equal(info->state, CHORE_RUNNING);
    assert_int_equal(info->attempt, 1); /* never rescued and claimed again */
    assert_true(info->lease_until_ms > chore_now(f.c));
    chore_job_info_free(info);
    assert_int_equal(probe_calls(&p), 1);
    probe_release(&p);
    fixture_idle(&f);
    assert_int_equal(probe_calls(&p), 1);
    assert_int_equal(fixture_state(&f, id), CHORE_COMPLETED);
    fixture_close(&f);
    probe_destroy(&p);
}

static void a_timed_out_attempt_loses_its_lease(void **state)
{
    (void)state;
    fixture f;
    chore_config cfg = {.workers = 2, .lease_ms = 3000, .rescue_interval_ms = 500};
    fixture_open(&f, &cfg);
    probe p;
    probe_init(&p, CHORE_OK);
    p.block = true;
    assert_int_equal(chore_handle(f.c, "slow", probe_handler, &p, NULL), CHORE_OK);
    assert_int_equal(chore_start(f.c), CHORE_OK);
    int64_t id;
    chore_enqueue_opts o = {.timeout_ms = 2000};
    assert_int_equal(chore_enqueue(f.c, "slow", NULL, &o, &id), CHORE_OK);
    probe_wait_blocked(&p, 1);
    /* Past the timeout, then past the unrenewed lease, a second at a time
     * and no further once the job runs again: more time would time out
     * the second attempt too. */
    for (int i = 0; i < 8 && probe_blocked(&p) < 2; i++) {
        chore_clock_advance(f.clock, 1000);
        assert_int_equal(rt_sync(f.c, WAIT_MS), CHORE_OK);
    }
    probe_wait_blocked(&p, 2); /* rescued and claimed again by the other worker */
    assert_int_equal(p.attempts[1], 2);
    probe_release(&p); /* the first attempt returns OK, too late */
    probe_release(&p);
    fixture_idle(&f);
    assert_true(p.stop_seen[0]);
    chore_job_info *info = get(&f, id);
    assert_int_equal(info->state, CHORE_COMPLETED);
    assert_int_equal(info->attempt, 2);
    assert_int_equal(info->n_errors, 1);
    chore_job_info_free(info);
    fixture_close(&f);
    probe_destroy(&p);
}

static void deferred_jobs_complete_fail_or_time_out(void **state)
{
    (void)state;
    fixture f;
    chore_config cfg = {.rescue_interval_ms = 1000};
    fixture_open(&f, &cfg);
    probe p;
    probe_init(&p, CHORE_DEFER);
    chore_handler_opts ho = {.defer_timeout_ms = 60000, .backoff_base_ms = 5000,
                             .backoff_jitter = -1};
    assert_int_equal(chore_handle(f.c, "remote", probe_handler, &p, &ho), CHORE_OK);
    assert_int_equal(chore_start(f.c), CHORE_OK);
    int64_t done_id, fail_id, late_id;
    assert_int_equal(chore_enqueue(f.c, "remote", "{\"n\":1}", NULL, &done_id), CHORE_OK);
    fixture_idle(&f);
    assert_int_equal(chore_enqueue(f.c, "remote", "{\"n\":2}", NULL, &fail_id), CHORE_OK);
    fixture_idle(&f);
    assert_int_equal(chore_enqueue(f.c, "remote", "{\"n\":3}", NULL, &late_id), CHORE_OK);
    fixture_idle(&f);
    assert_int_equal(probe_calls(&p), 3);
    chore_job_info *info = get(&f, done_id);
    assert_int_equal(info->state, CHORE_SUSPENDED);
    assert_int_equal(info->lease_until_ms, chore_now(f.c) + 60000);
    chore_job_info_free(info);

    assert_int_equal(chore_job_done(f.c, done_id, p.tokens[0] + 1), CHORE_ESTALE);
    assert_int_equal(chore_job_done(f.c, done_id, p.tokens[0]), CHORE_OK);
    assert_int_equal(fixture_state(&f, done_id), CHORE_COMPLETED);
    assert_int_equal(chore_job_done(f.c, done_id, p.tokens[0]), CHORE_ESTALE);

    assert_int_equal(chore_job_fail(f.c, fail_id, p.tokens[1], "remote said no"), CHORE_OK);
    info = get(&f, fail_id);
    assert_int_equal(info->state, CHORE_SCHEDULED);
    assert_int_equal(info->run_at_ms, chore_now(f.c) + 5000);
    assert_string_equal(info->errors[0].error, "remote said no");
    chore_job_info_free(info);
    fixture_advance(&f, 5000);
    assert_int_equal(probe_calls(&p), 4); /* deferred again */
    assert_int_equal(p.attempts[3], 2);

    fixture_advance(&f, 55000); /* the third job's 60 s deadline passes */
    assert_int_equal(probe_calls(&p), 5);
    assert_int_equal(p.ids[4], late_id);
    info = get(&f, late_id);
    assert_int_equal(info->state, CHORE_SUSPENDED);
    assert_int_equal(info->attempt, 2);
    assert_non_null(strstr(info->errors[0].error, "deadline"));
    chore_job_info_free(info);
    fixture_close(&f);
    probe_destroy(&p);
}

static void *stop_gracefully(void *arg)
{
    assert_int_equal(chore_stop(arg, WAIT_MS), CHORE_OK);
    return NULL;
}

/* Wait until chore_stop has begun: nothing more is claimed. */
static void wait_stopping(chore *c)
{
    int64_t deadline = real_now_ms() + WAIT_MS;
    pthread_mutex_lock(&c->mu);
    while (!c->stopping && real_now_ms() < deadline)
        real_wait(&c->idle_cond, &c->mu, deadline);
    bool stopping = c->stopping;
    pthread_mutex_unlock(&c->mu);
    assert_true(stopping);
}

static void graceful_stop_lets_handlers_finish(void **state)
{
    (void)state;
    fixture f;
    chore_config cfg = {.workers = 1, .fetch_batch = 8};
    fixture_open(&f, &cfg);
    probe p;
    probe_init(&p, CHORE_OK);
    p.block = true;
    p.honour_stop = true;
    assert_int_equal(chore_handle(f.c, "g", probe_handler, &p, NULL), CHORE_OK);
    assert_int_equal(chore_start(f.c), CHORE_OK);
    int64_t ids[5];
    for (int i = 0; i < 5; i++)
        assert_int_equal(chore_enqueue(f.c, "g", NULL, NULL, &ids[i]), CHORE_OK);
    probe_wait_blocked(&p, 1);
    pthread_t stopper;
    assert_int_equal(pthread_create(&stopper, NULL, stop_gracefully, f.c), 0);
    wait_stopping(f.c);
    probe_release(&p); /* it finishes within the grace, never told to stop */
    assert_int_equal(pthread_join(stopper, NULL), 0);
    assert_int_equal(probe_calls(&p), 1);
    assert_false(p.stop_seen[0]);
    assert_int_equal(fixture_state(&f, p.ids[0]), CHORE_COMPLETED);
    int64_t counts[CHORE_STATE_COUNT];
    assert_int_equal(chore_count_by_state(f.c, counts), CHORE_OK);
    assert_int_equal(counts[CHORE_AVAILABLE], 4); /* prefetched jobs went back */
    assert_int_equal(counts[CHORE_RUNNING], 0);
    assert_int_equal(chore_stop(f.c, 0), CHORE_OK); /* stopping twice is fine */
    /* and it starts again */
    pthread_mutex_lock(&p.mu);
    p.block = false;
    pthread_mutex_unlock(&p.mu);
    assert_int_equal(chore_start(f.c), CHORE_OK);
    fixture_idle(&f);
    assert_int_equal(chore_count_by_state(f.c, counts), CHORE_OK);
    assert_int_equal(counts[CHORE_COMPLETED], 5);
    fixture_close(&f);
    probe_destroy(&p);
}

static void stop_after_grace_gives_running_jobs_back(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, NULL);
    probe p;
    probe_init(&p, CHORE_OK);
    p.block = true; /* ignores should_stop */
    assert_int_equal(chore_handle(f.c, "stuck", probe_handler, &p, NULL), CHORE_OK);
    assert_int_equal(chore_start(f.c), CHORE_OK);
    int64_t id;
    assert_int_equal(chore_enqueue(f.c, "stuck", NULL, NULL, &id), CHORE_OK);
    probe_wait_blocked(&p, 1);
    assert_int_equal(chore_stop(f.c, 20), CHORE_ETIMEDOUT);
    chore_job_info *info = get(&f, id);
    assert_int_equal(info->state, CHORE_AVAILABLE);
    assert_int_equal(info->attempt, 0);
    chore_job_info_free(info);
    probe_release(&p); /* chore_close waits for this handler */
    fixture_close(&f);
    assert_true(p.stop_seen[0]); /* the grace ran out: told to stop */
    probe_destroy(&p);
}

static void jobs_due_soon_are_held_until_their_time(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, NULL);
    probe p;
    probe_init(&p, CHORE_OK);
    assert_int_equal(chore_handle(f.c, "soon", probe_handler, &p, NULL), CHORE_OK);
    assert_int_equal(chore_start(f.c), CHORE_OK);
    int64_t held, kept;
    chore_enqueue_opts in_300ms = {.delay_ms = 300}, in_an_hour = {.delay_ms = 3600000};
    assert_int_equal(chore_enqueue(f.c, "soon", NULL, &in_300ms, &held), CHORE_OK);
    assert_int_equal(chore_enqueue(f.c, "soon", NULL, &in_an_hour, &kept), CHORE_OK);
    fixture_idle(&f);
    assert_int_equal(fixture_state(&f, held), CHORE_RUNNING); /* claimed ahead, waiting here */
    assert_int_equal(fixture_state(&f, kept), CHORE_SCHEDULED);
    fixture_advance(&f, 299);
    assert_int_equal(probe_calls(&p), 0);
    fixture_advance(&f, 1);
    assert_int_equal(probe_calls(&p), 1);
    assert_int_equal(p.ids[0], held);
    /* a job held at stop goes back untouched */
    int64_t again;
    assert_int_equal(chore_enqueue(f.c, "soon", NULL, &in_300ms, &again), CHORE_OK);
    fixture_idle(&f);
    assert_int_equal(fixture_state(&f, again), CHORE_RUNNING);
    assert_int_equal(chore_stop(f.c, WAIT_MS), CHORE_OK);
    chore_job_info *info = get(&f, again);
    assert_int_equal(info->state, CHORE_SCHEDULED); /* waiting for its time again */
    assert_int_equal(info->attempt, 0);
    chore_job_info_free(info);
    assert_int_equal(probe_calls(&p), 1);
    fixture_close(&f);
    probe_destroy(&p);
}

static void final_jobs_are_pruned_after_retention(void **state)
{
    (void)state;
    fixture f;
    chore_config cfg = {.retention_ms = 3600000, .prune_interval_ms = 60000};
    fixture_open(&f, &cfg);
    probe p;
    probe_init(&p, CHORE_OK);
    assert_int_equal(chore_handle(f.c, "p", probe_handler, &p, NULL), CHORE_OK);
    assert_int_equal(chore_start(f.c), CHORE_OK);
    int64_t done, waiting;
    assert_int_equal(chore_enqueue(f.c, "p", NULL, NULL, &done), CHORE_OK);
    chore_enqueue_opts later = {.delay_ms = 48LL * 3600000};
    assert_int_equal(chore_enqueue(f.c, "p", NULL, &later, &waiting), CHORE_OK);
    fixture_idle(&f);
    assert_int_equal(fixture_state(&f, done), CHORE_COMPLETED);
    fixture_advance(&f, 3600000 - 60000);
    assert_int_equal(fixture_state(&f, done), CHORE_COMPLETED);
    fixture_advance(&f, 120000);
    chore_job_info *info = NULL;
    assert_int_equal(chore_job_get(f.c, done, &info), CHORE_ENOTFOUND);
    assert_int_equal(fixture_state(&f, waiting), CHORE_SCHEDULED);
    fixture_close(&f);
    probe_destroy(&p);
}

static void admin_calls_change_states(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, NULL);
    probe p;
    probe_init(&p, CHORE_DISCARD);
    assert_int_equal(chore_handle(f.c, "a", probe_handler, &p, NULL), CHORE_OK);
    int64_t id, other;
    assert_int_equal(chore_enqueue(f.c, "a", NULL, NULL, &id), CHORE_OK);
    chore_enqueue_opts later = {.delay_ms = 1000000};
    assert_int_equal(chore_enqueue(f.c, "a", NULL, &later, &other), CHORE_OK);
    assert_int_equal(chore_start(f.c), CHORE_OK);
    fixture_idle(&f);
    assert_int_equal(fixture_state(&f, id), CHORE_DISCARDED);
    pthread_mutex_lock(&p.mu);
    p.fallback = CHORE_OK;
    pthread_mutex_unlock(&p.mu);
    assert_int_equal(chore_job_retry(f.c, id), CHORE_OK);
    fixture_idle(&f);
    assert_int_equal(fixture_state(&f, id), CHORE_COMPLETED);
    assert_int_equal(chore_job_cancel(f.c, id), CHORE_ESTATE);
    assert_int_equal(chore_job_cancel(f.c, other), CHORE_OK);
    assert_int_equal(fixture_state(&f, other), CHORE_CANCELLED);
    assert_int_equal(chore_job_requeue(f.c, other), CHORE_OK);
    fixture_idle(&f);
    chore_job_info *info = get(&f, other);
    assert_int_equal(info->state, CHORE_COMPLETED);
    assert_int_equal(info->attempt, 1);
    chore_job_info_free(info);
    assert_int_equal(chore_job_delete(f.c, other), CHORE_OK);
    assert_int_equal(chore_job_delete(f.c, other), CHORE_ENOTFOUND);
    assert_int_equal(chore_job_retry(f.c, 0), CHORE_EINVAL);
    chore_job_info *items = NULL;
    size_t n = 0;
    int64_t cursor = -1;
    chore_list_query q = {.state = CHORE_COMPLETED, .limit = 10};
    assert_int_equal(chore_job_list(f.c, &q, &items, &n, &cursor), CHORE_OK);
    assert_int_equal(n, 1);
    assert_int_equal(items[0].id, id);
    assert_int_equal(cursor, 0);
    chore_job_list_free(items, n);
    fixture_close(&f);
    probe_destroy(&p);
}

static void enqueue_in_the_callers_transaction(void **state)
{
    (void)state;
    fixture f;
    chore_config cfg = {.poll_interval_ms = 100};
    fixture_open(&f, &cfg);
    probe p;
    probe_init(&p, CHORE_OK);
    assert_int_equal(chore_handle(f.c, "tx", probe_handler, &p, NULL), CHORE_OK);
    assert_int_equal(chore_start(f.c), CHORE_OK);
    /* the caller's own connection: a sqlite3 * or a PGconn * */
    fixture_db *db = fixture_db_open(&f);
    int64_t kept, dropped;
    fixture_db_begin(db);
    assert_int_equal(chore_enqueue_tx(f.c, fixture_db_native(db), "tx", "{\"k\":1}", NULL,
                                      &dropped),
                     CHORE_OK);
    fixture_db_exec(db, "ROLLBACK");
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM chore_jobs WHERE id = %lld",
             (long long)dropped);
    assert_int_equal(fixture_db_int(db, sql), 0); /* rolled back with the caller's work */
    fixture_db_begin(db);
    assert_int_equal(chore_enqueue_tx(f.c, fixture_db_native(db), "tx", "{\"k\":2}", NULL, &kept),
                     CHORE_OK);
    assert_int_equal(chore_enqueue_tx(f.c, fixture_db_native(db), "tx", "nope", NULL, &kept),
                     CHORE_EJSON);
    fixture_db_exec(db, "COMMIT");
    fixture_db_close(db);
    fixture_advance(&f, 100); /* the next poll notices the commit */
    assert_int_equal(probe_calls(&p), 1);
    assert_int_equal(p.ids[0], kept);
    assert_int_equal(fixture_state(&f, kept), CHORE_COMPLETED);
    int64_t counts[CHORE_STATE_COUNT];
    assert_int_equal(chore_count_by_state(f.c, counts), CHORE_OK);
    assert_int_equal(counts[CHORE_COMPLETED], 1);
    assert_int_equal(counts[CHORE_AVAILABLE] + counts[CHORE_SCHEDULED], 0);
    fixture_close(&f);
    probe_destroy(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(expired_leases_are_rescued_and_stale_tokens_refused),
        cmocka_unit_test(heartbeats_keep_a_long_job_leased),
        cmocka_unit_test(a_timed_out_attempt_loses_its_lease),
        cmocka_unit_test(deferred_jobs_complete_fail_or_time_out),
        cmocka_unit_test(graceful_stop_lets_handlers_finish),
        cmocka_unit_test(stop_after_grace_gives_running_jobs_back),
        cmocka_unit_test(jobs_due_soon_are_held_until_their_time),
        cmocka_unit_test(final_jobs_are_pruned_after_retention),
        cmocka_unit_test(admin_calls_change_states),
        cmocka_unit_test(enqueue_in_the_callers_transaction),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
