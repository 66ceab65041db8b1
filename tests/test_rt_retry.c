/* test_rt_retry.c — runtime on the manual clock: completion, the backoff
 * schedule, max attempts, discard, snooze, unique keys, validation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>

#include "rt_fixture.h"

static chore_job_info *get(fixture *f, int64_t id)
{
    chore_job_info *info = NULL;
    assert_int_equal(chore_job_get(f->c, id, &info), CHORE_OK);
    return info;
}

/* The store holds no job in any state. */
static void assert_no_jobs(fixture *f)
{
    int64_t counts[CHORE_STATE_COUNT];
    assert_int_equal(chore_count_by_state(f->c, counts), CHORE_OK);
    for (int s = 0; s < CHORE_STATE_COUNT; s++)
        assert_int_equal(counts[s], 0);
}

/* All `want` jobs are completed, and the handlers ran `want` times; when
 * not, the failure says where every job is, so that a rare failure tells
 * which state the missing jobs were left in. */
static void assert_all_completed(chore *c, int64_t want, int handler_calls)
{
    int64_t counts[CHORE_STATE_COUNT];
    assert_int_equal(chore_count_by_state(c, counts), CHORE_OK);
    if (counts[CHORE_COMPLETED] == want && handler_calls == want)
        return;
    char where[256] = "";
    size_t used = 0;
    for (int s = 0; s < CHORE_STATE_COUNT && used < sizeof where; s++)
        used += (size_t)snprintf(where + used, sizeof where - used, " %s=%lld",
                                 chore_state_name((chore_state)s), (long long)counts[s]);
    fail_msg("%lld jobs should be completed, each run once; jobs by state:%s; handler calls %d",
             (long long)want, where, handler_calls);
}

static void many_jobs_complete_exactly_once(void **state)
{
    (void)state;
    fixture f;
    chore_config cfg = {.workers = 4, .fetch_batch = 64};
    fixture_open(&f, &cfg);
    probe p;
    probe_init(&p, CHORE_OK);
    assert_int_equal(chore_handle(f.c, "work", probe_handler, &p, NULL), CHORE_OK);
    assert_int_equal(chore_start(f.c), CHORE_OK);
    for (int i = 0; i < 1000; i++) {
        int64_t id;
        assert_int_equal(chore_enqueue(f.c, "work", "{\"n\":1}", NULL, &id), CHORE_OK);
    }
    fixture_idle(&f);
    assert_all_completed(f.c, 1000, probe_calls(&p));
    fixture_close(&f);
    probe_destroy(&p);
}

/* Enqueue n jobs named "work" from a thread. */
typedef struct enqueuer {
    chore *c;
    int n;
    int failures;
} enqueuer;

static void *enqueue_many(void *arg)
{
    enqueuer *e = arg;
    for (int i = 0; i < e->n; i++) {
        int64_t id;
        if (chore_enqueue(e->c, "work", NULL, NULL, &id) != CHORE_OK)
            e->failures++;
    }
    return NULL;
}

static void two_instances_share_one_file(void **state)
{
    (void)state;
    fixture f;
    chore_config cfg = {.workers = 2};
    fixture_open(&f, &cfg);
    chore *peer = fixture_open_peer(&f, &cfg);
    probe a, b;
    probe_init(&a, CHORE_OK);
    probe_init(&b, CHORE_OK);
    assert_int_equal(chore_handle(f.c, "work", probe_handler, &a, NULL), CHORE_OK);
    assert_int_equal(chore_handle(peer, "work", probe_handler, &b, NULL), CHORE_OK);
    assert_int_equal(chore_start(f.c), CHORE_OK);
    assert_int_equal(chore_start(peer), CHORE_OK);
    enqueuer ea = {f.c, 1000, 0}, eb = {peer, 1000, 0};
    pthread_t ta, tb;
    pthread_create(&ta, NULL, enqueue_many, &ea);
    pthread_create(&tb, NULL, enqueue_many, &eb);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    assert_int_equal(ea.failures + eb.failures, 0);
    /* One wait after the other is not enough: a peer's wake-up may let
     * one instance claim jobs the other enqueued after its own wait
     * returned. So both wait again (at once when idle) until every job
     * is completed; a job truly lost leaves both idle, and the rounds
     * end. */
    int64_t counts[CHORE_STATE_COUNT] = {0};
    for (int round = 0; round < 20 && counts[CHORE_COMPLETED] < 2000; round++) {
        assert_int_equal(chore_wait_idle(f.c, WAIT_MS), CHORE_OK);
        assert_int_equal(chore_wait_idle(peer, WAIT_MS), CHORE_OK);
        assert_int_equal(chore_count_by_state(f.c, counts), CHORE_OK);
    }
    /* no lease lapsed, so no job ran twice */
    assert_all_completed(f.c, 2000, probe_calls(&a) + probe_calls(&b));
    chore_close(peer);
    fixture_close(&f);
    probe_destroy(&a);
    probe_destroy(&b);
}

