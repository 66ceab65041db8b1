/*
 * test_cli_cron.c — runs the built `chore` binary (path in $CHORE_BIN) and
 * checks its `cron` subcommands black box: `cron next` (exact instants
 * across a daylight-saving change, the default count, --explain, bad
 * input), and the durable schedules: `cron add` (add, update, every
 * option), `cron list` (text and --json), `cron pause`, `cron resume`,
 * `cron rm`, their exit statuses, and that bad input stores nothing. One
 * test starts an instance in-process on the same store to see that a
 * schedule added by the CLI fires.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chore.h"
#include "cli_run.h"
#include "test_util.h"

/* What the last run wrote on stderr (NUL-terminated). */
static char last_err[4096];

/* Run with a variable argument list ending in NULL; stdout into out
 * (CLI_OUT_MAX bytes), stderr into last_err. */
static int run(char *out, ...)
{
    va_list ap;
    va_start(ap, out);
    int status = cli_vrun(out, CLI_OUT_MAX, last_err, sizeof last_err, ap);
    va_end(ap);
    return status;
}

/* The last run failed with exit 2: nothing on stdout, one "chore: " line on stderr. */
static void assert_usage_error(int status, const char *out)
{
    if (status != 2)
        fail_msg("exit %d, expected 2 (stderr: %s)", status, last_err);
    assert_string_equal(out, "");
    assert_true(strncmp(last_err, "chore: ", 7) == 0);
    char *nl = strchr(last_err, '\n');
    assert_non_null(nl);
    assert_true(nl[1] == '\0');
}

/* The number of lines in text. */
static int count_lines(const char *text)
{
    int n = 0;
    for (const char *p = text; *p != '\0'; p++)
        n += *p == '\n';
    return n;
}

/* `cron list --json` on store: the parsed document (caller frees) and its array. */
static json_t *list_json(char *out, const char *store, json_t **schedules)
{
    assert_int_equal(run(out, "cron", "list", "--json", "--store", store, NULL), 0);
    json_t *doc = cli_parse_json(out);
    *schedules = json_object_get(doc, "schedules");
    assert_true(json_is_array(*schedules));
    return doc;
}

/* The named string field of a JSON object; fails when it is not a string. */
static const char *str_field(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_string(v))
        fail_msg("%s is not a string", key);
    return json_string_value(v);
}

/* ---------------------------------------------------------------- cron next */

static void test_next_exact_across_dst(void **state)
{
    (void)state;
    char *out = malloc(CLI_OUT_MAX);
    assert_int_equal(run(out, "cron", "next", "30 2 * * *", "--tz", "America/New_York", "--from",
                         "2025-03-08T00:00:00Z", "--count", "3", NULL),
                     0);
    /* 02:30 does not exist on 9 March 2025: fires at 03:00 EDT instead */
    assert_string_equal(out, "2025-03-08T07:30:00Z\n"
                             "2025-03-09T07:00:00Z\n"
                             "2025-03-10T06:30:00Z\n");
    assert_string_equal(last_err, "");
    free(out);
}

static void test_next_default_count_and_explain(void **state)
{
    (void)state;
    char *out = malloc(CLI_OUT_MAX);
    assert_int_equal(run(out, "cron", "next", "*/15 * * * *", "--from", "2025-01-01T00:00:00Z",
                         NULL),
                     0);
    assert_string_equal(out, "2025-01-01T00:15:00Z\n"
                             "2025-01-01T00:30:00Z\n"
                             "2025-01-01T00:45:00Z\n"
                             "2025-01-01T01:00:00Z\n"
                             "2025-01-01T01:15:00Z\n");
    /* without --from: five lines after now */
    assert_int_equal(run(out, "cron", "next", "@hourly", NULL), 0);
    assert_int_equal(count_lines(out), 5);

    assert_int_equal(run(out, "cron", "next", "30 2 * * *", "--tz", "America/New_York", "--from",
                         "2025-03-08T00:00:00Z", "--count", "1", "--explain", NULL),
                     0);
    assert_string_equal(out, "at 02:30 every day, America/New_York\n"
                             "2025-03-08T07:30:00Z\n");
    free(out);
}

