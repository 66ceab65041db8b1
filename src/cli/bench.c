/*
 * bench.c — `chore bench`: measures the library through its public API.
 *
 *  1. bulk enqueue of N no-op jobs (chore_enqueue_bulk, 10,000 a call);
 *  2. working them all with a no-op handler (work_per_s, and e2e_per_s
 *     over enqueue plus work);
 *  3. single enqueues (chore_enqueue, one job a call) from 16 threads, of
 *     a name no handler takes, while the instance runs;
 *  4. latency: 1,000 jobs/s for 3 s, each carrying its enqueue time; the
 *     handler records start - enqueue (p50, p99);
 *  5. reopen with N jobs waiting, in a fresh child process (this binary run
 *     again with a hidden command) so that phases 1-4 do not count in its
 *     memory: time from chore_open to the first handler call, and the
 *     child's peak RSS while it works the whole backlog.
 *
 * Phase 4 runs before phase 3: the jobs phase 3 leaves are available but
 * unhandled, and the claim walks over every one of them in its index
 * order before it reaches a job it may take, which would measure that
 * (a library limitation) instead of dispatch latency.
 *
 * With no --store the store is a fresh file in $TMPDIR (else /var/tmp, on
 * disk rather than tmpfs), deleted afterwards with its -wal and -shm;
 * phase 5 then uses a second fresh file.
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "chore.h"
#include "bench_schedules.h"
#include "bench_server.h"
#include "cli_util.h"

enum {
    BULK_CHUNK = 10000,          /* jobs per chore_enqueue_bulk call */
    SINGLE_THREADS = 16,         /* phase 3 */
    SINGLE_JOBS = 50000,         /* phase 3, at most */
    LATENCY_RATE = 1000,         /* phase 4: jobs per second */
    LATENCY_SECONDS = 3,         /* phase 4 */
    DEFAULT_FETCH_BATCH = 1000,  /* the library's default (chore_config.fetch_batch) */
    STALL_SECONDS = 120,         /* give up when no job finishes for this long */
};
#define DEFAULT_JOBS 1000000
#define DEFAULT_REQUESTS 20000 /* --server */

#define NOOP_JOB "bench.noop"
#define SINGLE_JOB "bench.single"
#define LATENCY_JOB "bench.latency"
#define BACKLOG_JOB "bench.backlog"

/* What the run was asked for. */
typedef struct bench_cfg {
    int64_t jobs;
    int workers;
    int fetch_batch;
    chore_durability durability;
    const char *store_url;  /* phases 1-4 */
    const char *reopen_url; /* phase 5 */
    bool json;
    bool progress; /* phase names on stderr */
    const char *server;  /* --server: measure a daemon instead (bench_server.c) */
    int64_t requests;    /* --server: enqueues; 0 = not given */
    int connections;     /* --server: 0 = not given */
} bench_cfg;

/* The figures. */
typedef struct bench_result {
    double enqueue_bulk_per_s;
    double enqueue_single_per_s;
    double work_per_s;
    double e2e_per_s;
    int64_t latency_p50_us;
    int64_t latency_p99_us;
    double peak_rss_mib;
    double first_job_ms;
} bench_result;

/* ---------------------------------------------------------------- clocks */

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* The --durability words, indexed by chore_durability. */
static const char *const durability_names[] = {"full", "process", NULL};

static const char *durability_name(chore_durability d)
{
    return d == CHORE_DURABLE_PROCESS ? "process" : "full";
}

/* Parse the flags bench and its reopen child share into b. The reopen
 * child takes the first five (--json and the --server ones are the
 * parent's). Returns an exit status. */
static int parse_bench_args(const char *cmd, int argc, char **argv, bench_cfg *b, bool reopen)
{
    int durability = (int)b->durability;
    const cli_flag flags[] = {
        CLI_INT64("--jobs", &b->jobs, 1, reopen ? INT64_MAX : 100000000, NULL),
        CLI_INT("--workers", &b->workers, 1, 1024, NULL),
        CLI_INT("--fetch-batch", &b->fetch_batch, 1, 10000, NULL),
        CLI_STRING("--store", reopen ? &b->reopen_url : &b->store_url),
        CLI_CHOICE("--durability", &durability, durability_names, "expected full or process"),
        CLI_BOOL("--json", &b->json),
        CLI_STRING("--server", &b->server),
        CLI_INT64("--requests", &b->requests, 1, 100000000, NULL),
        CLI_INT("--connections", &b->connections, 1, 256, NULL),
    };
    size_t n_flags = reopen ? 5 : CLI_COUNT(flags); /* see above */
    if (cli_parse_args(cmd, argc, argv, flags, n_flags, NULL, 0, NULL) != CLI_OK)
        return CLI_USAGE;
    b->durability = (chore_durability)durability;
    return CLI_OK;
}

