/*
 * store_conformance_jobs.c — the job life-cycle part of the store
 * conformance suite: enqueue (single, bulk, unique keys), claim (order,
 * limits, filters, scheduled jobs, fencing tokens) and finish (every
 * outcome kind, stale tokens, heartbeats). Written only against store_ops,
 * like store_conformance.c, which runs these tests in the order of
 * store_conformance_jobs_tests.
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

/* ---------------------------------------------------------------- enqueue */

static void test_enqueue_single(void **state)
{
    fx *f = *state;
    store_new_job j = {.name = "mail",
                       .payload = "{\"to\":\"a@b\"}",
                       .queue = "q1",
                       .unique_key = "u1",
                       .priority = 3,
                       .max_attempts = 5,
                       .run_at_ms = T0 - 10,
                       .timeout_ms = 700};
    int64_t id = sc_enq_job(f, &j);
    chore_job_info *info = sc_get(f, id);
    assert_string_equal(info->name, "mail");
    assert_string_equal(info->payload, "{\"to\":\"a@b\"}");
    assert_string_equal(info->queue, "q1");
    assert_string_equal(info->unique_key, "u1");
    assert_int_equal(info->state, CHORE_AVAILABLE);
    assert_int_equal(info->priority, 3);
    assert_int_equal(info->max_attempts, 5);
    assert_int_equal(info->attempt, 0);
    assert_int_equal(info->timeout_ms, 700);
    assert_int_equal(info->created_at_ms, T0);
    assert_int_equal(info->run_at_ms, T0 - 10);
    assert_int_equal(info->attempted_at_ms, 0);
    assert_int_equal(info->finished_at_ms, 0);
    assert_int_equal(info->lease_until_ms, 0);
    assert_int_equal(info->n_errors, 0);
    chore_job_info_free(info);

    info = sc_get(f, sc_enq(f, "plain", 0, T0));
    assert_null(info->unique_key);
    chore_job_info_free(info);
}

static void test_enqueue_bulk(void **state)
{
    fx *f = *state;
    store_new_job jobs[5];
    for (int i = 0; i < 5; i++) {
        jobs[i] = sc_job_of("bulk");
        jobs[i].run_at_ms = T0 + (i - 2) * 1000; /* -2s, -1s, now, +1s, +2s */
    }
    int64_t ids[5];
    bool dup[5] = {true, true, true, true, true};
    assert_int_equal(f->ops->enqueue(f->s, jobs, 5, T0, ids, dup), CHORE_OK);
    for (int i = 0; i < 5; i++) {
        assert_false(dup[i]);
        if (i > 0)
            assert_true(ids[i] > ids[i - 1]);
        int expect = i <= 2 ? CHORE_AVAILABLE : CHORE_SCHEDULED;
        assert_int_equal(sc_state_of(f, ids[i]), expect);
    }
    /* A later enqueue gets a larger id. */
    assert_true(sc_enq(f, "later", 0, T0) > ids[4]);
}

