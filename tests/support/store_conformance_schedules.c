/*
 * store_conformance_schedules.c — the schedules part of the store
 * conformance suite: put, get, list, update, pause, remove, and fire (the
 * compare-and-set that makes a slot fire once, the fired job's fields,
 * several and zero slots, each overlap policy, release_pending, a large
 * batch). Written only against store_ops, like store_conformance.c, which
 * runs these tests in the order of store_conformance_schedules_tests.
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

#define SLOT 60000LL /* one minute between slots */

/* ---------------------------------------------------------------- helpers */

static store_schedule sched_of(const char *name, int overlap)
{
    store_schedule sc = {.name = (char *)name,
                         .expr = "* * * * *",
                         .zone = "UTC",
                         .job_name = "tick",
                         .payload = "{\"k\":1}",
                         .queue = "default",
                         .max_attempts = 3,
                         .overlap = overlap,
                         .last_slot_ms = T0};
    return sc;
}

static void put(fx *f, const char *name, int overlap)
{
    store_schedule sc = sched_of(name, overlap);
    assert_int_equal(f->ops->schedule_put(f->s, &sc, T0), CHORE_OK);
}

/* The schedule `name` (asserted found); free with store_schedule_free(x, 1). */
static store_schedule *get_sched(fx *f, const char *name)
{
    store_schedule *sc = NULL;
    assert_int_equal(f->ops->schedule_get(f->s, name, &sc), CHORE_OK);
    assert_non_null(sc);
    assert_string_equal(sc->name, name);
    return sc;
}

static int64_t last_slot_of(fx *f, const char *name)
{
    store_schedule *sc = get_sched(f, name);
    int64_t last = sc->last_slot_ms;
    store_schedule_free(sc, 1);
    return last;
}

/* One fire of `name` from `expected` to the newest of n slots (or to
 * expected + SLOT when n is 0), in a call of its own. */
static store_fire_result fire(fx *f, const char *name, int64_t expected, const int64_t *slots,
                              size_t n, int64_t now)
{
    store_fire fr = {.name = name,
                     .expected_last_ms = expected,
                     .new_last_ms = n > 0 ? slots[n - 1] : expected + SLOT,
                     .slots = slots,
                     .n_slots = n};
    store_fire_result res = {.claimed = true, .enqueued = 99};
    assert_int_equal(f->ops->schedule_fire(f->s, &fr, 1, now, &res), CHORE_OK);
    return res;
}

/* Fire one slot, expecting it claimed with `enqueued` jobs. */
static void fire1(fx *f, const char *name, int64_t slot, size_t enqueued)
{
    int64_t last = last_slot_of(f, name);
    store_fire_result res = fire(f, name, last, &slot, 1, slot); /* on time */
    assert_true(res.claimed);
    assert_int_equal(res.enqueued, enqueued);
    assert_int_equal(last_slot_of(f, name), slot);
}

/* How many jobs have unique key "schedule:<name>:<slot>"; *id the last. */
static int jobs_with_key(fx *f, const char *name, int64_t slot, int64_t *id)
{
    char key[256];
    snprintf(key, sizeof key, "schedule:%s:%lld", name, (long long)slot);
    chore_list_query q = {.any_state = true, .limit = 10000};
    chore_job_info *items = NULL;
    size_t n = 0;
    assert_int_equal(f->ops->list(f->s, &q, &items, &n, NULL), CHORE_OK);
    int count = 0;
    for (size_t i = 0; i < n; i++) {
        if (items[i].unique_key != NULL && strcmp(items[i].unique_key, key) == 0) {
            count++;
            if (id != NULL)
                *id = items[i].id;
        }
    }
    chore_job_list_free(items, n);
    return count;
}

static int64_t job_count(fx *f)
{
    int64_t counts[CHORE_STATE_COUNT], total = 0;
    assert_int_equal(f->ops->count_by_state(f->s, counts), CHORE_OK);
    for (int i = 0; i < CHORE_STATE_COUNT; i++)
        total += counts[i];
    return total;
}

/* Claim the one due job, `id`, and complete it (late enough for any slot). */
static void complete(fx *f, int64_t id)
{
    int64_t late = T0 + 100000 * (int64_t)SLOT;
    int64_t token = sc_claim_one(f, id, late);
    assert_true(sc_finish1(f, id, token, STORE_COMPLETE, 0, NULL, late + 1));
}

