/* test_rt_schedule.c — cron schedules on the manual clock: one job per
 * slot, across restarts and across two instances on one file; missed-slot
 * and overlap policies; pause, resume, remove, list. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "rt_fixture.h"
#include "runtime/runtime.h"

/* T0 is 2023-11-14T22:13:20Z: the next 10-second slot is T0 + 10 s. */
#define EVERY_10S "*/10 * * * * *"

static int64_t count_jobs(chore *c, const char *name)
{
    chore_job_info *items = NULL;
    size_t n = 0;
    chore_list_query q = {.any_state = true, .name = name, .limit = 10000};
    assert_int_equal(chore_job_list(c, &q, &items, &n, NULL), CHORE_OK);
    chore_job_list_free(items, n);
    return (int64_t)n;
}

static chore_schedule_info find_schedule(chore *c, const char *name, chore_schedule_info **all,
                                         size_t *n)
{
    assert_int_equal(chore_schedule_list(c, all, n), CHORE_OK);
    for (size_t i = 0; i < *n; i++) {
        if (strcmp((*all)[i].name, name) == 0)
            return (*all)[i];
    }
    fail_msg("no schedule %s", name);
    return (chore_schedule_info){0};
}

static void each_slot_fires_one_job(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, NULL);
    probe p;
    probe_init(&p, CHORE_OK);
    assert_int_equal(chore_handle(f.c, "tick", probe_handler, &p, NULL), CHORE_OK);
    assert_int_equal(chore_schedule(f.c, "ticker", EVERY_10S, "tick", "{\"a\":1}", NULL),
                     CHORE_OK);
    assert_int_equal(chore_start(f.c), CHORE_OK);
    fixture_idle(&f);
    assert_int_equal(probe_calls(&p), 0);
    fixture_advance(&f, 9999);
    assert_int_equal(probe_calls(&p), 0);
    fixture_advance(&f, 1);
    assert_int_equal(probe_calls(&p), 1);
    for (int i = 0; i < 20; i++) /* one second at a time: a job every 10 */
        fixture_advance(&f, 1000);
    assert_int_equal(probe_calls(&p), 3);
    chore_job_info *info = NULL;
    assert_int_equal(chore_job_get(f.c, p.ids[0], &info), CHORE_OK);
    char key[64];
    snprintf(key, sizeof key, "schedule:ticker:%lld", (long long)(T0 + 10000));
    assert_string_equal(info->unique_key, key);
    assert_string_equal(info->payload, "{\"a\":1}");
    chore_job_info_free(info);

    chore_schedule_info *all = NULL;
    size_t n = 0;
    chore_schedule_info sc = find_schedule(f.c, "ticker", &all, &n);
    assert_int_equal(sc.last_fire_ms, T0 + 30000);
    assert_int_equal(sc.next_fire_ms, T0 + 40000);
    assert_int_equal(sc.last_job_id, p.ids[2]);
    chore_schedule_list_free(all, n);
    fixture_close(&f);
    probe_destroy(&p);
}

static void a_restart_keeps_the_slot_history_and_missed_slots_follow_policy(void **state)
{
    (void)state;
    fixture f;
    chore_config cfg = {.misfire_ms = 1000}; /* a slot a second late is missed */
    fixture_open(&f, &cfg);
    chore_schedule_opts once = {0}, skip = {.missed = CHORE_MISSED_SKIP},
                        each = {.missed = CHORE_MISSED_EACH, .missed_cap = 2};
    assert_int_equal(chore_schedule(f.c, "once", EVERY_10S, "j.once", NULL, &once), CHORE_OK);
    assert_int_equal(chore_schedule(f.c, "skip", EVERY_10S, "j.skip", NULL, &skip), CHORE_OK);
    assert_int_equal(chore_schedule(f.c, "each", EVERY_10S, "j.each", NULL, &each), CHORE_OK);
    assert_int_equal(chore_start(f.c), CHORE_OK);
    fixture_advance(&f, 10000);
    assert_int_equal(count_jobs(f.c, "j.once"), 1);
    assert_int_equal(count_jobs(f.c, "j.skip"), 1);
    assert_int_equal(count_jobs(f.c, "j.each"), 1);
    chore_close(f.c); /* down for 10 minutes and 5 s: 60 slots missed */
    chore_clock_advance(f.clock, 605000);
    f.c = fixture_open_peer(&f, &cfg);
    assert_int_equal(chore_start(f.c), CHORE_OK);
    fixture_idle(&f);
    assert_int_equal(count_jobs(f.c, "j.once"), 2); /* one for all of them */
    assert_int_equal(count_jobs(f.c, "j.skip"), 1); /* none */
    assert_int_equal(count_jobs(f.c, "j.each"), 3); /* the newest two */
    fixture_advance(&f, 5000); /* on time again: every policy fires */
    assert_int_equal(count_jobs(f.c, "j.once"), 3);
    assert_int_equal(count_jobs(f.c, "j.skip"), 2);
    assert_int_equal(count_jobs(f.c, "j.each"), 4);
    fixture_close(&f);
}

