/*
 * http_enqueue.h — single enqueues from many HTTP connections written
 * together: the enqueuer's writer is one thread that writes every request
 * waiting with one chore_enqueue_bulk and then tells each owner, who
 * builds the reply on its own thread (http_enqueue.c).
 */
#ifndef CHORE_HTTP_ENQUEUE_H
#define CHORE_HTTP_ENQUEUE_H

#include "http_api.h"

typedef struct http_enqueuer http_enqueuer;
/* A POST /v1/jobs read and checked, waiting for its write. */
typedef struct http_enqueue_ticket http_enqueue_ticket;

/* Start the enqueuer's writer thread for c; NULL when out of memory or threads. */
http_enqueuer *http_enqueuer_new(chore *c);
/* Write and answer what is queued, end the thread and free e. */
void http_enqueuer_free(http_enqueuer *e);

/* Read and check the body of a POST /v1/jobs (no store access): a ticket
 * for http_enqueuer_submit, or NULL with the reply (a 4xx or 500) on rs. */
http_enqueue_ticket *http_enqueue_prepare(const http_req *rq, http_resp *rs);
/* Free a ticket that will not be submitted. */
void http_enqueue_ticket_free(http_enqueue_ticket *t);
/* Queue t for the next shared write; done(arg) is called on the writer's
 * thread once it is written, and t is the caller's again. */
void http_enqueuer_submit(http_enqueuer *e, http_enqueue_ticket *t, void (*done)(void *arg),
                          void *arg);
/* Put the reply to a written ticket on rs, and free t. */
void http_enqueue_reply(http_enqueue_ticket *t, http_resp *rs);

#endif
