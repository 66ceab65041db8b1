/* test_rt_loops.c — loops on the manual clock: interval and jitter,
 * trigger and trigger_wait, pause, resume, restart, should_run skips,
 * timeouts, the error hook and health, on_start, the sleeper's coalescing
 * under concurrent wakes, and stop. Registration rules and locked loops
 * are in test_rt_loops_locks.c; the shared probe in support/loop_probe.c.
 *
 * No sleeps: ticks block on conditions the test controls, time moves with
 * chore_clock_advance, and rt_loop_sync waits (with a real-time safety
 * limit) until a loop's thread has nothing due. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loop_probe.h"
#include "rt_fixture.h"

static void ticks_follow_the_interval_without_catching_up(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, NULL);
    lp p;
    lp_init(&p, f.clock);
    chore_loop_config cfg = loop_cfg("tick", 1000, &p);
    chore_loop *l = loop_add(&f, &cfg);
    chore_loop_health h = loop_health(l);
    assert_string_equal(h.name, "tick");
    assert_int_equal(h.next_tick_ms, 0); /* not started: none planned */
    assert_int_equal(h.runs, 0);

    assert_int_equal(chore_start(f.c), CHORE_OK);
    sync_loop(l);
    assert_int_equal(lp_calls(&p), 1);
    assert_int_equal(lp_at(&p, 0), T0); /* no jitter: at once */
    assert_int_equal(loop_health(l).next_tick_ms, T0 + 1000);
    loop_advance(&f, l, 999);
    assert_int_equal(lp_calls(&p), 1);
    loop_advance(&f, l, 1);
    assert_int_equal(lp_calls(&p), 2);
    assert_int_equal(lp_at(&p, 1), T0 + 1000);
    /* a long silence: one tick, not a burst of the missed ones */
    loop_advance(&f, l, 5500);
    assert_int_equal(lp_calls(&p), 3);
    assert_int_equal(lp_at(&p, 2), T0 + 6500);
    assert_int_equal(loop_health(l).next_tick_ms, T0 + 7500);

    /* a tick that overruns its interval is followed at once by one more */
    lp_set_block(&p, true);
    chore_clock_advance(f.clock, 1000);
    lp_wait_tickets(&p, 1);
    assert_int_equal(lp_at(&p, 3), T0 + 7500);
    chore_clock_advance(f.clock, 2500); /* T0 + 10000, the tick still runs */
    lp_set_block(&p, false);
    lp_release(&p);
    sync_loop(l);
    assert_int_equal(lp_calls(&p), 5);
    assert_int_equal(lp_at(&p, 4), T0 + 10000);
    h = loop_health(l);
    assert_int_equal(h.next_tick_ms, T0 + 11000);
    assert_int_equal(h.runs, 5);
    assert_int_equal(h.failures, 0);
    assert_int_equal(h.skips, 0);
    assert_int_equal(p.should_run_calls, 5);
    assert_int_equal(p.on_start_calls, 1);

    /* stopped with the instance: nothing planned, no ticks */
    assert_int_equal(chore_stop(f.c, 1000), CHORE_OK);
    assert_int_equal(loop_health(l).next_tick_ms, 0);
    chore_clock_advance(f.clock, 5000);
    assert_int_equal(lp_calls(&p), 5);
    /* started again: a first tick at once */
    assert_int_equal(chore_start(f.c), CHORE_OK);
    sync_loop(l);
    assert_int_equal(lp_calls(&p), 6);
    assert_int_equal(lp_at(&p, 5), T0 + 15000);
    assert_int_equal(p.on_start_calls, 1); /* once per loop, not per start */
    fixture_close(&f);
    lp_destroy(&p);
}

enum { JITTER_LOOPS = 16, JITTER_SEEDS = 6 };

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* One instance with JITTER_LOOPS loops of jitter 1000: each first tick
 * comes exactly at its planned time, within [T0, T0 + 1000]. */
