/*
 * fuzz_cron.c — libFuzzer target for the cron parser: the input up to its
 * first NUL byte is an expression, the bytes after it (if any, up to a
 * second NUL) a zone name. When chore_cron_parse accepts it, the target
 * asks chore_cron_next for a few fires from several instants (year 1,
 * daylight-saving days, year 9999) and for chore_cron_explain with a
 * full-size and a short buffer, checks the API's promises, and frees
 * everything. tests/test_cron_corpus.c #includes this file to replay the
 * corpus (fuzz/corpus/cron) in `make test` without clang.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chore.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Instants to ask next() from, in ms: the edges of the range and the
 * daylight-saving days of docs/CRON.md (New York, London, Lord Howe). */
static const int64_t fuzz_cron_from_ms[] = {
    -62135596800000LL, /* 0001-01-01T00:00:00Z */
    -1,                /* just before the epoch */
    1741500000000LL,   /* 2025-03-09T06:00:00Z */
    1762064100000LL,   /* 2025-11-02T06:15:00Z (01:15 EST, New York's repeated hour) */
    1743296400500LL,   /* 2025-03-30T01:00:00.5Z */
    1743865200000LL,   /* 2025-04-05T15:00:00Z */
    253402300000000LL, /* 9999-12-31T23:46:40Z */
};

static void fuzz_cron_run(const chore_cron *cron, int64_t from)
{
    int64_t after = from;
    for (int i = 0; i < 4; i++) {
        int64_t next = 0;
        int rc = chore_cron_next(cron, after, &next);
        if (rc == CHORE_ENOTFOUND)
            return;
        FUZZ_CHECK(rc == CHORE_OK);
        FUZZ_CHECK(next > after);
        FUZZ_CHECK(next % 1000 == 0);
        after = next;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096) /* longer inputs add nothing but time */
        return 0;
    char *text = malloc(size + 2);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    text[size + 1] = '\0';
    const char *expr = text;
    size_t expr_len = strlen(expr);
    const char *zone = expr_len < size ? text + expr_len + 1 : NULL;

    chore_cron *cron = (chore_cron *)text; /* must be reset on failure */
    char err[256];
    memset(err, 'x', sizeof err);
    int rc = chore_cron_parse(&cron, expr, zone, err, sizeof err);
    if (rc != CHORE_OK) {
        FUZZ_CHECK(rc == CHORE_EINVAL || rc == CHORE_ENOTFOUND || rc == CHORE_ENOMEM);
        FUZZ_CHECK(cron == NULL);
        FUZZ_CHECK(memchr(err, '\0', sizeof err) != NULL);
        FUZZ_CHECK(err[0] != '\0');
        FUZZ_CHECK(strchr(err, '\n') == NULL);
        /* a 1-byte buffer must stay a valid (empty) string */
        char tiny = 'x';
        cron = (chore_cron *)text;
        rc = chore_cron_parse(&cron, expr, zone, &tiny, 1);
        FUZZ_CHECK(rc != CHORE_OK && cron == NULL && tiny == '\0');
        free(text);
        return 0;
    }
    FUZZ_CHECK(cron != NULL);
    FUZZ_CHECK(chore_cron_zone(cron) != NULL && chore_cron_zone(cron)[0] != '\0');

    for (size_t i = 0; i < sizeof fuzz_cron_from_ms / sizeof fuzz_cron_from_ms[0]; i++)
        fuzz_cron_run(cron, fuzz_cron_from_ms[i]);
    int64_t next;
    FUZZ_CHECK(chore_cron_next(cron, -62135596800002LL, &next) == CHORE_EINVAL);
    FUZZ_CHECK(chore_cron_next(cron, INT64_MAX, &next) == CHORE_EINVAL);
    FUZZ_CHECK(chore_cron_next(NULL, 0, &next) == CHORE_EINVAL);

    char buf[CHORE_CRON_EXPLAIN_MAX];
    memset(buf, 'x', sizeof buf);
    FUZZ_CHECK(chore_cron_explain(cron, buf, sizeof buf) == CHORE_OK);
    size_t len = strnlen(buf, sizeof buf);
    FUZZ_CHECK(len > 0 && len < sizeof buf);
    /* a short buffer (its size taken from the input) holds a prefix */
    size_t small = 1 + size % 48;
    char part[48];
    rc = chore_cron_explain(cron, part, small);
    FUZZ_CHECK(rc == (len < small ? CHORE_OK : CHORE_EINVAL));
    FUZZ_CHECK(strnlen(part, small) < small);
    FUZZ_CHECK(strncmp(part, buf, strlen(part)) == 0);
    FUZZ_CHECK(chore_cron_explain(cron, NULL, 16) == CHORE_EINVAL);

    chore_cron_free(cron);
    free(text);
    return 0;
}
