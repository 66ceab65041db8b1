/*
 * http_api.h — what the HTTP server's files share: a request as the route
 * handlers see it, the response they fill in, JSON field tables for request
 * bodies, and the route handlers themselves (http_jobs.c, http_worker.c,
 * http_schedules.c, http_loops.c). http_server.c owns libmicrohttpd; the
 * handlers never see it.
 */
#ifndef CHORE_HTTP_API_H
#define CHORE_HTTP_API_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chore.h"
#include "daemon.h"

/* Bodies larger than this are refused with 413. */
#define HTTP_MAX_BODY (1024 * 1024)
/* Request bodies nested deeper than this are refused before parsing. */
#define HTTP_MAX_DEPTH 64
/* Long polls (POST /v1/fetch wait_ms) are capped here, below the connection timeout. */
#define HTTP_MAX_WAIT_MS 30000

/* A query parameter; both strings live as long as the request. */
typedef struct http_arg {
    const char *key, *value;
} http_arg;
/* Query parameters past this many are ignored. */
#define HTTP_MAX_ARGS 16

/* One request, after routing. */
typedef struct http_req {
    chore *c;
    command_runner *runner; /* command job types, for enqueue defaults; may be NULL */
    const char *method;
    const char *path;
    const char *param;   /* the {id} or {name} segment of the route, or NULL */
    json_t *body;        /* the parsed body: an object (an empty one when no body) */
    const http_arg *args; /* the query parameters, for http_query */
    size_t n_args;
    size_t in_progress; /* requests being answered, this one included */
} http_req;

/* The response a handler fills in. Either json or text is set. */
typedef struct http_resp {
    int status;
    json_t *json;             /* owned */
    char *text;               /* owned; with text_len and content_type */
    size_t text_len;
    const unsigned char *data; /* static bytes (dashboard assets), not owned */
    const char *content_type;
    const char *allow; /* 405: the methods allowed */
    bool dashboard;    /* add the dashboard's security headers */
} http_resp;

/* Set a JSON response (steals v; NULL means out of memory: 500). */
void http_json(http_resp *rs, int status, json_t *v);
/* Set an error response {"error": {"code", "message"}}. */
void http_error(http_resp *rs, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Set the error response for a failed library call (a CHORE_E* code). */
void http_chore_error(http_resp *rs, int rc, const char *what);

/* The kinds of fields a request body may hold. */
typedef enum http_field_kind {
    HF_STRING,   /* const char *: borrowed from the body */
    HF_INT,      /* int in [min, max] */
    HF_INT64,    /* int64_t in [min, max] */
    HF_DURATION, /* int64_t ms: a number of ms >= 0 or a string like "90s" */
    HF_INSTANT,  /* int64_t ms since the epoch: an RFC 3339 string */
    HF_BOOL,     /* bool */
    HF_ANY,      /* json_t *: any JSON value, borrowed */
    HF_STRINGS,  /* json_t *: an array of strings, borrowed */
    HF_OBJECTS,  /* json_t *: an array of objects, borrowed */
    HF_NAME,     /* const char *: a job name (1-128 bytes, no control characters) */
} http_field_kind;

/* One field of a request body. A field absent from the body leaves dest alone. */
typedef struct http_field {
    const char *name;
    http_field_kind kind;
    void *dest;
    bool required;
    int64_t min, max; /* HF_INT, HF_INT64 */
    bool *present;    /* may be NULL: set to whether the field was given */
} http_field;

/* One entry of a field table: HTTP_FIELD("name", HF_STRING, &dest, .required = true). */
#define HTTP_FIELD(n, k, d, ...) {.name = (n), .kind = (k), .dest = (d), __VA_ARGS__}

/*
 * Read obj's fields by the table: unknown fields, missing required ones and
 * wrong types set a 400 on rs and return false.
 */
bool http_read_fields(http_resp *rs, json_t *obj, const http_field *fields, size_t n);
/* Check a job name; false with a 400 on rs when it is not valid. */
bool http_check_name(http_resp *rs, const char *field, const char *name);

/* A query parameter of the request, or NULL. */
const char *http_query(const http_req *rq, const char *key);
/* The request's {id} as a positive job id; false with a 404 on rs otherwise. */
bool http_param_id(const http_req *rq, http_resp *rs, int64_t *id);

/* An instant as RFC 3339 UTC with milliseconds, or null for 0. */
json_t *http_instant(int64_t ms);
/* Stored JSON text as a JSON value (a string when it does not parse); null for NULL. */
json_t *http_payload(const char *text);
/* A JSON value as compact text (malloc'd), or NULL when out of memory. */
char *http_dump(const json_t *v);
/* True when `text` nests brackets deeper than max outside strings. */
bool http_too_deep(const char *text, size_t len, int max);
/* A request body (len bytes, any content) as a JSON object: the depth scan,
 * the parse (duplicate keys refused) and the object check; an empty body is
 * an empty object. True with *out (owned); false with *out NULL and a 400
 * (500 when out of memory) on rs. No libmicrohttpd: fuzz/fuzz_http_body.c
 * drives it. */
bool http_parse_body(http_resp *rs, const char *body, size_t len, json_t **out);

/* Route handlers. */
typedef void (*http_handler)(http_req *rq, http_resp *rs);

void http_jobs_enqueue(http_req *rq, http_resp *rs);
void http_jobs_bulk(http_req *rq, http_resp *rs);
void http_jobs_list(http_req *rq, http_resp *rs);
void http_jobs_show(http_req *rq, http_resp *rs);
void http_jobs_retry(http_req *rq, http_resp *rs);
void http_jobs_cancel(http_req *rq, http_resp *rs);
void http_jobs_delete(http_req *rq, http_resp *rs);
void http_stats(http_req *rq, http_resp *rs);

void http_worker_fetch(http_req *rq, http_resp *rs);
void http_worker_heartbeat(http_req *rq, http_resp *rs);
void http_worker_ack(http_req *rq, http_resp *rs);
void http_worker_fail(http_req *rq, http_resp *rs);

void http_schedules_list(http_req *rq, http_resp *rs);
void http_schedules_put(http_req *rq, http_resp *rs);
void http_schedules_delete(http_req *rq, http_resp *rs);
void http_schedules_pause(http_req *rq, http_resp *rs);
void http_schedules_resume(http_req *rq, http_resp *rs);

void http_loops_list(http_req *rq, http_resp *rs);
void http_loops_trigger(http_req *rq, http_resp *rs);
void http_loops_pause(http_req *rq, http_resp *rs);
void http_loops_resume(http_req *rq, http_resp *rs);
void http_healthz(http_req *rq, http_resp *rs);
void http_metrics(http_req *rq, http_resp *rs);

#endif /* CHORE_HTTP_API_H */
