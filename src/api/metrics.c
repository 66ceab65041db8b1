/* metrics.c — chore_metrics_render: the instance's metrics as Prometheus
 * text (exposition format 0.0.4). Job counters and duration histograms
 * come from the registry (runtime/metrics.c), jobs by state from the
 * store, loop figures from chore_loops_health. Every family has its
 * # HELP and # TYPE lines, even with no samples yet. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/metrics.h"
#include "runtime/runtime.h"

/* A growing text buffer; rc turns CHORE_ENOMEM on the first failure. */
typedef struct text {
    char *buf;
    size_t len, cap;
    int rc;
} text;

static void reserve(text *t, size_t more)
{
    if (t->rc != CHORE_OK || t->len + more + 1 <= t->cap)
        return;
    size_t cap = t->cap > 0 ? t->cap : 4096;
    while (cap < t->len + more + 1)
        cap *= 2;
    char *grown = realloc(t->buf, cap);
    if (grown == NULL) {
        t->rc = CHORE_ENOMEM;
        return;
    }
    t->buf = grown;
    t->cap = cap;
}

static void put(text *t, const char *s)
{
    size_t n = strlen(s);
    reserve(t, n);
    if (t->rc != CHORE_OK)
        return;
    memcpy(t->buf + t->len, s, n + 1);
    t->len += n;
}

