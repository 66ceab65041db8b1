/*
 * store_conformance.c — the conformance suite of the store interface.
 *
 * Written only against store_ops (never engine calls), so every backend
 * runs it unchanged: a backend's test program passes its ops and a
 * function that makes a fresh location. Times are fixed instants passed
 * in, as the runtime passes its clock's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store_conformance.h"

#define T0 1700000000000LL
#define LEASE 30000

/* The backend under test: set by the run functions, read by setup. */
static const store_ops *g_ops;
static store_location_fn g_new_location;

typedef struct fx {
    const store_ops *ops;
    store *s;
    char loc[600];
} fx;

static int fx_setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    f->ops = g_ops;
    g_new_location(f->loc, sizeof f->loc);
    char err[256];
    int rc = f->ops->open(&f->s, f->loc, CHORE_DURABLE_PROCESS, err, sizeof err);
    if (rc != CHORE_OK) {
        fprintf(stderr, "open %s: %d %s\n", f->loc, rc, err);
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    fx *f = *state;
    f->ops->close(f->s);
    free(f);
    return 0;
}

/* ---------------------------------------------------------------- helpers */

static store_new_job job_of(const char *name)
{
    store_new_job j = {.name = name, .payload = "{\"n\":1}", .queue = "default", .run_at_ms = T0};
    return j;
}

static int64_t enq_job(fx *f, const store_new_job *j)
{
    int64_t id = 0;
    bool dup = true;
    assert_int_equal(f->ops->enqueue(f->s, j, 1, T0, &id, &dup), CHORE_OK);
    assert_false(dup);
    assert_true(id > 0);
    return id;
}

static int64_t enq(fx *f, const char *name, int priority, int64_t run_at)
{
    store_new_job j = job_of(name);
    j.priority = priority;
    j.run_at_ms = run_at;
    return enq_job(f, &j);
}

static chore_job_info *get(fx *f, int64_t id)
{
    chore_job_info *info = NULL;
    assert_int_equal(f->ops->get(f->s, id, &info), CHORE_OK);
    assert_non_null(info);
    assert_int_equal(info->id, id);
    return info;
}

static int state_of(fx *f, int64_t id)
{
    chore_job_info *info = get(f, id);
    int state = (int)info->state;
    chore_job_info_free(info);
    return state;
}

static store_claimed *claim_n(fx *f, size_t max, int64_t now, size_t *n)
{
    store_claim_req req = {.max = max, .lease_ms = LEASE};
    store_claimed *out = NULL;
    assert_int_equal(f->ops->claim(f->s, &req, now, &out, n), CHORE_OK);
    if (*n == 0)
        assert_null(out);
    return out;
}

/* Claim exactly one job, expected to be `id`; returns its token. */
static int64_t claim_one(fx *f, int64_t id, int64_t now)
{
    size_t n = 0;
    store_claimed *c = claim_n(f, 1, now, &n);
    assert_int_equal(n, 1);
    assert_int_equal(c[0].id, id);
    int64_t token = c[0].token;
    store_claimed_free(c, n);
    return token;
}

static bool finish1(fx *f, int64_t id, int64_t token, store_outcome_kind kind, int64_t run_at,
                    const char *error, int64_t now)
{
    store_outcome o = {.id = id, .token = token, .kind = kind, .run_at_ms = run_at, .error = error};
    bool applied = false;
    assert_int_equal(f->ops->finish(f->s, &o, 1, now, &applied), CHORE_OK);
    return applied;
}

/* A job driven to a final state: completed, discarded or cancelled. */
static int64_t final_job(fx *f, const char *name, int state, int64_t finished_at)
{
    int64_t id = enq(f, name, 0, T0);
    if (state == CHORE_CANCELLED) {
        assert_int_equal(f->ops->admin(f->s, STORE_ADMIN_CANCEL, id, finished_at), CHORE_OK);
        return id;
    }
    int64_t token = claim_one(f, id, T0);
    store_outcome_kind kind = state == CHORE_COMPLETED ? STORE_COMPLETE : STORE_DISCARD;
    assert_true(finish1(f, id, token, kind, 0, "bad", finished_at));
    return id;
}

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
    int64_t id = enq_job(f, &j);
    chore_job_info *info = get(f, id);
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

    info = get(f, enq(f, "plain", 0, T0));
    assert_null(info->unique_key);
    chore_job_info_free(info);
}

