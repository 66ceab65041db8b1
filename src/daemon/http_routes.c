/* http_routes.c — the HTTP API's route table and the matching of a
 * request's method and path against it (http_routes.h). */
#include <stdio.h>
#include <string.h>

#include "http_routes.h"

static const http_route routes[] = {
    {"POST", "/v1/jobs", http_jobs_enqueue, true, false},
    {"GET", "/v1/jobs", http_jobs_list, false, false},
    {"POST", "/v1/jobs/bulk", http_jobs_bulk, true, false},
    {"GET", "/v1/jobs/{}", http_jobs_show, false, false},
    {"DELETE", "/v1/jobs/{}", http_jobs_delete, false, false},
    {"POST", "/v1/jobs/{}/retry", http_jobs_retry, false, false},
    {"POST", "/v1/jobs/{}/cancel", http_jobs_cancel, false, false},
    {"POST", "/v1/jobs/{}/heartbeat", http_worker_heartbeat, true, false},
    {"POST", "/v1/jobs/{}/ack", http_worker_ack, true, false},
    {"POST", "/v1/jobs/{}/fail", http_worker_fail, true, false},
    {"POST", "/v1/fetch", http_worker_fetch, true, false},
    {"GET", "/v1/stats", http_stats, false, false},
    {"GET", "/v1/schedules", http_schedules_list, false, false},
    {"PUT", "/v1/schedules/{}", http_schedules_put, true, false},
    {"DELETE", "/v1/schedules/{}", http_schedules_delete, false, false},
    {"POST", "/v1/schedules/{}/pause", http_schedules_pause, false, false},
    {"POST", "/v1/schedules/{}/resume", http_schedules_resume, false, false},
    {"GET", "/v1/loops", http_loops_list, false, false},
    {"POST", "/v1/loops/{}/trigger", http_loops_trigger, false, false},
    {"POST", "/v1/loops/{}/pause", http_loops_pause, false, false},
    {"POST", "/v1/loops/{}/resume", http_loops_resume, false, false},
    {"GET", "/metrics", http_metrics, false, false},
    {"GET", "/healthz", http_healthz, false, true},
};
#define N_ROUTES (sizeof routes / sizeof routes[0])

/*
 * Match `path` against `pattern` segment by segment; a "{}" segment takes
 * any non-empty segment, copied to param. Returns false on a mismatch or an
 * over-long parameter.
 */
static bool path_match(const char *pattern, const char *path, char *param, size_t plen)
{
    const char *p = pattern, *u = path;
    param[0] = '\0';
    while (*p != '\0' && *u != '\0') {
        if (p[0] == '{' && p[1] == '}') {
            size_t n = strcspn(u, "/");
            if (n == 0 || n >= plen)
                return false;
            memcpy(param, u, n);
            param[n] = '\0';
            u += n;
            p += 2;
        } else if (*p++ != *u++) {
            return false;
        }
    }
    return *p == '\0' && *u == '\0';
}

const http_route *http_find_route(const char *method, const char *path, char *param,
                                  size_t plen, http_resp *rs, char *allow, size_t alen)
{
    allow[0] = '\0';
    for (size_t i = 0; i < N_ROUTES; i++) {
        if (!path_match(routes[i].pattern, path, param, plen))
            continue;
        if (strcmp(routes[i].method, method) == 0)
            return &routes[i];
        if (strstr(allow, routes[i].method) == NULL) {
            size_t used = strlen(allow);
            snprintf(allow + used, alen - used, "%s%s", used > 0 ? ", " : "", routes[i].method);
        }
    }
    if (allow[0] != '\0') {
        http_error(rs, 405, "method_not_allowed", "%s is not allowed here; allowed: %s",
                   method, allow);
        rs->allow = allow;
    } else {
        http_error(rs, 404, "not_found", "no such route");
    }
    return NULL;
}
