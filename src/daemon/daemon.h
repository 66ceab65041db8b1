/*
 * daemon.h — `chore serve`: the types its parts share. The daemon uses the
 * public API (chore.h) only, as any embedding program would.
 *
 *   config.c     the INI file (inih) -> daemon_config
 *   command.c    command jobs: a handler that runs a command per job
 *   serve.c      `chore serve`: open, register, schedule, serve, signals
 *   http_*.c     the HTTP API (libmicrohttpd + jansson)
 *   dashboard.c  the dashboard's files, built into the binary
 */
#ifndef CHORE_DAEMON_H
#define CHORE_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chore.h"

/* A job type whose handler is a command (config section [job NAME]). */
typedef struct daemon_job_type {
    char *name;
    char *command;           /* run by /bin/sh -c */
    int64_t timeout_ms;      /* per attempt; 0 = none */
    int max_attempts;        /* 0 = retry forever */
    int64_t backoff_base_ms; /* 0 = the library's default */
    int64_t backoff_max_ms;
    char *queue;             /* NULL = "default" */
    int concurrency;         /* 0 = no limit */
    int64_t kill_grace_ms;   /* from SIGTERM to SIGKILL of a stopped command; 0 = at once */
} daemon_job_type;

/* A schedule from the config (section [schedule NAME]). */
typedef struct daemon_schedule {
    char *name;
    char *expr;
    char *zone;    /* NULL = UTC */
    char *job;
    char *payload; /* NULL = "{}" */
} daemon_schedule;

/* Everything the config file says; every field has a default (docs/CONFIG.md). */
typedef struct daemon_config {
    char *store;        /* "sqlite:chore.db" */
    char *listen_host;  /* "127.0.0.1" */
    int listen_port;    /* 7700 */
    int workers;        /* 4 */
    char *token;        /* NULL = no auth (loopback only) */
    int64_t retention_ms;
    int64_t grace_ms;   /* how long a graceful stop waits for running jobs */
    chore_log_level log_level;
    chore_durability durability; /* full: an answered enqueue survives power loss */
    daemon_job_type *job_types;
    size_t n_job_types;
    daemon_schedule *schedules;
    size_t n_schedules;
} daemon_config;

/* Fill `out` with the defaults. */
void daemon_config_defaults(daemon_config *out);
/* Read `path` over the defaults. On a bad file: -1 and err = "file:line: reason",
 * and *out is left as it was. On success *out's old contents are freed and
 * replaced by the defaults with the file's settings applied. */
int daemon_config_load(const char *path, daemon_config *out, char *err, size_t errlen);
/* The same for a config's text in memory (len bytes, no NUL needed); `name`
 * stands for the path in messages ("name:line: reason"). */
int daemon_config_load_buffer(const char *text, size_t len, const char *name, daemon_config *out,
                              char *err, size_t errlen);
void daemon_config_free(daemon_config *cfg);

/* Command jobs: a handler per job type that runs its command per job. */
typedef struct command_runner command_runner;

/* Handle every command job type of cfg on c. The runner copies what it needs. */
int command_runner_start(command_runner **out, chore *c, const daemon_config *cfg);
/* Apply a reloaded config: new and changed job types handled, removed ones unhandled. */
int command_runner_reload(command_runner *r, const daemon_config *cfg);
/* Free the runner, after chore_stop (no handler runs any more). NULL is a no-op. */
void command_runner_free(command_runner *r);
/* The command job type `name` (e.g. for the HTTP layer's enqueue defaults:
 * max_attempts, timeout, queue), or NULL when there is none. Thread-safe;
 * the pointer stays valid until command_runner_free, even across reloads. */
const daemon_job_type *command_runner_type(command_runner *r, const char *name);

/* The HTTP server. */
typedef struct http_server http_server;

typedef struct http_settings {
    const char *host;  /* an IPv4 or IPv6 literal, or "localhost" */
    int port;          /* 0 = any free port (see http_server_port) */
    const char *token; /* NULL = no auth; refused on a non-loopback host */
    command_runner *runner; /* command job types: their defaults for enqueues; may be NULL */
} http_settings;

/* Serve the HTTP API for `c` on its own threads. -1 with err on failure. */
int http_server_start(http_server **out, chore *c, const http_settings *s, char *err,
                      size_t errlen);
/* Check a listen address before anything is opened: -1 with err for a host
 * that is not an IP literal or "localhost", a bad port, or a non-loopback
 * host without a token. */
int http_listen_check(const http_settings *s, char *err, size_t errlen);
/* The port actually bound. */
int http_server_port(const http_server *s);
/* Stop serving and free. NULL is a no-op. */
void http_server_stop(http_server *s);

/* A built-in dashboard file for request path `path` ("/" = index.html):
 * true with its bytes and content type, false when there is none. */
bool dashboard_asset(const char *path, const unsigned char **body, size_t *len,
                     const char **content_type);

/* `chore serve [--config FILE] [--store URL] [--listen HOST:PORT]`. */
int cli_cmd_serve(int argc, char **argv);

#endif
