/* test_daemon_http_threads.c — the HTTP server's threads, without HTTP: the
 * pool that runs blocking routes (http_pool.c) gives every waiting task a
 * thread and finishes them all before it is freed; the enqueuer
 * (http_enqueue.c) answers every ticket submitted from many threads with
 * its own job, and a ticket the library refuses fails alone. Threaded:
 * also run under TSan. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "http_enqueue.h"
#include "http_pool.h"
#include "rt_fixture.h"

enum { TASKS = 6, SUBMITTERS = 8, TICKETS_EACH = 25 };

/* ---------------------------------------------------------------- pool */

typedef struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int started, finished;
    bool timed_out;
} gate;

typedef struct gate_task {
    http_task task;
    gate *g;
} gate_task;

/* Wait until every task of the test has started: possible only when each
 * runs on a thread of its own, as a long poll must. */
static void wait_for_all(http_task *task)
{
    gate *g = ((gate_task *)task)->g;
    struct timespec until = after_ms(WAIT_MS);
    pthread_mutex_lock(&g->mu);
    g->started++;
    pthread_cond_broadcast(&g->cond);
    while (g->started < TASKS && !g->timed_out)
        g->timed_out = pthread_cond_timedwait(&g->cond, &g->mu, &until) != 0;
    g->finished++;
    pthread_mutex_unlock(&g->mu);
}

static void pool_gives_each_waiting_task_a_thread(void **state)
{
    (void)state;
    gate g = {.mu = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
    gate_task tasks[TASKS];
    http_pool *p = http_pool_new(TASKS);
    assert_non_null(p);
    for (int i = 0; i < TASKS; i++) {
        tasks[i] = (gate_task){.task.fn = wait_for_all, .g = &g};
        assert_true(http_pool_submit(p, &tasks[i].task));
    }
    http_pool_free(p); /* waits for every task */
    assert_false(g.timed_out);
    assert_int_equal(g.finished, TASKS);
}

static void pool_runs_more_tasks_than_threads(void **state)
{
    (void)state;
    enum { MANY = 200 };
    gate g = {.mu = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER,
              .started = TASKS}; /* no one waits */
    gate_task tasks[MANY];
    http_pool *p = http_pool_new(2);
    assert_non_null(p);
    for (int i = 0; i < MANY; i++) {
        tasks[i] = (gate_task){.task.fn = wait_for_all, .g = &g};
        assert_true(http_pool_submit(p, &tasks[i].task));
    }
    http_pool_free(p);
    assert_int_equal(g.finished, MANY);
}

/* ---------------------------------------------------------------- enqueuer */

typedef struct answer {
    http_resp rs;
    http_enqueue_ticket *ticket; /* submitted: the reply is made from it once done */
    pthread_mutex_t *mu;
    pthread_cond_t *cond;
    int *answered;
} answer;

static void on_done(void *arg)
{
    answer *a = arg;
    pthread_mutex_lock(a->mu);
    (*a->answered)++;
    pthread_cond_broadcast(a->cond);
    pthread_mutex_unlock(a->mu);
}

typedef struct submitter {
    pthread_t tid;
    int index;
    chore *c;
    http_enqueuer *e;
    answer answers[TICKETS_EACH];
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int answered;
} submitter;

/* Ticket k of submitter i: payload {"i": i, "k": k}; every 5th has an empty
 * unique key, which the HTTP checks pass and the library refuses. */
static void *submit_all(void *arg)
{
    submitter *s = arg;
    for (int k = 0; k < TICKETS_EACH; k++) {
        json_t *body = json_pack("{s:s,s:{s:i,s:i}}", "name", "t", "payload", "i", s->index,
                                 "k", k);
        if (k % 5 == 0)
            json_object_set_new(body, "unique_key", json_string(""));
        http_req rq = {.c = s->c, .method = "POST", .path = "/v1/jobs", .body = body};
        answer *a = &s->answers[k];
        *a = (answer){.rs = {.status = 500}, .mu = &s->mu, .cond = &s->cond,
                      .answered = &s->answered};
        http_enqueue_ticket *t = http_enqueue_prepare(&rq, &a->rs);
        json_decref(body); /* the ticket holds what it needs */
        a->ticket = t;
        if (t == NULL)
            on_done(a);
        else
            http_enqueuer_submit(s->e, t, on_done, a);
    }
    struct timespec until = after_ms(WAIT_MS);
    pthread_mutex_lock(&s->mu);
    while (s->answered < TICKETS_EACH &&
           pthread_cond_timedwait(&s->cond, &s->mu, &until) == 0)
        ;
    bool all = s->answered == TICKETS_EACH;
    pthread_mutex_unlock(&s->mu);
    /* As the server does: each reply made on the thread that asked. */
    for (int k = 0; k < TICKETS_EACH && all; k++) {
        if (s->answers[k].ticket != NULL)
            http_enqueue_reply(s->answers[k].ticket, &s->answers[k].rs);
    }
    return NULL;
}

static void enqueuer_answers_every_ticket(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, NULL);
    http_enqueuer *e = http_enqueuer_new(f.c);
    assert_non_null(e);
    submitter *subs = calloc(SUBMITTERS, sizeof *subs);
    assert_non_null(subs);
    for (int i = 0; i < SUBMITTERS; i++) {
        subs[i].index = i;
        subs[i].c = f.c;
        subs[i].e = e;
        pthread_mutex_init(&subs[i].mu, NULL);
        pthread_cond_init(&subs[i].cond, NULL);
        assert_int_equal(pthread_create(&subs[i].tid, NULL, submit_all, &subs[i]), 0);
    }
    for (int i = 0; i < SUBMITTERS; i++)
        pthread_join(subs[i].tid, NULL);
    http_enqueuer_free(e);

    int64_t *ids = calloc(SUBMITTERS * TICKETS_EACH, sizeof *ids);
    size_t n_ids = 0;
    for (int i = 0; i < SUBMITTERS; i++) {
        assert_int_equal(subs[i].answered, TICKETS_EACH);
        for (int k = 0; k < TICKETS_EACH; k++) {
            http_resp *rs = &subs[i].answers[k].rs;
            if (k % 5 == 0) {
                assert_int_equal(rs->status, 400);
                json_decref(rs->json);
                continue;
            }
            assert_int_equal(rs->status, 201);
            int64_t id = json_integer_value(json_object_get(rs->json, "id"));
            json_decref(rs->json);
            for (size_t j = 0; j < n_ids; j++)
                assert_true(ids[j] != id);
            ids[n_ids++] = id;
            chore_job_info *info = NULL;
            assert_int_equal(chore_job_get(f.c, id, &info), CHORE_OK);
            json_t *payload = json_loads(info->payload, 0, NULL);
            assert_int_equal(json_integer_value(json_object_get(payload, "i")), i);
            assert_int_equal(json_integer_value(json_object_get(payload, "k")), k);
            json_decref(payload);
            chore_job_info_free(info);
        }
        pthread_cond_destroy(&subs[i].cond);
        pthread_mutex_destroy(&subs[i].mu);
    }
    int64_t counts[CHORE_STATE_COUNT];
    assert_int_equal(chore_count_by_state(f.c, counts), CHORE_OK);
    assert_int_equal(counts[CHORE_AVAILABLE], (int64_t)n_ids);
    free(ids);
    free(subs);
    fixture_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pool_gives_each_waiting_task_a_thread),
        cmocka_unit_test(pool_runs_more_tasks_than_threads),
        cmocka_unit_test(enqueuer_answers_every_ticket),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
