/*
 * pg_store.c — the PostgreSQL backend's frame: the location (a libpq URL
 * with an optional schema= parameter), the connection pool, transactions
 * with a reconnect when a connection was lost, errors, change_counter and
 * the ops table. Wake-ups (the listening thread) live in pg_listen.c.
 * Job operations live in pg_jobs.c, pg_claim.c and pg_read.c, schedules
 * in pg_schedules.c, loop locks in pg_locks.c, the schema in pg_schema.c,
 * the caller/database clock translation in pg_clock.c and the SQL in
 * pg_sql.c.
 *
 * Every call takes one connection of a small pool for its duration, so
 * calls from several threads run at once, as on a server they can.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/pg_internal.h"

/* ---------------------------------------------------------------- errors */

/* Per thread, as in the SQLite backend: enqueue_native has no store. */
static _Thread_local char last_error[512];

int pg_fail_msg(int code, const char *msg)
{
    snprintf(last_error, sizeof last_error, "%s", msg != NULL ? msg : "");
    return code;
}

int pg_fail(PGconn *c, PGresult *res)
{
    const char *msg = res != NULL ? PQresultErrorMessage(res) : NULL;
    if (msg == NULL || msg[0] == '\0')
        msg = c != NULL ? PQerrorMessage(c) : "no connection";
    snprintf(last_error, sizeof last_error, "postgres: %s", msg);
    size_t len = strlen(last_error); /* libpq's messages end with a newline */
    while (len > 0 && (last_error[len - 1] == '\n' || last_error[len - 1] == ' '))
        last_error[--len] = '\0';
    const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    int code = state != NULL && strcmp(state, "23505") == 0 ? CHORE_EEXIST : CHORE_ESTORE;
    PQclear(res);
    return code;
}

const char *pg_last_error(void)
{
    return last_error;
}

/* ---------------------------------------------------------------- values */

const char *pg_i64(pg_num *n, int64_t v)
{
    snprintf(n->s, sizeof n->s, "%lld", (long long)v);
    return n->s;
}

int64_t pg_get_i64(const PGresult *res, int row, int col)
{
    if (PQgetisnull(res, row, col))
        return 0;
    return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

char *pg_get_str(const PGresult *res, int row, int col, int *rc)
{
    *rc = CHORE_OK;
    if (PQgetisnull(res, row, col))
        return NULL;
    char *copy = strdup(PQgetvalue(res, row, col));
    if (copy == NULL)
        *rc = pg_fail_msg(CHORE_ENOMEM, "out of memory");
    return copy;
}

char *pg_text_array(const char *const *v, size_t n)
{
    size_t len = 3;
    for (size_t i = 0; i < n; i++)
        len += 5 + 2 * (v[i] != NULL ? strlen(v[i]) : 0);
    char *out = malloc(len), *at = out;
    if (out == NULL)
        return NULL;
    *at++ = '{';
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            *at++ = ',';
        if (v[i] == NULL) {
            memcpy(at, "NULL", 4);
            at += 4;
            continue;
        }
        *at++ = '"';
        for (const char *p = v[i]; *p != '\0'; p++) {
            if (*p == '"' || *p == '\\')
                *at++ = '\\';
            *at++ = *p;
        }
        *at++ = '"';
    }
    *at++ = '}';
    *at = '\0';
    return out;
}

/* ---------------------------------------------------------------- statements */

int pg_exec(PGconn *c, const char *sql)
{
    PGresult *res = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        return pg_fail(c, res);
    PQclear(res);
    return CHORE_OK;
}

PGresult *pg_run(pg_conn *pc, enum pg_stmt which, int n, const char *const *params, int *rc)
{
    char name[16];
    snprintf(name, sizeof name, "chore_%d", (int)which);
    if (!pc->prepared[which]) {
        PGresult *res = PQprepare(pc->c, name, pg_sql[which], 0, NULL);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            *rc = pg_fail(pc->c, res);
            return NULL;
        }
        PQclear(res);
        pc->prepared[which] = true;
    }
    PGresult *res = PQexecPrepared(pc->c, name, n, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        *rc = pg_fail(pc->c, res);
        return NULL;
    }
    *rc = CHORE_OK;
    return res;
}

int pg_run_cmd(pg_conn *pc, enum pg_stmt which, int n, const char *const *params, int64_t *changed)
{
    int rc;
    PGresult *res = pg_run(pc, which, n, params, &rc);
    if (res == NULL)
        return rc;
    if (changed != NULL)
        *changed = strtoll(PQcmdTuples(res), NULL, 10);
    PQclear(res);
    return CHORE_OK;
}

