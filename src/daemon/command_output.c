/*
 * command_output.c — what a command job's run becomes: on exit 0 the
 * job's result {"exit_code": 0, "stdout": "...", "stderr": "..."}, else
 * an error ("exit status 3; stderr: ...", "killed by signal SIGKILL",
 * "timed out after 2s") and a negative status so the job is retried.
 * Output is arbitrary bytes and JSON text must be UTF-8: bad bytes become
 * U+FFFD.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "command_internal.h"

/* How much of stderr an error message quotes: its last lines, at most this long. */
enum { ERROR_TAIL_BYTES = 1000, ERROR_TAIL_LINES = 5 };

/* The length of the valid UTF-8 sequence at s (n bytes left), or 0. */
static size_t utf8_sequence(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF; /* the second byte's range */
    if (c >= 0x01 && c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0; /* no overlong forms */
        else if (c == 0xED)
            hi = 0x9F; /* no surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F; /* nothing past U+10FFFF */
    } else {
        return 0; /* NUL, a continuation byte, or never valid */
    }
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    }
    return len;
}

char *command_utf8(const unsigned char *s, size_t n, bool cut)
{
    size_t i = 0;
    while (cut && i < n && i < 3 && (s[i] & 0xC0) == 0x80)
        i++; /* the tail of a character whose start was dropped */
    char *out = malloc(3 * (n - i) + 1);
    if (out == NULL)
        return NULL;
    size_t o = 0;
    while (i < n) {
        size_t len = utf8_sequence(s + i, n - i);
        if (len == 0) {
            memcpy(out + o, "\xEF\xBF\xBD", 3); /* U+FFFD */
            o += 3;
            i++;
        } else {
            memcpy(out + o, s + i, len);
            o += len;
            i += len;
        }
    }
    out[o] = '\0';
    return out;
}

/* The ring's bytes in order, as valid UTF-8. */
static char *ring_text(const command_ring *r)
{
    unsigned char *flat = malloc(r->len + 1);
    if (flat == NULL)
        return NULL;
    size_t first = r->len < COMMAND_OUTPUT_MAX - r->start ? r->len : COMMAND_OUTPUT_MAX - r->start;
    memcpy(flat, r->buf + r->start, first);
    memcpy(flat + first, r->buf, r->len - first);
    char *text = command_utf8(flat, r->len, r->total > r->len);
    free(flat);
    return text;
}

/* Set the result of a successful run. */
static int set_result(chore_job *job, const command_run *run)
{
    char *out = ring_text(&run->out), *err = ring_text(&run->err);
    json_t *v = NULL;
    if (out != NULL && err != NULL)
        v = json_pack("{s:i, s:s, s:s}", "exit_code", 0, "stdout", out, "stderr", err);
    if (v != NULL && run->out.total > run->out.len)
        json_object_set_new(v, "stdout_dropped", json_integer((json_int_t)(run->out.total -
                                                                           run->out.len)));
    if (v != NULL && run->err.total > run->err.len)
        json_object_set_new(v, "stderr_dropped", json_integer((json_int_t)(run->err.total -
                                                                           run->err.len)));
    char *text = v != NULL ? json_dumps(v, JSON_COMPACT) : NULL;
    int rc = text != NULL ? chore_job_set_result(job, text) : CHORE_ENOMEM;
    free(text);
    json_decref(v);
    free(out);
    free(err);
    return rc;
}

/* The last lines of stderr for an error message ("" when none). */
static char *stderr_tail(const command_run *run)
{
    char *all = ring_text(&run->err);
    if (all == NULL)
        return NULL;
    size_t len = strlen(all);
    while (len > 0 && (all[len - 1] == '\n' || all[len - 1] == '\r'))
        all[--len] = '\0';
    size_t from = 0, lines = 0;
    for (size_t i = len; i > 0; i--) {
        if (all[i - 1] == '\n' && ++lines == ERROR_TAIL_LINES) {
            from = i;
            break;
        }
    }
    if (len - from > ERROR_TAIL_BYTES) {
        from = len - ERROR_TAIL_BYTES;
        while ((all[from] & 0xC0) == 0x80)
            from++; /* start on a whole character */
    }
    memmove(all, all + from, len - from + 1);
    return all;
}

/* "2s", "1m30s", "200ms", "1h": how a timeout reads in an error. */
static void format_duration(int64_t ms, char *buf, size_t len)
{
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {{"d", 86400000}, {"h", 3600000}, {"m", 60000}, {"s", 1000}, {"ms", 1}};
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof units / sizeof units[0] && o < len; i++) {
        if (ms >= units[i].ms) {
            int n = snprintf(buf + o, len - o, "%lld%s", (long long)(ms / units[i].ms),
                             units[i].unit);
            o += n > 0 ? (size_t)n : 0;
            ms %= units[i].ms;
        }
    }
    if (buf[0] == '\0')
        snprintf(buf, len, "0s");
}

int command_report(chore_job *job, const daemon_job_type *t, const command_run *run)
{
    char what[160];
    int rc = CHORE_EINVAL; /* any negative code: the library retries with backoff */
    if (run->spawn_errno != 0) {
        char why[96];
        snprintf(what, sizeof what, "cannot start /bin/sh: %s",
                 strerror_r(run->spawn_errno, why, sizeof why));
        chore_job_set_error(job, what);
        return rc;
    }
    if (run->timed_out) {
        char d[64];
        format_duration(t->timeout_ms, d, sizeof d);
        snprintf(what, sizeof what, "timed out after %s", d);
        rc = CHORE_ETIMEDOUT;
    } else if (WIFEXITED(run->status) && WEXITSTATUS(run->status) == 0) {
        return set_result(job, run);
    } else if (WIFEXITED(run->status)) {
        snprintf(what, sizeof what, "%sexit status %d",
                 run->stopped ? "stopped (the daemon is stopping or the job timed out): " : "",
                 WEXITSTATUS(run->status));
    } else {
        const char *name = sigabbrev_np(WTERMSIG(run->status));
        snprintf(what, sizeof what, "%skilled by signal %s%s",
                 run->stopped ? "stopped (the daemon is stopping or the job timed out): " : "",
                 name != NULL ? "SIG" : "", name != NULL ? name : "?");
    }
    if (run->stopped)
        rc = CHORE_ESTOPPED;
    char *tail = stderr_tail(run);
    char *msg = NULL;
    if (tail != NULL && tail[0] != '\0' && asprintf(&msg, "%s; stderr: %s", what, tail) < 0)
        msg = NULL;
    chore_job_set_error(job, msg != NULL ? msg : what);
    free(msg);
    free(tail);
    return rc;
}
