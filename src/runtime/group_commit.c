/* group_commit.c — writes from many threads share one commit.
 *
 * Each caller adds its request to a list. If no write is in progress the
 * caller becomes the leader: it takes every request waiting, writes them
 * with one call (one transaction) and marks each done. Callers that arrive
 * while a write runs wait for the next one, so a commit (and its fsync)
 * serves everyone who came during the previous one. */
#include "runtime/group_commit.h"

#include "chore.h"
#include "runtime/clock.h"

enum { MAX_LEADER_ROUNDS = 4 };

int rt_group_init(rt_group *g, rt_group_write_fn write)
{
    *g = (rt_group){.write = write};
    if (pthread_mutex_init(&g->mu, NULL) != 0)
        return CHORE_ENOMEM;
    if (clock_cond_init(&g->cond) != CHORE_OK) {
        pthread_mutex_destroy(&g->mu);
        return CHORE_ENOMEM;
    }
    return CHORE_OK;
}

void rt_group_destroy(rt_group *g)
{
    pthread_cond_destroy(&g->cond);
    pthread_mutex_destroy(&g->mu);
}

/* The list taken from pending (newest first), oldest first. */
static rt_group_req *oldest_first(rt_group_req *newest)
{
    rt_group_req *list = NULL;
    while (newest != NULL) {
        rt_group_req *r = newest;
        newest = r->next;
        r->next = list;
        list = r;
    }
    return list;
}

void rt_group_run(chore *c, rt_group *g, rt_group_req *r)
{
    r->done = false;
    pthread_mutex_lock(&g->mu);
    r->next = g->pending;
    g->pending = r;
    while (!r->done) {
        if (g->leader) {
            pthread_cond_wait(&g->cond, &g->mu);
            continue;
        }
        /* Lead a few writes in a row while callers keep arriving: handing
         * the lead to a sleeping thread costs a wake-up per write. */
        g->leader = true;
        for (int round = 0; round < MAX_LEADER_ROUNDS && g->pending != NULL; round++) {
            rt_group_req *list = oldest_first(g->pending);
            g->pending = NULL;
            pthread_mutex_unlock(&g->mu);
            g->write(c, list);
            pthread_mutex_lock(&g->mu);
            for (rt_group_req *q = list, *next; q != NULL; q = next) {
                next = q->next; /* q may be gone once done and its caller runs */
                q->done = true;
            }
            pthread_cond_broadcast(&g->cond);
        }
        g->leader = false;
        pthread_cond_broadcast(&g->cond);
    }
    pthread_mutex_unlock(&g->mu);
}
