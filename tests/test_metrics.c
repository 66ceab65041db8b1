/* test_metrics.c — the metrics: jobs run on a manual clock, the Prometheus
 * text parsed back with a small parser and checked; loops' metrics and
 * logs; the registry under threads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log_capture.h"
#include "rt_fixture.h"
#include "runtime/metrics.h"
#include "runtime/runtime.h"

/* ------------------------------------------------------------ Prometheus */

enum { MAX_SAMPLES = 1024, MAX_LABELS = 3, MAX_FAMILIES = 64 };

typedef struct sample {
    char name[96];
    int n_labels;
    char label[MAX_LABELS][16];
    char value_text[MAX_LABELS][160];
    double value;
} sample;

typedef struct family {
    char name[96];
    char type[16];
    bool help;
    int samples;
} family;

typedef struct exposition {
    sample samples[MAX_SAMPLES];
    int n;
    family families[MAX_FAMILIES];
    int n_families;
} exposition;

static family *find_family(exposition *e, const char *name)
{
    for (int i = 0; i < e->n_families; i++)
        if (strcmp(e->families[i].name, name) == 0)
            return &e->families[i];
    return NULL;
}

static family *add_family(exposition *e, const char *name)
{
    family *f = find_family(e, name);
    if (f != NULL)
        return f;
    assert_true(e->n_families < MAX_FAMILIES);
    f = &e->families[e->n_families++];
    memset(f, 0, sizeof *f);
    snprintf(f->name, sizeof f->name, "%s", name);
    return f;
}

static bool valid_metric_name(const char *s)
{
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_' || *s == ':'))
        return false;
    for (s++; *s != '\0'; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == ':'))
            return false;
    return true;
}

/* The family a sample belongs to: a histogram's _bucket, _sum and _count are its own. */
static family *family_of(exposition *e, const char *name)
{
    family *f = find_family(e, name);
    if (f != NULL)
        return f;
    static const char *suffixes[] = {"_bucket", "_sum", "_count"};
    for (int i = 0; i < 3; i++) {
        size_t n = strlen(name), k = strlen(suffixes[i]);
        if (n > k && strcmp(name + n - k, suffixes[i]) == 0) {
            char base[96];
            snprintf(base, sizeof base, "%.*s", (int)(n - k), name);
            f = find_family(e, base);
            if (f != NULL && strcmp(f->type, "histogram") == 0)
                return f;
        }
    }
    return NULL;
}

/* Parse one sample line `name{k="v",...} value`. */
static void parse_sample(exposition *e, const char *s)
{
    assert_true(e->n < MAX_SAMPLES);
    sample *sm = &e->samples[e->n];
    memset(sm, 0, sizeof *sm);
    size_t k = 0;
    while (*s != '{' && *s != ' ' && *s != '\0' && k < sizeof sm->name - 1)
        sm->name[k++] = *s++;
    assert_true(valid_metric_name(sm->name));
    if (*s == '{') {
        s++;
        while (*s != '}') {
            assert_true(sm->n_labels < MAX_LABELS);
            int i = sm->n_labels++;
            size_t n = 0;
            while (*s != '=' && *s != '\0')
                sm->label[i][n++] = *s++;
            assert_true(*s == '=' && s[1] == '"');
            s += 2;
            n = 0;
            while (*s != '"') {
                assert_true(*s != '\0' && *s != '\n');
                char ch = *s++;
                if (ch == '\\') {
                    char esc = *s++;
                    assert_true(esc == '\\' || esc == '"' || esc == 'n');
                    ch = esc == 'n' ? '\n' : esc;
                }
                sm->value_text[i][n++] = ch;
            }
            s++;
            if (*s == ',')
                s++;
            else
                assert_int_equal(*s, '}');
        }
        s++;
    }
    assert_int_equal(*s, ' ');
    s++;
    char *end = NULL;
    if (strcmp(s, "+Inf") == 0)
        sm->value = INFINITY;
    else {
        sm->value = strtod(s, &end);
        assert_true(end != s && *end == '\0');
    }
    family *f = family_of(e, sm->name);
    assert_non_null(f); /* # TYPE came first */
    assert_true(f->help);
    f->samples++;
    e->n++;
}

