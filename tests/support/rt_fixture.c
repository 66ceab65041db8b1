/* rt_fixture.c — see rt_fixture.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "rt_fixture.h"
#include "test_pg.h"
#include "test_util.h"

bool fixture_on_pg(void)
{
    const char *which = getenv("CHORE_TEST_STORE");
    return which != NULL && strcmp(which, "pg") == 0;
}

/* The test cluster's URL, from $CHORE_TEST_PG_DIR/url (scripts/pg-cluster.sh). */
static void pg_base_url(char *base, size_t len)
{
    if (!test_pg_url(base, len))
        fail_msg("CHORE_TEST_STORE=pg but no cluster URL in $CHORE_TEST_PG_DIR/url");
}

void fixture_open(fixture *f, const chore_config *cfg)
{
    *f = (fixture){.pg = fixture_on_pg()};
    assert_int_equal(chore_clock_new_manual(&f->clock, T0), CHORE_OK);
    test_db_path(f->path, sizeof f->path, "rt");
    if (f->pg) { /* f->path stays an unused file name */
        pg_base_url(f->pg_base, sizeof f->pg_base);
        test_pg_schema(f->schema, sizeof f->schema, "rt");
        snprintf(f->url, sizeof f->url, "%s?schema=%s", f->pg_base, f->schema);
    } else {
        snprintf(f->url, sizeof f->url, "sqlite:%s", f->path);
    }
    f->c = fixture_open_peer(f, cfg);
}

chore *fixture_open_peer(fixture *f, const chore_config *cfg)
{
    chore_config conf = cfg != NULL ? *cfg : (chore_config){0};
    conf.store = f->url;
    conf.clock = f->clock;
    if (conf.seed == 0)
        conf.seed = 12345;
    chore *c = NULL;
    int rc = chore_open(&c, &conf);
    if (rc != CHORE_OK)
        fail_msg("chore_open: %s", chore_strerror(rc));
    return c;
}

store *fixture_store_open(fixture *f, const store_ops **ops)
{
    const char *location = NULL;
    *ops = store_backend_for(f->url, &location);
    if (*ops == NULL)
        fail_msg("no backend for %s", f->url);
    store *st = NULL;
    char err[256] = "";
    int rc = (*ops)->open(&st, location, CHORE_DURABLE_FULL, err, sizeof err);
    if (rc != CHORE_OK)
        fail_msg("store open %s: %s (%s)", f->url, chore_strerror(rc), err);
    return st;
}

const store_ops *fixture_backend(void)
{
    return fixture_on_pg() ? &pg_store_ops : &sqlite_store_ops;
}

const char *fixture_new_location(char *buf, size_t len)
{
    if (!fixture_on_pg())
        return test_db_path(buf, len, "rt-store");
    char base[512], schema[64], url[720];
    pg_base_url(base, sizeof base);
    test_pg_schema(schema, sizeof schema, "rt");
    snprintf(url, sizeof url, "%s?schema=%s", base, schema);
    const char *location = NULL;
    if (store_backend_for(url, &location) != &pg_store_ops)
        fail_msg("not a PostgreSQL URL: %s", base);
    snprintf(buf, len, "%s", location);
    return buf;
}

void fixture_close(fixture *f)
{
    chore_close(f->c);
    chore_clock_free(f->clock);
}

void fixture_idle(fixture *f)
{
    int rc = chore_wait_idle(f->c, WAIT_MS);
    if (rc != CHORE_OK)
        fail_msg("chore_wait_idle: %s", chore_strerror(rc));
}

void fixture_advance(fixture *f, int64_t ms)
{
    chore_clock_advance(f->clock, ms);
    fixture_idle(f);
}

chore_state fixture_state(fixture *f, int64_t id)
{
    chore_job_info *info = NULL;
    int rc = chore_job_get(f->c, id, &info);
    if (rc != CHORE_OK)
        fail_msg("chore_job_get(%lld): %s", (long long)id, chore_strerror(rc));
    chore_state s = info->state;
    chore_job_info_free(info);
    return s;
}

struct fixture_db {
    sqlite3 *lite;
    PGconn *pg;
};

fixture_db *fixture_db_open(fixture *f)
{
    fixture_db *db = calloc(1, sizeof *db);
    assert_non_null(db);
    if (!f->pg) {
        if (sqlite3_open(f->path, &db->lite) != SQLITE_OK)
            fail_msg("sqlite3_open %s: %s", f->path, sqlite3_errmsg(db->lite));
        sqlite3_busy_timeout(db->lite, 5000); /* chore's writer may hold the lock */
        return db;
    }
    db->pg = test_pg_connect(f->pg_base);
    /* the schema name is ours (letters, digits, _): no quoting needed */
    char sql[200];
    snprintf(sql, sizeof sql, "SET search_path TO %s; SET chore.schema = '%s'", f->schema,
             f->schema);
    fixture_db_exec(db, sql);
    return db;
}

