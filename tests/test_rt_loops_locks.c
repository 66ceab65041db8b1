/* test_rt_loops_locks.c — loops on the manual clock: adding loops while
 * running and listing them by name, registration rules (names, configs,
 * lock ids), and locked loops, on a lock another process holds and on two
 * instances sharing one store (a SQLite file or a PostgreSQL schema).
 * Timing, control and health are in test_rt_loops.c; the shared probe in
 * support/loop_probe.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "loop_probe.h"
#include "rt_fixture.h"
#include "runtime/loop.h"
#include "runtime/runtime.h"
#include "store/store.h"

static void loops_added_while_running_and_listed_by_name(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, NULL);
    lp p[3];
    const char *names[3] = {"zeta", "alpha", "mid.dle"};
    chore_loop *loops[3];
    for (int i = 0; i < 3; i++)
        lp_init(&p[i], f.clock);
    chore_loop_config c0 = loop_cfg(names[0], 1000, &p[0]);
    loops[0] = loop_add(&f, &c0);
    assert_int_equal(chore_start(f.c), CHORE_OK);
    for (int i = 1; i < 3; i++) {
        chore_loop_config ci = loop_cfg(names[i], 1000, &p[i]);
        loops[i] = loop_add(&f, &ci);
    }
    for (int i = 0; i < 3; i++) {
        sync_loop(loops[i]);
        assert_int_equal(lp_calls(&p[i]), 1); /* started at once */
        assert_ptr_equal(chore_loop_find(f.c, names[i]), loops[i]);
    }
    assert_null(chore_loop_find(f.c, "nope"));
    assert_null(chore_loop_find(f.c, NULL));
    assert_null(chore_loop_find(NULL, "zeta"));
    chore_loop_health *items = NULL;
    size_t n = 0;
    assert_int_equal(chore_loops_health(f.c, &items, &n), CHORE_OK);
    /* by name, chore's own maintenance loops among them */
    const char *sorted[] = {"alpha", "chore.pruner", "chore.rescuer", "chore.scheduler",
                            "mid.dle", "zeta"};
    assert_int_equal(n, 6);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(items[i].name, sorted[i]);
        if (strncmp(items[i].name, "chore.", 6) == 0)
            continue;
        assert_int_equal(items[i].runs, 1);
        assert_int_equal(items[i].next_tick_ms, T0 + 1000);
    }
    free(items);
    assert_int_equal(chore_loops_health(f.c, NULL, &n), CHORE_EINVAL);
    fixture_close(&f);
    for (int i = 0; i < 3; i++)
        lp_destroy(&p[i]);

    /* no loops of the program's: chore's own, not running yet */
    fixture_open(&f, NULL);
    assert_int_equal(chore_loops_health(f.c, &items, &n), CHORE_OK);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(items[i].name, sorted[i + 1]);
        assert_int_equal(items[i].runs, 0);
        assert_int_equal(items[i].next_tick_ms, 0);
    }
    free(items);
    fixture_close(&f);
}

static chore_loop_health health_of(fixture *f, const char *name)
{
    chore_loop_health h;
    assert_int_equal(chore_loop_health_get(chore_loop_find(f->c, name), &h), CHORE_OK);
    return h;
}

/* Rescue, pruning and schedule firing are loops, with their work in health. */
static void maintenance_loops_report_their_work(void **state)
{
    (void)state;
    fixture f;
    chore_config cfg = {.rescue_interval_ms = 1000, .retention_ms = 10000,
                        .prune_interval_ms = 60000};
    fixture_open(&f, &cfg);
    int64_t id;
    assert_int_equal(chore_enqueue(f.c, "job", NULL, NULL, &id), CHORE_OK);
    /* a process that claimed the job and died */
    const store_ops *ops = NULL;
    store *st = fixture_store_open(&f, &ops);
    store_claim_req req = {.max = 1, .lease_ms = 500};
    store_claimed *got = NULL;
    size_t n = 0;
    assert_int_equal(ops->claim(st, &req, T0, &got, &n), CHORE_OK);
    assert_int_equal(n, 1);
    store_claimed_free(got, n);
    ops->close(st);

    probe p;
    probe_init(&p, CHORE_OK);
    assert_int_equal(chore_handle(f.c, "job", probe_handler, &p, NULL), CHORE_OK);
    assert_int_equal(chore_start(f.c), CHORE_OK);
    fixture_idle(&f);
    chore_loop_health rescuer = health_of(&f, "chore.rescuer");
    assert_int_equal(rescuer.runs, 1); /* at once on start: nothing lapsed yet */
    assert_int_equal(rescuer.last_work, 0);
    assert_int_equal(rescuer.next_tick_ms, T0 + 1000);

    fixture_advance(&f, 1000);
    rescuer = health_of(&f, "chore.rescuer");
    assert_int_equal(rescuer.runs, 2);
    assert_int_equal(rescuer.last_work, 1);
    assert_int_equal(fixture_state(&f, id), CHORE_COMPLETED);
    assert_int_equal(probe_calls(&p), 1);

    chore_loop_health pruner = health_of(&f, "chore.pruner");
    assert_int_equal(pruner.runs, 1);
    assert_int_equal(pruner.last_work, 0); /* too young to prune */
    fixture_advance(&f, 60000);
    pruner = health_of(&f, "chore.pruner");
    assert_int_equal(pruner.runs, 2);
    assert_int_equal(pruner.last_work, 1);
    chore_job_info *info = NULL;
    assert_int_equal(chore_job_get(f.c, id, &info), CHORE_ENOTFOUND);

    assert_int_equal(chore_schedule(f.c, "tick", "*/10 * * * * *", "job", NULL, NULL), CHORE_OK);
    fixture_advance(&f, 10000);
    chore_loop_health sched = health_of(&f, "chore.scheduler");
    assert_true(sched.runs >= 2);
    assert_int_equal(sched.failures, 0);
    assert_int_equal(probe_calls(&p), 2); /* the schedule's first slot ran */
    fixture_close(&f);
    probe_destroy(&p);
}