/* ---------------------------------------------------------------- put, get, list */

static void test_schedule_put_get_list(void **state)
{
    fx *f = *state;
    store_schedule b = {.name = "b",
                        .expr = "0 9 * * MON",
                        .zone = "Europe/London",
                        .job_name = "report",
                        .payload = "{\"x\":[1,2]}",
                        .queue = "q9",
                        .priority = 4,
                        .max_attempts = 7,
                        .timeout_ms = 1234,
                        .missed = CHORE_MISSED_EACH,
                        .missed_cap = 5,
                        .overlap = CHORE_OVERLAP_QUEUE_ONE,
                        .paused = true,
                        .last_slot_ms = T0 - 500,
                        /* ignored on insert */
                        .last_job_id = 42,
                        .pending_slot_ms = 43,
                        .created_at_ms = 44,
                        .updated_at_ms = 45};
    assert_int_equal(f->ops->schedule_put(f->s, &b, T0 + 9), CHORE_OK);
    put(f, "a", CHORE_OVERLAP_ALLOW);

    store_schedule *got = get_sched(f, "b");
    assert_string_equal(got->expr, "0 9 * * MON");
    assert_string_equal(got->zone, "Europe/London");
    assert_string_equal(got->job_name, "report");
    assert_string_equal(got->payload, "{\"x\":[1,2]}");
    assert_string_equal(got->queue, "q9");
    assert_int_equal(got->priority, 4);
    assert_int_equal(got->max_attempts, 7);
    assert_int_equal(got->timeout_ms, 1234);
    assert_int_equal(got->missed, CHORE_MISSED_EACH);
    assert_int_equal(got->missed_cap, 5);
    assert_int_equal(got->overlap, CHORE_OVERLAP_QUEUE_ONE);
    assert_true(got->paused);
    assert_int_equal(got->last_slot_ms, T0 - 500);
    assert_int_equal(got->last_job_id, 0);
    assert_int_equal(got->pending_slot_ms, 0);
    assert_int_equal(got->created_at_ms, T0 + 9);
    assert_int_equal(got->updated_at_ms, T0 + 9);
    store_schedule_free(got, 1);

    store_schedule *all = NULL;
    size_t n = 0;
    assert_int_equal(f->ops->schedule_list(f->s, &all, &n), CHORE_OK);
    assert_int_equal(n, 2);
    assert_string_equal(all[0].name, "a");
    assert_string_equal(all[1].name, "b");
    assert_false(all[0].paused);
    assert_int_equal(all[0].last_slot_ms, T0);
    assert_string_equal(all[1].queue, "q9");
    store_schedule_free(all, n);
    /* Nothing was enqueued by putting. */
    assert_int_equal(job_count(f), 0);
}

static void test_schedule_update_keeps_history(void **state)
{
    fx *f = *state;
    put(f, "u", CHORE_OVERLAP_QUEUE_ONE);
    fire1(f, "u", T0 + SLOT, 1);     /* a job, still live */
    fire1(f, "u", T0 + 2 * SLOT, 0); /* waits: pending */
    assert_int_equal(f->ops->schedule_set_paused(f->s, "u", true, T0 + 3), CHORE_OK);
    store_schedule *before = get_sched(f, "u");
    assert_true(before->last_job_id > 0);
    assert_int_equal(before->pending_slot_ms, T0 + 2 * SLOT);

    store_schedule up = sched_of("u", CHORE_OVERLAP_ALLOW);
    up.expr = "*/5 * * * *";
    up.zone = "Asia/Tokyo";
    up.job_name = "tock";
    up.payload = "{}";
    up.queue = "other";
    up.priority = -2;
    up.max_attempts = 0;
    up.timeout_ms = 99;
    up.missed = CHORE_MISSED_SKIP;
    up.missed_cap = 3;
    up.paused = false;   /* kept: still paused */
    up.last_slot_ms = 1; /* kept */
    assert_int_equal(f->ops->schedule_put(f->s, &up, T0 + 50), CHORE_OK);

    store_schedule *after = get_sched(f, "u");
    assert_string_equal(after->expr, "*/5 * * * *");
    assert_string_equal(after->zone, "Asia/Tokyo");
    assert_string_equal(after->job_name, "tock");
    assert_string_equal(after->payload, "{}");
    assert_string_equal(after->queue, "other");
    assert_int_equal(after->priority, -2);
    assert_int_equal(after->max_attempts, 0);
    assert_int_equal(after->timeout_ms, 99);
    assert_int_equal(after->missed, CHORE_MISSED_SKIP);
    assert_int_equal(after->missed_cap, 3);
    assert_int_equal(after->overlap, CHORE_OVERLAP_ALLOW);
    assert_true(after->paused);
    assert_int_equal(after->last_slot_ms, T0 + 2 * SLOT);
    assert_int_equal(after->last_job_id, before->last_job_id);
    assert_int_equal(after->pending_slot_ms, T0 + 2 * SLOT);
    assert_int_equal(after->created_at_ms, T0);
    assert_int_equal(after->updated_at_ms, T0 + 50);
    store_schedule_free(before, 1);
    store_schedule_free(after, 1);
    /* Still one schedule. */
    store_schedule *all = NULL;
    size_t n = 0;
    assert_int_equal(f->ops->schedule_list(f->s, &all, &n), CHORE_OK);
    assert_int_equal(n, 1);
    store_schedule_free(all, n);
}

