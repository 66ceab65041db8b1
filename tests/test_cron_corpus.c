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

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The file being replayed, named when a check of the target fails. */
static char corpus_current[512];
#define FUZZ_FAIL(what) fail_msg("corpus file %s: %s", corpus_current, what)
#include "../fuzz/fuzz_cron.c"

#ifndef CHORE_CRON_CORPUS_DIR
#define CHORE_CRON_CORPUS_DIR "fuzz/corpus/cron"
#endif

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void replay_every_corpus_file(void **state)
{
    (void)state;
    const char *dir_name = getenv("CHORE_CRON_CORPUS");
    if (dir_name == NULL || dir_name[0] == '\0')
        dir_name = CHORE_CRON_CORPUS_DIR;
    DIR *dir = opendir(dir_name);
    if (dir == NULL)
        fail_msg("cannot open the corpus directory %s", dir_name);
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            names = realloc(names, cap * sizeof *names);
            assert_non_null(names);
        }
        names[n] = strdup(e->d_name);
        assert_non_null(names[n]);
        n++;
    }
    closedir(dir);
    qsort(names, n, sizeof *names, by_name);
    /* the seeds alone are more than this: fewer means a lost corpus */
    if (n < 30)
        fail_msg("only %zu files in %s", n, dir_name);

    for (size_t i = 0; i < n; i++) {
        snprintf(corpus_current, sizeof corpus_current, "%s/%s", dir_name, names[i]);
        FILE *f = fopen(corpus_current, "rb");
        if (f == NULL)
            fail_msg("cannot open %s", corpus_current);
        uint8_t buf[8192];
        size_t len = fread(buf, 1, sizeof buf, f);
        fclose(f);
        /* a copy of exactly len bytes, so ASan sees any read past the input */
        uint8_t *data = malloc(len ? len : 1);
        assert_non_null(data);
        memcpy(data, buf, len);
        assert_int_equal(LLVMFuzzerTestOneInput(data, len), 0);
        free(data);
        free(names[i]);
    }
    free(names);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(replay_every_corpus_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
