/*
 * cli_util.h — helpers the `chore` subcommands share: exit codes, the
 * one-line error report, flag matching, and parsing of integers (with
 * range checks), durations (90s, 1h30m, 500ms) and RFC 3339 instants;
 * and the entry points of the subcommands, which main.c dispatches to.
 */
#ifndef CHORE_CLI_UTIL_H
#define CHORE_CLI_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Exit statuses of the chore binary. */
enum {
    CLI_OK = 0,    /* success */
    CLI_FAIL = 1,  /* runtime failure */
    CLI_USAGE = 2, /* bad usage or bad input */
};

/* The default store of the admin commands and of `chore serve`. */
#define CLI_DEFAULT_STORE "sqlite:chore.db"

/* Print "chore: <message>" as one line on stderr and return `status`. */
int cli_error(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Match argv[*i] against the flag `name` ("--queue") taking a value, given
 * as "--queue VALUE" or "--queue=VALUE". Returns 1 and sets *value (moving
 * *i past the value) when it matched, 0 when argv[*i] is another argument,
 * -1 when it matched but the value is missing (reported on stderr).
 */
int cli_flag_value(int argc, char **argv, int *i, const char *name, const char **value);

/* Parse a whole decimal integer in [min, max]. false on anything else. */
bool cli_parse_int64(const char *text, int64_t min, int64_t max, int64_t *out);
/* The same for an int. */
bool cli_parse_int(const char *text, int min, int max, int *out);

/*
 * Parse a duration: one or more <digits><unit> with units ms, s, m, h, d,
 * each unit at most once and largest first ("90s", "1h30m", "500ms").
 * Into milliseconds; false on a bad or overflowing duration.
 */
bool cli_parse_duration_ms(const char *text, int64_t *out_ms);

/*
 * Parse an RFC 3339 date-time ("2024-05-01T12:00:00Z",
 * "2024-05-01t12:00:00.250+02:00") into milliseconds since the Unix epoch.
 * Fractions finer than a millisecond are truncated. false on a bad one.
 */
bool cli_parse_rfc3339_ms(const char *text, int64_t *out_ms);

/* Format an instant as RFC 3339 UTC ("2024-05-01T12:00:00Z", with ".250"
 * milliseconds when not whole seconds). buf should hold 32 bytes. */
void cli_format_rfc3339_ms(int64_t ms, char *buf, size_t len);

/*
 * Subcommands. Each takes the arguments after its own name (argv[0] is the
 * first of them) and returns the process's exit status.
 */
int cli_cmd_enqueue(int argc, char **argv);      /* admin_cmds.c */
int cli_cmd_jobs(int argc, char **argv);         /* admin_cmds.c */
int cli_cmd_job(int argc, char **argv);          /* admin_cmds.c */
int cli_cmd_retry(int argc, char **argv);        /* admin_cmds.c */
int cli_cmd_cancel(int argc, char **argv);       /* admin_cmds.c */
int cli_cmd_bench(int argc, char **argv);        /* bench.c */
/* The hidden child of `chore bench` that measures a reopen (bench.c). */
int cli_cmd_bench_reopen(int argc, char **argv);
#define CLI_BENCH_REOPEN_CMD "__bench-reopen"

#endif /* CHORE_CLI_UTIL_H */