static void test_schedule_pause_remove_notfound(void **state)
{
    fx *f = *state;
    store_schedule *sc = (store_schedule *)&sc;
    assert_int_equal(f->ops->schedule_get(f->s, "none", &sc), CHORE_ENOTFOUND);
    assert_null(sc);
    assert_int_equal(f->ops->schedule_remove(f->s, "none"), CHORE_ENOTFOUND);
    assert_int_equal(f->ops->schedule_set_paused(f->s, "none", true, T0), CHORE_ENOTFOUND);
    store_schedule *all = (store_schedule *)&all;
    size_t n = 7;
    assert_int_equal(f->ops->schedule_list(f->s, &all, &n), CHORE_OK);
    assert_int_equal(n, 0);
    assert_null(all);

    put(f, "p", CHORE_OVERLAP_ALLOW);
    put(f, "q", CHORE_OVERLAP_ALLOW);
    assert_int_equal(f->ops->schedule_set_paused(f->s, "p", true, T0 + 5), CHORE_OK);
    sc = get_sched(f, "p");
    assert_true(sc->paused);
    assert_int_equal(sc->updated_at_ms, T0 + 5);
    assert_int_equal(sc->last_slot_ms, T0);
    store_schedule_free(sc, 1);
    assert_int_equal(f->ops->schedule_set_paused(f->s, "p", false, T0 + 6), CHORE_OK);
    sc = get_sched(f, "p");
    assert_false(sc->paused);
    store_schedule_free(sc, 1);

    /* Removing one keeps the other and the jobs it enqueued. */
    fire1(f, "p", T0 + SLOT, 1);
    assert_int_equal(f->ops->schedule_remove(f->s, "p"), CHORE_OK);
    assert_int_equal(f->ops->schedule_get(f->s, "p", &sc), CHORE_ENOTFOUND);
    assert_int_equal(f->ops->schedule_remove(f->s, "p"), CHORE_ENOTFOUND);
    assert_int_equal(f->ops->schedule_list(f->s, &all, &n), CHORE_OK);
    assert_int_equal(n, 1);
    assert_string_equal(all[0].name, "q");
    store_schedule_free(all, n);
    assert_int_equal(job_count(f), 1);
    /* A removed schedule's fire claims nothing. */
    int64_t slot = T0 + 2 * SLOT;
    store_fire_result res = fire(f, "p", T0 + SLOT, &slot, 1, T0);
    assert_false(res.claimed);
    assert_int_equal(job_count(f), 1);
}

/* ---------------------------------------------------------------- fire */

