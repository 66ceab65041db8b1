/*
 * store_conformance_results.c — the store conformance suite's tests of
 * what outside workers need: a completed job's result (kept, read back by
 * get, refused with a stale token, cleared by retry and requeue) and job
 * counts by name. Written only against store_ops, like the rest of the
 * suite; store_conformance.c runs them after the admin tests.
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

/* Complete `id` (claimed with `token`) with `result`; returns whether it applied. */
static bool complete_with(fx *f, int64_t id, int64_t token, const char *result)
{
    store_outcome o = {.id = id, .token = token, .kind = STORE_COMPLETE, .result = result};
    bool applied = false;
    assert_int_equal(f->ops->finish(f->s, &o, 1, T0 + 5, &applied), CHORE_OK);
    return applied;
}

/* The job's result as stored, copied (NULL = none). */
static char *result_of(fx *f, int64_t id)
{
    chore_job_info *info = sc_get(f, id);
    char *copy = info->result != NULL ? strdup(info->result) : NULL;
    if (info->result != NULL)
        assert_non_null(copy);
    chore_job_info_free(info);
    return copy;
}

static void test_result_round_trip(void **state)
{
    fx *f = *state;
    const char *result = "{\"rows\":[1,2,3],\"note\":\"caf\\u00e9 \\\"ok\\\"\"}";
    int64_t id = sc_enq(f, "res", 0, T0);
    int64_t token = sc_claim_one(f, id, T0);
    assert_null(result_of(f, id)); /* nothing before completion */
    assert_true(complete_with(f, id, token, result));
    char *got = result_of(f, id);
    assert_string_equal(got, result);
    free(got);
    assert_int_equal(sc_state_of(f, id), CHORE_COMPLETED);

    /* A completion without a result keeps none. */
    int64_t plain = sc_enq(f, "res", 0, T0);
    assert_true(complete_with(f, plain, sc_claim_one(f, plain, T0), NULL));
    assert_null(result_of(f, plain));

    /* A large result comes back whole. */
    size_t len = 200000;
    char *big = malloc(len + 3);
    assert_non_null(big);
    big[0] = '"';
    for (size_t i = 1; i <= len; i++)
        big[i] = (char)('a' + i % 26);
    big[len + 1] = '"';
    big[len + 2] = '\0';
    int64_t large = sc_enq(f, "res", 0, T0);
    assert_true(complete_with(f, large, sc_claim_one(f, large, T0), big));
    got = result_of(f, large);
    assert_string_equal(got, big);
    free(got);
    free(big);

    /* Lists leave results out. */
    chore_job_info *items = NULL;
    size_t n = 0;
    assert_int_equal(f->ops->list(f->s, NULL, &items, &n, NULL), CHORE_OK);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < n; i++)
        assert_null(items[i].result);
    chore_job_list_free(items, n);
}

static void test_result_needs_the_current_token(void **state)
{
    fx *f = *state;
    int64_t id = sc_enq(f, "res", 0, T0);
    int64_t old = sc_claim_one(f, id, T0);
    int64_t rescued = 0;
    assert_int_equal(f->ops->rescue(f->s, T0 + LEASE, &rescued), CHORE_OK);
    assert_int_equal(rescued, 1);
    int64_t current = sc_claim_one(f, id, T0 + LEASE);
    assert_false(complete_with(f, id, old, "\"late\""));
    assert_null(result_of(f, id));
    assert_int_equal(sc_state_of(f, id), CHORE_RUNNING);
    assert_true(complete_with(f, id, current, "\"on time\""));
    char *got = result_of(f, id);
    assert_string_equal(got, "\"on time\"");
    free(got);
    /* A second completion with the same token is stale: the result stays. */
    assert_false(complete_with(f, id, current, "\"again\""));
    got = result_of(f, id);
    assert_string_equal(got, "\"on time\"");
    free(got);
}

static void test_result_only_on_complete(void **state)
{
    fx *f = *state;
    /* Only STORE_COMPLETE writes a result, even if another kind carries one. */
    int64_t id = sc_enq(f, "res", 0, T0);
    store_outcome o = {.id = id,
                       .token = sc_claim_one(f, id, T0),
                       .kind = STORE_DISCARD,
                       .error = "no",
                       .result = "{\"x\":1}"};
    bool applied = false;
    assert_int_equal(f->ops->finish(f->s, &o, 1, T0, &applied), CHORE_OK);
    assert_true(applied);
    assert_null(result_of(f, id));
    /* A deferred job completes with its result too. */
    int64_t deferred = sc_enq(f, "res", 0, T0);
    int64_t token = sc_claim_one(f, deferred, T0);
    assert_true(sc_finish1(f, deferred, token, STORE_SUSPEND, T0 + 60000, NULL, T0));
    assert_true(complete_with(f, deferred, token, "[true]"));
    char *got = result_of(f, deferred);
    assert_string_equal(got, "[true]");
    free(got);
}

