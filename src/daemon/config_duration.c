/*
 * config_duration.c — the duration syntax ("90s", "1h30m", "500ms", "2d")
 * that the CLI's flags and the daemon's config file share. It lives in the
 * daemon library (which the chore binary links) so that config.c and its
 * tests can use it; declared in src/cli/cli_util.h.
 */
#include <ctype.h>
#include <stdint.h>
#include <string.h>

#include "cli_util.h"

#define MS_PER_DAY (86400LL * 1000)

bool cli_parse_duration_ms(const char *text, int64_t *out_ms)
{
    /* units from largest to smallest; each may appear once, in this order */
    static const struct {
        const char *suffix;
        int64_t ms;
    } units[] = {{"d", MS_PER_DAY}, {"h", 3600000}, {"m", 60000}, {"s", 1000}, {"ms", 1}};
    enum { N_UNITS = sizeof units / sizeof units[0] };

    if (text == NULL || text[0] == '\0')
        return false;
    const char *p = text;
    size_t next_unit = 0; /* the first unit still allowed */
    int64_t total = 0;
    while (*p != '\0') {
        if (!isdigit((unsigned char)*p))
            return false;
        int64_t n = 0;
        while (isdigit((unsigned char)*p)) {
            if (n > (INT64_MAX - 9) / 10)
                return false;
            n = n * 10 + (*p - '0');
            p++;
        }
        /* "ms" must be tried before "m" */
        size_t u;
        if (p[0] == 'm' && p[1] == 's')
            u = 4;
        else {
            for (u = 0; u < N_UNITS; u++) {
                if (p[0] == units[u].suffix[0] && units[u].suffix[1] == '\0')
                    break;
            }
            if (u == N_UNITS)
                return false; /* no unit, or an unknown one */
        }
        if (u < next_unit)
            return false; /* repeated or out of order: "30m1h" */
        if (n > (INT64_MAX - total) / units[u].ms)
            return false;
        total += n * units[u].ms;
        p += strlen(units[u].suffix);
        next_unit = u + 1;
    }
    *out_ms = total;
    return true;
}
