/*
 * http_server.c — the HTTP server of `chore serve` on libmicrohttpd: one
 * event-loop thread (poll) reads every connection's request, the body up
 * to HTTP_MAX_BODY, and makes the checks every request passes in order —
 * bearer token, route and method, cross-site refusal and content type for
 * state-changing requests, size, JSON depth and syntax. Then it suspends
 * the connection and hands the request on, so the loop never waits on the
 * store: a single enqueue goes to the enqueuer (http_enqueue.c), which
 * writes many connections' jobs in one commit; every other route runs on a
 * thread of the pool (http_pool.c), where a long poll may block. Whoever
 * ran it resumes the connection, and the loop sends the reply. The route
 * table is in http_routes.c, the handlers in http_enqueue.c, http_jobs.c,
 * http_worker.c, http_schedules.c and http_loops.c; the checks that need
 * no server state, and the dashboard's files, in http_checks.c.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>
#include <pthread.h>

#include "daemon.h"
#include "http_api.h"
#include "http_checks.h"
#include "http_enqueue.h"
#include "http_pool.h"
#include "http_routes.h"

/* Idle connections are closed after this many seconds (long polls stay below it). */
#define HTTP_CONNECTION_TIMEOUT_S 30
/* At most this many connections at once (and as many pool threads). */
#define HTTP_CONNECTION_LIMIT 256
/* Enqueue bodies up to this size are parsed on the event loop and go to
 * the enqueuer; larger ones are parsed and written on a pool thread. */
#define HTTP_LOOP_BODY (16 * 1024)

struct http_server {
    struct MHD_Daemon *mhd;
    chore *c;
    command_runner *runner;
    char *token; /* NULL = no auth */
    int port;
    http_pool *pool;
    http_enqueuer *enqueuer;
    pthread_mutex_t mu;
    pthread_cond_t drained; /* outstanding fell to 0 */
    size_t outstanding;     /* requests handed on whose reply is not yet sent */
    bool stopping;          /* no more requests are handed on */
};

/* What one request carries between the calls of the access handler, and
 * to the thread that runs it. */
typedef struct conn_state {
    http_task task; /* on the pool */
    http_server *s;
    struct MHD_Connection *conn;
    const http_route *rt;
    const char *method, *path; /* MHD's, valid until the request ends */
    char param[256];
    char *body;
    size_t len, cap;
    bool too_large;
    http_arg args[HTTP_MAX_ARGS];
    size_t n_args;
    http_resp rs;  /* the reply, once answered */
    http_enqueue_ticket *ticket; /* with the enqueuer; once answered, the reply is made from it */
    bool answered; /* the reply is ready: send it when MHD calls again */
    bool counted;  /* handed on: in outstanding until MHD says the request ended */
} conn_state;

/* Turn a JSON reply into its text. A pool thread does it on the thread that
 * built the reply: the event loop then frees one buffer rather than every
 * piece of the JSON, each from another thread's malloc arena. */
static void reply_as_text(http_resp *rs)
{
    if (rs->json == NULL || rs->status == 204)
        return;
    char *text = http_dump(rs->json);
    if (text == NULL)
        return; /* send_resp tries again, and answers 500 if it fails */
    json_decref(rs->json);
    rs->json = NULL;
    rs->text = text;
    rs->text_len = strlen(text);
    rs->content_type = "application/json";
}

