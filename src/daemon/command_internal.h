/*
 * command_internal.h — what the parts of a command job share: running the
 * process (command_spawn.c) and turning what it did into the job's result
 * or error (command_output.c).
 */
#ifndef CHORE_DAEMON_COMMAND_INTERNAL_H
#define CHORE_DAEMON_COMMAND_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon.h"

/* How much of each of stdout and stderr is kept: the last this many bytes. */
#define COMMAND_OUTPUT_MAX (64 * 1024)

/* The last COMMAND_OUTPUT_MAX bytes of one output stream. */
typedef struct command_ring {
    unsigned char buf[COMMAND_OUTPUT_MAX];
    size_t start;   /* oldest byte kept */
    size_t len;     /* bytes kept */
    uint64_t total; /* bytes the command wrote */
} command_ring;

/* What one run of a command did. */
typedef struct command_run {
    int spawn_errno; /* != 0: the shell could not be started */
    int status;      /* waitpid's status of the shell */
    bool timed_out;  /* the type's timeout passed; the group was stopped */
    bool stopped;    /* chore_job_should_stop turned true; the group was stopped */
    int64_t ran_ms;
    command_ring out, err;
} command_run;

/* Keep `n` more bytes in the ring, dropping the oldest beyond its size. */
void command_ring_put(command_ring *r, const unsigned char *data, size_t n);

/* Run t's command for `job` to its end (or its stop), filling *run. */
void command_spawn_run(const daemon_job_type *t, chore_job *job, command_run *run);

/* Record run's outcome on the job (result or error) and return the
 * handler's status: CHORE_OK, or a negative code so the job is retried. */
int command_report(chore_job *job, const daemon_job_type *t, const command_run *run);

/* `n` bytes as valid UTF-8 without NULs (bad bytes become U+FFFD), NUL
 * terminated; `cut` says the text was cut at its start, so a partial
 * character there is dropped. NULL when out of memory. */
char *command_utf8(const unsigned char *s, size_t n, bool cut);

#endif
