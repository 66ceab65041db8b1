/*
 * http_enqueue.c — POST /v1/jobs and POST /v1/jobs/bulk. Request fields
 * are read by table (http_read_fields), so unknown fields and wrong types
 * are refused before anything is stored.
 *
 * Single enqueues from many connections share one write: the server reads
 * and checks each request on an event loop (http_enqueue_prepare), and one
 * thread (the enqueuer's writer) writes every request waiting with one
 * chore_enqueue_bulk, then tells each owner. A commit (and its flush) thus
 * serves every connection that asked while the last one was written, and
 * no thread sleeps or wakes per request. The owner builds its reply and
 * frees its ticket on its own thread, so the writer frees nothing the
 * event loop allocated, and the two never wait for each other's malloc
 * arena.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "http_api.h"
#include "http_enqueue.h"

/* One job's fields as a request gives them; payload_text is malloc'd. */
typedef struct job_req {
    const char *name;
    json_t *payload;
    char *payload_text;
    const char *queue;
    const char *unique_key;
    int64_t run_at, delay, timeout;
    int priority, max_attempts;
    bool has_queue, has_timeout, has_max_attempts;
} job_req;

/* Read a job's fields from obj into *j; false with a 400 on rs. A run time
 * is checked against c's clock. */
static bool read_job(http_resp *rs, chore *c, json_t *obj, job_req *j)
{
    memset(j, 0, sizeof *j);
    bool has_run_at = false, has_delay = false;
    const http_field fields[] = {
        HTTP_FIELD("name", HF_NAME, &j->name, .required = true),
        HTTP_FIELD("payload", HF_ANY, &j->payload),
        HTTP_FIELD("run_at", HF_INSTANT, &j->run_at, .present = &has_run_at),
        HTTP_FIELD("delay", HF_DURATION, &j->delay, .present = &has_delay),
        HTTP_FIELD("queue", HF_NAME, &j->queue, .present = &j->has_queue),
        HTTP_FIELD("priority", HF_INT, &j->priority, .min = -1000000, .max = 1000000),
        HTTP_FIELD("max_attempts", HF_INT, &j->max_attempts, .min = 0, .max = 1000000,
                   .present = &j->has_max_attempts),
        HTTP_FIELD("unique_key", HF_STRING, &j->unique_key),
        HTTP_FIELD("timeout", HF_DURATION, &j->timeout, .present = &j->has_timeout),
    };
    if (!http_read_fields(rs, obj, fields, sizeof fields / sizeof fields[0]))
        return false;
    if (has_run_at && has_delay) {
        http_error(rs, 400, "bad_request", "give run_at or delay, not both");
        return false;
    }
    if (j->unique_key != NULL &&
        (j->unique_key[0] == '\0' || strlen(j->unique_key) > CHORE_UNIQUE_KEY_MAX)) {
        http_error(rs, 400, "bad_request", "unique_key: must be 1 to %d bytes",
                   CHORE_UNIQUE_KEY_MAX);
        return false;
    }
    if (has_run_at && j->run_at <= 0) {
        http_error(rs, 400, "bad_request", "run_at must be after 1970");
        return false;
    }
    if (has_run_at ? j->run_at > CHORE_TIME_MAX_MS : j->delay > CHORE_TIME_MAX_MS - chore_now(c)) {
        http_error(rs, 400, "bad_request", "%s: the job would run after the year 9999",
                   has_run_at ? "run_at" : "delay");
        return false;
    }
    if (j->payload != NULL && (j->payload_text = http_dump(j->payload)) == NULL) {
        http_error(rs, 500, "internal", "out of memory");
        return false;
    }
    return true;
}

/* The enqueue options of a request; what it leaves out comes from the
 * job's command type, when the daemon has one by that name. */
static chore_enqueue_opts job_opts(const http_req *rq, const job_req *j)
{
    chore_enqueue_opts o = {.run_at_ms = j->run_at, .delay_ms = j->delay, .queue = j->queue,
                            .priority = j->priority, .max_attempts = j->max_attempts,
                            .unique_key = j->unique_key, .timeout_ms = j->timeout};
    const daemon_job_type *t = rq->runner != NULL ? command_runner_type(rq->runner, j->name) : NULL;
    if (t != NULL) {
        if (!j->has_queue)
            o.queue = t->queue;
        if (!j->has_max_attempts)
            o.max_attempts = t->max_attempts;
        if (!j->has_timeout)
            o.timeout_ms = t->timeout_ms;
    }
    return o;
}

/* The state of a job just enqueued, for the reply: a new job's follows
 * from its run time (no read); an existing one's is read. */
static const char *state_of(chore *c, int64_t id, const chore_enqueue_opts *o, bool existing)
{
    if (!existing) {
        int64_t now = chore_now(c);
        bool later = o->run_at_ms > now || (o->run_at_ms == 0 && o->delay_ms > 0);
        return later ? "scheduled" : "available";
    }
    chore_job_info *info = NULL;
    const char *name = "available";
    if (chore_job_get(c, id, &info) == CHORE_OK)
        name = chore_state_name(info->state);
    chore_job_info_free(info);
    return name;
}