static void test_enqueue_bulk(void **state)
{
    fx *f = *state;
    store_new_job jobs[5];
    for (int i = 0; i < 5; i++) {
        jobs[i] = job_of("bulk");
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
        assert_int_equal(state_of(f, ids[i]), expect);
    }
    /* A later enqueue gets a larger id. */
    assert_true(enq(f, "later", 0, T0) > ids[4]);
}

static void test_unique_keys(void **state)
{
    fx *f = *state;
    store_new_job j = job_of("u");
    j.unique_key = "k1";
    int64_t first = enq_job(f, &j);

    int64_t id = 0;
    bool dup = false;
    assert_int_equal(f->ops->enqueue(f->s, &j, 1, T0, &id, &dup), CHORE_OK);
    assert_true(dup);
    assert_int_equal(id, first);

    /* Within one batch: the second k2 is the first k2. */
    store_new_job batch[3] = {job_of("u"), job_of("u"), job_of("u")};
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
    int64_t token = claim_one(f, first, T0);
    assert_true(finish1(f, first, token, STORE_COMPLETE, 0, NULL, T0));
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
    int64_t a = enq(f, "o", 5, T0 - 100);
    int64_t b = enq(f, "o", 1, T0);
    int64_t c = enq(f, "o", 1, T0 - 50);
    int64_t d = enq(f, "o", 1, T0 - 50);
    int64_t e = enq(f, "o", -2, T0 + 10); /* scheduled: due only at T0+10 */
    size_t n = 0;
    store_claimed *got = claim_n(f, 10, T0 + 10, &n);
    assert_int_equal(n, 5);
    int64_t expect[5] = {e, c, d, b, a};
    for (size_t i = 0; i < n; i++)
        assert_int_equal(got[i].id, expect[i]);
    store_claimed_free(got, n);
}

static void test_claim_order_one_by_one(void **state)
{
    fx *f = *state;
    int64_t a = enq(f, "o", 5, T0 - 100);
    int64_t b = enq(f, "o", 1, T0);
    int64_t c = enq(f, "o", 1, T0 - 50);
    int64_t d = enq(f, "o", 1, T0 - 50);
    int64_t expect[4] = {c, d, b, a};
    for (int i = 0; i < 4; i++)
        claim_one(f, expect[i], T0);
    size_t n = 1;
    claim_n(f, 1, T0, &n);
    assert_int_equal(n, 0);
}

static void test_claim_max_and_fields(void **state)
{
    fx *f = *state;
    store_new_job j = job_of("m");
    j.queue = "qq";
    j.max_attempts = 4;
    j.timeout_ms = 1234;
    int64_t first = enq_job(f, &j);
    for (int i = 1; i < 10; i++)
        enq_job(f, &j);
    size_t n = 0;
    store_claimed *got = claim_n(f, 3, T0 + 5, &n);
    assert_int_equal(n, 3);
    assert_int_equal(got[0].id, first);
    assert_string_equal(got[0].name, "m");
    assert_string_equal(got[0].queue, "qq");
    assert_string_equal(got[0].payload, "{\"n\":1}");
    assert_int_equal(got[0].attempt, 1);
    assert_int_equal(got[0].max_attempts, 4);
    assert_int_equal(got[0].timeout_ms, 1234);
    assert_int_equal(got[0].lease_until_ms, T0 + 5 + LEASE);
    chore_job_info *info = get(f, got[0].id);
    assert_int_equal(info->state, CHORE_RUNNING);
    assert_int_equal(info->attempt, 1);
    assert_int_equal(info->attempted_at_ms, T0 + 5);
    assert_int_equal(info->lease_until_ms, T0 + 5 + LEASE);
    chore_job_info_free(info);
    store_claimed_free(got, n);

    got = claim_n(f, 100, T0 + 5, &n);
    assert_int_equal(n, 7);
    store_claimed_free(got, n);
    got = claim_n(f, 100, T0 + 5, &n);
    assert_int_equal(n, 0);
    /* max 0 claims nothing. */
    enq_job(f, &j);
    got = claim_n(f, 0, T0 + 5, &n);
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
            store_new_job j = job_of(names[i]);
            j.queue = queues[k];
            ids[i][k] = enq_job(f, &j);
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
    enq(f, "a", 0, T0);
    assert_int_equal(f->ops->claim(f->s, &req4, T0, &got, &n), CHORE_OK);
    assert_int_equal(n, 0);
}

