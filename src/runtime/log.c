/* log.c — structured logs: one logfmt line per event,
 *   time=2026-11-22T10:00:00.123Z level=info component=chore.rescuer msg="..." jobs=3
 * given to the config's log_fn, or written to stderr with one write() so
 * lines from several threads never interleave. Lines below the config's
 * level are dropped before anything is formatted. No allocation: a line
 * longer than LINE_MAX_BYTES is cut (values stay quoted and escaped). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "runtime/runtime.h"

enum {
    LINE_MAX_BYTES = 4096, /* a line, without its newline */
    MSG_MAX_BYTES = 1024,  /* a formatted message, before escaping */
    CLOSE_RESERVE = 8,     /* room kept for a value's closing quote and "..." */
};

/* How severe each level is (the enum's order is not severity order). */
static int severity(chore_log_level level)
{
    switch (level) {
    case CHORE_LOG_DEBUG: return 0;
    case CHORE_LOG_INFO: return 1;
    case CHORE_LOG_WARN: return 2;
    case CHORE_LOG_ERROR: return 3;
    default: return 4; /* CHORE_LOG_OFF */
    }
}

static const char *level_name(chore_log_level level)
{
    switch (level) {
    case CHORE_LOG_DEBUG: return "debug";
    case CHORE_LOG_WARN: return "warn";
    case CHORE_LOG_ERROR: return "error";
    default: return "info";
    }
}

/* The level a config logs at; a NULL config means the defaults. */
static chore_log_level config_level(const chore_config *cfg)
{
    return cfg != NULL ? cfg->log_level : CHORE_LOG_INFO;
}

/* Whether a line at `level` would be logged (c NULL: the defaults). */
bool rt_log_enabled(const chore *c, chore_log_level level)
{
    return level != CHORE_LOG_OFF &&
           severity(level) >= severity(config_level(c != NULL ? &c->cfg : NULL));
}

/* A line being built in a fixed buffer. */
typedef struct line {
    char buf[LINE_MAX_BYTES + 1]; /* + 1: the newline for stderr */
    size_t len;
} line;

static void put_raw(line *l, const char *s)
{
    size_t n = strlen(s);
    if (n > LINE_MAX_BYTES - l->len)
        n = LINE_MAX_BYTES - l->len;
    memcpy(l->buf + l->len, s, n);
    l->len += n;
}

/* Whether a value must be quoted: empty, or holding a space, quote, =,
 * backslash or control character. */
static bool needs_quotes(const char *s)
{
    if (*s == '\0')
        return true;
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        if (*p <= ' ' || *p == '"' || *p == '=' || *p == '\\' || *p == 0x7f)
            return true;
    }
    return false;
}

/* Append s quoted and escaped (\" \\ \n \r \t, other control bytes as
 * \u00XX); when the line is full, cut at a character boundary and end
 * with "...". */
static void put_quoted(line *l, const char *s)
{
    if (l->len + CLOSE_RESERVE > LINE_MAX_BYTES)
        return;
    size_t limit = LINE_MAX_BYTES - CLOSE_RESERVE;
    l->buf[l->len++] = '"';
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        char esc[8];
        size_t n;
        switch (*p) {
        case '"': n = (size_t)snprintf(esc, sizeof esc, "\\\""); break;
        case '\\': n = (size_t)snprintf(esc, sizeof esc, "\\\\"); break;
        case '\n': n = (size_t)snprintf(esc, sizeof esc, "\\n"); break;
        case '\r': n = (size_t)snprintf(esc, sizeof esc, "\\r"); break;
        case '\t': n = (size_t)snprintf(esc, sizeof esc, "\\t"); break;
        default:
            if (*p < 0x20 || *p == 0x7f) {
                n = (size_t)snprintf(esc, sizeof esc, "\\u%04x", *p);
            } else {
                esc[0] = (char)*p;
                n = 1;
            }
            break;
        }
        if (l->len + n > limit) {
            /* Do not leave half a UTF-8 character behind. */
            while (l->len > 0 && ((unsigned char)l->buf[l->len - 1] & 0xc0) == 0x80)
                l->len--;
            if (l->len > 0 && ((unsigned char)l->buf[l->len - 1] & 0xc0) == 0xc0)
                l->len--;
            memcpy(l->buf + l->len, "...", 3);
            l->len += 3;
            break;
        }
        memcpy(l->buf + l->len, esc, n);
        l->len += n;
    }
    l->buf[l->len++] = '"';
}

