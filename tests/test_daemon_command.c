/* test_daemon_command.c — command jobs end to end: a real instance on a
 * SQLite file, real shells, results and errors read back with chore_job_get. */
#include <errno.h>
#include <jansson.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon.h"
#include "test_util.h"

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* An instance with a command runner for the job types in `ini`. */
typedef struct fixture {
    chore *c;
    command_runner *r;
    daemon_config cfg;
} fixture;

static void load_config(daemon_config *cfg, const char *ini)
{
    static int counter;
    char path[600], err[512];
    snprintf(path, sizeof path, "%s/cmd-%d.ini", test_tmpdir(), ++counter);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(ini, f);
    fclose(f);
    daemon_config_defaults(cfg);
    if (daemon_config_load(path, cfg, err, sizeof err) != 0)
        fail_msg("%s", err);
}

static void start(fixture *fx, const char *ini)
{
    char url[700];
    chore_config cc = {.store = test_store_url(url, sizeof url, "cmd"),
                       .workers = 4,
                       .durability = CHORE_DURABLE_PROCESS,
                       .log_level = CHORE_LOG_WARN};
    assert_int_equal(chore_open(&fx->c, &cc), CHORE_OK);
    load_config(&fx->cfg, ini);
    assert_int_equal(command_runner_start(&fx->r, fx->c, &fx->cfg), CHORE_OK);
    assert_int_equal(chore_start(fx->c), CHORE_OK);
}

static void finish(fixture *fx)
{
    chore_stop(fx->c, 10000);
    chore_close(fx->c);
    command_runner_free(fx->r);
    daemon_config_free(&fx->cfg);
}

static int64_t enqueue(fixture *fx, const char *name, const char *payload, int max_attempts)
{
    chore_enqueue_opts o = {.max_attempts = max_attempts};
    int64_t id = 0;
    assert_int_equal(chore_enqueue(fx->c, name, payload, &o, &id), CHORE_OK);
    return id;
}

/* Poll the job until it is in `want` (20 s real-time deadline). */
static chore_job_info *wait_state(fixture *fx, int64_t id, chore_state want)
{
    int64_t deadline = mono_ms() + 20000;
    for (;;) {
        chore_job_info *info = NULL;
        assert_int_equal(chore_job_get(fx->c, id, &info), CHORE_OK);
        if (info->state == want)
            return info;
        if (mono_ms() > deadline)
            fail_msg("job %lld is %s, not %s", (long long)id, chore_state_name(info->state),
                     chore_state_name(want));
        chore_job_info_free(info);
        usleep(10000);
    }
}

/* The job's result as JSON. */
static json_t *result_of(const chore_job_info *info)
{
    assert_non_null(info->result);
    json_error_t e;
    json_t *v = json_loads(info->result, 0, &e);
    if (v == NULL)
        fail_msg("result is not JSON: %s: %s", e.text, info->result);
    return v;
}

static const char *str_field(json_t *v, const char *key)
{
    const char *s = json_string_value(json_object_get(v, key));
    if (s == NULL)
        fail_msg("no string %s in the result", key);
    return s;
}

static void test_payload_env_and_output(void **state)
{
    (void)state;
    fixture fx = {0};
    start(&fx, "[job echo]\n"
               "command = cat; echo; echo \"id=$CHORE_JOB_ID name=$CHORE_JOB_NAME "
               "attempt=$CHORE_ATTEMPT\"; echo oops >&2\n");
    int64_t id = enqueue(&fx, "echo", "{\"x\": 42}", 0);
    chore_job_info *info = wait_state(&fx, id, CHORE_COMPLETED);
    json_t *v = result_of(info);
    assert_int_equal(json_integer_value(json_object_get(v, "exit_code")), 0);
    const char *out = str_field(v, "stdout");
    assert_non_null(strstr(out, "\"x\""));
    assert_non_null(strstr(out, "42"));
    char want[128];
    snprintf(want, sizeof want, "id=%lld name=echo attempt=1\n", (long long)id);
    assert_non_null(strstr(out, want));
    assert_string_equal(str_field(v, "stderr"), "oops\n");
    assert_null(json_object_get(v, "stdout_dropped"));
    json_decref(v);
    chore_job_info_free(info);
    finish(&fx);
}

