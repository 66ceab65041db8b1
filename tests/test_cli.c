/*
 * test_cli.c — runs the built `chore` binary (path in $CHORE_BIN) and checks
 * its exit statuses and output: version, bad usage, the admin commands on
 * a temporary store, and `chore bench --json` on a small run.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_run.h"
#include "test_util.h"

/* The id printed by `chore enqueue`. */
static long long enqueue_id(const char *out)
{
    char *end = NULL;
    long long id = strtoll(out, &end, 10);
    assert_true(id > 0);
    assert_true(*end == '\n');
    return id;
}

static void test_version(void **state)
{
    (void)state;
    char *out = malloc(CLI_OUT_MAX);
    assert_int_equal(cli_run(out, "version", NULL), 0);
    assert_non_null(strstr(out, "chore 0."));
    free(out);
}

static void test_bad_usage(void **state)
{
    (void)state;
    char *out = malloc(CLI_OUT_MAX);
    char store[600];
    test_store_url(store, sizeof store, "usage");
    assert_int_equal(cli_run(out, NULL), 2);
    assert_int_equal(cli_run(out, "frobnicate", NULL), 2);
    assert_int_equal(cli_run(out, "enqueue", "--store", store, NULL), 2); /* no name */
    assert_int_equal(cli_run(out, "enqueue", "a.job", "--priority", "high", "--store", store,
                             NULL),
                     2);
    assert_int_equal(cli_run(out, "enqueue", "a.job", "--priority", "99999999999", "--store", store,
                             NULL),
                     2);
    assert_int_equal(cli_run(out, "enqueue", "a.job", "{not json", "--store", store, NULL), 2);
    assert_int_equal(cli_run(out, "enqueue", "a.job", "--in", "5x", "--store", store, NULL), 2);
    assert_int_equal(cli_run(out, "enqueue", "a.job", "--at", "2030-02-30T00:00:00Z", "--store",
                             store, NULL),
                     2);
    char err[256];
    assert_int_equal(cli_run_err(out, err, sizeof err, "enqueue", "a.job", "--unique", "",
                                 "--store", store, NULL),
                     2);
    assert_non_null(strstr(err, "--unique: must be 1 to 512 bytes"));
    const char *bad_names[] = {"", "tab\tname", "del\x7f"};
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
        assert_int_equal(
            cli_run_err(out, err, sizeof err, "enqueue", bad_names[i], "--store", store, NULL), 2);
        assert_non_null(strstr(err, "enqueue: not a job name (1 to 128 bytes"));
    }
    assert_int_equal(cli_run_err(out, err, sizeof err, "enqueue", "a.job", "--queue", "new\nline",
                                 "--store", store, NULL),
                     2);
    assert_non_null(strstr(err, "--queue: not a queue name"));
    /* past the year 9999; the first overflowed the run time once */
    assert_int_equal(cli_run(out, "enqueue", "a.job", "--in", "106751991167d", "--store", store,
                             NULL),
                     2);
    assert_int_equal(cli_run(out, "enqueue", "a.job", "--at", "9999-12-31T23:59:59-05:00",
                             "--store", store, NULL),
                     2);
    assert_int_equal(cli_run(out, "enqueue", "a.job", "--at", "2030-01-01T00:00:00Z", "--in", "1s",
                             "--store", store, NULL),
                     2);
    assert_int_equal(cli_run(out, "enqueue", "a.job", "--bogus", "--store", store, NULL), 2);
    assert_int_equal(cli_run(out, "jobs", "--state", "sleeping", "--store", store, NULL), 2);
    assert_int_equal(cli_run(out, "jobs", "--limit", "0", "--store", store, NULL), 2);
    assert_int_equal(cli_run(out, "job", "abc", "--store", store, NULL), 2);
    assert_int_equal(cli_run(out, "cancel", "--store", store, NULL), 2);
    assert_int_equal(cli_run(out, "bench", "--jobs", "-5", NULL), 2);
    assert_int_equal(cli_run(out, "bench", "--durability", "maybe", NULL), 2);
    free(out);
}