static void test_scheduled_becomes_claimable(void **state)
{
    fx *f = *state;
    int64_t id = enq(f, "later", 0, T0 + 1000);
    assert_int_equal(state_of(f, id), CHORE_SCHEDULED);
    size_t n = 1;
    claim_n(f, 10, T0 + 999, &n);
    assert_int_equal(n, 0);
    assert_int_equal(state_of(f, id), CHORE_SCHEDULED);
    claim_one(f, id, T0 + 1000);
    assert_int_equal(state_of(f, id), CHORE_RUNNING);
}

static void test_tokens_increase(void **state)
{
    fx *f = *state;
    int64_t id = enq(f, "t", 0, T0);
    int64_t t1 = claim_one(f, id, T0);
    assert_true(finish1(f, id, t1, STORE_RELEASE, 0, NULL, T0));
    int64_t t2 = claim_one(f, id, T0);
    assert_true(t2 > t1);
    int64_t rescued = 0;
    assert_int_equal(f->ops->rescue(f->s, T0 + LEASE, &rescued), CHORE_OK);
    assert_int_equal(rescued, 1);
    int64_t t3 = claim_one(f, id, T0 + LEASE);
    assert_true(t3 > t2);
    /* The stale tokens are refused. */
    assert_false(finish1(f, id, t1, STORE_COMPLETE, 0, NULL, T0));
    assert_false(finish1(f, id, t2, STORE_COMPLETE, 0, NULL, T0));
    assert_true(finish1(f, id, t3, STORE_COMPLETE, 0, NULL, T0));
}

/* ---------------------------------------------------------------- finish */

static void test_finish_complete(void **state)
{
    fx *f = *state;
    int64_t id = enq(f, "f", 0, T0);
    int64_t token = claim_one(f, id, T0);
    assert_true(finish1(f, id, token, STORE_COMPLETE, 0, NULL, T0 + 7));
    chore_job_info *info = get(f, id);
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
    int64_t id = enq(f, "f", 0, T0);
    int64_t token = claim_one(f, id, T0);
    assert_true(finish1(f, id, token, STORE_RETRY, T0 + 500, "boom", T0 + 1));
    chore_job_info *info = get(f, id);
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

    token = claim_one(f, id, T0 + 500);
    /* Due already: available at once. Quotes survive the JSON. */
    assert_true(finish1(f, id, token, STORE_RETRY, T0 + 500, "say \"no\"", T0 + 600));
    info = get(f, id);
    assert_int_equal(info->state, CHORE_AVAILABLE);
    assert_int_equal(info->attempt, 2);
    assert_int_equal(info->n_errors, 2);
    assert_string_equal(info->errors[0].error, "boom");
    assert_int_equal(info->errors[1].attempt, 2);
    assert_int_equal(info->errors[1].at_ms, T0 + 600);
    assert_string_equal(info->errors[1].error, "say \"no\"");
    chore_job_info_free(info);

    /* A NULL error is recorded too. */
    token = claim_one(f, id, T0 + 600);
    assert_true(finish1(f, id, token, STORE_RETRY, T0 + 700, NULL, T0 + 650));
    info = get(f, id);
    assert_int_equal(info->n_errors, 3);
    assert_non_null(info->errors[2].error);
    chore_job_info_free(info);
}

static void test_finish_discard(void **state)
{
    fx *f = *state;
    int64_t id = enq(f, "f", 0, T0);
    int64_t token = claim_one(f, id, T0);
    assert_true(finish1(f, id, token, STORE_DISCARD, 0, "fatal", T0 + 3));
    chore_job_info *info = get(f, id);
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
    int64_t id = enq(f, "f", 0, T0);
    int64_t token = claim_one(f, id, T0);
    assert_true(finish1(f, id, token, STORE_SNOOZE, T0 + 900, NULL, T0 + 1));
    chore_job_info *info = get(f, id);
    assert_int_equal(info->state, CHORE_SCHEDULED);
    assert_int_equal(info->run_at_ms, T0 + 900);
    assert_int_equal(info->attempt, 0);
    assert_int_equal(info->n_errors, 0);
    assert_int_equal(info->lease_until_ms, 0);
    chore_job_info_free(info);
    claim_one(f, id, T0 + 900);
    info = get(f, id);
    assert_int_equal(info->attempt, 1);
    chore_job_info_free(info);
}