static void test_next_bad_input(void **state)
{
    (void)state;
    char *out = malloc(CLI_OUT_MAX);
    assert_usage_error(run(out, "cron", "next", "61 * * * *", NULL), out);
    assert_non_null(strstr(last_err, "minute"));
    assert_usage_error(run(out, "cron", "next", "* * * *", NULL), out);
    assert_usage_error(run(out, "cron", "next", "* * * * *", "--tz", "Mars/Olympus_Mons", NULL),
                       out);
    assert_usage_error(
        run(out, "cron", "next", "* * * * *", "--from", "2025-02-30T00:00:00Z", NULL), out);
    assert_usage_error(run(out, "cron", "next", "* * * * *", "--from", "yesterday", NULL), out);
    assert_usage_error(run(out, "cron", "next", "* * * * *", "--count", "0", NULL), out);
    assert_usage_error(run(out, "cron", "next", "* * * * *", "--count", "many", NULL), out);
    assert_usage_error(run(out, "cron", "next", "* * * * *", "--count", NULL), out);
    assert_usage_error(run(out, "cron", "next", NULL), out);
    assert_usage_error(run(out, "cron", "next", "* * * * *", "--bogus", NULL), out);
    assert_usage_error(run(out, "cron", NULL), out);
    assert_usage_error(run(out, "cron", "frobnicate", NULL), out);
    free(out);
}

/* ---------------------------------------------------------------- schedules */

