/*
 * store_conformance_internal.h — private to the store conformance suite
 * (store_conformance*.c): the per-test fixture, the helpers the test files
 * share, and each test file's table of tests, which store_conformance_run
 * concatenates into one cmocka group. Not for backend test programs; they
 * use store_conformance.h.
 */
#ifndef CHORE_STORE_CONFORMANCE_INTERNAL_H
#define CHORE_STORE_CONFORMANCE_INTERNAL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "store_conformance.h"

#define T0 1700000000000LL
#define LEASE 30000

/* One test's fixture: a freshly opened store at its own location. */
typedef struct fx {
    const store_ops *ops;
    store *s;
    char loc[600];
} fx;

/* cmocka setup/teardown: open a fresh store on the backend under test,
 * and close it. */
int sc_fx_setup(void **state);
int sc_fx_teardown(void **state);

/* A table entry for a test run with the fixture. */
#define SC_TEST(fn) cmocka_unit_test_setup_teardown(fn, sc_fx_setup, sc_fx_teardown)

/* A new job named `name`, queue "default", due at T0. */
store_new_job sc_job_of(const char *name);
/* Enqueue one job, asserting it is new; returns its id. */
int64_t sc_enq_job(fx *f, const store_new_job *j);
int64_t sc_enq(fx *f, const char *name, int priority, int64_t run_at);
/* The job's info (asserted found); free with chore_job_info_free. */
chore_job_info *sc_get(fx *f, int64_t id);
int sc_state_of(fx *f, int64_t id);
/* Claim up to `max` jobs with lease LEASE; free with store_claimed_free. */
store_claimed *sc_claim_n(fx *f, size_t max, int64_t now, size_t *n);
/* Claim exactly one job, expected to be `id`; returns its token. */
int64_t sc_claim_one(fx *f, int64_t id, int64_t now);
/* Apply one outcome; returns whether it applied. */
bool sc_finish1(fx *f, int64_t id, int64_t token, store_outcome_kind kind, int64_t run_at,
                const char *error, int64_t now);
/* A job driven to a final state: completed, discarded or cancelled. */
int64_t sc_final_job(fx *f, const char *name, int state, int64_t finished_at);

/* The tests of store_conformance_jobs.c (enqueue, claim, finish). */
extern const struct CMUnitTest store_conformance_jobs_tests[];
extern const size_t store_conformance_jobs_tests_count;
/* The tests of store_conformance_admin.c (rescue, prune, get, list,
 * admin, persistence). */
extern const struct CMUnitTest store_conformance_admin_tests[];
extern const size_t store_conformance_admin_tests_count;
/* The tests of store_conformance_schedules.c (schedules: put, list,
 * pause, remove, fire, overlap, release_pending). */
extern const struct CMUnitTest store_conformance_schedules_tests[];
extern const size_t store_conformance_schedules_tests_count;
/* The tests of store_conformance_locks.c (loop locks: acquire, renew,
 * expiry, release). */
extern const struct CMUnitTest store_conformance_locks_tests[];
extern const size_t store_conformance_locks_tests_count;

/* The tests of store_conformance_results.c (job results, counts by name). */
extern const struct CMUnitTest store_conformance_results_tests[];
extern const size_t store_conformance_results_tests_count;

#endif
