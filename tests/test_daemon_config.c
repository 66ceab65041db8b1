/* test_daemon_config.c — the daemon's config file: defaults, every key, and
 * each error with its exact "file:line: reason" text, on real files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "daemon.h"
#include "test_util.h"

/* Write `text` to a new file in the test directory; its path goes into buf. */
static const char *write_config(char *buf, size_t len, const char *text)
{
    static int counter;
    snprintf(buf, len, "%s/chore-%d.ini", test_tmpdir(), ++counter);
    FILE *f = fopen(buf, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return buf;
}

/* Load `text`; expect failure with err = "<path>:<rest>". */
static void expect_error(const char *text, const char *rest)
{
    char path[600], err[512], want[1200];
    write_config(path, sizeof path, text);
    daemon_config cfg;
    daemon_config_defaults(&cfg);
    int rc = daemon_config_load(path, &cfg, err, sizeof err);
    snprintf(want, sizeof want, "%s:%s", path, rest);
    if (rc != -1 || strcmp(err, want) != 0)
        fail_msg("config:\n%s\nwant: %s\ngot (%d): %s", text, want, rc, err);
    /* the config is left as it was: the defaults */
    assert_string_equal(cfg.store, "sqlite:chore.db");
    assert_int_equal(cfg.n_job_types, 0);
    daemon_config_free(&cfg);
}

/* Load `text`, which must be good, into *cfg. */
static void load_ok(const char *text, daemon_config *cfg)
{
    char path[600], err[512];
    write_config(path, sizeof path, text);
    daemon_config_defaults(cfg);
    if (daemon_config_load(path, cfg, err, sizeof err) != 0)
        fail_msg("config:\n%s\nunexpected error: %s", text, err);
}

static void test_defaults(void **state)
{
    (void)state;
    daemon_config cfg;
    load_ok("; nothing but a comment\n", &cfg);
    assert_string_equal(cfg.store, "sqlite:chore.db");
    assert_string_equal(cfg.listen_host, "127.0.0.1");
    assert_int_equal(cfg.listen_port, 7700);
    assert_int_equal(cfg.workers, 4);
    assert_null(cfg.token);
    assert_int_equal(cfg.retention_ms, 24 * 3600 * 1000LL);
    assert_int_equal(cfg.grace_ms, 30000);
    assert_int_equal(cfg.log_level, CHORE_LOG_INFO);
    assert_int_equal(cfg.durability, CHORE_DURABLE_FULL);
    assert_int_equal(cfg.n_job_types, 0);
    assert_int_equal(cfg.n_schedules, 0);
    daemon_config_free(&cfg);

    load_ok("[job a]\ncommand = true\n[schedule s]\ncron = * * * * *\njob = a\n", &cfg);
    assert_int_equal(cfg.n_job_types, 1);
    const daemon_job_type *t = &cfg.job_types[0];
    assert_string_equal(t->name, "a");
    assert_string_equal(t->command, "true");
    assert_int_equal(t->timeout_ms, 3600000);
    assert_int_equal(t->max_attempts, 25);
    assert_int_equal(t->backoff_base_ms, 1000);
    assert_int_equal(t->backoff_max_ms, 3600000);
    assert_null(t->queue);
    assert_int_equal(t->concurrency, 0);
    assert_int_equal(t->kill_grace_ms, 5000);
    assert_int_equal(cfg.n_schedules, 1);
    const daemon_schedule *s = &cfg.schedules[0];
    assert_string_equal(s->name, "s");
    assert_string_equal(s->expr, "* * * * *");
    assert_string_equal(s->job, "a");
    assert_null(s->zone);
    assert_null(s->payload);
    daemon_config_free(&cfg);
}

static void test_everything_set(void **state)
{
    (void)state;
    daemon_config cfg;
    load_ok("# every setting\n"
            "[chore]\n"
            "store = sqlite:/var/lib/chore/jobs.db\n"
            "listen = [::1]:8800\n"
            "workers = 16\n"
            "token = s3cret\n"
            "retention = 7d\n"
            "grace = 1m30s\n"
            "log_level = debug\n"
            "durability = process\n"
            "\n"
            "[job send email]\n"
            "command = echo a; echo b | tr a-z A-Z  ; not a comment\n"
            "timeout = 90s\n"
            "max_attempts = 0\n"
            "backoff = 500ms\n"
            "backoff_max = 2h\n"
            "queue = mail\n"
            "concurrency = 3\n"
            "kill_grace = 0\n"
            "[job other]\n"
            "command = true\n"
            "timeout = 0\n"
            "[schedule nightly]\n"
            "cron = 30 2 * * *\n"
            "zone = Europe/Paris\n"
            "job = send email\n"
            "payload = {\"to\": [\"a@b.c\"], \"n\": 1}\n",
            &cfg);
    assert_string_equal(cfg.store, "sqlite:/var/lib/chore/jobs.db");
    assert_string_equal(cfg.listen_host, "::1");
    assert_int_equal(cfg.listen_port, 8800);
    assert_int_equal(cfg.workers, 16);
    assert_string_equal(cfg.token, "s3cret");
    assert_int_equal(cfg.retention_ms, 7 * 86400000LL);
    assert_int_equal(cfg.grace_ms, 90000);
    assert_int_equal(cfg.log_level, CHORE_LOG_DEBUG);
    assert_int_equal(cfg.durability, CHORE_DURABLE_PROCESS);
    assert_int_equal(cfg.n_job_types, 2);
    const daemon_job_type *t = &cfg.job_types[0];
    assert_string_equal(t->name, "send email");
    assert_string_equal(t->command, "echo a; echo b | tr a-z A-Z  ; not a comment");
    assert_int_equal(t->timeout_ms, 90000);
    assert_int_equal(t->max_attempts, 0);
    assert_int_equal(t->backoff_base_ms, 500);
    assert_int_equal(t->backoff_max_ms, 7200000);
    assert_string_equal(t->queue, "mail");
    assert_int_equal(t->concurrency, 3);
    assert_int_equal(t->kill_grace_ms, 0);
    assert_string_equal(cfg.job_types[1].name, "other");
    assert_int_equal(cfg.job_types[1].timeout_ms, 0);
    const daemon_schedule *s = &cfg.schedules[0];
    assert_string_equal(s->name, "nightly");
    assert_string_equal(s->expr, "30 2 * * *");
    assert_string_equal(s->zone, "Europe/Paris");
    assert_string_equal(s->job, "send email");
    assert_string_equal(s->payload, "{\"to\": [\"a@b.c\"], \"n\": 1}");
    daemon_config_free(&cfg);

    /* other spellings */
    load_ok("[chore]\nlisten = localhost:0\nretention = forever\nlog_level = off\n", &cfg);
    assert_string_equal(cfg.listen_host, "localhost");
    assert_int_equal(cfg.listen_port, 0);
    assert_int_equal(cfg.retention_ms, -1);
    assert_int_equal(cfg.log_level, CHORE_LOG_OFF);
    daemon_config_free(&cfg);
    load_ok("[chore]\nlisten = 0.0.0.0:65535\nlog_level = warn\n", &cfg);
    assert_string_equal(cfg.listen_host, "0.0.0.0");
    assert_int_equal(cfg.listen_port, 65535);
    assert_int_equal(cfg.log_level, CHORE_LOG_WARN);
    daemon_config_free(&cfg);

    /* a long command line (inih's default limit is 200 bytes) */
    char text[6000];
    int n = snprintf(text, sizeof text, "[job long]\ncommand = echo ");
    memset(text + n, 'x', 5000);
    strcpy(text + n + 5000, "\n");
    load_ok(text, &cfg);
    assert_int_equal(strlen(cfg.job_types[0].command), 5005);
    daemon_config_free(&cfg);
}

static void test_load_replaces(void **state)
{
    (void)state;
    daemon_config cfg;
    load_ok("[chore]\nworkers = 2\n[job a]\ncommand = true\n", &cfg);
    char path[600], err[256];
    write_config(path, sizeof path, "[chore]\nworkers = 3\n");
    assert_int_equal(daemon_config_load(path, &cfg, err, sizeof err), 0);
    assert_int_equal(cfg.workers, 3);
    assert_int_equal(cfg.n_job_types, 0);
    daemon_config_free(&cfg);
    daemon_config_free(&cfg); /* freeing twice is harmless: it zeroes */
}

static void test_missing_file(void **state)
{
    (void)state;
    char path[600], err[700], want[700];
    snprintf(path, sizeof path, "%s/no-such.ini", test_tmpdir());
    daemon_config cfg;
    daemon_config_defaults(&cfg);
    assert_int_equal(daemon_config_load(path, &cfg, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s: cannot open: No such file or directory", path);
    assert_string_equal(err, want);
    daemon_config_free(&cfg);
}

static void test_errors_chore(void **state)
{
    (void)state;
    expect_error("[chore]\nworkers = abc\n", "2: workers: \"abc\" is not a number");
    expect_error("[chore]\n\nworkers = 0\n", "3: workers: \"0\" is out of range 1-1024");
    expect_error("[chore]\nworkers = 5x\n", "2: workers: \"5x\" is not a number");
    expect_error("[chore]\nstorre = x\n", "2: unknown key \"storre\" in [chore]");
    expect_error("[chore]\nstore =\n", "2: store: must not be empty");
    expect_error("[chore]\nworkers = 2\nworkers = 3\n",
                 "3: workers: is given twice in this section");
    expect_error("[chore]\nlisten = 7700\n",
                 "2: listen: \"7700\" is not HOST:PORT (IPv6 as [::1]:7700)");
    expect_error("[chore]\nlisten = ::1:7700\n",
                 "2: listen: \"::1:7700\" is not HOST:PORT (IPv6 as [::1]:7700)");
    expect_error("[chore]\nlisten = example.com:80\n",
                 "2: listen: \"example.com:80\" does not name an IP address or localhost");
    expect_error("[chore]\nlisten = [1.2.3.4]:80\n",
                 "2: listen: \"[1.2.3.4]:80\" does not hold an IPv6 address in its brackets");
    expect_error("[chore]\nlisten = 127.0.0.1:70000\n",
                 "2: listen port: \"70000\" is out of range 0-65535");
    expect_error("[chore]\nretention = 0\n", "2: retention: \"0\" must be more than 0");
    expect_error("[chore]\ngrace = 30\n",
                 "2: grace: \"30\" is not a duration like 90s, 1h30m or 500ms");
    expect_error("[chore]\ngrace = 30m1h\n",
                 "2: grace: \"30m1h\" is not a duration like 90s, 1h30m or 500ms");
    expect_error("[chore]\nlog_level = verbose\n",
                 "2: log_level: \"verbose\" is not one of debug, info, warn, error, off");
    expect_error("[chore]\ndurability = sometimes\n",
                 "2: durability: \"sometimes\" is not one of full, process");
    expect_error("[chore]\n[chore]\n", "2: duplicate section [chore] (first at line 1)");
    expect_error("workers = 2\n", "1: key \"workers\" outside a section (settings go under [chore])");
}

static void test_errors_sections(void **state)
{
    (void)state;
    expect_error("[jobs x]\n",
                 "1: unknown section [jobs x] (expected [chore], [job NAME] or [schedule NAME])");
    expect_error("[job]\ncommand = x\n", "1: [job] needs a name: [job NAME]");
    expect_error("[job a\n", "1: section header without a closing ]");
    expect_error("[job a] extra\n", "1: unexpected text after ]");
    expect_error("[chore]\nthis line has no equals sign\n",
                 "2: expected NAME = VALUE, [chore], [job NAME] or [schedule NAME]");
    expect_error("[job a]\ncommand = x\n\n[job a]\ncommand = y\n",
                 "4: duplicate section [job a] (first at line 1)");
    expect_error("[schedule s]\ncron = @daily\njob = a\n[schedule s]\n",
                 "4: duplicate section [schedule s] (first at line 1)");
    expect_error("[job a\x01]\ncommand = x\n",
                 "1: [job a\x01]: a name is 1-128 bytes without control characters");
    char text[400], want[400];
    char name[130];
    memset(name, 'n', 129);
    name[129] = '\0';
    snprintf(text, sizeof text, "[job %s]\ncommand = x\n", name);
    snprintf(want, sizeof want, "1: [job %s]: a name is 1-128 bytes without control characters",
             name);
    expect_error(text, want);
    name[128] = '\0'; /* 128 bytes is fine */
    snprintf(text, sizeof text, "[job %s]\ncommand = x\n", name);
    daemon_config cfg;
    load_ok(text, &cfg);
    assert_string_equal(cfg.job_types[0].name, name);
    daemon_config_free(&cfg);
}

static void test_errors_job(void **state)
{
    (void)state;
    expect_error("[job email]\ncomand = x\n", "2: unknown key \"comand\" in [job email]");
    expect_error("[chore]\nworkers = 2\n\n[job email]\ntimeout = 5s\n[job b]\ncommand = x\n",
                 "4: [job email]: missing required key \"command\"");
    expect_error("[job email]\n", "1: [job email]: missing required key \"command\"");
    expect_error("[job e]\ncommand = x\ntimeout = soon\n",
                 "3: [job e]: timeout: \"soon\" is not a duration like 90s, 1h30m or 500ms");
    expect_error("[job e]\ncommand = x\nmax_attempts = -1\n",
                 "3: [job e]: max_attempts: \"-1\" is out of range 0-1000000");
    expect_error("[job e]\ncommand = x\nbackoff = 0\n", "3: [job e]: backoff: \"0\" must be more than 0");
    /* a clock reading plus this once overflowed the command's deadline */
    expect_error("[job e]\ncommand = x\ntimeout = 9223372036854775000ms\n",
                 "3: [job e]: timeout: \"9223372036854775000ms\" is longer than 2932896d");
    expect_error("[job e]\ncommand = x\nkill_grace = 2932897d\n",
                 "3: [job e]: kill_grace: \"2932897d\" is longer than 2932896d");
    daemon_config cfg;
    load_ok("[job e]\ncommand = x\ntimeout = 2932896d\n", &cfg);
    assert_int_equal(cfg.job_types[0].timeout_ms, 2932896LL * 86400000);
    daemon_config_free(&cfg);
    expect_error("[job e]\ncommand = x\nbackoff = 1m\nbackoff_max = 1s\n",
                 "1: [job e]: backoff_max is less than backoff");
    expect_error("[job e]\ncommand = x\nconcurrency = many\n",
                 "3: [job e]: concurrency: \"many\" is not a number");
    expect_error("[job e]\ncommand = x\nqueue = \n", "3: [job e]: queue: must not be empty");
    expect_error("[job e]\ncommand = x\ncommand = y\n",
                 "3: [job e]: command: is given twice in this section");
}

static void test_errors_schedule(void **state)
{
    (void)state;
    expect_error("[job a]\ncommand = x\n\n\n\n\n\n\n\n\n[schedule nightly]\ncron = 60 2 * * *\n"
                 "job = a\n",
                 "12: [schedule nightly]: cron: minute: 60 is out of range 0-59");
    expect_error("[schedule s]\njob = a\n", "1: [schedule s]: missing required key \"cron\"");
    expect_error("[schedule s]\ncron = @daily\n", "1: [schedule s]: missing required key \"job\"");
    expect_error("[schedule s]\ncron = @daily\njob = a\npayload = {\"a\": \n",
                 "4: [schedule s]: payload: \"{\"a\":\" is not valid JSON: "
                 "unexpected token near end of file");
    expect_error("[schedule s]\ncron = @daily\njob = a\nzone = Mars/Olympus\n",
                 "4: [schedule s]: zone: unknown time zone 'Mars/Olympus'");
    expect_error("[schedule s]\ncron = @daily\njob = a\nzonee = UTC\n",
                 "4: unknown key \"zonee\" in [schedule s]");
}

/* examples/chore.ini, found from this file's own path, is a good config. */
static void test_example_config(void **state)
{
    (void)state;
    char path[1024], err[512];
    snprintf(path, sizeof path, "%s", __FILE__);
    char *slash = strrchr(path, '/');
    assert_non_null(slash);
    snprintf(slash, sizeof path - (size_t)(slash - path), "/../examples/chore.ini");
    daemon_config cfg;
    daemon_config_defaults(&cfg);
    if (daemon_config_load(path, &cfg, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_string_equal(cfg.store, "sqlite:run/chore.db");
    assert_int_equal(cfg.n_job_types, 4);
    assert_int_equal(cfg.n_schedules, 4);
    daemon_config_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),        cmocka_unit_test(test_everything_set),
        cmocka_unit_test(test_load_replaces),   cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_errors_chore),    cmocka_unit_test(test_errors_sections),
        cmocka_unit_test(test_errors_job),      cmocka_unit_test(test_errors_schedule),
        cmocka_unit_test(test_example_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
