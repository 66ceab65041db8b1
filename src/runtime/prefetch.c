/* prefetch.c — how many claimed jobs wait in this process.
 *
 * Claiming in large batches is what makes chore fast, but a job waiting in
 * one process's local queue cannot be worked by another process. So the
 * local queue holds about PREFETCH_WORK_MS of work, judged from how fast
 * jobs finished recently: thousands of jobs when handlers take
 * microseconds, a couple per worker when they take seconds. */
#include "runtime/runtime.h"

enum { PREFETCH_WORK_MS = 200, RATE_WINDOW_MS = 100 };

void rt_prefetch_update(chore *c, size_t finished)
{
    int64_t now = real_now_ms();
    if (c->rate_window_start == 0)
        c->rate_window_start = now;
    c->rate_finished += finished;
    int64_t elapsed = now - c->rate_window_start;
    if (elapsed < RATE_WINDOW_MS)
        return;
    double rate = (double)c->rate_finished * 1000.0 / (double)elapsed; /* jobs per second */
    c->rate = c->rate == 0 ? rate : (c->rate + rate) / 2;
    c->rate_window_start = now;
    c->rate_finished = 0;
    double want = c->rate * PREFETCH_WORK_MS / 1000.0;
    size_t floor = 2 * (size_t)c->cfg.workers, ceiling = (size_t)c->cfg.fetch_batch;
    c->prefetch = want < (double)floor ? floor : want > (double)ceiling ? ceiling : (size_t)want;
    if (c->prefetch > ceiling)
        c->prefetch = ceiling;
}

bool rt_wants_jobs(const chore *c)
{
    return c->queued <= c->prefetch / 2;
}
