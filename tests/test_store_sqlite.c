/*
 * test_store_sqlite.c — the store conformance suite on the SQLite backend,
 * then what only SQLite has: WAL mode, the schema version and migrations,
 * enqueue inside the caller's own sqlite3 transaction, file integrity.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store/store.h"
#include "store_conformance.h"
#include "test_util.h"

#define T0 1700000000000LL

static const store_ops *ops = &sqlite_store_ops;

static const char *new_location(char *buf, size_t len)
{
    return test_db_path(buf, len, "store");
}

/* The store at loc, with full durability (fails the test if it cannot open). */
static store *open_store(const char *loc)
{
    return store_test_open(ops, loc, CHORE_DURABLE_FULL);
}

static sqlite3 *open_raw(const char *path)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    return db;
}

static void exec_ok(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK)
        fprintf(stderr, "%s: %s\n", sql, msg);
    sqlite3_free(msg);
    assert_int_equal(rc, SQLITE_OK);
}

/* The first column of the first row of sql, as text (static buffer). */
static const char *query_text(sqlite3 *db, const char *sql)
{
    static char buf[256];
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    buf[0] = '\0';
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) != NULL)
        snprintf(buf, sizeof buf, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return buf;
}

static int64_t query_int(sqlite3 *db, const char *sql)
{
    return strtoll(query_text(db, sql), NULL, 10);
}

static store_new_job job_of(const char *name)
{
    store_new_job j = {.name = name, .payload = "{}", .queue = "default", .run_at_ms = T0};
    return j;
}

static void test_wal_mode(void **state)
{
    (void)state;
    char path[600];
    test_db_path(path, sizeof path, "wal");
    store *s = open_store(path);
    sqlite3 *db = open_raw(path);
    assert_string_equal(query_text(db, "PRAGMA journal_mode"), "wal");
    sqlite3_close(db);
    ops->close(s);
}

static void test_schema_version_and_reopen(void **state)
{
    (void)state;
    char path[600];
    test_db_path(path, sizeof path, "schema");
    store *s = open_store(path);
    ops->close(s);
    sqlite3 *db = open_raw(path);
    int64_t version = query_int(db, "SELECT value FROM chore_meta WHERE key = 'schema_version'");
    assert_true(version >= 1);
    /* Every table and index of ours is prefixed. */
    assert_int_equal(query_int(db, "SELECT count(*) FROM sqlite_schema WHERE name NOT LIKE"
                                   " 'chore\\_%' ESCAPE '\\' AND name NOT LIKE 'sqlite\\_%'"
                                   " ESCAPE '\\'"),
                     0);
    sqlite3_close(db);

    /* Reopening migrates nothing and keeps the jobs. */
    s = open_store(path);
    int64_t id;
    store_new_job j = job_of("x");
    assert_int_equal(ops->enqueue(s, &j, 1, T0, &id, NULL), CHORE_OK);
    ops->close(s);
    s = open_store(path);
    chore_job_info *info = NULL;
    assert_int_equal(ops->get(s, id, &info), CHORE_OK);
    chore_job_info_free(info);
    ops->close(s);
    db = open_raw(path);
    assert_int_equal(query_int(db, "SELECT value FROM chore_meta WHERE key = 'schema_version'"),
                     version);
    sqlite3_close(db);
}

static void test_migrates_a_file_the_program_uses(void **state)
{
    (void)state;
    char path[600];
    test_db_path(path, sizeof path, "shared");
    sqlite3 *db = open_raw(path);
    exec_ok(db, "PRAGMA user_version = 7; CREATE TABLE orders(id INTEGER PRIMARY KEY, total);"
                "INSERT INTO orders(total) VALUES (12)");
    sqlite3_close(db);
    store *s = open_store(path);
    ops->close(s);
    db = open_raw(path);
    /* user_version belongs to the program and is left alone. */
    assert_int_equal(query_int(db, "PRAGMA user_version"), 7);
    assert_int_equal(query_int(db, "SELECT total FROM orders"), 12);
    assert_true(query_int(db, "SELECT value FROM chore_meta WHERE key = 'schema_version'") >= 1);
    sqlite3_close(db);
}

static void test_newer_schema_refused(void **state)
{
    (void)state;
    char path[600];
    test_db_path(path, sizeof path, "newer");
    ops->close(open_store(path));
    sqlite3 *db = open_raw(path);
    exec_ok(db, "UPDATE chore_meta SET value = value + 1 WHERE key = 'schema_version'");
    sqlite3_close(db);
    store *s = (store *)&s;
    char err[256] = "";
    assert_int_equal(ops->open(&s, path, CHORE_DURABLE_FULL, err, sizeof err), CHORE_EVERSION);
    assert_null(s);
    assert_true(strlen(err) > 0);
}

