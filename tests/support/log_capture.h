/* log_capture.h — structured logs as the tests see them: the lines a
 * log_fn callback receives, and a parser of their logfmt text. */
#ifndef CHORE_LOG_CAPTURE_H
#define CHORE_LOG_CAPTURE_H

#include <pthread.h>
#include <stdbool.h>

#include "chore.h"
#include "rt_fixture.h"

enum { MAX_LINES = 64, MAX_PAIRS = 16 };

/* Lines a log_fn received. */
typedef struct captured {
    pthread_mutex_t mu;
    int n;
    char *lines[MAX_LINES];
    char *components[MAX_LINES];
    chore_log_level levels[MAX_LINES];
} captured;

/* One parsed line: keys and (unescaped) values, in order. */
typedef struct logfmt {
    int n;
    char key[MAX_PAIRS][32];
    char value[MAX_PAIRS][4200];
    bool quoted[MAX_PAIRS];
} logfmt;

/* A chore_log_fn: keeps each line (up to MAX_LINES) in the captured *ud. */
void capture_fn(void *ud, chore_log_level level, const char *component, const char *line);
void captured_init(captured *cap);
void captured_free(captured *cap);

/* Parse `key=value key="esc\"aped" ...`; false when malformed. */
bool parse_logfmt(const char *s, logfmt *out);

/* Assert the fields every line starts with:
 * time=YYYY-MM-DDTHH:MM:SS.mmmZ level=... component=... msg="...". */
void assert_log_header(const logfmt *l, const char *level, const char *component);

/* Open f's instance with its logs going to cap from `level` up. */
chore *open_logging(fixture *f, captured *cap, chore_log_level level);

#endif