static void test_unique_keys(void **state)
{
    fx *f = *state;
    store_new_job j = sc_job_of("u");
    j.unique_key = "k1";
    int64_t first = sc_enq_job(f, &j);

    int64_t id = 0;
    bool dup = false;
    assert_int_equal(f->ops->enqueue(f->s, &j, 1, T0, &id, &dup), CHORE_OK);
    assert_true(dup);
    assert_int_equal(id, first);

    /* Within one batch: the second k2 is the first k2. */
    store_new_job batch[3] = {sc_job_of("u"), sc_job_of("u"), sc_job_of("u")};
    batch[0].unique_key = "k2";
    batch[1].unique_key = "k2";
    batch[2].unique_key = "k3";
    int64_t ids[3];
    bool dups[3];
    assert_int_equal(f->ops->enqueue(f->s, batch, 3, T0, ids, dups), CHORE_OK);
    assert_false(dups[0]);
    assert_true(dups[1]);
    assert_false(dups[2]);
    assert_int_equal(ids[1], ids[0]);
    assert_true(ids[2] != ids[0]);

    int64_t counts[CHORE_STATE_COUNT];
    assert_int_equal(f->ops->count_by_state(f->s, counts), CHORE_OK);
    assert_int_equal(counts[CHORE_AVAILABLE], 3);

    /* Once the first is final, the key makes a new job. */
    int64_t token = sc_claim_one(f, first, T0);
    assert_true(sc_finish1(f, first, token, STORE_COMPLETE, 0, NULL, T0));
    assert_int_equal(f->ops->enqueue(f->s, &j, 1, T0, &id, &dup), CHORE_OK);
    assert_false(dup);
    assert_true(id > ids[2]);
    /* A cancelled job frees its key too. */
    assert_int_equal(f->ops->admin(f->s, STORE_ADMIN_CANCEL, ids[0], T0), CHORE_OK);
    assert_int_equal(f->ops->enqueue(f->s, &batch[0], 1, T0, &id, &dup), CHORE_OK);
    assert_false(dup);
    assert_true(id != ids[0]);
}

/* ---------------------------------------------------------------- claim */

static void test_claim_order(void **state)
{
    fx *f = *state;
    int64_t a = sc_enq(f, "o", 5, T0 - 100);
    int64_t b = sc_enq(f, "o", 1, T0);
    int64_t c = sc_enq(f, "o", 1, T0 - 50);
    int64_t d = sc_enq(f, "o", 1, T0 - 50);
    int64_t e = sc_enq(f, "o", -2, T0 + 10); /* scheduled: due only at T0+10 */
    size_t n = 0;
    store_claimed *got = sc_claim_n(f, 10, T0 + 10, &n);
    assert_int_equal(n, 5);
    int64_t expect[5] = {e, c, d, b, a};
    for (size_t i = 0; i < n; i++)
        assert_int_equal(got[i].id, expect[i]);
    store_claimed_free(got, n);
}

static void test_claim_order_one_by_one(void **state)
{
    fx *f = *state;
    int64_t a = sc_enq(f, "o", 5, T0 - 100);
    int64_t b = sc_enq(f, "o", 1, T0);
    int64_t c = sc_enq(f, "o", 1, T0 - 50);
    int64_t d = sc_enq(f, "o", 1, T0 - 50);
    int64_t expect[4] = {c, d, b, a};
    for (int i = 0; i < 4; i++)
        sc_claim_one(f, expect[i], T0);
    size_t n = 1;
    sc_claim_n(f, 1, T0, &n);
    assert_int_equal(n, 0);
}

static void test_claim_max_and_fields(void **state)
{
    fx *f = *state;
    store_new_job j = sc_job_of("m");
    j.queue = "qq";
    j.max_attempts = 4;
    j.timeout_ms = 1234;
    int64_t first = sc_enq_job(f, &j);
    for (int i = 1; i < 10; i++)
        sc_enq_job(f, &j);
    size_t n = 0;
    store_claimed *got = sc_claim_n(f, 3, T0 + 5, &n);
    assert_int_equal(n, 3);
    assert_int_equal(got[0].id, first);
    assert_string_equal(got[0].name, "m");
    assert_string_equal(got[0].queue, "qq");
    assert_string_equal(got[0].payload, "{\"n\":1}");
    assert_int_equal(got[0].attempt, 1);
    assert_int_equal(got[0].max_attempts, 4);
    assert_int_equal(got[0].timeout_ms, 1234);
    assert_int_equal(got[0].lease_until_ms, T0 + 5 + LEASE);
    chore_job_info *info = sc_get(f, got[0].id);
    assert_int_equal(info->state, CHORE_RUNNING);
    assert_int_equal(info->attempt, 1);
    assert_int_equal(info->attempted_at_ms, T0 + 5);
    assert_int_equal(info->lease_until_ms, T0 + 5 + LEASE);
    chore_job_info_free(info);
    store_claimed_free(got, n);

    got = sc_claim_n(f, 100, T0 + 5, &n);
    assert_int_equal(n, 7);
    store_claimed_free(got, n);
    got = sc_claim_n(f, 100, T0 + 5, &n);
    assert_int_equal(n, 0);
    /* max 0 claims nothing. */
    sc_enq_job(f, &j);
    got = sc_claim_n(f, 0, T0 + 5, &n);
    assert_int_equal(n, 0);
}