static void test_finish_suspend(void **state)
{
    fx *f = *state;
    int64_t id = enq(f, "f", 0, T0);
    int64_t token = claim_one(f, id, T0);
    assert_true(finish1(f, id, token, STORE_SUSPEND, T0 + 5000, NULL, T0 + 1));
    chore_job_info *info = get(f, id);
    assert_int_equal(info->state, CHORE_SUSPENDED);
    assert_int_equal(info->lease_until_ms, T0 + 5000);
    assert_int_equal(info->attempt, 1);
    chore_job_info_free(info);
    /* Only COMPLETE, RETRY, DISCARD apply to a suspended job. */
    assert_false(finish1(f, id, token, STORE_SNOOZE, T0 + 10, NULL, T0 + 2));
    assert_false(finish1(f, id, token, STORE_RELEASE, 0, NULL, T0 + 2));
    assert_false(finish1(f, id, token, STORE_SUSPEND, T0 + 10, NULL, T0 + 2));
    assert_int_equal(state_of(f, id), CHORE_SUSPENDED);
    assert_true(finish1(f, id, token, STORE_COMPLETE, 0, NULL, T0 + 3));
    assert_int_equal(state_of(f, id), CHORE_COMPLETED);

    int64_t id2 = enq(f, "f", 0, T0);
    token = claim_one(f, id2, T0);
    assert_true(finish1(f, id2, token, STORE_SUSPEND, T0 + 5000, NULL, T0 + 1));
    assert_true(finish1(f, id2, token, STORE_RETRY, T0 + 100, "external", T0 + 4));
    assert_int_equal(state_of(f, id2), CHORE_SCHEDULED);

    int64_t id3 = enq(f, "f", 0, T0);
    token = claim_one(f, id3, T0);
    assert_true(finish1(f, id3, token, STORE_SUSPEND, T0 + 5000, NULL, T0 + 1));
    assert_true(finish1(f, id3, token, STORE_DISCARD, 0, "no", T0 + 4));
    assert_int_equal(state_of(f, id3), CHORE_DISCARDED);
}

static void test_finish_release(void **state)
{
    fx *f = *state;
    int64_t id = enq(f, "f", 0, T0);
    int64_t token = claim_one(f, id, T0);
    assert_true(finish1(f, id, token, STORE_RELEASE, 0, NULL, T0 + 1));
    chore_job_info *info = get(f, id);
    assert_int_equal(info->state, CHORE_AVAILABLE);
    assert_int_equal(info->attempt, 0);
    assert_int_equal(info->lease_until_ms, 0);
    assert_true(info->run_at_ms <= T0 + 1);
    chore_job_info_free(info);
    claim_one(f, id, T0 + 1);
}

static void test_finish_stale_token(void **state)
{
    fx *f = *state;
    int64_t a = enq(f, "f", 0, T0);
    int64_t b = enq(f, "f", 0, T0);
    size_t n;
    store_claimed *got = claim_n(f, 2, T0, &n);
    assert_int_equal(n, 2);
    int64_t ta = got[0].token, tb = got[1].token;
    store_claimed_free(got, n);

    for (int k = STORE_COMPLETE; k <= STORE_RELEASE; k++)
        assert_false(finish1(f, a, ta + 1, (store_outcome_kind)k, T0 + 100, "x", T0 + 1));
    chore_job_info *info = get(f, a);
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
    assert_int_equal(state_of(f, a), CHORE_RUNNING);
    assert_int_equal(state_of(f, b), CHORE_COMPLETED);
    /* A second completion of a finished job is refused; unknown ids too. */
    assert_false(finish1(f, b, tb, STORE_COMPLETE, 0, NULL, T0 + 3));
    assert_false(finish1(f, b, tb, STORE_RETRY, T0, "late", T0 + 3));
    assert_false(finish1(f, 987654, 1, STORE_COMPLETE, 0, NULL, T0 + 3));
    info = get(f, b);
    assert_int_equal(info->n_errors, 0);
    assert_int_equal(info->finished_at_ms, T0 + 2);
    chore_job_info_free(info);
}