static void first_ticks_of_one_instance(uint64_t seed, int64_t *firsts)
{
    fixture f;
    chore_config conf = {.seed = seed};
    fixture_open(&f, &conf);
    lp p[JITTER_LOOPS];
    chore_loop *loops[JITTER_LOOPS];
    char names[JITTER_LOOPS][16];
    for (int i = 0; i < JITTER_LOOPS; i++) {
        lp_init(&p[i], f.clock);
        snprintf(names[i], sizeof names[i], "jit_%02d", i);
        chore_loop_config cfg = loop_cfg(names[i], 3600000, &p[i]);
        cfg.jitter_ms = 1000;
        loops[i] = loop_add(&f, &cfg);
    }
    assert_int_equal(chore_start(f.c), CHORE_OK);
    for (int i = 0; i < JITTER_LOOPS; i++) {
        sync_loop(loops[i]);
        /* a loop that drew 0 has ticked at T0; the others wait */
        firsts[i] = lp_calls(&p[i]) == 1 ? lp_at(&p[i], 0) : loop_health(loops[i]).next_tick_ms;
        assert_true(firsts[i] >= T0 && firsts[i] <= T0 + 1000);
    }
    int64_t sorted[JITTER_LOOPS];
    memcpy(sorted, firsts, sizeof sorted);
    qsort(sorted, JITTER_LOOPS, sizeof sorted[0], cmp_i64);
    int64_t now = T0;
    for (int k = 0; k < JITTER_LOOPS; k++) {
        if (sorted[k] == now)
            continue;
        /* just before the next planned time nobody new has ticked */
        chore_clock_advance(f.clock, sorted[k] - 1 - now);
        for (int i = 0; i < JITTER_LOOPS; i++) {
            sync_loop(loops[i]);
            assert_int_equal(lp_calls(&p[i]), firsts[i] <= sorted[k] - 1 ? 1 : 0);
        }
        chore_clock_advance(f.clock, 1);
        now = sorted[k];
        for (int i = 0; i < JITTER_LOOPS; i++) {
            sync_loop(loops[i]);
            assert_int_equal(lp_calls(&p[i]), firsts[i] <= now ? 1 : 0);
        }
    }
    for (int i = 0; i < JITTER_LOOPS; i++) {
        assert_int_equal(lp_at(&p[i], 0), firsts[i]);
        /* later ticks are not jittered without jitter_every_tick */
        assert_int_equal(loop_health(loops[i]).next_tick_ms, firsts[i] + 3600000);
    }
    fixture_close(&f);
    for (int i = 0; i < JITTER_LOOPS; i++)
        lp_destroy(&p[i]);
}

static void first_ticks_spread_over_the_jitter(void **state)
{
    (void)state;
    int64_t all[JITTER_SEEDS * JITTER_LOOPS];
    for (int s = 0; s < JITTER_SEEDS; s++)
        first_ticks_of_one_instance((uint64_t)s + 1, &all[s * JITTER_LOOPS]);
    /* different seeds, different draws */
    assert_memory_not_equal(&all[0], &all[JITTER_LOOPS], sizeof all[0] * JITTER_LOOPS);
    size_t n = sizeof all / sizeof all[0];
    qsort(all, n, sizeof all[0], cmp_i64);
    assert_true(all[0] < T0 + 100);
    assert_true(all[n - 1] > T0 + 900);
    size_t distinct = 1;
    int quarters[4] = {0};
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && all[i] != all[i - 1])
            distinct++;
        quarters[(all[i] - T0) * 4 / 1001]++;
    }
    assert_true(distinct > n / 2);
    for (int q = 0; q < 4; q++) /* about n/4 each */
        assert_true(quarters[q] >= (int)n / 8);
}

