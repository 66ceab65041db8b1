/* test_pg.h — the test PostgreSQL cluster (scripts/pg-cluster.sh, ctest
 * fixture "pg"): its URL, fresh schema names, and plain SQL on a raw libpq
 * connection for the tests that reach into rows. Each call fails the test
 * on an error. */
#ifndef CHORE_TEST_PG_H
#define CHORE_TEST_PG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

/* The cluster's URL ("postgres://…/chore_test", from
 * $CHORE_TEST_PG_DIR/url) in buf; false when there is none. */
bool test_pg_url(char *buf, size_t len);
/* A schema name no other test (of any process) uses: prefix, the pid and
 * a counter. */
void test_pg_schema(char *buf, size_t len, const char *prefix);
/* A connection to url. */
PGconn *test_pg_connect(const char *url);
/* Run statements. */
void test_pg_exec(PGconn *c, const char *sql);
/* The first column of the first row of a query, as an integer (0 when no
 * row or NULL). */
int64_t test_pg_int(PGconn *c, const char *sql);
/* test_pg_int, asked again until it is at least `at_least` or deadline_ms
 * have passed; returns the last answer. For waiting on what another
 * process does (pg_stat_activity), which nothing signals. */
int64_t test_pg_wait_int(PGconn *c, const char *sql, int64_t at_least, int64_t deadline_ms);

#endif