/* Send rs on conn and release what it holds. */
static enum MHD_Result send_resp(struct MHD_Connection *conn, http_resp *rs)
{
    struct MHD_Response *r;
    reply_as_text(rs);
    if (rs->data != NULL) {
        r = MHD_create_response_from_buffer(rs->text_len, (void *)rs->data,
                                            MHD_RESPMEM_PERSISTENT);
    } else if (rs->text != NULL) {
        r = MHD_create_response_from_buffer(rs->text_len, rs->text, MHD_RESPMEM_MUST_COPY);
    } else if (rs->status == 204) {
        r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    } else { /* no JSON to send, or no memory to write it out */
        static const char oom[] =
            "{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}";
        rs->status = 500;
        rs->content_type = "application/json";
        r = MHD_create_response_from_buffer(sizeof oom - 1, (void *)oom, MHD_RESPMEM_PERSISTENT);
    }
    json_decref(rs->json);
    free(rs->text);
    if (r == NULL)
        return MHD_NO;
    if (rs->status != 204)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, rs->content_type);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    if (rs->allow != NULL)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, rs->allow);
    if (rs->dashboard) {
        MHD_add_response_header(r, "Content-Security-Policy",
                                "default-src 'self'; script-src 'self'; style-src 'self'; "
                                "img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; "
                                "form-action 'self'");
        MHD_add_response_header(r, "X-Frame-Options", "DENY");
    }
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)rs->status, r);
    MHD_destroy_response(r);
    return ret;
}

/*
 * The checks made as soon as the headers are in, before any of the body is
 * read. Returns the route, or NULL with the response to send on rs.
 */
static const http_route *admit(http_server *s, struct MHD_Connection *conn,
                               const char *method, const char *path, conn_state *st,
                               http_resp *rs, char *allow, size_t alen)
{
    if (http_dashboard(method, path, rs))
        return NULL;
    const http_route *rt =
        http_find_route(method, path, st->param, sizeof st->param, rs, allow, alen);
    /* a wrong token is told before whether the route exists */
    bool open = rt != NULL ? rt->open : strcmp(path, "/healthz") == 0;
    if (!open && !http_authorized(s->token, conn, rs))
        return NULL;
    if (rt == NULL)
        return NULL;
    if (http_changes_state(method) && !http_same_site_json(conn, rs))
        return NULL;
    const char *cl =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl != NULL && strtoull(cl, NULL, 10) > HTTP_MAX_BODY) {
        http_error(rs, 413, "too_large", "the body is larger than %d bytes", HTTP_MAX_BODY);
        return NULL;
    }
    return rt;
}

/* The request as the handlers see it. */
static http_req request_of(const conn_state *st, json_t *body)
{
    return (http_req){.c = st->s->c, .runner = st->s->runner, .method = st->method,
                      .path = st->path, .param = st->param[0] != '\0' ? st->param : NULL,
                      .body = body, .args = st->args, .n_args = st->n_args};
}

/* The whole body (not too large) is in: parse it and run the route's handler. */
static void run_route(conn_state *st, http_resp *rs)
{
    json_t *body;
    if (!http_parse_body(rs, st->body, st->len, &body))
        return;
    if (!st->rt->takes_body && json_object_size(body) > 0) {
        http_error(rs, 400, "unknown_field", "%s %s takes no fields", st->method,
                   st->rt->pattern);
    } else {
        http_req rq = request_of(st, body);
        pthread_mutex_lock(&st->s->mu);
        rq.in_progress = st->s->outstanding;
        pthread_mutex_unlock(&st->s->mu);
        st->rt->fn(&rq, rs);
    }
    json_decref(body);
}

/* ---------------------------------------------------------------- handing on */

/* Count a request handed on and suspend its connection; false (nothing
 * done) once the server is stopping. */
static bool suspend_for(conn_state *st)
{
    http_server *s = st->s;
    pthread_mutex_lock(&s->mu);
    bool ok = !s->stopping;
    if (ok)
        s->outstanding++;
    pthread_mutex_unlock(&s->mu);
    if (ok) {
        st->counted = true;
        MHD_suspend_connection(st->conn);
    }
    return ok;
}

/* st->rs (or st->ticket) holds the reply: resume the connection (MHD calls
 * on_request again, which sends it). st may be gone once resumed. The request stays
 * outstanding until on_completed: a stop must not close the connection
 * between the resume and the reply going out. */
static void answered(void *arg)
{
    conn_state *st = arg;
    st->answered = true;
    MHD_resume_connection(st->conn);
}