static void jitter_every_tick_stays_within_bounds(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, NULL);
    lp p;
    lp_init(&p, f.clock);
    chore_loop_config cfg = loop_cfg("every", 1000, &p);
    cfg.jitter_ms = 500;
    cfg.jitter_every_tick = true;
    chore_loop *l = loop_add(&f, &cfg);
    assert_int_equal(chore_start(f.c), CHORE_OK);
    sync_loop(l);
    int64_t now = T0;
    if (lp_calls(&p) == 0) { /* the first tick is jittered too */
        int64_t first = loop_health(l).next_tick_ms;
        assert_true(first > T0 && first <= T0 + 500);
        loop_advance(&f, l, first - now);
        now = first;
    }
    assert_int_equal(lp_calls(&p), 1);
    int64_t min_gap = INT64_MAX, max_gap = 0;
    for (int i = 1; i <= 60; i++) {
        int64_t last = lp_at(&p, i - 1);
        int64_t next = loop_health(l).next_tick_ms;
        int64_t gap = next - last;
        assert_true(gap >= 1000 && gap <= 1500);
        min_gap = gap < min_gap ? gap : min_gap;
        max_gap = gap > max_gap ? gap : max_gap;
        loop_advance(&f, l, next - 1 - now);
        assert_int_equal(lp_calls(&p), i);
        loop_advance(&f, l, 1);
        now = next;
        assert_int_equal(lp_calls(&p), i + 1);
        assert_int_equal(lp_at(&p, i), next);
    }
    assert_true(min_gap < 1150);
    assert_true(max_gap > 1350);
    fixture_close(&f);
    lp_destroy(&p);
}

typedef struct waiter {
    chore_loop *loop;
    int64_t timeout_ms;
    int rc;
    atomic_bool done;
} waiter;

static void *trigger_wait_thread(void *arg)
{
    waiter *w = arg;
    w->rc = chore_loop_trigger_wait(w->loop, w->timeout_ms);
    atomic_store(&w->done, true);
    return NULL;
}

static void trigger_and_trigger_wait(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, NULL);
    lp p;
    lp_init(&p, f.clock);
    chore_loop_config cfg = loop_cfg("trig", 3600000, &p);
    chore_loop *l = loop_add(&f, &cfg);
    /* not running: nothing would run the tick */
    assert_int_equal(chore_loop_trigger_wait(l, 100), CHORE_ESTOPPED);
    assert_int_equal(chore_loop_trigger(l), CHORE_OK); /* kept for the start */
    assert_int_equal(chore_start(f.c), CHORE_OK);
    sync_loop(l);
    assert_int_equal(lp_calls(&p), 1); /* the first tick served the trigger */

    assert_int_equal(chore_loop_trigger_wait(l, WAIT_MS), CHORE_OK);
    assert_int_equal(lp_calls(&p), 2);
    assert_int_equal(lp_at(&p, 1), T0);
    assert_int_equal(loop_health(l).runs, 2);
    /* every tick starts the interval again */
    assert_int_equal(loop_health(l).next_tick_ms, T0 + 3600000);
    loop_advance(&f, l, 100);
    assert_int_equal(chore_loop_trigger(l), CHORE_OK);
    sync_loop(l);
    assert_int_equal(lp_calls(&p), 3);
    assert_int_equal(lp_at(&p, 2), T0 + 100);
    assert_int_equal(loop_health(l).next_tick_ms, T0 + 100 + 3600000);

    /* trigger_wait during a tick waits for the next tick, not this one */
    lp_set_block(&p, true);
    assert_int_equal(chore_loop_trigger(l), CHORE_OK);
    lp_wait_tickets(&p, 1);
    waiter w = {.loop = l, .timeout_ms = WAIT_MS};
    atomic_init(&w.done, false);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, trigger_wait_thread, &w), 0);
    lp_release(&p);             /* the first tick ends... */
    lp_wait_tickets(&p, 2);     /* ...and the triggered one starts and blocks */
    assert_false(atomic_load(&w.done));
    lp_release(&p);
    pthread_join(t, NULL);
    assert_int_equal(w.rc, CHORE_OK);
    assert_int_equal(lp_calls(&p), 5);

    /* a tick that does not finish in time */
    assert_int_equal(chore_loop_trigger(l), CHORE_OK);
    lp_wait_tickets(&p, 3);
    assert_int_equal(chore_loop_trigger_wait(l, 50), CHORE_ETIMEDOUT);
    lp_set_block(&p, false);
    lp_release(&p);
    sync_loop(l); /* the timed-out request still runs its tick */
    assert_int_equal(lp_calls(&p), 7);

    /* trigger_wait from the loop's own tick would wait for itself */
    pthread_mutex_lock(&p.mu);
    p.trigger_wait_self = true;
    pthread_mutex_unlock(&p.mu);
    assert_int_equal(chore_loop_trigger_wait(l, WAIT_MS), CHORE_OK);
    assert_int_equal(p.self_rc, CHORE_EBUSY);
    assert_int_equal(chore_loop_trigger(NULL), CHORE_EINVAL);
    assert_int_equal(chore_loop_trigger_wait(NULL, 1), CHORE_EINVAL);
    fixture_close(&f);
    lp_destroy(&p);
}