/* Parse the whole text: every line a comment, blank, or a sample. */
static void parse_exposition(const char *text, exposition *e)
{
    memset(e, 0, sizeof *e);
    size_t len = strlen(text);
    assert_true(len > 0 && text[len - 1] == '\n');
    const char *p = text;
    while (*p != '\0') {
        const char *nl = strchr(p, '\n');
        assert_non_null(nl);
        char line[1024];
        assert_true((size_t)(nl - p) < sizeof line);
        memcpy(line, p, (size_t)(nl - p));
        line[nl - p] = '\0';
        p = nl + 1;
        if (line[0] == '\0')
            continue;
        if (line[0] == '#') {
            char name[96], rest[512];
            if (sscanf(line, "# HELP %95s %511[^\n]", name, rest) == 2) {
                family *f = add_family(e, name);
                assert_false(f->help);
                assert_int_equal(f->samples, 0);
                f->help = true;
            } else if (sscanf(line, "# TYPE %95s %15s", name, rest) == 2) {
                family *f = add_family(e, name);
                assert_int_equal(f->type[0], '\0'); /* one TYPE per family */
                assert_int_equal(f->samples, 0);    /* before its samples */
                assert_true(strcmp(rest, "counter") == 0 || strcmp(rest, "gauge") == 0 ||
                            strcmp(rest, "histogram") == 0);
                snprintf(f->type, sizeof f->type, "%.15s", rest);
            }
            continue;
        }
        parse_sample(e, line);
    }
}

/* The value of `metric{label="value"}` (the only label), or -1 when absent. */
static double value_of(const exposition *e, const char *metric, const char *label,
                       const char *value)
{
    for (int i = 0; i < e->n; i++) {
        const sample *s = &e->samples[i];
        if (strcmp(s->name, metric) == 0 && s->n_labels == 1 &&
            strcmp(s->label[0], label) == 0 && strcmp(s->value_text[0], value) == 0)
            return s->value;
    }
    return -1;
}

static int check_histograms(const exposition *e, const char *metric)
{
    char bucket[128], count[128];
    snprintf(bucket, sizeof bucket, "%s_bucket", metric);
    snprintf(count, sizeof count, "%s_count", metric);
    int series = 0;
    for (int i = 0; i < e->n; i++) {
        if (strcmp(e->samples[i].name, count) != 0)
            continue;
        const char *name = e->samples[i].value_text[0];
        double last_le = -INFINITY, last = 0;
        bool inf = false;
        int buckets = 0;
        for (int j = 0; j < e->n; j++) {
            const sample *s = &e->samples[j];
            if (strcmp(s->name, bucket) != 0 || strcmp(s->value_text[0], name) != 0)
                continue;
            assert_int_equal(s->n_labels, 2);
            assert_string_equal(s->label[1], "le");
            assert_false(inf);
            double le = strcmp(s->value_text[1], "+Inf") == 0 ? INFINITY
                                                               : strtod(s->value_text[1], NULL);
            assert_true(le > last_le);
            assert_true(s->value >= last);
            last_le = le;
            last = s->value;
            inf = isinf(le);
            buckets++;
        }
        assert_true(inf);
        assert_int_equal(buckets, RT_DURATION_BUCKETS + 1);
        assert_true(last == e->samples[i].value);
        series++;
    }
    return series;
}

static double bucket_value(const exposition *e, const char *name, const char *le)
{
    for (int i = 0; i < e->n; i++) {
        const sample *s = &e->samples[i];
        if (strcmp(s->name, "chore_job_duration_seconds_bucket") == 0 &&
            strcmp(s->value_text[0], name) == 0 && strcmp(s->value_text[1], le) == 0)
            return s->value;
    }
    return -1;
}