static void test_fire_claims_once(void **state)
{
    fx *f = *state;
    put(f, "once", CHORE_OVERLAP_ALLOW);
    int64_t slot = T0 + SLOT;
    /* Two fires of the same slot in one call: the first claims it. */
    store_fire two[2] = {
        {.name = "once", .expected_last_ms = T0, .new_last_ms = slot, .slots = &slot, .n_slots = 1},
        {.name = "once", .expected_last_ms = T0, .new_last_ms = slot, .slots = &slot, .n_slots = 1},
    };
    store_fire_result res[2] = {{true, 9}, {true, 9}};
    assert_int_equal(f->ops->schedule_fire(f->s, two, 2, T0, res), CHORE_OK);
    assert_true(res[0].claimed);
    assert_int_equal(res[0].enqueued, 1);
    assert_false(res[1].claimed);
    assert_int_equal(res[1].enqueued, 0);
    /* And again in a call of its own, after the first job completed. */
    int64_t id = 0;
    assert_int_equal(jobs_with_key(f, "once", slot, &id), 1);
    complete(f, id);
    store_fire_result again = fire(f, "once", T0, &slot, 1, T0);
    assert_false(again.claimed);
    assert_int_equal(again.enqueued, 0);
    assert_int_equal(jobs_with_key(f, "once", slot, NULL), 1);
    assert_int_equal(job_count(f), 1);
    assert_int_equal(last_slot_of(f, "once"), slot);
}

static void test_fire_stale_or_paused_changes_nothing(void **state)
{
    fx *f = *state;
    put(f, "st", CHORE_OVERLAP_ALLOW);
    fire1(f, "st", T0 + SLOT, 1);
    store_schedule *before = get_sched(f, "st");
    int64_t slot = T0 + 2 * SLOT;
    /* An expected last slot that is not the stored one, older or newer. */
    store_fire_result res = fire(f, "st", T0, &slot, 1, T0);
    assert_false(res.claimed);
    assert_int_equal(res.enqueued, 0);
    res = fire(f, "st", T0 + 2 * SLOT, &slot, 1, T0);
    assert_false(res.claimed);
    /* Paused: the right expected slot claims nothing either. */
    assert_int_equal(f->ops->schedule_set_paused(f->s, "st", true, T0), CHORE_OK);
    res = fire(f, "st", T0 + SLOT, &slot, 1, T0);
    assert_false(res.claimed);
    res = fire(f, "st", T0 + SLOT, NULL, 0, T0);
    assert_false(res.claimed);
    store_schedule *after = get_sched(f, "st");
    assert_int_equal(after->last_slot_ms, before->last_slot_ms);
    assert_int_equal(after->last_job_id, before->last_job_id);
    assert_int_equal(after->pending_slot_ms, 0);
    assert_int_equal(job_count(f), 1);
    store_schedule_free(before, 1);
    store_schedule_free(after, 1);
    /* Resumed, it claims. */
    assert_int_equal(f->ops->schedule_set_paused(f->s, "st", false, T0), CHORE_OK);
    fire1(f, "st", slot, 1);
}

static void test_fire_job_fields(void **state)
{
    fx *f = *state;
    store_schedule sc = sched_of("fields", CHORE_OVERLAP_ALLOW);
    sc.job_name = "report";
    sc.payload = "{\"to\":\"ops\"}";
    sc.queue = "q9";
    sc.priority = 4;
    sc.max_attempts = 7;
    sc.timeout_ms = 1234;
    assert_int_equal(f->ops->schedule_put(f->s, &sc, T0), CHORE_OK);
    int64_t slot = T0 + SLOT;
    int64_t now = T0 + SLOT + 77; /* a little late */
    store_fire_result res = fire(f, "fields", T0, &slot, 1, now);
    assert_true(res.claimed);
    assert_int_equal(res.enqueued, 1);
    int64_t id = 0;
    assert_int_equal(jobs_with_key(f, "fields", slot, &id), 1);
    chore_job_info *info = sc_get(f, id);
    assert_string_equal(info->name, "report");
    assert_string_equal(info->payload, "{\"to\":\"ops\"}");
    assert_string_equal(info->queue, "q9");
    assert_int_equal(info->priority, 4);
    assert_int_equal(info->max_attempts, 7);
    assert_int_equal(info->timeout_ms, 1234);
    assert_int_equal(info->run_at_ms, now);
    assert_int_equal(info->created_at_ms, now);
    assert_int_equal(info->state, CHORE_AVAILABLE);
    assert_int_equal(info->attempt, 0);
    char key[64];
    snprintf(key, sizeof key, "schedule:fields:%lld", (long long)slot);
    assert_string_equal(info->unique_key, key);
    chore_job_info_free(info);
    store_schedule *got = get_sched(f, "fields");
    assert_int_equal(got->last_job_id, id);
    assert_int_equal(got->last_slot_ms, slot);
    assert_int_equal(got->updated_at_ms, T0); /* fires do not count as updates */
    store_schedule_free(got, 1);
    /* Claimable at once. */
    sc_claim_one(f, id, now);
}