static void pause_resume_and_restart(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, NULL);
    lp p;
    lp_init(&p, f.clock);
    chore_loop_config cfg = loop_cfg("pausable", 1000, &p);
    chore_loop *l = loop_add(&f, &cfg);
    assert_int_equal(chore_start(f.c), CHORE_OK);
    sync_loop(l);
    assert_int_equal(lp_calls(&p), 1);

    assert_int_equal(chore_loop_pause(l), CHORE_OK);
    sync_loop(l);
    chore_loop_health h = loop_health(l);
    assert_true(h.paused);
    assert_int_equal(h.next_tick_ms, 0);
    loop_advance(&f, l, 5000);
    assert_int_equal(lp_calls(&p), 1);
    /* a trigger runs even while paused */
    assert_int_equal(chore_loop_trigger_wait(l, WAIT_MS), CHORE_OK);
    assert_int_equal(lp_calls(&p), 2);
    assert_int_equal(lp_at(&p, 1), T0 + 5000);
    /* a wake waits for the resume */
    chore_loop_wake(l);
    sync_loop(l);
    loop_advance(&f, l, 2000);
    assert_int_equal(lp_calls(&p), 2);
    assert_int_equal(chore_loop_resume(l), CHORE_OK);
    sync_loop(l);
    /* overdue and woken: one tick, at once */
    assert_int_equal(lp_calls(&p), 3);
    assert_int_equal(lp_at(&p, 2), T0 + 7000);
    h = loop_health(l);
    assert_false(h.paused);
    assert_int_equal(h.next_tick_ms, T0 + 8000);
    /* a resume with nothing due runs nothing */
    assert_int_equal(chore_loop_pause(l), CHORE_OK);
    assert_int_equal(chore_loop_resume(l), CHORE_OK);
    sync_loop(l);
    assert_int_equal(lp_calls(&p), 3);

    /* restart: the next tick one interval from now */
    loop_advance(&f, l, 600); /* T0 + 7600 */
    assert_int_equal(chore_loop_restart(l), CHORE_OK);
    sync_loop(l);
    assert_int_equal(loop_health(l).next_tick_ms, T0 + 8600);
    loop_advance(&f, l, 400); /* T0 + 8000: the old plan */
    assert_int_equal(lp_calls(&p), 3);
    loop_advance(&f, l, 599);
    assert_int_equal(lp_calls(&p), 3);
    loop_advance(&f, l, 1);
    assert_int_equal(lp_calls(&p), 4);
    assert_int_equal(lp_at(&p, 3), T0 + 8600);
    assert_int_equal(chore_loop_pause(NULL), CHORE_EINVAL);
    assert_int_equal(chore_loop_resume(NULL), CHORE_EINVAL);
    assert_int_equal(chore_loop_restart(NULL), CHORE_EINVAL);
    fixture_close(&f);
    lp_destroy(&p);
}