static void run_on_pool(http_task *task)
{
    conn_state *st = (conn_state *)((char *)task - offsetof(conn_state, task));
    run_route(st, &st->rs);
    reply_as_text(&st->rs);
    answered(st);
}

/* An enqueue with a small body: read and checked here, written by the
 * enqueuer with others. False with the reply on rs when it is answered
 * at once (bad input, or stopping). */
static bool hand_to_enqueuer(conn_state *st, http_resp *rs)
{
    json_t *body;
    if (!http_parse_body(rs, st->body, st->len, &body))
        return false;
    http_req rq = request_of(st, body);
    http_enqueue_ticket *t = http_enqueue_prepare(&rq, rs);
    json_decref(body); /* the ticket holds what it needs */
    if (t == NULL)
        return false;
    if (!suspend_for(st)) {
        http_enqueue_ticket_free(t);
        http_error(rs, 503, "unavailable", "the server is stopping");
        return false;
    }
    st->ticket = t;
    http_enqueuer_submit(st->s->enqueuer, t, answered, st);
    return true;
}

/* Any other route: run on a pool thread. False with the reply on rs when
 * it is answered at once. */
static bool hand_to_pool(conn_state *st, http_resp *rs)
{
    if (!suspend_for(st)) {
        http_error(rs, 503, "unavailable", "the server is stopping");
        return false;
    }
    st->task.fn = run_on_pool;
    if (!http_pool_submit(st->s->pool, &st->task)) {
        http_error(&st->rs, 503, "unavailable", "no thread to run the request");
        answered(st);
    }
    return true;
}

/* MHD_KeyValueIterator: keep a query parameter. */
static enum MHD_Result keep_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                const char *value)
{
    (void)kind;
    conn_state *st = cls;
    if (st->n_args < HTTP_MAX_ARGS)
        st->args[st->n_args++] = (http_arg){.key = key, .value = value};
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_size, void **con_cls)
{
    (void)version;
    http_server *s = cls;
    http_resp rs = {.status = 500};
    char allow[64];
    conn_state *st = *con_cls;
    if (st == NULL) {
        /* HEAD is routed as GET; MHD leaves the body out of the reply */
        if (strcmp(method, MHD_HTTP_METHOD_HEAD) == 0)
            method = MHD_HTTP_METHOD_GET;
        st = malloc(sizeof *st);
        if (st == NULL)
            return MHD_NO;
        *con_cls = st;
        *st = (conn_state){.s = s, .conn = conn, .method = method, .path = url,
                           .rs = {.status = 500}};
        MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, keep_arg, st);
        st->rt = admit(s, conn, method, url, st, &rs, allow, sizeof allow);
        if (st->rt == NULL)
            return send_resp(conn, &rs); /* the body, if any, is never read */
        return MHD_YES;
    }
    if (st->rt == NULL) { /* answered already: drop whatever still comes */
        *upload_size = 0;
        return MHD_YES;
    }
    if (*upload_size > 0) {
        size_t n = *upload_size;
        *upload_size = 0;
        if (st->too_large)
            return MHD_YES;
        if (n > HTTP_MAX_BODY - st->len) {
            /* keep reading (so the client gets its 413) but store nothing more */
            st->too_large = true;
            free(st->body);
            st->body = NULL;
            st->len = st->cap = 0;
            return MHD_YES;
        }
        if (st->len + n > st->cap) {
            size_t cap = st->cap == 0 ? 4096 : st->cap;
            while (cap < st->len + n)
                cap *= 2;
            char *grown = realloc(st->body, cap);
            if (grown == NULL)
                return MHD_NO;
            st->body = grown;
            st->cap = cap;
        }
        memcpy(st->body + st->len, upload_data, n);
        st->len += n;
        return MHD_YES;
    }
    if (st->answered) {
        st->rt = NULL;
        if (st->ticket != NULL) {
            http_enqueue_reply(st->ticket, &st->rs);
            st->ticket = NULL;
        }
        return send_resp(conn, &st->rs);
    }
    if (st->too_large) {
        st->rt = NULL;
        http_error(&rs, 413, "too_large", "the body is larger than %d bytes", HTTP_MAX_BODY);
        return send_resp(conn, &rs);
    }
    bool loop_enqueue = st->rt->fn == http_jobs_enqueue && st->len <= HTTP_LOOP_BODY;
    if (loop_enqueue ? hand_to_enqueuer(st, &rs) : hand_to_pool(st, &rs))
        return MHD_YES;
    st->rt = NULL;
    return send_resp(conn, &rs);
}

