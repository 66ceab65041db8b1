/*
 * http_pool.h — threads that run the HTTP routes which may block (store
 * reads and writes, long polls), so that the server's event loop never
 * waits on them. Threads are started on demand, up to a limit, and leave
 * after a while without work.
 */
#ifndef CHORE_HTTP_POOL_H
#define CHORE_HTTP_POOL_H

#include <stdbool.h>
#include <stddef.h>

/* One piece of work; the caller owns it until fn has been called. */
typedef struct http_task {
    struct http_task *next;
    void (*fn)(struct http_task *task);
} http_task;

typedef struct http_pool http_pool;

/* A pool of at most max_threads threads; NULL when out of memory. */
http_pool *http_pool_new(size_t max_threads);
/* Run task->fn(task) on a pool thread, in order of submission. False when
 * the pool is stopping or no thread could be started for it (fn is then
 * never called). */
bool http_pool_submit(http_pool *p, http_task *task);
/* Wait for every submitted task to finish, end the threads and free p. */
void http_pool_free(http_pool *p);

#endif