/* The version moves on every edit, by anyone, and not on fires. */
static void test_schedule_version(void **state)
{
    fx *f = *state;
    int64_t v0 = 0, v = 0;
    assert_int_equal(f->ops->schedule_version(f->s, &v0), CHORE_OK);
    put(f, "v", CHORE_OVERLAP_ALLOW);
    assert_int_equal(f->ops->schedule_version(f->s, &v), CHORE_OK);
    assert_int_not_equal(v, v0);
    int64_t before_fire = v;
    fire1(f, "v", T0 + SLOT, 1);
    assert_int_equal(f->ops->schedule_version(f->s, &v), CHORE_OK);
    assert_int_equal(v, before_fire);
    assert_int_equal(f->ops->schedule_set_paused(f->s, "v", true, T0), CHORE_OK);
    assert_int_equal(f->ops->schedule_version(f->s, &v), CHORE_OK);
    assert_int_not_equal(v, before_fire);
    int64_t paused = v;
    assert_int_equal(f->ops->schedule_remove(f->s, "v"), CHORE_OK);
    assert_int_equal(f->ops->schedule_version(f->s, &v), CHORE_OK);
    assert_int_not_equal(v, paused);
    int64_t removed = v;
    assert_int_equal(f->ops->schedule_remove(f->s, "v"), CHORE_ENOTFOUND);
    assert_int_equal(f->ops->schedule_version(f->s, &v), CHORE_OK);
    assert_int_equal(v, removed); /* a failed edit changes nothing */
}

/* A slot claimed before its time: its job waits, scheduled, for the slot. */
static void test_fire_ahead_of_the_slot(void **state)
{
    fx *f = *state;
    put(f, "early", CHORE_OVERLAP_ALLOW);
    int64_t slot = T0 + SLOT;
    store_fire_result res = fire(f, "early", T0, &slot, 1, slot - 300);
    assert_true(res.claimed);
    assert_int_equal(res.enqueued, 1);
    int64_t id = 0;
    assert_int_equal(jobs_with_key(f, "early", slot, &id), 1);
    chore_job_info *info = sc_get(f, id);
    assert_int_equal(info->state, CHORE_SCHEDULED);
    assert_int_equal(info->run_at_ms, slot);
    chore_job_info_free(info);
}

static void test_fire_several_and_zero_slots(void **state)
{
    fx *f = *state;
    put(f, "many", CHORE_OVERLAP_ALLOW);
    int64_t slots[3] = {T0 + SLOT, T0 + 2 * SLOT, T0 + 3 * SLOT};
    store_fire_result res = fire(f, "many", T0, slots, 3, T0 + 3 * SLOT);
    assert_true(res.claimed);
    assert_int_equal(res.enqueued, 3);
    int64_t ids[3];
    for (int i = 0; i < 3; i++)
        assert_int_equal(jobs_with_key(f, "many", slots[i], &ids[i]), 1);
    assert_true(ids[0] < ids[1] && ids[1] < ids[2]);
    store_schedule *sc = get_sched(f, "many");
    assert_int_equal(sc->last_slot_ms, slots[2]);
    assert_int_equal(sc->last_job_id, ids[2]);
    store_schedule_free(sc, 1);

    /* No slots (the missed slots were skipped): claimed, nothing enqueued. */
    put(f, "zero", CHORE_OVERLAP_ALLOW);
    res = fire(f, "zero", T0, NULL, 0, T0);
    assert_true(res.claimed);
    assert_int_equal(res.enqueued, 0);
    sc = get_sched(f, "zero");
    assert_int_equal(sc->last_slot_ms, T0 + SLOT);
    assert_int_equal(sc->last_job_id, 0);
    store_schedule_free(sc, 1);
    assert_int_equal(job_count(f), 3);
    /* The old expected value no longer matches. */
    res = fire(f, "zero", T0, NULL, 0, T0);
    assert_false(res.claimed);
}