static void test_claim_filters(void **state)
{
    fx *f = *state;
    const char *names[3] = {"a", "b", "c"};
    const char *queues[2] = {"q1", "q2"};
    int64_t ids[3][2];
    for (int i = 0; i < 3; i++) {
        for (int k = 0; k < 2; k++) {
            store_new_job j = sc_job_of(names[i]);
            j.queue = queues[k];
            ids[i][k] = sc_enq_job(f, &j);
        }
    }
    store_claimed *got;
    size_t n;
    store_claim_req req = {.names = names, .n_names = 1, .max = 100, .lease_ms = LEASE};
    assert_int_equal(f->ops->claim(f->s, &req, T0, &got, &n), CHORE_OK);
    assert_int_equal(n, 2);
    assert_int_equal(got[0].id, ids[0][0]);
    assert_int_equal(got[1].id, ids[0][1]);
    store_claimed_free(got, n);

    store_claim_req req2 = {.names = names + 1,
                            .n_names = 2,
                            .queues = queues + 1,
                            .n_queues = 1,
                            .max = 100,
                            .lease_ms = LEASE};
    assert_int_equal(f->ops->claim(f->s, &req2, T0, &got, &n), CHORE_OK);
    assert_int_equal(n, 2);
    assert_int_equal(got[0].id, ids[1][1]);
    assert_int_equal(got[1].id, ids[2][1]);
    store_claimed_free(got, n);

    store_claim_req req3 = {.queues = queues, .n_queues = 1, .max = 100, .lease_ms = LEASE};
    assert_int_equal(f->ops->claim(f->s, &req3, T0, &got, &n), CHORE_OK);
    assert_int_equal(n, 2);
    assert_int_equal(got[0].id, ids[1][0]);
    assert_int_equal(got[1].id, ids[2][0]);
    store_claimed_free(got, n);

    /* A name nobody enqueued. */
    const char *none[1] = {"zzz"};
    store_claim_req req4 = {.names = none, .n_names = 1, .max = 100, .lease_ms = LEASE};
    sc_enq(f, "a", 0, T0);
    assert_int_equal(f->ops->claim(f->s, &req4, T0, &got, &n), CHORE_OK);
    assert_int_equal(n, 0);
}

static void test_scheduled_becomes_claimable(void **state)
{
    fx *f = *state;
    int64_t id = sc_enq(f, "later", 0, T0 + 1000);
    assert_int_equal(sc_state_of(f, id), CHORE_SCHEDULED);
    size_t n = 1;
    sc_claim_n(f, 10, T0 + 999, &n);
    assert_int_equal(n, 0);
    assert_int_equal(sc_state_of(f, id), CHORE_SCHEDULED);
    sc_claim_one(f, id, T0 + 1000);
    assert_int_equal(sc_state_of(f, id), CHORE_RUNNING);
}