static void test_retry_and_requeue_clear_the_result(void **state)
{
    fx *f = *state;
    int64_t ids[2];
    store_admin_op ops[2] = {STORE_ADMIN_RETRY, STORE_ADMIN_REQUEUE};
    for (int i = 0; i < 2; i++) {
        ids[i] = sc_enq(f, "res", 0, T0);
        assert_true(complete_with(f, ids[i], sc_claim_one(f, ids[i], T0), "{\"run\":1}"));
        assert_int_equal(f->ops->admin(f->s, ops[i], ids[i], T0 + 10), CHORE_OK);
        assert_null(result_of(f, ids[i]));
        assert_int_equal(sc_state_of(f, ids[i]), CHORE_AVAILABLE);
        /* the new run keeps its own result */
        assert_true(complete_with(f, ids[i], sc_claim_one(f, ids[i], T0 + 10), "{\"run\":2}"));
        char *got = result_of(f, ids[i]);
        assert_string_equal(got, "{\"run\":2}");
        free(got);
    }
}

/* The entry for `name` in a count_by_name answer, or NULL. */
static const chore_name_counts *entry(const chore_name_counts *items, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(items[i].name, name) == 0)
            return &items[i];
    }
    return NULL;
}

static void test_count_by_name(void **state)
{
    fx *f = *state;
    chore_name_counts *items = (chore_name_counts *)&items; /* must be overwritten */
    size_t n = 99;
    assert_int_equal(f->ops->count_by_name(f->s, &items, &n), CHORE_OK);
    assert_int_equal(n, 0);
    assert_null(items);

    /* beta: 2 available, 1 scheduled, 1 running; alpha: 1 completed, 1
     * discarded; "gamma x": 1 cancelled. */
    sc_final_job(f, "alpha", CHORE_COMPLETED, T0); /* first: they claim whatever is first */
    sc_final_job(f, "alpha", CHORE_DISCARDED, T0);
    sc_final_job(f, "gamma x", CHORE_CANCELLED, T0);
    sc_enq(f, "beta", 0, T0);
    sc_enq(f, "beta", 0, T0);
    sc_enq(f, "beta", 0, T0 + 99999);
    int64_t running = sc_enq(f, "beta", -1, T0); /* claimed before the other two */
    sc_claim_one(f, running, T0);

    assert_int_equal(f->ops->count_by_name(f->s, &items, &n), CHORE_OK);
    assert_int_equal(n, 3);
    /* by name */
    assert_string_equal(items[0].name, "alpha");
    assert_string_equal(items[1].name, "beta");
    assert_string_equal(items[2].name, "gamma x");
    const int64_t want[3][CHORE_STATE_COUNT] = {
        {0, 0, 0, 0, 1, 1, 0},
        {1, 2, 1, 0, 0, 0, 0},
        {0, 0, 0, 0, 0, 0, 1},
    };
    for (size_t i = 0; i < n; i++) {
        for (int s = 0; s < CHORE_STATE_COUNT; s++)
            assert_int_equal(items[i].counts[s], want[i][s]);
    }
    /* They add up to count_by_state. */
    int64_t by_state[CHORE_STATE_COUNT];
    assert_int_equal(f->ops->count_by_state(f->s, by_state), CHORE_OK);
    for (int s = 0; s < CHORE_STATE_COUNT; s++) {
        int64_t sum = 0;
        for (size_t i = 0; i < n; i++)
            sum += items[i].counts[s];
        assert_int_equal(sum, by_state[s]);
    }
    assert_null(entry(items, n, "delta"));
    chore_name_counts_free(items, n);
    chore_name_counts_free(NULL, 0);

    /* A deleted job's name goes away with its last job. */
    chore_job_info *list = NULL;
    size_t k = 0;
    chore_list_query q = {.any_state = true, .name = "gamma x"};
    assert_int_equal(f->ops->list(f->s, &q, &list, &k, NULL), CHORE_OK);
    assert_int_equal(k, 1);
    assert_int_equal(f->ops->admin(f->s, STORE_ADMIN_DELETE, list[0].id, T0), CHORE_OK);
    chore_job_list_free(list, k);
    assert_int_equal(f->ops->count_by_name(f->s, &items, &n), CHORE_OK);
    assert_int_equal(n, 2);
    assert_null(entry(items, n, "gamma x"));
    assert_int_equal(entry(items, n, "beta")->counts[CHORE_AVAILABLE], 2);
    chore_name_counts_free(items, n);
    assert_int_equal(f->ops->count_by_name(f->s, NULL, &n), CHORE_EINVAL);
}

const struct CMUnitTest store_conformance_results_tests[] = {
    SC_TEST(test_result_round_trip),
    SC_TEST(test_result_needs_the_current_token),
    SC_TEST(test_result_only_on_complete),
    SC_TEST(test_retry_and_requeue_clear_the_result),
    SC_TEST(test_count_by_name),
};
const size_t store_conformance_results_tests_count =
    sizeof store_conformance_results_tests / sizeof store_conformance_results_tests[0];