static void test_overlap_skip(void **state)
{
    fx *f = *state;
    put(f, "skip", CHORE_OVERLAP_SKIP);
    fire1(f, "skip", T0 + SLOT, 1);
    int64_t first = 0;
    assert_int_equal(jobs_with_key(f, "skip", T0 + SLOT, &first), 1);
    /* The first job is not final: the slot is claimed and dropped. */
    fire1(f, "skip", T0 + 2 * SLOT, 0);
    store_schedule *sc = get_sched(f, "skip");
    assert_int_equal(sc->last_job_id, first);
    assert_int_equal(sc->pending_slot_ms, 0);
    store_schedule_free(sc, 1);
    assert_int_equal(job_count(f), 1);
    /* Running is not final either. */
    int64_t token = sc_claim_one(f, first, T0);
    fire1(f, "skip", T0 + 3 * SLOT, 0);
    /* Completed: the next slot fires. */
    assert_true(sc_finish1(f, first, token, STORE_COMPLETE, 0, NULL, T0));
    fire1(f, "skip", T0 + 4 * SLOT, 1);
    int64_t second = 0;
    assert_int_equal(jobs_with_key(f, "skip", T0 + 4 * SLOT, &second), 1);
    /* A deleted last job is not busy. */
    assert_int_equal(f->ops->admin(f->s, STORE_ADMIN_DELETE, second, T0), CHORE_OK);
    fire1(f, "skip", T0 + 5 * SLOT, 1);
    /* Nor is a cancelled or discarded one. */
    int64_t third = 0;
    assert_int_equal(jobs_with_key(f, "skip", T0 + 5 * SLOT, &third), 1);
    assert_int_equal(f->ops->admin(f->s, STORE_ADMIN_CANCEL, third, T0), CHORE_OK);
    fire1(f, "skip", T0 + 6 * SLOT, 1);
    assert_int_equal(job_count(f), 3);
}

static void test_overlap_queue_one(void **state)
{
    fx *f = *state;
    put(f, "q1", CHORE_OVERLAP_QUEUE_ONE);
    fire1(f, "q1", T0 + SLOT, 1);
    int64_t first = 0;
    assert_int_equal(jobs_with_key(f, "q1", T0 + SLOT, &first), 1);
    fire1(f, "q1", T0 + 2 * SLOT, 0);
    /* Two more slots in one fire: one waits, the newest. */
    int64_t two[2] = {T0 + 3 * SLOT, T0 + 4 * SLOT};
    store_fire_result res = fire(f, "q1", T0 + 2 * SLOT, two, 2, T0);
    assert_true(res.claimed);
    assert_int_equal(res.enqueued, 0);
    store_schedule *sc = get_sched(f, "q1");
    assert_int_equal(sc->pending_slot_ms, T0 + 4 * SLOT);
    assert_int_equal(sc->last_job_id, first);
    store_schedule_free(sc, 1);
    size_t released = 99;
    assert_int_equal(f->ops->schedule_release_pending(f->s, T0, &released), CHORE_OK);
    assert_int_equal(released, 0); /* the first job is not final yet */
    assert_int_equal(job_count(f), 1);

    complete(f, first);
    /* Paused: the pending slot waits for the resume. */
    assert_int_equal(f->ops->schedule_set_paused(f->s, "q1", true, T0), CHORE_OK);
    assert_int_equal(f->ops->schedule_release_pending(f->s, T0, &released), CHORE_OK);
    assert_int_equal(released, 0);
    assert_int_equal(f->ops->schedule_set_paused(f->s, "q1", false, T0), CHORE_OK);

    int64_t now = T0 + 4 * SLOT + 5;
    assert_int_equal(f->ops->schedule_release_pending(f->s, now, &released), CHORE_OK);
    assert_int_equal(released, 1);
    int64_t second = 0;
    assert_int_equal(jobs_with_key(f, "q1", T0 + 4 * SLOT, &second), 1);
    assert_int_equal(jobs_with_key(f, "q1", T0 + 2 * SLOT, NULL), 0);
    assert_int_equal(jobs_with_key(f, "q1", T0 + 3 * SLOT, NULL), 0);
    chore_job_info *info = sc_get(f, second);
    assert_int_equal(info->state, CHORE_AVAILABLE);
    assert_int_equal(info->run_at_ms, now);
    assert_string_equal(info->name, "tick");
    chore_job_info_free(info);
    sc = get_sched(f, "q1");
    assert_int_equal(sc->pending_slot_ms, 0);
    assert_int_equal(sc->last_job_id, second);
    assert_int_equal(sc->last_slot_ms, T0 + 4 * SLOT);
    store_schedule_free(sc, 1);
    assert_int_equal(f->ops->schedule_release_pending(f->s, now, &released), CHORE_OK);
    assert_int_equal(released, 0);
    assert_int_equal(job_count(f), 2);
}

