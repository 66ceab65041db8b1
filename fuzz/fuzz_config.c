/*
 * fuzz_config.c — libFuzzer target for the daemon's config parser: the
 * input is the text of an INI file, given to daemon_config_load_buffer.
 * It must accept it or refuse it with one line "NAME:LINE: reason" (or
 * "NAME: reason"), leave the caller's config alone on refusal, give a
 * well-formed config on success, and cut the same message short (never
 * overrun) in a small error buffer. tests/test_daemon_corpus.c #includes
 * this file to replay the corpus (fuzz/corpus/config) in `make test`.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CONFIG_NAME "fuzz.ini"

/* "fuzz.ini:LINE: reason" or "fuzz.ini: reason", one line, a reason given. */
static int fuzz_config_well_formed(const char *err)
{
    size_t n = strlen(FUZZ_CONFIG_NAME);
    if (strncmp(err, FUZZ_CONFIG_NAME ":", n + 1) != 0)
        return 0;
    const char *p = err + n + 1;
    if (isdigit((unsigned char)*p)) {
        while (isdigit((unsigned char)*p))
            p++;
        if (*p != ':')
            return 0;
        p++;
    }
    return p[0] == ' ' && p[1] != '\0' && p[1] != ' ' && strchr(err, '\n') == NULL;
}

/* What a loaded config promises: every string set, names and ranges kept. */
static void fuzz_config_check_ok(const daemon_config *cfg)
{
    FUZZ_CHECK(cfg->store != NULL && cfg->store[0] != '\0');
    FUZZ_CHECK(cfg->listen_host != NULL && cfg->listen_host[0] != '\0');
    FUZZ_CHECK(cfg->listen_port >= 0 && cfg->listen_port <= 65535);
    FUZZ_CHECK(cfg->workers >= 1 && cfg->workers <= 1024);
    FUZZ_CHECK((cfg->job_types == NULL) == (cfg->n_job_types == 0));
    for (size_t i = 0; i < cfg->n_job_types; i++) {
        const daemon_job_type *t = &cfg->job_types[i];
        FUZZ_CHECK(t->name != NULL && t->name[0] != '\0' && strlen(t->name) <= 128);
        FUZZ_CHECK(t->command != NULL && t->command[0] != '\0');
        FUZZ_CHECK(t->backoff_base_ms > 0 && t->backoff_max_ms >= t->backoff_base_ms);
        FUZZ_CHECK(t->timeout_ms >= 0 && t->kill_grace_ms >= 0);
        FUZZ_CHECK(t->max_attempts >= 0 && t->concurrency >= 0);
        for (size_t k = 0; k < i; k++)
            FUZZ_CHECK(strcmp(cfg->job_types[k].name, t->name) != 0);
    }
    for (size_t i = 0; i < cfg->n_schedules; i++) {
        const daemon_schedule *s = &cfg->schedules[i];
        FUZZ_CHECK(s->name != NULL && s->expr != NULL && s->job != NULL);
        chore_cron *cron = NULL;
        FUZZ_CHECK(chore_cron_parse(&cron, s->expr, s->zone, NULL, 0) == CHORE_OK);
        chore_cron_free(cron);
        for (size_t k = 0; k < i; k++)
            FUZZ_CHECK(strcmp(cfg->schedules[k].name, s->name) != 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 16384) /* longer inputs add nothing but time */
        return 0;
    /* a copy of exactly size bytes, no NUL after: ASan sees any overread */
    char *text = malloc(size ? size : 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);

    daemon_config cfg;
    daemon_config_defaults(&cfg);
    cfg.workers = 77; /* a marker: a refused file must leave cfg as it was */
    char err[512];
    memset(err, 'x', sizeof err);
    int rc = daemon_config_load_buffer(text, size, FUZZ_CONFIG_NAME, &cfg, err, sizeof err);
    FUZZ_CHECK(rc == 0 || rc == -1);
    FUZZ_CHECK(memchr(err, '\0', sizeof err) != NULL);
    if (rc == 0) {
        FUZZ_CHECK(err[0] == '\0');
        fuzz_config_check_ok(&cfg);
    } else {
        FUZZ_CHECK(cfg.workers == 77 && cfg.n_job_types == 0 && cfg.n_schedules == 0);
        FUZZ_CHECK(fuzz_config_well_formed(err));
    }
    daemon_config_free(&cfg);

    /* a small buffer (its size taken from the input) holds a prefix */
    size_t small = 1 + size % 24;
    char part[24];
    memset(part, 'x', sizeof part);
    daemon_config again;
    daemon_config_defaults(&again);
    FUZZ_CHECK(daemon_config_load_buffer(text, size, FUZZ_CONFIG_NAME, &again, part, small) ==
               rc);
    FUZZ_CHECK(strnlen(part, small) < small);
    FUZZ_CHECK(strncmp(part, rc == 0 ? "" : err, strlen(part)) == 0);
    daemon_config_free(&again);
    free(text);
    return 0;
}
