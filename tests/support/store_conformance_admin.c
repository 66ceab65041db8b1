/*
 * store_conformance_admin.c — the maintenance and inspection part of the
 * store conformance suite: rescue of expired leases and deadlines, prune,
 * next_run_at, get and list (paging, filters, limits), the admin
 * operations and count_by_state, and persistence (reopen, change counter,
 * bad arguments). Written only against store_ops, like
 * store_conformance.c, which runs these tests after the job life-cycle
 * ones, in the order of store_conformance_admin_tests.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store_conformance_internal.h"

/* ---------------------------------------------------------------- rescue, prune */

static void test_rescue_expired_lease(void **state)
{
    fx *f = *state;
    int64_t id = sc_enq(f, "r", 0, T0);
    int64_t other = sc_enq(f, "r", 0, T0);
    int64_t token = sc_claim_one(f, id, T0);
    int64_t rescued = -1;
    assert_int_equal(f->ops->rescue(f->s, T0 + LEASE - 1, &rescued), CHORE_OK);
    assert_int_equal(rescued, 0);
    assert_int_equal(f->ops->rescue(f->s, T0 + LEASE, &rescued), CHORE_OK);
    assert_int_equal(rescued, 1);
    chore_job_info *info = sc_get(f, id);
    assert_int_equal(info->state, CHORE_AVAILABLE);
    assert_int_equal(info->run_at_ms, T0 + LEASE);
    assert_int_equal(info->lease_until_ms, 0);
    assert_int_equal(info->attempt, 1);
    assert_int_equal(info->n_errors, 1);
    assert_int_equal(info->errors[0].attempt, 1);
    assert_int_equal(info->errors[0].at_ms, T0 + LEASE);
    assert_string_equal(info->errors[0].error, "lease expired");
    chore_job_info_free(info);
    assert_int_equal(sc_state_of(f, other), CHORE_AVAILABLE);
    assert_false(sc_finish1(f, id, token, STORE_COMPLETE, 0, NULL, T0 + LEASE));
    assert_int_equal(f->ops->rescue(f->s, T0 + LEASE, &rescued), CHORE_OK);
    assert_int_equal(rescued, 0);
}

static void test_rescue_discards_when_attempts_used(void **state)
{
    fx *f = *state;
    store_new_job j = sc_job_of("r");
    j.max_attempts = 2;
    int64_t id = sc_enq_job(f, &j);
    sc_claim_one(f, id, T0);
    int64_t rescued;
    assert_int_equal(f->ops->rescue(f->s, T0 + LEASE, &rescued), CHORE_OK);
    assert_int_equal(rescued, 1);
    assert_int_equal(sc_state_of(f, id), CHORE_AVAILABLE);
    sc_claim_one(f, id, T0 + LEASE);
    assert_int_equal(f->ops->rescue(f->s, T0 + 2 * LEASE, &rescued), CHORE_OK);
    assert_int_equal(rescued, 1);
    chore_job_info *info = sc_get(f, id);
    assert_int_equal(info->state, CHORE_DISCARDED);
    assert_int_equal(info->finished_at_ms, T0 + 2 * LEASE);
    assert_int_equal(info->attempt, 2);
    assert_int_equal(info->n_errors, 2);
    assert_string_equal(info->errors[1].error, "lease expired");
    chore_job_info_free(info);
}

static void test_rescue_suspended_deadline(void **state)
{
    fx *f = *state;
    int64_t id = sc_enq(f, "r", 0, T0);
    int64_t token = sc_claim_one(f, id, T0);
    assert_true(sc_finish1(f, id, token, STORE_SUSPEND, T0 + LEASE * 10, NULL, T0 + 1));
    int64_t rescued;
    /* The lease no longer matters, the deadline does. */
    assert_int_equal(f->ops->rescue(f->s, T0 + LEASE * 10 - 1, &rescued), CHORE_OK);
    assert_int_equal(rescued, 0);
    assert_int_equal(f->ops->rescue(f->s, T0 + LEASE * 10, &rescued), CHORE_OK);
    assert_int_equal(rescued, 1);
    chore_job_info *info = sc_get(f, id);
    assert_int_equal(info->state, CHORE_AVAILABLE);
    assert_int_equal(info->lease_until_ms, 0);
    assert_int_equal(info->n_errors, 1);
    assert_string_equal(info->errors[0].error, "deferred deadline passed");
    chore_job_info_free(info);
    assert_false(sc_finish1(f, id, token, STORE_COMPLETE, 0, NULL, T0 + LEASE * 10));
}

