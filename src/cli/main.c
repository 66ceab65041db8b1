/*
 * main.c — the `chore` command: picks the subcommand and prints usage.
 * The subcommands live in admin_cmds.c (enqueue, jobs, job, retry,
 * cancel), bench.c (bench), cron_cmds.c (cron), loops_cmd.c (loops)
 * and src/daemon/serve.c (serve). Exit status: 0 ok, 1 runtime failure, 2 bad usage or bad
 * input, with a one-line reason on stderr.
 */
#include <stdio.h>
#include <string.h>

#include "chore.h"
#include "cli_util.h"
#include "cron_cmds.h"
#include "daemon.h"

static const char usage_text[] =
    "usage: chore <command> [arguments]\n"
    "\n"
    "commands:\n"
    "  enqueue NAME [PAYLOAD] [--at RFC3339 | --in DURATION] [--queue Q]\n"
    "          [--priority N] [--max-attempts N] [--unique KEY]\n"
    "                          store a job; prints its id\n"
    "  jobs [--state S] [--name N] [--limit N] [--json]\n"
    "                          list jobs, newest first\n"
    "  job ID [--json]         show one job with its attempt errors\n"
    "  retry ID                run a job again now\n"
    "  cancel ID               cancel a job that is not final\n"
    "  bench [--jobs N] [--workers N] [--fetch-batch N] [--durability full|process]\n"
    "        [--store URL] [--json]\n"
    "                          measure throughput, latency and memory\n"
    "  bench --server URL [--requests N] [--connections N] [--json]\n"
    "                          measure a running daemon's HTTP API\n"
    "  bench schedules [--schedules N] [--seconds S] [--workers N] [--json]\n"
    "                          slot-to-start delay of every-second schedules\n"
    "  cron next EXPR [--tz ZONE] [--from RFC3339] [--count N] [--explain]\n"
    "                          print the next fires as RFC 3339 UTC instants\n"
    "  cron bench [--seconds S]  next-fire computations per second\n"
    "  cron add NAME EXPR JOB [PAYLOAD] [--tz ZONE] [--queue Q] [--priority N]\n"
    "           [--max-attempts N] [--timeout DURATION] [--missed once|skip|each]\n"
    "           [--missed-cap N] [--overlap allow|skip|queue-one]\n"
    "                          add or update a durable schedule\n"
    "  cron list [--json]      list schedules with their last and next fire\n"
    "  cron rm NAME            remove a schedule (its jobs stay)\n"
    "  cron pause NAME         stop firing a schedule\n"
    "  cron resume NAME        fire a paused schedule again\n"
    "  loops [--json] [--server URL]\n"
    "                          health of every loop of a running daemon\n"
    "  serve [--config FILE] [--store URL] [--listen HOST:PORT]\n"
    "                          run the daemon: workers, schedules, the HTTP API\n"
    "  version                 print the version\n"
    "  help                    print this text\n"
    "\n"
    "Store commands take --store URL (default " CLI_DEFAULT_STORE "), or --server URL\n"
    "to go through a running daemon's HTTP API (token from $CHORE_TOKEN).\n"
    "Durations: 90s, 1h30m, 500ms, 2d. Instants: RFC 3339, e.g. 2024-05-01T12:00:00Z.\n";

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
} command;

static const command commands[] = {
    {"enqueue", cli_cmd_enqueue},
    {"jobs", cli_cmd_jobs},
    {"job", cli_cmd_job},
    {"retry", cli_cmd_retry},
    {"cancel", cli_cmd_cancel},
    {"bench", cli_cmd_bench},
    {"cron", cli_cmd_cron},
    {"loops", cli_cmd_loops},
    {"serve", cli_cmd_serve},
    {CLI_BENCH_REOPEN_CMD, cli_cmd_bench_reopen},
};

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage_text, stderr);
        return CLI_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "help") == 0 || strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
        fputs(usage_text, stdout);
        return CLI_OK;
    }
    if (strcmp(name, "version") == 0 || strcmp(name, "--version") == 0) {
        if (argc > 2)
            return cli_error(CLI_USAGE, "version takes no arguments");
        printf("chore %s\n", CHORE_VERSION);
        return CLI_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(name, commands[i].name) == 0)
            return commands[i].run(argc - 2, argv + 2);
    }
    return cli_error(CLI_USAGE, "unknown command '%s' (try 'chore help')", name);
}