/* A slot of a QUEUE_ONE schedule that comes after the last job became
 * final, before release_pending ran: the waiting slot's job goes first,
 * and the new slot waits for it. */
static void test_overlap_queue_one_fire_after_final(void **state)
{
    fx *f = *state;
    put(f, "q2", CHORE_OVERLAP_QUEUE_ONE);
    fire1(f, "q2", T0 + SLOT, 1);
    int64_t first = 0;
    assert_int_equal(jobs_with_key(f, "q2", T0 + SLOT, &first), 1);
    fire1(f, "q2", T0 + 2 * SLOT, 0);
    complete(f, first);
    fire1(f, "q2", T0 + 3 * SLOT, 1);
    int64_t second = 0;
    assert_int_equal(jobs_with_key(f, "q2", T0 + 2 * SLOT, &second), 1);
    store_schedule *sc = get_sched(f, "q2");
    assert_int_equal(sc->last_job_id, second);
    assert_int_equal(sc->pending_slot_ms, T0 + 3 * SLOT);
    store_schedule_free(sc, 1);
    assert_int_equal(job_count(f), 2);
}

static void test_overlap_allow(void **state)
{
    fx *f = *state;
    put(f, "al", CHORE_OVERLAP_ALLOW);
    fire1(f, "al", T0 + SLOT, 1);
    fire1(f, "al", T0 + 2 * SLOT, 1); /* the first is still available */
    int64_t a = 0, b = 0;
    assert_int_equal(jobs_with_key(f, "al", T0 + SLOT, &a), 1);
    assert_int_equal(jobs_with_key(f, "al", T0 + 2 * SLOT, &b), 1);
    assert_int_equal(sc_state_of(f, a), CHORE_AVAILABLE);
    assert_int_equal(sc_state_of(f, b), CHORE_AVAILABLE);
    store_schedule *sc = get_sched(f, "al");
    assert_int_equal(sc->last_job_id, b);
    assert_int_equal(sc->pending_slot_ms, 0);
    store_schedule_free(sc, 1);
}

/* A live job that already has the slot's key is reused, not duplicated. */
static void test_fire_reuses_live_key(void **state)
{
    fx *f = *state;
    put(f, "dup", CHORE_OVERLAP_ALLOW);
    char key[64];
    snprintf(key, sizeof key, "schedule:dup:%lld", (long long)(T0 + SLOT));
    store_new_job j = sc_job_of("other");
    j.unique_key = key;
    int64_t existing = sc_enq_job(f, &j);
    fire1(f, "dup", T0 + SLOT, 0);
    store_schedule *sc = get_sched(f, "dup");
    assert_int_equal(sc->last_job_id, existing);
    store_schedule_free(sc, 1);
    assert_int_equal(job_count(f), 1);
}

static void test_fire_missing_and_mixed(void **state)
{
    fx *f = *state;
    put(f, "here", CHORE_OVERLAP_ALLOW);
    int64_t slot = T0 + SLOT;
    store_fire fires[3] = {
        {.name = "gone", .expected_last_ms = T0, .new_last_ms = slot, .slots = &slot, .n_slots = 1},
        {.name = "here", .expected_last_ms = T0, .new_last_ms = slot, .slots = &slot, .n_slots = 1},
        {.name = "gone2", .expected_last_ms = 0, .new_last_ms = slot, .slots = NULL, .n_slots = 0},
    };
    store_fire_result res[3];
    assert_int_equal(f->ops->schedule_fire(f->s, fires, 3, T0, res), CHORE_OK);
    assert_false(res[0].claimed);
    assert_true(res[1].claimed);
    assert_int_equal(res[1].enqueued, 1);
    assert_false(res[2].claimed);
    assert_int_equal(job_count(f), 1);
    assert_int_equal(jobs_with_key(f, "gone", slot, NULL), 0);
    /* Bad arguments change nothing. */
    store_fire bad = {.name = NULL, .expected_last_ms = slot, .new_last_ms = slot + SLOT};
    assert_int_equal(f->ops->schedule_fire(f->s, &bad, 1, T0, res), CHORE_EINVAL);
    assert_int_equal(f->ops->schedule_fire(f->s, NULL, 0, T0, NULL), CHORE_OK);
    store_schedule nameless = sched_of(NULL, 0);
    assert_int_equal(f->ops->schedule_put(f->s, &nameless, T0), CHORE_EINVAL);
    assert_int_equal(last_slot_of(f, "here"), slot);
}