static int slow_handler(chore_job *job, void *ud)
{
    (void)job;
    (void)ud;
    struct timespec ts = {.tv_sec = 0, .tv_nsec = 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
    return CHORE_OK;
}

static char *render(chore *c)
{
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(chore_metrics_render(c, &text, &len), CHORE_OK);
    assert_non_null(text);
    assert_int_equal(strlen(text), len);
    return text;
}

static void metrics_after_jobs(void **state)
{
    (void)state;
    fixture f;
    chore_config cfg = {.workers = 2, .log_level = CHORE_LOG_OFF};
    fixture_open(&f, &cfg);
    chore_handler_opts fast_retry = {.backoff_base_ms = 1000, .backoff_jitter = -1};
    probe ok, flaky, doomed, bye, later, snoozy;
    probe_init(&ok, CHORE_OK);
    probe_init(&flaky, CHORE_OK);
    flaky.script[0] = CHORE_EINVAL; /* fails once, then succeeds */
    flaky.n_script = 1;
    probe_init(&doomed, CHORE_EINVAL);
    probe_init(&bye, CHORE_DISCARD);
    probe_init(&later, CHORE_DEFER);
    probe_init_snoozing(&snoozy, 500);
    assert_int_equal(chore_handle(f.c, "ok", probe_handler, &ok, NULL), CHORE_OK);
    assert_int_equal(chore_handle(f.c, "flaky", probe_handler, &flaky, &fast_retry), CHORE_OK);
    assert_int_equal(chore_handle(f.c, "doomed", probe_handler, &doomed, &fast_retry), CHORE_OK);
    assert_int_equal(chore_handle(f.c, "bye", probe_handler, &bye, NULL), CHORE_OK);
    assert_int_equal(chore_handle(f.c, "later", probe_handler, &later, NULL), CHORE_OK);
    assert_int_equal(chore_handle(f.c, "snoozy", probe_handler, &snoozy, NULL), CHORE_OK);
    assert_int_equal(chore_handle(f.c, "slow", slow_handler, NULL, NULL), CHORE_OK);
    const char *weird = "we\"ird\\name";
    assert_int_equal(chore_handle(f.c, weird, probe_handler, &ok, NULL), CHORE_OK);

    int64_t id;
    for (int i = 0; i < 3; i++)
        assert_int_equal(chore_enqueue(f.c, "ok", NULL, NULL, &id), CHORE_OK);
    chore_enqueue_opts three = {.max_attempts = 3}, two = {.max_attempts = 2};
    assert_int_equal(chore_enqueue(f.c, "flaky", NULL, &three, &id), CHORE_OK);
    assert_int_equal(chore_enqueue(f.c, "doomed", NULL, &two, &id), CHORE_OK);
    assert_int_equal(chore_enqueue(f.c, "bye", NULL, NULL, &id), CHORE_OK);
    assert_int_equal(chore_enqueue(f.c, "later", NULL, NULL, &id), CHORE_OK);
    assert_int_equal(chore_enqueue(f.c, "snoozy", NULL, NULL, &id), CHORE_OK);
    assert_int_equal(chore_enqueue(f.c, "slow", NULL, NULL, &id), CHORE_OK);
    assert_int_equal(chore_enqueue(f.c, weird, NULL, NULL, &id), CHORE_OK);
    /* A duplicate is not an enqueue. */
    chore_enqueue_opts keyed = {.unique_key = "k1", .delay_ms = 3600000};
    assert_int_equal(chore_enqueue(f.c, "unhandled", NULL, &keyed, &id), CHORE_OK);
    assert_int_equal(chore_enqueue(f.c, "unhandled", NULL, &keyed, &id), CHORE_DUPLICATE);
    /* Bulk without a duplicate array, more than fit on the stack: 70 jobs,
     * 10 of them duplicates. */
    chore_job_spec specs[70];
    char keys[70][16];
    for (int i = 0; i < 70; i++) {
        snprintf(keys[i], sizeof keys[i], "b%d", i % 60);
        specs[i] = (chore_job_spec){.name = i % 2 ? "bulk_a" : "bulk_b",
                                    .opts = {.unique_key = keys[i], .delay_ms = 3600000}};
    }
    int64_t ids[70];
    assert_int_equal(chore_enqueue_bulk(f.c, specs, 70, ids, NULL), CHORE_OK);

    assert_int_equal(chore_start(f.c), CHORE_OK);
    fixture_idle(&f);
    fixture_advance(&f, 1000); /* the retries and the snoozed job come due */
    fixture_advance(&f, 1000);
    assert_int_equal(probe_calls(&flaky), 2);
    assert_int_equal(probe_calls(&doomed), 2);
    assert_int_equal(probe_calls(&snoozy), 2);
    /* The deferred job is finished from outside. */
    assert_int_equal(probe_calls(&later), 1);
    assert_int_equal(chore_job_done(f.c, later.ids[0], later.tokens[0]), CHORE_OK);
    assert_int_equal(chore_job_done(f.c, later.ids[0], later.tokens[0]), CHORE_ESTALE);

    char *text = render(f.c);
    exposition *e = malloc(sizeof *e);
    assert_non_null(e);
    parse_exposition(text, e);

    static const struct {
        const char *name;
        double enqueued, completed, failed, discarded, snoozed, runs;
    } want[] = {
        {"ok", 3, 3, 0, 0, 0, 3},     {"flaky", 1, 1, 1, 0, 0, 2},
        {"doomed", 1, 0, 1, 1, 0, 2}, {"bye", 1, 0, 0, 1, 0, 1},
        {"later", 1, 1, 0, 0, 0, 1},  {"snoozy", 1, 1, 0, 0, 1, 2},
        {"slow", 1, 1, 0, 0, 0, 1},   {"we\"ird\\name", 1, 1, 0, 0, 0, 1},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const char *n = want[i].name;
        assert_true(value_of(e, "chore_jobs_enqueued_total", "name", n) == want[i].enqueued);
        assert_true(value_of(e, "chore_jobs_completed_total", "name", n) == want[i].completed);
        assert_true(value_of(e, "chore_jobs_failed_total", "name", n) == want[i].failed);
        assert_true(value_of(e, "chore_jobs_discarded_total", "name", n) == want[i].discarded);
        assert_true(value_of(e, "chore_jobs_snoozed_total", "name", n) == want[i].snoozed);
        assert_true(value_of(e, "chore_job_duration_seconds_count", "name", n) == want[i].runs);
    }
    assert_true(value_of(e, "chore_jobs_deferred_total", "name", "later") == 1);
    assert_true(value_of(e, "chore_jobs_enqueued_total", "name", "unhandled") == 1);
    assert_true(value_of(e, "chore_jobs_enqueued_total", "name", "bulk_a") +
                    value_of(e, "chore_jobs_enqueued_total", "name", "bulk_b") ==
                60);
    assert_true(value_of(e, "chore_job_duration_seconds_count", "name", "unhandled") == 0);
    assert_non_null(strstr(text, "name=\"we\\\"ird\\\\name\""));
    assert_int_equal(check_histograms(e, "chore_job_duration_seconds"), 11);
    /* The slow job's 20 ms went above 0.01 s; its sum says so too. */
    assert_true(bucket_value(e, "slow", "0.01") == 0);
    assert_true(bucket_value(e, "slow", "+Inf") == 1);
    assert_true(value_of(e, "chore_job_duration_seconds_sum", "name", "slow") >= 0.02);

    /* Jobs by state, from the store. */
    int64_t counts[CHORE_STATE_COUNT];
    assert_int_equal(chore_count_by_state(f.c, counts), CHORE_OK);
    for (int s = 0; s < CHORE_STATE_COUNT; s++)
        assert_true(value_of(e, "chore_jobs", "state", chore_state_name((chore_state)s)) ==
                    (double)counts[s]);
    assert_true(value_of(e, "chore_jobs", "state", "completed") == 8);
    assert_true(value_of(e, "chore_jobs", "state", "discarded") == 2);
    assert_true(value_of(e, "chore_jobs", "state", "scheduled") == 61);

    /* Every family announced, with the right type. */
    static const char *families[][2] = {
        {"chore_jobs_enqueued_total", "counter"},  {"chore_jobs_completed_total", "counter"},
        {"chore_jobs_failed_total", "counter"},    {"chore_jobs_discarded_total", "counter"},
        {"chore_jobs_snoozed_total", "counter"},   {"chore_job_duration_seconds", "histogram"},
        {"chore_jobs", "gauge"},                   {"chore_loop_runs_total", "counter"},
        {"chore_loop_skips_total", "counter"},     {"chore_loop_failures_total", "counter"},
        {"chore_loop_consecutive_failures", "gauge"},
        {"chore_loop_last_duration_seconds", "gauge"},
        {"chore_loop_last_success_timestamp_seconds", "gauge"},
    };
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++) {
        family *fam = find_family(e, families[i][0]);
        assert_non_null(fam);
        assert_true(fam->help);
        assert_string_equal(fam->type, families[i][1]);
    }
    free(e);
    free(text);
    fixture_close(&f);
    probe_destroy(&ok);
    probe_destroy(&flaky);
    probe_destroy(&doomed);
    probe_destroy(&bye);
    probe_destroy(&later);
    probe_destroy(&snoozy);
}

