/* test_rt_store_threads.c — the store conformance suite's concurrency tests
 * on the SQLite backend (also run in the TSan build: label "threaded"). */
#include <stddef.h>

#include "store_conformance.h"
#include "test_util.h"

static const char *new_location(char *buf, size_t len)
{
    return test_db_path(buf, len, "store-threads");
}

int main(void)
{
    return store_conformance_run_threads("sqlite_store_threads", &sqlite_store_ops, new_location);
}