static void test_fire_thousand_in_one_call(void **state)
{
    fx *f = *state;
    enum { N = 1000 };
    char (*names)[16] = calloc(N, sizeof *names);
    store_fire *fires = calloc(N, sizeof *fires);
    store_fire_result *res = calloc(N, sizeof *res);
    int64_t *slots = calloc(N, sizeof *slots);
    assert_non_null(names);
    assert_non_null(fires);
    assert_non_null(res);
    assert_non_null(slots);
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "s%04d", i);
        store_schedule sc = sched_of(names[i], i % 3);
        sc.last_slot_ms = T0 + i;
        assert_int_equal(f->ops->schedule_put(f->s, &sc, T0), CHORE_OK);
        slots[i] = T0 + SLOT + i;
        fires[i] = (store_fire){.name = names[i],
                                .expected_last_ms = T0 + i,
                                .new_last_ms = slots[i],
                                .slots = &slots[i],
                                .n_slots = 1};
    }
    assert_int_equal(f->ops->schedule_fire(f->s, fires, N, T0 + SLOT + N, res), CHORE_OK);
    for (int i = 0; i < N; i++) {
        assert_true(res[i].claimed);
        assert_int_equal(res[i].enqueued, 1);
    }
    int64_t counts[CHORE_STATE_COUNT];
    assert_int_equal(f->ops->count_by_state(f->s, counts), CHORE_OK);
    assert_int_equal(counts[CHORE_AVAILABLE], N);
    store_schedule *all = NULL;
    size_t n = 0;
    assert_int_equal(f->ops->schedule_list(f->s, &all, &n), CHORE_OK);
    assert_int_equal(n, N);
    for (int i = 0; i < N; i++) {
        assert_string_equal(all[i].name, names[i]);
        assert_int_equal(all[i].last_slot_ms, slots[i]);
        assert_true(all[i].last_job_id > 0);
    }
    store_schedule_free(all, n);
    assert_int_equal(jobs_with_key(f, names[N - 1], slots[N - 1], NULL), 1);
    /* The same call again claims nothing. */
    assert_int_equal(f->ops->schedule_fire(f->s, fires, N, T0 + SLOT + N, res), CHORE_OK);
    for (int i = 0; i < N; i++)
        assert_false(res[i].claimed);
    assert_int_equal(job_count(f), N);
    free(names);
    free(fires);
    free(res);
    free(slots);
}

const struct CMUnitTest store_conformance_schedules_tests[] = {
    SC_TEST(test_schedule_put_get_list),
    SC_TEST(test_schedule_update_keeps_history),
    SC_TEST(test_schedule_pause_remove_notfound),
    SC_TEST(test_fire_claims_once),
    SC_TEST(test_fire_stale_or_paused_changes_nothing),
    SC_TEST(test_fire_job_fields),
    SC_TEST(test_fire_ahead_of_the_slot),
    SC_TEST(test_schedule_version),
    SC_TEST(test_fire_several_and_zero_slots),
    SC_TEST(test_overlap_skip),
    SC_TEST(test_overlap_queue_one),
    SC_TEST(test_overlap_queue_one_fire_after_final),
    SC_TEST(test_overlap_allow),
    SC_TEST(test_fire_reuses_live_key),
    SC_TEST(test_fire_missing_and_mixed),
    SC_TEST(test_fire_thousand_in_one_call),
};
const size_t store_conformance_schedules_tests_count =
    sizeof store_conformance_schedules_tests / sizeof store_conformance_schedules_tests[0];