/* chore_job_fail from outside counts a failure, then a discard. */
static void metrics_fail_from_outside(void **state)
{
    (void)state;
    fixture f;
    chore_config cfg = {.workers = 1, .log_level = CHORE_LOG_OFF};
    fixture_open(&f, &cfg);
    probe later;
    probe_init(&later, CHORE_DEFER);
    chore_handler_opts fast_retry = {.backoff_base_ms = 1000, .backoff_jitter = -1};
    assert_int_equal(chore_handle(f.c, "later", probe_handler, &later, &fast_retry), CHORE_OK);
    chore_enqueue_opts two = {.max_attempts = 2};
    int64_t id;
    assert_int_equal(chore_enqueue(f.c, "later", NULL, &two, &id), CHORE_OK);
    assert_int_equal(chore_start(f.c), CHORE_OK);
    fixture_idle(&f);
    assert_int_equal(chore_job_fail(f.c, id, later.tokens[0], "outside said no"), CHORE_OK);
    fixture_advance(&f, 1000);
    assert_int_equal(probe_calls(&later), 2);
    assert_int_equal(chore_job_fail(f.c, id, later.tokens[1], NULL), CHORE_OK);
    assert_int_equal(fixture_state(&f, id), CHORE_DISCARDED);
    char *text = render(f.c);
    exposition *e = malloc(sizeof *e);
    assert_non_null(e);
    parse_exposition(text, e);
    assert_true(value_of(e, "chore_jobs_failed_total", "name", "later") == 1);
    assert_true(value_of(e, "chore_jobs_discarded_total", "name", "later") == 1);
    assert_true(value_of(e, "chore_jobs_deferred_total", "name", "later") == 2);
    free(e);
    free(text);
    fixture_close(&f);
    probe_destroy(&later);
}

