/* loops.c — the public loop calls: check the arguments, then hand over to
 * the runtime (src/runtime/loop.c, loop_control.c). */
#include <stdio.h>
#include <string.h>

#include "runtime/loop.h"

/* Register a loop: see chore.h. Names starting with "chore." are chore's own. */
int chore_loop_add(chore *c, const chore_loop_config *cfg, chore_loop **out)
{
    if (out != NULL)
        *out = NULL;
    if (c == NULL || cfg == NULL || cfg->run == NULL || cfg->interval_ms <= 0 ||
        cfg->jitter_ms < 0 || cfg->timeout_ms < 0 || !rt_loop_name_valid(cfg->name, false))
        return CHORE_EINVAL;
    if (cfg->locked && cfg->lock_name != NULL && !rt_loop_name_valid(cfg->lock_name, false))
        return CHORE_EINVAL;
    return rt_loop_add(c, cfg, out);
}

/* The loop named `name`, or NULL. */
chore_loop *chore_loop_find(chore *c, const char *name)
{
    if (c == NULL || name == NULL)
        return NULL;
    return rt_loop_find(c, name);
}

/* Ask for a tick (runs even while paused); returns at once. Before
 * chore_start the request is kept: the first tick serves it. */
int chore_loop_trigger(chore_loop *loop)
{
    return loop == NULL ? CHORE_EINVAL : rt_loop_trigger(loop, false, 0);
}

/* Ask for a tick and wait for it to finish (skipped ticks count as
 * finished): CHORE_OK; CHORE_ETIMEDOUT after timeout_ms of real time;
 * CHORE_ESTOPPED when the loop is stopped or the instance is not
 * running; CHORE_EBUSY from the loop's own tick. */
int chore_loop_trigger_wait(chore_loop *loop, int64_t timeout_ms)
{
    return loop == NULL ? CHORE_EINVAL : rt_loop_trigger(loop, true, timeout_ms);
}

/* Sleeper: ask for a tick once the loop is not paused. Never blocks. */
void chore_loop_wake(chore_loop *loop)
{
    if (loop != NULL)
        rt_loop_wake(loop);
}

/* No ticks from the interval or wakes until resumed; triggers still run. */
int chore_loop_pause(chore_loop *loop)
{
    return loop == NULL ? CHORE_EINVAL : rt_loop_pause(loop, true);
}

/* Ticks again; one at once if one came due while paused. */
int chore_loop_resume(chore_loop *loop)
{
    return loop == NULL ? CHORE_EINVAL : rt_loop_pause(loop, false);
}

/* The next tick comes one interval from now. */
int chore_loop_restart(chore_loop *loop)
{
    return loop == NULL ? CHORE_EINVAL : rt_loop_restart(loop);
}

/* Stop for good, waiting for a running tick (unless called from it). The
 * loop keeps its name and handle until chore_close. */
int chore_loop_stop(chore_loop *loop)
{
    return loop == NULL ? CHORE_EINVAL : rt_loop_stop(loop);
}

/* Copy one loop's health. */
int chore_loop_health_get(chore_loop *loop, chore_loop_health *out)
{
    if (loop == NULL || out == NULL)
        return CHORE_EINVAL;
    rt_loop_health(loop, out);
    return CHORE_OK;
}

/* Every loop's health, sorted by name. */
int chore_loops_health(chore *c, chore_loop_health **out, size_t *n)
{
    if (c == NULL || out == NULL || n == NULL)
        return CHORE_EINVAL;
    return rt_loops_health(c, out, n);
}

/* True once the tick's timeout passed on the instance's clock, or its loop
 * or instance is stopping. Safe from any thread while the tick runs. */
bool chore_tick_should_stop(const chore_tick *tick)
{
    if (tick == NULL)
        return true;
    if (atomic_load(&tick->loop->stop_flag))
        return true;
    return tick->deadline_ms != INT64_MAX &&
           chore_clock_now(tick->loop->c->clock) >= tick->deadline_ms;
}

/* Report how much the tick did. */
void chore_tick_set_work(chore_tick *tick, int64_t count)
{
    if (tick != NULL)
        tick->work = count;
}

/* Record why the tick failed (copied, cut to 255 bytes). */
int chore_tick_set_error(chore_tick *tick, const char *message)
{
    if (tick == NULL || message == NULL)
        return CHORE_EINVAL;
    snprintf(tick->error, sizeof tick->error, "%s", message);
    tick->has_error = true;
    return CHORE_OK;
}