static void test_add_list_update_pause_resume_rm(void **state)
{
    (void)state;
    char *out = malloc(CLI_OUT_MAX);
    char store[600];
    test_store_url(store, sizeof store, "sched");

    /* an empty store lists nothing */
    json_t *schedules;
    json_t *doc = list_json(out, store, &schedules);
    assert_int_equal(json_array_size(schedules), 0);
    json_decref(doc);

    assert_int_equal(run(out, "cron", "add", "nightly", "30 2 * * *", "report.build",
                         "{\"kind\":\"daily\"}", "--tz", "America/New_York", "--store", store,
                         NULL),
                     0);
    assert_string_equal(out, "added nightly\n");

    doc = list_json(out, store, &schedules);
    assert_int_equal(json_array_size(schedules), 1);
    json_t *s = json_array_get(schedules, 0);
    assert_string_equal(str_field(s, "name"), "nightly");
    assert_string_equal(str_field(s, "cron"), "30 2 * * *");
    assert_string_equal(str_field(s, "zone"), "America/New_York");
    assert_string_equal(str_field(s, "job"), "report.build");
    assert_string_equal(str_field(json_object_get(s, "payload"), "kind"), "daily");
    assert_string_equal(str_field(s, "queue"), "default");
    assert_int_equal(json_integer_value(json_object_get(s, "priority")), 0);
    assert_int_equal(json_integer_value(json_object_get(s, "max_attempts")), 0);
    assert_int_equal(json_integer_value(json_object_get(s, "timeout_ms")), 0);
    assert_string_equal(str_field(s, "missed"), "once");
    assert_int_equal(json_integer_value(json_object_get(s, "missed_cap")), 10);
    assert_string_equal(str_field(s, "overlap"), "allow");
    assert_true(json_is_false(json_object_get(s, "paused")));
    assert_true(json_is_null(json_object_get(s, "last_job_id")));

    /* next_fire is the expression's first fire after last_fire */
    char last_fire[64], next_fire[64];
    snprintf(last_fire, sizeof last_fire, "%s", str_field(s, "last_fire"));
    snprintf(next_fire, sizeof next_fire, "%s\n", str_field(s, "next_fire"));
    json_decref(doc);
    assert_int_equal(run(out, "cron", "next", "30 2 * * *", "--tz", "America/New_York", "--from",
                         last_fire, "--count", "1", NULL),
                     0);
    assert_string_equal(out, next_fire);
    assert_true(strcmp(next_fire, last_fire) > 0);

    /* the text list: a header and one line with the next fire */
    assert_int_equal(run(out, "cron", "list", "--store", store, NULL), 0);
    assert_int_equal(count_lines(out), 2);
    next_fire[strlen(next_fire) - 1] = '\0';
    assert_non_null(strstr(out, "nightly"));
    assert_non_null(strstr(out, "30 2 * * *"));
    assert_non_null(strstr(out, "America/New_York"));
    assert_non_null(strstr(out, "active"));
    assert_non_null(strstr(out, next_fire));

    /* an update keeps one schedule and changes it */
    assert_int_equal(run(out, "cron", "add", "nightly", "0 3 * * *", "report.build", "--tz",
                         "Europe/London", "--store", store, NULL),
                     0);
    assert_string_equal(out, "updated nightly\n");
    doc = list_json(out, store, &schedules);
    assert_int_equal(json_array_size(schedules), 1);
    s = json_array_get(schedules, 0);
    assert_string_equal(str_field(s, "cron"), "0 3 * * *");
    assert_string_equal(str_field(s, "zone"), "Europe/London");
    json_decref(doc);

    /* pause, resume */
    assert_int_equal(run(out, "cron", "pause", "nightly", "--store", store, NULL), 0);
    assert_string_equal(out, "paused nightly\n");
    doc = list_json(out, store, &schedules);
    assert_true(json_is_true(json_object_get(json_array_get(schedules, 0), "paused")));
    json_decref(doc);
    assert_int_equal(run(out, "cron", "list", "--store", store, NULL), 0);
    assert_non_null(strstr(out, "paused"));
    assert_int_equal(run(out, "cron", "resume", "nightly", "--store", store, NULL), 0);
    assert_string_equal(out, "resumed nightly\n");
    doc = list_json(out, store, &schedules);
    assert_true(json_is_false(json_object_get(json_array_get(schedules, 0), "paused")));
    json_decref(doc);

    /* unknown schedules: a runtime failure */
    assert_int_equal(run(out, "cron", "rm", "weekly", "--store", store, NULL), 1);
    assert_string_equal(out, "");
    assert_non_null(strstr(last_err, "no schedule named weekly"));
    assert_int_equal(run(out, "cron", "pause", "weekly", "--store", store, NULL), 1);
    assert_int_equal(run(out, "cron", "resume", "weekly", "--store", store, NULL), 1);

    /* rm, then the list is empty */
    assert_int_equal(run(out, "cron", "rm", "nightly", "--store", store, NULL), 0);
    assert_string_equal(out, "removed nightly\n");
    doc = list_json(out, store, &schedules);
    assert_int_equal(json_array_size(schedules), 0);
    json_decref(doc);
    assert_int_equal(run(out, "cron", "list", "--store", store, NULL), 0);
    assert_string_equal(out, "");
    assert_int_equal(run(out, "cron", "rm", "nightly", "--store", store, NULL), 1);
    free(out);
}