/* Jobs due by the horizon are claimed after the due ones, to be held. */
static void test_claim_ahead_to_a_horizon(void **state)
{
    fx *f = *state;
    int64_t soon = sc_enq(f, "h", 0, T0 + 300);
    int64_t later = sc_enq(f, "h", 0, T0 + 900);
    int64_t due = sc_enq(f, "h", 5, T0); /* low priority, but due */
    store_claim_req req = {.max = 10, .lease_ms = LEASE, .horizon_ms = T0 + 500};
    const char *names[] = {"h"};
    for (int filtered = 0; filtered < 2; filtered++) {
        req.names = filtered ? names : NULL;
        req.n_names = filtered ? 1 : 0;
        store_claimed *got = NULL;
        size_t n = 0;
        assert_int_equal(f->ops->claim(f->s, &req, T0, &got, &n), CHORE_OK);
        assert_int_equal(n, 2);
        assert_int_equal(got[0].id, due);
        assert_int_equal(got[0].run_at_ms, T0);
        assert_int_equal(got[1].id, soon);
        assert_int_equal(got[1].run_at_ms, T0 + 300);
        assert_int_equal(sc_state_of(f, soon), CHORE_RUNNING);
        assert_int_equal(sc_state_of(f, later), CHORE_SCHEDULED);
        for (size_t i = 0; i < n; i++) /* given back: each to wait for its time again */
            assert_true(sc_finish1(f, got[i].id, got[i].token, STORE_RELEASE, 0, NULL, T0));
        assert_int_equal(sc_state_of(f, due), CHORE_AVAILABLE);
        assert_int_equal(sc_state_of(f, soon), CHORE_SCHEDULED);
        store_claimed_free(got, n);
    }
}

static void test_tokens_increase(void **state)
{
    fx *f = *state;
    int64_t id = sc_enq(f, "t", 0, T0);
    int64_t t1 = sc_claim_one(f, id, T0);
    assert_true(sc_finish1(f, id, t1, STORE_RELEASE, 0, NULL, T0));
    int64_t t2 = sc_claim_one(f, id, T0);
    assert_true(t2 > t1);
    int64_t rescued = 0;
    assert_int_equal(f->ops->rescue(f->s, T0 + LEASE, &rescued), CHORE_OK);
    assert_int_equal(rescued, 1);
    int64_t t3 = sc_claim_one(f, id, T0 + LEASE);
    assert_true(t3 > t2);
    /* The stale tokens are refused. */
    assert_false(sc_finish1(f, id, t1, STORE_COMPLETE, 0, NULL, T0));
    assert_false(sc_finish1(f, id, t2, STORE_COMPLETE, 0, NULL, T0));
    assert_true(sc_finish1(f, id, t3, STORE_COMPLETE, 0, NULL, T0));
}

/* ---------------------------------------------------------------- finish */

static void test_finish_complete(void **state)
{
    fx *f = *state;
    int64_t id = sc_enq(f, "f", 0, T0);
    int64_t token = sc_claim_one(f, id, T0);
    assert_true(sc_finish1(f, id, token, STORE_COMPLETE, 0, NULL, T0 + 7));
    chore_job_info *info = sc_get(f, id);
    assert_int_equal(info->state, CHORE_COMPLETED);
    assert_int_equal(info->finished_at_ms, T0 + 7);
    assert_int_equal(info->lease_until_ms, 0);
    assert_int_equal(info->attempt, 1);
    assert_int_equal(info->n_errors, 0);
    chore_job_info_free(info);
}