static void progress(const bench_cfg *b, const char *what)
{
    if (b->progress)
        fprintf(stderr, "bench: %s...\n", what);
}

/* ---------------------------------------------------------------- handlers */

/* Counts completions. */
typedef struct counter {
    atomic_llong done;
} counter;

static int noop_handler(chore_job *job, void *ud)
{
    (void)job;
    counter *k = ud;
    atomic_fetch_add_explicit(&k->done, 1, memory_order_relaxed);
    return CHORE_OK;
}

/* Records start - enqueue of each latency job. */
typedef struct latency_log {
    int64_t *samples;
    size_t cap;
    atomic_size_t n;
    atomic_llong done;
} latency_log;

static int latency_handler(chore_job *job, void *ud)
{
    int64_t now = cli_real_us();
    latency_log *log = ud;
    const char *p = strchr(chore_job_payload(job), ':'); /* {"t":<us>} */
    if (p != NULL) {
        int64_t sent = strtoll(p + 1, NULL, 10);
        size_t i = atomic_fetch_add(&log->n, 1);
        if (i < log->cap)
            log->samples[i] = now - sent;
    }
    atomic_fetch_add(&log->done, 1);
    return CHORE_OK;
}

/* Notes the first call; counts completions. */
typedef struct first_call {
    atomic_bool seen;
    _Atomic double at; /* cli_mono_s() of the first call */
    atomic_llong done;
} first_call;

static int first_call_handler(chore_job *job, void *ud)
{
    (void)job;
    first_call *f = ud;
    if (!atomic_load_explicit(&f->seen, memory_order_relaxed) && !atomic_exchange(&f->seen, true))
        atomic_store(&f->at, cli_mono_s());
    atomic_fetch_add_explicit(&f->done, 1, memory_order_relaxed);
    return CHORE_OK;
}

/* ---------------------------------------------------------------- helpers */

/* Wait until *done reaches target and the instance is idle (so every
 * outcome is stored). CHORE_ETIMEDOUT when nothing finishes for a while. */
static int wait_for(chore *c, atomic_llong *done, int64_t target)
{
    long long last = -1;
    double last_progress = cli_mono_s();
    for (;;) {
        int rc = chore_wait_idle(c, 1000);
        long long n = atomic_load(done);
        if (rc == CHORE_OK && n >= target)
            return CHORE_OK;
        if (rc != CHORE_OK && rc != CHORE_ETIMEDOUT)
            return rc;
        if (n != last) {
            last = n;
            last_progress = cli_mono_s();
        } else if (cli_mono_s() - last_progress > STALL_SECONDS) {
            return CHORE_ETIMEDOUT;
        }
        if (rc == CHORE_OK)
            sleep_ms(1); /* idle but not done: a failed claim is retried after a poll */
    }
}

static int open_instance(const bench_cfg *b, const char *url, chore **out)
{
    chore_config cfg = {
        .store = url,
        .workers = b->workers,
        .fetch_batch = b->fetch_batch,
        .durability = b->durability,
    };
    return chore_open(out, &cfg);
}

/* Bulk-enqueue n jobs named `name` with payload "{}", BULK_CHUNK a call. */
static int enqueue_many(chore *c, const char *name, int64_t n)
{
    size_t chunk = (size_t)(n < BULK_CHUNK ? n : BULK_CHUNK);
    chore_job_spec *specs = calloc(chunk, sizeof *specs);
    int64_t *ids = calloc(chunk, sizeof *ids);
    int rc = specs != NULL && ids != NULL ? CHORE_OK : CHORE_ENOMEM;
    for (size_t i = 0; rc == CHORE_OK && i < chunk; i++)
        specs[i] = (chore_job_spec){.name = name, .payload = "{}"};
    for (int64_t left = n; rc == CHORE_OK && left > 0;) {
        size_t k = (size_t)left < chunk ? (size_t)left : chunk;
        rc = chore_enqueue_bulk(c, specs, k, ids, NULL);
        left -= (int64_t)k;
    }
    free(specs);
    free(ids);
    return rc;
}

