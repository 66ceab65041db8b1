/*
 * test_daemon_corpus.c — replays the daemon fuzzers' corpora through the
 * fuzz targets' own functions: fuzz/corpus/config through fuzz_config.c
 * (daemon_config_load_buffer) and fuzz/corpus/http_body through
 * fuzz_http_body.c (http_parse_body and the routes' field readers), so
 * every input the fuzzers kept stays a regression test in `make test`
 * (normal and ASan/UBSan builds, no clang needed). The directories are the
 * compile definitions CHORE_CONFIG_CORPUS_DIR and CHORE_HTTP_BODY_CORPUS_DIR,
 * or the environment variables CHORE_CONFIG_CORPUS and CHORE_HTTP_BODY_CORPUS.
 * A few exact checks of the two entry points follow the replays: what the
 * fuzzers found or the seams changed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corpus_replay.h"
#include "test_util.h"

/* The file being replayed is named when a check of a target fails. */
#define FUZZ_FAIL(what) fail_msg("corpus file %s: %s", corpus_current, what)

/* Both targets define LLVMFuzzerTestOneInput: each gets a name of its own. */
#define LLVMFuzzerTestOneInput fuzz_config_one
#include "../fuzz/fuzz_config.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_http_body_one
#include "../fuzz/fuzz_http_body.c"
#undef LLVMFuzzerTestOneInput

#ifndef CHORE_CONFIG_CORPUS_DIR
#define CHORE_CONFIG_CORPUS_DIR "fuzz/corpus/config"
#endif
#ifndef CHORE_HTTP_BODY_CORPUS_DIR
#define CHORE_HTTP_BODY_CORPUS_DIR "fuzz/corpus/http_body"
#endif

static void replay_config_corpus(void **state)
{
    (void)state;
    corpus_replay(corpus_dir("CHORE_CONFIG_CORPUS", CHORE_CONFIG_CORPUS_DIR), 12,
                  fuzz_config_one);
}

static void replay_http_body_corpus(void **state)
{
    (void)state;
    corpus_replay(corpus_dir("CHORE_HTTP_BODY_CORPUS", CHORE_HTTP_BODY_CORPUS_DIR), 12,
           fuzz_http_body_one);
}

/* A file and the same text as a buffer load alike; a NUL byte is refused
 * with its line (it used to cut the line short and shift every later line). */
static void config_file_and_buffer_agree(void **state)
{
    (void)state;
    static const char text[] = "[chore]\nworkers = 3\n\n[job a]\ncommand = x\0y\n";
    char path[512], err[512], err2[512], want[600];
    snprintf(path, sizeof path, "%s/corpus-nul.ini", test_tmpdir());
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fwrite(text, 1, sizeof text - 1, f);
    fclose(f);
    daemon_config cfg;
    daemon_config_defaults(&cfg);
    assert_int_equal(daemon_config_load(path, &cfg, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s:5: a NUL byte in the file", path);
    assert_string_equal(err, want);
    assert_int_equal(
        daemon_config_load_buffer(text, sizeof text - 1, "t.ini", &cfg, err2, sizeof err2), -1);
    assert_string_equal(err2, "t.ini:5: a NUL byte in the file");
    /* without the NUL byte it loads */
    assert_int_equal(
        daemon_config_load_buffer(text, sizeof text - 4, "t.ini", &cfg, err2, sizeof err2), 0);
    assert_int_equal(cfg.workers, 3);
    assert_int_equal(cfg.n_job_types, 1);
    assert_string_equal(cfg.job_types[0].command, "x");
    /* an empty buffer is all defaults */
    assert_int_equal(daemon_config_load_buffer("", 0, NULL, &cfg, err2, sizeof err2), 0);
    assert_int_equal(cfg.workers, 4);
    assert_int_equal(cfg.n_job_types, 0);
    /* a directory opens but cannot be read */
    assert_int_equal(daemon_config_load(test_tmpdir(), &cfg, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s: cannot read: Is a directory", test_tmpdir());
    assert_string_equal(err, want);
    daemon_config_free(&cfg);
}

/* An unknown field is quoted to 100 bytes: a cut through a UTF-8
 * character used to make the error unencodable (a bare 500). */
static void http_error_messages_stay_utf8(void **state)
{
    (void)state;
    char body[400];
    int n = snprintf(body, sizeof body, "{\"x");
    for (int i = 0; i < 60; i++)
        n += snprintf(body + n, sizeof body - (size_t)n, "\xc3\xa9");
    n += snprintf(body + n, sizeof body - (size_t)n, "\":1}");
    http_resp rs = {.status = 500};
    json_t *v = NULL;
    assert_true(http_parse_body(&rs, body, (size_t)n, &v));
    http_req rq = {.method = "POST", .path = "/v1/jobs", .body = v};
    http_jobs_enqueue(&rq, &rs);
    assert_int_equal(rs.status, 400);
    const json_t *e = json_object_get(rs.json, "error");
    const char *msg = json_string_value(json_object_get(e, "message"));
    assert_non_null(msg);
    char want[200];
    n = snprintf(want, sizeof want, "unknown field \"x");
    for (int i = 0; i < 49; i++)
        n += snprintf(want + n, sizeof want - (size_t)n, "\xc3\xa9");
    snprintf(want + n, sizeof want - (size_t)n, "?\"");
    assert_string_equal(msg, want);
    json_decref(rs.json);
    json_decref(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(replay_config_corpus),
        cmocka_unit_test(replay_http_body_corpus),
        cmocka_unit_test(config_file_and_buffer_agree),
        cmocka_unit_test(http_error_messages_stay_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