static void test_enqueue_list_show_cancel(void **state)
{
    (void)state;
    char *out = malloc(CLI_OUT_MAX);
    char store[600];
    test_store_url(store, sizeof store, "admin");

    assert_int_equal(cli_run(out, "enqueue", "mail.send", "{\"to\":\"ada\"}", "--queue", "mail",
                             "--priority", "-3", "--max-attempts", "4", "--in", "1h30m", "--store",
                             store, NULL),
                     0);
    long long id = enqueue_id(out);

    /* jobs --json lists it */
    assert_int_equal(cli_run(out, "jobs", "--json", "--store", store, NULL), 0);
    json_t *list = cli_parse_json(out);
    json_t *jobs = json_object_get(list, "jobs");
    assert_true(json_is_array(jobs));
    assert_int_equal(json_array_size(jobs), 1);
    json_t *j = json_array_get(jobs, 0);
    assert_int_equal(json_integer_value(json_object_get(j, "id")), id);
    assert_string_equal(json_string_value(json_object_get(j, "name")), "mail.send");
    assert_string_equal(json_string_value(json_object_get(j, "state")), "scheduled");
    json_decref(list);

    /* filters */
    assert_int_equal(cli_run(out, "jobs", "--json", "--state", "available", "--store", store, NULL),
                     0);
    list = cli_parse_json(out);
    assert_int_equal(json_array_size(json_object_get(list, "jobs")), 0);
    json_decref(list);
    assert_int_equal(cli_run(out, "jobs", "--store", store, NULL), 0);
    assert_non_null(strstr(out, "mail.send"));

    /* job ID --json shows it */
    char id_text[32];
    snprintf(id_text, sizeof id_text, "%lld", id);
    assert_int_equal(cli_run(out, "job", id_text, "--json", "--store", store, NULL), 0);
    j = cli_parse_json(out);
    assert_int_equal(json_integer_value(json_object_get(j, "id")), id);
    assert_string_equal(json_string_value(json_object_get(j, "queue")), "mail");
    assert_int_equal(json_integer_value(json_object_get(j, "priority")), -3);
    assert_int_equal(json_integer_value(json_object_get(j, "max_attempts")), 4);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "payload"), "to")),
                        "ada");
    assert_true(json_is_array(json_object_get(j, "errors")));
    assert_true(json_is_string(json_object_get(j, "run_at")));
    json_decref(j);

    /* cancel ID changes its state */
    assert_int_equal(cli_run(out, "cancel", id_text, "--store", store, NULL), 0);
    assert_int_equal(cli_run(out, "job", id_text, "--json", "--store", store, NULL), 0);
    j = cli_parse_json(out);
    assert_string_equal(json_string_value(json_object_get(j, "state")), "cancelled");
    json_decref(j);
    /* a cancelled job cannot be cancelled again: a runtime failure */
    assert_int_equal(cli_run(out, "cancel", id_text, "--store", store, NULL), 1);
    /* retry brings it back */
    assert_int_equal(cli_run(out, "retry", id_text, "--store", store, NULL), 0);
    assert_int_equal(cli_run(out, "job", id_text, "--json", "--store", store, NULL), 0);
    j = cli_parse_json(out);
    assert_string_equal(json_string_value(json_object_get(j, "state")), "available");
    json_decref(j);

    /* an unknown id */
    assert_int_equal(cli_run(out, "job", "999999", "--store", store, NULL), 1);
    free(out);
}

static void test_enqueue_at_and_unique(void **state)
{
    (void)state;
    char *out = malloc(CLI_OUT_MAX);
    char store[600];
    test_store_url(store, sizeof store, "at");
    assert_int_equal(cli_run(out, "enqueue", "report.build", "--at",
                             "2030-01-02T04:04:05.250+01:00", "--unique", "r1", "--store", store,
                             NULL),
                     0);
    long long id = enqueue_id(out);
    char id_text[32];
    snprintf(id_text, sizeof id_text, "%lld", id);
    assert_int_equal(cli_run(out, "job", id_text, "--json", "--store", store, NULL), 0);
    json_t *j = cli_parse_json(out);
    assert_string_equal(json_string_value(json_object_get(j, "run_at")),
                        "2030-01-02T03:04:05.250Z");
    assert_string_equal(json_string_value(json_object_get(j, "unique_key")), "r1");
    json_decref(j);

    /* the same unique key again: the first job, exit 0 */
    assert_int_equal(cli_run(out, "enqueue", "report.build", "--unique", "r1", "--store", store,
                             NULL),
                     0);
    char expect[64];
    snprintf(expect, sizeof expect, "duplicate of %lld\n", id);
    assert_string_equal(out, expect);
    free(out);
}

static void test_bench_json(void **state)
{
    (void)state;
    char *out = malloc(CLI_OUT_MAX);
    assert_int_equal(cli_run(out, "bench", "--jobs", "2000", "--workers", "2", "--json", NULL), 0);
    json_t *r = cli_parse_json(out);
    static const char *const numbers[] = {
        "enqueue_bulk_per_s", "enqueue_single_per_s", "work_per_s", "e2e_per_s",
        "latency_p50_us",     "latency_p99_us",       "peak_rss_mib", "first_job_ms",
        "jobs",               "workers",
    };
    for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++) {
        json_t *v = json_object_get(r, numbers[i]);
        if (!json_is_number(v) || json_number_value(v) <= 0)
            fail_msg("%s is not a number > 0 in %s", numbers[i], out);
    }
    assert_int_equal(json_integer_value(json_object_get(r, "jobs")), 2000);
    assert_string_equal(json_string_value(json_object_get(r, "durability")), "full");
    json_decref(r);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_bad_usage),
        cmocka_unit_test(test_enqueue_list_show_cancel),
        cmocka_unit_test(test_enqueue_at_and_unique),
        cmocka_unit_test(test_bench_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
