/*
 * http_util.c — the HTTP API's common pieces: JSON and error responses,
 * the table-driven reader of request bodies (types, ranges, unknown
 * fields), job names, query and path parameters, instants and payloads.
 * Durations are parsed by the CLI's helper (cli_util.c) and RFC 3339
 * instants by the library's, so the binary has one parser of each.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_util.h"
#include "http_api.h"

void http_json(http_resp *rs, int status, json_t *v)
{
    json_decref(rs->json);
    rs->json = v;
    rs->status = status;
    if (v == NULL) {
        rs->status = 500; /* the server writes a fixed body when json is NULL */
    }
}

/* The length of the valid UTF-8 sequence at p (as jansson checks it: no
 * overlong forms, surrogates or code points past U+10FFFF), or 0. */
static size_t utf8_sequence(const unsigned char *p)
{
    size_t n;
    uint32_t cp;
    if (p[0] < 0x80)
        return 1;
    if (p[0] >= 0xC2 && p[0] <= 0xDF)
        n = 2, cp = p[0] & 0x1F;
    else if (p[0] >= 0xE0 && p[0] <= 0xEF)
        n = 3, cp = p[0] & 0x0F;
    else if (p[0] >= 0xF0 && p[0] <= 0xF4)
        n = 4, cp = p[0] & 0x07;
    else
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80) /* a NUL ends the loop here too */
            return 0;
        cp = cp << 6 | (p[i] & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

/* Replace each byte that is not part of valid UTF-8 with '?': a message
 * cut at a byte count (or quoting raw input) may split a character, and
 * jansson refuses such a string. */
static void utf8_clean(char *s)
{
    unsigned char *p = (unsigned char *)s;
    while (*p != '\0') {
        size_t n = utf8_sequence(p);
        if (n == 0)
            *p++ = '?';
        else
            p += n;
    }
}

void http_error(http_resp *rs, int status, const char *code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    utf8_clean(msg);
    http_json(rs, status, json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg));
}

void http_chore_error(http_resp *rs, int rc, const char *what)
{
    switch (rc) {
    case CHORE_EINVAL:
        http_error(rs, 400, "bad_request", "%s: %s", what, chore_strerror(rc));
        break;
    case CHORE_EJSON:
        http_error(rs, 400, "invalid_json", "%s: %s", what, chore_strerror(rc));
        break;
    case CHORE_ENOTFOUND:
        http_error(rs, 404, "not_found", "%s: %s", what, chore_strerror(rc));
        break;
    case CHORE_ESTALE:
        http_error(rs, 409, "stale_token", "%s: %s", what, chore_strerror(rc));
        break;
    case CHORE_ESTATE:
        http_error(rs, 409, "invalid_state", "%s: %s", what, chore_strerror(rc));
        break;
    case CHORE_EEXIST:
        http_error(rs, 409, "conflict", "%s: %s", what, chore_strerror(rc));
        break;
    case CHORE_ESTOPPED:
        http_error(rs, 503, "unavailable", "%s: %s", what, chore_strerror(rc));
        break;
    default:
        http_error(rs, 500, "internal", "%s: %s", what, chore_strerror(rc));
        break;
    }
}

bool http_check_name(http_resp *rs, const char *field, const char *name)
{
    if (chore_name_valid(name))
        return true;
    http_error(rs, 400, "invalid_name", "%s: must be 1 to %d bytes without control characters",
               field, CHORE_NAME_MAX);
    return false;
}

static const http_field *find_field(const http_field *fields, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(fields[i].name, key) == 0)
            return &fields[i];
    }
    return NULL;
}

/* Check an array's members: strings or objects. */
static bool array_of(const json_t *v, json_type type)
{
    if (!json_is_array(v))
        return false;
    size_t i;
    const json_t *m;
    json_array_foreach(v, i, m)
    {
        if (json_typeof(m) != type)
            return false;
    }
    return true;
}

