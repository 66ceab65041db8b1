/*
 * http_schedules.c — the schedules routes of the HTTP API: list, put (add
 * or update by name), delete, pause and resume. A bad cron expression or
 * zone is refused with the parser's one-line reason before anything is
 * stored.
 */
#include <stdlib.h>
#include <string.h>

#include "http_api.h"

static const char *const missed_names[] = {"once", "skip", "each"};
static const char *const overlap_names[] = {"allow", "skip", "queue_one"};

static json_t *schedule_json(const chore_schedule_info *s)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:o,s:s,s:i,s:i,s:I,s:s,s:i,s:s,s:b,s:o,s:o,s:o}", "name",
                     s->name, "cron", s->cron, "zone", s->zone != NULL ? s->zone : "UTC", "job",
                     s->job, "payload", http_payload(s->payload), "queue",
                     s->queue != NULL ? s->queue : "default", "priority", s->priority,
                     "max_attempts", s->max_attempts, "timeout_ms", (json_int_t)s->timeout_ms,
                     "missed", missed_names[s->missed % 3], "missed_cap", s->missed_cap,
                     "overlap", overlap_names[s->overlap % 3], "paused", s->paused, "last_fire",
                     http_instant(s->last_fire_ms), "next_fire", http_instant(s->next_fire_ms),
                     "last_job_id",
                     s->last_job_id != 0 ? json_integer(s->last_job_id) : json_null());
}

void http_schedules_list(http_req *rq, http_resp *rs)
{
    chore_schedule_info *items = NULL;
    size_t n = 0;
    int rc = chore_schedule_list(rq->c, &items, &n);
    if (rc < 0) {
        http_chore_error(rs, rc, "schedules");
        return;
    }
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, schedule_json(&items[i]));
    chore_schedule_list_free(items, n);
    http_json(rs, 200, json_pack("{s:o}", "schedules", list));
}

/* Reply with the schedule of the path as stored now. */
static void reply_schedule(http_req *rq, http_resp *rs)
{
    chore_schedule_info *items = NULL;
    size_t n = 0;
    int rc = chore_schedule_list(rq->c, &items, &n);
    if (rc < 0) {
        http_chore_error(rs, rc, "schedule");
        return;
    }
    http_error(rs, 404, "not_found", "no schedule named \"%.128s\"", rq->param);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(items[i].name, rq->param) == 0)
            http_json(rs, 200, schedule_json(&items[i]));
    }
    chore_schedule_list_free(items, n);
}

/* The index of `text` in names, or -1. */
static int choice(const char *text, const char *const names[3])
{
    for (int i = 0; i < 3; i++) {
        if (strcmp(text, names[i]) == 0)
            return i;
    }
    return -1;
}

void http_schedules_put(http_req *rq, http_resp *rs)
{
    const char *cron = NULL, *job = NULL, *zone = NULL, *queue = NULL;
    const char *missed = NULL, *overlap = NULL;
    json_t *payload = NULL;
    chore_schedule_opts o = {0};
    const http_field fields[] = {
        HTTP_FIELD("cron", HF_STRING, &cron, .required = true),
        HTTP_FIELD("job", HF_NAME, &job, .required = true),
        HTTP_FIELD("payload", HF_ANY, &payload),
        HTTP_FIELD("zone", HF_STRING, &zone),
        HTTP_FIELD("queue", HF_NAME, &queue),
        HTTP_FIELD("priority", HF_INT, &o.priority, .min = -1000000, .max = 1000000),
        HTTP_FIELD("max_attempts", HF_INT, &o.max_attempts, .min = 0, .max = 1000000),
        HTTP_FIELD("timeout", HF_DURATION, &o.timeout_ms),
        HTTP_FIELD("missed", HF_STRING, &missed),
        HTTP_FIELD("missed_cap", HF_INT, &o.missed_cap, .min = 1, .max = 100000),
        HTTP_FIELD("overlap", HF_STRING, &overlap),
    };
    if (!http_check_name(rs, "name", rq->param) ||
        !http_read_fields(rs, rq->body, fields, sizeof fields / sizeof fields[0]))
        return;
    int m = missed != NULL ? choice(missed, missed_names) : 0;
    int ov = overlap != NULL ? choice(overlap, overlap_names) : 0;
    if (m < 0 || ov < 0) {
        http_error(rs, 400, "bad_request", "%s",
                   m < 0 ? "missed: must be once, skip or each"
                         : "overlap: must be allow, skip or queue_one");
        return;
    }
    o.missed = (chore_missed)m;
    o.overlap = (chore_overlap)ov;
    o.zone = zone;
    o.queue = queue;
    /* parse first for the reason: chore_schedule only says CHORE_EINVAL */
    char why[256] = "";
    chore_cron *parsed = NULL;
    int rc = chore_cron_parse(&parsed, cron, zone, why, sizeof why);
    chore_cron_free(parsed);
    if (rc < 0) {
        http_error(rs, 400, "invalid_cron", "cron: %s", why[0] != '\0' ? why : chore_strerror(rc));
        return;
    }
    char *text = NULL;
    if (payload != NULL && (text = http_dump(payload)) == NULL) {
        http_error(rs, 500, "internal", "out of memory");
        return;
    }
    rc = chore_schedule(rq->c, rq->param, cron, job, text, &o);
    free(text);
    if (rc < 0)
        http_chore_error(rs, rc, "schedule");
    else
        reply_schedule(rq, rs);
}

void http_schedules_delete(http_req *rq, http_resp *rs)
{
    int rc = chore_unschedule(rq->c, rq->param);
    if (rc < 0)
        http_chore_error(rs, rc, "schedule");
    else
        rs->status = 204;
}

/* Apply op to the schedule of the path, then show it. */
static void schedule_op(http_req *rq, http_resp *rs, int (*op)(chore *, const char *))
{
    int rc = op(rq->c, rq->param);
    if (rc < 0)
        http_chore_error(rs, rc, "schedule");
    else
        reply_schedule(rq, rs);
}

void http_schedules_pause(http_req *rq, http_resp *rs)
{
    schedule_op(rq, rs, chore_schedule_pause);
}

void http_schedules_resume(http_req *rq, http_resp *rs)
{
    schedule_op(rq, rs, chore_schedule_resume);
}