static int fail(const char *phase, int rc)
{
    return cli_error(CLI_FAIL, "bench: %s: %s", phase, chore_strerror(rc));
}

/* ---------------------------------------------------------------- phases 1, 2 */

static int phase_bulk_and_work(const bench_cfg *b, chore *c, counter *noop, bench_result *r)
{
    progress(b, "phase 1: bulk enqueue");
    double t0 = cli_mono_s();
    int rc = enqueue_many(c, NOOP_JOB, b->jobs);
    double t_enqueue = cli_mono_s() - t0;
    if (rc != CHORE_OK)
        return fail("bulk enqueue", rc);
    r->enqueue_bulk_per_s = (double)b->jobs / t_enqueue;

    progress(b, "phase 2: work");
    if ((rc = chore_handle(c, NOOP_JOB, noop_handler, noop, NULL)) != CHORE_OK)
        return fail("handle", rc);
    t0 = cli_mono_s();
    if ((rc = chore_start(c)) != CHORE_OK)
        return fail("start", rc);
    rc = wait_for(c, &noop->done, b->jobs);
    double t_work = cli_mono_s() - t0;
    if (rc != CHORE_OK)
        return fail("working the jobs", rc);
    r->work_per_s = (double)b->jobs / t_work;
    r->e2e_per_s = (double)b->jobs / (t_enqueue + t_work);
    return CLI_OK;
}

/* ---------------------------------------------------------------- phase 3 */

/* Holds the enqueue threads until all are ready. */
typedef struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    bool open;
} gate;

typedef struct single_thread {
    chore *c;
    gate *start;
    int64_t n;
    int rc;
    pthread_t tid;
} single_thread;

static void *single_main(void *arg)
{
    single_thread *t = arg;
    pthread_mutex_lock(&t->start->mu);
    while (!t->start->open)
        pthread_cond_wait(&t->start->cond, &t->start->mu);
    pthread_mutex_unlock(&t->start->mu);
    for (int64_t i = 0; i < t->n && t->rc == CHORE_OK; i++) {
        int64_t id;
        t->rc = chore_enqueue(t->c, SINGLE_JOB, "{}", NULL, &id);
    }
    return NULL;
}

