/* bench_schedules.h — `chore bench schedules` (bench_schedules.c). */
#ifndef CHORE_CLI_BENCH_SCHEDULES_H
#define CHORE_CLI_BENCH_SCHEDULES_H

/* `chore bench schedules [--schedules N] [--seconds S] [--workers W] [--json]`:
 * slot-to-start delay for 1 and for N every-second schedules. */
int cli_cmd_bench_schedules(int argc, char **argv);

#endif