static void should_run_false_skips_without_failing(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, NULL);
    lp p;
    lp_init(&p, f.clock);
    p.run_ok = false;
    chore_loop_config cfg = loop_cfg("gated", 1000, &p);
    chore_loop *l = loop_add(&f, &cfg);
    assert_int_equal(chore_start(f.c), CHORE_OK);
    sync_loop(l);
    loop_advance(&f, l, 1000);
    assert_int_equal(chore_loop_trigger_wait(l, WAIT_MS), CHORE_OK); /* a skip ends the wait */
    chore_loop_health h = loop_health(l);
    assert_int_equal(lp_calls(&p), 0);
    assert_int_equal(p.should_run_calls, 3);
    assert_int_equal(p.on_start_calls, 0); /* not before a real tick */
    assert_int_equal(h.skips, 3);
    assert_int_equal(h.runs, 0);
    assert_int_equal(h.failures, 0);
    assert_int_equal(h.consecutive_failures, 0);
    assert_string_equal(h.last_skip, "should_run said no");
    assert_string_equal(h.last_error, "");
    assert_int_equal(p.errors, 0);

    pthread_mutex_lock(&p.mu);
    p.run_ok = true;
    pthread_mutex_unlock(&p.mu);
    assert_int_equal(chore_loop_trigger_wait(l, WAIT_MS), CHORE_OK);
    h = loop_health(l);
    assert_int_equal(lp_calls(&p), 1);
    assert_int_equal(p.on_start_calls, 1);
    assert_int_equal(h.runs, 1);
    assert_int_equal(h.skips, 3);
    assert_int_equal(h.last_success_ms, T0 + 1000);
    fixture_close(&f);
    lp_destroy(&p);
}

static void should_stop_after_the_timeout(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, NULL);
    lp p, q;
    lp_init(&p, f.clock);
    lp_init(&q, f.clock);
    chore_loop_config cfg = loop_cfg("timed", 1000, &p);
    cfg.timeout_ms = 100;
    chore_loop *l = loop_add(&f, &cfg);
    chore_loop_config untimed = loop_cfg("untimed", 1000, &q);
    chore_loop *u = loop_add(&f, &untimed);
    lp_set_block(&p, true);
    lp_set_block(&q, true);
    assert_int_equal(chore_start(f.c), CHORE_OK);
    lp_wait_tickets(&p, 1);
    lp_wait_tickets(&q, 1);
    pthread_mutex_lock(&p.mu);
    chore_tick *tick = p.current; /* valid: its call is still running */
    pthread_mutex_unlock(&p.mu);
    pthread_mutex_lock(&q.mu);
    chore_tick *utick = q.current;
    pthread_mutex_unlock(&q.mu);
    assert_false(chore_tick_should_stop(tick));
    chore_clock_advance(f.clock, 99);
    assert_false(chore_tick_should_stop(tick));
    chore_clock_advance(f.clock, 1);
    assert_true(chore_tick_should_stop(tick));
    chore_clock_advance(f.clock, 10000);
    assert_false(chore_tick_should_stop(utick)); /* no timeout: never on time */
    lp_set_block(&p, false);
    lp_set_block(&q, false);
    lp_release(&p);
    lp_release(&q);
    sync_loop(l);
    sync_loop(u);
    assert_true(p.stop_at_exit[0]);
    assert_false(q.stop_at_exit[0]);
    /* the overrun tick was followed at once by one with a fresh timeout */
    assert_int_equal(lp_calls(&p), 2);
    assert_int_equal(lp_at(&p, 1), T0 + 10100);
    assert_false(p.stop_at_exit[1]);
    assert_true(chore_tick_should_stop(NULL));
    fixture_close(&f);
    lp_destroy(&p);
    lp_destroy(&q);
}