static void test_heartbeat(void **state)
{
    fx *f = *state;
    int64_t id = enq(f, "h", 0, T0);
    int64_t token = claim_one(f, id, T0);
    store_lease l[2] = {{id, token}, {id, token - 1}};
    bool applied[2] = {false, true};
    assert_int_equal(f->ops->heartbeat(f->s, l, 2, T0 + 500, 1000, applied), CHORE_OK);
    assert_true(applied[0]);
    assert_false(applied[1]);
    chore_job_info *info = get(f, id);
    assert_int_equal(info->lease_until_ms, T0 + 1500);
    chore_job_info_free(info);

    /* A stale token alone changes nothing. */
    assert_int_equal(f->ops->heartbeat(f->s, &l[1], 1, T0 + 900, 99999, applied), CHORE_OK);
    assert_false(applied[0]);
    info = get(f, id);
    assert_int_equal(info->lease_until_ms, T0 + 1500);
    chore_job_info_free(info);

    /* Not running any more: refused. */
    assert_true(finish1(f, id, token, STORE_SUSPEND, T0 + 5000, NULL, T0 + 1));
    assert_int_equal(f->ops->heartbeat(f->s, l, 1, T0 + 900, 99999, applied), CHORE_OK);
    assert_false(applied[0]);
    info = get(f, id);
    assert_int_equal(info->lease_until_ms, T0 + 5000);
    chore_job_info_free(info);
}

/* ---------------------------------------------------------------- rescue, prune */

static void test_rescue_expired_lease(void **state)
{
    fx *f = *state;
    int64_t id = enq(f, "r", 0, T0);
    int64_t other = enq(f, "r", 0, T0);
    int64_t token = claim_one(f, id, T0);
    int64_t rescued = -1;
    assert_int_equal(f->ops->rescue(f->s, T0 + LEASE - 1, &rescued), CHORE_OK);
    assert_int_equal(rescued, 0);
    assert_int_equal(f->ops->rescue(f->s, T0 + LEASE, &rescued), CHORE_OK);
    assert_int_equal(rescued, 1);
    chore_job_info *info = get(f, id);
    assert_int_equal(info->state, CHORE_AVAILABLE);
    assert_int_equal(info->run_at_ms, T0 + LEASE);
    assert_int_equal(info->lease_until_ms, 0);
    assert_int_equal(info->attempt, 1);
    assert_int_equal(info->n_errors, 1);
    assert_int_equal(info->errors[0].attempt, 1);
    assert_int_equal(info->errors[0].at_ms, T0 + LEASE);
    assert_string_equal(info->errors[0].error, "lease expired");
    chore_job_info_free(info);
    assert_int_equal(state_of(f, other), CHORE_AVAILABLE);
    assert_false(finish1(f, id, token, STORE_COMPLETE, 0, NULL, T0 + LEASE));
    assert_int_equal(f->ops->rescue(f->s, T0 + LEASE, &rescued), CHORE_OK);
    assert_int_equal(rescued, 0);
}

static void test_rescue_discards_when_attempts_used(void **state)
{
    fx *f = *state;
    store_new_job j = job_of("r");
    j.max_attempts = 2;
    int64_t id = enq_job(f, &j);
    claim_one(f, id, T0);
    int64_t rescued;
    assert_int_equal(f->ops->rescue(f->s, T0 + LEASE, &rescued), CHORE_OK);
    assert_int_equal(rescued, 1);
    assert_int_equal(state_of(f, id), CHORE_AVAILABLE);
    claim_one(f, id, T0 + LEASE);
    assert_int_equal(f->ops->rescue(f->s, T0 + 2 * LEASE, &rescued), CHORE_OK);
    assert_int_equal(rescued, 1);
    chore_job_info *info = get(f, id);
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
    int64_t id = enq(f, "r", 0, T0);
    int64_t token = claim_one(f, id, T0);
    assert_true(finish1(f, id, token, STORE_SUSPEND, T0 + LEASE * 10, NULL, T0 + 1));
    int64_t rescued;
    /* The lease no longer matters, the deadline does. */
    assert_int_equal(f->ops->rescue(f->s, T0 + LEASE * 10 - 1, &rescued), CHORE_OK);
    assert_int_equal(rescued, 0);
    assert_int_equal(f->ops->rescue(f->s, T0 + LEASE * 10, &rescued), CHORE_OK);
    assert_int_equal(rescued, 1);
    chore_job_info *info = get(f, id);
    assert_int_equal(info->state, CHORE_AVAILABLE);
    assert_int_equal(info->lease_until_ms, 0);
    assert_int_equal(info->n_errors, 1);
    assert_string_equal(info->errors[0].error, "deferred deadline passed");
    chore_job_info_free(info);
    assert_false(finish1(f, id, token, STORE_COMPLETE, 0, NULL, T0 + LEASE * 10));
}

