/*
 * command.c — command jobs: one chore handler per [job NAME] of the
 * config, which runs the type's command for each job (command_spawn.c)
 * and records what it did (command_output.c).
 *
 * Each handler's user pointer is the runner's own copy of its job type.
 * chore_unhandle lets jobs already claimed finish with the old handler, so
 * a copy replaced or removed by a reload is kept (not freed) until
 * command_runner_free, which runs after chore_stop: a reload costs one
 * small copy per changed type, and no handler ever sees freed memory.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "command_internal.h"

struct command_runner {
    chore *c;
    pthread_mutex_t mu;     /* guards `active` for command_runner_type */
    daemon_job_type **active; /* the types handled now */
    size_t n_active;
    daemon_job_type **all; /* every copy ever made: freed at the end */
    size_t n_all, cap_all;
};

/* The handler of every command job type; ud is its daemon_job_type. */
static int run_command(chore_job *job, void *ud)
{
    const daemon_job_type *t = ud;
    command_run *run = calloc(1, sizeof *run); /* 128 KiB of output: not on a worker's stack */
    if (run == NULL) {
        chore_job_set_error(job, "out of memory");
        return CHORE_ENOMEM;
    }
    command_spawn_run(t, job, run);
    int rc = command_report(job, t, run);
    free(run);
    return rc;
}

static void free_type(daemon_job_type *t)
{
    if (t == NULL)
        return;
    free(t->name);
    free(t->command);
    free(t->queue);
    free(t);
}

/* A copy of t that the runner keeps until it is freed. */
static daemon_job_type *keep_copy(command_runner *r, const daemon_job_type *t)
{
    if (r->n_all == r->cap_all) {
        size_t cap = r->cap_all ? 2 * r->cap_all : 16;
        daemon_job_type **grown = realloc(r->all, cap * sizeof *grown);
        if (grown == NULL)
            return NULL;
        r->all = grown;
        r->cap_all = cap;
    }
    daemon_job_type *copy = malloc(sizeof *copy);
    if (copy == NULL)
        return NULL;
    *copy = *t;
    copy->name = strdup(t->name);
    copy->command = strdup(t->command);
    copy->queue = t->queue != NULL ? strdup(t->queue) : NULL;
    if (copy->name == NULL || copy->command == NULL || (t->queue != NULL && copy->queue == NULL)) {
        free_type(copy);
        return NULL;
    }
    r->all[r->n_all++] = copy;
    return copy;
}

static bool same_type(const daemon_job_type *a, const daemon_job_type *b)
{
    const char *qa = a->queue != NULL ? a->queue : "default";
    const char *qb = b->queue != NULL ? b->queue : "default";
    return strcmp(a->name, b->name) == 0 && strcmp(a->command, b->command) == 0 &&
           strcmp(qa, qb) == 0 && a->timeout_ms == b->timeout_ms &&
           a->max_attempts == b->max_attempts && a->backoff_base_ms == b->backoff_base_ms &&
           a->backoff_max_ms == b->backoff_max_ms && a->concurrency == b->concurrency &&
           a->kill_grace_ms == b->kill_grace_ms;
}

/* Register (or replace) the handler of t, a copy the runner keeps. */
static int handle(command_runner *r, daemon_job_type *t)
{
    chore_handler_opts opts = {
        .backoff_base_ms = t->backoff_base_ms,
        .backoff_max_ms = t->backoff_max_ms,
        .concurrency = t->concurrency,
    };
    return chore_handle(r->c, t->name, run_command, t, &opts);
}

int command_runner_start(command_runner **out, chore *c, const daemon_config *cfg)
{
    if (out != NULL)
        *out = NULL;
    if (out == NULL || c == NULL || cfg == NULL)
        return CHORE_EINVAL;
    command_runner *r = calloc(1, sizeof *r);
    if (r == NULL)
        return CHORE_ENOMEM;
    r->c = c;
    pthread_mutex_init(&r->mu, NULL);
    int rc = command_runner_reload(r, cfg);
    if (rc != CHORE_OK) {
        for (size_t i = 0; i < r->n_active; i++)
            chore_unhandle(c, r->active[i]->name);
        r->n_active = 0;
        command_runner_free(r);
        return rc;
    }
    *out = r;
    return CHORE_OK;
}

/* The index of the active type named `name`, or n_active. */
static size_t find_active(const command_runner *r, const char *name)
{
    size_t i = 0;
    while (i < r->n_active && strcmp(r->active[i]->name, name) != 0)
        i++;
    return i;
}

int command_runner_reload(command_runner *r, const daemon_config *cfg)
{
    if (r == NULL || cfg == NULL)
        return CHORE_EINVAL;
    daemon_job_type **next = calloc(cfg->n_job_types + r->n_active + 1, sizeof *next);
    if (next == NULL)
        return CHORE_ENOMEM;
    int rc = CHORE_OK;
    size_t n = 0;
    for (size_t i = 0; i < cfg->n_job_types && rc == CHORE_OK; i++) {
        const daemon_job_type *t = &cfg->job_types[i];
        if (t->name == NULL || t->command == NULL) {
            rc = CHORE_EINVAL;
            break;
        }
        size_t at = find_active(r, t->name);
        if (at < r->n_active && same_type(r->active[at], t)) {
            next[n++] = r->active[at]; /* unchanged: keep its handler */
            continue;
        }
        daemon_job_type *copy = keep_copy(r, t);
        rc = copy != NULL ? handle(r, copy) : CHORE_ENOMEM;
        if (rc == CHORE_OK)
            next[n++] = copy;
    }
    if (rc != CHORE_OK) {
        /* Handlers already registered stay: list them with the old ones. */
        for (size_t i = 0; i < r->n_active; i++) {
            bool listed = false;
            for (size_t k = 0; k < n && !listed; k++)
                listed = strcmp(next[k]->name, r->active[i]->name) == 0;
            if (!listed)
                next[n++] = r->active[i];
        }
    } else {
        for (size_t i = 0; i < r->n_active; i++) {
            bool kept = false;
            for (size_t k = 0; k < n && !kept; k++)
                kept = strcmp(next[k]->name, r->active[i]->name) == 0;
            if (!kept)
                chore_unhandle(r->c, r->active[i]->name);
        }
    }
    pthread_mutex_lock(&r->mu);
    free(r->active);
    r->active = next;
    r->n_active = n;
    pthread_mutex_unlock(&r->mu);
    return rc;
}

const daemon_job_type *command_runner_type(command_runner *r, const char *name)
{
    if (r == NULL || name == NULL)
        return NULL;
    pthread_mutex_lock(&r->mu);
    size_t at = find_active(r, name);
    const daemon_job_type *t = at < r->n_active ? r->active[at] : NULL;
    pthread_mutex_unlock(&r->mu);
    return t;
}

void command_runner_free(command_runner *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n_all; i++)
        free_type(r->all[i]);
    free(r->all);
    free(r->active);
    pthread_mutex_destroy(&r->mu);
    free(r);
}
