/*
 * pg_listen.c — the PostgreSQL backend's wake-ups: one thread per store
 * owns a connection that LISTENs on the schema's channel ("chore_<schema>")
 * and sends the store's own notifications.
 *
 * Why a thread and not a NOTIFY inside each write: PostgreSQL serializes
 * the commits of notifying transactions under one global lock, which would
 * serialize every enqueue's WAL flush. Instead a write that made work
 * available only sets an atomic flag after its commit (pg_listen_notify)
 * and, when the flag was clear, pokes an eventfd. The thread sends one
 * NOTIFY, as a transaction of its own with synchronous_commit off, at most
 * one in flight: under load many writes share one notification, and since
 * it is sent after their commits, a node that it wakes sees their rows.
 *
 * The same thread reads notifications. Its own (same backend pid) are
 * ignored: the runtime in this process already knows about its writes.
 * Each batch of notifications from other backends — other nodes, and the
 * caller's transactions of enqueue_native, which notify in the caller's
 * transaction — advances the store's change count and calls the wake hook
 * the runtime registered (store_ops.set_wake). A lost connection is
 * reopened with backoff (50 ms doubling to 5 s; the waits end at once when
 * the store closes); a reconnect also counts as a change and calls the
 * hook, since notifications sent meanwhile were lost.
 *
 * The thread starts on first need (a notifying write, change_counter or
 * set_wake), so a short-lived store that only reads never opens it. Close
 * sends a notification still wanted, then joins the thread.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "store/pg_internal.h"

enum { BACKOFF_FIRST_MS = 50, BACKOFF_MAX_MS = 5000 };

/* Poke the thread: a notification is wanted, or the store closes. */
static void poke(store *s)
{
    uint64_t one = 1;
    ssize_t w = write(s->wake_fd, &one, sizeof one);
    (void)w; /* EAGAIN: the counter is already nonzero, the thread will look */
}

/* Call the runtime's hook, if any. Under hmu, so that set_wake(NULL)
 * returning means the old hook is no longer running. */
static void call_hook(store *s)
{
    pthread_mutex_lock(&s->hmu);
    if (s->wake_fn != NULL)
        s->wake_fn(s->wake_arg);
    pthread_mutex_unlock(&s->hmu);
}

/* The first connection attempt ended: set_wake and change_counter wait for it. */
static void mark_ready(store *s)
{
    pthread_mutex_lock(&s->lmu);
    if (!s->listen_ready) {
        s->listen_ready = true;
        pthread_cond_broadcast(&s->lcv);
    }
    pthread_mutex_unlock(&s->lmu);
}

/* Open the listening connection: search_path and the rest as every
 * connection (pg_connect), asynchronous commits for the notifications it
 * sends (losing one in a server crash costs a poll interval, nothing more),
 * and LISTEN. */
static PGconn *listen_connect(store *s)
{
    PGconn *c = NULL;
    if (pg_connect(s, &c) != CHORE_OK)
        return NULL;
    char sql[sizeof s->channel + 16];
    snprintf(sql, sizeof sql, "LISTEN \"%s\"", s->channel);
    if (pg_exec(c, "SET synchronous_commit TO off") != CHORE_OK || pg_exec(c, sql) != CHORE_OK) {
        PQfinish(c);
        return NULL;
    }
    return c;
}

/* Read what arrived. Returns how many notifications came from other
 * backends; false in *ok when the connection is lost. */
static int64_t drain(PGconn *c, bool *ok)
{
    *ok = PQconsumeInput(c) != 0 && PQstatus(c) == CONNECTION_OK;
    int own = PQbackendPID(c);
    int64_t others = 0;
    PGnotify *note;
    while ((note = PQnotifies(c)) != NULL) {
        others += note->be_pid != own;
        PQfreemem(note);
    }
    return others;
}

/* Send one notification on c. False when the connection is lost. */
static bool send_notify(store *s, PGconn *c)
{
    char sql[sizeof s->channel + 16];
    snprintf(sql, sizeof sql, "NOTIFY \"%s\"", s->channel);
    PGresult *res = PQexec(c, sql);
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    return ok || PQstatus(c) == CONNECTION_OK; /* a refused NOTIFY will not pass later either */
}