/* A loop that fails its first tick, then succeeds. */
static int flaky_tick(chore_tick *tick, void *ud)
{
    int *calls = ud;
    if ((*calls)++ == 0) {
        chore_tick_set_error(tick, "first tick \"fails\"");
        return CHORE_EINVAL;
    }
    return CHORE_OK;
}

static void metrics_and_logs_of_loops(void **state)
{
    (void)state;
    captured cap;
    captured_init(&cap);
    fixture f;
    chore *c = open_logging(&f, &cap, CHORE_LOG_WARN);
    int calls = 0;
    chore_loop_config lc = {.name = "my_tick", .interval_ms = 3600000, .run = flaky_tick,
                            .ud = &calls};
    chore_loop *loop = NULL;
    assert_int_equal(chore_loop_add(c, &lc, &loop), CHORE_OK);
    assert_int_equal(chore_start(c), CHORE_OK);
    assert_int_equal(chore_loop_trigger_wait(loop, WAIT_MS), CHORE_OK);
    chore_clock_advance(f.clock, 5000);
    assert_int_equal(chore_loop_trigger_wait(loop, WAIT_MS), CHORE_OK);
    chore_loop_health h;
    assert_int_equal(chore_loop_health_get(loop, &h), CHORE_OK);

    char *text = render(c);
    exposition *e = malloc(sizeof *e);
    assert_non_null(e);
    parse_exposition(text, e);
    assert_true(value_of(e, "chore_loop_runs_total", "loop", "my_tick") == (double)h.runs);
    assert_true(h.runs >= 2);
    assert_true(value_of(e, "chore_loop_failures_total", "loop", "my_tick") == 1);
    assert_true(value_of(e, "chore_loop_skips_total", "loop", "my_tick") == 0);
    assert_true(value_of(e, "chore_loop_consecutive_failures", "loop", "my_tick") == 0);
    assert_true(value_of(e, "chore_loop_last_duration_seconds", "loop", "my_tick") >= 0);
    assert_true(fabs(value_of(e, "chore_loop_last_success_timestamp_seconds", "loop", "my_tick") -
                     (double)h.last_success_ms / 1000) < 0.001);
    assert_true(h.last_success_ms >= T0 + 5000);
    free(e);
    free(text);

    /* The failed tick was logged, under the loop's name. */
    pthread_mutex_lock(&cap.mu);
    bool seen = false;
    for (int i = 0; i < cap.n; i++) {
        logfmt l;
        assert_true(parse_logfmt(cap.lines[i], &l));
        if (strcmp(cap.components[i], "my_tick") == 0) {
            assert_log_header(&l, "warn", "my_tick");
            for (int k = 3; k < l.n; k++) /* in the message or in a field */
                seen = seen || strstr(l.value[k], "first tick \"fails\"") != NULL;
        }
    }
    pthread_mutex_unlock(&cap.mu);
    assert_true(seen);
    fixture_close(&f);
    captured_free(&cap);
}