static void failures_follow_the_backoff_schedule_then_discard(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, NULL);
    probe p;
    probe_init(&p, CHORE_ESTORE);
    chore_handler_opts ho = {.backoff_base_ms = 1000, .backoff_max_ms = 4000, .backoff_jitter = -1};
    assert_int_equal(chore_handle(f.c, "flaky", probe_handler, &p, &ho), CHORE_OK);
    assert_int_equal(chore_start(f.c), CHORE_OK);
    int64_t id;
    chore_enqueue_opts eo = {.max_attempts = 5};
    assert_int_equal(chore_enqueue(f.c, "flaky", NULL, &eo, &id), CHORE_OK);
    fixture_idle(&f);
    const int64_t delays[] = {1000, 2000, 4000, 4000}; /* doubling, capped at 4 s */
    for (int attempt = 1; attempt <= 4; attempt++) {
        assert_int_equal(probe_calls(&p), attempt);
        chore_job_info *info = get(&f, id);
        assert_int_equal(info->state, CHORE_SCHEDULED);
        assert_int_equal(info->attempt, attempt);
        assert_int_equal(info->n_errors, (size_t)attempt);
        assert_string_equal(info->errors[attempt - 1].error, "probe failed on purpose");
        assert_int_equal(info->run_at_ms, chore_now(f.c) + delays[attempt - 1]);
        chore_job_info_free(info);
        fixture_advance(&f, delays[attempt - 1] - 1); /* one ms early: nothing runs */
        assert_int_equal(probe_calls(&p), attempt);
        fixture_advance(&f, 1);
    }
    assert_int_equal(probe_calls(&p), 5);
    chore_job_info *info = get(&f, id);
    assert_int_equal(info->state, CHORE_DISCARDED);
    assert_int_equal(info->attempt, 5);
    assert_int_equal(info->n_errors, 5);
    assert_true(info->finished_at_ms > 0);
    chore_job_info_free(info);
    fixture_close(&f);
    probe_destroy(&p);
}

static void jitter_keeps_retries_within_bounds(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, NULL);
    probe p;
    probe_init(&p, CHORE_ESTORE);
    chore_handler_opts ho = {.backoff_base_ms = 10000, .backoff_jitter = 0.5};
    assert_int_equal(chore_handle(f.c, "j", probe_handler, &p, &ho), CHORE_OK);
    assert_int_equal(chore_start(f.c), CHORE_OK);
    int64_t ids[20];
    for (int i = 0; i < 20; i++)
        assert_int_equal(chore_enqueue(f.c, "j", NULL, NULL, &ids[i]), CHORE_OK);
    fixture_idle(&f);
    int64_t lo = INT64_MAX, hi = 0;
    for (int i = 0; i < 20; i++) {
        chore_job_info *info = get(&f, ids[i]);
        int64_t delay = info->run_at_ms - chore_now(f.c);
        assert_true(delay >= 5000 && delay <= 10000);
        lo = delay < lo ? delay : lo;
        hi = delay > hi ? delay : hi;
        chore_job_info_free(info);
    }
    assert_true(hi > lo); /* twenty equal draws would mean no jitter */
    fixture_close(&f);
    probe_destroy(&p);
}

