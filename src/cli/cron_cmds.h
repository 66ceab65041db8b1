/*
 * cron_cmds.h — the `chore cron` subcommands implemented in cron_cmds.c:
 * `next` (the next fires of an expression) and `bench` (next-fire speed).
 */
#ifndef CHORE_CLI_CRON_CMDS_H
#define CHORE_CLI_CRON_CMDS_H

/*
 * `chore cron SUBCOMMAND …`: argv[0] is the subcommand. Dispatches to
 * cli_cmd_cron_next and cli_cmd_cron_bench; returns the exit status.
 */
int cli_cmd_cron(int argc, char **argv);

/* `chore cron next EXPR [--tz ZONE] [--from RFC3339] [--count N] [--explain]`;
 * argv[0] is the first argument after "next". */
int cli_cmd_cron_next(int argc, char **argv);

/* `chore cron bench [--seconds S]`: next-fire computations per second. */
int cli_cmd_cron_bench(int argc, char **argv);

#endif /* CHORE_CLI_CRON_CMDS_H */
