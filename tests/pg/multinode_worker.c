/*
 * multinode_worker.c — one chore node for the multi-node tests
 * (tests/pg/test_multinode.py), plus the few store commands those tests
 * need to set up and check a run.
 *
 *   multinode_worker enqueue URL NAME N          N jobs of NAME, in bulk batches of 10,000
 *   multinode_worker schedule URL SCHED EXPR JOB  add the schedule SCHED firing JOB
 *   multinode_worker unschedule URL SCHED
 *   multinode_worker counts URL NAME             "<state> <count>" a line, for NAME's jobs
 *   multinode_worker dump URL NAME               "<id> <state> <unique_key|->" a line
 *   multinode_worker run URL [options]           a node: works jobs and/or ticks a loop
 *       --handle NAME      work jobs of NAME (repeatable), recording "<id> <pid>\n"
 *       --record FILE      where job records go (required with --handle)
 *       --loop FILE        run the locked loop "mn_loop", recording each tick:
 *                          "B <pid> <start_ms>\n" when it begins and
 *                          "E <pid> <start_ms> <end_ms>\n" when it ends
 *       --interval MS      the loop's interval (default 200)
 *       --tick-ms MS       how long each tick works (default 50)
 *       --lease MS         the instance's lease_ms (default the library's)
 *       --workers N        handler threads (default the library's)
 *
 * Every record is one write(2) on an O_APPEND file, made before the handler
 * returns: a SIGKILL after the write cannot lose it (the kernel has it), so
 * a job completed in the store always has its record. `run` stops on
 * SIGTERM or SIGINT with chore_stop (5 s grace) and exits 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chore.h"

#define BULK_BATCH 10000
#define MAX_HANDLE 8

static int64_t real_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One line with one write(): appends from several threads never interleave. */
static int append_line(int fd, const char *line)
{
    size_t len = strlen(line);
    ssize_t w = write(fd, line, len);
    return w == (ssize_t)len ? 0 : -1;
}

static int fail(const char *what, int rc)
{
    fprintf(stderr, "multinode_worker: %s: %s\n", what, chore_strerror(rc));
    return 1;
}

static int open_store(chore **c, const char *url, int64_t lease_ms, int workers)
{
    chore_config cfg = {.store = url, .lease_ms = lease_ms, .workers = workers,
                        .log_level = CHORE_LOG_WARN};
    int rc = chore_open(c, &cfg);
    if (rc != CHORE_OK)
        return fail("open", rc);
    return 0;
}

static int cmd_enqueue(chore *c, const char *name, long n)
{
    chore_job_spec *specs = calloc(BULK_BATCH, sizeof *specs);
    int64_t *ids = calloc(BULK_BATCH, sizeof *ids);
    int rc = specs != NULL && ids != NULL ? CHORE_OK : CHORE_ENOMEM;
    for (long done = 0; rc == CHORE_OK && done < n;) {
        size_t k = (size_t)(n - done < BULK_BATCH ? n - done : BULK_BATCH);
        for (size_t i = 0; i < k; i++)
            specs[i] = (chore_job_spec){.name = name, .payload = "{}"};
        rc = chore_enqueue_bulk(c, specs, k, ids, NULL);
        done += (long)k;
    }
    free(specs);
    free(ids);
    return rc == CHORE_OK ? 0 : fail("enqueue", rc);
}

/* Every job of `name`, newest first, page by page. */
static int list_jobs(chore *c, const char *name, int (*each)(const chore_job_info *, void *),
                     void *ud)
{
    int64_t cursor = 0;
    do {
        chore_list_query q = {.any_state = true, .name = name, .before_id = cursor,
                              .limit = 10000};
        chore_job_info *items = NULL;
        size_t n = 0;
        int rc = chore_job_list(c, &q, &items, &n, &cursor);
        if (rc != CHORE_OK)
            return fail("list", rc);
        for (size_t i = 0; i < n; i++)
            each(&items[i], ud);
        chore_job_list_free(items, n);
    } while (cursor != 0);
    return 0;
}

static int print_one(const chore_job_info *j, void *ud)
{
    (void)ud;
    printf("%" PRId64 " %s %s\n", j->id, chore_state_name(j->state),
           j->unique_key != NULL ? j->unique_key : "-");
    return 0;
}

/* Counts from the store's own aggregate: cheap enough to poll. */
static int cmd_counts(chore *c, const char *name)
{
    chore_name_counts *items = NULL;
    size_t n = 0;
    int rc = chore_count_by_name(c, &items, &n);
    if (rc != CHORE_OK)
        return fail("counts", rc);
    int64_t counts[CHORE_STATE_COUNT] = {0};
    for (size_t i = 0; i < n; i++)
        if (strcmp(items[i].name, name) == 0)
            memcpy(counts, items[i].counts, sizeof counts);
    chore_name_counts_free(items, n);
    for (int s = 0; s < CHORE_STATE_COUNT; s++)
        printf("%s %" PRId64 "\n", chore_state_name((chore_state)s), counts[s]);
    return 0;
}

/* ------------------------------------------------------------------ run */

typedef struct node {
    int record_fd;
    int tick_fd;
    int64_t tick_ms;
} node;

static int on_job(chore_job *job, void *ud)
{
    node *n = ud;
    char line[64];
    snprintf(line, sizeof line, "%" PRId64 " %ld\n", chore_job_id(job), (long)getpid());
    if (append_line(n->record_fd, line) != 0) {
        chore_job_set_error(job, "could not write the record");
        return CHORE_ESTORE; /* retried: the record must exist for a completed job */
    }
    return CHORE_OK;
}