void fixture_db_close(fixture_db *db)
{
    if (db == NULL)
        return;
    sqlite3_close(db->lite);
    PQfinish(db->pg);
    free(db);
}

void *fixture_db_native(fixture_db *db)
{
    return db->lite != NULL ? (void *)db->lite : (void *)db->pg;
}

void fixture_db_exec(fixture_db *db, const char *sql)
{
    if (db->lite != NULL) {
        char *err = NULL;
        if (sqlite3_exec(db->lite, sql, NULL, NULL, &err) != SQLITE_OK) {
            char msg[256];
            snprintf(msg, sizeof msg, "%s", err != NULL ? err : "?");
            sqlite3_free(err);
            fail_msg("%s: %s", sql, msg);
        }
        return;
    }
    test_pg_exec(db->pg, sql);
}

void fixture_db_begin(fixture_db *db)
{
    fixture_db_exec(db, db->lite != NULL ? "BEGIN IMMEDIATE" : "BEGIN");
}

int64_t fixture_db_int(fixture_db *db, const char *sql)
{
    int64_t v = 0;
    if (db->lite != NULL) {
        sqlite3_stmt *stmt = NULL;
        if (sqlite3_prepare_v2(db->lite, sql, -1, &stmt, NULL) != SQLITE_OK)
            fail_msg("%s: %s", sql, sqlite3_errmsg(db->lite));
        int rc = sqlite3_step(stmt);
        if (rc == SQLITE_ROW)
            v = sqlite3_column_int64(stmt, 0);
        sqlite3_finalize(stmt);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            fail_msg("%s: %s", sql, sqlite3_errmsg(db->lite));
        return v;
    }
    return test_pg_int(db->pg, sql);
}

void fixture_sql(fixture *f, const char *sql)
{
    fixture_db *db = fixture_db_open(f);
    fixture_db_exec(db, sql);
    fixture_db_close(db);
}

int64_t fixture_sql_int(fixture *f, const char *sql)
{
    fixture_db *db = fixture_db_open(f);
    int64_t v = fixture_db_int(db, sql);
    fixture_db_close(db);
    return v;
}

void probe_init(probe *p, int fallback)
{
    *p = (probe){.fallback = fallback};
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cond, NULL);
}

void probe_init_snoozing(probe *p, int64_t snooze_ms)
{
    probe_init(p, CHORE_OK);
    p->script[0] = CHORE_SNOOZE;
    p->n_script = 1;
    p->snooze_ms = snooze_ms;
}

void probe_destroy(probe *p)
{
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cond);
}

struct timespec after_ms(int64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    return ts;
}

int probe_handler(chore_job *job, void *ud)
{
    probe *p = ud;
    pthread_mutex_lock(&p->mu);
    int call = p->calls++;
    if (call < 32) {
        p->ids[call] = chore_job_id(job);
        p->tokens[call] = chore_job_token(job);
        p->attempts[call] = chore_job_attempt(job);
    }
    int result = call < p->n_script ? p->script[call] : p->fallback;
    if (p->block) {
        int ticket = p->tickets++; /* blocked calls are let go in arrival order */
        p->blocked++;
        pthread_cond_broadcast(&p->cond);
        while (p->released <= ticket) {
            if (p->honour_stop) {
                /* the cooperative way: look at should_stop now and then */
                struct timespec ts = after_ms(1);
                pthread_cond_timedwait(&p->cond, &p->mu, &ts);
                if (chore_job_should_stop(job))
                    break;
            } else {
                pthread_cond_wait(&p->cond, &p->mu);
            }
        }
        p->blocked--;
    }
    if (call < 32)
        p->stop_seen[call] = chore_job_should_stop(job);
    if (result < 0)
        chore_job_set_error(job, "probe failed on purpose");
    if (result == CHORE_SNOOZE)
        result = chore_job_snooze(job, p->snooze_ms);
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->mu);
    return result;
}

void probe_wait_blocked(probe *p, int n)
{
    pthread_mutex_lock(&p->mu);
    struct timespec ts = after_ms(WAIT_MS);
    while (p->blocked < n) {
        if (pthread_cond_timedwait(&p->cond, &p->mu, &ts) == ETIMEDOUT) {
            pthread_mutex_unlock(&p->mu);
            fail_msg("timed out waiting for %d blocked handler calls", n);
        }
    }
    pthread_mutex_unlock(&p->mu);
}

int probe_blocked(probe *p)
{
    pthread_mutex_lock(&p->mu);
    int n = p->blocked;
    pthread_mutex_unlock(&p->mu);
    return n;
}

void probe_release(probe *p)
{
    pthread_mutex_lock(&p->mu);
    p->released++;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->mu);
}

int probe_calls(probe *p)
{
    pthread_mutex_lock(&p->mu);
    int n = p->calls;
    pthread_mutex_unlock(&p->mu);
    return n;
}