static void test_prune(void **state)
{
    fx *f = *state;
    int64_t c = final_job(f, "p", CHORE_COMPLETED, T0);
    int64_t d = final_job(f, "p", CHORE_DISCARDED, T0 + 10);
    int64_t x = final_job(f, "p", CHORE_CANCELLED, T0 + 20);
    int64_t edge = final_job(f, "p", CHORE_COMPLETED, T0 + 50);
    int64_t young = final_job(f, "p", CHORE_COMPLETED, T0 + 100);
    int64_t avail = enq(f, "p", 0, T0);
    int64_t sched = enq(f, "p", 0, T0 + 999999);
    int64_t run = enq(f, "p", 9, T0);
    claim_one(f, avail, T0); /* avail is claimed: priority 0 < 9 */
    int64_t pruned = -1;
    assert_int_equal(f->ops->prune(f->s, T0 + 50, &pruned), CHORE_OK);
    assert_int_equal(pruned, 3);
    chore_job_info *info = NULL;
    assert_int_equal(f->ops->get(f->s, c, &info), CHORE_ENOTFOUND);
    assert_null(info);
    assert_int_equal(f->ops->get(f->s, d, &info), CHORE_ENOTFOUND);
    assert_int_equal(f->ops->get(f->s, x, &info), CHORE_ENOTFOUND);
    assert_int_equal(state_of(f, edge), CHORE_COMPLETED);
    assert_int_equal(state_of(f, young), CHORE_COMPLETED);
    assert_int_equal(state_of(f, avail), CHORE_RUNNING);
    assert_int_equal(state_of(f, sched), CHORE_SCHEDULED);
    assert_int_equal(state_of(f, run), CHORE_AVAILABLE);
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
    enq(f, "n", 0, T0); /* available: not counted */
    assert_int_equal(f->ops->next_run_at(f->s, &next), CHORE_OK);
    assert_int_equal(next, INT64_MAX);
    enq(f, "n", 0, T0 + 500);
    int64_t soon = enq(f, "n", 0, T0 + 300);
    assert_int_equal(f->ops->next_run_at(f->s, &next), CHORE_OK);
    assert_int_equal(next, T0 + 300);
    int64_t token = claim_one(f, enq(f, "n", -1, T0), T0);
    (void)token;
    size_t n;
    store_claimed *got = claim_n(f, 10, T0 + 300, &n); /* promotes and claims `soon` */
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
        ids[i] = enq(f, i % 2 ? "odd" : "even", 0, T0);
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
    store_claimed *got = claim_n(f, 3, T0, &cn);
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
        jobs[i] = job_of("l");
    assert_int_equal(f->ops->enqueue(f->s, jobs, 150, T0, ids, NULL), CHORE_OK);
    chore_list_query q = {.any_state = true}; /* limit 0: default 100 */
    chore_job_info *items;
    size_t n;
    int64_t cursor;
    assert_int_equal(f->ops->list(f->s, &q, &items, &n, &cursor), CHORE_OK);
    assert_int_equal(n, 100);
    assert_int_equal(cursor, ids[50]);
    chore_job_list_free(items, n);
    /* An exactly full last page has a cursor; the next page is empty. */
    q.limit = 50;
    q.before_id = ids[50];
    assert_int_equal(f->ops->list(f->s, &q, &items, &n, &cursor), CHORE_OK);
    assert_int_equal(n, 50);
    assert_int_equal(cursor, ids[0]);
    chore_job_list_free(items, n);
    q.before_id = cursor;
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
    store_new_job j = job_of("adm");
    j.max_attempts = 1;
    ids[CHORE_RUNNING] = enq_job(f, &j);
    int64_t t = claim_one(f, ids[CHORE_RUNNING], T0);
    (void)t;
    ids[CHORE_SUSPENDED] = enq_job(f, &j);
    t = claim_one(f, ids[CHORE_SUSPENDED], T0);
    assert_true(finish1(f, ids[CHORE_SUSPENDED], t, STORE_SUSPEND, T0 + 99999, NULL, T0));
    ids[CHORE_COMPLETED] = final_job(f, "adm", CHORE_COMPLETED, T0);
    ids[CHORE_DISCARDED] = enq_job(f, &j);
    t = claim_one(f, ids[CHORE_DISCARDED], T0);
    assert_true(finish1(f, ids[CHORE_DISCARDED], t, STORE_DISCARD, 0, "gone", T0));
    ids[CHORE_CANCELLED] = final_job(f, "adm", CHORE_CANCELLED, T0);
    ids[CHORE_AVAILABLE] = enq(f, "adm", 0, T0);
    ids[CHORE_SCHEDULED] = enq(f, "adm", 0, T0 + 99999);
    for (int s = 0; s < CHORE_STATE_COUNT; s++)
        assert_int_equal(state_of(f, ids[s]), s);
}