/* The reply to an enqueue that returned rc with id; state is the job's
 * (state_of) when rc is not an error. */
static void reply_with(http_resp *rs, int rc, int64_t id, const char *state)
{
    if (rc < 0) {
        http_chore_error(rs, rc, "enqueue");
        return;
    }
    bool dup = rc == CHORE_DUPLICATE;
    http_json(rs, dup ? 200 : 201,
              json_pack("{s:I,s:s,s:b}", "id", (json_int_t)id, "state", state, "duplicate", dup));
}

/* POST /v1/jobs written on its own: the route for a body too large for
 * the enqueuer's event-loop parse (see http_server.c). */
void http_jobs_enqueue(http_req *rq, http_resp *rs)
{
    job_req j;
    if (!read_job(rs, rq->c, rq->body, &j)) {
        free(j.payload_text);
        return;
    }
    chore_enqueue_opts o = job_opts(rq, &j);
    int64_t id = 0;
    int rc = chore_enqueue(rq->c, j.name, j.payload_text, &o, &id);
    free(j.payload_text);
    reply_with(rs, rc, id, rc < 0 ? NULL : state_of(rq->c, id, &o, rc == CHORE_DUPLICATE));
}

/* ---------------------------------------------------------------- the enqueuer */

struct http_enqueue_ticket {
    http_enqueue_ticket *next;
    json_t *body; /* held: j's strings point into it */
    job_req j;
    chore_enqueue_opts o;
    int rc;            /* once written: the enqueue's result, */
    int64_t id;        /* the job, */
    const char *state; /* and its state (state_of) */
    void (*done)(void *arg);
    void *arg;
};

struct http_enqueuer {
    chore *c;
    pthread_t writer;
    pthread_mutex_t mu;
    pthread_cond_t cond;          /* a ticket came, or stopping */
    http_enqueue_ticket *pending; /* newest first */
    bool idle;                    /* the writer waits on cond */
    bool stopping;
};

http_enqueue_ticket *http_enqueue_prepare(const http_req *rq, http_resp *rs)
{
    http_enqueue_ticket *t = calloc(1, sizeof *t);
    if (t == NULL) {
        http_error(rs, 500, "internal", "out of memory");
        return NULL;
    }
    if (!read_job(rs, rq->c, rq->body, &t->j)) {
        free(t->j.payload_text);
        free(t);
        return NULL;
    }
    t->o = job_opts(rq, &t->j);
    t->body = json_incref(rq->body);
    return t;
}

void http_enqueue_ticket_free(http_enqueue_ticket *t)
{
    if (t == NULL)
        return;
    free(t->j.payload_text);
    json_decref(t->body);
    free(t);
}

/* Tell the owners of the tickets of list that they are written. All at
 * once, after every ticket is written, so that the answers go out
 * together and their clients' next requests come together, to be written
 * together. A ticket is its owner's once told. */
static void tell_owners(http_enqueue_ticket *list)
{
    for (http_enqueue_ticket *t = list, *next; t != NULL; t = next) {
        next = t->next;
        t->done(t->arg);
    }
}

/* Set a written ticket's result. */
static void set_result(http_enqueuer *e, http_enqueue_ticket *t, int rc, int64_t id)
{
    t->rc = rc;
    t->id = id;
    t->state = rc < 0 ? NULL : state_of(e->c, id, &t->o, rc == CHORE_DUPLICATE);
}

/* Write the n tickets of list (oldest first) in one transaction. When the
 * shared write fails, each is written alone, so that one request's error
 * is not every request's. */
static void write_tickets(http_enqueuer *e, http_enqueue_ticket *list, size_t n)
{
    chore_job_spec *specs = malloc(n * sizeof *specs);
    int64_t *ids = malloc(n * sizeof *ids);
    bool *dup = malloc(n * sizeof *dup);
    int rc = CHORE_ENOMEM; /* a lone request, or no memory: written alone below */
    if (specs != NULL && ids != NULL && dup != NULL && n > 1) {
        size_t i = 0;
        for (http_enqueue_ticket *t = list; t != NULL; t = t->next, i++)
            specs[i] = (chore_job_spec){.name = t->j.name, .payload = t->j.payload_text,
                                        .opts = t->o};
        rc = chore_enqueue_bulk(e->c, specs, n, ids, dup);
    }
    size_t i = 0;
    for (http_enqueue_ticket *t = list; t != NULL; t = t->next, i++) {
        if (rc == CHORE_OK) {
            set_result(e, t, dup[i] ? CHORE_DUPLICATE : CHORE_OK, ids[i]);
        } else {
            int64_t id = 0;
            int one = chore_enqueue(e->c, t->j.name, t->j.payload_text, &t->o, &id);
            set_result(e, t, one, id);
        }
    }
    tell_owners(list);
    free(specs);
    free(ids);
    free(dup);
}

