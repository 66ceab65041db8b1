/* group_commit.h — writes from many threads that share one transaction
 * (group_commit.c): enqueues (enqueue_batch.c) and outside workers'
 * completions and failures (api/fetch_finish.c). */
#ifndef CHORE_RUNTIME_GROUP_COMMIT_H
#define CHORE_RUNTIME_GROUP_COMMIT_H

#include <pthread.h>
#include <stdbool.h>

typedef struct chore chore;

/* One caller's part of a shared write: the first member of the caller's
 * own request struct. */
typedef struct rt_group_req {
    struct rt_group_req *next;
    bool done;
} rt_group_req;

/* Writes the list of requests (oldest first) and sets each one's result. */
typedef void (*rt_group_write_fn)(chore *c, rt_group_req *list);

/* The requests waiting for a write of one kind, and who is writing. */
typedef struct rt_group {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    rt_group_req *pending; /* newest first */
    bool leader;
    rt_group_write_fn write;
} rt_group;

/* CHORE_OK or CHORE_ENOMEM. */
int rt_group_init(rt_group *g, rt_group_write_fn write);
void rt_group_destroy(rt_group *g);
/* Add r to the next shared write and return once it is written. */
void rt_group_run(chore *c, rt_group *g, rt_group_req *r);

#endif
