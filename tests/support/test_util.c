/* test_util.c — temporary directories and store URLs for tests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_util.h"

static char tmpdir[512];
static pid_t creator; /* forked children must not remove the directory */

static void remove_tmpdir(void)
{
    char cmd[600];
    if (tmpdir[0] == '\0' || getpid() != creator || getenv("CHORE_KEEP_TMP") != NULL)
        return;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
}

const char *test_tmpdir(void)
{
    if (tmpdir[0] != '\0')
        return tmpdir;
    const char *base = getenv("CHORE_TEST_TMP");
    char parent[400];
    snprintf(parent, sizeof parent, "%s", base != NULL ? base : "/tmp");
    char cmd[450];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", parent);
    if (system(cmd) != 0)
        abort();
    snprintf(tmpdir, sizeof tmpdir, "%s/chore-test-XXXXXX", parent);
    if (mkdtemp(tmpdir) == NULL)
        abort();
    creator = getpid();
    atexit(remove_tmpdir);
    return tmpdir;
}

const char *test_db_path(char *buf, size_t len, const char *name)
{
    static int counter;
    snprintf(buf, len, "%s/%s-%d.db", test_tmpdir(), name, __sync_add_and_fetch(&counter, 1));
    return buf;
}

const char *test_store_url(char *buf, size_t len, const char *name)
{
    char path[600];
    snprintf(buf, len, "sqlite:%s", test_db_path(path, sizeof path, name));
    return buf;
}
