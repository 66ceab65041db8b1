/*
 * serve.c — `chore serve`: read the config (flags win over the file),
 * open the store, handle the config's command job types, put its
 * schedules, start the instance and the HTTP server, then wait for
 * signals in the main thread: SIGHUP reloads job types and schedules,
 * SIGTERM and SIGINT stop gracefully (running jobs get grace_ms, the rest
 * stay stored) and exit 0.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_util.h"
#include "daemon.h"

/* What the running daemon holds. */
typedef struct serve_state {
    const char *config_path; /* NULL: defaults only */
    daemon_config cfg;
    chore *c;
    command_runner *runner;
    http_server *http;
    char **sched_names; /* the schedules the config put at its last load */
    size_t n_sched_names;
} serve_state;

/* Split "HOST:PORT" ("[::1]:7700" for IPv6) into a malloc'd host and port. */
static bool parse_listen(const char *text, char **host, int *port)
{
    const char *colon = strrchr(text, ':');
    int64_t p;
    if (colon == NULL || colon == text || !cli_parse_int64(colon + 1, 0, 65535, &p))
        return false;
    const char *h = text;
    size_t len = (size_t)(colon - text);
    if (h[0] == '[') { /* [v6]: drop the brackets */
        if (len < 3 || h[len - 1] != ']')
            return false;
        h++;
        len -= 2;
    }
    *host = strndup(h, len);
    *port = (int)p;
    return *host != NULL;
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/*
 * Put every schedule of cfg, then remove those the previous load put and
 * this one no longer has. Returns 0, or -1 with err (the schedules put so
 * far stay).
 */
static int apply_schedules(serve_state *st, const daemon_config *cfg, char *err, size_t errlen)
{
    char **names = calloc(cfg->n_schedules + 1, sizeof *names);
    if (names == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < cfg->n_schedules; i++) {
        const daemon_schedule *s = &cfg->schedules[i];
        chore_schedule_opts o = {.zone = s->zone};
        const daemon_job_type *t = st->runner != NULL ? command_runner_type(st->runner, s->job)
                                                      : NULL;
        if (t != NULL) { /* a command job's fires take its type's settings */
            o.queue = t->queue;
            o.max_attempts = t->max_attempts;
            o.timeout_ms = t->timeout_ms;
        }
        int rc = chore_schedule(st->c, s->name, s->expr, s->job, s->payload, &o);
        if (rc < 0) {
            snprintf(err, errlen, "schedule %s: %s", s->name, chore_strerror(rc));
            free_names(names, i);
            return -1;
        }
        if ((names[i] = strdup(s->name)) == NULL) {
            snprintf(err, errlen, "out of memory");
            free_names(names, i);
            return -1;
        }
    }
    for (size_t k = 0; k < st->n_sched_names; k++) {
        bool kept = false;
        for (size_t i = 0; i < cfg->n_schedules && !kept; i++)
            kept = strcmp(st->sched_names[k], names[i]) == 0;
        if (!kept) {
            int rc = chore_unschedule(st->c, st->sched_names[k]);
            if (rc < 0 && rc != CHORE_ENOTFOUND)
                fprintf(stderr, "chore: removing schedule %s: %s\n", st->sched_names[k],
                        chore_strerror(rc));
        }
    }
    free_names(st->sched_names, st->n_sched_names);
    st->sched_names = names;
    st->n_sched_names = cfg->n_schedules;
    return 0;
}

/* SIGHUP: read the config again; on a bad file keep running as before. */
static void reload(serve_state *st)
{
    if (st->config_path == NULL) {
        fprintf(stderr, "chore: SIGHUP: no --config file to reload\n");
        return;
    }
    daemon_config fresh;
    char err[512] = "";
    daemon_config_defaults(&fresh);
    if (daemon_config_load(st->config_path, &fresh, err, sizeof err) < 0) {
        fprintf(stderr, "chore: reload refused, keeping the running config: %s\n", err);
        daemon_config_free(&fresh);
        return;
    }
    int rc = command_runner_reload(st->runner, &fresh);
    if (rc < 0)
        fprintf(stderr, "chore: reload: job types: %s\n", chore_strerror(rc));
    if (apply_schedules(st, &fresh, err, sizeof err) < 0)
        fprintf(stderr, "chore: reload: %s\n", err);
    else
        fprintf(stderr, "chore: reloaded %s: %zu job types, %zu schedules\n", st->config_path,
                fresh.n_job_types, fresh.n_schedules);
    /* store, listen, token and workers need a restart: only job types and
     * schedules take the new file */
    daemon_config_free(&st->cfg);
    st->cfg = fresh;
}

/* Wait for signals until SIGTERM or SIGINT. */
static void wait_signals(serve_state *st, const sigset_t *set)
{
    for (;;) {
        int sig = 0;
        if (sigwait(set, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            reload(st);
            continue;
        }
        fprintf(stderr, "chore: %s: stopping (grace %lld ms)\n",
                sig == SIGINT ? "SIGINT" : "SIGTERM", (long long)st->cfg.grace_ms);
        return;
    }
}

/* Everything after the flags: returns the exit status. */
static int serve(serve_state *st, const char *store, const char *listen, const sigset_t *set)
{
    char err[512] = "";
    daemon_config_defaults(&st->cfg);
    if (st->config_path != NULL &&
        daemon_config_load(st->config_path, &st->cfg, err, sizeof err) < 0)
        return cli_error(CLI_USAGE, "config: %s", err);
    if (store != NULL) {
        free(st->cfg.store);
        if ((st->cfg.store = strdup(store)) == NULL)
            return cli_error(CLI_FAIL, "out of memory");
    }
    if (listen != NULL) {
        free(st->cfg.listen_host);
        st->cfg.listen_host = NULL;
        if (!parse_listen(listen, &st->cfg.listen_host, &st->cfg.listen_port))
            return cli_error(CLI_USAGE, "--listen: want HOST:PORT, e.g. 127.0.0.1:7700: '%s'",
                             listen);
    }
    http_settings hs = {.host = st->cfg.listen_host, .port = st->cfg.listen_port,
                        .token = st->cfg.token};
    if (http_listen_check(&hs, err, sizeof err) < 0)
        return cli_error(CLI_USAGE, "%s", err);

    chore_config cc = {.store = st->cfg.store, .workers = st->cfg.workers,
                       .retention_ms = st->cfg.retention_ms, .log_level = st->cfg.log_level,
                       .durability = st->cfg.durability};
    int rc = chore_open(&st->c, &cc);
    if (rc < 0)
        return cli_error(cli_status_for(rc), "cannot open store %s: %s", st->cfg.store,
                         chore_strerror(rc));
    rc = command_runner_start(&st->runner, st->c, &st->cfg);
    if (rc < 0)
        return cli_error(cli_status_for(rc), "job types: %s", chore_strerror(rc));
    if (apply_schedules(st, &st->cfg, err, sizeof err) < 0)
        return cli_error(CLI_USAGE, "config: %s", err);
    rc = chore_start(st->c);
    if (rc < 0)
        return cli_error(CLI_FAIL, "cannot start: %s", chore_strerror(rc));
    hs.runner = st->runner;
    if (http_server_start(&st->http, st->c, &hs, err, sizeof err) < 0)
        return cli_error(CLI_FAIL, "%s", err);

    bool v6 = strchr(hs.host, ':') != NULL;
    printf("chore: serving http://%s%s%s:%d/ (store %s)\n", v6 ? "[" : "", hs.host,
           v6 ? "]" : "", http_server_port(st->http), st->cfg.store);
    fflush(stdout);

    wait_signals(st, set);
    rc = chore_stop(st->c, st->cfg.grace_ms);
    if (rc == CHORE_ETIMEDOUT)
        fprintf(stderr, "chore: grace period over: unfinished jobs go back to available\n");
    return CLI_OK;
}

int cli_cmd_serve(int argc, char **argv)
{
    const char *config = NULL, *store = NULL, *listen = NULL;
    const cli_flag flags[] = {
        CLI_STRING("--config", &config),
        CLI_STRING("--store", &store),
        CLI_STRING("--listen", &listen),
    };
    int status = cli_parse_args("serve", argc, argv, flags, CLI_COUNT(flags), NULL, 0, NULL);
    if (status != CLI_OK)
        return status;

    /* Every thread started from here on inherits the mask: the signals are
     * taken only by sigwait in this thread. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    int err = pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (err != 0)
        return cli_error(CLI_FAIL, "cannot block signals: %s", strerror(err));
    signal(SIGPIPE, SIG_IGN); /* a client that hangs up is an error, not a death */

    serve_state st = {.config_path = config};
    status = serve(&st, store, listen, &set);
    /* the HTTP server goes before the runner and the instance it calls */
    http_server_stop(st.http);
    if (st.c != NULL)
        chore_stop(st.c, 0);
    command_runner_free(st.runner);
    chore_close(st.c);
    free_names(st.sched_names, st.n_sched_names);
    daemon_config_free(&st.cfg);
    return status;
}
