/* test_rt_store_threads.c — the store conformance suite's concurrency tests
 * on the backend the runtime tests run on: SQLite, or PostgreSQL with
 * CHORE_TEST_STORE=pg (the SQLite run is also in the TSan build: label
 * "threaded"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "rt_fixture.h"
#include "store_conformance.h"

int main(void)
{
    const char *suite = fixture_on_pg() ? "pg_store_threads" : "sqlite_store_threads";
    return store_conformance_run_threads(suite, fixture_backend(), fixture_new_location);
}