static void test_prune(void **state)
{
    fx *f = *state;
    int64_t c = sc_final_job(f, "p", CHORE_COMPLETED, T0);
    int64_t d = sc_final_job(f, "p", CHORE_DISCARDED, T0 + 10);
    int64_t x = sc_final_job(f, "p", CHORE_CANCELLED, T0 + 20);
    int64_t edge = sc_final_job(f, "p", CHORE_COMPLETED, T0 + 50);
    int64_t young = sc_final_job(f, "p", CHORE_COMPLETED, T0 + 100);
    int64_t avail = sc_enq(f, "p", 0, T0);
    int64_t sched = sc_enq(f, "p", 0, T0 + 999999);
    int64_t run = sc_enq(f, "p", 9, T0);
    sc_claim_one(f, avail, T0); /* avail is claimed: priority 0 < 9 */
    int64_t pruned = -1;
    assert_int_equal(f->ops->prune(f->s, T0 + 50, &pruned), CHORE_OK);
    assert_int_equal(pruned, 3);
    chore_job_info *info = NULL;
    assert_int_equal(f->ops->get(f->s, c, &info), CHORE_ENOTFOUND);
    assert_null(info);
    assert_int_equal(f->ops->get(f->s, d, &info), CHORE_ENOTFOUND);
    assert_int_equal(f->ops->get(f->s, x, &info), CHORE_ENOTFOUND);
    assert_int_equal(sc_state_of(f, edge), CHORE_COMPLETED);
    assert_int_equal(sc_state_of(f, young), CHORE_COMPLETED);
    assert_int_equal(sc_state_of(f, avail), CHORE_RUNNING);
    assert_int_equal(sc_state_of(f, sched), CHORE_SCHEDULED);
    assert_int_equal(sc_state_of(f, run), CHORE_AVAILABLE);
    assert_int_equal(f->ops->prune(f->s, INT64_MAX, &pruned), CHORE_OK);
    assert_int_equal(pruned, 2);
    int64_t counts[CHORE_STATE_COUNT];
    assert_int_equal(f->ops->count_by_state(f->s, counts), CHORE_OK);
    assert_int_equal(counts[CHORE_COMPLETED], 0);
    assert_int_equal(counts[CHORE_RUNNING] + counts[CHORE_SCHEDULED] + counts[CHORE_AVAILABLE], 3);
}

static void test_next_run_at(void **state)
{
    fx *f = *state;
    int64_t next = 0;
    assert_int_equal(f->ops->next_run_at(f->s, &next), CHORE_OK);
    assert_int_equal(next, INT64_MAX);
    sc_enq(f, "n", 0, T0); /* available: not counted */
    assert_int_equal(f->ops->next_run_at(f->s, &next), CHORE_OK);
    assert_int_equal(next, INT64_MAX);
    sc_enq(f, "n", 0, T0 + 500);
    int64_t soon = sc_enq(f, "n", 0, T0 + 300);
    assert_int_equal(f->ops->next_run_at(f->s, &next), CHORE_OK);
    assert_int_equal(next, T0 + 300);
    int64_t token = sc_claim_one(f, sc_enq(f, "n", -1, T0), T0);
    (void)token;
    size_t n;
    store_claimed *got = sc_claim_n(f, 10, T0 + 300, &n); /* promotes and claims `soon` */
    assert_int_equal(n, 2);
    assert_true(got[0].id == soon || got[1].id == soon);
    store_claimed_free(got, n);
    assert_int_equal(f->ops->next_run_at(f->s, &next), CHORE_OK);
    assert_int_equal(next, T0 + 500);
}

/* ---------------------------------------------------------------- get, list */

static void test_get_not_found(void **state)
{
    fx *f = *state;
    chore_job_info *info = (chore_job_info *)&info;
    assert_int_equal(f->ops->get(f->s, 424242, &info), CHORE_ENOTFOUND);
    assert_null(info);
}

