/*
 * cron_driver.c — the chore side of the cron differential test
 * (cron_diff.py): reads one query a line from stdin,
 *     ZONE <TAB> FROM_MS <TAB> COUNT <TAB> EXPRESSION
 * and prints one answer a line: "OK t1 t2 …" (the next COUNT fires strictly
 * after FROM_MS, each after the previous one, in ms since the epoch; fewer
 * and a final "NEVER" when they stop), or "ERR reason" when the expression
 * or zone is refused. Far faster than running `chore cron next` per query.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chore.h"

int main(void)
{
    static char line[8192];
    while (fgets(line, sizeof line, stdin) != NULL) {
        line[strcspn(line, "\r\n")] = '\0';
        char *zone = line;
        char *from = strchr(zone, '\t');
        char *count = from ? strchr(from + 1, '\t') : NULL;
        char *expr = count ? strchr(count + 1, '\t') : NULL;
        if (expr == NULL) {
            fprintf(stderr, "cron_driver: bad query line '%s'\n", line);
            return 2;
        }
        *from++ = *count++ = *expr++ = '\0';
        int64_t after = strtoll(from, NULL, 10);
        int n = atoi(count);
        char err[256];
        chore_cron *cron = NULL;
        int rc = chore_cron_parse(&cron, expr, zone[0] ? zone : NULL, err, sizeof err);
        if (rc != CHORE_OK) {
            printf("ERR %s\n", err);
            continue;
        }
        fputs("OK", stdout);
        for (int i = 0; i < n; i++) {
            int64_t next;
            rc = chore_cron_next(cron, after, &next);
            if (rc != CHORE_OK) {
                fputs(rc == CHORE_ENOTFOUND ? " NEVER" : " FAIL", stdout);
                break;
            }
            printf(" %lld", (long long)next);
            after = next;
        }
        putchar('\n');
        fflush(stdout);
        chore_cron_free(cron);
    }
    return 0;
}