static void one_job_per_slot_through_many_restarts(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, NULL);
    assert_int_equal(chore_schedule(f.c, "r", EVERY_10S, "r.job", NULL, NULL), CHORE_OK);
    for (int i = 0; i < 100; i++) { /* up 3 s, down 4 s: 700 s, 70 slots */
        assert_int_equal(chore_start(f.c), CHORE_OK);
        fixture_advance(&f, 3000);
        chore_close(f.c);
        chore_clock_advance(f.clock, 4000);
        f.c = fixture_open_peer(&f, NULL);
    }
    assert_int_equal(chore_start(f.c), CHORE_OK);
    fixture_idle(&f);
    chore_job_info *items = NULL;
    size_t n = 0;
    chore_list_query q = {.any_state = true, .name = "r.job", .limit = 10000};
    assert_int_equal(chore_job_list(f.c, &q, &items, &n, NULL), CHORE_OK);
    assert_int_equal(n, 70);
    for (size_t i = 0; i < n; i++) { /* slots 10 s apart, each once */
        char key[64];
        snprintf(key, sizeof key, "schedule:r:%lld", (long long)(T0 + 10000 * (70 - (int64_t)i)));
        assert_string_equal(items[i].unique_key, key);
    }
    chore_job_list_free(items, n);
    fixture_close(&f);
}

static void two_instances_fire_each_slot_once(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, NULL);
    chore *peer = fixture_open_peer(&f, NULL);
    assert_int_equal(chore_schedule(f.c, "shared", "* * * * * *", "s.job", NULL, NULL), CHORE_OK);
    assert_int_equal(chore_start(f.c), CHORE_OK);
    assert_int_equal(chore_start(peer), CHORE_OK);
    for (int i = 0; i < 200; i++) {
        chore_clock_advance(f.clock, 1000);
        assert_int_equal(chore_wait_idle(f.c, WAIT_MS), CHORE_OK);
        assert_int_equal(chore_wait_idle(peer, WAIT_MS), CHORE_OK);
    }
    assert_int_equal(count_jobs(f.c, "s.job"), 200);
    chore_close(peer);
    fixture_close(&f);
}

static void overlap_skip_drops_slots_while_the_job_runs(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, NULL);
    probe p;
    probe_init(&p, CHORE_OK);
    p.block = true;
    assert_int_equal(chore_handle(f.c, "slow", probe_handler, &p, NULL), CHORE_OK);
    chore_schedule_opts skip = {.overlap = CHORE_OVERLAP_SKIP};
    chore_schedule_opts queue_one = {.overlap = CHORE_OVERLAP_QUEUE_ONE};
    assert_int_equal(chore_schedule(f.c, "s1", EVERY_10S, "slow", NULL, &skip), CHORE_OK);
    assert_int_equal(chore_schedule(f.c, "q1", EVERY_10S, "queued", NULL, &queue_one), CHORE_OK);
    assert_int_equal(chore_start(f.c), CHORE_OK);
    chore_clock_advance(f.clock, 10000);
    probe_wait_blocked(&p, 1);
    for (int i = 0; i < 3; i++) { /* three more slots while it runs */
        chore_clock_advance(f.clock, 10000);
        assert_int_equal(rt_sync(f.c, WAIT_MS), CHORE_OK);
    }
    probe_release(&p);
    fixture_idle(&f);
    assert_int_equal(count_jobs(f.c, "slow"), 1);
    /* "queued" has no handler, so its first job never finishes: its later
     * slots keep one waiting and enqueue nothing */
    assert_int_equal(count_jobs(f.c, "queued"), 1);
    fixture_close(&f);
    probe_destroy(&p);
}