static void registration_refuses_conflicts_and_bad_configs(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, NULL);
    lp p;
    lp_init(&p, f.clock);

    chore_loop_config ok = loop_cfg("ok_loop", 1000, &p);
    chore_loop *l = (chore_loop *)&f;
    assert_int_equal(chore_loop_add(f.c, &ok, &l), CHORE_OK);
    assert_non_null(l);
    assert_int_equal(chore_loop_add(f.c, &ok, &l), CHORE_EEXIST);
    assert_null(l);

    chore_loop_config bad = ok;
    const char *bad_names[] = {NULL, "", "Upper", "has-dash", "has space", "chore.mine",
                               "chore.", "x\n",
                               "a_name_that_is_much_too_long_for_a_loop_because_it_has_65_bytes__"};
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
        bad.name = bad_names[i];
        assert_int_equal(chore_loop_add(f.c, &bad, NULL), CHORE_EINVAL);
    }
    bad.name = "a_name_that_is_exactly_64_bytes_long_which_is_the_most_allowed__";
    assert_int_equal(strlen(bad.name), 64);
    assert_int_equal(chore_loop_add(f.c, &bad, NULL), CHORE_OK);
    bad = ok;
    bad.name = "chorex.fine";
    assert_int_equal(chore_loop_add(f.c, &bad, NULL), CHORE_OK);
    bad = ok;
    bad.name = "fresh";
    bad.interval_ms = 0;
    assert_int_equal(chore_loop_add(f.c, &bad, NULL), CHORE_EINVAL);
    bad.interval_ms = -5;
    assert_int_equal(chore_loop_add(f.c, &bad, NULL), CHORE_EINVAL);
    bad.interval_ms = 1000;
    bad.run = NULL;
    assert_int_equal(chore_loop_add(f.c, &bad, NULL), CHORE_EINVAL);
    bad.run = lp_run;
    bad.jitter_ms = -1;
    assert_int_equal(chore_loop_add(f.c, &bad, NULL), CHORE_EINVAL);
    bad.jitter_ms = 0;
    bad.timeout_ms = -1;
    assert_int_equal(chore_loop_add(f.c, &bad, NULL), CHORE_EINVAL);
    bad.timeout_ms = 0;
    bad.locked = true;
    bad.lock_name = "Bad Lock";
    assert_int_equal(chore_loop_add(f.c, &bad, NULL), CHORE_EINVAL);
    bad.lock_name = "chore.pruner"; /* reserved for chore's own */
    assert_int_equal(chore_loop_add(f.c, &bad, NULL), CHORE_EINVAL);
    assert_int_equal(chore_loop_add(NULL, &ok, NULL), CHORE_EINVAL);
    assert_int_equal(chore_loop_add(f.c, NULL, NULL), CHORE_EINVAL);

    /* lock ids are unique among locked loops */
    chore_loop_config locked = ok;
    locked.locked = true;
    locked.name = "locked_two";
    locked.lock_name = "shared";
    assert_int_equal(chore_loop_add(f.c, &locked, NULL), CHORE_OK);
    locked.name = "locked_three";
    assert_int_equal(chore_loop_add(f.c, &locked, NULL), CHORE_EEXIST);
    locked.name = "shared"; /* its default lock id is its name: taken */
    locked.lock_name = NULL;
    assert_int_equal(chore_loop_add(f.c, &locked, NULL), CHORE_EEXIST);
    locked.locked = false; /* an unlocked loop has no lock id */
    assert_int_equal(chore_loop_add(f.c, &locked, NULL), CHORE_OK);
    locked.locked = true;
    locked.name = "locked_four";
    locked.lock_name = "ok_loop"; /* the name of an unlocked loop: no conflict */
    assert_int_equal(chore_loop_add(f.c, &locked, NULL), CHORE_OK);
    /* the runtime allows chore's own names */
    chore_loop_config own = ok;
    own.name = "chore.rescuer"; /* chore's own, there from the open */
    assert_int_equal(rt_loop_add(f.c, &own, NULL), CHORE_EEXIST);
    own.name = "chore.extra";
    assert_int_equal(rt_loop_add(f.c, &own, NULL), CHORE_OK);
    assert_int_equal(rt_loop_add(f.c, &own, NULL), CHORE_EEXIST);
    fixture_close(&f);
    lp_destroy(&p);
}