static void discard_and_snooze(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, NULL);
    probe discard, snooze;
    probe_init(&discard, CHORE_DISCARD);
    probe_init_snoozing(&snooze, 5000);
    assert_int_equal(chore_handle(f.c, "d", probe_handler, &discard, NULL), CHORE_OK);
    assert_int_equal(chore_handle(f.c, "s", probe_handler, &snooze, NULL), CHORE_OK);
    assert_int_equal(chore_start(f.c), CHORE_OK);
    int64_t d, s;
    assert_int_equal(chore_enqueue(f.c, "d", NULL, NULL, &d), CHORE_OK);
    assert_int_equal(chore_enqueue(f.c, "s", NULL, NULL, &s), CHORE_OK);
    fixture_idle(&f);
    chore_job_info *info = get(&f, d);
    assert_int_equal(info->state, CHORE_DISCARDED);
    assert_int_equal(info->n_errors, 1);
    chore_job_info_free(info);
    info = get(&f, s);
    assert_int_equal(info->state, CHORE_SCHEDULED);
    assert_int_equal(info->attempt, 0); /* a snooze is not an attempt */
    assert_int_equal(info->run_at_ms, chore_now(f.c) + 5000);
    chore_job_info_free(info);
    fixture_advance(&f, 4999);
    assert_int_equal(probe_calls(&snooze), 1);
    fixture_advance(&f, 1);
    assert_int_equal(probe_calls(&snooze), 2);
    assert_int_equal(snooze.attempts[1], 1);
    assert_int_equal(fixture_state(&f, s), CHORE_COMPLETED);
    fixture_close(&f);
    probe_destroy(&discard);
    probe_destroy(&snooze);
}

/* Run times end with year 9999 (CHORE_TIME_MAX_MS): a later one, given or
 * reached by a delay, is refused and stores nothing; nothing overflows,
 * however long the delay, lease or timeout (UBSan would stop the test). */
static void run_times_past_year_9999_are_refused(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, NULL);
    const int64_t now = chore_now(f.c);
    int64_t id = 0, ids[2];
    const chore_enqueue_opts bad[] = {
        {.run_at_ms = CHORE_TIME_MAX_MS + 1},
        {.run_at_ms = INT64_MAX},
        {.delay_ms = CHORE_TIME_MAX_MS - now + 1},
        {.delay_ms = INT64_MAX},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(chore_enqueue(f.c, "x", NULL, &bad[i], &id), CHORE_EINVAL);
    chore_job_spec specs[2] = {{.name = "x"}, {.name = "x", .opts = {.delay_ms = INT64_MAX}}};
    assert_int_equal(chore_enqueue_bulk(f.c, specs, 2, ids, NULL), CHORE_EINVAL);
    assert_no_jobs(&f);

    /* the last instant itself is fine, given or by delay */
    chore_enqueue_opts last = {.run_at_ms = CHORE_TIME_MAX_MS};
    assert_int_equal(chore_enqueue(f.c, "x", NULL, &last, &id), CHORE_OK);
    chore_job_info *info = get(&f, id);
    assert_int_equal(info->run_at_ms, CHORE_TIME_MAX_MS);
    chore_job_info_free(info);
    last = (chore_enqueue_opts){.delay_ms = CHORE_TIME_MAX_MS - now};
    assert_int_equal(chore_enqueue(f.c, "x", NULL, &last, &id), CHORE_OK);
    info = get(&f, id);
    assert_int_equal(info->run_at_ms, CHORE_TIME_MAX_MS);
    chore_job_info_free(info);

    /* a job with no end to its timeout is fetched, leased and retried */
    chore_enqueue_opts forever = {.timeout_ms = INT64_MAX};
    assert_int_equal(chore_enqueue(f.c, "y", NULL, &forever, &id), CHORE_OK);
    const char *names[] = {"y"};
    chore_fetch_opts too_long = {.names = names, .n_names = 1, .lease_ms = CHORE_TIME_MAX_MS + 1};
    chore_fetched *jobs = NULL;
    size_t n = 0;
    assert_int_equal(chore_fetch(f.c, &too_long, &jobs, &n), CHORE_EINVAL);
    chore_fetch_opts longest = {.names = names, .n_names = 1, .lease_ms = CHORE_TIME_MAX_MS - now};
    assert_int_equal(chore_fetch(f.c, &longest, &jobs, &n), CHORE_OK);
    assert_int_equal(n, 1);
    assert_int_equal(jobs[0].lease_until_ms, CHORE_TIME_MAX_MS);
    int64_t token = jobs[0].token;
    chore_fetched_free(jobs, n);
    assert_int_equal(chore_job_heartbeat(f.c, id, token, CHORE_TIME_MAX_MS + 1, NULL), CHORE_EINVAL);
    chore_fail_opts never = {.retry_in_ms = INT64_MAX};
    assert_int_equal(chore_job_fail_with(f.c, id, token, &never), CHORE_EINVAL);
    info = get(&f, id);
    assert_int_equal(info->state, CHORE_RUNNING); /* unchanged */
    assert_int_equal(info->n_errors, 0);
    chore_job_info_free(info);
    chore_fail_opts latest = {.retry_in_ms = CHORE_TIME_MAX_MS - now};
    assert_int_equal(chore_job_fail_with(f.c, id, token, &latest), CHORE_OK);
    info = get(&f, id);
    assert_int_equal(info->state, CHORE_SCHEDULED);
    assert_int_equal(info->run_at_ms, CHORE_TIME_MAX_MS);
    chore_job_info_free(info);
    fixture_close(&f);
}

