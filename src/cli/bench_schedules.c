/*
 * bench_schedules.c — `chore bench schedules`: how promptly cron slots
 * become running jobs. N schedules fire every second ("* * * * * *") for
 * a few seconds on the system clock; each job's handler notes how long
 * after its slot it started. Slots fall on whole seconds, so the delay is
 * the start time's distance past the second (valid below one second; the
 * fire count shows whether every slot ran). Reported: p50 and p99 of the
 * delay, fires seen against fires expected, and the memory the schedules
 * take (RSS growth from before the instance opened).
 */
#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_schedules.h"
#include "chore.h"
#include "cli_util.h"

typedef struct sched_probe {
    int64_t *delays_us;
    size_t cap;
    _Atomic size_t n;
    _Atomic int64_t ignore_before_s; /* warm-up: slots before this second do not count */
} sched_probe;

static int note_delay(chore_job *job, void *ud)
{
    (void)job;
    sched_probe *p = ud;
    int64_t now = cli_real_us();
    if (now / 1000000 < atomic_load(&p->ignore_before_s))
        return CHORE_OK;
    size_t i = atomic_fetch_add(&p->n, 1);
    if (i < p->cap)
        p->delays_us[i] = now % 1000000;
    return CHORE_OK;
}

/* Resident set size in KiB from /proc/self/status ("VmRSS" or "VmHWM"). */
static long status_kib(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL)
        return 0;
    char line[256];
    long kib = 0;
    size_t len = strlen(field);
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, field, len) == 0 && line[len] == ':')
            kib = atol(line + len + 1);
    }
    fclose(f);
    return kib;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

typedef struct sched_result {
    int schedules;
    double p50_ms, p99_ms;
    size_t fires, expected;
    double rss_mib;
} sched_result;

/* Add n every-second schedules to the file at url, quickly (process durability). */
static int add_schedules(const char *url, int n)
{
    chore_config cfg = {.store = url, .durability = CHORE_DURABLE_PROCESS};
    chore *c = NULL;
    int rc = chore_open(&c, &cfg);
    for (int i = 0; i < n && rc == CHORE_OK; i++) {
        char name[32];
        snprintf(name, sizeof name, "bench.s%05d", i);
        rc = chore_schedule(c, name, "* * * * * *", "bench.tick", NULL, NULL);
    }
    chore_close(c);
    return rc;
}

static int run_one(const char *dir, int schedules, int seconds, int workers, sched_result *r)
{
    char path[600], url[620];
    snprintf(path, sizeof path, "%s/schedules-%d.db", dir, schedules);
    snprintf(url, sizeof url, "sqlite:%s", path);
    int rc = add_schedules(url, schedules);
    if (rc != CHORE_OK)
        return rc;
    sched_probe p = {.cap = (size_t)schedules * (size_t)(seconds + 2)};
    p.delays_us = calloc(p.cap, sizeof *p.delays_us);
    if (p.delays_us == NULL)
        return CHORE_ENOMEM;
    long rss_before = status_kib("VmRSS");
    chore_config cfg = {.store = url, .workers = workers};
    chore *c = NULL;
    rc = chore_open(&c, &cfg);
    if (rc == CHORE_OK)
        rc = chore_handle(c, "bench.tick", note_delay, &p, NULL);
    int64_t start_s = cli_real_us() / 1000000;
    atomic_store(&p.ignore_before_s, start_s + 2); /* the first whole second is warm-up */
    if (rc == CHORE_OK)
        rc = chore_start(c);
    if (rc == CHORE_OK) {
        /* run through the slot of second start_s + 1 + seconds */
        int64_t end_us = (start_s + 2 + seconds) * 1000000 - 300000; /* before the next slot */
        int64_t left;
        while ((left = end_us - cli_real_us()) > 0)
            usleep((useconds_t)(left > 100000 ? 100000 : left));
        r->rss_mib = (double)(status_kib("VmRSS") - rss_before) / 1024.0;
        rc = chore_stop(c, 5000);
    }
    chore_close(c);
    size_t n = atomic_load(&p.n) < p.cap ? atomic_load(&p.n) : p.cap;
    qsort(p.delays_us, n, sizeof *p.delays_us, cmp_i64);
    r->schedules = schedules;
    r->fires = n;
    r->expected = (size_t)schedules * (size_t)seconds;
    r->p50_ms = n > 0 ? (double)p.delays_us[n / 2] / 1000.0 : 0;
    r->p99_ms = n > 0 ? (double)p.delays_us[n * 99 / 100] / 1000.0 : 0;
    free(p.delays_us);
    unlink(path);
    char side[640];
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
    return rc == CHORE_ETIMEDOUT ? CHORE_OK : rc;
}

int cli_cmd_bench_schedules(int argc, char **argv)
{
    int seconds = 5, workers = 4, many = 10000;
    bool json = false;
    const cli_flag flags[] = {
        CLI_BOOL("--json", &json),
        CLI_INT("--seconds", &seconds, 1, 3600, NULL),
        CLI_INT("--schedules", &many, 1, 1000000, NULL),
        CLI_INT("--workers", &workers, 1, 1024, NULL),
    };
    if (cli_parse_args("bench schedules", argc, argv, flags, CLI_COUNT(flags), NULL, 0, NULL) !=
        CLI_OK)
        return CLI_USAGE;
    char dir[] = "/var/tmp/chore-bench-XXXXXX";
    if (mkdtemp(dir) == NULL)
        return cli_error(CLI_FAIL, "bench schedules: cannot create a temporary directory");
    const int counts[2] = {1, many};
    sched_result results[2] = {{0}};
    int rc = CHORE_OK;
    for (int k = 0; k < 2 && rc == CHORE_OK; k++)
        rc = run_one(dir, counts[k], seconds, workers, &results[k]);
    rmdir(dir);
    if (rc != CHORE_OK)
        return cli_error(CLI_FAIL, "bench schedules: %s", chore_strerror(rc));
    json_t *all = json_array();
    for (int k = 0; k < 2; k++) {
        sched_result *r = &results[k];
        if (json) {
            json_array_append_new(all, json_pack("{s:i, s:f, s:f, s:I, s:I, s:f}", "schedules",
                                                 r->schedules, "delay_p50_ms", r->p50_ms,
                                                 "delay_p99_ms", r->p99_ms, "fires",
                                                 (json_int_t)r->fires, "expected",
                                                 (json_int_t)r->expected, "rss_mib", r->rss_mib));
        } else {
            printf("%6d schedules every second: slot to start p50 %7.3f ms, p99 %7.3f ms; "
                   "%zu of %zu fires; %.1f MiB\n",
                   r->schedules, r->p50_ms, r->p99_ms, r->fires, r->expected, r->rss_mib);
        }
    }
    if (json) {
        char *text = json_dumps(all, JSON_COMPACT);
        if (text != NULL)
            puts(text);
        free(text);
    }
    json_decref(all);
    return CLI_OK;
}