static void test_add_every_option(void **state)
{
    (void)state;
    char *out = malloc(CLI_OUT_MAX);
    char store[600];
    test_store_url(store, sizeof store, "opts");
    assert_int_equal(run(out, "cron", "add", "sync", "*/10 * * * * *", "data.sync", "[1,2]",
                         "--queue", "bulk", "--priority=-4", "--max-attempts", "3", "--timeout",
                         "1m30s", "--missed", "each", "--missed-cap", "5", "--overlap",
                         "queue-one", "--store", store, NULL),
                     0);
    assert_int_equal(run(out, "cron", "add", "beat", "@every 90s", "heart.beat", "--missed",
                         "skip", "--overlap", "skip", "--store", store, NULL),
                     0);
    json_t *schedules;
    json_t *doc = list_json(out, store, &schedules);
    assert_int_equal(json_array_size(schedules), 2);
    /* by name: beat, sync */
    json_t *b = json_array_get(schedules, 0), *s = json_array_get(schedules, 1);
    assert_string_equal(str_field(b, "name"), "beat");
    assert_string_equal(str_field(b, "zone"), "UTC");
    assert_string_equal(str_field(b, "missed"), "skip");
    assert_string_equal(str_field(b, "overlap"), "skip");
    assert_true(json_is_object(json_object_get(b, "payload")));

    assert_string_equal(str_field(s, "name"), "sync");
    assert_string_equal(str_field(s, "cron"), "*/10 * * * * *");
    assert_string_equal(str_field(s, "job"), "data.sync");
    assert_true(json_is_array(json_object_get(s, "payload")));
    assert_string_equal(str_field(s, "queue"), "bulk");
    assert_int_equal(json_integer_value(json_object_get(s, "priority")), -4);
    assert_int_equal(json_integer_value(json_object_get(s, "max_attempts")), 3);
    assert_int_equal(json_integer_value(json_object_get(s, "timeout_ms")), 90000);
    assert_string_equal(str_field(s, "missed"), "each");
    assert_int_equal(json_integer_value(json_object_get(s, "missed_cap")), 5);
    assert_string_equal(str_field(s, "overlap"), "queue-one");
    assert_true(json_is_string(json_object_get(s, "last_fire")));
    assert_true(json_is_string(json_object_get(s, "next_fire")));
    json_decref(doc);

    /* an expression that never fires: next_fire is null, "never" in the table */
    assert_int_equal(run(out, "cron", "add", "never", "0 0 30 2 *", "x.y", "--store", store, NULL),
                     0);
    doc = list_json(out, store, &schedules);
    assert_int_equal(json_array_size(schedules), 3);
    assert_true(json_is_null(json_object_get(json_array_get(schedules, 1), "next_fire")));
    json_decref(doc);
    assert_int_equal(run(out, "cron", "list", "--store", store, NULL), 0);
    assert_int_equal(count_lines(out), 4);
    assert_non_null(strstr(out, "never"));
    free(out);
}

