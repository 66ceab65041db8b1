/*
 * command_spawn.c — run one command job's process: `/bin/sh -c COMMAND`
 * in a process group of its own, with the payload on its stdin, the job's
 * id, name and attempt in its environment, and its stdout and stderr kept
 * (the last 64 KiB of each). A timeout or a stopping instance sends
 * SIGTERM to the whole group, then SIGKILL after the type's kill_grace.
 *
 * Everything here is per call (no global state), so several workers run
 * commands at once. The environment is read from `environ`, which the
 * daemon never changes after start. Writing the payload to a command that
 * has closed its stdin raises SIGPIPE; it is blocked in this thread around
 * the write and a pending one consumed, so the daemon lives whatever its
 * disposition of SIGPIPE.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "command_internal.h"

extern char **environ;

/* How often a running command checks chore_job_should_stop. */
enum { CHECK_EVERY_MS = 100 };

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void command_ring_put(command_ring *r, const unsigned char *data, size_t n)
{
    r->total += n;
    if (n >= COMMAND_OUTPUT_MAX) {
        data += n - COMMAND_OUTPUT_MAX;
        n = COMMAND_OUTPUT_MAX;
    }
    size_t end = (r->start + r->len) % COMMAND_OUTPUT_MAX;
    size_t first = n < COMMAND_OUTPUT_MAX - end ? n : COMMAND_OUTPUT_MAX - end;
    memcpy(r->buf + end, data, first);
    memcpy(r->buf, data + first, n - first);
    if (r->len + n > COMMAND_OUTPUT_MAX) {
        r->start = (r->start + r->len + n - COMMAND_OUTPUT_MAX) % COMMAND_OUTPUT_MAX;
        r->len = COMMAND_OUTPUT_MAX;
    } else {
        r->len += n;
    }
}

/* The daemon's environment without CHORE_* job variables, plus this job's. */
static char **job_environment(chore_job *job, char *vars[3])
{
    size_t n = 0;
    while (environ[n] != NULL)
        n++;
    char **env = calloc(n + 4, sizeof *env);
    if (env == NULL)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (strncmp(environ[i], "CHORE_JOB_ID=", 13) != 0 &&
            strncmp(environ[i], "CHORE_JOB_NAME=", 15) != 0 &&
            strncmp(environ[i], "CHORE_ATTEMPT=", 14) != 0)
            env[k++] = environ[i];
    }
    if (asprintf(&vars[0], "CHORE_JOB_ID=%" PRId64, chore_job_id(job)) < 0)
        vars[0] = NULL;
    if (asprintf(&vars[1], "CHORE_JOB_NAME=%s", chore_job_name(job)) < 0)
        vars[1] = NULL;
    if (asprintf(&vars[2], "CHORE_ATTEMPT=%d", chore_job_attempt(job)) < 0)
        vars[2] = NULL;
    if (vars[0] == NULL || vars[1] == NULL || vars[2] == NULL) {
        free(env);
        return NULL;
    }
    env[k++] = vars[0];
    env[k++] = vars[1];
    env[k++] = vars[2];
    return env;
}

/* Start the shell: its stdin, stdout and stderr are the given pipe ends. */
static int spawn_shell(const char *command, char **env, const int fds[3], pid_t *pid)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    int rc = posix_spawn_file_actions_init(&fa);
    if (rc != 0)
        return rc;
    rc = posix_spawnattr_init(&attr);
    if (rc != 0) {
        posix_spawn_file_actions_destroy(&fa);
        return rc;
    }
    for (int i = 0; i < 3 && rc == 0; i++)
        rc = posix_spawn_file_actions_adddup2(&fa, fds[i], i);
    /* Its own group, so a timeout reaches every process it started. A worker
     * thread may block signals and the daemon ignores SIGPIPE: the command
     * starts with none blocked and the usual dispositions. */
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    const int reset[] = {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2,
                         SIGALRM};
    for (size_t i = 0; i < sizeof reset / sizeof reset[0]; i++)
        sigaddset(&defaults, reset[i]);
    if (rc == 0)
        rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                                 POSIX_SPAWN_SETSIGDEF);
    if (rc == 0)
        rc = posix_spawnattr_setpgroup(&attr, 0);
    if (rc == 0)
        rc = posix_spawnattr_setsigmask(&attr, &none);
    if (rc == 0)
        rc = posix_spawnattr_setsigdefault(&attr, &defaults);
    char *argv[] = {"sh", "-c", (char *)command, NULL};
    if (rc == 0)
        rc = posix_spawn(pid, "/bin/sh", &fa, &attr, argv, env);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    return rc;
}

