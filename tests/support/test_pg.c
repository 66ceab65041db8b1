/* test_pg.c — the test PostgreSQL cluster for tests (test_pg.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "test_pg.h"

bool test_pg_url(char *buf, size_t len)
{
    const char *dir = getenv("CHORE_TEST_PG_DIR");
    if (dir == NULL || len == 0)
        return false;
    char path[600];
    snprintf(path, sizeof path, "%s/url", dir);
    FILE *fp = fopen(path, "r");
    if (fp == NULL)
        return false;
    bool ok = fgets(buf, (int)len, fp) != NULL;
    fclose(fp);
    if (!ok)
        buf[0] = '\0';
    buf[strcspn(buf, "\r\n")] = '\0';
    return strncmp(buf, "postgres://", 11) == 0;
}

void test_pg_schema(char *buf, size_t len, const char *prefix)
{
    static int counter;
    snprintf(buf, len, "%s%ld_%ld_%d", prefix, (long)getpid(), (long)(time(NULL) % 100000),
             __sync_add_and_fetch(&counter, 1));
}

PGconn *test_pg_connect(const char *url)
{
    PGconn *c = PQconnectdb(url);
    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("connect %s: %s", url, PQerrorMessage(c));
    return c;
}

void test_pg_exec(PGconn *c, const char *sql)
{
    PGresult *res = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(res);
    PQclear(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
}

int64_t test_pg_int(PGconn *c, const char *sql)
{
    PGresult *res = PQexec(c, sql);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        PQclear(res);
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    }
    int64_t v = 0;
    if (PQntuples(res) > 0 && !PQgetisnull(res, 0, 0))
        v = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return v;
}

int64_t test_pg_wait_int(PGconn *c, const char *sql, int64_t at_least, int64_t deadline_ms)
{
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        int64_t v = test_pg_int(c, sql);
        clock_gettime(CLOCK_MONOTONIC, &now);
        int64_t waited_ms = (now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
        if (v >= at_least || waited_ms >= deadline_ms)
            return v;
        usleep(5000);
    }
}
