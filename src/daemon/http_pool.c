/*
 * http_pool.c — threads for the HTTP routes that may block. A thread is
 * started when a task arrives and every thread is busy, up to the limit
 * (the server's connection limit, so a long poll on every connection still
 * leaves none waiting). Threads stay until the pool is freed: after a
 * burst they sleep on a condition variable and cost only their stacks.
 */
#include <pthread.h>
#include <stdlib.h>

#include "http_pool.h"

struct http_pool {
    pthread_mutex_t mu;
    pthread_cond_t work; /* a task was queued, or the pool is stopping */
    http_task *head, *tail;
    size_t queued; /* tasks in the list */
    size_t idle;   /* threads waiting for a task */
    size_t n_threads, max_threads;
    pthread_t *threads;
    bool stopping;
};

static void *pool_thread(void *arg)
{
    http_pool *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (p->head == NULL && !p->stopping) {
            p->idle++;
            pthread_cond_wait(&p->work, &p->mu);
            p->idle--;
        }
        http_task *t = p->head;
        if (t == NULL)
            break; /* stopping, and nothing left to run */
        p->head = t->next;
        if (p->head == NULL)
            p->tail = NULL;
        p->queued--;
        pthread_mutex_unlock(&p->mu);
        t->fn(t);
        pthread_mutex_lock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

http_pool *http_pool_new(size_t max_threads)
{
    http_pool *p = calloc(1, sizeof *p);
    if (p == NULL || max_threads == 0 ||
        (p->threads = calloc(max_threads, sizeof *p->threads)) == NULL) {
        free(p);
        return NULL;
    }
    p->max_threads = max_threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work, NULL);
    return p;
}

bool http_pool_submit(http_pool *p, http_task *task)
{
    pthread_mutex_lock(&p->mu);
    if (p->stopping) {
        pthread_mutex_unlock(&p->mu);
        return false;
    }
    task->next = NULL;
    if (p->tail != NULL)
        p->tail->next = task;
    else
        p->head = task;
    p->tail = task;
    p->queued++;
    /* Every queued task needs a thread of its own: one may block for long. */
    if (p->queued > p->idle && p->n_threads < p->max_threads &&
        pthread_create(&p->threads[p->n_threads], NULL, pool_thread, p) == 0)
        p->n_threads++;
    bool ok = p->n_threads > 0;
    if (!ok) { /* no thread at all: take the task back */
        p->head = p->tail = NULL;
        p->queued = 0;
    }
    pthread_cond_signal(&p->work);
    pthread_mutex_unlock(&p->mu);
    return ok;
}

void http_pool_free(http_pool *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->mu);
    p->stopping = true;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
    for (size_t i = 0; i < p->n_threads; i++)
        pthread_join(p->threads[i], NULL);
    pthread_cond_destroy(&p->work);
    pthread_mutex_destroy(&p->mu);
    free(p->threads);
    free(p);
}
