/*
 * config.c — the daemon's INI file (docs/CONFIG.md) read with inih into a
 * daemon_config: line numbers, sections and the file as a whole. A file is
 * read into memory and parsed as a buffer (daemon_config_load_buffer),
 * the entry point fuzz/fuzz_config.c drives.
 *
 * Debian's inih does not pass line numbers to the handler, and calls it
 * only for `key = value` lines (never for a section header, so an empty
 * section would go unseen; and it truncates section names to 50 bytes).
 * So the file is fed through our own reader (ini_parse_stream): it counts
 * lines and notices section headers itself, before inih hands over the keys
 * that follow them; inih's own section argument is not used.
 *
 * inih's settings are process-global variables in Debian's build. The
 * daemon is their only user; they are set before each parse, under a
 * mutex so two loads never interleave.
 */
#include <errno.h>
#include <ini.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "config_internal.h"

enum { MAX_LINE_BYTES = 1 << 20, MAX_FILE_BYTES = 16 << 20 };

static pthread_mutex_t ini_mu = PTHREAD_MUTEX_INITIALIZER;

void config_fail(config_loader *l, int line, const char *fmt, ...)
{
    if (l->failed)
        return;
    l->failed = true;
    if (l->errlen == 0)
        return;
    int n = snprintf(l->err, l->errlen, "%s:%d: ", l->path, line);
    if (n < 0 || (size_t)n >= l->errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(l->err + n, l->errlen - (size_t)n, fmt, ap);
    va_end(ap);
}

void daemon_config_defaults(daemon_config *out)
{
    *out = (daemon_config){
        .store = strdup("sqlite:chore.db"),
        .listen_host = strdup("127.0.0.1"),
        .listen_port = 7700,
        .workers = 4,
        .retention_ms = 24 * 3600 * 1000LL,
        .grace_ms = 30000,
        .log_level = CHORE_LOG_INFO,
    };
}

void daemon_config_free(daemon_config *cfg)
{
    if (cfg == NULL)
        return;
    free(cfg->store);
    free(cfg->listen_host);
    free(cfg->token);
    for (size_t i = 0; i < cfg->n_job_types; i++) {
        daemon_job_type *t = &cfg->job_types[i];
        free(t->name);
        free(t->command);
        free(t->queue);
    }
    free(cfg->job_types);
    for (size_t i = 0; i < cfg->n_schedules; i++) {
        daemon_schedule *s = &cfg->schedules[i];
        free(s->name);
        free(s->expr);
        free(s->zone);
        free(s->job);
        free(s->payload);
    }
    free(cfg->schedules);
    *cfg = (daemon_config){0};
}

/* Trim spaces and tabs at both ends, in place. */
static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    char *end = s + strlen(s);
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' || end[-1] == '\r'))
        end--;
    *end = '\0';
    return s;
}

/* The line of an earlier section of this kind named `name`, or 0. */
static int earlier_section(const config_loader *l, config_section kind, const char *name,
                           const int *lines)
{
    size_t n = kind == SECTION_JOB ? l->cfg->n_job_types : l->cfg->n_schedules;
    for (size_t i = 0; i < n; i++) {
        const char *other =
            kind == SECTION_JOB ? l->cfg->job_types[i].name : l->cfg->schedules[i].name;
        if (strcmp(other, name) == 0)
            return lines[i];
    }
    return 0;
}

/* Section header lines of each job type and schedule, for duplicate reports. */
typedef struct section_lines {
    int *jobs;
    int *schedules;
} section_lines;