/* A file written by schema version 3 (before job results): made from a
 * current file by dropping what version 4 added, with jobs in it. */
static void make_v3_file(const char *path, int64_t *done_id, int64_t *waiting_id)
{
    store *s = open_store(path);
    store_new_job j = job_of("old");
    assert_int_equal(ops->enqueue(s, &j, 1, T0, done_id, NULL), CHORE_OK);
    assert_int_equal(ops->enqueue(s, &j, 1, T0, waiting_id, NULL), CHORE_OK);
    int64_t token = store_test_claim_one(ops, s, *done_id, T0);
    store_outcome o = {.id = *done_id, .token = token, .kind = STORE_COMPLETE};
    assert_int_equal(ops->finish(s, &o, 1, T0, NULL), CHORE_OK);
    ops->close(s);
    sqlite3 *db = open_raw(path);
    exec_ok(db, "ALTER TABLE chore_jobs DROP COLUMN result;"
                "UPDATE chore_meta SET value = 3 WHERE key = 'schema_version'");
    assert_int_equal(query_int(db, "SELECT count(*) FROM pragma_table_info('chore_jobs')"
                                   " WHERE name = 'result'"),
                     0);
    sqlite3_close(db);
}

static void test_migrates_v3_to_results(void **state)
{
    (void)state;
    char path[600];
    test_db_path(path, sizeof path, "v3");
    int64_t done_id, waiting_id;
    make_v3_file(path, &done_id, &waiting_id);

    store *s = open_store(path); /* migrates */
    sqlite3 *db = open_raw(path);
    assert_int_equal(query_int(db, "SELECT value FROM chore_meta WHERE key = 'schema_version'"), 4);
    assert_int_equal(query_int(db, "SELECT count(*) FROM pragma_table_info('chore_jobs')"
                                   " WHERE name = 'result' AND type = 'TEXT'"),
                     1);
    sqlite3_close(db);
    /* The old jobs are there, without results; the waiting one completes with one. */
    chore_job_info *info = NULL;
    assert_int_equal(ops->get(s, done_id, &info), CHORE_OK);
    assert_int_equal(info->state, CHORE_COMPLETED);
    assert_null(info->result);
    chore_job_info_free(info);
    int64_t token = store_test_claim_one(ops, s, waiting_id, T0);
    store_outcome o = {
        .id = waiting_id, .token = token, .kind = STORE_COMPLETE, .result = "{\"v\":4}"};
    bool applied = false;
    assert_int_equal(ops->finish(s, &o, 1, T0, &applied), CHORE_OK);
    assert_true(applied);
    assert_int_equal(ops->get(s, waiting_id, &info), CHORE_OK);
    assert_string_equal(info->result, "{\"v\":4}");
    chore_job_info_free(info);
    ops->close(s);
    /* Opening again migrates nothing more. */
    ops->close(open_store(path));
    db = open_raw(path);
    assert_int_equal(query_int(db, "SELECT value FROM chore_meta WHERE key = 'schema_version'"), 4);
    assert_string_equal(query_text(db, "PRAGMA integrity_check"), "ok");
    sqlite3_close(db);
}

static void test_not_a_database(void **state)
{
    (void)state;
    char path[600];
    test_db_path(path, sizeof path, "garbage");
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    for (int i = 0; i < 200; i++)
        fputs("this is not an SQLite database file at all\n", fp);
    fclose(fp);
    store *s = NULL;
    char err[256] = "";
    assert_int_equal(ops->open(&s, path, CHORE_DURABLE_FULL, err, sizeof err), CHORE_ESTORE);
    assert_null(s);
    assert_true(strlen(err) > 0);
    char dir[700];
    snprintf(dir, sizeof dir, "%s/no/such/dir/x.db", test_tmpdir());
    assert_int_equal(ops->open(&s, dir, CHORE_DURABLE_PROCESS, err, sizeof err), CHORE_ESTORE);
    assert_null(s);
}