/* ------------------------------------------------------------ registry */

enum { REG_THREADS = 4, REG_ROUNDS = 20000, REG_NAMES = 100 };

static void *hammer(void *arg)
{
    rt_metrics *m = arg;
    char name[32];
    for (int i = 0; i < REG_ROUNDS; i++) {
        snprintf(name, sizeof name, "job_%d", i % REG_NAMES);
        assert_int_equal(rt_metrics_enqueued(m, name, 1), CHORE_OK);
        assert_int_equal(rt_metrics_job(m, name, RT_JOB_COMPLETED, 0.002), CHORE_OK);
    }
    return NULL;
}

/* Many threads, names added while others record: every count lands. */
static void registry_counts_under_threads(void **state)
{
    (void)state;
    rt_metrics *m = NULL;
    assert_int_equal(rt_metrics_new(&m), CHORE_OK);
    pthread_t threads[REG_THREADS];
    for (int i = 0; i < REG_THREADS; i++)
        pthread_create(&threads[i], NULL, hammer, m);
    for (int i = 0; i < REG_THREADS; i++)
        pthread_join(threads[i], NULL);
    rt_job_metrics *items = NULL;
    size_t n = 0;
    assert_int_equal(rt_metrics_snapshot(m, &items, &n), CHORE_OK);
    assert_int_equal(n, REG_NAMES);
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            assert_true(strcmp(items[i - 1].name, items[i].name) < 0);
        uint64_t per = REG_THREADS * REG_ROUNDS / REG_NAMES;
        assert_int_equal(items[i].enqueued, per);
        assert_int_equal(items[i].events[RT_JOB_COMPLETED], per);
        assert_int_equal(items[i].duration_count, per);
        assert_int_equal(items[i].buckets[1], per); /* 0.002 s: above .001, within .005 */
    }
    rt_metrics_snapshot_free(items, n);
    rt_metrics_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(metrics_after_jobs),
        cmocka_unit_test(metrics_fail_from_outside),
        cmocka_unit_test(metrics_and_logs_of_loops),
        cmocka_unit_test(registry_counts_under_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
