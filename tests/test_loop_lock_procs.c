/*
 * test_loop_lock_procs.c — two processes sharing one SQLite file run one
 * locked loop (chore_loop_add with .locked): over at least 1,000 ticks
 * each tick runs exactly once across both, the process without the lock
 * records skips ("locked elsewhere"), and when the holder is killed with
 * SIGKILL the other takes over within one lease.
 *
 * Real processes (fork) on the real system clock, so not a test_rt_* test
 * and not on the injected clock: every tick appends "<pid> <slot> <start>
 * <now>\n" with one write() to a shared file, slot being floor(start /
 * INTERVAL_MS) where start is the tick's own start, the instant its lock
 * was asked for (its health's next tick less the interval); no slot may
 * appear twice, and no process may take over before the other's lease has
 * run out. The slot of `now`, when the work runs after the lock's
 * transaction, is only reported: that transaction may wait for the other
 * process's, so two ticks' work can fall in one slot of wall time though
 * their starts are an interval apart. Each child keeps a status file (its
 * loop's health, rewritten atomically every few ms) that the parent reads.
 * Children leave with _exit (test_util.c: only the creator removes the
 * temporary directory). Bounded: well under 30 s when things work.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <cmocka.h>

#include "chore.h"
#include "test_util.h"

#define INTERVAL_MS 10
/* The lease a locked loop takes on its lock: src/runtime/loop.c lock_ttl,
 * max(2 * interval, timeout + interval, MIN_LOCK_TTL_MS = 1 s); these loops
 * have no timeout, so it is the 1 s floor. */
#define LOCK_TTL_MS 1000
#define LOOP_NAME "shared_tick"
#define MIN_TICKS 1000   /* ticks before the holder is killed */
#define AFTER_TICKS 50   /* ticks the survivor must run after taking over */
#define CHILD_LIMIT_MS 40000 /* a child left alone exits by itself */
#define PHASE_LIMIT_MS 20000 /* the most each waiting phase of the parent takes */
/* Scheduling slack on top of one lease + one interval for the takeover. */
#define TAKEOVER_SLACK_MS 100

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts); /* the system clock chore uses */
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Where the two processes meet. */
static char g_dir[512];
static char g_db[600];
static char g_ticks[600];
static char g_stop[600];
static pid_t g_kids[2];

static void status_path(char *buf, size_t len, int index)
{
    snprintf(buf, len, "%s/status-%d", g_dir, index);
}

/* ---------------------------------------------------------------- child */

typedef struct child_ctx {
    chore *c;
    chore_loop *loop;
    int fd; /* the ticks file, O_APPEND */
    pid_t pid;
} child_ctx;

/* Append "<pid> <slot> <start_ms> <now_ms>": start is the tick's own start
 * (the instant the loop took the lock at: its next tick less the interval),
 * slot = start / INTERVAL_MS, and now is when the work runs. */
static int tick(chore_tick *t, void *ud)
{
    child_ctx *ctx = ud;
    int64_t now = chore_now(ctx->c);
    chore_loop_health h;
    if (chore_loop_health_get(ctx->loop, &h) != CHORE_OK || h.next_tick_ms <= 0) {
        chore_tick_set_error(t, "no health");
        return CHORE_EINVAL;
    }
    int64_t start = h.next_tick_ms - INTERVAL_MS;
    char line[96];
    int len = snprintf(line, sizeof line, "%ld %" PRId64 " %" PRId64 " %" PRId64 "\n",
                       (long)ctx->pid, start / INTERVAL_MS, start, now);
    if (write(ctx->fd, line, (size_t)len) != len) {
        chore_tick_set_error(t, "short write to the ticks file");
        return CHORE_ESTORE;
    }
    return CHORE_OK;
}

/* Rewrite the status file atomically: "runs skips failures|last_skip". */
static void write_status(int index, chore_loop *loop)
{
    chore_loop_health h;
    if (chore_loop_health_get(loop, &h) != CHORE_OK)
        return;
    char path[700], tmp[720];
    status_path(path, sizeof path, index);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (f == NULL)
        return;
    fprintf(f, "%" PRId64 " %" PRId64 " %" PRId64 "|%s\n", h.runs, h.skips, h.failures,
            h.last_skip);
    if (fclose(f) == 0)
        rename(tmp, path);
}

