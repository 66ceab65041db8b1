/*
 * config_keys.c — what each key of the daemon's config file means, how its
 * value is checked, and the rules a whole section must follow (required
 * keys, a schedule's cron expression in its zone). docs/CONFIG.md is the
 * user's description of the same.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cli_util.h"
#include "config_internal.h"

/* The keys of each section; a key's index is its bit in loader.seen. */
static const char *const chore_keys[] = {"store", "listen", "workers", "token",
                                         "retention", "grace", "log_level", "durability",
                                         NULL};
static const char *const job_keys[] = {"command", "timeout", "max_attempts", "backoff",
                                       "backoff_max", "queue", "concurrency", "kill_grace",
                                       NULL};
static const char *const schedule_keys[] = {"cron", "zone", "job", "payload", NULL};

enum { JOB_COMMAND = 0, SCHEDULE_CRON = 0, SCHEDULE_JOB = 2 };

void config_job_defaults(daemon_job_type *t)
{
    *t = (daemon_job_type){
        .timeout_ms = 3600 * 1000LL,
        .max_attempts = 25,
        .backoff_base_ms = 1000,
        .backoff_max_ms = 3600 * 1000LL,
        .kill_grace_ms = 5000,
    };
}

/* "[job NAME]: " or "[schedule NAME]: " for messages about the current section. */
static void section_label(const config_loader *l, char *buf, size_t len)
{
    if (l->section == SECTION_JOB)
        snprintf(buf, len, "[job %s]: ", l->cfg->job_types[l->index].name);
    else if (l->section == SECTION_SCHEDULE)
        snprintf(buf, len, "[schedule %s]: ", l->cfg->schedules[l->index].name);
    else
        buf[0] = '\0';
}

/* Fail with "[section]: key: why" at the current line. */
static void bad_value(config_loader *l, const char *key, const char *why, const char *value)
{
    char label[200];
    section_label(l, label, sizeof label);
    if (value != NULL)
        config_fail(l, l->lineno, "%s%s: \"%s\" %s", label, key, value, why);
    else
        config_fail(l, l->lineno, "%s%s: %s", label, key, why);
}

/* A whole decimal number in [min, max]. */
static bool int_value(config_loader *l, const char *key, const char *value, int64_t min,
                      int64_t max, int64_t *out)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(value, &end, 10);
    if (value[0] == '\0' || value[0] == ' ' || value[0] == '+' || *end != '\0' || errno != 0) {
        bad_value(l, key, "is not a number", value);
        return false;
    }
    if (v < min || v > max) {
        char why[96];
        snprintf(why, sizeof why, "is out of range %" PRId64 "-%" PRId64, min, max);
        bad_value(l, key, why, value);
        return false;
    }
    *out = v;
    return true;
}

/* A duration ("90s", "1h30m", "500ms", "2d"); a bare "0" when zero_ok. At
 * most CHORE_TIME_MAX_MS, so that a clock reading plus it never overflows. */
static bool duration_value(config_loader *l, const char *key, const char *value, bool zero_ok,
                           int64_t *out)
{
    int64_t ms = 0;
    if (strcmp(value, "0") != 0 && !cli_parse_duration_ms(value, &ms)) {
        bad_value(l, key, "is not a duration like 90s, 1h30m or 500ms", value);
        return false;
    }
    if (ms > CHORE_TIME_MAX_MS) {
        bad_value(l, key, "is longer than 2932896d", value);
        return false;
    }
    if (ms == 0 && !zero_ok) {
        bad_value(l, key, "must be more than 0", value);
        return false;
    }
    *out = ms;
    return true;
}

/* A copy of a non-empty value into *slot (freeing what was there). */
static bool string_value(config_loader *l, const char *key, const char *value, char **slot)
{
    if (value[0] == '\0') {
        bad_value(l, key, "must not be empty", NULL);
        return false;
    }
    char *copy = strdup(value);
    if (copy == NULL) {
        config_fail(l, l->lineno, "out of memory");
        return false;
    }
    free(*slot);
    *slot = copy;
    return true;
}