static int phase_single(const bench_cfg *b, chore *c, bench_result *r)
{
    progress(b, "phase 3: single enqueues from 16 threads");
    int64_t total = b->jobs < SINGLE_JOBS ? b->jobs : SINGLE_JOBS;
    int64_t each = total / SINGLE_THREADS > 0 ? total / SINGLE_THREADS : 1;
    total = each * SINGLE_THREADS;
    single_thread threads[SINGLE_THREADS];
    gate start = {.mu = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
    int started = 0;
    for (; started < SINGLE_THREADS; started++) {
        threads[started] = (single_thread){.c = c, .start = &start, .n = each};
        if (pthread_create(&threads[started].tid, NULL, single_main, &threads[started]) != 0)
            break;
    }
    if (started < SINGLE_THREADS) {
        for (int i = 0; i < started; i++)
            threads[i].n = 0; /* set before the gate opens: no race */
    }
    pthread_mutex_lock(&start.mu);
    start.open = true;
    pthread_cond_broadcast(&start.cond);
    pthread_mutex_unlock(&start.mu);
    double t0 = cli_mono_s();
    int rc = CHORE_OK;
    for (int i = 0; i < started; i++) {
        pthread_join(threads[i].tid, NULL);
        if (threads[i].rc != CHORE_OK)
            rc = threads[i].rc;
    }
    double elapsed = cli_mono_s() - t0;
    if (started < SINGLE_THREADS)
        return cli_error(CLI_FAIL, "bench: cannot start enqueue threads");
    if (rc != CHORE_OK)
        return fail("single enqueue", rc);
    r->enqueue_single_per_s = (double)total / elapsed;
    return CLI_OK;
}

/* ---------------------------------------------------------------- phase 4 */

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The nearest-rank percentile p (0..100) of sorted v[0..n). */
static int64_t percentile(const int64_t *v, size_t n, int p)
{
    size_t rank = (n * (size_t)p + 99) / 100; /* ceil(n * p / 100), 1-based */
    return v[rank > 0 ? rank - 1 : 0];
}

static int phase_latency(const bench_cfg *b, chore *c, bench_result *r)
{
    progress(b, "phase 4: latency at 1000 jobs/s");
    size_t total = (size_t)LATENCY_RATE * LATENCY_SECONDS;
    latency_log log = {.samples = calloc(total, sizeof(int64_t)), .cap = total};
    if (log.samples == NULL)
        return fail("latency", CHORE_ENOMEM);
    int rc = chore_handle(c, LATENCY_JOB, latency_handler, &log, NULL);
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    const long step_ns = 1000000000L / LATENCY_RATE;
    for (size_t i = 0; rc == CHORE_OK && i < total; i++) {
        char payload[48];
        snprintf(payload, sizeof payload, "{\"t\":%" PRId64 "}", cli_real_us());
        int64_t id;
        rc = chore_enqueue(c, LATENCY_JOB, payload, NULL, &id);
        next.tv_nsec += step_ns;
        if (next.tv_nsec >= 1000000000L) {
            next.tv_nsec -= 1000000000L;
            next.tv_sec++;
        }
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR) {
        }
    }
    if (rc == CHORE_OK)
        rc = wait_for(c, &log.done, (int64_t)total);
    size_t n = atomic_load(&log.n);
    if (rc != CHORE_OK || n == 0) {
        free(log.samples);
        return fail("latency", rc != CHORE_OK ? rc : CHORE_ETIMEDOUT);
    }
    n = n < total ? n : total;
    qsort(log.samples, n, sizeof(int64_t), cmp_i64);
    r->latency_p50_us = percentile(log.samples, n, 50);
    r->latency_p99_us = percentile(log.samples, n, 99);
    free(log.samples);
    return CLI_OK;
}

/* ---------------------------------------------------------------- phase 5 */

/* The process's peak RSS in KiB (VmHWM), or -1. */
static long peak_rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL)
        return -1;
    char line[256];
    long kib = -1;
    while (fgets(line, sizeof line, f) != NULL) {
        if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
            break;
    }
    fclose(f);
    return kib;
}

/* Run the reopen child and read its one line of figures. */
static int run_reopen_child(const bench_cfg *b, bench_result *r)
{
    char jobs[32], workers[16], batch[16];
    snprintf(jobs, sizeof jobs, "%" PRId64, b->jobs);
    snprintf(workers, sizeof workers, "%d", b->workers);
    snprintf(batch, sizeof batch, "%d", b->fetch_batch);
    char *const args[] = {"chore", CLI_BENCH_REOPEN_CMD, "--store", (char *)b->reopen_url,
                          "--jobs", jobs, "--workers", workers, "--fetch-batch", batch,
                          "--durability", (char *)durability_name(b->durability), NULL};
    int fds[2];
    if (pipe(fds) != 0)
        return cli_error(CLI_FAIL, "bench: pipe: %s", strerror(errno));
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return cli_error(CLI_FAIL, "bench: fork: %s", strerror(errno));
    }
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        execv("/proc/self/exe", args);
        fprintf(stderr, "chore: bench: cannot run /proc/self/exe: %s\n", strerror(errno));
        _exit(CLI_FAIL);
    }
    close(fds[1]);
    char out[512] = "";
    size_t used = 0;
    ssize_t got;
    while (used < sizeof out - 1 &&
           ((got = read(fds[0], out + used, sizeof out - 1 - used)) > 0 ||
            (got < 0 && errno == EINTR)))
        used += got > 0 ? (size_t)got : 0;
    out[used] = '\0';
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return cli_error(CLI_FAIL, "bench: the reopen child failed");
    double first_ms = 0;
    long rss = 0;
    if (sscanf(out, "first_job_ms=%lf peak_rss_kib=%ld", &first_ms, &rss) != 2)
        return cli_error(CLI_FAIL, "bench: the reopen child said '%s'", out);
    r->first_job_ms = first_ms;
    r->peak_rss_mib = (double)rss / 1024.0;
    return CLI_OK;
}

