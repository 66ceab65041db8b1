/* cli_run.c — see cli_run.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli_run.h"
#include "test_util.h"

extern char **environ;

enum { MAX_ARGS = 40 }; /* argv slots, argv[0] and the NULL included */

/* Read a whole file into buf (NUL-terminated, truncated to len - 1). */
static void read_whole_file(const char *path, char *buf, size_t len)
{
    buf[0] = '\0';
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return;
    size_t got = fread(buf, 1, len - 1, f);
    buf[got] = '\0';
    fclose(f);
}

/* Read fd to its end into out (NUL-terminated, truncated to outlen - 1);
 * what does not fit is read and dropped so the writer never blocks. */
static void read_all(int fd, char *out, size_t outlen)
{
    size_t used = 0;
    char sink[4096];
    for (;;) {
        char *dst = used < outlen - 1 ? out + used : sink;
        size_t room = used < outlen - 1 ? outlen - 1 - used : sizeof sink;
        ssize_t got = read(fd, dst, room);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        if (dst == out + used)
            used += (size_t)got;
    }
    out[used] = '\0';
}

/* Spawn the binary, collect stdout (and stderr via a file), wait for it. */
int cli_run_chore(char *out, size_t outlen, char *err, size_t errlen, const char *const *args)
{
    const char *bin = getenv("CHORE_BIN");
    assert_non_null(bin);
    const char *argv[MAX_ARGS] = {bin};
    size_t n = 1;
    for (; args[n - 1] != NULL && n < MAX_ARGS - 1; n++)
        argv[n] = args[n - 1];
    argv[n] = NULL;

    char err_path[600];
    snprintf(err_path, sizeof err_path, "%s/stderr.txt", test_tmpdir());
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    posix_spawn_file_actions_addclose(&fa, fds[1]);
    if (err != NULL)
        posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, err_path,
                                         O_WRONLY | O_CREAT | O_TRUNC, 0600);
    pid_t pid;
    int rc = posix_spawn(&pid, bin, &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    assert_int_equal(rc, 0);

    read_all(fds[0], out, outlen);
    close(fds[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (err != NULL)
        read_whole_file(err_path, err, errlen);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Collect the NULL-terminated arguments of ap, then cli_run_chore. */
int cli_vrun(char *out, size_t outlen, char *err, size_t errlen, va_list ap)
{
    const char *args[MAX_ARGS];
    size_t n = 0;
    const char *a;
    while ((a = va_arg(ap, const char *)) != NULL && n < MAX_ARGS - 1)
        args[n++] = a;
    args[n] = NULL;
    return cli_run_chore(out, outlen, err, errlen, args);
}

/* Variadic run, stdout only. */
int cli_run(char *out, ...)
{
    va_list ap;
    va_start(ap, out);
    int status = cli_vrun(out, CLI_OUT_MAX, NULL, 0, ap);
    va_end(ap);
    return status;
}

/* Variadic run that also captures stderr into err. */
int cli_run_err(char *out, char *err, size_t errlen, ...)
{
    va_list ap;
    va_start(ap, errlen);
    int status = cli_vrun(out, CLI_OUT_MAX, err, errlen, ap);
    va_end(ap);
    return status;
}

/* Parse JSON, failing with the parser's message and the text. */
json_t *cli_parse_json(const char *text)
{
    json_error_t error;
    json_t *v = json_loads(text, 0, &error);
    if (v == NULL)
        fail_msg("not JSON (%s): %s", error.text, text);
    return v;
}
