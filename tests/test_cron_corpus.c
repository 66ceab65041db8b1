/*
 * test_cron_corpus.c — replays the cron fuzzer's corpus (fuzz/corpus/cron)
 * through the fuzz target's own function, so every input the fuzzer kept
 * stays a regression test in `make test` (normal and ASan/UBSan builds, no
 * clang needed). The corpus directory is the compile definition
 * CHORE_CRON_CORPUS_DIR, or the environment variable CHORE_CRON_CORPUS.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The file being replayed is named when a check of the target fails. */
#include "corpus_replay.h"
#define FUZZ_FAIL(what) fail_msg("corpus file %s: %s", corpus_current, what)
#include "../fuzz/fuzz_cron.c"

#ifndef CHORE_CRON_CORPUS_DIR
#define CHORE_CRON_CORPUS_DIR "fuzz/corpus/cron"
#endif

static void replay_every_corpus_file(void **state)
{
    (void)state;
    /* the seeds alone are more than 30: fewer means a lost corpus */
    corpus_replay(corpus_dir("CHORE_CRON_CORPUS", CHORE_CRON_CORPUS_DIR), 30,
                  LLVMFuzzerTestOneInput);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(replay_every_corpus_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
