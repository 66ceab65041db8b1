/* loop_probe.c — the `lp` tick probe and the loop helpers of the loop
 * tests; see loop_probe.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "loop_probe.h"
#include "runtime/loop.h"

/* Zero a probe and set it up for `clock`: should_run says yes. */
void lp_init(lp *p, chore_clock *clock)
{
    memset(p, 0, sizeof *p);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cond, NULL);
    p->clock = clock;
    p->run_ok = true;
    atomic_init(&p->last_seq, -1);
}

/* Free a probe's mutex and condition. */
void lp_destroy(lp *p)
{
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cond);
}

/* The run hook: records the call, applies the script, blocks if asked. */
int lp_run(chore_tick *tick, void *ud)
{
    lp *p = ud;
    if (p->seq != NULL)
        atomic_store(&p->last_seq, atomic_load(p->seq));
    pthread_mutex_lock(&p->mu);
    int call = p->calls++;
    if (call < MAX_CALLS)
        p->at[call] = chore_clock_now(p->clock);
    p->current = tick;
    int result = call < p->n_script ? p->script[call] : p->fallback;
    if (call < 64 && p->msgs[call] != NULL)
        chore_tick_set_error(tick, p->msgs[call]);
    if (call < 64 && p->works[call] != 0)
        chore_tick_set_work(tick, p->works[call]);
    if (p->block) {
        int ticket = p->tickets++;
        pthread_cond_broadcast(&p->cond);
        while (p->released <= ticket) {
            if (p->honour_stop) {
                /* the cooperative way: look at should_stop now and then */
                struct timespec ts = after_ms(1);
                pthread_cond_timedwait(&p->cond, &p->mu, &ts);
                if (chore_tick_should_stop(tick))
                    break;
            } else {
                pthread_cond_wait(&p->cond, &p->mu);
            }
        }
    }
    if (call < MAX_CALLS)
        p->stop_at_exit[call] = chore_tick_should_stop(tick);
    p->current = NULL;
    bool stop_self = p->stop_self, trigger_self = p->trigger_wait_self;
    chore_loop *self = p->self;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->mu);
    if (stop_self || trigger_self) {
        int rc = stop_self ? chore_loop_stop(self) : chore_loop_trigger_wait(self, WAIT_MS);
        pthread_mutex_lock(&p->mu);
        p->self_rc = rc;
        pthread_mutex_unlock(&p->mu);
    }
    return result;
}

static bool lp_should_run(void *ud)
{
    lp *p = ud;
    pthread_mutex_lock(&p->mu);
    p->should_run_calls++;
    bool ok = p->run_ok;
    pthread_mutex_unlock(&p->mu);
    return ok;
}

static int lp_on_start(void *ud)
{
    lp *p = ud;
    pthread_mutex_lock(&p->mu);
    int call = p->on_start_calls++;
    int rc = call < p->n_on_start ? p->on_start_script[call] : CHORE_OK;
    pthread_mutex_unlock(&p->mu);
    return rc;
}

static void lp_on_error(void *ud, int code, const char *message)
{
    lp *p = ud;
    pthread_mutex_lock(&p->mu);
    if (p->errors < 64) {
        p->error_codes[p->errors] = code;
        snprintf(p->error_msgs[p->errors], sizeof p->error_msgs[0], "%s", message);
    }
    p->errors++;
    pthread_mutex_unlock(&p->mu);
}

/* How many times run has been called. */
int lp_calls(lp *p)
{
    pthread_mutex_lock(&p->mu);
    int n = p->calls;
    pthread_mutex_unlock(&p->mu);
    return n;
}

/* The clock time of call `call`. */
int64_t lp_at(lp *p, int call)
{
    pthread_mutex_lock(&p->mu);
    int64_t at = p->at[call];
    pthread_mutex_unlock(&p->mu);
    return at;
}

/* Wait until `n` calls have blocked so far. */
void lp_wait_tickets(lp *p, int n)
{
    pthread_mutex_lock(&p->mu);
    struct timespec ts = after_ms(WAIT_MS);
    while (p->tickets < n) {
        if (pthread_cond_timedwait(&p->cond, &p->mu, &ts) == ETIMEDOUT) {
            pthread_mutex_unlock(&p->mu);
            fail_msg("timed out waiting for %d blocked ticks", n);
        }
    }
    pthread_mutex_unlock(&p->mu);
}

/* Make later calls block (or not) until released. */
void lp_set_block(lp *p, bool block)
{
    pthread_mutex_lock(&p->mu);
    p->block = block;
    pthread_mutex_unlock(&p->mu);
}

/* Let one more blocked call return. */
void lp_release(lp *p)
{
    pthread_mutex_lock(&p->mu);
    p->released++;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->mu);
}

/* A config whose every hook is the probe's. */
chore_loop_config loop_cfg(const char *name, int64_t interval_ms, lp *p)
{
    return (chore_loop_config){
        .name = name,
        .interval_ms = interval_ms,
        .run = lp_run,
        .should_run = lp_should_run,
        .on_start = lp_on_start,
        .on_error = lp_on_error,
        .ud = p,
    };
}

/* Register a loop on the fixture's instance, failing the test on error. */
chore_loop *loop_add(fixture *f, const chore_loop_config *cfg)
{
    chore_loop *l = NULL;
    int rc = chore_loop_add(f->c, cfg, &l);
    if (rc != CHORE_OK)
        fail_msg("chore_loop_add(%s): %s", cfg->name, chore_strerror(rc));
    lp *p = cfg->ud;
    pthread_mutex_lock(&p->mu);
    p->self = l;
    pthread_mutex_unlock(&p->mu);
    return l;
}

/* Wait until the loop's thread has nothing due (fails after WAIT_MS). */
void sync_loop(chore_loop *l)
{
    int rc = rt_loop_sync(l, WAIT_MS);
    if (rc != CHORE_OK)
        fail_msg("rt_loop_sync: %s", chore_strerror(rc));
}

/* Move the clock and wait until the loop has done what came due. */
void loop_advance(fixture *f, chore_loop *l, int64_t ms)
{
    chore_clock_advance(f->clock, ms);
    sync_loop(l);
}

/* The loop's health, failing the test on error. */
chore_loop_health loop_health(chore_loop *l)
{
    chore_loop_health h;
    assert_int_equal(chore_loop_health_get(l, &h), CHORE_OK);
    return h;
}
