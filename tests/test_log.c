/* test_log.c — structured logs, through a log_fn callback and on stderr:
 * levels, logfmt escaping, components, long lines, one line per call. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log_capture.h"
#include "rt_fixture.h"
#include "runtime/runtime.h"
#include "test_util.h"

static void log_levels_filter(void **state)
{
    (void)state;
    static const struct {
        chore_log_level cfg;
        const char *seen; /* the levels that pass, of debug info warn error */
    } cases[] = {
        {CHORE_LOG_DEBUG, "diwe"}, {CHORE_LOG_INFO, "iwe"}, {CHORE_LOG_WARN, "we"},
        {CHORE_LOG_ERROR, "e"},    {CHORE_LOG_OFF, ""},
    };
    static const chore_log_level order[] = {CHORE_LOG_DEBUG, CHORE_LOG_INFO, CHORE_LOG_WARN,
                                            CHORE_LOG_ERROR};
    static const char *names[] = {"debug", "info", "warn", "error"};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        captured cap;
        captured_init(&cap);
        fixture f;
        chore *c = open_logging(&f, &cap, cases[k].cfg);
        for (int i = 0; i < 4; i++) {
            rt_log(c, order[i], "levels", "a %s line", names[i]);
            bool passes = strchr(cases[k].seen, names[i][0]) != NULL;
            assert_int_equal(rt_log_enabled(c, order[i]), passes);
        }
        rt_log(c, CHORE_LOG_OFF, "levels", "never");
        assert_int_equal(cap.n, (int)strlen(cases[k].seen));
        for (int i = 0; i < cap.n; i++) {
            logfmt l;
            assert_true(parse_logfmt(cap.lines[i], &l));
            const char *want = NULL;
            for (int j = 0; j < 4; j++)
                if (names[j][0] == cases[k].seen[i])
                    want = names[j];
            assert_log_header(&l, want, "levels");
            assert_int_equal(cap.levels[i], order[strchr("diwe", want[0]) - "diwe"]);
            char msg[32];
            snprintf(msg, sizeof msg, "a %s line", want);
            assert_string_equal(l.value[3], msg);
        }
        fixture_close(&f);
        captured_free(&cap);
    }
    /* An unknown level is refused. */
    chore *c = NULL;
    chore_config bad = {.log_level = (chore_log_level)7, .store = "sqlite::memory:"};
    assert_int_equal(chore_open(&c, &bad), CHORE_EINVAL);
}

static void log_escaping_and_fields(void **state)
{
    (void)state;
    captured cap;
    captured_init(&cap);
    fixture f;
    chore *c = open_logging(&f, &cap, CHORE_LOG_DEBUG);
    rt_log(c, CHORE_LOG_WARN, "my_loop", "said \"%s\" \\ then\nleft\ttab %d", "hi", 3);
    rt_log_kv(c, CHORE_LOG_ERROR, "chore.rescuer", "fields", "plain", "abc", "spaced", "two words",
              "eq", "a=b", "empty", "", "quote", "say \"x\"", "slash", "c:\\d", "nl", "1\n2",
              "ctl", "\x01", "utf8", "h\xc3\xa9", "null", (const char *)NULL, NULL);
    assert_int_equal(cap.n, 2);
    for (int i = 0; i < 2; i++)
        assert_null(strchr(cap.lines[i], '\n'));
    assert_string_equal(cap.components[0], "my_loop");
    assert_string_equal(cap.components[1], "chore.rescuer");
    assert_int_equal(cap.levels[0], CHORE_LOG_WARN);
    assert_int_equal(cap.levels[1], CHORE_LOG_ERROR);

    logfmt l;
    assert_true(parse_logfmt(cap.lines[0], &l));
    assert_log_header(&l, "warn", "my_loop");
    assert_int_equal(l.n, 4);
    assert_string_equal(l.value[3], "said \"hi\" \\ then\nleft\ttab 3");
    assert_non_null(strstr(cap.lines[0], "msg=\"said \\\"hi\\\" \\\\ then\\nleft\\ttab 3\""));

    assert_true(parse_logfmt(cap.lines[1], &l));
    assert_log_header(&l, "error", "chore.rescuer");
    static const char *want[][3] = {
        /* key, value, how it is written */
        {"plain", "abc", "plain=abc"},
        {"spaced", "two words", "spaced=\"two words\""},
        {"eq", "a=b", "eq=\"a=b\""},
        {"empty", "", "empty=\"\""},
        {"quote", "say \"x\"", "quote=\"say \\\"x\\\"\""},
        {"slash", "c:\\d", "slash=\"c:\\\\d\""},
        {"nl", "1\n2", "nl=\"1\\n2\""},
        {"ctl", "\x01", "ctl=\"\\u0001\""},
        {"utf8", "h\xc3\xa9", "utf8=h\xc3\xa9"},
        {"null", "", "null=\"\""},
    };
    assert_int_equal(l.n, 4 + (int)(sizeof want / sizeof want[0]));
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        assert_string_equal(l.key[4 + i], want[i][0]);
        assert_string_equal(l.value[4 + i], want[i][1]);
        assert_non_null(strstr(cap.lines[1], want[i][2]));
    }
    fixture_close(&f);
    captured_free(&cap);
}