static int phase_reopen(const bench_cfg *b, bench_result *r)
{
    progress(b, "phase 5: backlog for the reopen");
    chore *c = NULL;
    int rc = open_instance(b, b->reopen_url, &c);
    if (rc != CHORE_OK)
        return fail("open for the backlog", rc);
    rc = enqueue_many(c, BACKLOG_JOB, b->jobs);
    chore_close(c);
    if (rc != CHORE_OK)
        return fail("backlog enqueue", rc);
    progress(b, "phase 5: reopen in a child process");
    return run_reopen_child(b, r);
}

int cli_cmd_bench_reopen(int argc, char **argv)
{
    bench_cfg b = {.workers = 4, .fetch_batch = DEFAULT_FETCH_BATCH, .jobs = 1};
    if (parse_bench_args(CLI_BENCH_REOPEN_CMD, argc, argv, &b, true) != CLI_OK)
        return CLI_USAGE;
    if (b.reopen_url == NULL)
        return cli_error(CLI_USAGE, "%s: --store is required", CLI_BENCH_REOPEN_CMD);

    first_call f = {0};
    double t0 = cli_mono_s();
    chore *c = NULL;
    int rc = open_instance(&b, b.reopen_url, &c);
    if (rc == CHORE_OK)
        rc = chore_handle(c, BACKLOG_JOB, first_call_handler, &f, NULL);
    if (rc == CHORE_OK)
        rc = chore_start(c);
    if (rc == CHORE_OK)
        rc = wait_for(c, &f.done, b.jobs);
    if (rc != CHORE_OK) {
        chore_close(c);
        return fail("reopen", rc);
    }
    double first_ms = (atomic_load(&f.at) - t0) * 1000.0;
    chore_stop(c, 10000);
    chore_close(c);
    printf("first_job_ms=%.3f peak_rss_kib=%ld\n", first_ms, peak_rss_kib());
    return CLI_OK;
}

/* ---------------------------------------------------------------- report */

static int print_json_result(const bench_cfg *b, const bench_result *r)
{
    json_t *o = json_object();
    json_object_set_new(o, "enqueue_bulk_per_s", json_integer((json_int_t)(r->enqueue_bulk_per_s + 0.5)));
    json_object_set_new(o, "enqueue_single_per_s",
                        json_integer((json_int_t)(r->enqueue_single_per_s + 0.5)));
    json_object_set_new(o, "work_per_s", json_integer((json_int_t)(r->work_per_s + 0.5)));
    json_object_set_new(o, "e2e_per_s", json_integer((json_int_t)(r->e2e_per_s + 0.5)));
    json_object_set_new(o, "latency_p50_us", json_integer(r->latency_p50_us));
    json_object_set_new(o, "latency_p99_us", json_integer(r->latency_p99_us));
    json_object_set_new(o, "peak_rss_mib", json_real(r->peak_rss_mib));
    json_object_set_new(o, "first_job_ms", json_real(r->first_job_ms));
    json_object_set_new(o, "durability", json_string(durability_name(b->durability)));
    json_object_set_new(o, "jobs", json_integer(b->jobs));
    json_object_set_new(o, "workers", json_integer(b->workers));
    char *text = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(6));
    json_decref(o);
    if (text == NULL)
        return cli_error(CLI_FAIL, "bench: out of memory");
    puts(text);
    free(text);
    return CLI_OK;
}

/* One aligned line: name, value, unit, and the target when there is one. */
static void line(const char *name, double value, int decimals, const char *unit,
                 const char *cmp, double target)
{
    printf("%-22s %12.*f ", name, decimals, value);
    if (cmp != NULL) {
        bool met = cmp[0] == '>' ? value >= target : value <= target;
        printf("%-6s  target %s %.0f: %s\n", unit, cmp, target, met ? "met" : "MISSED");
    } else {
        printf("%s\n", unit);
    }
}