/* One process: open the shared file, register the locked loop, run until
 * the stop file appears. Never returns. */
static _Noreturn void child_main(int index)
{
#ifdef __linux__
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive a failed parent */
#endif
    child_ctx ctx = {.pid = getpid()};
    ctx.fd = open(g_ticks, O_WRONLY | O_APPEND | O_CREAT, 0644);
    if (ctx.fd < 0)
        _exit(10);
    char url[700];
    snprintf(url, sizeof url, "sqlite:%s", g_db);
    chore_config cfg = {.store = url,
                        .workers = 1,
                        .durability = CHORE_DURABLE_PROCESS,
                        .log_level = CHORE_LOG_WARN};
    if (chore_open(&ctx.c, &cfg) != CHORE_OK)
        _exit(11);
    chore_loop_config lc = {.name = LOOP_NAME,
                            .interval_ms = INTERVAL_MS,
                            .run = tick,
                            .locked = true,
                            .ud = &ctx};
    if (chore_loop_add(ctx.c, &lc, &ctx.loop) != CHORE_OK || ctx.loop == NULL)
        _exit(12);
    chore_loop *loop = ctx.loop;
    if (chore_start(ctx.c) != CHORE_OK)
        _exit(13);
    int64_t limit = now_ms() + CHILD_LIMIT_MS;
    while (access(g_stop, F_OK) != 0) {
        if (now_ms() > limit)
            _exit(14);
        write_status(index, loop);
        sleep_ms(5);
    }
    chore_stop(ctx.c, 1000);
    write_status(index, loop); /* its health once no tick runs any more */
    chore_close(ctx.c);
    close(ctx.fd);
    _exit(0);
}

/* ---------------------------------------------------------------- parent */

typedef struct tick_line {
    long pid;
    int64_t slot;
    int64_t start_ms; /* the tick's start */
    int64_t now_ms;   /* when its work ran */
} tick_line;

/* Every complete line of the ticks file; *n of them. free() the result. */
static tick_line *read_ticks(size_t *n)
{
    *n = 0;
    FILE *f = fopen(g_ticks, "r");
    if (f == NULL)
        return NULL;
    size_t cap = 4096;
    tick_line *lines = malloc(cap * sizeof *lines);
    assert_non_null(lines);
    char buf[128];
    while (fgets(buf, sizeof buf, f) != NULL) {
        if (strchr(buf, '\n') == NULL)
            break; /* a line being written: not complete yet */
        tick_line tl;
        assert_int_equal(sscanf(buf, "%ld %" SCNd64 " %" SCNd64 " %" SCNd64, &tl.pid, &tl.slot,
                                &tl.start_ms, &tl.now_ms),
                         4);
        if (*n == cap) {
            cap *= 2;
            lines = realloc(lines, cap * sizeof *lines);
            assert_non_null(lines);
        }
        lines[(*n)++] = tl;
    }
    fclose(f);
    return lines;
}

typedef struct status {
    int64_t runs, skips, failures;
    char last_skip[64];
} status;

static bool read_status(int index, status *st)
{
    char path[700];
    status_path(path, sizeof path, index);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return false;
    char buf[256];
    bool ok = fgets(buf, sizeof buf, f) != NULL;
    fclose(f);
    if (!ok)
        return false;
    char *bar = strchr(buf, '|');
    if (bar == NULL ||
        sscanf(buf, "%" SCNd64 " %" SCNd64 " %" SCNd64, &st->runs, &st->skips, &st->failures) != 3)
        return false;
    bar[strcspn(bar, "\n")] = '\0';
    snprintf(st->last_skip, sizeof st->last_skip, "%s", bar + 1);
    return true;
}

static int which_kid(long pid)
{
    for (int i = 0; i < 2; i++)
        if ((long)g_kids[i] == pid)
            return i;
    return -1;
}

/* Wait up to limit_ms for child i to exit; its wait status, or -1. */
static int wait_kid(int i, int64_t limit_ms)
{
    int64_t end = now_ms() + limit_ms;
    for (;;) {
        int ws = 0;
        pid_t r = waitpid(g_kids[i], &ws, WNOHANG);
        if (r == g_kids[i]) {
            g_kids[i] = 0;
            return ws;
        }
        if (r < 0 || now_ms() > end)
            return -1;
        sleep_ms(5);
    }
}

