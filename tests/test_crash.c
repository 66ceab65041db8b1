/* test_crash.c — kill -9 at random moments. A child process works
 * thousands of jobs, and enqueues more of its own, while the parent kills
 * it with SIGKILL at random times, many times over. Afterwards every job
 * enqueued (and every enqueue a child saw acknowledged) is completed, none
 * is lost, the file passes integrity_check, and the duplicate runs (allowed
 * by at-least-once) are counted and printed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "chore.h"
#include "test_util.h"

enum { JOBS = 20000, KILLS = 60, EXTRA_PER_CHILD = 40 };

static char db_url[700], db_path[700], runs_path[720], acks_path[720];

/* Append one line with a single write(): a SIGKILL cannot tear it. */
static void append_line(const char *path, const char *line)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);
    if (fd < 0)
        _exit(3);
    ssize_t len = (ssize_t)strlen(line);
    if (write(fd, line, (size_t)len) != len)
        _exit(3);
    close(fd);
}

static int record_run(chore_job *job, void *ud)
{
    (void)ud;
    char line[32];
    snprintf(line, sizeof line, "%lld\n", (long long)chore_job_id(job));
    append_line(runs_path, line);
    return CHORE_OK;
}

static chore *open_instance(void)
{
    chore_config cfg = {.store = db_url, .workers = 4, .fetch_batch = 32, .lease_ms = 300,
                        .rescue_interval_ms = 50, .poll_interval_ms = 20};
    chore *c = NULL;
    return chore_open(&c, &cfg) == CHORE_OK ? c : NULL;
}

static bool all_final(chore *c)
{
    int64_t counts[CHORE_STATE_COUNT];
    if (chore_count_by_state(c, counts) != CHORE_OK)
        return false;
    return counts[CHORE_SCHEDULED] + counts[CHORE_AVAILABLE] + counts[CHORE_RUNNING] +
               counts[CHORE_SUSPENDED] ==
           0;
}

/* The child: work jobs and enqueue a few, until all are done or killed. */
static void child_main(void)
{
    chore *c = open_instance();
    if (c == NULL || chore_handle(c, "crash.work", record_run, NULL, NULL) != CHORE_OK ||
        chore_start(c) != CHORE_OK)
        _exit(2);
    for (int i = 0; i < EXTRA_PER_CHILD; i++) {
        int64_t id;
        if (chore_enqueue(c, "crash.work", "{\"extra\":true}", NULL, &id) != CHORE_OK)
            _exit(4);
        char line[32];
        snprintf(line, sizeof line, "%lld\n", (long long)id);
        append_line(acks_path, line); /* only after the enqueue was acknowledged */
    }
    while (!all_final(c))
        chore_wait_idle(c, 100);
    chore_close(c);
    _exit(0);
}

static pid_t spawn_child(void)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        child_main();
    return pid;
}

/* Read a file of ids, one a line, into counts[id]. Returns the line count. */
static long count_ids(const char *path, int *counts, int64_t max_id)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    long lines = 0;
    long long id;
    while (fscanf(f, "%lld", &id) == 1) {
        assert_true(id > 0 && id <= max_id);
        counts[id]++;
        lines++;
    }
    fclose(f);
    return lines;
}

static void nothing_acknowledged_is_lost_under_sigkill(void **state)
{
    (void)state;
    test_store_url(db_url, sizeof db_url, "crash");
    snprintf(db_path, sizeof db_path, "%s", db_url + strlen("sqlite:"));
    snprintf(runs_path, sizeof runs_path, "%s.runs", db_path);
    snprintf(acks_path, sizeof acks_path, "%s.acks", db_path);

    chore *c = open_instance();
    assert_non_null(c);
    chore_job_spec *specs = calloc(JOBS, sizeof *specs);
    int64_t *ids = calloc(JOBS, sizeof *ids);
    for (int i = 0; i < JOBS; i++)
        specs[i] = (chore_job_spec){.name = "crash.work", .payload = "{}"};
    assert_int_equal(chore_enqueue_bulk(c, specs, JOBS, ids, NULL), CHORE_OK);
    chore_close(c);
    free(specs);
    free(ids);

    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    int kills = 0;
    for (; kills < KILLS; kills++) {
        pid_t pid = spawn_child();
        struct timespec pause = {0, (long)(5 + rand() % 120) * 1000000L};
        nanosleep(&pause, NULL); /* a random moment to kill at */
        kill(pid, SIGKILL);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (WIFEXITED(status)) {
            assert_int_equal(WEXITSTATUS(status), 0);
            break; /* it finished everything before the kill */
        }
    }
    pid_t last = spawn_child(); /* the last one is left to finish */
    int status;
    assert_int_equal(waitpid(last, &status, 0), last);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);

    c = open_instance();
    assert_non_null(c);
    int64_t counts[CHORE_STATE_COUNT];
    assert_int_equal(chore_count_by_state(c, counts), CHORE_OK);
    int64_t total = 0;
    for (int s = 0; s < CHORE_STATE_COUNT; s++)
        total += counts[s];
    assert_int_equal(counts[CHORE_COMPLETED], total);
    assert_true(total >= JOBS);

    int64_t max_id = total + 1000;
    int *runs = calloc((size_t)max_id + 1, sizeof *runs);
    int *acks = calloc((size_t)max_id + 1, sizeof *acks);
    long run_lines = count_ids(runs_path, runs, max_id);
    long ack_lines = count_ids(acks_path, acks, max_id);
    long duplicates = 0;
    for (int64_t id = 1; id <= max_id; id++) {
        if (acks[id] > 0) {
            chore_job_info *info = NULL;
            assert_int_equal(chore_job_get(c, id, &info), CHORE_OK); /* not lost */
            assert_int_equal(info->state, CHORE_COMPLETED);
            chore_job_info_free(info);
        }
        if (id <= total) /* every stored job ran at least once */
            assert_true(runs[id] >= 1);
        if (runs[id] > 1)
            duplicates += runs[id] - 1;
    }
    chore_close(c);

    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
    sqlite3_finalize(st);
    sqlite3_close(db);

    printf("crash test: %lld jobs (%ld acknowledged from killed children), %d kills, "
           "%ld runs, %ld duplicate runs\n",
           (long long)total, ack_lines, kills, run_lines, duplicates);
    free(runs);
    free(acks);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nothing_acknowledged_is_lost_under_sigkill),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