static void test_enqueue_native_commit_and_rollback(void **state)
{
    (void)state;
    char path[600];
    test_db_path(path, sizeof path, "native");
    store *s = open_store(path);
    sqlite3 *db = open_raw(path);
    exec_ok(db, "CREATE TABLE orders(id INTEGER PRIMARY KEY, total)");

    store_new_job j = job_of("native");
    int64_t committed = 0, rolled = 0;
    bool dup = true;
    exec_ok(db, "BEGIN");
    exec_ok(db, "INSERT INTO orders(total) VALUES (1)");
    assert_int_equal(ops->enqueue_native(db, &j, 1, T0, &committed, &dup), CHORE_OK);
    assert_false(dup);
    assert_false(sqlite3_get_autocommit(db)); /* still the caller's transaction */
    exec_ok(db, "COMMIT");
    chore_job_info *info = NULL;
    assert_int_equal(ops->get(s, committed, &info), CHORE_OK);
    assert_int_equal(info->state, CHORE_AVAILABLE);
    chore_job_info_free(info);

    exec_ok(db, "BEGIN");
    assert_int_equal(ops->enqueue_native(db, &j, 1, T0, &rolled, NULL), CHORE_OK);
    exec_ok(db, "ROLLBACK");
    info = NULL;
    assert_int_equal(ops->get(s, rolled, &info), CHORE_ENOTFOUND);

    /* Unique keys and scheduling behave as in enqueue. */
    store_new_job u[2] = {job_of("native"), job_of("native")};
    u[0].unique_key = u[1].unique_key = "nk";
    u[1].run_at_ms = T0 + 100;
    int64_t ids[2];
    bool dups[2];
    exec_ok(db, "BEGIN");
    assert_int_equal(ops->enqueue_native(db, u, 2, T0, ids, dups), CHORE_OK);
    exec_ok(db, "COMMIT");
    assert_false(dups[0]);
    assert_true(dups[1]);
    assert_int_equal(ids[0], ids[1]);

    /* The store's writer saw the native commits: a claim gets both jobs. */
    store_claim_req req = {.max = 10, .lease_ms = 1000};
    store_claimed *got = NULL;
    size_t n = 0;
    assert_int_equal(ops->claim(s, &req, T0, &got, &n), CHORE_OK);
    assert_int_equal(n, 2);
    store_claimed_free(got, n);
    sqlite3_close(db);
    ops->close(s);
}

static void test_enqueue_native_failure_keeps_caller_work(void **state)
{
    (void)state;
    char path[600];
    test_db_path(path, sizeof path, "native-fail");
    store *s = open_store(path);
    sqlite3 *db = open_raw(path);
    exec_ok(db, "CREATE TABLE orders(id INTEGER PRIMARY KEY, total)");
    /* The second job fails (a trigger of the caller refuses it), so
     * the first job's insert must be undone, and the caller's row kept. */
    exec_ok(db, "CREATE TEMP TRIGGER boom BEFORE INSERT ON chore_jobs"
                " WHEN NEW.name = 'bad' BEGIN SELECT RAISE(ABORT, 'no bad jobs'); END");
    exec_ok(db, "BEGIN");
    exec_ok(db, "INSERT INTO orders(total) VALUES (5)");
    store_new_job jobs[2] = {job_of("good"), job_of("bad")};
    int64_t ids[2];
    assert_int_equal(ops->enqueue_native(db, jobs, 2, T0, ids, NULL), CHORE_ESTORE);
    assert_non_null(strstr(ops->errmsg(s), "no bad jobs"));
    assert_false(sqlite3_get_autocommit(db));
    exec_ok(db, "COMMIT");
    assert_int_equal(query_int(db, "SELECT total FROM orders"), 5);
    assert_int_equal(query_int(db, "SELECT count(*) FROM chore_jobs"), 0);
    sqlite3_close(db);

    /* A connection to a file without chore's schema fails cleanly. */
    char other[600];
    test_db_path(other, sizeof other, "native-empty");
    db = open_raw(other);
    assert_int_equal(ops->enqueue_native(db, jobs, 1, T0, ids, NULL), CHORE_ESTORE);
    assert_true(sqlite3_get_autocommit(db));
    sqlite3_close(db);
    assert_int_equal(ops->enqueue_native(NULL, jobs, 1, T0, ids, NULL), CHORE_EINVAL);
    ops->close(s);
}