/* A name (queue, job): string_value plus the name rules. */
static bool name_value(config_loader *l, const char *key, const char *value, char **slot)
{
    if (value[0] != '\0' && !chore_name_valid(value)) {
        char why[80];
        snprintf(why, sizeof why, "is not a name of 1-%d bytes without control characters",
                 CHORE_NAME_MAX);
        bad_value(l, key, why, value);
        return false;
    }
    return string_value(l, key, value, slot);
}

/* HOST:PORT, with an IPv6 host in brackets. */
static void listen_value(config_loader *l, const char *value)
{
    char host[256];
    const char *port;
    if (value[0] == '[') {
        const char *close = strchr(value, ']');
        if (close == NULL || close[1] != ':' || (size_t)(close - value - 1) >= sizeof host) {
            bad_value(l, "listen", "is not HOST:PORT (IPv6 as [::1]:7700)", value);
            return;
        }
        memcpy(host, value + 1, (size_t)(close - value - 1));
        host[close - value - 1] = '\0';
        port = close + 2;
        unsigned char addr[16];
        if (inet_pton(AF_INET6, host, addr) != 1) {
            bad_value(l, "listen", "does not hold an IPv6 address in its brackets", value);
            return;
        }
    } else {
        const char *colon = strrchr(value, ':');
        if (colon == NULL || colon == value || (size_t)(colon - value) >= sizeof host ||
            memchr(value, ':', (size_t)(colon - value)) != NULL) {
            bad_value(l, "listen", "is not HOST:PORT (IPv6 as [::1]:7700)", value);
            return;
        }
        memcpy(host, value, (size_t)(colon - value));
        host[colon - value] = '\0';
        port = colon + 1;
        unsigned char addr[4];
        if (strcmp(host, "localhost") != 0 && inet_pton(AF_INET, host, addr) != 1) {
            bad_value(l, "listen", "does not name an IP address or localhost", value);
            return;
        }
    }
    int64_t p;
    if (!int_value(l, "listen port", port, 0, 65535, &p))
        return;
    char *copy = NULL;
    if (!string_value(l, "listen", host, &copy))
        return;
    free(l->cfg->listen_host);
    l->cfg->listen_host = copy;
    l->cfg->listen_port = (int)p;
}

static void chore_key(config_loader *l, int key, const char *value)
{
    static const char *const levels[] = {"info", "debug", "warn", "error", "off", NULL};
    daemon_config *cfg = l->cfg;
    int64_t v;
    switch (key) {
    case 0: string_value(l, "store", value, &cfg->store); break;
    case 1: listen_value(l, value); break;
    case 2:
        if (int_value(l, "workers", value, 1, 1024, &v))
            cfg->workers = (int)v;
        break;
    case 3: string_value(l, "token", value, &cfg->token); break;
    case 4:
        if (strcmp(value, "forever") == 0)
            cfg->retention_ms = -1;
        else
            duration_value(l, "retention", value, false, &cfg->retention_ms);
        break;
    case 5: duration_value(l, "grace", value, true, &cfg->grace_ms); break;
    case 6:
        for (int i = 0; levels[i] != NULL; i++) {
            if (strcmp(levels[i], value) == 0) {
                cfg->log_level = (chore_log_level)i; /* the order of chore_log_level */
                return;
            }
        }
        bad_value(l, "log_level", "is not one of debug, info, warn, error, off", value);
        break;
    case 7:
        if (strcmp(value, "full") == 0)
            cfg->durability = CHORE_DURABLE_FULL;
        else if (strcmp(value, "process") == 0)
            cfg->durability = CHORE_DURABLE_PROCESS;
        else
            bad_value(l, "durability", "is not one of full, process", value);
        break;
    }
}

static void job_key(config_loader *l, int key, const char *value)
{
    daemon_job_type *t = &l->cfg->job_types[l->index];
    int64_t v;
    switch (key) {
    case 0: string_value(l, "command", value, &t->command); break;
    case 1: duration_value(l, "timeout", value, true, &t->timeout_ms); break;
    case 2:
        if (int_value(l, "max_attempts", value, 0, 1000000, &v))
            t->max_attempts = (int)v;
        break;
    case 3: duration_value(l, "backoff", value, false, &t->backoff_base_ms); break;
    case 4: duration_value(l, "backoff_max", value, false, &t->backoff_max_ms); break;
    case 5: name_value(l, "queue", value, &t->queue); break;
    case 6:
        if (int_value(l, "concurrency", value, 0, 100000, &v))
            t->concurrency = (int)v;
        break;
    case 7: duration_value(l, "kill_grace", value, true, &t->kill_grace_ms); break;
    }
}

