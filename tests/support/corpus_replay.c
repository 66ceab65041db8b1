/* corpus_replay.c — replaying a fuzzer's corpus (see corpus_replay.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corpus_replay.h"

char corpus_current[512];

const char *corpus_dir(const char *env, const char *built_in)
{
    const char *dir = getenv(env);
    return dir != NULL && dir[0] != '\0' ? dir : built_in;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void corpus_replay(const char *dir_name, size_t min_files, int (*one)(const uint8_t *, size_t))
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
