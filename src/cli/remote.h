/*
 * remote.h — the store commands over a daemon's HTTP API (--server): the
 * same operations as the public API calls the store mode makes, giving
 * back the same structs (chore_job_info, chore_schedule_info),
 * so one printer serves both modes. remote_jobs.c holds the jobs,
 * remote_schedules.c the schedules.
 *
 * Every function takes the command's name for its messages, reports any
 * failure itself (one line on stderr) and returns an exit status: CLI_OK,
 * CLI_USAGE for a 4xx answer, CLI_FAIL for no answer, a 5xx or an answer
 * it cannot read.
 */
#ifndef CHORE_CLI_REMOTE_H
#define CHORE_CLI_REMOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "chore.h"
#include "http_client.h"

/* POST /v1/jobs. payload is JSON text or NULL. *duplicate: an existing
 * job of the unique key was returned. */
int cli_remote_enqueue(cli_http *h, const char *name, const char *payload,
                       const chore_enqueue_opts *o, int64_t *id, bool *duplicate);

/* GET /v1/jobs, page after page until q->limit jobs or the last page.
 * Free *items with chore_job_list_free. */
int cli_remote_jobs(cli_http *h, const chore_list_query *q, chore_job_info **items, size_t *n,
                    int64_t *next_cursor);

/* GET /v1/jobs/{id} with its errors and result. Free with chore_job_info_free. */
int cli_remote_job(cli_http *h, const char *cmd, int64_t id, chore_job_info **info);

/* POST /v1/jobs/{id}/{action} ("retry", "cancel"). A job whose state
 * forbids it is reported as the store mode does, naming the state. */
int cli_remote_job_change(cli_http *h, const char *cmd, const char *action, int64_t id);

/* Free what cli_remote_jobs / cli_remote_job gave. NULL is a no-op. */

/* GET /v1/schedules. Free with chore_schedule_list_free. */
int cli_remote_schedules(cli_http *h, const char *cmd, chore_schedule_info **items, size_t *n);

/* PUT /v1/schedules/{name}; *existed: it was there before (an update). */
int cli_remote_schedule_put(cli_http *h, const char *name, const char *expr, const char *job,
                            const char *payload, const chore_schedule_opts *o, bool *existed);

/* DELETE /v1/schedules/{name} (action NULL) or POST .../{action}
 * ("pause", "resume"). An unknown schedule: "<cmd>: no schedule named N". */
int cli_remote_schedule_change(cli_http *h, const char *cmd, const char *action,
                               const char *name);

/*
 * Readers of API objects, shared by remote_*.c. Each reads o[key] and
 * returns false when it is missing or of the wrong type.
 */
/* A string, strdup'd into *out; JSON null gives NULL when nullable. */
bool cli_json_string(json_t *o, const char *key, bool nullable, char **out);
/* An RFC 3339 instant into ms since the epoch; null gives 0 ("never"). */
bool cli_json_instant(json_t *o, const char *key, int64_t *ms);
/* A JSON value as compact text (malloc'd); null gives NULL when nullable. */
bool cli_json_text(json_t *o, const char *key, bool nullable, char **out);
/* A whole number in [min, max]. */
bool cli_json_int(json_t *o, const char *key, int64_t min, int64_t max, int64_t *out);

#endif /* CHORE_CLI_REMOTE_H */
