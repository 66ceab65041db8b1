/*
 * metrics.h — an instance's metrics registry (private): counters and a
 * duration histogram per job name, safe from any thread. Recording takes
 * one mutex and does no allocation once a name has been seen; a new name
 * allocates, and on ENOMEM its sample is dropped (metrics are best effort,
 * the job is not affected). chore_metrics_render (api/metrics.c) renders a
 * snapshot.
 */
#ifndef CHORE_METRICS_H
#define CHORE_METRICS_H

#include <stddef.h>
#include <stdint.h>

/* What became of one attempt (or of a deferred job, told by the caller). */
typedef enum rt_job_event {
    RT_JOB_COMPLETED = 0,
    RT_JOB_FAILED,    /* failed, will be retried */
    RT_JOB_DISCARDED, /* failed for good, or discarded by its handler */
    RT_JOB_SNOOZED,
    RT_JOB_DEFERRED,  /* handed to an outside system (CHORE_DEFER) */
    RT_JOB_EVENTS
} rt_job_event;

/* The duration histogram's upper bounds in seconds, without +Inf. */
enum { RT_DURATION_BUCKETS = 10 };
extern const double rt_duration_bounds[RT_DURATION_BUCKETS];

/* One job name's figures. buckets[i] counts durations <= bounds[i] and
 * above the bound before it; buckets[RT_DURATION_BUCKETS] those above the
 * last bound (not cumulative). */
typedef struct rt_job_metrics {
    char *name;
    uint64_t enqueued;
    uint64_t events[RT_JOB_EVENTS];
    uint64_t buckets[RT_DURATION_BUCKETS + 1];
    uint64_t duration_count;
    double duration_sum; /* seconds */
} rt_job_metrics;

typedef struct rt_metrics rt_metrics;

/* A new, empty registry: CHORE_OK or CHORE_ENOMEM. */
int rt_metrics_new(rt_metrics **out);
/* Free a registry (NULL is fine). */
void rt_metrics_free(rt_metrics *m);

/* Count n jobs of `name` enqueued. CHORE_ENOMEM when a new name could not be added. */
int rt_metrics_enqueued(rt_metrics *m, const char *name, uint64_t n);
/* Count one event of `name`; with seconds >= 0 also observe how long the
 * handler ran. CHORE_ENOMEM when a new name could not be added. */
int rt_metrics_job(rt_metrics *m, const char *name, rt_job_event event, double seconds);

/* A copy of every name's figures, sorted by name: free with rt_metrics_snapshot_free. */
int rt_metrics_snapshot(rt_metrics *m, rt_job_metrics **out, size_t *n);
void rt_metrics_snapshot_free(rt_job_metrics *items, size_t n);

#endif