static void test_add_bad_input_stores_nothing(void **state)
{
    (void)state;
    char *out = malloc(CLI_OUT_MAX);
    char store[600];
    test_store_url(store, sizeof store, "bad");

    assert_usage_error(
        run(out, "cron", "add", "a", "61 * * * *", "j", "--store", store, NULL), out);
    assert_string_equal(last_err, "chore: cron add: minute: 61 is out of range 0-59\n");
    assert_usage_error(run(out, "cron", "add", "a", "* * * *", "j", "--store", store, NULL),
                       out);
    assert_usage_error(run(out, "cron", "add", "a", "*/0 * * * *", "j", "--store", store, NULL),
                       out);
    assert_usage_error(run(out, "cron", "add", "a", "* * * * *", "j", "--tz", "Mars/Base",
                           "--store", store, NULL),
                       out);
    assert_non_null(strstr(last_err, "Mars/Base"));
    assert_usage_error(
        run(out, "cron", "add", "a", "* * * * *", "j", "{not json", "--store", store, NULL),
        out);
    assert_usage_error(run(out, "cron", "add", "a", "* * * * *", "j", "--missed", "sometimes",
                           "--store", store, NULL),
                       out);
    assert_usage_error(run(out, "cron", "add", "a", "* * * * *", "j", "--overlap", "never",
                           "--store", store, NULL),
                       out);
    assert_usage_error(run(out, "cron", "add", "a", "* * * * *", "j", "--missed-cap", "0",
                           "--store", store, NULL),
                       out);
    assert_usage_error(run(out, "cron", "add", "a", "* * * * *", "j", "--missed-cap", "1001",
                           "--store", store, NULL),
                       out);
    assert_usage_error(run(out, "cron", "add", "a", "* * * * *", "j", "--priority", "high",
                           "--store", store, NULL),
                       out);
    assert_usage_error(run(out, "cron", "add", "a", "* * * * *", "j", "--priority",
                           "99999999999", "--store", store, NULL),
                       out);
    assert_usage_error(run(out, "cron", "add", "a", "* * * * *", "j", "--max-attempts", "-1",
                           "--store", store, NULL),
                       out);
    assert_usage_error(run(out, "cron", "add", "a", "* * * * *", "j", "--timeout", "5x",
                           "--store", store, NULL),
                       out);
    assert_usage_error(run(out, "cron", "add", "a", "* * * * *", "j", "--queue", "", "--store",
                           store, NULL),
                       out);
    assert_usage_error(run(out, "cron", "add", "a", "* * * * *", "j", "--bogus", "--store",
                           store, NULL),
                       out);
    assert_usage_error(run(out, "cron", "add", "a", "* * * * *", "j", "--tz", NULL), out);
    assert_usage_error(run(out, "cron", "add", "a", "* * * * *", "--store", store, NULL), out);
    assert_usage_error(
        run(out, "cron", "add", "a", "*", "*", "*", "*", "*", "j", "--store", store, NULL), out);
    assert_usage_error(run(out, "cron", "add", "", "* * * * *", "j", "--store", store, NULL),
                       out);
    assert_usage_error(run(out, "cron", "add", "a", "* * * * *", "", "--store", store, NULL),
                       out);
    assert_usage_error(run(out, "cron", "list", "extra", "--store", store, NULL), out);
    assert_usage_error(run(out, "cron", "list", "--bogus", "--store", store, NULL), out);
    assert_usage_error(run(out, "cron", "rm", "--store", store, NULL), out);
    assert_usage_error(run(out, "cron", "pause", "a", "b", "--store", store, NULL), out);

    json_t *schedules;
    json_t *doc = list_json(out, store, &schedules);
    assert_int_equal(json_array_size(schedules), 0);
    json_decref(doc);
    free(out);
}

/* ---------------------------------------------------------------- firing */

static atomic_int ticks;

static int tick_handler(chore_job *job, void *ud)
{
    (void)job;
    (void)ud;
    atomic_fetch_add(&ticks, 1);
    return CHORE_OK;
}

static void test_added_schedule_fires_in_a_program(void **state)
{
    (void)state;
    char *out = malloc(CLI_OUT_MAX);
    char store[600];
    test_store_url(store, sizeof store, "fire");
    assert_int_equal(
        run(out, "cron", "add", "tick", "@every 1s", "tick.job", "--store", store, NULL), 0);

    /* a program on the same store fires it */
    chore_config cfg = {.store = store, .workers = 1};
    chore *c = NULL;
    assert_int_equal(chore_open(&c, &cfg), CHORE_OK);
    assert_int_equal(chore_handle(c, "tick.job", tick_handler, NULL, NULL), CHORE_OK);
    assert_int_equal(chore_start(c), CHORE_OK);
    for (int i = 0; i < 200 && atomic_load(&ticks) == 0; i++)
        nanosleep(&(struct timespec){.tv_nsec = 50 * 1000 * 1000}, NULL);
    chore_close(c);
    assert_true(atomic_load(&ticks) > 0);

    json_t *schedules;
    json_t *doc = list_json(out, store, &schedules);
    assert_true(json_is_integer(json_object_get(json_array_get(schedules, 0), "last_job_id")));
    json_decref(doc);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_next_exact_across_dst),
        cmocka_unit_test(test_next_default_count_and_explain),
        cmocka_unit_test(test_next_bad_input),
        cmocka_unit_test(test_add_list_update_pause_resume_rm),
        cmocka_unit_test(test_add_every_option),
        cmocka_unit_test(test_add_bad_input_stores_nothing),
        cmocka_unit_test(test_added_schedule_fires_in_a_program),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
