/* instance.c — the public lifecycle calls: open, start, stop, close, and
 * handler registration. Checks arguments, fills in defaults, then hands
 * over to the runtime. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/metrics.h"
#include "runtime/loop.h"

enum {
    DEFAULT_WORKERS = 4,
    DEFAULT_FETCH_BATCH = 1000,
    DEFAULT_LEASE_MS = 30000,
    DEFAULT_POLL_MS = 100,
    DEFAULT_RESCUE_MS = 1000,
    DEFAULT_PRUNE_MS = 60000,
    DEFAULT_MISFIRE_MS = 60000,
};
#define DEFAULT_RETENTION_MS (24LL * 3600 * 1000)
#define DEFAULT_STORE "sqlite:chore.db"

/* Copy cfg with every zeroed field set to its default; EINVAL when out of range. */
static int fill_config(chore_config *out, const chore_config *cfg)
{
    chore_config zero = {0};
    *out = cfg != NULL ? *cfg : zero;
    if (out->store == NULL)
        out->store = DEFAULT_STORE;
    if (out->workers == 0)
        out->workers = DEFAULT_WORKERS;
    if (out->fetch_batch == 0)
        out->fetch_batch = DEFAULT_FETCH_BATCH;
    if (out->lease_ms == 0)
        out->lease_ms = DEFAULT_LEASE_MS;
    if (out->poll_interval_ms == 0)
        out->poll_interval_ms = DEFAULT_POLL_MS;
    if (out->rescue_interval_ms == 0)
        out->rescue_interval_ms = DEFAULT_RESCUE_MS;
    if (out->retention_ms == 0)
        out->retention_ms = DEFAULT_RETENTION_MS;
    if (out->prune_interval_ms == 0)
        out->prune_interval_ms = DEFAULT_PRUNE_MS;
    if (out->misfire_ms == 0)
        out->misfire_ms = DEFAULT_MISFIRE_MS;
    if (out->workers < 0 || out->workers > 1024 || out->fetch_batch < 0 ||
        out->fetch_batch > 10000 || out->lease_ms < 3 || out->poll_interval_ms < 0 ||
        out->rescue_interval_ms < 0 || out->prune_interval_ms < 0 || out->misfire_ms < 0 ||
        (out->durability != CHORE_DURABLE_FULL && out->durability != CHORE_DURABLE_PROCESS) ||
        (unsigned)out->log_level > (unsigned)CHORE_LOG_OFF)
        return CHORE_EINVAL;
    return CHORE_OK;
}

static int copy_queues(chore *c)
{
    const char *const *queues = c->cfg.queues;
    c->cfg.queues = NULL;
    if (queues == NULL)
        return CHORE_OK;
    size_t n = 0;
    while (queues[n] != NULL) {
        if (!chore_name_valid(queues[n]))
            return CHORE_EINVAL;
        n++;
    }
    c->queues = calloc(n + 1, sizeof *c->queues);
    if (c->queues == NULL)
        return CHORE_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        c->queues[i] = strdup(queues[i]);
        if (c->queues[i] == NULL)
            return CHORE_ENOMEM;
    }
    c->n_queues = n;
    c->cfg.queues = (const char *const *)c->queues;
    return CHORE_OK;
}

static void on_clock_moved(void *ud)
{
    chore *c = ud;
    pthread_mutex_lock(&c->mu);
    c->clock_moves++;
    c->idle = false; /* something may be due now: the dispatcher looks again */
    pthread_cond_broadcast(&c->dispatch_cond);
    rt_wake_fetchers(c);
    pthread_mutex_unlock(&c->mu);
}

static int init_sync(chore *c)
{
    if (pthread_mutex_init(&c->mu, NULL) != 0)
        return CHORE_ENOMEM;
    if (clock_cond_init(&c->dispatch_cond) != CHORE_OK ||
        clock_cond_init(&c->work_cond) != CHORE_OK || clock_cond_init(&c->idle_cond) != CHORE_OK ||
        clock_cond_init(&c->fetch_cond) != CHORE_OK || rt_enqueue_group_init(c) != CHORE_OK ||
        rt_finish_group_init(c) != CHORE_OK)
        return CHORE_ENOMEM;
    return CHORE_OK;
}