/* MHD_RequestCompletedCallback: the reply is sent (or the client left). */
static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)conn, (void)toe;
    http_server *s = cls;
    conn_state *st = *con_cls;
    if (st != NULL) {
        if (st->counted) {
            pthread_mutex_lock(&s->mu);
            if (--s->outstanding == 0)
                pthread_cond_broadcast(&s->drained);
            pthread_mutex_unlock(&s->mu);
        }
        http_enqueue_ticket_free(st->ticket); /* answered, but the client left */
        free(st->body);
        free(st);
        *con_cls = NULL;
    }
}

/* Free a server whose MHD daemon is stopped or never started. */
static void http_server_free(http_server *s)
{
    http_enqueuer_free(s->enqueuer);
    http_pool_free(s->pool);
    pthread_cond_destroy(&s->drained);
    pthread_mutex_destroy(&s->mu);
    free(s->token);
    free(s);
}

int http_server_start(http_server **out, chore *c, const http_settings *set, char *err,
                      size_t errlen)
{
    *out = NULL;
    struct sockaddr_storage ss;
    bool v6, loopback;
    if (http_listen_check(set, err, errlen) < 0)
        return -1;
    http_resolve(set->host, set->port, &ss, &v6, &loopback);
    bool has_token = set->token != NULL && set->token[0] != '\0';
    http_server *s = calloc(1, sizeof *s);
    if (s == NULL || (has_token && (s->token = strdup(set->token)) == NULL)) {
        free(s);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    s->c = c;
    s->runner = set->runner;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->drained, NULL);
    s->pool = http_pool_new(HTTP_CONNECTION_LIMIT);
    s->enqueuer = s->pool != NULL ? http_enqueuer_new(c) : NULL;
    /* One thread, with poll rather than epoll: MHD takes a suspended
     * connection out of its epoll set and puts it back on resume, two more
     * system calls a request, while polling at most 256 connections is
     * cheap. A suspended connection is resumed through the loop's ITC. */
    unsigned flags = MHD_USE_POLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_TURBO |
                     (v6 ? MHD_USE_IPv6 : 0);
    if (s->enqueuer != NULL)
        s->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR,
                                  (struct sockaddr *)&ss, MHD_OPTION_CONNECTION_TIMEOUT,
                                  (unsigned)HTTP_CONNECTION_TIMEOUT_S,
                                  MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_CONNECTION_LIMIT,
                                  MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_END);
    if (s->mhd == NULL) {
        snprintf(err, errlen, "cannot listen on %s:%d (in use, or not an address of this host)",
                 set->host, set->port);
        http_server_free(s);
        return -1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info != NULL ? info->port : set->port;
    *out = s;
    return 0;
}

int http_server_port(const http_server *s)
{
    return s->port;
}

void http_server_stop(http_server *s)
{
    if (s == NULL)
        return;
    /* MHD must not stop with a connection suspended: let every request
     * handed on finish first, and hand on no more. */
    pthread_mutex_lock(&s->mu);
    s->stopping = true;
    while (s->outstanding > 0)
        pthread_cond_wait(&s->drained, &s->mu);
    pthread_mutex_unlock(&s->mu);
    MHD_stop_daemon(s->mhd);
    s->mhd = NULL;
    http_server_free(s);
}