static void test_list_paging(void **state)
{
    fx *f = *state;
    int64_t ids[25];
    for (int i = 0; i < 25; i++)
        ids[i] = sc_enq(f, i % 2 ? "odd" : "even", 0, T0);
    chore_list_query q = {.any_state = true, .limit = 10};
    chore_job_info *items;
    size_t n;
    int64_t cursor = -1;
    int seen = 0;
    for (int page = 0; page < 3; page++) {
        assert_int_equal(f->ops->list(f->s, &q, &items, &n, &cursor), CHORE_OK);
        assert_int_equal(n, page < 2 ? 10 : 5);
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(items[i].id, ids[24 - seen]);
            assert_non_null(items[i].name);
            assert_int_equal(items[i].n_errors, 0);
            seen++;
        }
        assert_int_equal(cursor, page < 2 ? items[n - 1].id : 0);
        chore_job_list_free(items, n);
        q.before_id = cursor;
    }
    assert_int_equal(seen, 25);

    /* Filters: by state and by name. */
    size_t cn;
    store_claimed *got = sc_claim_n(f, 3, T0, &cn);
    store_claimed_free(got, cn);
    chore_list_query qs = {.state = CHORE_RUNNING};
    assert_int_equal(f->ops->list(f->s, &qs, &items, &n, &cursor), CHORE_OK);
    assert_int_equal(n, 3);
    assert_int_equal(cursor, 0);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(items[i].state, CHORE_RUNNING);
    assert_int_equal(items[0].id, ids[2]);
    chore_job_list_free(items, n);
    chore_list_query qn = {.state = -1, .name = "odd"};
    assert_int_equal(f->ops->list(f->s, &qn, &items, &n, &cursor), CHORE_OK);
    assert_int_equal(n, 12);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(items[i].name, "odd");
    chore_job_list_free(items, n);
    chore_list_query qsn = {.state = CHORE_AVAILABLE, .name = "even"};
    assert_int_equal(f->ops->list(f->s, &qsn, &items, &n, &cursor), CHORE_OK);
    assert_int_equal(n, 11);
    chore_job_list_free(items, n);
    chore_list_query qnone = {.state = CHORE_DISCARDED};
    assert_int_equal(f->ops->list(f->s, &qnone, &items, &n, &cursor), CHORE_OK);
    assert_int_equal(n, 0);
    assert_int_equal(cursor, 0);
}

static void test_list_limits(void **state)
{
    fx *f = *state;
    store_new_job jobs[150];
    int64_t ids[150];
    for (int i = 0; i < 150; i++)
        jobs[i] = sc_job_of("l");
    assert_int_equal(f->ops->enqueue(f->s, jobs, 150, T0, ids, NULL), CHORE_OK);
    chore_list_query q = {.any_state = true}; /* limit 0: default 100 */
    chore_job_info *items;
    size_t n;
    int64_t cursor;
    assert_int_equal(f->ops->list(f->s, &q, &items, &n, &cursor), CHORE_OK);
    assert_int_equal(n, 100);
    assert_int_equal(cursor, ids[50]);
    chore_job_list_free(items, n);
    /* An exactly full last page says no page follows; one job short of
     * the end, it does. */
    q.limit = 50;
    q.before_id = ids[50];
    assert_int_equal(f->ops->list(f->s, &q, &items, &n, &cursor), CHORE_OK);
    assert_int_equal(n, 50);
    assert_int_equal(items[49].id, ids[0]);
    assert_int_equal(cursor, 0);
    chore_job_list_free(items, n);
    q.before_id = ids[51];
    assert_int_equal(f->ops->list(f->s, &q, &items, &n, &cursor), CHORE_OK);
    assert_int_equal(n, 50);
    assert_int_equal(cursor, ids[1]);
    chore_job_list_free(items, n);
    q.before_id = ids[1];
    assert_int_equal(f->ops->list(f->s, &q, &items, &n, &cursor), CHORE_OK);
    assert_int_equal(n, 1);
    assert_int_equal(items[0].id, ids[0]);
    assert_int_equal(cursor, 0);
    chore_job_list_free(items, n);
    q.before_id = ids[0];
    assert_int_equal(f->ops->list(f->s, &q, &items, &n, &cursor), CHORE_OK);
    assert_int_equal(n, 0);
    assert_null(items);
    assert_int_equal(cursor, 0);
    q.limit = 20000; /* capped at 10000 */
    q.before_id = 0;
    assert_int_equal(f->ops->list(f->s, &q, &items, &n, &cursor), CHORE_OK);
    assert_int_equal(n, 150);
    assert_int_equal(cursor, 0);
    chore_job_list_free(items, n);
}

