/* test_rt_concurrency.c — a handler's concurrency limit: no more of its
 * jobs are claimed or run at once than the limit, jobs of other names are
 * not held back, and a finished job lets the next one in. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "rt_fixture.h"
#include "runtime/runtime.h"

static void count_states(fixture *f, int64_t counts[CHORE_STATE_COUNT])
{
    assert_int_equal(chore_count_by_state(f->c, counts), CHORE_OK);
}

/* Wait until the probe has been called `n` times. */
static void wait_calls(probe *p, int n)
{
    pthread_mutex_lock(&p->mu);
    struct timespec ts = after_ms(WAIT_MS);
    while (p->calls < n)
        if (pthread_cond_timedwait(&p->cond, &p->mu, &ts) != 0)
            break;
    int calls = p->calls;
    pthread_mutex_unlock(&p->mu);
    assert_true(calls >= n);
}

static void a_limited_name_never_has_more_jobs_claimed_than_its_limit(void **state)
{
    (void)state;
    fixture f;
    chore_config cfg = {.workers = 4};
    fixture_open(&f, &cfg);
    probe limited, free_probe;
    probe_init(&limited, CHORE_OK);
    limited.block = true;
    probe_init(&free_probe, CHORE_OK);
    chore_handler_opts two = {.concurrency = 2};
    assert_int_equal(chore_handle(f.c, "limited", probe_handler, &limited, &two), CHORE_OK);
    assert_int_equal(chore_handle(f.c, "free", probe_handler, &free_probe, NULL), CHORE_OK);
    int64_t id;
    for (int i = 0; i < 6; i++)
        assert_int_equal(chore_enqueue(f.c, "limited", NULL, NULL, &id), CHORE_OK);
    for (int i = 0; i < 3; i++)
        assert_int_equal(chore_enqueue(f.c, "free", NULL, NULL, &id), CHORE_OK);
    assert_int_equal(chore_start(f.c), CHORE_OK);

    probe_wait_blocked(&limited, 2);
    wait_calls(&free_probe, 3); /* other names run beside the limited ones */
    assert_int_equal(rt_sync(f.c, WAIT_MS), CHORE_OK);
    int64_t counts[CHORE_STATE_COUNT];
    count_states(&f, counts);
    assert_int_equal(counts[CHORE_RUNNING], 2);   /* not one more claimed */
    assert_int_equal(counts[CHORE_AVAILABLE], 4);
    assert_int_equal(counts[CHORE_COMPLETED], 3);

    probe_release(&limited); /* one finishes: exactly one more starts */
    wait_calls(&limited, 3);
    probe_wait_blocked(&limited, 2);
    assert_int_equal(rt_sync(f.c, WAIT_MS), CHORE_OK);
    count_states(&f, counts);
    assert_int_equal(counts[CHORE_RUNNING], 2);
    assert_int_equal(counts[CHORE_AVAILABLE], 3);

    for (int i = 0; i < 5; i++)
        probe_release(&limited);
    fixture_idle(&f);
    count_states(&f, counts);
    assert_int_equal(counts[CHORE_COMPLETED], 9);
    assert_int_equal(probe_calls(&limited), 6);
    fixture_close(&f);
    probe_destroy(&limited);
    probe_destroy(&free_probe);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_limited_name_never_has_more_jobs_claimed_than_its_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