static void test_failure_retried_then_discarded(void **state)
{
    (void)state;
    fixture fx = {0};
    start(&fx, "[job bad]\ncommand = echo first >&2; echo \"bad $CHORE_ATTEMPT\" >&2; exit 3\n"
               "backoff = 10ms\nbackoff_max = 20ms\n"
               "[job killed]\ncommand = kill -9 $$\nbackoff = 10ms\nbackoff_max = 20ms\n");
    int64_t id = enqueue(&fx, "bad", NULL, 2);
    chore_job_info *info = wait_state(&fx, id, CHORE_DISCARDED);
    assert_int_equal(info->attempt, 2);
    assert_int_equal(info->n_errors, 2);
    assert_string_equal(info->errors[0].error, "exit status 3; stderr: first\nbad 1");
    assert_string_equal(info->errors[1].error, "exit status 3; stderr: first\nbad 2");
    assert_null(info->result);
    chore_job_info_free(info);

    id = enqueue(&fx, "killed", NULL, 1);
    info = wait_state(&fx, id, CHORE_DISCARDED);
    assert_int_equal(info->n_errors, 1);
    assert_string_equal(info->errors[0].error, "killed by signal SIGKILL");
    chore_job_info_free(info);
    finish(&fx);
}

/* True once `pid` no longer runs: gone, or a zombie waiting for its reaper. */
static bool process_gone(pid_t pid)
{
    if (kill(pid, 0) != 0)
        return errno == ESRCH;
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return true;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *paren = strrchr(buf, ')');
    return paren != NULL && paren[1] == ' ' && paren[2] == 'Z';
}

static pid_t read_pid(const char *path)
{
    int64_t deadline = mono_ms() + 10000;
    for (;;) {
        FILE *f = fopen(path, "r");
        int pid = 0;
        if (f != NULL) {
            if (fscanf(f, "%d", &pid) != 1)
                pid = 0;
            fclose(f);
        }
        if (pid > 0)
            return pid;
        assert_true(mono_ms() < deadline);
        usleep(10000);
    }
}

static void wait_gone(pid_t pid)
{
    int64_t deadline = mono_ms() + 10000;
    while (!process_gone(pid)) {
        if (mono_ms() > deadline)
            fail_msg("process %d of the timed-out command still runs", (int)pid);
        usleep(10000);
    }
}

static void test_timeout_kills_the_group(void **state)
{
    (void)state;
    char pidfile[600], pidfile2[600], ini[2000];
    snprintf(pidfile, sizeof pidfile, "%s/bg.pid", test_tmpdir());
    snprintf(pidfile2, sizeof pidfile2, "%s/stubborn.pid", test_tmpdir());
    /* "slow" stops on SIGTERM; "stubborn" ignores it, so needs the SIGKILL */
    snprintf(ini, sizeof ini,
             "[job slow]\ncommand = sleep 30 & echo $! > %s; wait\ntimeout = 200ms\n"
             "kill_grace = 10s\n"
             "[job stubborn]\ncommand = trap '' TERM; sleep 30 & echo $! > %s; wait; wait\n"
             "timeout = 200ms\nkill_grace = 300ms\n",
             pidfile, pidfile2);
    fixture fx = {0};
    start(&fx, ini);

    int64_t t0 = mono_ms();
    int64_t id = enqueue(&fx, "slow", NULL, 1);
    pid_t bg = read_pid(pidfile);
    chore_job_info *info = wait_state(&fx, id, CHORE_DISCARDED);
    assert_true(mono_ms() - t0 < 5000); /* SIGTERM sufficed: no wait for the 10 s grace */
    assert_int_equal(info->n_errors, 1);
    assert_string_equal(info->errors[0].error, "timed out after 200ms");
    chore_job_info_free(info);
    wait_gone(bg);

    t0 = mono_ms();
    id = enqueue(&fx, "stubborn", NULL, 1);
    bg = read_pid(pidfile2);
    info = wait_state(&fx, id, CHORE_DISCARDED);
    assert_true(mono_ms() - t0 >= 500 - 50); /* 200 ms timeout + 300 ms grace */
    assert_string_equal(info->errors[0].error, "timed out after 200ms");
    chore_job_info_free(info);
    wait_gone(bg);
    finish(&fx);
}