static void failures_reach_the_hook_and_health(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, NULL);
    lp p;
    lp_init(&p, f.clock);
    p.n_script = 5;
    p.script[0] = CHORE_OK;
    p.works[0] = 5;
    p.script[1] = CHORE_ESTORE;
    p.msgs[1] = "disk full";
    p.script[2] = 7; /* anything not CHORE_OK fails */
    p.script[3] = CHORE_ETIMEDOUT;
    p.msgs[3] = "slow";
    p.script[4] = CHORE_OK;
    p.works[4] = 2;
    chore_loop_config cfg = loop_cfg("flaky", 3600000, &p);
    chore_loop *l = loop_add(&f, &cfg);
    assert_int_equal(chore_start(f.c), CHORE_OK);
    sync_loop(l);
    chore_loop_health h = loop_health(l);
    assert_int_equal(h.runs, 1);
    assert_int_equal(h.failures, 0);
    assert_int_equal(h.consecutive_failures, 0);
    assert_int_equal(h.last_success_ms, T0);
    assert_int_equal(h.last_failure_ms, 0);
    assert_string_equal(h.last_error, "");
    assert_int_equal(h.last_work, 5);
    assert_true(h.last_duration_us >= 0);

    loop_advance(&f, l, 10);
    assert_int_equal(chore_loop_trigger_wait(l, WAIT_MS), CHORE_OK);
    h = loop_health(l);
    assert_int_equal(h.runs, 2);
    assert_int_equal(h.failures, 1);
    assert_int_equal(h.consecutive_failures, 1);
    assert_int_equal(h.last_success_ms, T0);
    assert_int_equal(h.last_failure_ms, T0 + 10);
    assert_string_equal(h.last_error, "disk full");
    assert_int_equal(h.last_work, 0);
    assert_int_equal(p.errors, 1);
    assert_int_equal(p.error_codes[0], CHORE_ESTORE);
    assert_string_equal(p.error_msgs[0], "disk full");

    loop_advance(&f, l, 10);
    assert_int_equal(chore_loop_trigger_wait(l, WAIT_MS), CHORE_OK);
    loop_advance(&f, l, 10);
    assert_int_equal(chore_loop_trigger_wait(l, WAIT_MS), CHORE_OK);
    h = loop_health(l);
    assert_int_equal(h.runs, 4);
    assert_int_equal(h.failures, 3);
    assert_int_equal(h.consecutive_failures, 3);
    assert_int_equal(h.last_failure_ms, T0 + 30);
    assert_string_equal(h.last_error, "slow");
    assert_int_equal(p.errors, 3);
    assert_int_equal(p.error_codes[1], 7);
    assert_string_equal(p.error_msgs[1], chore_strerror(7)); /* no message: the code's */
    assert_int_equal(p.error_codes[2], CHORE_ETIMEDOUT);
    assert_string_equal(p.error_msgs[2], "slow");

    loop_advance(&f, l, 10);
    assert_int_equal(chore_loop_trigger_wait(l, WAIT_MS), CHORE_OK);
    h = loop_health(l);
    assert_int_equal(h.runs, 5);
    assert_int_equal(h.failures, 3);
    assert_int_equal(h.consecutive_failures, 0);
    assert_int_equal(h.skips, 0);
    assert_int_equal(h.last_success_ms, T0 + 40);
    assert_int_equal(h.last_failure_ms, T0 + 30);
    assert_string_equal(h.last_error, "slow"); /* the last failure's, kept */
    assert_int_equal(h.last_work, 2);
    assert_int_equal(h.next_tick_ms, T0 + 40 + 3600000);
    assert_int_equal(p.errors, 3);
    assert_int_equal(chore_loop_health_get(NULL, &h), CHORE_EINVAL);
    assert_int_equal(chore_loop_health_get(l, NULL), CHORE_EINVAL);
    fixture_close(&f);
    lp_destroy(&p);
}

