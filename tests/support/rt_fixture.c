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

#include "rt_fixture.h"
#include "test_util.h"

/* With CHORE_TEST_STORE=pg: the URL of the test cluster (read from
 * $CHORE_TEST_PG_DIR/url, see scripts/pg-cluster.sh) with a fresh schema. */
static void pg_url(fixture *f)
{
    static int counter;
    const char *dir = getenv("CHORE_TEST_PG_DIR");
    char path[600], base[512] = "";
    snprintf(path, sizeof path, "%s/url", dir != NULL ? dir : ".");
    FILE *fp = fopen(path, "r");
    if (fp == NULL)
        fail_msg("CHORE_TEST_STORE=pg but no cluster URL in %s", path);
    if (fgets(base, sizeof base, fp) == NULL)
        base[0] = '\0';
    fclose(fp);
    base[strcspn(base, "\r\n")] = '\0';
    snprintf(f->url, sizeof f->url, "%s?schema=rt%ld_%ld_%d", base, (long)getpid(),
             (long)(time(NULL) % 100000), __sync_add_and_fetch(&counter, 1));
}

void fixture_open(fixture *f, const chore_config *cfg)
{
    assert_int_equal(chore_clock_new_manual(&f->clock, T0), CHORE_OK);
    test_db_path(f->path, sizeof f->path, "rt");
    const char *which = getenv("CHORE_TEST_STORE");
    if (which != NULL && strcmp(which, "pg") == 0)
        pg_url(f); /* f->path stays an unused file name */
    else
        snprintf(f->url, sizeof f->url, "sqlite:%s", f->path);
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

void probe_init(probe *p, int fallback)
{
    *p = (probe){.fallback = fallback};
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cond, NULL);
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