/* Start the section named by header text `inside` (between the brackets). */
static void begin_section(config_loader *l, section_lines *sl, char *inside)
{
    config_end_section(l);
    l->section = SECTION_NONE;
    l->seen = 0;
    l->cron_line = l->zone_line = 0;
    l->section_line = l->lineno;
    char *text = trim(inside);
    if (strcmp(text, "chore") == 0) {
        if (l->chore_line != 0) {
            config_fail(l, l->lineno, "duplicate section [chore] (first at line %d)",
                        l->chore_line);
            return;
        }
        l->chore_line = l->lineno;
        l->section = SECTION_CHORE;
        return;
    }
    config_section kind = SECTION_NONE;
    const char *word = NULL;
    if (strncmp(text, "job", 3) == 0 && (text[3] == '\0' || text[3] == ' ' || text[3] == '\t'))
        kind = SECTION_JOB, word = "job";
    else if (strncmp(text, "schedule", 8) == 0 &&
             (text[8] == '\0' || text[8] == ' ' || text[8] == '\t'))
        kind = SECTION_SCHEDULE, word = "schedule";
    if (kind == SECTION_NONE) {
        config_fail(l, l->lineno,
                    "unknown section [%s] (expected [chore], [job NAME] or [schedule NAME])",
                    text);
        return;
    }
    char *name = trim(text + strlen(word));
    if (name[0] == '\0') {
        config_fail(l, l->lineno, "[%s] needs a name: [%s NAME]", word, word);
        return;
    }
    if (!chore_name_valid(name)) {
        config_fail(l, l->lineno, "[%s %s]: a name is 1-%d bytes without control characters",
                    word, name, CHORE_NAME_MAX);
        return;
    }
    int first = earlier_section(l, kind, name, kind == SECTION_JOB ? sl->jobs : sl->schedules);
    if (first != 0) {
        config_fail(l, l->lineno, "duplicate section [%s %s] (first at line %d)", word, name,
                    first);
        return;
    }
    daemon_config *cfg = l->cfg;
    size_t n = kind == SECTION_JOB ? cfg->n_job_types : cfg->n_schedules;
    int *grown_lines = realloc(kind == SECTION_JOB ? sl->jobs : sl->schedules,
                               (n + 1) * sizeof *grown_lines);
    if (grown_lines == NULL) {
        config_fail(l, l->lineno, "out of memory");
        return;
    }
    *(kind == SECTION_JOB ? &sl->jobs : &sl->schedules) = grown_lines;
    grown_lines[n] = l->lineno;
    char *copy = strdup(name);
    void *grown = kind == SECTION_JOB
                      ? (void *)realloc(cfg->job_types, (n + 1) * sizeof *cfg->job_types)
                      : (void *)realloc(cfg->schedules, (n + 1) * sizeof *cfg->schedules);
    if (grown == NULL || copy == NULL) {
        if (grown != NULL)
            *(kind == SECTION_JOB ? (void **)&cfg->job_types : (void **)&cfg->schedules) = grown;
        free(copy);
        config_fail(l, l->lineno, "out of memory");
        return;
    }
    if (kind == SECTION_JOB) {
        cfg->job_types = grown;
        config_job_defaults(&cfg->job_types[n]);
        cfg->job_types[n].name = copy;
        cfg->n_job_types = n + 1;
    } else {
        cfg->schedules = grown;
        cfg->schedules[n] = (daemon_schedule){.name = copy};
        cfg->n_schedules = n + 1;
    }
    l->section = kind;
    l->index = n;
}

/* What the reader needs: the loader and the section lines. */
typedef struct reader_state {
    config_loader *l;
    section_lines lines;
} reader_state;

/* inih's fgets-like reader: counts lines and starts sections. inih may read
 * one long line in several chunks; only a chunk at a line's start counts. */
static char *read_chunk(char *str, int num, void *stream)
{
    reader_state *rs = stream;
    config_loader *l = rs->l;
    if (l->failed)
        return NULL; /* stop at the first error */
    if (fgets(str, num, l->file) == NULL)
        return NULL;
    bool starts_line = l->at_line_start;
    size_t len = strlen(str);
    l->at_line_start = len > 0 && str[len - 1] == '\n';
    if (!starts_line)
        return str;
    l->lineno++;
    const char *p = str;
    while (*p == ' ' || *p == '\t')
        p++;
    if (l->lineno == 1 && (unsigned char)p[0] == 0xEF && (unsigned char)p[1] == 0xBB &&
        (unsigned char)p[2] == 0xBF)
        p += 3; /* a UTF-8 byte order mark, which inih skips too */
    if (*p != '[')
        return str;
    if (!l->at_line_start && !feof(l->file)) {
        config_fail(l, l->lineno, "section header too long");
        return NULL;
    }
    char header[4096];
    snprintf(header, sizeof header, "%s", p + 1);
    char *close = strchr(header, ']');
    if (close == NULL) {
        config_fail(l, l->lineno, "section header without a closing ]");
        return NULL;
    }
    *close = '\0';
    if (trim(close + 1)[0] != '\0') {
        config_fail(l, l->lineno, "unexpected text after ]");
        return NULL;
    }
    begin_section(l, &rs->lines, header);
    return l->failed ? NULL : str;
}

