/*
 * test_daemon_corpus.c — replays the daemon fuzzers' corpora through the
 * fuzz targets' own functions: fuzz/corpus/config through fuzz_config.c
 * (daemon_config_load_buffer) and fuzz/corpus/http_body through
 * fuzz_http_body.c (http_parse_body and the routes' field readers), so
 * every input the fuzzers kept stays a regression test in `make test`
 * (normal and ASan/UBSan builds, no clang needed). The directories are the
 * compile definitions CHORE_CONFIG_CORPUS_DIR and CHORE_HTTP_BODY_CORPUS_DIR,
 * or the environment variables CHORE_CONFIG_CORPUS and CHORE_HTTP_BODY_CORPUS.
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

/* The file being replayed, named when a check of a target fails. */
static char corpus_current[512];
#define FUZZ_FAIL(what) fail_msg("corpus file %s: %s", corpus_current, what)

/* Both targets define LLVMFuzzerTestOneInput: each gets a name of its own. */
#define LLVMFuzzerTestOneInput fuzz_config_one
#include "../fuzz/fuzz_config.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_http_body_one
#include "../fuzz/fuzz_http_body.c"
#undef LLVMFuzzerTestOneInput

#ifndef CHORE_CONFIG_CORPUS_DIR
#define CHORE_CONFIG_CORPUS_DIR "fuzz/corpus/config"
#endif
#ifndef CHORE_HTTP_BODY_CORPUS_DIR
#define CHORE_HTTP_BODY_CORPUS_DIR "fuzz/corpus/http_body"
#endif

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The corpus directory: the environment's `env`, else `built_in`. */
static const char *corpus_dir(const char *env, const char *built_in)
{
    const char *dir = getenv(env);
    return dir != NULL && dir[0] != '\0' ? dir : built_in;
}

/* Run every file of dir_name (in name order) through `one`; fewer than
 * min_files files means a lost corpus. */
static void replay(const char *dir_name, size_t min_files, int (*one)(const uint8_t *, size_t))
{
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
    if (n < min_files)
        fail_msg("only %zu files in %s", n, dir_name);

    for (size_t i = 0; i < n; i++) {
        snprintf(corpus_current, sizeof corpus_current, "%s/%s", dir_name, names[i]);
        FILE *f = fopen(corpus_current, "rb");
        if (f == NULL)
            fail_msg("cannot open %s", corpus_current);
        static uint8_t buf[65536 + 1];
        size_t len = fread(buf, 1, sizeof buf, f);
        fclose(f);
        if (len == sizeof buf)
            fail_msg("%s: larger than the targets take (64 KiB)", corpus_current);
        /* a copy of exactly len bytes, so ASan sees any read past the input */
        uint8_t *data = malloc(len ? len : 1);
        assert_non_null(data);
        memcpy(data, buf, len);
        assert_int_equal(one(data, len), 0);
        free(data);
        free(names[i]);
    }
    free(names);
}

static void replay_config_corpus(void **state)
{
    (void)state;
    replay(corpus_dir("CHORE_CONFIG_CORPUS", CHORE_CONFIG_CORPUS_DIR), 12, fuzz_config_one);
}

static void replay_http_body_corpus(void **state)
{
    (void)state;
    replay(corpus_dir("CHORE_HTTP_BODY_CORPUS", CHORE_HTTP_BODY_CORPUS_DIR), 12,
           fuzz_http_body_one);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(replay_config_corpus),
        cmocka_unit_test(replay_http_body_corpus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
