/*
 * fuzz_check.h — FUZZ_CHECK for the fuzz targets: a broken promise aborts,
 * which libFuzzer reports. The corpus replay tests (test_*_corpus.c)
 * define FUZZ_FAIL before including a target, to fail the test with the
 * corpus file's name instead.
 */
#ifndef CHORE_FUZZ_CHECK_H
#define CHORE_FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#ifndef FUZZ_FAIL
#define FUZZ_FAIL(what) (fprintf(stderr, "%s: %s\n", __FILE__, what), abort())
#endif
#define FUZZ_CHECK(cond)                                                                      \
    do {                                                                                      \
        if (!(cond))                                                                          \
            FUZZ_FAIL(#cond);                                                                 \
    } while (0)

#endif