static void test_finish_retry(void **state)
{
    fx *f = *state;
    int64_t id = sc_enq(f, "f", 0, T0);
    int64_t token = sc_claim_one(f, id, T0);
    assert_true(sc_finish1(f, id, token, STORE_RETRY, T0 + 500, "boom", T0 + 1));
    chore_job_info *info = sc_get(f, id);
    assert_int_equal(info->state, CHORE_SCHEDULED);
    assert_int_equal(info->run_at_ms, T0 + 500);
    assert_int_equal(info->attempt, 1);
    assert_int_equal(info->lease_until_ms, 0);
    assert_int_equal(info->finished_at_ms, 0);
    assert_int_equal(info->n_errors, 1);
    assert_int_equal(info->errors[0].attempt, 1);
    assert_int_equal(info->errors[0].at_ms, T0 + 1);
    assert_string_equal(info->errors[0].error, "boom");
    chore_job_info_free(info);

    token = sc_claim_one(f, id, T0 + 500);
    /* Due already: available at once. Quotes survive the JSON. */
    assert_true(sc_finish1(f, id, token, STORE_RETRY, T0 + 500, "say \"no\"", T0 + 600));
    info = sc_get(f, id);
    assert_int_equal(info->state, CHORE_AVAILABLE);
    assert_int_equal(info->attempt, 2);
    assert_int_equal(info->n_errors, 2);
    assert_string_equal(info->errors[0].error, "boom");
    assert_int_equal(info->errors[1].attempt, 2);
    assert_int_equal(info->errors[1].at_ms, T0 + 600);
    assert_string_equal(info->errors[1].error, "say \"no\"");
    chore_job_info_free(info);

    /* A NULL error is recorded too. */
    token = sc_claim_one(f, id, T0 + 600);
    assert_true(sc_finish1(f, id, token, STORE_RETRY, T0 + 700, NULL, T0 + 650));
    info = sc_get(f, id);
    assert_int_equal(info->n_errors, 3);
    assert_non_null(info->errors[2].error);
    chore_job_info_free(info);
}

static void test_finish_discard(void **state)
{
    fx *f = *state;
    int64_t id = sc_enq(f, "f", 0, T0);
    int64_t token = sc_claim_one(f, id, T0);
    assert_true(sc_finish1(f, id, token, STORE_DISCARD, 0, "fatal", T0 + 3));
    chore_job_info *info = sc_get(f, id);
    assert_int_equal(info->state, CHORE_DISCARDED);
    assert_int_equal(info->finished_at_ms, T0 + 3);
    assert_int_equal(info->lease_until_ms, 0);
    assert_int_equal(info->n_errors, 1);
    assert_string_equal(info->errors[0].error, "fatal");
    chore_job_info_free(info);
}

static void test_finish_snooze(void **state)
{
    fx *f = *state;
    int64_t id = sc_enq(f, "f", 0, T0);
    int64_t token = sc_claim_one(f, id, T0);
    assert_true(sc_finish1(f, id, token, STORE_SNOOZE, T0 + 900, NULL, T0 + 1));
    chore_job_info *info = sc_get(f, id);
    assert_int_equal(info->state, CHORE_SCHEDULED);
    assert_int_equal(info->run_at_ms, T0 + 900);
    assert_int_equal(info->attempt, 0);
    assert_int_equal(info->n_errors, 0);
    assert_int_equal(info->lease_until_ms, 0);
    chore_job_info_free(info);
    sc_claim_one(f, id, T0 + 900);
    info = sc_get(f, id);
    assert_int_equal(info->attempt, 1);
    chore_job_info_free(info);
}

static void test_finish_suspend(void **state)
{
    fx *f = *state;
    int64_t id = sc_enq(f, "f", 0, T0);
    int64_t token = sc_claim_one(f, id, T0);
    assert_true(sc_finish1(f, id, token, STORE_SUSPEND, T0 + 5000, NULL, T0 + 1));
    chore_job_info *info = sc_get(f, id);
    assert_int_equal(info->state, CHORE_SUSPENDED);
    assert_int_equal(info->lease_until_ms, T0 + 5000);
    assert_int_equal(info->attempt, 1);
    chore_job_info_free(info);
    /* Only COMPLETE, RETRY, DISCARD apply to a suspended job. */
    assert_false(sc_finish1(f, id, token, STORE_SNOOZE, T0 + 10, NULL, T0 + 2));
    assert_false(sc_finish1(f, id, token, STORE_RELEASE, 0, NULL, T0 + 2));
    assert_false(sc_finish1(f, id, token, STORE_SUSPEND, T0 + 10, NULL, T0 + 2));
    assert_int_equal(sc_state_of(f, id), CHORE_SUSPENDED);
    assert_true(sc_finish1(f, id, token, STORE_COMPLETE, 0, NULL, T0 + 3));
    assert_int_equal(sc_state_of(f, id), CHORE_COMPLETED);

    int64_t id2 = sc_enq(f, "f", 0, T0);
    token = sc_claim_one(f, id2, T0);
    assert_true(sc_finish1(f, id2, token, STORE_SUSPEND, T0 + 5000, NULL, T0 + 1));
    assert_true(sc_finish1(f, id2, token, STORE_RETRY, T0 + 100, "external", T0 + 4));
    assert_int_equal(sc_state_of(f, id2), CHORE_SCHEDULED);

    int64_t id3 = sc_enq(f, "f", 0, T0);
    token = sc_claim_one(f, id3, T0);
    assert_true(sc_finish1(f, id3, token, STORE_SUSPEND, T0 + 5000, NULL, T0 + 1));
    assert_true(sc_finish1(f, id3, token, STORE_DISCARD, 0, "no", T0 + 4));
    assert_int_equal(sc_state_of(f, id3), CHORE_DISCARDED);
}