/* A snooze for longer than there is time left waits until CHORE_TIME_MAX_MS;
 * a timeout with no end lets the handler run. */
static void endless_snoozes_and_timeouts_do_not_overflow(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, NULL);
    probe snooze;
    probe_init_snoozing(&snooze, INT64_MAX);
    assert_int_equal(chore_handle(f.c, "s", probe_handler, &snooze, NULL), CHORE_OK);
    assert_int_equal(chore_start(f.c), CHORE_OK);
    chore_enqueue_opts forever = {.timeout_ms = INT64_MAX};
    int64_t s;
    assert_int_equal(chore_enqueue(f.c, "s", NULL, &forever, &s), CHORE_OK);
    fixture_idle(&f);
    assert_int_equal(probe_calls(&snooze), 1);
    chore_job_info *info = get(&f, s);
    assert_int_equal(info->state, CHORE_SCHEDULED);
    assert_int_equal(info->run_at_ms, CHORE_TIME_MAX_MS);
    chore_job_info_free(info);
    fixture_close(&f);
    probe_destroy(&snooze);
}

static void scheduled_jobs_wait_for_their_time(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, NULL);
    probe p;
    probe_init(&p, CHORE_OK);
    assert_int_equal(chore_handle(f.c, "later", probe_handler, &p, NULL), CHORE_OK);
    assert_int_equal(chore_start(f.c), CHORE_OK);
    int64_t a, b;
    chore_enqueue_opts in_a_minute = {.delay_ms = 60000};
    chore_enqueue_opts at = {.run_at_ms = T0 + 3600000};
    assert_int_equal(chore_enqueue(f.c, "later", NULL, &in_a_minute, &a), CHORE_OK);
    assert_int_equal(chore_enqueue(f.c, "later", NULL, &at, &b), CHORE_OK);
    fixture_idle(&f);
    assert_int_equal(fixture_state(&f, a), CHORE_SCHEDULED);
    fixture_advance(&f, 59999);
    assert_int_equal(probe_calls(&p), 0);
    fixture_advance(&f, 1);
    assert_int_equal(probe_calls(&p), 1);
    assert_int_equal(fixture_state(&f, a), CHORE_COMPLETED);
    assert_int_equal(fixture_state(&f, b), CHORE_SCHEDULED);
    fixture_advance(&f, 3600000);
    assert_int_equal(fixture_state(&f, b), CHORE_COMPLETED);
    fixture_close(&f);
    probe_destroy(&p);
}

