/* log.c — one logfmt line per event, on stderr. */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "runtime/runtime.h"

void rt_log(const char *level, const char *component, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    for (char *p = msg; *p != '\0'; p++) {
        if (*p == '"' || *p == '\n')
            *p = '\'';
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[32];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    fprintf(stderr, "time=%s.%03ldZ level=%s component=%s msg=\"%s\"\n", when,
            ts.tv_nsec / 1000000, level, component, msg);
}