static void test_finish_release(void **state)
{
    fx *f = *state;
    int64_t id = sc_enq(f, "f", 0, T0);
    int64_t token = sc_claim_one(f, id, T0);
    assert_true(sc_finish1(f, id, token, STORE_RELEASE, 0, NULL, T0 + 1));
    chore_job_info *info = sc_get(f, id);
    assert_int_equal(info->state, CHORE_AVAILABLE);
    assert_int_equal(info->attempt, 0);
    assert_int_equal(info->lease_until_ms, 0);
    assert_true(info->run_at_ms <= T0 + 1);
    chore_job_info_free(info);
    sc_claim_one(f, id, T0 + 1);
}

/* Enqueue two jobs and claim both: their ids and tokens. */
static void claim_two(fx *f, int64_t *a, int64_t *ta, int64_t *b, int64_t *tb)
{
    *a = sc_enq(f, "f", 0, T0);
    *b = sc_enq(f, "f", 0, T0);
    size_t n;
    store_claimed *got = sc_claim_n(f, 2, T0, &n);
    assert_int_equal(n, 2);
    *ta = got[0].token;
    *tb = got[1].token;
    store_claimed_free(got, n);
}

static void test_finish_stale_token(void **state)
{
    fx *f = *state;
    int64_t a, ta, b, tb;
    claim_two(f, &a, &ta, &b, &tb);

    for (int k = STORE_COMPLETE; k <= STORE_RELEASE; k++)
        assert_false(sc_finish1(f, a, ta + 1, (store_outcome_kind)k, T0 + 100, "x", T0 + 1));
    chore_job_info *info = sc_get(f, a);
    assert_int_equal(info->state, CHORE_RUNNING);
    assert_int_equal(info->attempt, 1);
    assert_int_equal(info->n_errors, 0);
    assert_int_equal(info->lease_until_ms, T0 + LEASE);
    chore_job_info_free(info);

    /* One batch, one stale and one good outcome. */
    store_outcome outs[2] = {{.id = a, .token = ta - 1, .kind = STORE_COMPLETE},
                             {.id = b, .token = tb, .kind = STORE_COMPLETE}};
    bool applied[2] = {true, false};
    assert_int_equal(f->ops->finish(f->s, outs, 2, T0 + 2, applied), CHORE_OK);
    assert_false(applied[0]);
    assert_true(applied[1]);
    assert_int_equal(sc_state_of(f, a), CHORE_RUNNING);
    assert_int_equal(sc_state_of(f, b), CHORE_COMPLETED);
    /* A second completion of a finished job is refused; unknown ids too. */
    assert_false(sc_finish1(f, b, tb, STORE_COMPLETE, 0, NULL, T0 + 3));
    assert_false(sc_finish1(f, b, tb, STORE_RETRY, T0, "late", T0 + 3));
    assert_false(sc_finish1(f, 987654, 1, STORE_COMPLETE, 0, NULL, T0 + 3));
    info = sc_get(f, b);
    assert_int_equal(info->n_errors, 0);
    assert_int_equal(info->finished_at_ms, T0 + 2);
    chore_job_info_free(info);
}

