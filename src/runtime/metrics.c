/* metrics.c — the metrics registry: an open-addressing hash table (linear
 * probing, at most half full) of per-name figures under one mutex. Names
 * are copied once, when first seen; recording a known name allocates
 * nothing. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "chore.h"
#include "runtime/metrics.h"

enum { INITIAL_SLOTS = 16 };

/* The histogram's bounds (seconds); +Inf is implied. */
const double rt_duration_bounds[RT_DURATION_BUCKETS] = {0.001, 0.005, 0.01, 0.05, 0.1,
                                                        0.5,   1,     5,    10,   60};

struct rt_metrics {
    pthread_mutex_t mu;
    rt_job_metrics *slots; /* name == NULL: empty */
    size_t cap;            /* a power of two */
    size_t n;
};

static uint64_t hash_name(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        h ^= *p;
        h *= 1099511628211ULL;
    }
    return h;
}

/* A new, empty registry. */
int rt_metrics_new(rt_metrics **out)
{
    *out = NULL;
    rt_metrics *m = calloc(1, sizeof *m);
    if (m == NULL)
        return CHORE_ENOMEM;
    m->slots = calloc(INITIAL_SLOTS, sizeof *m->slots);
    if (m->slots == NULL || pthread_mutex_init(&m->mu, NULL) != 0) {
        free(m->slots);
        free(m);
        return CHORE_ENOMEM;
    }
    m->cap = INITIAL_SLOTS;
    *out = m;
    return CHORE_OK;
}

/* Free the registry and every name it holds. */
void rt_metrics_free(rt_metrics *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->cap; i++)
        free(m->slots[i].name);
    free(m->slots);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

/* The slot holding `name`, or the empty slot where it would go. */
static rt_job_metrics *probe(rt_job_metrics *slots, size_t cap, const char *name)
{
    size_t i = (size_t)hash_name(name) & (cap - 1);
    while (slots[i].name != NULL && strcmp(slots[i].name, name) != 0)
        i = (i + 1) & (cap - 1);
    return &slots[i];
}

/* Double the table. With `mu` held. */
static int grow(rt_metrics *m)
{
    size_t cap = m->cap * 2;
    rt_job_metrics *slots = calloc(cap, sizeof *slots);
    if (slots == NULL)
        return CHORE_ENOMEM;
    for (size_t i = 0; i < m->cap; i++) {
        if (m->slots[i].name != NULL)
            *probe(slots, cap, m->slots[i].name) = m->slots[i];
    }
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    return CHORE_OK;
}

/* The figures of `name`, added when new; NULL on ENOMEM. With `mu` held. */
static rt_job_metrics *find_or_add(rt_metrics *m, const char *name)
{
    rt_job_metrics *e = probe(m->slots, m->cap, name);
    if (e->name != NULL)
        return e;
    if ((m->n + 1) * 2 > m->cap) {
        if (grow(m) != CHORE_OK)
            return NULL;
        e = probe(m->slots, m->cap, name);
    }
    e->name = strdup(name);
    if (e->name == NULL)
        return NULL;
    m->n++;
    return e;
}

/* Count n enqueued jobs of `name`. */
int rt_metrics_enqueued(rt_metrics *m, const char *name, uint64_t n)
{
    if (m == NULL || name == NULL)
        return CHORE_EINVAL;
    pthread_mutex_lock(&m->mu);
    rt_job_metrics *e = find_or_add(m, name);
    if (e != NULL)
        e->enqueued += n;
    pthread_mutex_unlock(&m->mu);
    return e != NULL ? CHORE_OK : CHORE_ENOMEM;
}

/* The bucket of a duration: the first bound it does not exceed. */
static size_t bucket_of(double seconds)
{
    size_t i = 0;
    while (i < RT_DURATION_BUCKETS && seconds > rt_duration_bounds[i])
        i++;
    return i;
}

/* Count an attempt's outcome and observe its duration (seconds >= 0). */
int rt_metrics_job(rt_metrics *m, const char *name, rt_job_event event, double seconds)
{
    if (m == NULL || name == NULL || (unsigned)event >= RT_JOB_EVENTS)
        return CHORE_EINVAL;
    size_t bucket = bucket_of(seconds);
    pthread_mutex_lock(&m->mu);
    rt_job_metrics *e = find_or_add(m, name);
    if (e != NULL) {
        e->events[event]++;
        if (seconds >= 0) {
            e->buckets[bucket]++;
            e->duration_count++;
            e->duration_sum += seconds;
        }
    }
    pthread_mutex_unlock(&m->mu);
    return e != NULL ? CHORE_OK : CHORE_ENOMEM;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const rt_job_metrics *)a)->name, ((const rt_job_metrics *)b)->name);
}

/* Copy every name's figures, sorted by name, with the lock held only to copy. */
int rt_metrics_snapshot(rt_metrics *m, rt_job_metrics **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    pthread_mutex_lock(&m->mu);
    size_t count = m->n;
    rt_job_metrics *items = calloc(count > 0 ? count : 1, sizeof *items);
    int rc = items != NULL ? CHORE_OK : CHORE_ENOMEM;
    size_t k = 0;
    for (size_t i = 0; rc == CHORE_OK && i < m->cap; i++) {
        if (m->slots[i].name == NULL)
            continue;
        items[k] = m->slots[i];
        items[k].name = strdup(m->slots[i].name);
        if (items[k].name == NULL)
            rc = CHORE_ENOMEM;
        else
            k++;
    }
    pthread_mutex_unlock(&m->mu);
    if (rc != CHORE_OK) {
        rt_metrics_snapshot_free(items, k);
        return rc;
    }
    qsort(items, k, sizeof *items, by_name);
    *out = items;
    *n = k;
    return CHORE_OK;
}

/* Free what rt_metrics_snapshot returned. */
void rt_metrics_snapshot_free(rt_job_metrics *items, size_t n)
{
    for (size_t i = 0; items != NULL && i < n; i++)
        free(items[i].name);
    free(items);
}