/* inih's handler for each `name = value`. */
static int on_key(void *user, const char *section, const char *name, const char *value)
{
    (void)section; /* see the top of the file */
    config_loader *l = ((reader_state *)user)->l;
    if (!l->failed)
        config_key(l, name, value);
    return !l->failed;
}

/* Parse l->file (the config's text) into l->cfg under the inih settings this format needs. */
static void parse(config_loader *l)
{
    reader_state rs = {.l = l};
    pthread_mutex_lock(&ini_mu);
    ini_allow_multiline = false;      /* a continued value would need its own rules */
    ini_allow_inline_comments = false; /* `;` belongs to shell commands */
    ini_stop_on_first_error = true;
    ini_allow_no_value = false;
    ini_allow_bom = true;
    ini_use_stack = false; /* a heap line that grows: long commands are fine */
    ini_allow_realloc = true;
    ini_max_line = MAX_LINE_BYTES;
    int rc = ini_parse_stream(read_chunk, &rs, on_key, &rs);
    pthread_mutex_unlock(&ini_mu);
    if (!l->failed && rc > 0)
        config_fail(l, rc, "expected NAME = VALUE, [chore], [job NAME] or [schedule NAME]");
    else if (!l->failed && rc == -2)
        config_fail(l, l->lineno, "out of memory");
    else if (!l->failed && rc == 0 && ferror(l->file))
        config_fail(l, l->lineno, "read error: %s", strerror(errno));
    if (!l->failed)
        config_end_section(l);
    free(rs.lines.jobs);
    free(rs.lines.schedules);
}

int daemon_config_load_buffer(const char *text, size_t len, const char *name, daemon_config *out,
                              char *err, size_t errlen)
{
    if (errlen > 0)
        err[0] = '\0';
    if (name == NULL)
        name = "config";
    if ((text == NULL && len > 0) || out == NULL) {
        snprintf(err, errlen, "%s: no config given", name);
        return -1;
    }
    daemon_config cfg;
    daemon_config_defaults(&cfg);
    config_loader l = {
        .path = name, .cfg = &cfg, .at_line_start = true, .err = err, .errlen = errlen};
    /* inih and the line reader see C strings: a NUL byte would silently
     * cut a line short and throw the line count off */
    const char *nul = len > 0 ? memchr(text, '\0', len) : NULL;
    if (nul != NULL) {
        int line = 1;
        for (const char *p = text; p < nul; p++)
            line += *p == '\n';
        config_fail(&l, line, "a NUL byte in the file");
    } else if (cfg.store == NULL || cfg.listen_host == NULL) {
        config_fail(&l, 0, "out of memory");
    } else if (len > 0) { /* an empty file is all defaults */
        l.file = fmemopen((void *)text, len, "r");
        if (l.file == NULL) {
            config_fail(&l, 0, "out of memory");
        } else {
            parse(&l);
            fclose(l.file);
        }
    }
    if (l.failed) {
        daemon_config_free(&cfg);
        return -1;
    }
    daemon_config_free(out);
    *out = cfg;
    return 0;
}

int daemon_config_load(const char *path, daemon_config *out, char *err, size_t errlen)
{
    if (errlen > 0)
        err[0] = '\0';
    if (path == NULL || out == NULL) {
        snprintf(err, errlen, "no config file given");
        return -1;
    }
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    /* the whole file in memory, so a file and a buffer are read alike */
    char *text = NULL;
    size_t len = 0, cap = 0;
    const char *why = NULL;
    for (;;) {
        if (len == cap) {
            if (cap >= MAX_FILE_BYTES) {
                why = "is larger than 16 MiB";
                break;
            }
            cap = cap == 0 ? 4096 : cap * 2;
            char *grown = realloc(text, cap);
            if (grown == NULL) {
                why = "out of memory";
                break;
            }
            text = grown;
        }
        size_t n = fread(text + len, 1, cap - len, f);
        len += n;
        if (n == 0) {
            if (ferror(f))
                why = strerror(errno);
            break;
        }
    }
    fclose(f);
    int rc = -1;
    if (why != NULL)
        snprintf(err, errlen, "%s: cannot read: %s", path, why);
    else
        rc = daemon_config_load_buffer(text, len, path, out, err, errlen);
    free(text);
    return rc;
}
