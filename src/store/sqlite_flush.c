/*
 * sqlite_flush.c — durable commits that share one fdatasync of the WAL.
 *
 * With durability full, the writer commits with synchronous=NORMAL, so a
 * commit writes its WAL frames but does not wait for the disk, and the
 * write lock is free again at once. The caller then waits for a flush: one
 * fdatasync of the WAL file makes every commit written before it durable,
 * WAL frames being in order. While one flush runs, other threads commit;
 * the next flush serves all of them. So the disk's flush time is no longer
 * spent holding the write lock, and commits pile up behind it instead of
 * one by one.
 *
 * A commit is visible to readers before it is durable (as with
 * PostgreSQL's asynchronous commit), but the call that made it returns only
 * once it is durable, and any later durable commit covers it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "store/sqlite_internal.h"

int (*sq_flush_sync)(int fd) = fdatasync;

int sq_flush_init(sq_flusher *f)
{
    *f = (sq_flusher){.wal_fd = -1};
    if (pthread_mutex_init(&f->mu, NULL) != 0)
        return CHORE_ESTORE;
    if (pthread_cond_init(&f->cond, NULL) != 0) {
        pthread_mutex_destroy(&f->mu);
        return CHORE_ESTORE;
    }
    return CHORE_OK;
}

void sq_flush_destroy(sq_flusher *f)
{
    if (f->wal_fd >= 0)
        close(f->wal_fd);
    pthread_cond_destroy(&f->cond);
    pthread_mutex_destroy(&f->mu);
}

uint64_t sq_flush_committed(sq_flusher *f)
{
    return atomic_fetch_add(&f->committed, 1) + 1;
}

/* fdatasync the WAL, opening it on first use. Only the flusher calls it.
 * The WAL cannot be deleted and made anew while the store's connections
 * keep it open, so the descriptor always names the file SQLite writes. */
static int sync_wal(store *s)
{
    sq_flusher *f = &s->flush;
    if (f->wal_fd < 0) {
        const char *db = sqlite3_db_filename(s->w, "main");
        char path[4096];
        if (db == NULL || snprintf(path, sizeof path, "%s-wal", db) >= (int)sizeof path)
            return sq_fail_msg(CHORE_ESTORE, "sqlite: the WAL file's path is too long");
        f->wal_fd = open(path, O_RDONLY | O_CLOEXEC);
        if (f->wal_fd < 0 && errno == ENOENT)
            return CHORE_OK; /* no WAL yet: no commit wrote a frame */
        if (f->wal_fd < 0)
            return sq_fail_msg(CHORE_ESTORE, "sqlite: cannot open the WAL file to sync it");
    }
    if (sq_flush_sync(f->wal_fd) != 0) {
        char msg[160];
        snprintf(msg, sizeof msg, "sqlite: committed, but fdatasync of the WAL failed: %s",
                 strerror(errno));
        return sq_fail_msg(CHORE_ESTORE, msg);
    }
    return CHORE_OK;
}

int sq_flush_to(store *s, uint64_t seq)
{
    sq_flusher *f = &s->flush;
    int rc = CHORE_OK;
    pthread_mutex_lock(&f->mu);
    while (f->durable < seq && rc == CHORE_OK) {
        if (f->flushing) {
            pthread_cond_wait(&f->cond, &f->mu);
            continue;
        }
        /* Every commit counted by now has written its frames. */
        uint64_t target = atomic_load(&f->committed);
        f->flushing = true;
        pthread_mutex_unlock(&f->mu);
        rc = sync_wal(s);
        pthread_mutex_lock(&f->mu);
        f->flushing = false;
        if (rc == CHORE_OK && target > f->durable)
            f->durable = target;
        pthread_cond_broadcast(&f->cond);
    }
    pthread_mutex_unlock(&f->mu);
    return rc;
}
