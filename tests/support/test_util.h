/* test_util.h — helpers shared by the tests: temporary store paths. */
#ifndef CHORE_TEST_UTIL_H
#define CHORE_TEST_UTIL_H

#include <stddef.h>

/* A fresh, empty directory for this test program; removed at exit. */
const char *test_tmpdir(void);
/* Write "sqlite:<tmpdir>/<name>.db" into buf (a new file each call). */
const char *test_store_url(char *buf, size_t len, const char *name);
/* Write "<tmpdir>/<name>.db" into buf (a new file each call). */
const char *test_db_path(char *buf, size_t len, const char *name);


#endif