static void pause_resume_and_remove(void **state)
{
    (void)state;
    fixture f;
    chore_config cfg = {.misfire_ms = 1000};
    fixture_open(&f, &cfg);
    chore_schedule_opts skip = {.missed = CHORE_MISSED_SKIP};
    assert_int_equal(chore_schedule(f.c, "p", EVERY_10S, "p.job", NULL, &skip), CHORE_OK);
    assert_int_equal(chore_start(f.c), CHORE_OK);
    fixture_advance(&f, 10000);
    assert_int_equal(count_jobs(f.c, "p.job"), 1);
    assert_int_equal(chore_schedule_pause(f.c, "p"), CHORE_OK);
    fixture_advance(&f, 305000);
    assert_int_equal(count_jobs(f.c, "p.job"), 1);
    assert_int_equal(chore_schedule_resume(f.c, "p"), CHORE_OK);
    fixture_idle(&f);
    assert_int_equal(count_jobs(f.c, "p.job"), 1); /* the paused slots were missed: skipped */
    fixture_advance(&f, 5000);
    assert_int_equal(count_jobs(f.c, "p.job"), 2);
    assert_int_equal(chore_unschedule(f.c, "p"), CHORE_OK);
    assert_int_equal(chore_unschedule(f.c, "p"), CHORE_ENOTFOUND);
    fixture_advance(&f, 60000);
    assert_int_equal(count_jobs(f.c, "p.job"), 2);
    assert_int_equal(chore_schedule_pause(f.c, "p"), CHORE_ENOTFOUND);
    fixture_close(&f);
}

static void bad_schedules_are_refused(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, NULL);
    assert_int_equal(chore_schedule(f.c, "x", "61 * * * *", "j", NULL, NULL), CHORE_EINVAL);
    assert_int_equal(chore_schedule(f.c, "x", "* * * *", "j", NULL, NULL), CHORE_EINVAL);
    chore_schedule_opts zone = {.zone = "Mars/Olympus_Mons"};
    assert_int_equal(chore_schedule(f.c, "x", "0 9 * * *", "j", NULL, &zone), CHORE_EINVAL);
    assert_int_equal(chore_schedule(f.c, "x", "0 9 * * *", "j", "{nope", NULL), CHORE_EJSON);
    assert_int_equal(chore_schedule(f.c, "", "0 9 * * *", "j", NULL, NULL), CHORE_EINVAL);
    assert_int_equal(chore_schedule(f.c, "x", "0 9 * * *", "", NULL, NULL), CHORE_EINVAL);
    chore_schedule_opts cap = {.missed = CHORE_MISSED_EACH, .missed_cap = 5000};
    assert_int_equal(chore_schedule(f.c, "x", "0 9 * * *", "j", NULL, &cap), CHORE_EINVAL);
    chore_schedule_info *all = NULL;
    size_t n = 9;
    assert_int_equal(chore_schedule_list(f.c, &all, &n), CHORE_OK);
    assert_int_equal(n, 0);
    chore_schedule_list_free(all, n);
    fixture_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(each_slot_fires_one_job),
        cmocka_unit_test(a_restart_keeps_the_slot_history_and_missed_slots_follow_policy),
        cmocka_unit_test(one_job_per_slot_through_many_restarts),
        cmocka_unit_test(two_instances_fire_each_slot_once),
        cmocka_unit_test(overlap_skip_drops_slots_while_the_job_runs),
        cmocka_unit_test(pause_resume_and_remove),
        cmocka_unit_test(bad_schedules_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