static void unique_keys_hold_while_not_final(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, NULL);
    chore_enqueue_opts o = {.unique_key = "report:2026-11-22"};
    int64_t first, second, third;
    assert_int_equal(chore_enqueue(f.c, "report", NULL, &o, &first), CHORE_OK);
    assert_int_equal(chore_enqueue(f.c, "report", NULL, &o, &second), CHORE_DUPLICATE);
    assert_int_equal(second, first);
    probe p;
    probe_init(&p, CHORE_OK);
    assert_int_equal(chore_handle(f.c, "report", probe_handler, &p, NULL), CHORE_OK);
    assert_int_equal(chore_start(f.c), CHORE_OK);
    fixture_idle(&f);
    assert_int_equal(probe_calls(&p), 1);
    assert_int_equal(chore_enqueue(f.c, "report", NULL, &o, &third), CHORE_OK);
    assert_true(third > first);
    fixture_close(&f);
    probe_destroy(&p);
}

static void bad_input_is_refused_and_stores_nothing(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, NULL);
    int64_t id = 0;
    assert_int_equal(chore_enqueue(f.c, "x", "{oops", NULL, &id), CHORE_EJSON);
    assert_int_equal(chore_enqueue(f.c, "", "{}", NULL, &id), CHORE_EINVAL);
    assert_int_equal(chore_enqueue(f.c, "bad\nname", "{}", NULL, &id), CHORE_EINVAL);
    assert_int_equal(chore_enqueue(f.c, NULL, "{}", NULL, &id), CHORE_EINVAL);
    chore_enqueue_opts neg = {.max_attempts = -1};
    assert_int_equal(chore_enqueue(f.c, "x", "{}", &neg, &id), CHORE_EINVAL);
    chore_enqueue_opts emptykey = {.unique_key = ""};
    assert_int_equal(chore_enqueue(f.c, "x", "{}", &emptykey, &id), CHORE_EINVAL);
    chore_job_spec specs[2] = {{.name = "ok", .payload = "{}"}, {.name = "ok", .payload = "]"}};
    int64_t ids[2];
    assert_int_equal(chore_enqueue_bulk(f.c, specs, 2, ids, NULL), CHORE_EJSON);
    assert_no_jobs(&f);
    assert_int_equal(chore_handle(f.c, "x", NULL, NULL, NULL), CHORE_EINVAL);
    assert_int_equal(chore_unhandle(f.c, "never"), CHORE_ENOTFOUND);
    chore *bad = NULL;
    chore_config cfg = {.store = "mysql://nope"};
    assert_int_equal(chore_open(&bad, &cfg), CHORE_EINVAL);
    assert_null(bad);
    cfg = (chore_config){.store = f.url, .workers = -3};
    assert_int_equal(chore_open(&bad, &cfg), CHORE_EINVAL);
    chore_close(NULL);
    fixture_close(&f);
}

static void bulk_enqueue_is_one_transaction(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, NULL);
    chore_job_spec specs[3] = {
        {.name = "a", .payload = "[1]"},
        {.name = "b", .payload = "[2]", .opts = {.unique_key = "k"}},
        {.name = "c", .payload = "[3]", .opts = {.unique_key = "k"}},
    };
    int64_t ids[3];
    bool dup[3];
    assert_int_equal(chore_enqueue_bulk(f.c, specs, 3, ids, dup), CHORE_OK);
    assert_true(ids[0] < ids[1]);
    assert_false(dup[0]);
    assert_false(dup[1]);
    assert_true(dup[2]);
    assert_int_equal(ids[2], ids[1]);
    fixture_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(many_jobs_complete_exactly_once),
        cmocka_unit_test(two_instances_share_one_file),
        cmocka_unit_test(failures_follow_the_backoff_schedule_then_discard),
        cmocka_unit_test(jitter_keeps_retries_within_bounds),
        cmocka_unit_test(discard_and_snooze),
        cmocka_unit_test(scheduled_jobs_wait_for_their_time),
        cmocka_unit_test(unique_keys_hold_while_not_final),
        cmocka_unit_test(bad_input_is_refused_and_stores_nothing),
        cmocka_unit_test(run_times_past_year_9999_are_refused),
        cmocka_unit_test(endless_snoozes_and_timeouts_do_not_overflow),
        cmocka_unit_test(bulk_enqueue_is_one_transaction),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
