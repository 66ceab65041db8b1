/*
 * config_internal.h — what config.c (reading the file, tracking sections
 * and line numbers) and config_keys.c (the meaning of each key) share.
 */
#ifndef CHORE_DAEMON_CONFIG_INTERNAL_H
#define CHORE_DAEMON_CONFIG_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "daemon.h"

/* The kind of the section being read. */
typedef enum config_section {
    SECTION_NONE,     /* before the first section header */
    SECTION_CHORE,    /* [chore] */
    SECTION_JOB,      /* [job NAME] */
    SECTION_SCHEDULE, /* [schedule NAME] */
} config_section;

/* The state of one daemon_config_load. */
typedef struct config_loader {
    const char *path;
    daemon_config *cfg; /* being filled */
    FILE *file;
    int lineno;         /* of the line inih is working on */
    bool at_line_start; /* the next chunk read starts a new line */
    bool failed;
    char *err;
    size_t errlen;
    config_section section;
    size_t index;      /* the current job type's or schedule's index in cfg */
    int section_line;  /* where the current section's header is */
    int chore_line;    /* where [chore] was, 0 = not yet */
    uint32_t seen;     /* one bit per key of the current section already given */
    int cron_line;     /* [schedule]: where cron and zone were given */
    int zone_line;
} config_loader;

/* Record "PATH:LINE: reason" unless an error is already recorded. */
void config_fail(config_loader *l, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Apply `name = value` in the current section (config_keys.c). */
void config_key(config_loader *l, const char *name, const char *value);
/* Check the finished current section: required keys, cross-key rules (config_keys.c). */
void config_end_section(config_loader *l);
/* Defaults of a new [job NAME] section (config_keys.c). */
void config_job_defaults(daemon_job_type *t);

#endif
