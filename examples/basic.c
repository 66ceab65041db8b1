/*
 * basic.c — a first tour of chore.
 *
 *     example_basic [DB_PATH]        (default: chore-example.db)
 *
 * Opens a job store in an SQLite file, registers two handlers, enqueues a
 * few jobs, runs them on worker threads and shows what happened:
 *
 *   - email.send succeeds at once;
 *   - report.build fails on its first two attempts and succeeds on the
 *     third: each failure records an error and the job is retried after
 *     an exponential backoff (200 ms, then 400 ms, minus up to 20% jitter).
 *
 * Jobs are stored before chore_enqueue returns, so if this program
 * crashed halfway, running it again would finish the work left over.
 */
#include <chore.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* What the handlers share: the time the program started, for the log. */
typedef struct demo {
    chore *c;
    int64_t started_ms;
} demo;

/* Seconds since the program started, by the instance's clock. */
static double elapsed_s(const demo *d)
{
    return (double)(chore_now(d->c) - d->started_ms) / 1000.0;
}

/* Handler for "email.send": pretend to send, succeed. */
static int send_email(chore_job *job, void *ud)
{
    demo *d = ud;
    printf("[%5.2fs] email.send   job %lld attempt %d: sending %s\n", elapsed_s(d),
           (long long)chore_job_id(job), chore_job_attempt(job), chore_job_payload(job));
    return CHORE_OK; /* done: the job becomes "completed" */
}

/* Handler for "report.build": fails twice, then succeeds. */
static int build_report(chore_job *job, void *ud)
{
    demo *d = ud;
    int attempt = chore_job_attempt(job); /* 1 on the first attempt */
    if (attempt < 3) {
        /* The message is stored with the attempt; `chore job ID` shows it. */
        const char *why = "warehouse not ready yet (simulated)";
        chore_job_set_error(job, why);
        printf("[%5.2fs] report.build job %lld attempt %d: failed: %s; retry in up to %d ms\n",
               elapsed_s(d), (long long)chore_job_id(job), attempt, why, 200 << (attempt - 1));
        return -1; /* any negative value: failed, retry after the backoff */
    }
    printf("[%5.2fs] report.build job %lld attempt %d: built %s\n", elapsed_s(d),
           (long long)chore_job_id(job), attempt, chore_job_payload(job));
    return CHORE_OK;
}

/* True when every job in ids has reached a final state. */
static bool all_final(chore *c, const int64_t *ids, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        chore_job_info *info = NULL;
        if (chore_job_get(c, ids[i], &info) != CHORE_OK)
            return false;
        chore_state state = info->state;
        chore_job_info_free(info);
        if (state != CHORE_COMPLETED && state != CHORE_DISCARDED && state != CHORE_CANCELLED)
            return false;
    }
    return true;
}

/* Print a job as stored: its state, attempts and the error of each failed one. */
static void show_job(demo *d, int64_t id)
{
    chore_job_info *info = NULL;
    int rc = chore_job_get(d->c, id, &info);
    if (rc != CHORE_OK) {
        printf("job %lld: %s\n", (long long)id, chore_strerror(rc));
        return;
    }
    printf("job %lld %-12s %s after %d attempt%s\n", (long long)info->id, info->name,
           chore_state_name(info->state), info->attempt, info->attempt == 1 ? "" : "s");
    for (size_t i = 0; i < info->n_errors; i++) {
        const chore_attempt_error *e = &info->errors[i];
        printf("    attempt %d failed at %.2fs: %s\n", e->attempt,
               (double)(e->at_ms - d->started_ms) / 1000.0, e->error);
    }
    chore_job_info_free(info);
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "chore-example.db";
    char url[1024];
    snprintf(url, sizeof url, "sqlite:%s", path);
    setvbuf(stdout, NULL, _IOLBF, 0); /* handlers print from worker threads */

    /* 1. Open the store (created if missing). Zeroed fields take defaults. */
    chore_config cfg = {.store = url, .workers = 2};
    demo d = {0};
    int rc = chore_open(&d.c, &cfg);
    if (rc != CHORE_OK) {
        fprintf(stderr, "cannot open %s: %s\n", url, chore_strerror(rc));
        return 1;
    }
    d.started_ms = chore_now(d.c);
    printf("store: %s\n", url);

    /* 2. Say which function works which job name. report.build retries
     *    quickly so that this demo finishes in about a second. */
    chore_handler_opts report_retry = {.backoff_base_ms = 200, .backoff_max_ms = 2000};
    rc = chore_handle(d.c, "email.send", send_email, &d, NULL);
    if (rc == CHORE_OK)
        rc = chore_handle(d.c, "report.build", build_report, &d, &report_retry);
    if (rc != CHORE_OK) {
        fprintf(stderr, "cannot register handlers: %s\n", chore_strerror(rc));
        chore_close(d.c);
        return 1;
    }

    /* 3. Enqueue. Payloads are JSON text. Jobs wait in the store until a
     *    started instance with a matching handler claims them. */
    int64_t ids[3];
    size_t n = 0;
    rc = chore_enqueue(d.c, "email.send", "{\"to\": \"ada@example.com\"}", NULL, &ids[n]);
    if (rc == CHORE_OK)
        n++;
    if (rc == CHORE_OK)
        rc = chore_enqueue(d.c, "email.send", "{\"to\": \"alan@example.com\"}", NULL, &ids[n]);
    if (rc == CHORE_OK)
        n++;
    /* At most 5 attempts; a unique key makes a second enqueue return the first job. */
    chore_enqueue_opts report_opts = {.max_attempts = 5, .unique_key = "weekly-report"};
    if (rc == CHORE_OK)
        rc = chore_enqueue(d.c, "report.build", "{\"week\": 21}", &report_opts, &ids[n]);
    if (rc == CHORE_OK)
        n++;
    if (rc != CHORE_OK) {
        fprintf(stderr, "cannot enqueue: %s\n", chore_strerror(rc));
        chore_close(d.c);
        return 1;
    }
    printf("enqueued jobs %lld, %lld (email.send) and %lld (report.build)\n",
           (long long)ids[0], (long long)ids[1], (long long)ids[2]);
    int64_t again = 0;
    rc = chore_enqueue(d.c, "report.build", "{\"week\": 21}", &report_opts, &again);
    if (rc == CHORE_DUPLICATE)
        printf("enqueued report.build again with the same unique key: got job %lld back\n",
               (long long)again);

    /* 4. Start the worker threads, and wait until every job is final.
     *    chore_wait_idle returns when nothing is due right now; a retry
     *    waiting out its backoff is not due yet, hence the loop. */
    rc = chore_start(d.c);
    if (rc != CHORE_OK) {
        fprintf(stderr, "cannot start: %s\n", chore_strerror(rc));
        chore_close(d.c);
        return 1;
    }
    bool finished = false;
    while (!(finished = all_final(d.c, ids, n)) && elapsed_s(&d) < 30) {
        chore_wait_idle(d.c, 1000);
        struct timespec pause = {.tv_nsec = 20 * 1000000L};
        nanosleep(&pause, NULL);
    }

    /* 5. Read the jobs back from the store. */
    printf("%s:\n", finished ? "all jobs are final" : "gave up waiting after 30 s");
    for (size_t i = 0; i < n; i++)
        show_job(&d, ids[i]);

    /* 6. Stop (waiting up to 5 s for running handlers) and free everything. */
    chore_stop(d.c, 5000);
    chore_close(d.c);
    return finished ? 0 : 1;
}