/* Read one field's value into its destination; false with a 400 on rs. */
static bool read_field(http_resp *rs, const http_field *f, json_t *v)
{
    switch (f->kind) {
    case HF_STRING:
    case HF_NAME:
        if (!json_is_string(v))
            break;
        if (f->kind == HF_NAME && !http_check_name(rs, f->name, json_string_value(v)))
            return false;
        *(const char **)f->dest = json_string_value(v);
        return true;
    case HF_INT:
    case HF_INT64: {
        if (!json_is_integer(v))
            break;
        json_int_t n = json_integer_value(v);
        if (n < f->min || n > f->max) {
            http_error(rs, 400, "bad_request", "%s: must be from %" PRId64 " to %" PRId64,
                       f->name, f->min, f->max);
            return false;
        }
        if (f->kind == HF_INT)
            *(int *)f->dest = (int)n;
        else
            *(int64_t *)f->dest = (int64_t)n;
        return true;
    }
    case HF_DURATION:
        if (json_is_integer(v) && json_integer_value(v) >= 0) {
            *(int64_t *)f->dest = (int64_t)json_integer_value(v);
            return true;
        }
        if (json_is_string(v) && cli_parse_duration_ms(json_string_value(v), f->dest))
            return true;
        http_error(rs, 400, "bad_request",
                   "%s: must be milliseconds >= 0 or a duration like \"90s\", \"1h30m\"",
                   f->name);
        return false;
    case HF_INSTANT:
        if (json_is_string(v) && chore_time_parse(json_string_value(v), f->dest) == CHORE_OK)
            return true;
        http_error(rs, 400, "bad_request",
                   "%s: must be an RFC 3339 instant like \"2026-11-22T10:00:00Z\"", f->name);
        return false;
    case HF_BOOL:
        if (!json_is_boolean(v))
            break;
        *(bool *)f->dest = json_is_true(v);
        return true;
    case HF_ANY:
        *(json_t **)f->dest = v;
        return true;
    case HF_STRINGS:
        if (!array_of(v, JSON_STRING)) {
            http_error(rs, 400, "bad_request", "%s: must be an array of strings", f->name);
            return false;
        }
        *(json_t **)f->dest = v;
        return true;
    case HF_OBJECTS:
        if (!array_of(v, JSON_OBJECT)) {
            http_error(rs, 400, "bad_request", "%s: must be an array of objects", f->name);
            return false;
        }
        *(json_t **)f->dest = v;
        return true;
    }
    static const char *const kind_names[] = {
        [HF_STRING] = "a string", [HF_NAME] = "a string", [HF_INT] = "an integer",
        [HF_INT64] = "an integer", [HF_BOOL] = "true or false",
    };
    http_error(rs, 400, "bad_request", "%s: must be %s", f->name, kind_names[f->kind]);
    return false;
}

bool http_read_fields(http_resp *rs, json_t *obj, const http_field *fields, size_t n)
{
    if (!json_is_object(obj)) {
        http_error(rs, 400, "bad_request", "the body must be a JSON object");
        return false;
    }
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        if (find_field(fields, n, key) == NULL) {
            http_error(rs, 400, "unknown_field", "unknown field \"%.100s\"", key);
            return false;
        }
    }
    for (size_t i = 0; i < n; i++) {
        v = json_object_get(obj, fields[i].name);
        /* null stands for "absent" so clients may send every field */
        bool given = v != NULL && !json_is_null(v);
        if (fields[i].present != NULL)
            *fields[i].present = given;
        if (!given) {
            if (fields[i].required) {
                http_error(rs, 400, "bad_request", "%s is required", fields[i].name);
                return false;
            }
            continue;
        }
        if (!read_field(rs, &fields[i], v))
            return false;
    }
    return true;
}

const char *http_query(const http_req *rq, const char *key)
{
    for (size_t i = 0; i < rq->n_args; i++)
        if (strcmp(rq->args[i].key, key) == 0)
            return rq->args[i].value;
    return NULL;
}

bool http_param_id(const http_req *rq, http_resp *rs, int64_t *id)
{
    if (rq->param == NULL || !cli_parse_int64(rq->param, 1, INT64_MAX, id)) {
        http_error(rs, 404, "not_found", "no job with id \"%.40s\"",
                   rq->param != NULL ? rq->param : "");
        return false;
    }
    return true;
}

json_t *http_instant(int64_t ms)
{
    if (ms == 0)
        return json_null();
    char buf[CHORE_TIME_TEXT_MAX];
    /* the contract is milliseconds always: chore_time_format drops ".000" */
    if (chore_time_format(ms, buf, sizeof buf) == 20)
        memcpy(buf + 19, ".000Z", 6);
    return json_string(buf);
}

json_t *http_payload(const char *text)
{
    if (text == NULL)
        return json_null();
    json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
    return v != NULL ? v : json_string(text);
}

char *http_dump(const json_t *v)
{
    return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

bool http_too_deep(const char *text, size_t len, int max)
{
    int depth = 0;
    bool in_string = false;
    for (size_t i = 0; i < len; i++) {
        char ch = text[i];
        if (in_string) {
            if (ch == '\\')
                i++; /* the escaped character cannot end the string */
            else if (ch == '"')
                in_string = false;
        } else if (ch == '"') {
            in_string = true;
        } else if (ch == '[' || ch == '{') {
            if (++depth > max)
                return true;
        } else if (ch == ']' || ch == '}') {
            depth--;
        }
    }
    return false;
}

bool http_parse_body(http_resp *rs, const char *body, size_t len, json_t **out)
{
    *out = NULL;
    json_t *v;
    if (len == 0) {
        v = json_object();
    } else {
        /* jansson recurses per level: refuse deep nesting before it parses */
        if (http_too_deep(body, len, HTTP_MAX_DEPTH)) {
            http_error(rs, 400, "invalid_json", "the body nests deeper than %d levels",
                       HTTP_MAX_DEPTH);
            return false;
        }
        json_error_t jerr;
        v = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
        if (v == NULL) {
            http_error(rs, 400, "invalid_json", "line %d column %d: %s", jerr.line, jerr.column,
                       jerr.text);
            return false;
        }
    }
    if (v == NULL) {
        http_error(rs, 500, "internal", "out of memory");
        return false;
    }
    if (!json_is_object(v)) {
        json_decref(v);
        http_error(rs, 400, "bad_request", "the body must be a JSON object");
        return false;
    }
    *out = v;
    return true;
}
