/*
 * schedule_cmds.h — the store-direct schedule subcommands of `chore cron`,
 * implemented in schedule_cmds.c: add (or update), list, rm, pause and
 * resume. They only open the store; a running daemon or program that
 * calls chore_start fires the schedules.
 */
#ifndef CHORE_CLI_SCHEDULE_CMDS_H
#define CHORE_CLI_SCHEDULE_CMDS_H

/*
 * `chore cron add NAME EXPR JOB [PAYLOAD] [--tz ZONE] [--queue Q]
 * [--priority N] [--max-attempts N] [--timeout DURATION]
 * [--missed once|skip|each] [--missed-cap N] [--overlap allow|skip|queue-one]
 * [--store URL | --server URL]`: add the schedule NAME, or update it when it exists.
 * argv[0] is the first argument after "add". Returns the exit status.
 */
int cli_cmd_cron_add(int argc, char **argv);

/* `chore cron list [--json] [--store URL | --server URL]`: every schedule with its last
 * and next fire. argv[0] is the first argument after "list". */
int cli_cmd_cron_list(int argc, char **argv);

/* `chore cron rm NAME [--store URL | --server URL]`: remove a schedule (its jobs stay). */
int cli_cmd_cron_rm(int argc, char **argv);

/* `chore cron pause NAME [--store URL | --server URL]`: stop firing a schedule. */
int cli_cmd_cron_pause(int argc, char **argv);

/* `chore cron resume NAME [--store URL | --server URL]`: fire a paused schedule again. */
int cli_cmd_cron_resume(int argc, char **argv);

#endif /* CHORE_CLI_SCHEDULE_CMDS_H */
