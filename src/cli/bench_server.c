/*
 * bench_server.c — `chore bench --server URL`: measures a running daemon
 * through its HTTP API, as an outside program would see it.
 *
 *  1. enqueue: N POST /v1/jobs over C keep-alive connections, one
 *     request in flight on each (bench_load.c): requests/s, p50 and p99
 *     of a request;
 *  2. fetch + ack, one job a fetch: half of the jobs taken with
 *     POST /v1/fetch {"max": 1} and each acked (POST /v1/jobs/{id}/ack):
 *     jobs/s, p50 and p99 of the fetch and of the ack;
 *  3. the same for the other half with batches of 100 a fetch.
 *
 * Phases 2 and 3 run a thread per connection with the CLI's libcurl client.
 *
 * The jobs are named bench_<pid>, which no handler of the daemon takes,
 * so they mix with nothing else; they stay in the store as completed
 * jobs until the daemon prunes them.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_load.h"
#include "bench_server.h"
#include "cli_util.h"
#include "http_client.h"

enum {
    BATCH_MAX = 100,    /* jobs a fetch in phase 3 */
    LEASE_MS = 60000,   /* long enough never to lapse during a run */
    MAX_THREADS = 256,
};

/* Request latencies in microseconds, appended from many threads. */
typedef struct samples {
    int64_t *v;
    size_t cap;
    atomic_size_t n;
} samples;

/* What every thread of a run shares. */
typedef struct run {
    const char *name;      /* the job name of this run */
    int batch;             /* phase 2 and 3: jobs a fetch; 0 = phase 1 */
    int64_t target;        /* phase 1: requests; phase 2: jobs; phase 3: unused */
    atomic_llong claimed;  /* requests or jobs handed out */
    atomic_llong done;     /* jobs enqueued or acked */
    atomic_bool failed;    /* a thread failed (reported): everyone stops */
    samples first, second; /* enqueue or fetch; ack */
} run;

typedef struct worker {
    run *r;
    cli_http *h;
    pthread_t tid;
} worker;

/* The figures of one fetch + ack phase. */
typedef struct fetch_figures {
    double jobs_per_s;
    int64_t fetch_p50, fetch_p99, ack_p50, ack_p99;
} fetch_figures;