static int cmp_start(const void *a, const void *b)
{
    const tick_line *x = a, *y = b;
    return x->start_ms < y->start_ms ? -1 : x->start_ms > y->start_ms;
}

static void test_two_processes_one_locked_loop(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof g_dir, "%s", test_tmpdir());
    snprintf(g_db, sizeof g_db, "%s/shared.db", g_dir);
    snprintf(g_ticks, sizeof g_ticks, "%s/ticks", g_dir);
    snprintf(g_stop, sizeof g_stop, "%s/stop", g_dir);
    /* Create the file (WAL mode, schema) before the children open it: two
     * processes switching a brand-new file to WAL at once can get
     * SQLITE_BUSY, which the busy timeout does not cover. Closed again
     * before the fork, and chore_open starts no thread. */
    char url[700];
    snprintf(url, sizeof url, "sqlite:%s", g_db);
    chore_config cfg = {.store = url, .durability = CHORE_DURABLE_PROCESS};
    chore *c = NULL;
    assert_int_equal(chore_open(&c, &cfg), CHORE_OK);
    chore_close(c);
    fflush(NULL);
    for (int i = 0; i < 2; i++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
            child_main(i);
        g_kids[i] = pid;
    }

    /* Phase 1: at least MIN_TICKS ticks between them. */
    int64_t end = now_ms() + PHASE_LIMIT_MS;
    size_t n = 0;
    tick_line *lines = NULL;
    for (;;) {
        free(lines);
        lines = read_ticks(&n);
        if (n >= MIN_TICKS)
            break;
        for (int i = 0; i < 2; i++) {
            int ws = 0;
            if (waitpid(g_kids[i], &ws, WNOHANG) == g_kids[i]) {
                g_kids[i] = 0;
                fail_msg("child %d exited early: status %d", i, ws);
            }
        }
        if (now_ms() > end)
            fail_msg("only %zu ticks in %d ms", n, PHASE_LIMIT_MS);
        sleep_ms(20);
    }

    /* The holder is whoever ran the last tick; the other must be skipping. */
    int holder = which_kid(lines[n - 1].pid);
    assert_true(holder >= 0);
    int other = 1 - holder;
    status before = {0};
    assert_true(read_status(other, &before));
    free(lines);

    long holder_pid = (long)g_kids[holder], other_pid = (long)g_kids[other];
    int64_t kill_at = now_ms();
    assert_int_equal(kill(g_kids[holder], SIGKILL), 0);
    int ws = wait_kid(holder, 5000);
    assert_true(ws != -1 && WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL);

    /* Phase 2: the survivor takes over and runs AFTER_TICKS ticks after
     * the holder's last one (the holder is dead: its lines are final). */
    int64_t holder_last = -1, first_after = -1; /* tick starts, ms */
    size_t after = 0;
    end = now_ms() + PHASE_LIMIT_MS;
    for (;;) {
        lines = read_ticks(&n);
        size_t from = 0;
        for (size_t i = 0; i < n; i++)
            if (lines[i].pid == holder_pid) {
                holder_last = lines[i].start_ms;
                from = i + 1;
            }
        after = 0;
        first_after = -1;
        for (size_t i = from; i < n; i++)
            if (lines[i].pid == other_pid) {
                if (first_after < 0)
                    first_after = lines[i].start_ms;
                after++;
            }
        if (after >= AFTER_TICKS)
            break;
        free(lines);
        if (now_ms() > end)
            fail_msg("the survivor ran %zu ticks in %d ms after the kill", after, PHASE_LIMIT_MS);
        sleep_ms(20);
    }

    /* Stop the survivor; it writes its final health first. */
    FILE *stop = fopen(g_stop, "w");
    assert_non_null(stop);
    fclose(stop);
    ws = wait_kid(other, 10000);
    assert_true(ws != -1 && WIFEXITED(ws));
    assert_int_equal(WEXITSTATUS(ws), 0);
    status final = {0};
    assert_true(read_status(other, &final));
    free(lines);
    lines = read_ticks(&n);

    /* Every line is one of ours; count them by process. */
    size_t by_survivor = 0, by_holder = 0;
    for (size_t i = 0; i < n; i++) {
        if (lines[i].pid == other_pid)
            by_survivor++;
        else if (lines[i].pid == holder_pid)
            by_holder++;
        else
            fail_msg("a tick by an unknown pid %ld", lines[i].pid);
    }

    /* Each slot ran once: no slot twice, within a process or across them. */
    qsort(lines, n, sizeof *lines, cmp_start);
    size_t dup_same = 0, dup_cross = 0, handovers = 0, wall_dups = 0;
    int64_t min_handover = INT64_MAX, max_late = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t late = lines[i].now_ms - lines[i].start_ms;
        max_late = late > max_late ? late : max_late;
        if (i == 0)
            continue;
        const tick_line *p = &lines[i - 1], *q = &lines[i];
        if (q->slot == p->slot) {
            if (q->pid == p->pid)
                dup_same++;
            else
                dup_cross++;
            fprintf(stderr, "slot %" PRId64 " ran twice: pids %ld and %ld\n", q->slot, p->pid,
                    q->pid);
        }
        if (q->pid != p->pid) { /* the lock changed hands */
            handovers++;
            if (q->start_ms - p->start_ms < min_handover)
                min_handover = q->start_ms - p->start_ms;
        }
        /* Only a figure: the slot of when the work ran (after the lock's
         * transaction, which may wait for the other process's) can repeat
         * even though each tick's own start is in a slot of its own. */
        if (q->now_ms / INTERVAL_MS == p->now_ms / INTERVAL_MS)
            wall_dups++;
    }

    int64_t delay_kill = first_after - kill_at;
    int64_t gap = first_after - holder_last;
    printf("ticks: %zu in all; holder (killed) %zu, survivor %zu (%zu after the takeover)\n", n,
           by_holder, by_survivor, after);
    printf("survivor before the kill: runs %" PRId64 ", skips %" PRId64 ", last_skip \"%s\"\n",
           before.runs, before.skips, before.last_skip);
    printf("survivor at exit: runs %" PRId64 ", skips %" PRId64 ", failures %" PRId64
           ", last_skip \"%s\"\n",
           final.runs, final.skips, final.failures, final.last_skip);
    printf("takeover: %" PRId64 " ms after the kill, %" PRId64
           " ms after the holder's last tick (lease %d ms, interval %d ms)\n",
           delay_kill, gap, LOCK_TTL_MS, INTERVAL_MS);
    printf("handovers: %zu, shortest %" PRId64 " ms after the previous holder's tick\n",
           handovers, handovers > 0 ? min_handover : 0);
    printf("slots run twice: %zu within a process, %zu across processes; work ran up to %" PRId64
           " ms after its tick's start (%zu slots of the work's own time repeat)\n",
           dup_same, dup_cross, max_late, wall_dups);

    assert_true(n >= MIN_TICKS + AFTER_TICKS);
    assert_int_equal(dup_cross, 0);
    assert_int_equal(dup_same, 0);
    assert_true(before.skips > 0);
    assert_string_equal(before.last_skip, "locked elsewhere");
    assert_int_equal(final.failures, 0);
    assert_true(final.skips >= before.skips);
    /* The survivor's ticks are its health's runs (none lost, none extra). */
    assert_int_equal((int64_t)by_survivor, final.runs);
    /* The holder renewed its lease at its last tick; the survivor tries
     * once an interval: it must have the lock one lease (and an interval)
     * later at the latest. */
    assert_true(gap <= LOCK_TTL_MS + INTERVAL_MS + TAKEOVER_SLACK_MS);
    assert_true(delay_kill <= LOCK_TTL_MS + INTERVAL_MS + TAKEOVER_SLACK_MS);
    /* No process took the lock before the other's lease ran out. */
    assert_true(handovers >= 1);
    assert_true(min_handover >= LOCK_TTL_MS);
    free(lines);
}

/* Whatever happened, no child outlives the test. */
static int kill_kids(void **state)
{
    (void)state;
    for (int i = 0; i < 2; i++)
        if (g_kids[i] > 0) {
            kill(g_kids[i], SIGKILL);
            waitpid(g_kids[i], NULL, 0);
            g_kids[i] = 0;
        }
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_two_processes_one_locked_loop, kill_kids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