/* Append a value: bare when it can be, else quoted. */
static void put_value(line *l, const char *s)
{
    if (needs_quotes(s))
        put_quoted(l, s);
    else if (l->len + strlen(s) + CLOSE_RESERVE <= LINE_MAX_BYTES)
        put_raw(l, s);
    else
        put_quoted(l, s); /* too long: cut, with quotes */
}

/* Start a line: time, level, component and message. */
static void begin(line *l, chore_log_level level, const char *component, const char *msg)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[64];
    size_t n = strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(when + n, sizeof when - n, ".%03ldZ", ts.tv_nsec / 1000000);
    l->len = 0;
    put_raw(l, "time=");
    put_raw(l, when);
    put_raw(l, " level=");
    put_raw(l, level_name(level));
    put_raw(l, " component=");
    put_value(l, component != NULL ? component : "chore");
    put_raw(l, " msg=");
    put_quoted(l, msg);
}

/* Append ` key=value` pairs from a NULL-terminated list of strings. */
static void put_fields(line *l, va_list ap)
{
    const char *key;
    while ((key = va_arg(ap, const char *)) != NULL) {
        const char *value = va_arg(ap, const char *);
        if (l->len + strlen(key) + 2 + CLOSE_RESERVE > LINE_MAX_BYTES)
            continue; /* no room for this field */
        put_raw(l, " ");
        put_raw(l, key);
        put_raw(l, "=");
        put_value(l, value != NULL ? value : "");
    }
}

/* Hand a finished line to the log function, or write it to stderr. */
static void emit(const chore_config *cfg, chore_log_level level, const char *component,
                 line *l)
{
    if (cfg != NULL && cfg->log_fn != NULL) {
        l->buf[l->len] = '\0';
        cfg->log_fn(cfg->log_ud, level, component != NULL ? component : "chore", l->buf);
        return;
    }
    l->buf[l->len++] = '\n';
    size_t off = 0;
    while (off < l->len) {
        ssize_t w = write(STDERR_FILENO, l->buf + off, l->len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return; /* nowhere to log to */
        off += (size_t)w;
    }
}

/* Format and emit a message-only line. */
static void vlog(const chore_config *cfg, chore_log_level level, const char *component,
                 const char *fmt, va_list ap)
{
    char msg[MSG_MAX_BYTES];
    vsnprintf(msg, sizeof msg, fmt, ap);
    line l;
    begin(&l, level, component, msg);
    emit(cfg, level, component, &l);
}

/* Log a printf-formatted message. */
void rt_log(const chore *c, chore_log_level level, const char *component, const char *fmt,
            ...)
{
    if (!rt_log_enabled(c, level))
        return;
    va_list ap;
    va_start(ap, fmt);
    vlog(c != NULL ? &c->cfg : NULL, level, component, fmt, ap);
    va_end(ap);
}

/* Log a message with NULL-terminated key, value string pairs. */
void rt_log_kv(const chore *c, chore_log_level level, const char *component, const char *msg,
               ...)
{
    if (!rt_log_enabled(c, level))
        return;
    line l;
    begin(&l, level, component, msg);
    va_list ap;
    va_start(ap, msg);
    put_fields(&l, ap);
    va_end(ap);
    emit(c != NULL ? &c->cfg : NULL, level, component, &l);
}