static void check_admin(fx *f, store_admin_op op, const bool allowed[CHORE_STATE_COUNT])
{
    int64_t ids[CHORE_STATE_COUNT];
    jobs_in_every_state(f, ids);
    for (int s = 0; s < CHORE_STATE_COUNT; s++) {
        int rc = f->ops->admin(f->s, op, ids[s], T0 + 1000);
        if (!allowed[s]) {
            assert_int_equal(rc, CHORE_ESTATE);
            assert_int_equal(state_of(f, ids[s]), s); /* unchanged */
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
    store_new_job j = job_of("rt");
    j.max_attempts = 1;
    j.priority = -10; /* before the jobs check_admin made available */
    int64_t id = enq_job(f, &j);
    int64_t t = claim_one(f, id, T0);
    assert_true(finish1(f, id, t, STORE_DISCARD, 0, "first", T0 + 1));
    assert_int_equal(f->ops->admin(f->s, STORE_ADMIN_RETRY, id, T0 + 2000), CHORE_OK);
    chore_job_info *info = get(f, id);
    assert_int_equal(info->state, CHORE_AVAILABLE);
    assert_int_equal(info->run_at_ms, T0 + 2000);
    assert_int_equal(info->finished_at_ms, 0);
    assert_int_equal(info->attempt, 1);
    assert_int_equal(info->max_attempts, 2);
    assert_int_equal(info->n_errors, 1);
    chore_job_info_free(info);
    t = claim_one(f, id, T0 + 2000);
    info = get(f, id);
    assert_int_equal(info->attempt, 2);
    chore_job_info_free(info);
}

static void test_admin_cancel(void **state)
{
    fx *f = *state;
    const bool allowed[CHORE_STATE_COUNT] = {true, true, true, true, false, false, false};
    check_admin(f, STORE_ADMIN_CANCEL, allowed);
    int64_t id = enq(f, "c", 0, T0);
    int64_t token = claim_one(f, id, T0);
    assert_int_equal(f->ops->admin(f->s, STORE_ADMIN_CANCEL, id, T0 + 5), CHORE_OK);
    assert_false(finish1(f, id, token, STORE_COMPLETE, 0, NULL, T0 + 6));
    store_lease l = {id, token};
    bool applied = true;
    assert_int_equal(f->ops->heartbeat(f->s, &l, 1, T0 + 6, 1000, &applied), CHORE_OK);
    assert_false(applied);
    chore_job_info *info = get(f, id);
    assert_int_equal(info->state, CHORE_CANCELLED);
    assert_int_equal(info->finished_at_ms, T0 + 5);
    assert_int_equal(info->lease_until_ms, 0);
    chore_job_info_free(info);
    /* A cancelled running job is not rescued. */
    int64_t rescued;
    assert_int_equal(f->ops->rescue(f->s, T0 + LEASE * 100, &rescued), CHORE_OK);
    assert_int_equal(state_of(f, id), CHORE_CANCELLED);
}

static void test_admin_requeue(void **state)
{
    fx *f = *state;
    const bool allowed[CHORE_STATE_COUNT] = {true, true, false, true, true, true, true};
    check_admin(f, STORE_ADMIN_REQUEUE, allowed);
    int64_t id = enq(f, "q", 0, T0);
    int64_t t = claim_one(f, id, T0);
    assert_true(finish1(f, id, t, STORE_DISCARD, 0, "bad", T0 + 1));
    assert_int_equal(f->ops->admin(f->s, STORE_ADMIN_REQUEUE, id, T0 + 50), CHORE_OK);
    chore_job_info *info = get(f, id);
    assert_int_equal(info->state, CHORE_AVAILABLE);
    assert_int_equal(info->attempt, 0);
    assert_int_equal(info->n_errors, 0);
    assert_int_equal(info->finished_at_ms, 0);
    assert_int_equal(info->run_at_ms, T0 + 50);
    chore_job_info_free(info);
    /* A requeued suspended job refuses its old token. */
    int64_t susp = enq(f, "q", 0, T0);
    t = claim_one(f, susp, T0);
    assert_true(finish1(f, susp, t, STORE_SUSPEND, T0 + 99999, NULL, T0));
    assert_int_equal(f->ops->admin(f->s, STORE_ADMIN_REQUEUE, susp, T0 + 60), CHORE_OK);
    assert_false(finish1(f, susp, t, STORE_COMPLETE, 0, NULL, T0 + 61));
    assert_int_equal(state_of(f, susp), CHORE_AVAILABLE);
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
    enq(f, "more", 0, T0 + 5);
    enq(f, "more", 0, T0 + 5);
    assert_int_equal(f->ops->count_by_state(f->s, counts), CHORE_OK);
    for (int s = 0; s < CHORE_STATE_COUNT; s++)
        assert_int_equal(counts[s], s == CHORE_SCHEDULED ? 3 : 1);
}

/* ---------------------------------------------------------------- persistence */

static void test_reopen_keeps_jobs(void **state)
{
    fx *f = *state;
    int64_t id = enq(f, "keep", 0, T0);
    f->ops->close(f->s);
    f->s = NULL;
    char err[256];
    assert_int_equal(f->ops->open(&f->s, f->loc, CHORE_DURABLE_FULL, err, sizeof err), CHORE_OK);
    assert_int_equal(state_of(f, id), CHORE_AVAILABLE);
    /* Ids are never reused, even after the newest job is deleted. */
    assert_int_equal(f->ops->admin(f->s, STORE_ADMIN_DELETE, id, T0), CHORE_OK);
    assert_true(enq(f, "keep", 0, T0) > id);
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
    store_new_job j = job_of("cc");
    int64_t id;
    assert_int_equal(f->ops->enqueue(other, &j, 1, T0, &id, NULL), CHORE_OK);
    assert_int_equal(f->ops->change_counter(f->s, &after), CHORE_OK);
    assert_true(after != before);
    assert_int_equal(state_of(f, id), CHORE_AVAILABLE);
    f->ops->close(other);
}

static void test_bad_arguments(void **state)
{
    fx *f = *state;
    store_new_job j = job_of(NULL);
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

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int store_conformance_run(const char *suite_name, const store_ops *ops,
                          store_location_fn new_location)
{
    g_ops = ops;
    g_new_location = new_location;
    if (ops->version != STORE_INTERFACE_VERSION) {
        fprintf(stderr, "%s: interface version %d, expected %d\n", suite_name, ops->version,
                STORE_INTERFACE_VERSION);
        return 1;
    }
    const struct CMUnitTest tests[] = {
        T(test_enqueue_single),
        T(test_enqueue_bulk),
        T(test_unique_keys),
        T(test_claim_order),
        T(test_claim_order_one_by_one),
        T(test_claim_max_and_fields),
        T(test_claim_filters),
        T(test_scheduled_becomes_claimable),
        T(test_tokens_increase),
        T(test_finish_complete),
        T(test_finish_retry),
        T(test_finish_discard),
        T(test_finish_snooze),
        T(test_finish_suspend),
        T(test_finish_release),
        T(test_finish_stale_token),
        T(test_heartbeat),
        T(test_rescue_expired_lease),
        T(test_rescue_discards_when_attempts_used),
        T(test_rescue_suspended_deadline),
        T(test_prune),
        T(test_next_run_at),
        T(test_get_not_found),
        T(test_list_paging),
        T(test_list_limits),
        T(test_admin_retry),
        T(test_admin_cancel),
        T(test_admin_requeue),
        T(test_admin_delete),
        T(test_count_by_state),
        T(test_reopen_keeps_jobs),
        T(test_change_counter),
        T(test_bad_arguments),
    };
    return _cmocka_run_group_tests(suite_name, tests, sizeof tests / sizeof tests[0], NULL, NULL);
}
