/*
 * cli_util.h — helpers the `chore` subcommands share: exit codes, the
 * one-line error report, the table-driven flag parser, parsing of
 * integers (with range checks) and durations (90s, 1h30m, 500ms), opening
 * a store and printing JSON; and the entry points of the
 * subcommands, which main.c dispatches to.
 */
#ifndef CHORE_CLI_UTIL_H
#define CHORE_CLI_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include <stdint.h>

#include "chore.h"

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

/* What a flag holds, and so what its destination points to. */
typedef enum cli_flag_kind {
    CLI_FLAG_STRING,   /* const char *: the value as given */
    CLI_FLAG_INT,      /* int: a whole number in [min, max] */
    CLI_FLAG_INT64,    /* int64_t: a whole number in [min, max] */
    CLI_FLAG_DURATION, /* int64_t: milliseconds, see cli_parse_duration_ms */
    CLI_FLAG_CHOICE,   /* int: the index of the value in `choices` */
    CLI_FLAG_BOOL,     /* bool: set to true; the flag takes no value */
} cli_flag_kind;

/* One flag a command accepts. Build them with the CLI_* macros below,
 * which check the destination's type. */
typedef struct cli_flag {
    const char *name; /* "--queue" */
    cli_flag_kind kind;
    void *dest;
    int64_t min, max;           /* CLI_FLAG_INT and CLI_FLAG_INT64 */
    const char *const *choices; /* CLI_FLAG_CHOICE: NULL-terminated */
    const char *why;            /* a bad value's reason; NULL: a default one */
} cli_flag;

#define CLI_STRING(n, p) {.name = (n), .kind = CLI_FLAG_STRING, .dest = (const char **){(p)}}
#define CLI_BOOL(n, p) {.name = (n), .kind = CLI_FLAG_BOOL, .dest = (bool *){(p)}}
#define CLI_INT(n, p, lo, hi, w)                                                                 \
    {.name = (n), .kind = CLI_FLAG_INT, .dest = (int *){(p)}, .min = (lo), .max = (hi), .why = (w)}
#define CLI_INT64(n, p, lo, hi, w)                                                               \
    {.name = (n), .kind = CLI_FLAG_INT64, .dest = (int64_t *){(p)}, .min = (lo), .max = (hi),    \
     .why = (w)}
#define CLI_DURATION(n, p) {.name = (n), .kind = CLI_FLAG_DURATION, .dest = (int64_t *){(p)}}
#define CLI_CHOICE(n, p, names, w)                                                               \
    {.name = (n), .kind = CLI_FLAG_CHOICE, .dest = (int *){(p)}, .choices = (names), .why = (w)}

/* The number of entries of an array. */
#define CLI_COUNT(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Parse the arguments of the command `cmd` ("cron add") against `flags`.
 * A flag is an argument starting with '-' (not "-" alone); one taking a
 * value is given as "--flag VALUE" or "--flag=VALUE"; after "--" every
 * argument is positional. Positionals go to positional[0..max_positional)
 * and their number to *n_positional (may be NULL). Returns CLI_OK, or
 * CLI_USAGE after a one-line reason on stderr for an unknown flag, a
 * missing or bad value, or a surplus positional. A negative max_positional
 * accepts any number: the first -max_positional are stored, all counted,
 * for a caller with its own message for the surplus ones.
 */
int cli_parse_args(const char *cmd, int argc, char **argv, const cli_flag *flags, size_t n_flags,
                   const char **positional, int max_positional, int *n_positional);

/*
 * Where a store command works: on a store it opens itself (--store URL),
 * or through a running daemon's HTTP API (--server URL). Give both flags
 * to cli_parse_args with CLI_TARGET_FLAGS, then call cli_target_check.
 */
typedef struct cli_target {
    const char *store;  /* --store, or CLI_DEFAULT_STORE once checked */
    const char *server; /* --server; NULL: store mode */
} cli_target;

#define CLI_TARGET_FLAGS(t) CLI_STRING("--store", &(t)->store), CLI_STRING("--server", &(t)->server)

/* Refuse --store with --server (CLI_USAGE, reported, naming cmd); else
 * default the store and return CLI_OK. */
int cli_target_check(const char *cmd, cli_target *t);

/* The exit status for a failed library call (a CHORE_* code): CLI_USAGE
 * for bad input (CHORE_EINVAL, CHORE_EJSON), else CLI_FAIL. */
int cli_status_for(int rc);

/* Open the store at url with chore_open only (no threads started).
 * Returns an exit status, reporting a failure on stderr. */
int cli_open_store(const char *url, chore **out);

/* An instant as an RFC 3339 string, or JSON null for 0 ("never"). */
json_t *cli_instant_json(int64_t ms);
/* A payload as JSON itself when it parses, else as a string; null for NULL. */
json_t *cli_payload_json(const char *payload);
/* Print a JSON value compactly on one line of stdout and release it.
 * Returns CLI_OK, or CLI_FAIL (reported) when out of memory. */
int cli_print_json(json_t *v);

/* Parse a whole decimal integer in [min, max]. false on anything else. */
bool cli_parse_int64(const char *text, int64_t min, int64_t max, int64_t *out);

/*
 * Parse a duration: one or more <digits><unit> with units ms, s, m, h, d,
 * each unit at most once and largest first ("90s", "1h30m", "500ms").
 * Into milliseconds; false on a bad or overflowing duration. Defined in
 * src/daemon/config_duration.c, shared with the daemon's config file.
 */
bool cli_parse_duration_ms(const char *text, int64_t *out_ms);

/* The clocks the commands read: monotonic (for durations) in seconds and
 * in microseconds, and real time in microseconds since the epoch. */
double cli_mono_s(void);
int64_t cli_mono_us(void);
int64_t cli_real_us(void);

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
int cli_cmd_loops(int argc, char **argv);        /* loops_cmd.c */
/* The hidden child of `chore bench` that measures a reopen (bench.c). */
int cli_cmd_bench_reopen(int argc, char **argv);
#define CLI_BENCH_REOPEN_CMD "__bench-reopen"

#endif /* CHORE_CLI_UTIL_H */