static void on_start_runs_once_and_is_retried(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, NULL);
    lp p;
    lp_init(&p, f.clock);
    p.n_on_start = 1;
    p.on_start_script[0] = CHORE_ESTORE;
    chore_loop_config cfg = loop_cfg("starter", 3600000, &p);
    chore_loop *l = loop_add(&f, &cfg);
    assert_int_equal(chore_start(f.c), CHORE_OK);
    sync_loop(l);
    chore_loop_health h = loop_health(l);
    assert_int_equal(p.on_start_calls, 1);
    assert_int_equal(lp_calls(&p), 0); /* no run after a failed on_start */
    assert_int_equal(h.runs, 1);
    assert_int_equal(h.failures, 1);
    assert_int_equal(h.consecutive_failures, 1);
    assert_string_equal(h.last_error, "on_start: storage error");
    assert_int_equal(p.errors, 1);
    assert_int_equal(p.error_codes[0], CHORE_ESTORE);

    assert_int_equal(chore_loop_trigger_wait(l, WAIT_MS), CHORE_OK);
    assert_int_equal(p.on_start_calls, 2);
    assert_int_equal(lp_calls(&p), 1);
    assert_int_equal(chore_loop_trigger_wait(l, WAIT_MS), CHORE_OK);
    assert_int_equal(p.on_start_calls, 2);
    assert_int_equal(lp_calls(&p), 2);
    h = loop_health(l);
    assert_int_equal(h.runs, 3);
    assert_int_equal(h.failures, 1);
    assert_int_equal(h.consecutive_failures, 0);
    fixture_close(&f);
    lp_destroy(&p);
}

enum { WAKERS = 4, WAKES_EACH = 2000 };

typedef struct waker {
    chore_loop *loop;
    atomic_long *seq; /* NULL: plain wakes */
} waker;

static void *wake_thread(void *arg)
{
    waker *w = arg;
    for (int i = 0; i < WAKES_EACH; i++) {
        if (w->seq != NULL)
            atomic_fetch_add(w->seq, 1);
        chore_loop_wake(w->loop);
    }
    return NULL;
}

static void run_wakers(chore_loop *l, atomic_long *seq)
{
    pthread_t t[WAKERS];
    waker w = {.loop = l, .seq = seq};
    for (int i = 0; i < WAKERS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, wake_thread, &w), 0);
    for (int i = 0; i < WAKERS; i++)
        pthread_join(t[i], NULL);
}

static void sleeper_wakes_coalesce_and_are_never_lost(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, NULL);
    lp p;
    lp_init(&p, f.clock);
    chore_loop_config cfg = loop_cfg("sleeper", 3600000, &p);
    chore_loop *l = loop_add(&f, &cfg);
    assert_int_equal(chore_start(f.c), CHORE_OK);
    sync_loop(l);
    assert_int_equal(lp_calls(&p), 1);

    /* thousands of wakes from several threads during one tick: one more tick */
    lp_set_block(&p, true);
    chore_loop_trigger(l);
    lp_wait_tickets(&p, 1);
    run_wakers(l, NULL);
    lp_set_block(&p, false);
    lp_release(&p);
    sync_loop(l);
    assert_int_equal(lp_calls(&p), 3);

    /* each wake of an idle loop: one tick */
    for (int i = 1; i <= 50; i++) {
        chore_loop_wake(l);
        sync_loop(l);
        assert_int_equal(lp_calls(&p), 3 + i);
    }

    /* wakes while ticks come and go: a tick starts after the last wake */
    atomic_long seq;
    atomic_init(&seq, 0);
    pthread_mutex_lock(&p.mu);
    p.seq = &seq;
    pthread_mutex_unlock(&p.mu);
    run_wakers(l, &seq);
    sync_loop(l);
    assert_int_equal(atomic_load(&p.last_seq), WAKERS * WAKES_EACH);
    int calls = lp_calls(&p);
    assert_true(calls > 3 + 50);
    assert_int_equal(loop_health(l).runs, calls);
    chore_loop_wake(NULL); /* no-op */
    fixture_close(&f);
    lp_destroy(&p);
}

