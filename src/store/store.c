/* store.c — choosing a backend by URL, freeing what backends return
 * (claimed jobs, job infos, name counts, schedules), and the rules every
 * backend shares (which admin change a state allows, reading the stored
 * attempt errors, where a page of the job list ends). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"

const store_ops *store_backend_for(const char *url, const char **location)
{
    static const struct {
        const char *scheme;
        const store_ops *ops;
    } backends[] = {
        {"sqlite:", &sqlite_store_ops},
        /* The location is the rest of the URL ("//user@host/db?…"). */
        {"postgres:", &pg_store_ops},
        {"postgresql:", &pg_store_ops},
    };
    if (url == NULL)
        return NULL;
    for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++) {
        size_t len = strlen(backends[i].scheme);
        if (strncmp(url, backends[i].scheme, len) == 0 && url[len] != '\0') {
            *location = url + len;
            return backends[i].ops;
        }
    }
    return NULL;
}

void store_claimed_clear(store_claimed *job)
{
    free(job->name);
    free(job->queue);
    free(job->payload);
    job->name = job->queue = job->payload = NULL;
}

void store_claimed_free(store_claimed *jobs, size_t n)
{
    if (jobs == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        store_claimed_clear(&jobs[i]);
    free(jobs);
}

/* Free the strings of one job_info, not the struct itself. */
static void job_info_clear(chore_job_info *info)
{
    free(info->name);
    free(info->queue);
    free(info->payload);
    free(info->unique_key);
    free(info->result);
    for (size_t i = 0; i < info->n_errors; i++)
        free(info->errors[i].error);
    free(info->errors);
}

void chore_job_info_free(chore_job_info *info)
{
    if (info == NULL)
        return;
    job_info_clear(info);
    free(info);
}

void chore_job_list_free(chore_job_info *items, size_t n)
{
    if (items == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        job_info_clear(&items[i]);
    free(items);
}

int store_list_limit(const chore_list_query *q)
{
    return q->limit <= 0 ? 100 : q->limit > 10000 ? 10000 : q->limit;
}

void store_list_page_end(chore_job_info *items, size_t *n, int limit, int64_t *next_cursor)
{
    if (*n <= (size_t)limit)
        return;
    for (size_t i = (size_t)limit; i < *n; i++)
        job_info_clear(&items[i]);
    *n = (size_t)limit;
    if (next_cursor != NULL)
        *next_cursor = items[limit - 1].id;
}

void store_schedule_clear(store_schedule *sc)
{
    free(sc->name);
    free(sc->expr);
    free(sc->zone);
    free(sc->job_name);
    free(sc->payload);
    free(sc->queue);
    sc->name = sc->expr = sc->zone = sc->job_name = sc->payload = sc->queue = NULL;
}

void store_schedule_free(store_schedule *schedules, size_t n)
{
    if (schedules == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        store_schedule_clear(&schedules[i]);
    free(schedules);
}

void chore_name_counts_free(chore_name_counts *items, size_t n)
{
    if (items == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        free(items[i].name);
    free(items);
}

bool store_admin_allowed(store_admin_op op, int state)
{
    switch (op) {
    case STORE_ADMIN_RETRY:
        return state == CHORE_SCHEDULED || state == CHORE_DISCARDED || state == CHORE_CANCELLED ||
               state == CHORE_COMPLETED;
    case STORE_ADMIN_CANCEL:
        return state == CHORE_SCHEDULED || state == CHORE_AVAILABLE || state == CHORE_RUNNING ||
               state == CHORE_SUSPENDED;
    case STORE_ADMIN_REQUEUE:
    case STORE_ADMIN_DELETE:
        return state != CHORE_RUNNING;
    }
    return false;
}

int store_errors_from_json(const char *text, chore_job_info *info, const char **why)
{
    *why = "out of memory";
    json_error_t jerr;
    json_t *arr = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    if (arr == NULL) {
        if (json_error_code(&jerr) == json_error_out_of_memory)
            return CHORE_ENOMEM;
        *why = "a job's errors column is not valid JSON";
        return CHORE_ESTORE;
    }
    int rc = CHORE_OK;
    size_t n = json_is_array(arr) ? json_array_size(arr) : 0;
    if (n > 0 && (info->errors = calloc(n, sizeof *info->errors)) == NULL)
        rc = CHORE_ENOMEM;
    for (size_t i = 0; i < n && rc == CHORE_OK; i++) {
        json_t *e = json_array_get(arr, i);
        chore_attempt_error *out = &info->errors[i];
        out->attempt = (int)json_integer_value(json_object_get(e, "attempt"));
        out->at_ms = (int64_t)json_integer_value(json_object_get(e, "at"));
        const char *msg = json_string_value(json_object_get(e, "error"));
        out->error = strdup(msg != NULL ? msg : "");
        if (out->error == NULL)
            rc = CHORE_ENOMEM;
        else
            info->n_errors = i + 1;
    }
    json_decref(arr);
    return rc;
}