static void test_change_counter_sees_own_writer(void **state)
{
    (void)state;
    char path[600];
    test_db_path(path, sizeof path, "counter");
    store *s = open_store(path);
    int64_t a, b, c;
    assert_int_equal(ops->change_counter(s, &a), CHORE_OK);
    store_new_job j = job_of("x");
    int64_t id;
    assert_int_equal(ops->enqueue(s, &j, 1, T0, &id, NULL), CHORE_OK);
    assert_int_equal(ops->change_counter(s, &b), CHORE_OK);
    assert_true(b != a);
    /* A commit on the caller's own connection (chore_enqueue_tx) too. */
    sqlite3 *db = open_raw(path);
    assert_int_equal(ops->enqueue_native(db, &j, 1, T0, &id, NULL), CHORE_OK);
    assert_int_equal(ops->change_counter(s, &c), CHORE_OK);
    assert_true(c != b);
    sqlite3_close(db);
    ops->close(s);
}

static void test_unique_key_conflict_on_admin(void **state)
{
    (void)state;
    char path[600];
    test_db_path(path, sizeof path, "uniq-admin");
    store *s = open_store(path);
    store_new_job j = job_of("u");
    j.unique_key = "same";
    int64_t first, second;
    assert_int_equal(ops->enqueue(s, &j, 1, T0, &first, NULL), CHORE_OK);
    assert_int_equal(ops->admin(s, STORE_ADMIN_CANCEL, first, T0), CHORE_OK);
    assert_int_equal(ops->enqueue(s, &j, 1, T0, &second, NULL), CHORE_OK);
    assert_true(second != first);
    /* Two live jobs may not share a key: the retry is refused, nothing changes. */
    assert_int_equal(ops->admin(s, STORE_ADMIN_RETRY, first, T0), CHORE_EEXIST);
    chore_job_info *info = NULL;
    assert_int_equal(ops->get(s, first, &info), CHORE_OK);
    assert_int_equal(info->state, CHORE_CANCELLED);
    chore_job_info_free(info);
    /* And the writer is still usable after the failed transaction. */
    assert_int_equal(ops->admin(s, STORE_ADMIN_DELETE, first, T0), CHORE_OK);
    ops->close(s);
}

static void test_integrity_after_work(void **state)
{
    (void)state;
    char path[600];
    test_db_path(path, sizeof path, "integrity");
    store *s = open_store(path);
    store_new_job jobs[200];
    int64_t ids[200];
    for (int i = 0; i < 200; i++) {
        jobs[i] = job_of(i % 3 ? "a" : "b");
        jobs[i].run_at_ms = T0 + (i % 5) * 10;
        jobs[i].priority = i % 7;
    }
    assert_int_equal(ops->enqueue(s, jobs, 200, T0, ids, NULL), CHORE_OK);
    for (int round = 0; round < 5; round++) {
        store_claim_req req = {.max = 50, .lease_ms = 100};
        store_claimed *got = NULL;
        size_t n = 0;
        int64_t now = T0 + round * 20;
        assert_int_equal(ops->claim(s, &req, now, &got, &n), CHORE_OK);
        store_outcome outs[50];
        for (size_t i = 0; i < n; i++)
            outs[i] = (store_outcome){.id = got[i].id,
                                      .token = got[i].token,
                                      .kind = (store_outcome_kind)(i % 6),
                                      .run_at_ms = now + 30,
                                      .error = "e"};
        assert_int_equal(ops->finish(s, outs, n, now, NULL), CHORE_OK);
        store_claimed_free(got, n);
        int64_t count;
        assert_int_equal(ops->rescue(s, now + 1000, &count), CHORE_OK);
        assert_int_equal(ops->prune(s, now - 10, &count), CHORE_OK);
    }
    ops->close(s);
    sqlite3 *db = open_raw(path);
    assert_string_equal(query_text(db, "PRAGMA integrity_check"), "ok");
    sqlite3_close(db);
}

int main(void)
{
    int failed = store_conformance_run("sqlite_store_conformance", ops, new_location);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wal_mode),
        cmocka_unit_test(test_schema_version_and_reopen),
        cmocka_unit_test(test_migrates_a_file_the_program_uses),
        cmocka_unit_test(test_newer_schema_refused),
        cmocka_unit_test(test_migrates_v3_to_results),
        cmocka_unit_test(test_not_a_database),
        cmocka_unit_test(test_enqueue_native_commit_and_rollback),
        cmocka_unit_test(test_enqueue_native_failure_keeps_caller_work),
        cmocka_unit_test(test_change_counter_sees_own_writer),
        cmocka_unit_test(test_unique_key_conflict_on_admin),
        cmocka_unit_test(test_integrity_after_work),
    };
    failed += cmocka_run_group_tests_name("sqlite_store", tests, NULL, NULL);
    return failed;
}