/* Another process's hold on a lock, taken through the store directly. */
static bool hold_lock_elsewhere(fixture *f, const char *name, int64_t now, int64_t ttl)
{
    const store_ops *ops = NULL;
    store *st = fixture_store_open(f, &ops);
    bool held = false;
    assert_int_equal(ops->lock_acquire(st, name, "another-process", now, ttl, &held), CHORE_OK);
    ops->close(st);
    return held;
}

static void locked_loops_tick_only_while_holding_the_lock(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, NULL);
    /* Another process holds the lock for the next 15 s. Its store and
     * ours each measure their clock skew once, a little apart in real
     * time (pg_clock.c), so the times here keep seconds of margin. */
    assert_true(hold_lock_elsewhere(&f, "guarded", T0, 15000));
    lp p;
    lp_init(&p, f.clock);
    chore_loop_config cfg = loop_cfg("guarded", 10000, &p);
    cfg.locked = true;
    cfg.timeout_ms = 30000;
    chore_loop *l = loop_add(&f, &cfg);
    assert_int_equal(chore_start(f.c), CHORE_OK);
    sync_loop(l);
    chore_loop_health h = loop_health(l);
    assert_int_equal(lp_calls(&p), 0);
    assert_int_equal(h.skips, 1);
    assert_string_equal(h.last_skip, "locked elsewhere");
    assert_int_equal(h.failures, 0);

    loop_advance(&f, l, 10000); /* T0 + 10 s: still theirs */
    assert_int_equal(lp_calls(&p), 0);
    assert_int_equal(loop_health(l).skips, 2);

    loop_advance(&f, l, 10000); /* T0 + 20 s: their lease ran out, ours now */
    h = loop_health(l);
    assert_int_equal(lp_calls(&p), 1);
    assert_int_equal(h.runs, 1);
    assert_int_equal(h.skips, 2);
    /* our lease is max(2 intervals, timeout + interval) = 40 s from the tick */
    assert_false(hold_lock_elsewhere(&f, "guarded", T0 + 20000 + 39999, 10000));
    /* and from an owner sharing our store: on PostgreSQL our session's
     * advisory lock lets it through, so the lease row alone holds it off */
    bool held = true;
    assert_int_equal(f.c->ops->lock_acquire(f.c->st, "guarded", "same-store", T0 + 20000 + 39999,
                                            10000, &held),
                     CHORE_OK);
    assert_false(held);

    loop_advance(&f, l, 10000);
    assert_int_equal(lp_calls(&p), 2);

    /* stopping gives the lock up at once */
    assert_int_equal(chore_loop_stop(l), CHORE_OK);
    assert_true(hold_lock_elsewhere(&f, "guarded", T0 + 30000, 10000));
    assert_int_equal(chore_stop(f.c, 1000), CHORE_OK);
    fixture_close(&f);
    lp_destroy(&p);
}

static void two_instances_share_a_locked_loop(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, NULL);
    chore *peer = fixture_open_peer(&f, NULL);
    lp p, q;
    lp_init(&p, f.clock);
    lp_init(&q, f.clock);
    chore_loop_config cfg = loop_cfg("shared_chore", 1000, &p);
    cfg.locked = true;
    chore_loop *l = loop_add(&f, &cfg);
    cfg.ud = &q;
    chore_loop *m = NULL;
    assert_int_equal(chore_loop_add(peer, &cfg, &m), CHORE_OK);
    assert_int_equal(chore_start(f.c), CHORE_OK);
    sync_loop(l);
    assert_int_equal(chore_start(peer), CHORE_OK);
    sync_loop(m);
    /* the first to start holds the lock; the other skips every tick */
    for (int i = 0; i < 30; i++) {
        chore_clock_advance(f.clock, 1000);
        sync_loop(l);
        sync_loop(m);
    }
    chore_loop_health hl = loop_health(l), hm = loop_health(m);
    assert_int_equal(hl.runs + hm.runs, 31);
    assert_int_equal(hl.runs, 31);
    assert_int_equal(hm.skips, 31);
    assert_string_equal(hm.last_skip, "locked elsewhere");
    /* the holder stops and gives the lock up: the peer takes over */
    assert_int_equal(chore_loop_stop(l), CHORE_OK);
    loop_advance(&f, m, 1000);
    assert_int_equal(loop_health(m).runs, 1);
    chore_close(peer);
    fixture_close(&f);
    lp_destroy(&p);
    lp_destroy(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(loops_added_while_running_and_listed_by_name),
        cmocka_unit_test(registration_refuses_conflicts_and_bad_configs),
        cmocka_unit_test(maintenance_loops_report_their_work),
        cmocka_unit_test(locked_loops_tick_only_while_holding_the_lock),
        cmocka_unit_test(two_instances_share_a_locked_loop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
