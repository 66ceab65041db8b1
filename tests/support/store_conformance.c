/*
 * store_conformance.c — the conformance suite of the store interface.
 *
 * Written only against store_ops (never engine calls), so every backend
 * runs it unchanged: a backend's test program passes its ops and a
 * function that makes a fresh location. Times are fixed instants passed
 * in, as the runtime passes its clock's.
 *
 * This file holds the per-test fixture (a fresh store per test), the
 * helpers the tests share (declared in store_conformance_internal.h) and
 * store_conformance_run. The tests themselves live in
 * store_conformance_jobs.c (enqueue, claim, finish) and
 * store_conformance_admin.c (rescue, prune, get, list, admin,
 * persistence), store_conformance_results.c (job results, counts by
 * name), store_conformance_schedules.c (schedules) and
 * store_conformance_locks.c (loop locks); the concurrency tests are in
 * store_conformance_threads.c.
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

/* The backend under test: set by the run functions, read by setup. */
static const store_ops *g_ops;
static store_location_fn g_new_location;

store *store_test_open(const store_ops *ops, const char *location, chore_durability durability)
{
    store *s = NULL;
    char err[256] = "";
    int rc = ops->open(&s, location, durability, err, sizeof err);
    if (rc != CHORE_OK)
        fprintf(stderr, "open %s: %s\n", location, err);
    assert_int_equal(rc, CHORE_OK);
    return s;
}

int sc_fx_setup(void **state)
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

int sc_fx_teardown(void **state)
{
    fx *f = *state;
    f->ops->close(f->s);
    free(f);
    return 0;
}

/* ---------------------------------------------------------------- helpers */

store_new_job sc_job_of(const char *name)
{
    store_new_job j = {.name = name, .payload = "{\"n\":1}", .queue = "default", .run_at_ms = T0};
    return j;
}

int64_t sc_enq_job(fx *f, const store_new_job *j)
{
    int64_t id = 0;
    bool dup = true;
    assert_int_equal(f->ops->enqueue(f->s, j, 1, T0, &id, &dup), CHORE_OK);
    assert_false(dup);
    assert_true(id > 0);
    return id;
}

int64_t sc_enq(fx *f, const char *name, int priority, int64_t run_at)
{
    store_new_job j = sc_job_of(name);
    j.priority = priority;
    j.run_at_ms = run_at;
    return sc_enq_job(f, &j);
}

chore_job_info *sc_get(fx *f, int64_t id)
{
    chore_job_info *info = NULL;
    assert_int_equal(f->ops->get(f->s, id, &info), CHORE_OK);
    assert_non_null(info);
    assert_int_equal(info->id, id);
    return info;
}

int sc_state_of(fx *f, int64_t id)
{
    chore_job_info *info = sc_get(f, id);
    int state = (int)info->state;
    chore_job_info_free(info);
    return state;
}

store_claimed *sc_claim_n(fx *f, size_t max, int64_t now, size_t *n)
{
    store_claim_req req = {.max = max, .lease_ms = LEASE};
    store_claimed *out = NULL;
    assert_int_equal(f->ops->claim(f->s, &req, now, &out, n), CHORE_OK);
    if (*n == 0)
        assert_null(out);
    return out;
}

int64_t store_test_claim_one(const store_ops *ops, store *s, int64_t id, int64_t now)
{
    store_claim_req req = {.max = 1, .lease_ms = LEASE};
    store_claimed *c = NULL;
    size_t n = 0;
    assert_int_equal(ops->claim(s, &req, now, &c, &n), CHORE_OK);
    assert_int_equal(n, 1);
    assert_int_equal(c[0].id, id);
    int64_t token = c[0].token;
    store_claimed_free(c, n);
    return token;
}

/* Claim exactly one job, expected to be `id`; returns its token. */
int64_t sc_claim_one(fx *f, int64_t id, int64_t now)
{
    return store_test_claim_one(f->ops, f->s, id, now);
}

bool sc_finish1(fx *f, int64_t id, int64_t token, store_outcome_kind kind, int64_t run_at,
                const char *error, int64_t now)
{
    store_outcome o = {.id = id, .token = token, .kind = kind, .run_at_ms = run_at, .error = error};
    bool applied = false;
    assert_int_equal(f->ops->finish(f->s, &o, 1, now, &applied), CHORE_OK);
    return applied;
}

/* A job driven to a final state: completed, discarded or cancelled. */
int64_t sc_final_job(fx *f, const char *name, int state, int64_t finished_at)
{
    int64_t id = sc_enq(f, name, 0, T0);
    if (state == CHORE_CANCELLED) {
        assert_int_equal(f->ops->admin(f->s, STORE_ADMIN_CANCEL, id, finished_at), CHORE_OK);
        return id;
    }
    int64_t token = sc_claim_one(f, id, T0);
    store_outcome_kind kind = state == CHORE_COMPLETED ? STORE_COMPLETE : STORE_DISCARD;
    assert_true(sc_finish1(f, id, token, kind, 0, "bad", finished_at));
    return id;
}

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
    /* One cmocka group, in file order: job life cycle, the rest, results,
     * schedules, locks. */
    size_t n = store_conformance_jobs_tests_count + store_conformance_admin_tests_count +
               store_conformance_results_tests_count + store_conformance_schedules_tests_count +
               store_conformance_locks_tests_count;
    struct CMUnitTest *tests = malloc(n * sizeof *tests);
    if (tests == NULL) {
        fprintf(stderr, "%s: out of memory\n", suite_name);
        return 1;
    }
    memcpy(tests, store_conformance_jobs_tests,
           store_conformance_jobs_tests_count * sizeof *tests);
    memcpy(tests + store_conformance_jobs_tests_count, store_conformance_admin_tests,
           store_conformance_admin_tests_count * sizeof *tests);
    size_t at = store_conformance_jobs_tests_count + store_conformance_admin_tests_count;
    memcpy(tests + at, store_conformance_results_tests,
           store_conformance_results_tests_count * sizeof *tests);
    at += store_conformance_results_tests_count;
    memcpy(tests + at, store_conformance_schedules_tests,
           store_conformance_schedules_tests_count * sizeof *tests);
    memcpy(tests + n - store_conformance_locks_tests_count, store_conformance_locks_tests,
           store_conformance_locks_tests_count * sizeof *tests);
    int failed = _cmocka_run_group_tests(suite_name, tests, n, NULL, NULL);
    free(tests);
    return failed;
}
