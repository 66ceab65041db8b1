/*
 * store_conformance_locks.c — the loop-lock part of the store conformance
 * suite: lock_acquire takes a free lock, refuses a second owner while the
 * lease is unexpired, renews for the same owner (the expiry moves), is
 * taken over after expiry; lock_release frees the holder's lock and is a
 * no-op for anyone else; lock names are independent; bad arguments are
 * CHORE_EINVAL. Written only against store_ops, like store_conformance.c,
 * which runs these tests in the order of store_conformance_locks_tests.
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

#define TTL 10000LL

/* ---------------------------------------------------------------- helpers */

/* lock_acquire(name, owner, now, TTL), asserted to succeed; whether held. */
static bool acquire(fx *f, const char *name, const char *owner, int64_t now)
{
    bool held = false;
    assert_int_equal(f->ops->lock_acquire(f->s, name, owner, now, TTL, &held), CHORE_OK);
    return held;
}

static void release(fx *f, const char *name, const char *owner)
{
    assert_int_equal(f->ops->lock_release(f->s, name, owner), CHORE_OK);
}

/* ---------------------------------------------------------------- tests */

static void test_lock_free_is_taken(void **state)
{
    fx *f = *state;
    bool held = false;
    assert_int_equal(f->ops->lock_acquire(f->s, "tick", "a", T0, TTL, &held), CHORE_OK);
    assert_true(held);
    /* Held for the whole lease: b is refused at its last instant. */
    assert_false(acquire(f, "tick", "b", T0 + TTL - 1));
}

static void test_lock_second_owner_refused(void **state)
{
    fx *f = *state;
    assert_true(acquire(f, "tick", "a", T0));
    bool held = true;
    assert_int_equal(f->ops->lock_acquire(f->s, "tick", "b", T0 + 1, TTL, &held), CHORE_OK);
    assert_false(held);
    /* The refusal changed nothing: a still holds it, with its old expiry. */
    assert_true(acquire(f, "tick", "a", T0 + 2));
    assert_false(acquire(f, "tick", "b", T0 + 3));
}

static void test_lock_same_owner_renews(void **state)
{
    fx *f = *state;
    assert_true(acquire(f, "tick", "a", T0));
    /* Renewed at T0 + TTL/2: the lease now runs to T0 + TTL/2 + TTL. */
    assert_true(acquire(f, "tick", "a", T0 + TTL / 2));
    /* Past the first expiry, within the renewed one: b is still refused. */
    assert_false(acquire(f, "tick", "b", T0 + TTL));
    assert_false(acquire(f, "tick", "b", T0 + TTL / 2 + TTL - 1));
    /* At the renewed expiry it is free. */
    assert_true(acquire(f, "tick", "b", T0 + TTL / 2 + TTL));
}

static void test_lock_taken_over_after_expiry(void **state)
{
    fx *f = *state;
    assert_true(acquire(f, "tick", "a", T0));
    assert_false(acquire(f, "tick", "b", T0 + TTL - 1));
    assert_true(acquire(f, "tick", "b", T0 + TTL)); /* expires_at <= now: expired */
    /* Now b's: a is refused, and a's release does not free it. */
    assert_false(acquire(f, "tick", "a", T0 + TTL + 1));
    release(f, "tick", "a");
    assert_false(acquire(f, "tick", "a", T0 + TTL + 2));
    assert_true(acquire(f, "tick", "b", T0 + TTL + 3));
}

static void test_lock_release_by_holder(void **state)
{
    fx *f = *state;
    assert_true(acquire(f, "tick", "a", T0));
    release(f, "tick", "a");
    /* Free at once, long before the lease would have ended. */
    assert_true(acquire(f, "tick", "b", T0 + 1));
    /* Releasing a lock nobody holds, or twice, is a no-op. */
    release(f, "tick", "b");
    release(f, "tick", "b");
    release(f, "never_taken", "b");
    assert_true(acquire(f, "tick", "a", T0 + 2));
}

static void test_lock_release_by_other_is_noop(void **state)
{
    fx *f = *state;
    assert_true(acquire(f, "tick", "a", T0));
    release(f, "tick", "b");
    assert_false(acquire(f, "tick", "b", T0 + 1));
    assert_true(acquire(f, "tick", "a", T0 + 2));
}

static void test_lock_names_independent(void **state)
{
    fx *f = *state;
    assert_true(acquire(f, "one", "a", T0));
    assert_true(acquire(f, "two", "b", T0));
    assert_true(acquire(f, "three", "a", T0));
    assert_false(acquire(f, "one", "b", T0 + 1));
    assert_false(acquire(f, "two", "a", T0 + 1));
    /* Releasing one leaves the others as they were. */
    release(f, "one", "a");
    assert_true(acquire(f, "one", "b", T0 + 2));
    assert_false(acquire(f, "two", "a", T0 + 2));
    assert_false(acquire(f, "three", "b", T0 + 2));
    /* Renewing one does not renew another. */
    assert_true(acquire(f, "two", "b", T0 + TTL - 1));
    assert_true(acquire(f, "three", "b", T0 + TTL));
    assert_false(acquire(f, "two", "a", T0 + TTL));
    /* Names differing only in case or by a prefix are distinct locks. */
    assert_true(acquire(f, "ONE", "c", T0 + TTL));
    assert_true(acquire(f, "on", "c", T0 + TTL));
    assert_false(acquire(f, "one", "c", T0 + TTL));
}

static void test_lock_bad_args(void **state)
{
    fx *f = *state;
    bool held = true;
    assert_int_equal(f->ops->lock_acquire(f->s, NULL, "a", T0, TTL, &held), CHORE_EINVAL);
    assert_false(held);
    assert_int_equal(f->ops->lock_acquire(f->s, "", "a", T0, TTL, &held), CHORE_EINVAL);
    assert_int_equal(f->ops->lock_acquire(f->s, "tick", NULL, T0, TTL, &held), CHORE_EINVAL);
    assert_int_equal(f->ops->lock_acquire(f->s, "tick", "", T0, TTL, &held), CHORE_EINVAL);
    assert_int_equal(f->ops->lock_acquire(f->s, "tick", "a", T0, TTL, NULL), CHORE_EINVAL);
    assert_int_equal(f->ops->lock_release(f->s, NULL, "a"), CHORE_EINVAL);
    assert_int_equal(f->ops->lock_release(f->s, "", "a"), CHORE_EINVAL);
    assert_int_equal(f->ops->lock_release(f->s, "tick", NULL), CHORE_EINVAL);
    assert_int_equal(f->ops->lock_release(f->s, "tick", ""), CHORE_EINVAL);
    /* None of that took the lock. */
    assert_true(acquire(f, "tick", "b", T0));
}

const struct CMUnitTest store_conformance_locks_tests[] = {
    SC_TEST(test_lock_free_is_taken),
    SC_TEST(test_lock_second_owner_refused),
    SC_TEST(test_lock_same_owner_renews),
    SC_TEST(test_lock_taken_over_after_expiry),
    SC_TEST(test_lock_release_by_holder),
    SC_TEST(test_lock_release_by_other_is_noop),
    SC_TEST(test_lock_names_independent),
    SC_TEST(test_lock_bad_args),
};
const size_t store_conformance_locks_tests_count =
    sizeof store_conformance_locks_tests / sizeof store_conformance_locks_tests[0];