/* Wait until the eventfd or (c not NULL) the connection is readable, or
 * timeout_ms passes (-1 = no limit). Clears the eventfd. */
static void wait_for_input(store *s, PGconn *c, int timeout_ms)
{
    struct pollfd fds[2] = {{.fd = s->wake_fd, .events = POLLIN}, {.fd = -1, .events = POLLIN}};
    if (c != NULL)
        fds[1].fd = PQsocket(c);
    int r = poll(fds, 2, timeout_ms);
    if (r > 0 && (fds[0].revents & POLLIN) != 0) {
        uint64_t n;
        ssize_t got = read(s->wake_fd, &n, sizeof n);
        (void)got;
    }
}

static void *listener_main(void *arg)
{
    store *s = arg;
    PGconn *c = NULL;
    bool connected_once = false;
    int backoff_ms = BACKOFF_FIRST_MS;
    for (;;) {
        bool stopping = atomic_load(&s->listen_stop);
        if (c == NULL) {
            c = listen_connect(s);
            if (c != NULL) {
                backoff_ms = BACKOFF_FIRST_MS;
                if (connected_once) { /* what was sent while we were away is lost */
                    atomic_fetch_add(&s->changes, 1);
                    call_hook(s);
                }
                connected_once = true;
            }
            mark_ready(s);
            if (c == NULL) {
                if (stopping)
                    break;
                wait_for_input(s, NULL, backoff_ms);
                backoff_ms = backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff_ms * 2;
                continue;
            }
        }
        bool ok = true;
        if (atomic_exchange(&s->notify_wanted, false) && !(ok = send_notify(s, c)))
            atomic_store(&s->notify_wanted, true); /* again on the next connection */
        int64_t others = ok ? drain(c, &ok) : 0;
        if (others > 0) {
            atomic_fetch_add(&s->changes, others);
            call_hook(s);
        }
        if (!ok) {
            PQfinish(c);
            c = NULL;
            if (stopping)
                break;
            continue;
        }
        if (stopping && !atomic_load(&s->notify_wanted))
            break;
        if (!stopping && !atomic_load(&s->notify_wanted))
            wait_for_input(s, c, -1);
    }
    PQfinish(c);
    mark_ready(s);
    return NULL;
}

/* Start the thread if it is not running. Caller holds lmu. */
static void start_locked(store *s)
{
    if (s->listen_started || atomic_load(&s->listen_stop))
        return;
    s->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (s->wake_fd < 0) {
        s->listen_ready = true; /* no wake-ups: polling still works */
        return;
    }
    if (pthread_create(&s->listener, NULL, listener_main, s) != 0) {
        close(s->wake_fd);
        s->wake_fd = -1;
        s->listen_ready = true;
        return;
    }
    s->listen_started = true;
}

void pg_listen_start(store *s, bool wait)
{
    pthread_mutex_lock(&s->lmu);
    start_locked(s);
    while (wait && s->listen_started && !s->listen_ready)
        pthread_cond_wait(&s->lcv, &s->lmu);
    pthread_mutex_unlock(&s->lmu);
}

void pg_listen_notify(store *s)
{
    atomic_fetch_add(&s->changes, 1); /* this store's own readers see it at once */
    if (atomic_exchange(&s->notify_wanted, true))
        return; /* already wanted: the notification on its way covers this commit too */
    pthread_mutex_lock(&s->lmu);
    start_locked(s);
    bool started = s->listen_started;
    pthread_mutex_unlock(&s->lmu);
    if (started)
        poke(s);
}

void pg_set_wake(store *s, void (*fn)(void *arg), void *arg)
{
    if (s == NULL)
        return;
    pthread_mutex_lock(&s->hmu);
    s->wake_fn = fn;
    s->wake_arg = fn != NULL ? arg : NULL;
    pthread_mutex_unlock(&s->hmu);
    if (fn != NULL) /* listening before the runtime's first wait */
        pg_listen_start(s, true);
}

void pg_listen_stop(store *s)
{
    pthread_mutex_lock(&s->lmu);
    atomic_store(&s->listen_stop, true);
    bool started = s->listen_started;
    pthread_mutex_unlock(&s->lmu);
    if (!started)
        return;
    poke(s);
    pthread_join(s->listener, NULL);
    close(s->wake_fd);
    s->wake_fd = -1;
    s->listen_started = false;
}