/* Write what is left of the payload without blocking; false once stdin is done. */
static bool feed_stdin(int fd, const char *payload, size_t len, size_t *done)
{
    sigset_t pipe_set, old;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    sigset_t pending;
    sigpending(&pending);
    bool was_pending = sigismember(&pending, SIGPIPE);
    ssize_t n = write(fd, payload + *done, len - *done);
    int e = errno;
    if (n < 0 && e == EPIPE && !was_pending) {
        struct timespec zero = {0, 0};
        sigtimedwait(&pipe_set, NULL, &zero); /* consume the SIGPIPE this write raised */
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (n > 0)
        *done += (size_t)n;
    if (n < 0 && (e == EAGAIN || e == EINTR))
        return true;
    return n >= 0 && *done < len; /* EPIPE: the command does not read its stdin */
}

/* Read what the pipe holds into the ring; false at end of file or error. */
static bool drain(int fd, command_ring *ring, size_t limit)
{
    unsigned char buf[16384];
    size_t got = 0;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n > 0) {
            command_ring_put(ring, buf, (size_t)n);
            got += (size_t)n;
            if (got >= limit)
                return true;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        return n < 0 && errno == EAGAIN;
    }
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* After the shell of a stopped command has exited: give what is left of
 * its group the rest of the grace, then SIGKILL. */
static void finish_group(pid_t pgid, int64_t kill_at)
{
    while (kill(-pgid, 0) == 0 && mono_ms() < kill_at)
        poll(NULL, 0, 20);
    kill(-pgid, SIGKILL); /* ESRCH when the group is gone */
}

/* The poll loop: feed stdin, keep output, stop on timeout or should_stop. */
static void supervise(const daemon_job_type *t, chore_job *job, pid_t pid, int fds[3],
                      command_run *run)
{
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0); /* -1: fall back to periodic checks */
    const char *payload = chore_job_payload(job);
    size_t payload_len = payload != NULL ? strlen(payload) : 0, fed = 0;
    if (payload_len == 0)
        close_fd(&fds[0]);
    int64_t start = mono_ms();
    int64_t deadline = t->timeout_ms > 0 ? start + t->timeout_ms : INT64_MAX;
    int64_t kill_at = INT64_MAX;
    bool killed = false;
    for (;;) {
        if (waitpid(pid, &run->status, WNOHANG) == pid)
            break;
        int64_t now = mono_ms();
        if (kill_at == INT64_MAX) {
            if (now >= deadline)
                run->timed_out = true;
            else if (chore_job_should_stop(job))
                run->stopped = true;
            if (run->timed_out || run->stopped) {
                kill(-pid, SIGTERM);
                kill_at = now + t->kill_grace_ms;
            }
        } else if (!killed && now >= kill_at) {
            kill(-pid, SIGKILL);
            killed = true;
        }
        struct pollfd p[4];
        int n = 0, at_in = -1, at_out = -1, at_err = -1;
        if (fds[0] >= 0)
            at_in = n, p[n++] = (struct pollfd){.fd = fds[0], .events = POLLOUT};
        if (fds[1] >= 0)
            at_out = n, p[n++] = (struct pollfd){.fd = fds[1], .events = POLLIN};
        if (fds[2] >= 0)
            at_err = n, p[n++] = (struct pollfd){.fd = fds[2], .events = POLLIN};
        if (pidfd >= 0)
            p[n++] = (struct pollfd){.fd = pidfd, .events = POLLIN};
        int64_t wait = CHECK_EVERY_MS;
        int64_t next = kill_at == INT64_MAX ? deadline : (killed ? INT64_MAX : kill_at);
        if (next - now < wait)
            wait = next - now > 0 ? next - now : 0;
        if (poll(p, (nfds_t)n, (int)wait) < 0 && errno != EINTR)
            poll(NULL, 0, CHECK_EVERY_MS); /* should not happen; do not spin */
        if (at_in >= 0 && p[at_in].revents != 0 && !feed_stdin(fds[0], payload, payload_len, &fed))
            close_fd(&fds[0]);
        if (at_out >= 0 && p[at_out].revents != 0 && !drain(fds[1], &run->out, 1 << 20))
            close_fd(&fds[1]);
        if (at_err >= 0 && p[at_err].revents != 0 && !drain(fds[2], &run->err, 1 << 20))
            close_fd(&fds[2]);
    }
    /* The shell has exited: what it wrote is in the pipes. Background
     * processes may still hold them open, so read only what is there. */
    if (fds[1] >= 0)
        drain(fds[1], &run->out, 1 << 20);
    if (fds[2] >= 0)
        drain(fds[2], &run->err, 1 << 20);
    if (kill_at != INT64_MAX)
        finish_group(pid, killed ? mono_ms() : kill_at);
    if (pidfd >= 0)
        close(pidfd);
    run->ran_ms = mono_ms() - start;
}

void command_spawn_run(const daemon_job_type *t, chore_job *job, command_run *run)
{
    char *vars[3] = {NULL, NULL, NULL};
    char **env = job_environment(job, vars);
    int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
    if (env == NULL) {
        run->spawn_errno = ENOMEM;
    } else if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 ||
               pipe2(err, O_CLOEXEC) != 0) {
        run->spawn_errno = errno;
    } else {
        pid_t pid;
        int child[3] = {in[0], out[1], err[1]};
        run->spawn_errno = spawn_shell(t->command, env, child, &pid);
        close_fd(&in[0]);
        close_fd(&out[1]);
        close_fd(&err[1]);
        if (run->spawn_errno == 0) {
            int fds[3] = {in[1], out[0], err[0]};
            for (int i = 0; i < 3; i++)
                fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
            supervise(t, job, pid, fds, run);
            in[1] = fds[0], out[0] = fds[1], err[0] = fds[2]; /* closed or still open */
        }
    }
    for (int i = 0; i < 2; i++) {
        close_fd(&in[i]);
        close_fd(&out[i]);
        close_fd(&err[i]);
    }
    free(env);
    for (int i = 0; i < 3; i++)
        free(vars[i]);
}