static void log_long_lines_are_cut(void **state)
{
    (void)state;
    captured cap;
    captured_init(&cap);
    fixture f;
    chore *c = open_logging(&f, &cap, CHORE_LOG_INFO);
    char *big = malloc(20000);
    assert_non_null(big);
    for (int i = 0; i < 19999; i++)
        big[i] = i % 7 == 0 ? '"' : 'x';
    big[19999] = '\0';
    rt_log_kv(c, CHORE_LOG_INFO, "big", "a long field", "a", big, "b", big, NULL);
    rt_log(c, CHORE_LOG_INFO, "big", "%s", big);
    free(big);
    assert_int_equal(cap.n, 2);
    for (int i = 0; i < 2; i++) {
        assert_true(strlen(cap.lines[i]) <= 4096);
        logfmt l;
        assert_true(parse_logfmt(cap.lines[i], &l));
        assert_log_header(&l, "info", "big");
    }
    assert_non_null(strstr(cap.lines[0], "...\""));
    fixture_close(&f);
    captured_free(&cap);
}

static void log_open_failure_reaches_log_fn(void **state)
{
    (void)state;
    captured cap;
    captured_init(&cap);
    chore_config cfg = {.store = "sqlite:/nonexistent-dir/x/y.db", .log_fn = capture_fn,
                        .log_ud = &cap};
    chore *c = NULL;
    assert_int_not_equal(chore_open(&c, &cfg), CHORE_OK);
    assert_null(c);
    assert_int_equal(cap.n, 1);
    logfmt l;
    assert_true(parse_logfmt(cap.lines[0], &l));
    assert_log_header(&l, "error", "store");
    assert_string_equal(cap.components[0], "store");
    assert_int_equal(cap.levels[0], CHORE_LOG_ERROR);
    captured_free(&cap);
    /* With the level off, nothing. */
    captured_init(&cap);
    cfg.log_level = CHORE_LOG_OFF;
    assert_int_not_equal(chore_open(&c, &cfg), CHORE_OK);
    assert_int_equal(cap.n, 0);
    captured_free(&cap);
}

enum { STDERR_THREADS = 8, STDERR_LINES = 300 };

static void *log_to_stderr(void *arg)
{
    chore *c = arg;
    for (int i = 0; i < STDERR_LINES; i++)
        rt_log_kv(c, CHORE_LOG_INFO, "threads", "a line from a thread with some words in it",
                  "padding", "0123456789012345678901234567890123456789012345678901234567890123",
                  NULL);
    return NULL;
}

/* Without a log_fn, lines go to stderr whole, one per call, even from many threads. */
static void log_stderr_lines_do_not_interleave(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, NULL);
    char path[700];
    test_db_path(path, sizeof path, "stderr");
    int fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0600);
    assert_true(fd >= 0);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    assert_true(dup2(fd, STDERR_FILENO) >= 0);
    pthread_t threads[STDERR_THREADS];
    for (int i = 0; i < STDERR_THREADS; i++)
        pthread_create(&threads[i], NULL, log_to_stderr, f.c);
    for (int i = 0; i < STDERR_THREADS; i++)
        pthread_join(threads[i], NULL);
    rt_log(f.c, CHORE_LOG_DEBUG, "threads", "dropped: below the default level");
    dup2(saved, STDERR_FILENO);
    close(saved);
    FILE *in = fdopen(fd, "r");
    assert_non_null(in);
    rewind(in);
    char line[8192];
    int n = 0;
    while (fgets(line, sizeof line, in) != NULL) {
        size_t len = strlen(line);
        assert_true(len > 0 && line[len - 1] == '\n');
        line[len - 1] = '\0';
        logfmt l;
        assert_true(parse_logfmt(line, &l));
        assert_log_header(&l, "info", "threads");
        assert_int_equal(l.n, 5);
        n++;
    }
    fclose(in);
    unlink(path);
    assert_int_equal(n, STDERR_THREADS * STDERR_LINES);
    fixture_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(log_levels_filter),
        cmocka_unit_test(log_escaping_and_fields),
        cmocka_unit_test(log_long_lines_are_cut),
        cmocka_unit_test(log_open_failure_reaches_log_fn),
        cmocka_unit_test(log_stderr_lines_do_not_interleave),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
