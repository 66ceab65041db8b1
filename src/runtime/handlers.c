/* handlers.c — the registry of handlers by job name. Callers hold `mu`. */
#include <stdlib.h>
#include <string.h>

#include "runtime/runtime.h"

enum { DEFAULT_BACKOFF_BASE_MS = 1000, DEFAULT_BACKOFF_MAX_MS = 3600000 };
#define DEFAULT_BACKOFF_JITTER 0.2
#define DEFAULT_DEFER_TIMEOUT_MS 3600000

handler *rt_find_handler(chore *c, const char *name)
{
    for (size_t i = 0; i < c->n_handlers; i++) {
        if (strcmp(c->handlers[i].name, name) == 0)
            return &c->handlers[i];
    }
    return NULL;
}

static void apply_opts(handler *h, const chore_handler_opts *o)
{
    h->backoff.base_ms = o != NULL && o->backoff_base_ms > 0 ? o->backoff_base_ms
                                                             : DEFAULT_BACKOFF_BASE_MS;
    h->backoff.max_ms = o != NULL && o->backoff_max_ms > 0 ? o->backoff_max_ms
                                                           : DEFAULT_BACKOFF_MAX_MS;
    if (h->backoff.max_ms < h->backoff.base_ms)
        h->backoff.max_ms = h->backoff.base_ms;
    h->backoff.jitter = o == NULL || o->backoff_jitter == 0 ? DEFAULT_BACKOFF_JITTER
                        : o->backoff_jitter < 0                ? 0
                                                               : o->backoff_jitter;
    h->defer_timeout_ms = o != NULL && o->defer_timeout_ms > 0 ? o->defer_timeout_ms
                                                               : DEFAULT_DEFER_TIMEOUT_MS;
    h->concurrency = o != NULL && o->concurrency > 0 ? o->concurrency : 0;
}

void rt_default_handler(handler *h)
{
    *h = (handler){0};
    apply_opts(h, NULL);
}

int rt_set_handler(chore *c, const char *name, chore_handler_fn fn, void *ud,
                   const chore_handler_opts *opts)
{
    handler *h = rt_find_handler(c, name);
    if (h == NULL) {
        if (c->n_handlers == c->cap_handlers) {
            size_t cap = c->cap_handlers ? c->cap_handlers * 2 : 8;
            handler *grown = realloc(c->handlers, cap * sizeof *grown);
            if (grown == NULL)
                return CHORE_ENOMEM;
            c->handlers = grown;
            c->cap_handlers = cap;
        }
        char *copy = strdup(name);
        if (copy == NULL)
            return CHORE_ENOMEM;
        h = &c->handlers[c->n_handlers++];
        *h = (handler){.name = copy};
    }
    h->fn = fn;
    h->ud = ud;
    apply_opts(h, opts);
    c->handlers_version++;
    return CHORE_OK;
}

int rt_remove_handler(chore *c, const char *name)
{
    handler *h = rt_find_handler(c, name);
    if (h == NULL)
        return CHORE_ENOTFOUND;
    free(h->name);
    *h = c->handlers[--c->n_handlers];
    c->handlers_version++;
    return CHORE_OK;
}

void rt_free_handlers(chore *c)
{
    for (size_t i = 0; i < c->n_handlers; i++)
        free(c->handlers[i].name);
    free(c->handlers);
    c->handlers = NULL;
    c->n_handlers = c->cap_handlers = 0;
}

void rt_handler_owned(chore *c, const char *name, int delta)
{
    handler *h = rt_find_handler(c, name);
    if (h == NULL)
        return; /* unhandled since: nothing to count against */
    if (delta > 0) {
        h->owned += (size_t)delta;
    } else if (h->owned > 0) { /* a handler replaced meanwhile starts from 0 */
        h->owned--;
        if (h->concurrency > 0) {
            c->maybe_available = true;
            pthread_cond_signal(&c->dispatch_cond);
        }
    }
}