/* ---------------------------------------------------------------- connections */

int pg_connect(store *s, PGconn **out)
{
    *out = NULL;
    PGconn *c = PQconnectdb(s->conninfo);
    if (c == NULL)
        return pg_fail_msg(CHORE_ENOMEM, "out of memory");
    if (PQstatus(c) != CONNECTION_OK) {
        int rc = pg_fail(c, NULL);
        PQfinish(c);
        return rc;
    }
    char sql[PG_SCHEMA_MAX + 64];
    snprintf(sql, sizeof sql, "SET search_path TO \"%s\"", s->schema);
    int rc = pg_exec(c, sql);
    if (rc == CHORE_OK) { /* "chore_<schema>": which store a server process serves */
        snprintf(sql, sizeof sql, "SET application_name TO '%s'", s->channel);
        rc = pg_exec(c, sql);
    }
    if (rc == CHORE_OK) /* "already exists, skipping" while migrating is no news */
        rc = pg_exec(c, "SET client_min_messages TO warning");
    /* Plan each prepared statement once: our statements are index lookups
     * whose best plan does not depend on the values, and planning the claim
     * anew for every call (the custom plans PostgreSQL tries first, and
     * keeps when the generic one's estimate looks worse) costs more than
     * running it. */
    if (rc == CHORE_OK)
        rc = pg_exec(c, "SET plan_cache_mode TO force_generic_plan");
    /* Compiling a statement that takes milliseconds costs hundreds of them;
     * a misestimate (a table just filled, not yet analyzed) must not
     * trigger it. */
    if (rc == CHORE_OK)
        rc = pg_exec(c, "SET jit TO off");
    if (rc == CHORE_OK && s->async_commit)
        rc = pg_exec(c, "SET synchronous_commit TO off");
    if (rc != CHORE_OK) {
        PQfinish(c);
        return rc;
    }
    *out = c;
    return CHORE_OK;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Make pc usable: connect it if it never was or the server dropped it,
 * trying a few times with backoff (a server restarting). */
static int ensure_conn(store *s, pg_conn *pc)
{
    if (pc->c != NULL && PQstatus(pc->c) == CONNECTION_OK &&
        PQtransactionStatus(pc->c) == PQTRANS_IDLE)
        return CHORE_OK;
    int rc = CHORE_ESTORE;
    static const int backoff_ms[] = {0, 50, 200, 800};
    for (size_t i = 0; i < sizeof backoff_ms / sizeof backoff_ms[0]; i++) {
        sleep_ms(backoff_ms[i]);
        PQfinish(pc->c);
        pc->c = NULL;
        memset(pc->prepared, 0, sizeof pc->prepared);
        if ((rc = pg_connect(s, &pc->c)) == CHORE_OK)
            return CHORE_OK;
        if (rc == CHORE_ENOMEM)
            break;
    }
    return rc;
}

pg_conn *pg_take(store *s, int *rc)
{
    pthread_mutex_lock(&s->mu);
    pg_conn *pc = NULL;
    for (;;) {
        for (int i = 0; i < PG_POOL_SIZE && pc == NULL; i++) {
            if (!s->pool[i].in_use)
                pc = &s->pool[i];
        }
        if (pc != NULL)
            break;
        pthread_cond_wait(&s->cv, &s->mu);
    }
    pc->in_use = true;
    pthread_mutex_unlock(&s->mu);
    if ((*rc = ensure_conn(s, pc)) != CHORE_OK) {
        pg_give(s, pc);
        return NULL;
    }
    return pc;
}

void pg_give(store *s, pg_conn *pc)
{
    pthread_mutex_lock(&s->mu);
    pc->in_use = false;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

/* ---------------------------------------------------------------- transactions */

int pg_write(store *s, int (*body)(store *s, pg_conn *pc, void *arg), void *arg)
{
    return pg_write_begin(s, "BEGIN", body, arg);
}

int pg_write_begin(store *s, const char *begin,
                   int (*body)(store *s, pg_conn *pc, void *arg), void *arg)
{
    int rc;
    pg_conn *pc = pg_take(s, &rc);
    if (pc == NULL)
        return rc;
    rc = pg_exec(pc->c, begin);
    if (rc != CHORE_OK && PQstatus(pc->c) != CONNECTION_OK) {
        /* Lost while idle (a server restart, an idle timeout): nothing was
         * sent that could have written, so one more try is safe. A failure
         * later in the transaction is not retried: its outcome may be unknown. */
        pg_give(s, pc);
        if ((pc = pg_take(s, &rc)) == NULL)
            return rc;
        rc = pg_exec(pc->c, begin);
    }
    if (rc == CHORE_OK) {
        rc = body(s, pc, arg);
        if (rc == CHORE_OK) {
            rc = pg_exec(pc->c, "COMMIT");
        } else {
            PGresult *res = PQexec(pc->c, "ROLLBACK");
            PQclear(res);
        }
    }
    pg_give(s, pc);
    return rc;
}

int pg_read(store *s, int (*body)(store *s, pg_conn *pc, void *arg), void *arg)
{
    int rc = CHORE_ESTORE;
    for (int attempt = 0; attempt < 2; attempt++) {
        pg_conn *pc = pg_take(s, &rc);
        if (pc == NULL)
            return rc;
        rc = body(s, pc, arg);
        bool lost = rc != CHORE_OK && PQstatus(pc->c) != CONNECTION_OK;
        pg_give(s, pc);
        if (!lost)
            break; /* a read that failed on a live connection fails again */
    }
    return rc;
}

/* ---------------------------------------------------------------- change counter */

static int changes_body(store *s, pg_conn *pc, void *arg)
{
    (void)s;
    int rc;
    PGresult *res = pg_run(pc, PG_S_CHANGES, 0, NULL, &rc);
    if (res == NULL)
        return rc;
    *(int64_t *)arg = pg_get_i64(res, 0, 0);
    PQclear(res);
    return CHORE_OK;
}

/* store_ops.change_counter: the sum of
 *  - the store's change count (pg_listen.c): notifications from other
 *    backends (other nodes; the caller's transactions of enqueue_native),
 *    reconnects of the listening connection, and this store's own commits
 *    that made work available;
 *  - a fallback read for writes whose notification was lost (a node killed
 *    between its commit and its NOTIFY, a connection dropped meanwhile):
 *    the newest committed job id, which any insert raises, plus the
 *    sequence chore_changes, which nodes of schema version 1 libraries
 *    advanced after each write (so mixed versions still see each other).
 * Each part only grows (the newest id falls only when the newest job is
 * deleted, and any insert lifts it past every value seen), so the sum
 * changes whenever one does. */
int pg_change_counter(store *s, int64_t *out)
{
    if (out == NULL)
        return pg_fail_msg(CHORE_EINVAL, "no output");
    pg_listen_start(s, true); /* listening before the first read: nothing slips between */
    int64_t read = 0;
    int rc = pg_read(s, changes_body, &read);
    if (rc == CHORE_OK)
        *out = read + atomic_load(&s->changes);
    return rc;
}

/* ---------------------------------------------------------------- open/close */

static void open_error(char *err, size_t errlen, const char *what)
{
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, "%s", what);
}

/* Split location into what libpq gets and the schema: a URL ("//host/db?…")
 * loses its schema= parameter; anything else is a keyword/value string. */
static int parse_location(const char *location, char **conninfo, char *schema)
{
    snprintf(schema, PG_SCHEMA_MAX + 1, "chore");
    bool url = strncmp(location, "//", 2) == 0;
    size_t len = strlen(location);
    char *out = malloc(len + sizeof "postgresql:");
    if (out == NULL)
        return pg_fail_msg(CHORE_ENOMEM, "out of memory");
    if (!url) {
        memcpy(out, location, len + 1);
        *conninfo = out;
        return CHORE_OK;
    }
    strcpy(out, "postgresql:");
    char *at = out + strlen(out);
    const char *q = strchr(location, '?');
    size_t base = q != NULL ? (size_t)(q - location) : len;
    memcpy(at, location, base);
    at += base;
    *at = '\0';
    char sep = '?';
    while (q != NULL && *q != '\0') {
        const char *param = q + 1;
        const char *end = strchr(param, '&');
        size_t plen = end != NULL ? (size_t)(end - param) : strlen(param);
        if (plen > 7 && strncmp(param, "schema=", 7) == 0) {
            size_t slen = plen - 7;
            if (slen > PG_SCHEMA_MAX) {
                free(out);
                return pg_fail_msg(CHORE_EINVAL, "postgres: the schema name is too long");
            }
            memcpy(schema, param + 7, slen);
            schema[slen] = '\0';
        } else if (plen > 0) {
            *at++ = sep;
            memcpy(at, param, plen);
            at += plen;
            *at = '\0';
            sep = '&';
        }
        q = end;
    }
    for (const char *p = schema; *p != '\0'; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9') || *p == '_')) {
            free(out);
            return pg_fail_msg(CHORE_EINVAL,
                               "postgres: a schema name may hold only letters, digits and _");
        }
    }
    if (schema[0] == '\0') {
        free(out);
        return pg_fail_msg(CHORE_EINVAL, "postgres: empty schema name");
    }
    *conninfo = out;
    return CHORE_OK;
}

