/*
 * cron_cmds.c — `chore cron next` prints the next fires of a cron
 * expression as RFC 3339 UTC instants, one a line (with --explain, a human
 * reading first); `chore cron bench` measures chore_cron_next's speed on
 * typical expressions. Both use the public chore_cron_* API only.
 */
#include <stdio.h>
#include <string.h>

#include "chore.h"
#include "cli/cli_util.h"
#include "cli/cron_cmds.h"
#include "cli/schedule_cmds.h"

int cli_cmd_cron(int argc, char **argv)
{
    if (argc < 1)
        return cli_error(CLI_USAGE, "cron needs a subcommand (next, add, list, rm, pause, resume, bench)");
    if (strcmp(argv[0], "next") == 0)
        return cli_cmd_cron_next(argc - 1, argv + 1);
    if (strcmp(argv[0], "bench") == 0)
        return cli_cmd_cron_bench(argc - 1, argv + 1);
    if (strcmp(argv[0], "add") == 0)
        return cli_cmd_cron_add(argc - 1, argv + 1);
    if (strcmp(argv[0], "list") == 0)
        return cli_cmd_cron_list(argc - 1, argv + 1);
    if (strcmp(argv[0], "rm") == 0)
        return cli_cmd_cron_rm(argc - 1, argv + 1);
    if (strcmp(argv[0], "pause") == 0)
        return cli_cmd_cron_pause(argc - 1, argv + 1);
    if (strcmp(argv[0], "resume") == 0)
        return cli_cmd_cron_resume(argc - 1, argv + 1);
    return cli_error(CLI_USAGE,
                     "unknown cron subcommand '%s' (next, bench, add, list, rm, pause, resume)",
                     argv[0]);
}

int cli_cmd_cron_next(int argc, char **argv)
{
    const char *expr = NULL, *zone = NULL, *from = NULL;
    int n_positional = 0, count = 5;
    bool explain = false;
    const cli_flag flags[] = {
        CLI_STRING("--tz", &zone),
        CLI_STRING("--from", &from),
        CLI_INT("--count", &count, 1, 1000000, NULL),
        CLI_BOOL("--explain", &explain),
    };
    /* any number of positionals, to say more than one is an unquoted expression */
    if (cli_parse_args("cron next", argc, argv, flags, CLI_COUNT(flags), &expr, -1,
                       &n_positional) != CLI_OK)
        return CLI_USAGE;
    if (expr == NULL)
        return cli_error(CLI_USAGE,
                         "usage: chore cron next EXPR [--tz ZONE] [--from RFC3339] [--count N] "
                         "[--explain]");
    if (n_positional > 1)
        return cli_error(CLI_USAGE,
                         "cron next: one expression expected (quote it: '%s …')", expr);
    int64_t after = 0;
    if (from == NULL)
        after = cli_real_us() / 1000;
    else if (chore_time_parse(from, &after) != CHORE_OK)
        return cli_error(CLI_USAGE, "cron next: invalid --from '%s' (RFC 3339 expected)", from);
    char err[256];
    chore_cron *cron = NULL;
    int rc = chore_cron_parse(&cron, expr, zone, err, sizeof err);
    if (rc != CHORE_OK)
        return cli_error(rc == CHORE_ENOMEM ? CLI_FAIL : CLI_USAGE, "invalid cron expression: %s",
                         err);
    if (explain) {
        char text[CHORE_CRON_EXPLAIN_MAX];
        chore_cron_explain(cron, text, sizeof text);
        puts(text);
    }
    int status = CLI_OK;
    for (int i = 0; i < count; i++) {
        int64_t next;
        rc = chore_cron_next(cron, after, &next);
        if (rc == CHORE_ENOTFOUND)
            break; /* never again: print what exists */
        if (rc != CHORE_OK) {
            status = cli_error(CLI_USAGE, "cron next: %s", chore_strerror(rc));
            break;
        }
        char buf[40];
        chore_time_format(next, buf, sizeof buf);
        puts(buf);
        after = next;
    }
    chore_cron_free(cron);
    if (fflush(stdout) != 0)
        return cli_error(CLI_FAIL, "cron next: cannot write the output");
    return status;
}

int cli_cmd_cron_bench(int argc, char **argv)
{
    static const struct {
        const char *expr, *zone;
    } cases[] = {
        {"*/5 * * * *", "UTC"},
        {"0 9 * * MON-FRI", "Europe/London"},
        {"30 2 * * *", "America/New_York"},
        {"*/15 * * * * *", "Australia/Lord_Howe"},
        {"0 0 */28 2 MON", "UTC"}, /* 29 February (or the 1st) on a Monday: rare */
    };
    int seconds = 1;
    const cli_flag flags[] = {CLI_INT("--seconds", &seconds, 1, 3600, NULL)};
    if (cli_parse_args("cron bench", argc, argv, flags, CLI_COUNT(flags), NULL, 0, NULL) !=
        CLI_OK)
        return CLI_USAGE;
    size_t n = sizeof cases / sizeof cases[0];
    double typical_calls = 0, typical_time = 0;
    for (size_t k = 0; k < n; k++) {
        char err[256];
        chore_cron *cron;
        if (chore_cron_parse(&cron, cases[k].expr, cases[k].zone, err, sizeof err) != CHORE_OK)
            return cli_error(CLI_FAIL, "cron bench: %s: %s", cases[k].expr, err);
        /* instants spread over 2020-2030, so DST changes are crossed too */
        uint64_t rng = 0x9e3779b97f4a7c15ULL;
        const int64_t base = 1577836800000LL, span = 10LL * 365 * 86400 * 1000;
        long long calls = 0;
        int64_t sink = 0;
        double t0 = cli_mono_s(), elapsed = 0, budget = seconds / (double)n;
        while (elapsed < budget) {
            for (int i = 0; i < 4096; i++) {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                int64_t next;
                if (chore_cron_next(cron, base + (int64_t)(rng % (uint64_t)span), &next) == CHORE_OK)
                    sink += next & 1;
            }
            calls += 4096;
            elapsed = cli_mono_s() - t0;
        }
        printf("%-20s %-20s %12.0f next/s%s\n", cases[k].expr, cases[k].zone,
               (double)calls / elapsed, sink == -1 ? " " : "");
        if (k < 3) {
            typical_calls += (double)calls;
            typical_time += elapsed;
        }
        chore_cron_free(cron);
    }
    printf("typical (first 3)                         %12.0f next/s\n",
           typical_calls / typical_time);
    return CLI_OK;
}
