/*
 * fuzz_http_body.c — libFuzzer target for the daemon's request bodies: the
 * input is a body as a client sends it, given to http_parse_body (the depth
 * scan, the JSON parse, the object check of every request). When it parses,
 * the body goes through the field readers of every route that takes one —
 * POST /v1/jobs (read_job), /v1/jobs/bulk, the worker protocol, PUT
 * /v1/schedules/{} — with no chore instance behind them (c = NULL), so a
 * body the readers accept ends at the library's CHORE_EINVAL. Whatever the
 * input, every answer must be a well-formed 400 {"error": {"code",
 * "message"}} with a known code, and nothing may leak.
 * tests/test_daemon_corpus.c #includes this file to replay the corpus
 * (fuzz/corpus/http_body) in `make test`.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_api.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The routes that take a body, with the path parameter each is given. */
static const struct {
    const char *method;
    const char *path;
    const char *param;
    http_handler fn;
} fuzz_http_routes[] = {
    {"POST", "/v1/jobs", NULL, http_jobs_enqueue},
    {"POST", "/v1/jobs/bulk", NULL, http_jobs_bulk},
    {"POST", "/v1/fetch", NULL, http_worker_fetch},
    {"POST", "/v1/jobs/1/heartbeat", "1", http_worker_heartbeat},
    {"POST", "/v1/jobs/1/ack", "1", http_worker_ack},
    {"POST", "/v1/jobs/1/fail", "1", http_worker_fail},
    {"PUT", "/v1/schedules/s", "s", http_schedules_put},
};

/* The error codes a bad body may get. */
static const char *const fuzz_http_codes[] = {"bad_request", "invalid_json", "unknown_field",
                                              "invalid_name", "invalid_cron"};

/* A 400 with {"error": {"code": KNOWN, "message": "..."}} and nothing else. */
static void fuzz_http_check_error(const http_resp *rs)
{
    FUZZ_CHECK(rs->status == 400);
    FUZZ_CHECK(rs->text == NULL && rs->data == NULL);
    FUZZ_CHECK(json_is_object(rs->json) && json_object_size(rs->json) == 1);
    const json_t *e = json_object_get(rs->json, "error");
    FUZZ_CHECK(json_is_object(e) && json_object_size(e) == 2);
    const char *code = json_string_value(json_object_get(e, "code"));
    const char *msg = json_string_value(json_object_get(e, "message"));
    FUZZ_CHECK(code != NULL && msg != NULL && msg[0] != '\0');
    bool known = false;
    for (size_t i = 0; i < sizeof fuzz_http_codes / sizeof fuzz_http_codes[0]; i++)
        known = known || strcmp(code, fuzz_http_codes[i]) == 0;
    FUZZ_CHECK(known);
    /* what the server sends must dump */
    char *text = http_dump(rs->json);
    FUZZ_CHECK(text != NULL);
    free(text);
}

/* How deep v nests (a scalar is 0, {} or [] is 1). */
static int fuzz_http_depth(const json_t *v)
{
    int deepest = 0;
    if (json_is_object(v)) {
        const char *key;
        json_t *m;
        json_object_foreach((json_t *)v, key, m)
        {
            int d = fuzz_http_depth(m);
            deepest = d > deepest ? d : deepest;
        }
        return deepest + 1;
    }
    if (json_is_array(v)) {
        size_t i;
        json_t *m;
        json_array_foreach(v, i, m)
        {
            int d = fuzz_http_depth(m);
            deepest = d > deepest ? d : deepest;
        }
        return deepest + 1;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536) /* longer inputs add nothing but time */
        return 0;
    /* a copy of exactly size bytes, no NUL after: ASan sees any overread */
    char *text = malloc(size ? size : 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);

    http_resp rs = {.status = 500};
    json_t *body = (json_t *)text; /* must be reset on failure */
    if (!http_parse_body(&rs, text, size, &body)) {
        FUZZ_CHECK(body == NULL);
        fuzz_http_check_error(&rs);
        json_decref(rs.json);
        free(text);
        return 0;
    }
    FUZZ_CHECK(rs.json == NULL);
    FUZZ_CHECK(json_is_object(body));
    FUZZ_CHECK(size > 0 || json_object_size(body) == 0);
    FUZZ_CHECK(fuzz_http_depth(body) <= HTTP_MAX_DEPTH);

    for (size_t i = 0; i < sizeof fuzz_http_routes / sizeof fuzz_http_routes[0]; i++) {
        http_req rq = {.c = NULL, .method = fuzz_http_routes[i].method,
                       .path = fuzz_http_routes[i].path,
                       .param = fuzz_http_routes[i].param, .body = body};
        http_resp r = {.status = 500};
        fuzz_http_routes[i].fn(&rq, &r);
        fuzz_http_check_error(&r);
        json_decref(r.json);
        free(r.text);
    }
    json_decref(body);
    free(text);
    return 0;
}