static void pg_close(store *s)
{
    if (s == NULL)
        return;
    pg_listen_stop(s); /* first: it may still send a notification for our last commit */
    for (int i = 0; i < PG_POOL_SIZE; i++)
        PQfinish(s->pool[i].c);
    pg_locks_close(s);
    pthread_mutex_destroy(&s->amu);
    pthread_mutex_destroy(&s->kmu);
    pthread_mutex_destroy(&s->hmu);
    pthread_cond_destroy(&s->lcv);
    pthread_mutex_destroy(&s->lmu);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s->conninfo);
    free(s);
}

static int pg_open(store **out, const char *location, chore_durability durability, char *err,
                   size_t errlen)
{
    open_error(err, errlen, "");
    if (out == NULL)
        return CHORE_EINVAL;
    *out = NULL;
    if (location == NULL || location[0] == '\0') {
        open_error(err, errlen, "postgres: no connection URL given");
        return pg_fail_msg(CHORE_EINVAL, "postgres: no connection URL given");
    }
    if (durability != CHORE_DURABLE_FULL && durability != CHORE_DURABLE_PROCESS) {
        open_error(err, errlen, "postgres: unknown durability");
        return pg_fail_msg(CHORE_EINVAL, "postgres: unknown durability");
    }
    store *s = calloc(1, sizeof *s);
    if (s == NULL) {
        open_error(err, errlen, "out of memory");
        return pg_fail_msg(CHORE_ENOMEM, "out of memory");
    }
    int rc = parse_location(location, &s->conninfo, s->schema);
    if (rc != CHORE_OK) {
        free(s);
        open_error(err, errlen, pg_last_error());
        return rc;
    }
    snprintf(s->channel, sizeof s->channel, "chore_%s", s->schema);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    pthread_mutex_init(&s->lmu, NULL);
    pthread_cond_init(&s->lcv, NULL);
    pthread_mutex_init(&s->hmu, NULL);
    s->wake_fd = -1;
    pthread_mutex_init(&s->kmu, NULL);
    pthread_mutex_init(&s->amu, NULL);
    /* Not waiting for the WAL flush costs at most the last commits in a
     * server crash: the trade CHORE_DURABLE_PROCESS makes. */
    s->async_commit = durability == CHORE_DURABLE_PROCESS;
    /* The first pooled connection migrates; the others connect on first use. */
    rc = pg_connect(s, &s->pool[0].c);
    if (rc == CHORE_OK)
        rc = pg_schema_migrate(s->pool[0].c, s->schema);
    if (rc != CHORE_OK) {
        open_error(err, errlen, pg_last_error());
        pg_close(s);
        return rc;
    }
    *out = s;
    return CHORE_OK;
}