static void record(samples *s, double t0)
{
    size_t i = atomic_fetch_add(&s->n, 1);
    if (i < s->cap)
        s->v[i] = (int64_t)((cli_mono_s() - t0) * 1e6);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Sort the samples and give the nearest-rank percentiles 50 and 99. */
static void percentiles(samples *s, int64_t *p50, int64_t *p99)
{
    size_t n = atomic_load(&s->n);
    n = n < s->cap ? n : s->cap;
    *p50 = *p99 = 0;
    if (n == 0)
        return;
    qsort(s->v, n, sizeof *s->v, cmp_i64);
    *p50 = s->v[(n * 50 + 99) / 100 - 1];
    *p99 = s->v[(n * 99 + 99) / 100 - 1];
}

/* One request that must answer `want`; on anything else the run fails. */
static bool call(worker *w, const char *method, const char *path, json_t *body, long want,
                 json_t **resp, samples *s)
{
    long st = 0;
    double t0 = cli_mono_s();
    int rc = cli_http_call(w->h, "bench", method, path, body, &st, resp);
    if (rc == CLI_OK && st != want) {
        rc = cli_error(CLI_FAIL, "bench: %s %s answered %ld, not %ld", method, path, st, want);
        json_decref(*resp);
        *resp = NULL;
    }
    if (rc != CLI_OK) {
        atomic_store(&w->r->failed, true);
        return false;
    }
    record(s, t0);
    return true;
}

/* Ack every job of a fetch answer; false when the run failed. */
static bool ack_all(worker *w, json_t *jobs)
{
    run *r = w->r;
    for (size_t i = 0; i < json_array_size(jobs); i++) {
        json_t *j = json_array_get(jobs, i), *resp = NULL;
        char path[80];
        snprintf(path, sizeof path, "/v1/jobs/%" JSON_INTEGER_FORMAT "/ack",
                 json_integer_value(json_object_get(j, "id")));
        json_t *body = json_pack("{s:O}", "token", json_object_get(j, "token"));
        bool ok = body != NULL && call(w, "POST", path, body, 200, &resp, &r->second);
        json_decref(body);
        json_decref(resp);
        if (!ok)
            return false;
        atomic_fetch_add(&r->done, 1);
    }
    return true;
}

/* Phases 2 and 3: fetch and ack. With batch 1, until target jobs are
 * claimed; with larger batches, until a fetch finds nothing. */
static void fetch_loop(worker *w)
{
    run *r = w->r;
    json_t *body = json_pack("{s:[s],s:i,s:i,s:i}", "names", r->name, "max", r->batch,
                             "wait_ms", 0, "lease_ms", LEASE_MS);
    while (body != NULL && !atomic_load(&r->failed)) {
        if (r->batch == 1 && atomic_fetch_add(&r->claimed, 1) >= r->target)
            break;
        json_t *resp = NULL;
        if (!call(w, "POST", "/v1/fetch", body, 200, &resp, &r->first))
            break;
        json_t *jobs = json_object_get(resp, "jobs");
        size_t n = json_array_size(jobs);
        bool ok = ack_all(w, jobs);
        json_decref(resp);
        if (!ok || n == 0)
            break;
    }
    json_decref(body);
}

static void *worker_main(void *arg)
{
    fetch_loop(arg);
    return NULL;
}

/* Run one phase on every connection; *seconds is its wall time. */
static int run_phase(worker *ws, int n, run *r, double *seconds)
{
    double t0 = cli_mono_s();
    int started = 0;
    for (; started < n; started++) {
        ws[started].r = r;
        if (pthread_create(&ws[started].tid, NULL, worker_main, &ws[started]) != 0) {
            atomic_store(&r->failed, true);
            cli_error(CLI_FAIL, "bench: cannot start a thread");
            break;
        }
    }
    for (int i = 0; i < started; i++)
        pthread_join(ws[i].tid, NULL);
    *seconds = cli_mono_s() - t0;
    return atomic_load(&r->failed) ? CLI_FAIL : CLI_OK;
}

static bool samples_init(samples *s, size_t cap)
{
    s->v = malloc((cap > 0 ? cap : 1) * sizeof *s->v);
    s->cap = cap;
    atomic_init(&s->n, 0);
    return s->v != NULL;
}

/* bench_answer_fn of phase 1: a 201 with the new job's id. */
static bool enqueue_answered(void *arg, int status, const char *body, size_t len,
                             int64_t latency_us)
{
    run *r = arg;
    json_t *v = json_loadb(body, len, 0, NULL);
    bool ok = status == 201 && json_is_integer(json_object_get(v, "id"));
    json_decref(v);
    if (!ok)
        return !cli_error(CLI_FAIL, "bench: POST /v1/jobs answered %d, not 201 with an id",
                          status);
    size_t i = atomic_fetch_add(&r->first.n, 1);
    if (i < r->first.cap)
        r->first.v[i] = latency_us;
    atomic_fetch_add(&r->done, 1);
    return true;
}

/* Phase 1: r->target enqueues over n connections (bench_load.c); the
 * token, as every request of the CLI, from $CHORE_TOKEN. */
static int enqueue_phase(const char *server, int n, run *r, double *seconds)
{
    char body[128], request[1024];
    const char *token = getenv("CHORE_TOKEN");
    const char *authority = strstr(server, "://");
    authority = authority != NULL ? authority + 3 : server;
    int blen = snprintf(body, sizeof body, "{\"name\":\"%s\",\"payload\":{\"bench\":true}}",
                        r->name);
    int rlen = snprintf(request, sizeof request,
                        "POST /v1/jobs HTTP/1.1\r\nHost: %.*s\r\n"
                        "Content-Type: application/json\r\nContent-Length: %d\r\n%s%s%s\r\n%s",
                        (int)strcspn(authority, "/"), authority, blen,
                        token != NULL && token[0] != '\0' ? "Authorization: Bearer " : "",
                        token != NULL && token[0] != '\0' ? token : "",
                        token != NULL && token[0] != '\0' ? "\r\n" : "", body);
    if (rlen < 0 || (size_t)rlen >= sizeof request)
        return cli_error(CLI_USAGE, "bench: the server URL or token is too long");
    double start = cli_mono_s();
    int status = bench_load_run(server, request, n, r->target, enqueue_answered, r);
    *seconds = cli_mono_s() - start;
    return status;
}

static void run_free(run *r)
{
    free(r->first.v);
    free(r->second.v);
}

/* One fetch + ack phase over `jobs` jobs, `batch` a fetch. */
static int fetch_phase(worker *ws, int n, const char *name, int batch, int64_t jobs,
                       fetch_figures *f)
{
    run r = {.name = name, .batch = batch, .target = jobs};
    size_t cap = (size_t)jobs + (size_t)n + 1;
    int status = samples_init(&r.first, cap) && samples_init(&r.second, cap)
                     ? CLI_OK
                     : cli_error(CLI_FAIL, "bench: out of memory");
    double seconds = 0;
    if (status == CLI_OK)
        status = run_phase(ws, n, &r, &seconds);
    if (status == CLI_OK && atomic_load(&r.done) < jobs)
        status = cli_error(CLI_FAIL, "bench: only %lld of %" PRId64 " jobs were fetched",
                           (long long)atomic_load(&r.done), jobs);
    if (status == CLI_OK) {
        f->jobs_per_s = (double)atomic_load(&r.done) / seconds;
        percentiles(&r.first, &f->fetch_p50, &f->fetch_p99);
        percentiles(&r.second, &f->ack_p50, &f->ack_p99);
    }
    run_free(&r);
    return status;
}

/* Check the daemon answers before starting threads, to report it once. */
static int preflight(const char *server)
{
    cli_http *h = NULL;
    int status = cli_http_open(server, NULL, &h);
    if (status == CLI_OK)
        status = cli_http_call(h, "bench", "GET", "/v1/stats", NULL, NULL, NULL);
    cli_http_close(h);
    return status;
}

/* The figures of a fetch + ack phase with `batch` jobs a fetch, by name:
 * fetch<B>_ack_per_s, fetch<B>_p50_us, ..., ack<B>_p99_us. */
static void fetch_keys(int batch, const fetch_figures *f, char keys[5][40], double values[5])
{
    snprintf(keys[0], 40, "fetch%d_ack_per_s", batch);
    snprintf(keys[1], 40, "fetch%d_p50_us", batch);
    snprintf(keys[2], 40, "fetch%d_p99_us", batch);
    snprintf(keys[3], 40, "ack%d_p50_us", batch);
    snprintf(keys[4], 40, "ack%d_p99_us", batch);
    values[0] = f->jobs_per_s;
    values[1] = (double)f->fetch_p50;
    values[2] = (double)f->fetch_p99;
    values[3] = (double)f->ack_p50;
    values[4] = (double)f->ack_p99;
}

static void add_fetch_json(json_t *o, int batch, const fetch_figures *f)
{
    char keys[5][40];
    double values[5];
    fetch_keys(batch, f, keys, values);
    for (int i = 0; i < 5; i++)
        json_object_set_new(o, keys[i], json_integer((json_int_t)(values[i] + 0.5)));
}

static void print_fetch(int batch, const fetch_figures *f)
{
    char keys[5][40];
    double values[5];
    fetch_keys(batch, f, keys, values);
    for (int i = 0; i < 5; i++)
        printf("%-22s %12.0f %s\n", keys[i], values[i], i == 0 ? "jobs/s" : "us");
}

int cli_bench_server(const char *server, int64_t requests, int connections, bool json)
{
    if (connections > MAX_THREADS)
        return cli_error(CLI_USAGE, "--connections: at most %d", MAX_THREADS);
    int status = preflight(server);
    if (status != CLI_OK)
        return status;
    char name[48];
    snprintf(name, sizeof name, "bench_%ld", (long)getpid());
    worker ws[MAX_THREADS];
    memset(ws, 0, sizeof ws);
    for (int i = 0; i < connections && status == CLI_OK; i++)
        status = cli_http_open(server, NULL, &ws[i].h);

    /* 1: enqueue */
    run enq = {.name = name, .target = requests};
    double seconds = 0;
    int64_t enq_p50 = 0, enq_p99 = 0;
    if (status == CLI_OK && !(samples_init(&enq.first, (size_t)requests) &&
                              samples_init(&enq.second, 0)))
        status = cli_error(CLI_FAIL, "bench: out of memory");
    if (status == CLI_OK)
        status = enqueue_phase(server, connections, &enq, &seconds);
    double enq_per_s = status == CLI_OK ? (double)requests / seconds : 0;
    if (status == CLI_OK)
        percentiles(&enq.first, &enq_p50, &enq_p99);
    run_free(&enq);

    /* 2 and 3: fetch + ack, one a fetch, then batches */
    fetch_figures one = {0}, batch = {0};
    int64_t half = requests / 2;
    if (status == CLI_OK && half > 0)
        status = fetch_phase(ws, connections, name, 1, half, &one);
    if (status == CLI_OK)
        status = fetch_phase(ws, connections, name, BATCH_MAX, requests - half, &batch);
    for (int i = 0; i < connections; i++)
        cli_http_close(ws[i].h);
    if (status != CLI_OK)
        return status;

    if (json) {
        json_t *o = json_pack("{s:s,s:s,s:I,s:i,s:I,s:I,s:I}", "server", server, "job", name,
                              "requests", (json_int_t)requests, "connections", connections,
                              "enqueue_per_s", (json_int_t)(enq_per_s + 0.5), "enqueue_p50_us",
                              (json_int_t)enq_p50, "enqueue_p99_us", (json_int_t)enq_p99);
        if (o == NULL)
            return cli_error(CLI_FAIL, "bench: out of memory");
        add_fetch_json(o, 1, &one);
        add_fetch_json(o, BATCH_MAX, &batch);
        return cli_print_json(o);
    }
    printf("chore bench --server %s: %" PRId64 " requests, %d connections, job %s\n", server,
           requests, connections, name);
    printf("%-22s %12.0f requests/s\n", "enqueue_per_s", enq_per_s);
    printf("%-22s %12" PRId64 " us\n", "enqueue_p50_us", enq_p50);
    printf("%-22s %12" PRId64 " us\n", "enqueue_p99_us", enq_p99);
    print_fetch(1, &one);
    print_fetch(BATCH_MAX, &batch);
    return fflush(stdout) == 0 ? CLI_OK : cli_error(CLI_FAIL, "bench: cannot write the output");
}