/* Two outcomes for one attempt in one batch: the first applies, the second
 * meets a finished job and is refused, whatever their kinds. */
static void test_finish_one_job_twice_in_a_batch(void **state)
{
    fx *f = *state;
    int64_t a, ta, b, tb;
    claim_two(f, &a, &ta, &b, &tb);
    store_outcome outs[4] = {
        {.id = a, .token = ta, .kind = STORE_DISCARD, .error = "gone"},
        {.id = b, .token = tb, .kind = STORE_COMPLETE},
        {.id = a, .token = ta, .kind = STORE_COMPLETE},
        {.id = b, .token = tb, .kind = STORE_RETRY, .run_at_ms = T0 + 50, .error = "late"},
    };
    bool applied[4];
    assert_int_equal(f->ops->finish(f->s, outs, 4, T0 + 2, applied), CHORE_OK);
    assert_true(applied[0]);
    assert_true(applied[1]);
    assert_false(applied[2]);
    assert_false(applied[3]);
    assert_int_equal(sc_state_of(f, a), CHORE_DISCARDED);
    assert_int_equal(sc_state_of(f, b), CHORE_COMPLETED);
}

static void test_heartbeat(void **state)
{
    fx *f = *state;
    int64_t id = sc_enq(f, "h", 0, T0);
    int64_t token = sc_claim_one(f, id, T0);
    store_lease l[2] = {{id, token}, {id, token - 1}};
    bool applied[2] = {false, true};
    assert_int_equal(f->ops->heartbeat(f->s, l, 2, T0 + 500, 1000, applied), CHORE_OK);
    assert_true(applied[0]);
    assert_false(applied[1]);
    chore_job_info *info = sc_get(f, id);
    assert_int_equal(info->lease_until_ms, T0 + 1500);
    chore_job_info_free(info);

    /* A stale token alone changes nothing. */
    assert_int_equal(f->ops->heartbeat(f->s, &l[1], 1, T0 + 900, 99999, applied), CHORE_OK);
    assert_false(applied[0]);
    info = sc_get(f, id);
    assert_int_equal(info->lease_until_ms, T0 + 1500);
    chore_job_info_free(info);

    /* Not running any more: refused. */
    assert_true(sc_finish1(f, id, token, STORE_SUSPEND, T0 + 5000, NULL, T0 + 1));
    assert_int_equal(f->ops->heartbeat(f->s, l, 1, T0 + 900, 99999, applied), CHORE_OK);
    assert_false(applied[0]);
    info = sc_get(f, id);
    assert_int_equal(info->lease_until_ms, T0 + 5000);
    chore_job_info_free(info);
}

const struct CMUnitTest store_conformance_jobs_tests[] = {
    SC_TEST(test_enqueue_single),
    SC_TEST(test_enqueue_bulk),
    SC_TEST(test_unique_keys),
    SC_TEST(test_claim_order),
    SC_TEST(test_claim_order_one_by_one),
    SC_TEST(test_claim_max_and_fields),
    SC_TEST(test_claim_filters),
    SC_TEST(test_scheduled_becomes_claimable),
    SC_TEST(test_claim_ahead_to_a_horizon),
    SC_TEST(test_tokens_increase),
    SC_TEST(test_finish_complete),
    SC_TEST(test_finish_retry),
    SC_TEST(test_finish_discard),
    SC_TEST(test_finish_snooze),
    SC_TEST(test_finish_suspend),
    SC_TEST(test_finish_release),
    SC_TEST(test_finish_stale_token),
    SC_TEST(test_finish_one_job_twice_in_a_batch),
    SC_TEST(test_heartbeat),
};
const size_t store_conformance_jobs_tests_count =
    sizeof store_conformance_jobs_tests / sizeof store_conformance_jobs_tests[0];