static void test_output_keeps_last_64k(void **state)
{
    (void)state;
    fixture fx = {0};
    start(&fx, "[job big]\ncommand = seq 1 30000; seq 1 100 >&2\n"
               "[job bytes]\ncommand = printf 'a\\377b\\000c\\303'\n"
               "[job deaf]\ncommand = true\n");
    int64_t id = enqueue(&fx, "big", NULL, 0);
    chore_job_info *info = wait_state(&fx, id, CHORE_COMPLETED);
    json_t *v = result_of(info);
    /* what seq wrote, to compare the kept tail with */
    size_t cap = 300000, len = 0;
    char *all = malloc(cap);
    for (int i = 1; i <= 30000; i++)
        len += (size_t)snprintf(all + len, cap - len, "%d\n", i);
    const char *out = str_field(v, "stdout");
    assert_int_equal(strlen(out), 65536);
    assert_memory_equal(out, all + len - 65536, 65536);
    assert_int_equal(json_integer_value(json_object_get(v, "stdout_dropped")), len - 65536);
    assert_int_equal(strlen(str_field(v, "stderr")), 292); /* 1..100, whole */
    json_decref(v);
    chore_job_info_free(info);
    free(all);

    /* bytes that are not UTF-8 (and a NUL) become U+FFFD */
    id = enqueue(&fx, "bytes", NULL, 0);
    info = wait_state(&fx, id, CHORE_COMPLETED);
    v = result_of(info);
    assert_string_equal(str_field(v, "stdout"), "a\xEF\xBF\xBD" "b\xEF\xBF\xBD" "c\xEF\xBF\xBD");
    json_decref(v);
    chore_job_info_free(info);

    /* a command that never reads a large payload still completes */
    size_t big = 1 << 20;
    char *payload = malloc(big + 16);
    memset(payload, 'p', big + 16);
    payload[0] = '"';
    payload[big] = '"';
    payload[big + 1] = '\0';
    id = enqueue(&fx, "deaf", payload, 0);
    free(payload);
    info = wait_state(&fx, id, CHORE_COMPLETED);
    chore_job_info_free(info);
    finish(&fx);
}

static void test_reload_adds_and_removes(void **state)
{
    (void)state;
    fixture fx = {0};
    start(&fx, "[job a]\ncommand = echo a\n[job keep]\ncommand = echo keep\nmax_attempts = 7\n");
    const daemon_job_type *keep = command_runner_type(fx.r, "keep");
    assert_non_null(keep);
    assert_int_equal(keep->max_attempts, 7);
    assert_non_null(command_runner_type(fx.r, "a"));
    assert_null(command_runner_type(fx.r, "b"));

    daemon_config next;
    load_config(&next, "[job keep]\ncommand = echo keep\nmax_attempts = 7\n"
                       "[job b]\ncommand = echo bee\n");
    assert_int_equal(command_runner_reload(fx.r, &next), CHORE_OK);
    daemon_config_free(&next);
    assert_null(command_runner_type(fx.r, "a"));
    assert_ptr_equal(command_runner_type(fx.r, "keep"), keep); /* unchanged: same handler */
    assert_non_null(command_runner_type(fx.r, "b"));

    int64_t a = enqueue(&fx, "a", NULL, 0);
    int64_t b = enqueue(&fx, "b", NULL, 0);
    chore_job_info *info = wait_state(&fx, b, CHORE_COMPLETED);
    json_t *v = result_of(info);
    assert_string_equal(str_field(v, "stdout"), "bee\n");
    json_decref(v);
    chore_job_info_free(info);
    assert_int_equal(chore_wait_idle(fx.c, 10000), CHORE_OK);
    assert_int_equal(chore_job_get(fx.c, a, &info), CHORE_OK);
    assert_int_equal(info->state, CHORE_AVAILABLE); /* nobody handles "a" any more */
    chore_job_info_free(info);

    /* a changed command takes effect */
    load_config(&next, "[job b]\ncommand = echo changed\n");
    assert_int_equal(command_runner_reload(fx.r, &next), CHORE_OK);
    daemon_config_free(&next);
    assert_null(command_runner_type(fx.r, "keep"));
    b = enqueue(&fx, "b", NULL, 0);
    info = wait_state(&fx, b, CHORE_COMPLETED);
    v = result_of(info);
    assert_string_equal(str_field(v, "stdout"), "changed\n");
    json_decref(v);
    chore_job_info_free(info);
    finish(&fx);
}