static void print_human(const bench_cfg *b, const bench_result *r)
{
    printf("chore bench: %" PRId64 " jobs, %d workers, fetch batch %d, durability %s\n",
           b->jobs, b->workers, b->fetch_batch, durability_name(b->durability));
    line("enqueue_bulk_per_s", r->enqueue_bulk_per_s, 0, "jobs/s", NULL, 0);
    line("enqueue_single_per_s", r->enqueue_single_per_s, 0, "jobs/s", ">=", 20000);
    line("work_per_s", r->work_per_s, 0, "jobs/s", NULL, 0);
    line("e2e_per_s", r->e2e_per_s, 0, "jobs/s", ">=", 100000);
    line("latency_p50_us", (double)r->latency_p50_us, 0, "us", NULL, 0);
    line("latency_p99_us", (double)r->latency_p99_us, 0, "us", "<=", 2000);
    line("first_job_ms", r->first_job_ms, 1, "ms", "<=", 200);
    line("peak_rss_mib", r->peak_rss_mib, 1, "MiB", "<=", 64);
    printf("%-22s %12s\n", "durability", durability_name(b->durability));
}

/* ---------------------------------------------------------------- command */

/* A fresh directory for the default store files. */
static bool make_temp_dir(char *dir, size_t len)
{
    const char *base = getenv("TMPDIR");
    if (base == NULL || base[0] == '\0')
        base = access("/var/tmp", W_OK) == 0 ? "/var/tmp" : "/tmp";
    snprintf(dir, len, "%s/chore-bench-XXXXXX", base);
    return mkdtemp(dir) != NULL;
}

/* Remove a SQLite file with its -wal and -shm. */
static void remove_db(const char *path)
{
    char p[600];
    unlink(path);
    snprintf(p, sizeof p, "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", path);
    unlink(p);
}

static int run_phases(const bench_cfg *b, bench_result *r)
{
    chore *c = NULL;
    int rc = open_instance(b, b->store_url, &c);
    if (rc != CHORE_OK)
        return fail("open", rc);
    counter noop = {0};
    int status = phase_bulk_and_work(b, c, &noop, r);
    /* Latency before the single enqueues: those leave jobs no handler
     * takes, and every claim has to step over them (see the top). */
    if (status == CLI_OK)
        status = phase_latency(b, c, r);
    if (status == CLI_OK)
        status = phase_single(b, c, r);
    chore_close(c);
    if (status == CLI_OK)
        status = phase_reopen(b, r);
    return status;
}

int cli_cmd_bench(int argc, char **argv)
{
    if (argc > 0 && strcmp(argv[0], "schedules") == 0)
        return cli_cmd_bench_schedules(argc - 1, argv + 1);
    bench_cfg b = {
        .jobs = DEFAULT_JOBS,
        .workers = 4,
        .fetch_batch = DEFAULT_FETCH_BATCH,
        .durability = CHORE_DURABLE_FULL,
    };
    if (parse_bench_args("bench", argc, argv, &b, false) != CLI_OK)
        return CLI_USAGE;
    if (b.server != NULL) {
        if (b.store_url != NULL)
            return cli_error(CLI_USAGE, "bench: give --store or --server, not both");
        return cli_bench_server(b.server, b.requests > 0 ? b.requests : DEFAULT_REQUESTS,
                                b.connections > 0 ? b.connections : SINGLE_THREADS, b.json);
    }
    if (b.requests > 0 || b.connections > 0)
        return cli_error(CLI_USAGE, "bench: --requests and --connections go with --server");
    b.progress = !b.json && isatty(STDERR_FILENO);

    char dir[512] = "", main_db[600] = "", reopen_db[600] = "";
    char main_url[620], reopen_url[620];
    if (b.store_url == NULL) {
        if (!make_temp_dir(dir, sizeof dir))
            return cli_error(CLI_FAIL, "bench: cannot create a temporary directory: %s",
                             strerror(errno));
        snprintf(main_db, sizeof main_db, "%s/bench.db", dir);
        snprintf(reopen_db, sizeof reopen_db, "%s/reopen.db", dir);
        snprintf(main_url, sizeof main_url, "sqlite:%s", main_db);
        snprintf(reopen_url, sizeof reopen_url, "sqlite:%s", reopen_db);
        b.store_url = main_url;
        b.reopen_url = reopen_url;
    } else {
        b.reopen_url = b.store_url; /* the backlog has its own job name */
    }

    bench_result r = {0};
    int status = run_phases(&b, &r);
    if (dir[0] != '\0') {
        remove_db(main_db);
        remove_db(reopen_db);
        rmdir(dir);
    }
    if (status != CLI_OK)
        return status;
    if (b.json)
        return print_json_result(&b, &r);
    print_human(&b, &r);
    return CLI_OK;
}
