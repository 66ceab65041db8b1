/*
 * http_loops.c — the loops routes (health, trigger, pause, resume) and
 * the two routes monitoring reads: GET /healthz (the store answers and no
 * loop is failing) and GET /metrics (Prometheus text).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_api.h"

/* A loop with this many failed ticks in a row makes /healthz fail: one
 * failed tick (a busy store, a lost lock) is not yet worth paging anyone. */
#define HEALTH_MAX_CONSECUTIVE_FAILURES 3

static json_t *loop_json(const chore_loop_health *h)
{
    return json_pack("{s:s,s:b,s:b,s:I,s:I,s:I,s:I,s:o,s:o,s:o,s:o,s:I,s:I,s:o}", "name",
                     h->name, "paused", h->paused, "stopped", h->stopped, "runs",
                     (json_int_t)h->runs, "skips", (json_int_t)h->skips, "failures",
                     (json_int_t)h->failures, "consecutive_failures",
                     (json_int_t)h->consecutive_failures, "last_success",
                     http_instant(h->last_success_ms), "last_failure",
                     http_instant(h->last_failure_ms), "last_error",
                     h->last_error[0] != '\0' ? json_string(h->last_error) : json_null(),
                     "last_skip",
                     h->last_skip[0] != '\0' ? json_string(h->last_skip) : json_null(),
                     "last_duration_ms", (json_int_t)(h->last_duration_us / 1000), "last_work",
                     (json_int_t)h->last_work, "next_tick", http_instant(h->next_tick_ms));
}

void http_loops_list(http_req *rq, http_resp *rs)
{
    chore_loop_health *items = NULL;
    size_t n = 0;
    int rc = chore_loops_health(rq->c, &items, &n);
    if (rc < 0) {
        http_chore_error(rs, rc, "loops");
        return;
    }
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, loop_json(&items[i]));
    free(items);
    http_json(rs, 200, json_pack("{s:o}", "loops", list));
}

/* Apply op to the loop of the path, then show its health. */
static void loop_op(http_req *rq, http_resp *rs, int (*op)(chore_loop *), const char *what)
{
    chore_loop *loop = chore_loop_find(rq->c, rq->param);
    if (loop == NULL) {
        http_error(rs, 404, "not_found", "no loop named \"%.64s\"", rq->param);
        return;
    }
    chore_loop_health h;
    int rc = op(loop);
    if (rc == CHORE_OK)
        rc = chore_loop_health_get(loop, &h);
    if (rc < 0)
        http_chore_error(rs, rc, what);
    else
        http_json(rs, 200, loop_json(&h));
}

void http_loops_trigger(http_req *rq, http_resp *rs)
{
    loop_op(rq, rs, chore_loop_trigger, "trigger");
}

void http_loops_pause(http_req *rq, http_resp *rs)
{
    loop_op(rq, rs, chore_loop_pause, "pause");
}

void http_loops_resume(http_req *rq, http_resp *rs)
{
    loop_op(rq, rs, chore_loop_resume, "resume");
}

void http_healthz(http_req *rq, http_resp *rs)
{
    json_t *reasons = json_array();
    char line[400];
    int64_t counts[CHORE_STATE_COUNT];
    int rc = chore_count_by_state(rq->c, counts);
    if (rc < 0) {
        snprintf(line, sizeof line, "store: %s", chore_strerror(rc));
        json_array_append_new(reasons, json_string(line));
    }
    chore_loop_health *items = NULL;
    size_t n = 0;
    rc = chore_loops_health(rq->c, &items, &n);
    if (rc < 0) {
        snprintf(line, sizeof line, "loops: %s", chore_strerror(rc));
        json_array_append_new(reasons, json_string(line));
    }
    for (size_t i = 0; i < n; i++) {
        if (items[i].consecutive_failures < HEALTH_MAX_CONSECUTIVE_FAILURES)
            continue;
        snprintf(line, sizeof line, "loop %s: %lld consecutive failures: %s", items[i].name,
                 (long long)items[i].consecutive_failures, items[i].last_error);
        json_array_append_new(reasons, json_string(line));
    }
    free(items);
    if (json_array_size(reasons) == 0) {
        json_decref(reasons);
        http_json(rs, 200, json_pack("{s:s}", "status", "ok"));
    } else {
        http_json(rs, 503, json_pack("{s:s,s:o}", "status", "failing", "reasons", reasons));
    }
}

void http_metrics(http_req *rq, http_resp *rs)
{
    char *text = NULL;
    size_t len = 0;
    int rc = chore_metrics_render(rq->c, &text, &len);
    if (rc < 0) {
        http_chore_error(rs, rc, "metrics");
        return;
    }
    /* The daemon's own gauge after the library's families. */
    static const char fmt[] = "# HELP chore_http_requests_in_progress HTTP requests being "
                              "answered (long polls included).\n"
                              "# TYPE chore_http_requests_in_progress gauge\n"
                              "chore_http_requests_in_progress %zu\n";
    char extra[sizeof fmt + 24];
    int n = snprintf(extra, sizeof extra, fmt, rq->in_progress);
    char *all = realloc(text, len + (size_t)n + 1);
    if (all == NULL) {
        free(text);
        http_error(rs, 500, "internal", "out of memory");
        return;
    }
    memcpy(all + len, extra, (size_t)n + 1);
    rs->status = 200;
    rs->text = all;
    rs->text_len = len + (size_t)n;
    rs->content_type = "text/plain; version=0.0.4";
}