static void test_stop_ends_long_commands(void **state)
{
    (void)state;
    char pidfile[600], ini[1000];
    snprintf(pidfile, sizeof pidfile, "%s/long.pid", test_tmpdir());
    snprintf(ini, sizeof ini, "[job long]\ncommand = echo $$ > %s; exec sleep 30\ntimeout = 0\n",
             pidfile);
    fixture fx = {0};
    start(&fx, ini);
    int64_t id = enqueue(&fx, "long", NULL, 0);
    pid_t pid = read_pid(pidfile);
    int64_t t0 = mono_ms();
    /* The grace runs out: the job goes back unworked, its command is ended. */
    assert_int_equal(chore_stop(fx.c, 300), CHORE_ETIMEDOUT);
    assert_true(mono_ms() - t0 < 5000);
    wait_gone(pid);
    chore_job_info *info = NULL;
    assert_int_equal(chore_job_get(fx.c, id, &info), CHORE_OK);
    assert_int_equal(info->state, CHORE_AVAILABLE); /* worked again after a restart */
    assert_int_equal(info->attempt, 0);
    assert_int_equal(info->n_errors, 0);
    chore_job_info_free(info);
    finish(&fx);
}

static void test_stop_lets_commands_finish_within_the_grace(void **state)
{
    (void)state;
    char pidfile[600], ini[1000];
    snprintf(pidfile, sizeof pidfile, "%s/short.pid", test_tmpdir());
    snprintf(ini, sizeof ini, "[job short]\ncommand = echo $$ > %s; sleep 0.5; echo done\n",
             pidfile);
    fixture fx = {0};
    start(&fx, ini);
    int64_t id = enqueue(&fx, "short", NULL, 0);
    read_pid(pidfile); /* it runs */
    assert_int_equal(chore_stop(fx.c, 10000), CHORE_OK);
    chore_job_info *info = NULL;
    assert_int_equal(chore_job_get(fx.c, id, &info), CHORE_OK);
    assert_int_equal(info->state, CHORE_COMPLETED);
    json_t *v = result_of(info);
    assert_string_equal(str_field(v, "stdout"), "done\n");
    json_decref(v);
    chore_job_info_free(info);
    finish(&fx);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    command_runner *r = (command_runner *)1;
    daemon_config cfg;
    daemon_config_defaults(&cfg);
    assert_int_equal(command_runner_start(&r, NULL, &cfg), CHORE_EINVAL);
    assert_null(r);
    assert_int_equal(command_runner_reload(NULL, &cfg), CHORE_EINVAL);
    assert_null(command_runner_type(NULL, "x"));
    command_runner_free(NULL);
    daemon_config_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_payload_env_and_output),
        cmocka_unit_test(test_failure_retried_then_discarded),
        cmocka_unit_test(test_timeout_kills_the_group),
        cmocka_unit_test(test_output_keeps_last_64k),
        cmocka_unit_test(test_reload_adds_and_removes),
        cmocka_unit_test(test_stop_ends_long_commands),
        cmocka_unit_test(test_stop_lets_commands_finish_within_the_grace),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