/* ---------------------------------------------------------------- admin */

/* One job in each state; returns ids by state. Suspended's deadline is far. */
static void jobs_in_every_state(fx *f, int64_t ids[CHORE_STATE_COUNT])
{
    store_new_job j = sc_job_of("adm");
    j.max_attempts = 1;
    ids[CHORE_RUNNING] = sc_enq_job(f, &j);
    int64_t t = sc_claim_one(f, ids[CHORE_RUNNING], T0);
    (void)t;
    ids[CHORE_SUSPENDED] = sc_enq_job(f, &j);
    t = sc_claim_one(f, ids[CHORE_SUSPENDED], T0);
    assert_true(sc_finish1(f, ids[CHORE_SUSPENDED], t, STORE_SUSPEND, T0 + 99999, NULL, T0));
    ids[CHORE_COMPLETED] = sc_final_job(f, "adm", CHORE_COMPLETED, T0);
    ids[CHORE_DISCARDED] = sc_enq_job(f, &j);
    t = sc_claim_one(f, ids[CHORE_DISCARDED], T0);
    assert_true(sc_finish1(f, ids[CHORE_DISCARDED], t, STORE_DISCARD, 0, "gone", T0));
    ids[CHORE_CANCELLED] = sc_final_job(f, "adm", CHORE_CANCELLED, T0);
    ids[CHORE_AVAILABLE] = sc_enq(f, "adm", 0, T0);
    ids[CHORE_SCHEDULED] = sc_enq(f, "adm", 0, T0 + 99999);
    for (int s = 0; s < CHORE_STATE_COUNT; s++)
        assert_int_equal(sc_state_of(f, ids[s]), s);
}

static void check_admin(fx *f, store_admin_op op, const bool allowed[CHORE_STATE_COUNT])
{
    int64_t ids[CHORE_STATE_COUNT];
    jobs_in_every_state(f, ids);
    for (int s = 0; s < CHORE_STATE_COUNT; s++) {
        int rc = f->ops->admin(f->s, op, ids[s], T0 + 1000);
        if (!allowed[s]) {
            assert_int_equal(rc, CHORE_ESTATE);
            assert_int_equal(sc_state_of(f, ids[s]), s); /* unchanged */
        } else {
            assert_int_equal(rc, CHORE_OK);
        }
    }
    assert_int_equal(f->ops->admin(f->s, op, 424242, T0), CHORE_ENOTFOUND);
}

static void test_admin_retry(void **state)
{
    fx *f = *state;
    const bool allowed[CHORE_STATE_COUNT] = {true, false, false, false, true, true, true};
    check_admin(f, STORE_ADMIN_RETRY, allowed);
    /* A discarded job keeps its history and gets one more attempt. */
    store_new_job j = sc_job_of("rt");
    j.max_attempts = 1;
    j.priority = -10; /* before the jobs check_admin made available */
    int64_t id = sc_enq_job(f, &j);
    int64_t t = sc_claim_one(f, id, T0);
    assert_true(sc_finish1(f, id, t, STORE_DISCARD, 0, "first", T0 + 1));
    assert_int_equal(f->ops->admin(f->s, STORE_ADMIN_RETRY, id, T0 + 2000), CHORE_OK);
    chore_job_info *info = sc_get(f, id);
    assert_int_equal(info->state, CHORE_AVAILABLE);
    assert_int_equal(info->run_at_ms, T0 + 2000);
    assert_int_equal(info->finished_at_ms, 0);
    assert_int_equal(info->attempt, 1);
    assert_int_equal(info->max_attempts, 2);
    assert_int_equal(info->n_errors, 1);
    chore_job_info_free(info);
    t = sc_claim_one(f, id, T0 + 2000);
    info = sc_get(f, id);
    assert_int_equal(info->attempt, 2);
    chore_job_info_free(info);
}

