/*
 * store_conformance.h — the store conformance suite: cmocka tests written
 * only against store_ops, run unchanged on every backend.
 */
#ifndef CHORE_STORE_CONFORMANCE_H
#define CHORE_STORE_CONFORMANCE_H

#include <stddef.h>

#include "store/store.h"

/* Write a fresh, empty store location (what follows the URL scheme) into
 * buf and return buf. Called once per test, so tests never share a store. */
typedef const char *(*store_location_fn)(char *buf, size_t len);

/* Open the store at location with ops; fails the test, with the store's
 * message, when it cannot be opened. */
store *store_test_open(const store_ops *ops, const char *location, chore_durability durability);
/* Claim exactly one job on s at `now`, failing the test unless it is `id`;
 * returns its token. */
int64_t store_test_claim_one(const store_ops *ops, store *s, int64_t id, int64_t now);

/* Run the single-threaded conformance tests on `ops` as cmocka group
 * `suite_name`. Returns the number of failed tests. */
int store_conformance_run(const char *suite_name, const store_ops *ops,
                          store_location_fn new_location);

/* Run the concurrency tests (several threads enqueue while others claim
 * and finish). Kept apart so that the TSan build runs them. */
int store_conformance_run_threads(const char *suite_name, const store_ops *ops,
                                  store_location_fn new_location);

#endif