int chore_open(chore **out, const chore_config *cfg)
{
    if (out == NULL)
        return CHORE_EINVAL;
    *out = NULL;
    chore *c = calloc(1, sizeof *c);
    if (c == NULL)
        return CHORE_ENOMEM;
    int rc = fill_config(&c->cfg, cfg);
    if (rc == CHORE_OK)
        rc = copy_queues(c);
    if (rc == CHORE_OK && (c->store_url = strdup(c->cfg.store)) == NULL)
        rc = CHORE_ENOMEM;
    if (rc == CHORE_OK)
        rc = init_sync(c);
    if (rc == CHORE_OK)
        rc = rt_metrics_new(&c->metrics);
    if (rc != CHORE_OK) {
        chore_close(c);
        return rc;
    }
    c->cfg.store = c->store_url;
    c->clock = c->cfg.clock != NULL ? c->cfg.clock : clock_system();
    c->rng = c->cfg.seed != 0 ? c->cfg.seed : (uint64_t)real_now_ms() ^ (uint64_t)(uintptr_t)c;
    c->idle = true;
    c->next_due_ms = INT64_MAX;

    const char *location = NULL;
    c->ops = store_backend_for(c->store_url, &location);
    if (c->ops == NULL || c->ops->version != STORE_INTERFACE_VERSION) {
        chore_close(c);
        return CHORE_EINVAL;
    }
    char err[256] = "";
    rc = c->ops->open(&c->st, location, c->cfg.durability, err, sizeof err);
    if (rc != CHORE_OK) {
        rt_log_kv(c, CHORE_LOG_ERROR, "store", "cannot open the store", "store", c->store_url,
                  "error", err, NULL);
        chore_close(c);
        return rc;
    }
    c->clock_listener = (clock_listener){.wake = on_clock_moved, .ud = c};
    clock_listen(c->clock, &c->clock_listener);
    rc = rt_maintenance_add(c);
    if (rc != CHORE_OK) {
        chore_close(c);
        return rc;
    }
    *out = c;
    return CHORE_OK;
}

void chore_close(chore *c)
{
    if (c == NULL)
        return;
    if (c->st != NULL) { /* fully opened: threads may run, a clock listens */
        rt_stop(c, 0);
        rt_join_leftover_workers(c);
        clock_unlisten(c->clock, &c->clock_listener);
        if (c->ops->set_wake != NULL) /* its hook must not run once we free below */
            c->ops->set_wake(c->st, NULL, NULL);
        c->ops->close(c->st);
        pthread_mutex_destroy(&c->mu);
        pthread_cond_destroy(&c->dispatch_cond);
        pthread_cond_destroy(&c->work_cond);
        pthread_cond_destroy(&c->idle_cond);
        rt_group_destroy(&c->enqueues);
        rt_group_destroy(&c->finishes);
        pthread_cond_destroy(&c->fetch_cond);
    }
    rt_free_handlers(c);
    rt_loops_free(c);
    rt_scheduler_free(c->scheduler);
    rt_metrics_free(c->metrics);
    for (size_t i = 0; c->queues != NULL && c->queues[i] != NULL; i++)
        free(c->queues[i]);
    free(c->queues);
    free(c->outcomes);
    free(c->store_url);
    free(c);
}

int chore_start(chore *c)
{
    return c == NULL ? CHORE_EINVAL : rt_start(c);
}

int chore_stop(chore *c, int64_t grace_ms)
{
    return c == NULL ? CHORE_EINVAL : rt_stop(c, grace_ms);
}

int64_t chore_now(const chore *c)
{
    return c != NULL ? chore_clock_now(c->clock) : 0;
}

int chore_handle(chore *c, const char *name, chore_handler_fn fn, void *ud,
                 const chore_handler_opts *opts)
{
    if (c == NULL || fn == NULL || !chore_name_valid(name))
        return CHORE_EINVAL;
    if (opts != NULL && (opts->backoff_base_ms < 0 || opts->backoff_max_ms < 0 ||
                         opts->backoff_jitter > 1 ||
                         opts->defer_timeout_ms < 0))
        return CHORE_EINVAL;
    pthread_mutex_lock(&c->mu);
    int rc = rt_set_handler(c, name, fn, ud, opts);
    if (rc == CHORE_OK) {
        c->maybe_available = true; /* jobs of this name may be waiting */
        c->idle = false;
        pthread_cond_signal(&c->dispatch_cond);
    }
    pthread_mutex_unlock(&c->mu);
    return rc;
}

int chore_unhandle(chore *c, const char *name)
{
    if (c == NULL || name == NULL)
        return CHORE_EINVAL;
    pthread_mutex_lock(&c->mu);
    int rc = rt_remove_handler(c, name);
    pthread_mutex_unlock(&c->mu);
    return rc;
}