static void test_admin_cancel(void **state)
{
    fx *f = *state;
    const bool allowed[CHORE_STATE_COUNT] = {true, true, true, true, false, false, false};
    check_admin(f, STORE_ADMIN_CANCEL, allowed);
    int64_t id = sc_enq(f, "c", 0, T0);
    int64_t token = sc_claim_one(f, id, T0);
    assert_int_equal(f->ops->admin(f->s, STORE_ADMIN_CANCEL, id, T0 + 5), CHORE_OK);
    assert_false(sc_finish1(f, id, token, STORE_COMPLETE, 0, NULL, T0 + 6));
    store_lease l = {id, token};
    bool applied = true;
    assert_int_equal(f->ops->heartbeat(f->s, &l, 1, T0 + 6, 1000, &applied), CHORE_OK);
    assert_false(applied);
    chore_job_info *info = sc_get(f, id);
    assert_int_equal(info->state, CHORE_CANCELLED);
    assert_int_equal(info->finished_at_ms, T0 + 5);
    assert_int_equal(info->lease_until_ms, 0);
    chore_job_info_free(info);
    /* A cancelled running job is not rescued. */
    int64_t rescued;
    assert_int_equal(f->ops->rescue(f->s, T0 + LEASE * 100, &rescued), CHORE_OK);
    assert_int_equal(sc_state_of(f, id), CHORE_CANCELLED);
}

static void test_admin_requeue(void **state)
{
    fx *f = *state;
    const bool allowed[CHORE_STATE_COUNT] = {true, true, false, true, true, true, true};
    check_admin(f, STORE_ADMIN_REQUEUE, allowed);
    int64_t id = sc_enq(f, "q", 0, T0);
    int64_t t = sc_claim_one(f, id, T0);
    assert_true(sc_finish1(f, id, t, STORE_DISCARD, 0, "bad", T0 + 1));
    assert_int_equal(f->ops->admin(f->s, STORE_ADMIN_REQUEUE, id, T0 + 50), CHORE_OK);
    chore_job_info *info = sc_get(f, id);
    assert_int_equal(info->state, CHORE_AVAILABLE);
    assert_int_equal(info->attempt, 0);
    assert_int_equal(info->n_errors, 0);
    assert_int_equal(info->finished_at_ms, 0);
    assert_int_equal(info->run_at_ms, T0 + 50);
    chore_job_info_free(info);
    /* A requeued suspended job refuses its old token. */
    int64_t susp = sc_enq(f, "q", 0, T0);
    t = sc_claim_one(f, susp, T0);
    assert_true(sc_finish1(f, susp, t, STORE_SUSPEND, T0 + 99999, NULL, T0));
    assert_int_equal(f->ops->admin(f->s, STORE_ADMIN_REQUEUE, susp, T0 + 60), CHORE_OK);
    assert_false(sc_finish1(f, susp, t, STORE_COMPLETE, 0, NULL, T0 + 61));
    assert_int_equal(sc_state_of(f, susp), CHORE_AVAILABLE);
}

static void test_admin_delete(void **state)
{
    fx *f = *state;
    const bool allowed[CHORE_STATE_COUNT] = {true, true, false, true, true, true, true};
    int64_t ids[CHORE_STATE_COUNT];
    jobs_in_every_state(f, ids);
    for (int s = 0; s < CHORE_STATE_COUNT; s++) {
        int rc = f->ops->admin(f->s, STORE_ADMIN_DELETE, ids[s], T0);
        assert_int_equal(rc, allowed[s] ? CHORE_OK : CHORE_ESTATE);
        chore_job_info *info = NULL;
        rc = f->ops->get(f->s, ids[s], &info);
        assert_int_equal(rc, allowed[s] ? CHORE_ENOTFOUND : CHORE_OK);
        chore_job_info_free(info);
        if (allowed[s])
            assert_int_equal(f->ops->admin(f->s, STORE_ADMIN_DELETE, ids[s], T0), CHORE_ENOTFOUND);
    }
    assert_int_equal(f->ops->admin(f->s, STORE_ADMIN_DELETE, 424242, T0), CHORE_ENOTFOUND);
}