static void putf(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(text *t, const char *fmt, ...)
{
    char small[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        t->rc = CHORE_EINVAL;
        return;
    }
    if ((size_t)n < sizeof small) {
        put(t, small);
        return;
    }
    reserve(t, (size_t)n);
    if (t->rc != CHORE_OK)
        return;
    va_start(ap, fmt);
    vsnprintf(t->buf + t->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
}

/* A label value, escaped as the format asks: \\ \" and \n. */
static void put_label_value(text *t, const char *s)
{
    reserve(t, 2 * strlen(s));
    for (const char *p = s; t->rc == CHORE_OK && *p != '\0'; p++) {
        if (*p == '\\')
            put(t, "\\\\");
        else if (*p == '"')
            put(t, "\\\"");
        else if (*p == '\n')
            put(t, "\\n");
        else
            t->buf[t->len++] = *p;
    }
    if (t->rc == CHORE_OK)
        t->buf[t->len] = '\0';
}

static void family(text *t, const char *name, const char *type, const char *help)
{
    putf(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* `metric{label="value"} ` — the caller writes the value and newline. */
static void sample_start(text *t, const char *metric, const char *label, const char *value)
{
    put(t, metric);
    put(t, "{");
    put(t, label);
    put(t, "=\"");
    put_label_value(t, value);
    put(t, "\"} ");
}

static void render_jobs(text *t, const rt_job_metrics *jobs, size_t n)
{
    static const struct {
        const char *metric;
        int event; /* -1: enqueued */
        const char *help;
    } counters[] = {
        {"chore_jobs_enqueued_total", -1,
         "Jobs enqueued by this process, by job name (duplicates not counted)."},
        {"chore_jobs_completed_total", RT_JOB_COMPLETED, "Jobs completed, by job name."},
        {"chore_jobs_failed_total", RT_JOB_FAILED,
         "Attempts that failed and will be retried, by job name."},
        {"chore_jobs_discarded_total", RT_JOB_DISCARDED,
         "Jobs discarded (attempts used up, or by their handler), by job name."},
        {"chore_jobs_snoozed_total", RT_JOB_SNOOZED,
         "Attempts snoozed by their handler, by job name."},
        {"chore_jobs_deferred_total", RT_JOB_DEFERRED,
         "Attempts deferred to an outside system, by job name."},
    };
    for (size_t k = 0; k < sizeof counters / sizeof counters[0]; k++) {
        family(t, counters[k].metric, "counter", counters[k].help);
        for (size_t i = 0; i < n; i++) {
            int ev = counters[k].event;
            uint64_t v = ev < 0 ? jobs[i].enqueued : jobs[i].events[ev];
            sample_start(t, counters[k].metric, "name", jobs[i].name);
            putf(t, "%llu\n", (unsigned long long)v);
        }
    }
    family(t, "chore_job_duration_seconds", "histogram",
           "Real time handlers ran, in seconds, by job name.");
    for (size_t i = 0; i < n; i++) {
        uint64_t cumulative = 0;
        for (size_t b = 0; b <= RT_DURATION_BUCKETS; b++) {
            cumulative += jobs[i].buckets[b];
            put(t, "chore_job_duration_seconds_bucket{name=\"");
            put_label_value(t, jobs[i].name);
            if (b < RT_DURATION_BUCKETS)
                putf(t, "\",le=\"%g\"} %llu\n", rt_duration_bounds[b],
                     (unsigned long long)cumulative);
            else
                putf(t, "\",le=\"+Inf\"} %llu\n", (unsigned long long)cumulative);
        }
        sample_start(t, "chore_job_duration_seconds_sum", "name", jobs[i].name);
        putf(t, "%.9g\n", jobs[i].duration_sum);
        sample_start(t, "chore_job_duration_seconds_count", "name", jobs[i].name);
        putf(t, "%llu\n", (unsigned long long)jobs[i].duration_count);
    }
}

static void render_states(text *t, const int64_t counts[CHORE_STATE_COUNT])
{
    family(t, "chore_jobs", "gauge", "Jobs in the store, by state.");
    for (int s = 0; s < CHORE_STATE_COUNT; s++) {
        const char *name = chore_state_name((chore_state)s);
        if (name == NULL)
            continue;
        sample_start(t, "chore_jobs", "state", name);
        putf(t, "%lld\n", (long long)counts[s]);
    }
}

/* A loop figure: which field of chore_loop_health, and how to show it. */
typedef enum loop_field {
    LOOP_RUNS,
    LOOP_SKIPS,
    LOOP_FAILURES,
    LOOP_CONSECUTIVE,
    LOOP_DURATION,
    LOOP_LAST_SUCCESS,
} loop_field;

static void render_loops(text *t, const chore_loop_health *loops, size_t n)
{
    static const struct {
        const char *metric, *type;
        loop_field field;
        const char *help;
    } figures[] = {
        {"chore_loop_runs_total", "counter", LOOP_RUNS, "Ticks run, by loop."},
        {"chore_loop_skips_total", "counter", LOOP_SKIPS,
         "Ticks skipped (locked elsewhere, or should_run said no), by loop."},
        {"chore_loop_failures_total", "counter", LOOP_FAILURES, "Ticks that failed, by loop."},
        {"chore_loop_consecutive_failures", "gauge", LOOP_CONSECUTIVE,
         "Ticks failed in a row since the last success, by loop."},
        {"chore_loop_last_duration_seconds", "gauge", LOOP_DURATION,
         "How long the last tick ran, in seconds, by loop."},
        {"chore_loop_last_success_timestamp_seconds", "gauge", LOOP_LAST_SUCCESS,
         "When the last tick succeeded, Unix seconds on the instance's clock (0 = never)."},
    };
    for (size_t k = 0; k < sizeof figures / sizeof figures[0]; k++) {
        family(t, figures[k].metric, figures[k].type, figures[k].help);
        for (size_t i = 0; i < n; i++) {
            const chore_loop_health *h = &loops[i];
            sample_start(t, figures[k].metric, "loop", h->name);
            switch (figures[k].field) {
            case LOOP_RUNS: putf(t, "%lld\n", (long long)h->runs); break;
            case LOOP_SKIPS: putf(t, "%lld\n", (long long)h->skips); break;
            case LOOP_FAILURES: putf(t, "%lld\n", (long long)h->failures); break;
            case LOOP_CONSECUTIVE: putf(t, "%lld\n", (long long)h->consecutive_failures); break;
            case LOOP_DURATION: putf(t, "%.6f\n", (double)h->last_duration_us / 1e6); break;
            case LOOP_LAST_SUCCESS: putf(t, "%.3f\n", (double)h->last_success_ms / 1e3); break;
            }
        }
    }
}

/* Render every family into one malloc'd string (see chore.h). */
int chore_metrics_render(chore *c, char **out, size_t *len)
{
    if (out != NULL)
        *out = NULL;
    if (len != NULL)
        *len = 0;
    if (c == NULL || out == NULL)
        return CHORE_EINVAL;
    int64_t counts[CHORE_STATE_COUNT] = {0};
    int rc = c->ops->count_by_state(c->st, counts);
    if (rc != CHORE_OK)
        return rc;
    chore_loop_health *loops = NULL;
    size_t n_loops = 0;
    rc = chore_loops_health(c, &loops, &n_loops);
    if (rc != CHORE_OK)
        return rc;
    rt_job_metrics *jobs = NULL;
    size_t n_jobs = 0;
    rc = rt_metrics_snapshot(c->metrics, &jobs, &n_jobs);
    if (rc != CHORE_OK) {
        free(loops);
        return rc;
    }
    text t = {.rc = CHORE_OK};
    render_jobs(&t, jobs, n_jobs);
    render_states(&t, counts);
    render_loops(&t, loops, n_loops);
    rt_metrics_snapshot_free(jobs, n_jobs);
    free(loops);
    if (t.rc != CHORE_OK) {
        free(t.buf);
        return t.rc;
    }
    *out = t.buf;
    if (len != NULL)
        *len = t.len;
    return CHORE_OK;
}
