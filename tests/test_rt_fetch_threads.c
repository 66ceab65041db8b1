/* test_rt_fetch_threads.c — outside workers finishing jobs from many
 * threads at once, whose completions and failures share commits
 * (runtime/group_commit.c): each call gets its own answer — done, a
 * retry, a discard, or CHORE_ESTALE for a second finish of one attempt —
 * and every job ends as its caller said. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdlib.h>

#include "rt_fixture.h"

enum { THREADS = 8, EACH = 12, JOBS = THREADS * EACH };

typedef struct finisher {
    pthread_t tid;
    chore *c;
    const chore_fetched *jobs; /* EACH of them */
    pthread_barrier_t *start;
    int rc[EACH], again_rc;
} finisher;

/* Job k of a thread: complete it (k % 3 == 0 with a result), fail it
 * with a retry (k % 3 == 1) or discard it (k % 3 == 2); then complete
 * its first job a second time, which must be refused. */
static void *finish_all(void *arg)
{
    finisher *w = arg;
    pthread_barrier_wait(w->start);
    for (int k = 0; k < EACH; k++) {
        const chore_fetched *j = &w->jobs[k];
        chore_fail_opts retry = {.error = "later", .retry_in_ms = 60000};
        chore_fail_opts discard = {.error = "never", .discard = true};
        w->rc[k] = k % 3 == 0   ? chore_job_complete(w->c, j->id, j->token, "{\"ok\":1}")
                   : k % 3 == 1 ? chore_job_fail_with(w->c, j->id, j->token, &retry)
                                : chore_job_fail_with(w->c, j->id, j->token, &discard);
    }
    w->again_rc = chore_job_complete(w->c, w->jobs[0].id, w->jobs[0].token, NULL);
    return NULL;
}

static void finishes_from_many_threads(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, NULL); /* not started: only the calls under test move jobs */
    for (int i = 0; i < JOBS; i++) {
        int64_t id;
        assert_int_equal(chore_enqueue(f.c, "work", NULL, NULL, &id), CHORE_OK);
    }
    const char *names[] = {"work"};
    chore_fetch_opts o = {.names = names, .n_names = 1, .max = JOBS};
    chore_fetched *jobs = NULL;
    size_t n = 0;
    assert_int_equal(chore_fetch(f.c, &o, &jobs, &n), CHORE_OK);
    assert_int_equal(n, JOBS);

    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, THREADS);
    finisher ws[THREADS];
    for (int t = 0; t < THREADS; t++) {
        ws[t] = (finisher){.c = f.c, .jobs = jobs + t * EACH, .start = &start};
        assert_int_equal(pthread_create(&ws[t].tid, NULL, finish_all, &ws[t]), 0);
    }
    for (int t = 0; t < THREADS; t++)
        pthread_join(ws[t].tid, NULL);
    pthread_barrier_destroy(&start);

    static const chore_state want[3] = {CHORE_COMPLETED, CHORE_SCHEDULED, CHORE_DISCARDED};
    for (int t = 0; t < THREADS; t++) {
        assert_int_equal(ws[t].again_rc, CHORE_ESTALE);
        for (int k = 0; k < EACH; k++) {
            assert_int_equal(ws[t].rc[k], CHORE_OK);
            chore_job_info *info = NULL;
            assert_int_equal(chore_job_get(f.c, ws[t].jobs[k].id, &info), CHORE_OK);
            assert_int_equal(info->state, want[k % 3]);
            if (k % 3 == 0)
                assert_string_equal(info->result, "{\"ok\":1}");
            else
                assert_int_equal(info->n_errors, 1);
            chore_job_info_free(info);
        }
    }
    chore_fetched_free(jobs, n);
    fixture_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(finishes_from_many_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