static int on_tick(chore_tick *tick, void *ud)
{
    node *n = ud;
    char line[96];
    int64_t start = real_ms();
    snprintf(line, sizeof line, "B %ld %" PRId64 "\n", (long)getpid(), start);
    append_line(n->tick_fd, line);
    /* The tick's work: long enough that two overlapping ticks would show. */
    struct timespec ts = {.tv_sec = n->tick_ms / 1000, .tv_nsec = (n->tick_ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR && !chore_tick_should_stop(tick))
        ;
    snprintf(line, sizeof line, "E %ld %" PRId64 " %" PRId64 "\n", (long)getpid(), start,
             real_ms());
    append_line(n->tick_fd, line);
    return CHORE_OK;
}

static int open_append(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        fprintf(stderr, "multinode_worker: %s: %s\n", path, strerror(errno));
    return fd;
}

static int cmd_run(const char *url, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"handle", required_argument, NULL, 'h'}, {"record", required_argument, NULL, 'r'},
        {"loop", required_argument, NULL, 'l'},   {"interval", required_argument, NULL, 'i'},
        {"tick-ms", required_argument, NULL, 't'}, {"lease", required_argument, NULL, 'L'},
        {"workers", required_argument, NULL, 'w'}, {NULL, 0, NULL, 0}};
    const char *handle[MAX_HANDLE];
    size_t n_handle = 0;
    const char *record = NULL, *loop = NULL;
    int64_t interval = 200, lease = 0;
    int workers = 0;
    node nd = {.record_fd = -1, .tick_fd = -1, .tick_ms = 50};
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (opt) {
        case 'h':
            if (n_handle == MAX_HANDLE) {
                fprintf(stderr, "multinode_worker: at most %d --handle\n", MAX_HANDLE);
                return 2;
            }
            handle[n_handle++] = optarg;
            break;
        case 'r': record = optarg; break;
        case 'l': loop = optarg; break;
        case 'i': interval = strtoll(optarg, NULL, 10); break;
        case 't': nd.tick_ms = strtoll(optarg, NULL, 10); break;
        case 'L': lease = strtoll(optarg, NULL, 10); break;
        case 'w': workers = atoi(optarg); break;
        default: return 2;
        }
    }
    if ((n_handle > 0) != (record != NULL) || interval <= 0 || nd.tick_ms < 0) {
        fprintf(stderr, "multinode_worker: run: --handle needs --record; --interval > 0\n");
        return 2;
    }
    if (record != NULL && (nd.record_fd = open_append(record)) < 0)
        return 1;
    if (loop != NULL && (nd.tick_fd = open_append(loop)) < 0)
        return 1;

    /* The signals are taken by sigwait below: block them before any thread starts. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    chore *c = NULL;
    if (open_store(&c, url, lease, workers) != 0)
        return 1;
    int rc = CHORE_OK;
    for (size_t i = 0; i < n_handle && rc == CHORE_OK; i++)
        rc = chore_handle(c, handle[i], on_job, &nd, NULL);
    if (rc == CHORE_OK && loop != NULL) {
        chore_loop_config lc = {.name = "mn_loop", .interval_ms = interval, .run = on_tick,
                                .locked = true, .ud = &nd};
        rc = chore_loop_add(c, &lc, NULL);
    }
    if (rc == CHORE_OK)
        rc = chore_start(c);
    if (rc != CHORE_OK) {
        chore_close(c);
        return fail("run", rc);
    }
    int sig = 0;
    sigwait(&set, &sig);
    rc = chore_stop(c, 5000);
    chore_close(c);
    if (nd.record_fd >= 0)
        close(nd.record_fd);
    if (nd.tick_fd >= 0)
        close(nd.tick_fd);
    return rc == CHORE_OK ? 0 : fail("stop", rc);
}

static int usage(void)
{
    fprintf(stderr, "usage: multinode_worker enqueue|schedule|unschedule|counts|dump|run URL ...\n"
                    "(see tests/pg/multinode_worker.c)\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return usage();
    const char *cmd = argv[1], *url = argv[2];
    if (strcmp(cmd, "run") == 0)
        return cmd_run(url, argc - 2, argv + 2);
    chore *c = NULL;
    int status = 2;
    if (strcmp(cmd, "enqueue") == 0 && argc == 5) {
        char *end = NULL;
        long n = strtol(argv[4], &end, 10);
        if (*end != '\0' || n < 0)
            return usage();
        status = open_store(&c, url, 0, 0) != 0 ? 1 : cmd_enqueue(c, argv[3], n);
    } else if (strcmp(cmd, "schedule") == 0 && argc == 6) {
        status = open_store(&c, url, 0, 0) != 0 ? 1 : 0;
        int rc = status == 0 ? chore_schedule(c, argv[3], argv[4], argv[5], NULL, NULL) : 0;
        if (rc != CHORE_OK)
            status = fail("schedule", rc);
    } else if (strcmp(cmd, "unschedule") == 0 && argc == 4) {
        status = open_store(&c, url, 0, 0) != 0 ? 1 : 0;
        int rc = status == 0 ? chore_unschedule(c, argv[3]) : 0;
        if (rc != CHORE_OK)
            status = fail("unschedule", rc);
    } else if (strcmp(cmd, "counts") == 0 && argc == 4) {
        status = open_store(&c, url, 0, 0) != 0 ? 1 : cmd_counts(c, argv[3]);
    } else if (strcmp(cmd, "dump") == 0 && argc == 4) {
        status = open_store(&c, url, 0, 0) != 0 ? 1 : list_jobs(c, argv[3], print_one, NULL);
    } else {
        return usage();
    }
    chore_close(c);
    return status;
}