static const char *pg_errmsg(store *s)
{
    (void)s;
    return pg_last_error();
}

const store_ops pg_store_ops = {
    .version = STORE_INTERFACE_VERSION,
    .name = "postgres",
    .open = pg_open,
    .close = pg_close,
    .errmsg = pg_errmsg,
    .enqueue = pg_enqueue,
    .enqueue_native = pg_enqueue_native,
    .claim = pg_claim,
    .finish = pg_finish,
    .heartbeat = pg_heartbeat,
    .rescue = pg_rescue,
    .prune = pg_prune,
    .next_run_at = pg_next_run_at,
    .change_counter = pg_change_counter,
    .get = pg_get,
    .list = pg_list,
    .admin = pg_admin,
    .count_by_state = pg_count_by_state,
    .count_by_name = pg_count_by_name,
    .schedule_put = pg_schedule_put,
    .schedule_remove = pg_schedule_remove,
    .schedule_set_paused = pg_schedule_set_paused,
    .schedule_list = pg_schedule_list,
    .schedule_get = pg_schedule_get,
    .schedule_fire = pg_schedule_fire,
    .schedule_release_pending = pg_schedule_release_pending,
    .schedule_version = pg_schedule_version,
    .lock_acquire = pg_lock_acquire,
    .lock_release = pg_lock_release,
    .set_wake = pg_set_wake,
};