static void stop_ends_a_loop_for_good(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, NULL);
    lp pa, pb, pc;
    lp_init(&pa, f.clock);
    lp_init(&pb, f.clock);
    lp_init(&pc, f.clock);
    chore_loop_config ca = loop_cfg("a_loop", 1000, &pa);
    chore_loop_config cb = loop_cfg("b_loop", 1000, &pb);
    chore_loop_config cc = loop_cfg("c_loop", 1000, &pc);
    chore_loop *a = loop_add(&f, &ca);
    chore_loop *b = loop_add(&f, &cb);
    chore_loop *c = loop_add(&f, &cc);
    assert_int_equal(chore_start(f.c), CHORE_OK);
    sync_loop(a);
    sync_loop(b);
    sync_loop(c);

    /* stop waits for the running tick, which is told to stop */
    pthread_mutex_lock(&pb.mu);
    pb.block = true;
    pb.honour_stop = true;
    pthread_mutex_unlock(&pb.mu);
    assert_int_equal(chore_loop_trigger(b), CHORE_OK);
    lp_wait_tickets(&pb, 1);
    assert_int_equal(chore_loop_stop(b), CHORE_OK);
    assert_int_equal(lp_calls(&pb), 2);
    assert_true(pb.stop_at_exit[1]);
    chore_loop_health h = loop_health(b);
    assert_true(h.stopped);
    assert_int_equal(h.next_tick_ms, 0);
    assert_int_equal(h.runs, 2);
    assert_int_equal(chore_loop_trigger(b), CHORE_ESTOPPED);
    assert_int_equal(chore_loop_trigger_wait(b, 100), CHORE_ESTOPPED);
    assert_int_equal(chore_loop_pause(b), CHORE_ESTOPPED);
    assert_int_equal(chore_loop_resume(b), CHORE_ESTOPPED);
    assert_int_equal(chore_loop_restart(b), CHORE_ESTOPPED);
    assert_int_equal(chore_loop_stop(b), CHORE_ESTOPPED);
    chore_loop_wake(b);
    assert_ptr_equal(chore_loop_find(f.c, "b_loop"), b); /* keeps its name and handle */

    /* a loop may stop itself from its tick */
    pthread_mutex_lock(&pc.mu);
    pc.stop_self = true;
    pthread_mutex_unlock(&pc.mu);
    assert_int_equal(chore_loop_trigger_wait(c, WAIT_MS), CHORE_OK);
    assert_int_equal(pc.self_rc, CHORE_OK);
    sync_loop(c);
    assert_true(loop_health(c).stopped);

    loop_advance(&f, a, 5000);
    sync_loop(b);
    assert_int_equal(lp_calls(&pa), 2);
    assert_int_equal(lp_calls(&pb), 2);
    assert_int_equal(lp_calls(&pc), 2);

    /* an instance restart leaves stopped loops stopped */
    assert_int_equal(chore_stop(f.c, 1000), CHORE_OK);
    assert_int_equal(chore_start(f.c), CHORE_OK);
    sync_loop(a);
    sync_loop(b);
    sync_loop(c);
    assert_int_equal(lp_calls(&pa), 3);
    assert_int_equal(lp_calls(&pb), 2);
    assert_int_equal(lp_calls(&pc), 2);
    assert_int_equal(chore_loop_stop(NULL), CHORE_EINVAL);
    fixture_close(&f);
    lp_destroy(&pa);
    lp_destroy(&pb);
    lp_destroy(&pc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ticks_follow_the_interval_without_catching_up),
        cmocka_unit_test(first_ticks_spread_over_the_jitter),
        cmocka_unit_test(jitter_every_tick_stays_within_bounds),
        cmocka_unit_test(trigger_and_trigger_wait),
        cmocka_unit_test(pause_resume_and_restart),
        cmocka_unit_test(should_run_false_skips_without_failing),
        cmocka_unit_test(should_stop_after_the_timeout),
        cmocka_unit_test(failures_reach_the_hook_and_health),
        cmocka_unit_test(on_start_runs_once_and_is_retried),
        cmocka_unit_test(sleeper_wakes_coalesce_and_are_never_lost),
        cmocka_unit_test(stop_ends_a_loop_for_good),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