static void schedule_key(config_loader *l, int key, const char *value)
{
    daemon_schedule *s = &l->cfg->schedules[l->index];
    switch (key) {
    case 0:
        if (string_value(l, "cron", value, &s->expr))
            l->cron_line = l->lineno; /* checked with the zone at the section's end */
        break;
    case 1:
        if (string_value(l, "zone", value, &s->zone))
            l->zone_line = l->lineno;
        break;
    case 2: name_value(l, "job", value, &s->job); break;
    case 3: {
        json_error_t e;
        json_t *v = json_loads(value, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &e);
        if (v == NULL) {
            char why[256];
            snprintf(why, sizeof why, "is not valid JSON: %s", e.text);
            bad_value(l, "payload", why, value);
            return;
        }
        json_decref(v);
        string_value(l, "payload", value, &s->payload);
        break;
    }
    }
}

void config_key(config_loader *l, const char *name, const char *value)
{
    static const char *const *const keys_of[] = {
        [SECTION_CHORE] = chore_keys, [SECTION_JOB] = job_keys, [SECTION_SCHEDULE] = schedule_keys};
    if (l->section == SECTION_NONE) {
        config_fail(l, l->lineno, "key \"%s\" outside a section (settings go under [chore])",
                    name);
        return;
    }
    const char *const *keys = keys_of[l->section];
    int key = 0;
    while (keys[key] != NULL && strcmp(keys[key], name) != 0)
        key++;
    if (keys[key] == NULL) {
        char label[200];
        section_label(l, label, sizeof label);
        if (l->section == SECTION_CHORE)
            snprintf(label, sizeof label, "[chore]");
        else
            label[strlen(label) - 2] = '\0'; /* drop ": " */
        config_fail(l, l->lineno, "unknown key \"%s\" in %s", name, label);
        return;
    }
    if (l->seen & (1u << key)) {
        bad_value(l, name, "is given twice in this section", NULL);
        return;
    }
    l->seen |= 1u << key;
    if (l->section == SECTION_CHORE)
        chore_key(l, key, value);
    else if (l->section == SECTION_JOB)
        job_key(l, key, value);
    else
        schedule_key(l, key, value);
}

/* A schedule's cron expression, parsed in its zone as the daemon will. */
static void check_schedule(config_loader *l, const daemon_schedule *s)
{
    char why[256];
    chore_cron *cron = NULL;
    if (s->zone != NULL) { /* the zone alone first, to blame the right line */
        int rc = chore_cron_parse(&cron, "* * * * *", s->zone, why, sizeof why);
        chore_cron_free(cron);
        if (rc != CHORE_OK) {
            config_fail(l, l->zone_line, "[schedule %s]: %s", s->name, why); /* "zone: ..." */
            return;
        }
    }
    int rc = chore_cron_parse(&cron, s->expr, s->zone, why, sizeof why);
    chore_cron_free(cron);
    if (rc != CHORE_OK)
        config_fail(l, l->cron_line, "[schedule %s]: cron: %s", s->name, why);
}

void config_end_section(config_loader *l)
{
    if (l->failed)
        return;
    if (l->section == SECTION_JOB) {
        const daemon_job_type *t = &l->cfg->job_types[l->index];
        if (!(l->seen & (1u << JOB_COMMAND)))
            config_fail(l, l->section_line, "[job %s]: missing required key \"command\"",
                        t->name);
        else if (t->backoff_max_ms < t->backoff_base_ms)
            config_fail(l, l->section_line, "[job %s]: backoff_max is less than backoff",
                        t->name);
    } else if (l->section == SECTION_SCHEDULE) {
        const daemon_schedule *s = &l->cfg->schedules[l->index];
        if (!(l->seen & (1u << SCHEDULE_CRON)))
            config_fail(l, l->section_line, "[schedule %s]: missing required key \"cron\"",
                        s->name);
        else if (!(l->seen & (1u << SCHEDULE_JOB)))
            config_fail(l, l->section_line, "[schedule %s]: missing required key \"job\"",
                        s->name);
        else
            check_schedule(l, s);
    }
}