void http_enqueue_reply(http_enqueue_ticket *t, http_resp *rs)
{
    reply_with(rs, t->rc, t->id, t->state);
    http_enqueue_ticket_free(t);
}

/*
 * The writer: take every request waiting and write them in one commit,
 * again and again. It never holds a request back to wait for more: the
 * requests that come while a commit waits for the disk make the next
 * commit, and the answers of one commit go out together, so its clients'
 * next requests come together.
 */
static void *writer_main(void *arg)
{
    http_enqueuer *e = arg;
    pthread_mutex_lock(&e->mu);
    for (;;) {
        while (e->pending == NULL && !e->stopping) {
            e->idle = true;
            pthread_cond_wait(&e->cond, &e->mu);
            e->idle = false;
        }
        if (e->pending == NULL)
            break;
        http_enqueue_ticket *newest = e->pending, *list = NULL;
        e->pending = NULL;
        pthread_mutex_unlock(&e->mu);
        size_t n = 0;
        while (newest != NULL) { /* reverse: jobs are written in the order asked */
            http_enqueue_ticket *t = newest;
            newest = t->next;
            t->next = list;
            list = t;
            n++;
        }
        write_tickets(e, list, n);
        pthread_mutex_lock(&e->mu);
    }
    pthread_mutex_unlock(&e->mu);
    return NULL;
}

http_enqueuer *http_enqueuer_new(chore *c)
{
    http_enqueuer *e = calloc(1, sizeof *e);
    if (e == NULL)
        return NULL;
    e->c = c;
    pthread_mutex_init(&e->mu, NULL);
    pthread_cond_init(&e->cond, NULL);
    if (pthread_create(&e->writer, NULL, writer_main, e) != 0) {
        pthread_cond_destroy(&e->cond);
        pthread_mutex_destroy(&e->mu);
        free(e);
        return NULL;
    }
    return e;
}

void http_enqueuer_submit(http_enqueuer *e, http_enqueue_ticket *t, void (*done)(void *arg),
                          void *arg)
{
    t->done = done;
    t->arg = arg;
    pthread_mutex_lock(&e->mu);
    if (e->idle && e->pending == NULL) /* woken once; it takes what follows */
        pthread_cond_signal(&e->cond);
    t->next = e->pending;
    e->pending = t;
    pthread_mutex_unlock(&e->mu);
}

void http_enqueuer_free(http_enqueuer *e)
{
    if (e == NULL)
        return;
    pthread_mutex_lock(&e->mu);
    e->stopping = true;
    pthread_cond_signal(&e->cond);
    pthread_mutex_unlock(&e->mu);
    pthread_join(e->writer, NULL);
    pthread_cond_destroy(&e->cond);
    pthread_mutex_destroy(&e->mu);
    free(e);
}

/* Most jobs in one bulk request. */
#define BULK_MAX 10000

void http_jobs_bulk(http_req *rq, http_resp *rs)
{
    json_t *list = NULL;
    const http_field fields[] = {HTTP_FIELD("jobs", HF_OBJECTS, &list, .required = true)};
    if (!http_read_fields(rs, rq->body, fields, 1))
        return;
    size_t n = json_array_size(list);
    if (n == 0 || n > BULK_MAX) {
        http_error(rs, 400, "bad_request", "jobs: give 1 to %d jobs", BULK_MAX);
        return;
    }
    job_req *jobs = calloc(n, sizeof *jobs);
    chore_job_spec *specs = calloc(n, sizeof *specs);
    int64_t *ids = calloc(n, sizeof *ids);
    json_t *out = json_array();
    size_t read = 0;
    if (jobs == NULL || specs == NULL || ids == NULL || out == NULL) {
        http_error(rs, 500, "internal", "out of memory");
        goto done;
    }
    for (; read < n; read++) {
        if (!read_job(rs, rq->c, json_array_get(list, read), &jobs[read])) {
            free(jobs[read].payload_text);
            /* say which job was wrong, keeping the field's reason */
            json_t *err = json_object_get(rs->json, "error");
            char msg[600];
            snprintf(msg, sizeof msg, "jobs[%zu]: %s", read,
                     json_string_value(json_object_get(err, "message")));
            json_object_set_new(err, "message", json_string(msg));
            goto done;
        }
        specs[read] = (chore_job_spec){.name = jobs[read].name,
                                       .payload = jobs[read].payload_text,
                                       .opts = job_opts(rq, &jobs[read])};
    }
    int rc = chore_enqueue_bulk(rq->c, specs, n, ids, NULL);
    if (rc < 0) {
        http_chore_error(rs, rc, "enqueue");
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        json_array_append_new(out, json_integer(ids[i]));
    http_json(rs, 201, json_pack("{s:O}", "ids", out));
done:
    for (size_t i = 0; i < read && jobs != NULL; i++)
        free(jobs[i].payload_text);
    json_decref(out);
    free(jobs);
    free(specs);
    free(ids);
}