static void test_count_by_state(void **state)
{
    fx *f = *state;
    int64_t counts[CHORE_STATE_COUNT];
    assert_int_equal(f->ops->count_by_state(f->s, counts), CHORE_OK);
    for (int s = 0; s < CHORE_STATE_COUNT; s++)
        assert_int_equal(counts[s], 0);
    int64_t ids[CHORE_STATE_COUNT];
    jobs_in_every_state(f, ids);
    sc_enq(f, "more", 0, T0 + 5);
    sc_enq(f, "more", 0, T0 + 5);
    assert_int_equal(f->ops->count_by_state(f->s, counts), CHORE_OK);
    for (int s = 0; s < CHORE_STATE_COUNT; s++)
        assert_int_equal(counts[s], s == CHORE_SCHEDULED ? 3 : 1);
}

/* ---------------------------------------------------------------- persistence */

static void test_reopen_keeps_jobs(void **state)
{
    fx *f = *state;
    int64_t id = sc_enq(f, "keep", 0, T0);
    f->ops->close(f->s);
    f->s = NULL;
    char err[256];
    assert_int_equal(f->ops->open(&f->s, f->loc, CHORE_DURABLE_FULL, err, sizeof err), CHORE_OK);
    assert_int_equal(sc_state_of(f, id), CHORE_AVAILABLE);
    /* Ids are never reused, even after the newest job is deleted. */
    assert_int_equal(f->ops->admin(f->s, STORE_ADMIN_DELETE, id, T0), CHORE_OK);
    assert_true(sc_enq(f, "keep", 0, T0) > id);
}

static void test_change_counter(void **state)
{
    fx *f = *state;
    store *other = NULL;
    char err[256];
    assert_int_equal(f->ops->open(&other, f->loc, CHORE_DURABLE_PROCESS, err, sizeof err),
                     CHORE_OK);
    int64_t before = 0, same = 0, after = 0;
    assert_int_equal(f->ops->change_counter(f->s, &before), CHORE_OK);
    assert_int_equal(f->ops->change_counter(f->s, &same), CHORE_OK);
    assert_int_equal(before, same);
    store_new_job j = sc_job_of("cc");
    int64_t id;
    assert_int_equal(f->ops->enqueue(other, &j, 1, T0, &id, NULL), CHORE_OK);
    assert_int_equal(f->ops->change_counter(f->s, &after), CHORE_OK);
    assert_true(after != before);
    assert_int_equal(sc_state_of(f, id), CHORE_AVAILABLE);
    f->ops->close(other);
}

static void test_bad_arguments(void **state)
{
    fx *f = *state;
    store_new_job j = sc_job_of(NULL);
    int64_t id;
    assert_int_equal(f->ops->enqueue(f->s, &j, 1, T0, &id, NULL), CHORE_EINVAL);
    assert_non_null(f->ops->errmsg(f->s));
    chore_list_query q = {.state = 42};
    chore_job_info *items;
    size_t n;
    assert_int_equal(f->ops->list(f->s, &q, &items, &n, NULL), CHORE_EINVAL);
    /* Nothing was stored. */
    int64_t counts[CHORE_STATE_COUNT];
    assert_int_equal(f->ops->count_by_state(f->s, counts), CHORE_OK);
    assert_int_equal(counts[CHORE_AVAILABLE], 0);
    /* The empty calls succeed. */
    assert_int_equal(f->ops->enqueue(f->s, NULL, 0, T0, NULL, NULL), CHORE_OK);
    assert_int_equal(f->ops->finish(f->s, NULL, 0, T0, NULL), CHORE_OK);
    assert_int_equal(f->ops->heartbeat(f->s, NULL, 0, T0, 1, NULL), CHORE_OK);
}

const struct CMUnitTest store_conformance_admin_tests[] = {
    SC_TEST(test_rescue_expired_lease),
    SC_TEST(test_rescue_discards_when_attempts_used),
    SC_TEST(test_rescue_suspended_deadline),
    SC_TEST(test_prune),
    SC_TEST(test_next_run_at),
    SC_TEST(test_get_not_found),
    SC_TEST(test_list_paging),
    SC_TEST(test_list_limits),
    SC_TEST(test_admin_retry),
    SC_TEST(test_admin_cancel),
    SC_TEST(test_admin_requeue),
    SC_TEST(test_admin_delete),
    SC_TEST(test_count_by_state),
    SC_TEST(test_reopen_keeps_jobs),
    SC_TEST(test_change_counter),
    SC_TEST(test_bad_arguments),
};
const size_t store_conformance_admin_tests_count =
    sizeof store_conformance_admin_tests / sizeof store_conformance_admin_tests[0];
