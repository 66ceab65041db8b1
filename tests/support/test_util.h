/* test_util.h — helpers shared by the tests: temporary store paths, and
 * the test PostgreSQL cluster's URL and fresh schema names. */
#ifndef CHORE_TEST_UTIL_H
#define CHORE_TEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>

/* A fresh, empty directory for this test program; removed at exit. */
const char *test_tmpdir(void);
/* Write "sqlite:<tmpdir>/<name>.db" into buf (a new file each call). */
const char *test_store_url(char *buf, size_t len, const char *name);
/* Write "<tmpdir>/<name>.db" into buf (a new file each call). */
const char *test_db_path(char *buf, size_t len, const char *name);

/* The test PostgreSQL cluster's URL ("postgres://…/chore_test", which
 * scripts/pg-cluster.sh writes to $CHORE_TEST_PG_DIR/url) in buf; false
 * when there is none. */
bool test_pg_url(char *buf, size_t len);
/* A schema name no other test (of any process) uses: prefix, the pid and
 * a counter. */
void test_pg_schema(char *buf, size_t len, const char *prefix);

#endif
