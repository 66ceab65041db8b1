/* log_capture.c — the lines a log_fn receives, and their logfmt parsed
 * back (log_capture.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log_capture.h"

void capture_fn(void *ud, chore_log_level level, const char *component, const char *line)
{
    captured *cap = ud;
    pthread_mutex_lock(&cap->mu);
    if (cap->n < MAX_LINES) {
        cap->lines[cap->n] = strdup(line);
        cap->components[cap->n] = strdup(component);
        cap->levels[cap->n] = level;
        cap->n++;
    }
    pthread_mutex_unlock(&cap->mu);
}

void captured_init(captured *cap)
{
    memset(cap, 0, sizeof *cap);
    pthread_mutex_init(&cap->mu, NULL);
}

void captured_free(captured *cap)
{
    for (int i = 0; i < cap->n; i++) {
        free(cap->lines[i]);
        free(cap->components[i]);
    }
    pthread_mutex_destroy(&cap->mu);
}

bool parse_logfmt(const char *s, logfmt *out)
{
    out->n = 0;
    while (*s != '\0') {
        if (out->n == MAX_PAIRS)
            return false;
        int i = out->n;
        size_t k = 0;
        while (*s != '=' && *s != ' ' && *s != '\0' && k < sizeof out->key[i] - 1)
            out->key[i][k++] = *s++;
        out->key[i][k] = '\0';
        if (k == 0 || *s != '=')
            return false;
        s++;
        size_t v = 0;
        out->quoted[i] = *s == '"';
        if (out->quoted[i]) {
            s++;
            while (*s != '"') {
                if (*s == '\0' || (unsigned char)*s < 0x20)
                    return false;
                char ch = *s++;
                if (ch == '\\') {
                    char e = *s++;
                    if (e == 'n')
                        ch = '\n';
                    else if (e == 't')
                        ch = '\t';
                    else if (e == 'r')
                        ch = '\r';
                    else if (e == '"' || e == '\\')
                        ch = e;
                    else if (e == 'u' && strncmp(s, "00", 2) == 0) {
                        unsigned code = 0;
                        if (sscanf(s + 2, "%2x", &code) != 1)
                            return false;
                        ch = (char)code;
                        s += 4;
                    } else
                        return false;
                }
                if (v < sizeof out->value[i] - 1)
                    out->value[i][v++] = ch;
            }
            s++;
        } else {
            while (*s != ' ' && *s != '\0') {
                if (*s == '"' || *s == '=' || *s == '\\')
                    return false;
                out->value[i][v++] = *s++;
            }
        }
        out->value[i][v] = '\0';
        out->n++;
        if (*s == ' ')
            s++;
        else if (*s != '\0')
            return false;
    }
    return true;
}

void assert_log_header(const logfmt *l, const char *level, const char *component)
{
    assert_true(l->n >= 4);
    assert_string_equal(l->key[0], "time");
    const char *t = l->value[0];
    assert_int_equal(strlen(t), 24);
    const char *shape = "dddd-dd-ddTdd:dd:dd.dddZ";
    for (int i = 0; i < 24; i++) {
        if (shape[i] == 'd')
            assert_true(t[i] >= '0' && t[i] <= '9');
        else
            assert_int_equal(t[i], shape[i]);
    }
    assert_string_equal(l->key[1], "level");
    assert_string_equal(l->value[1], level);
    assert_string_equal(l->key[2], "component");
    assert_string_equal(l->value[2], component);
    assert_string_equal(l->key[3], "msg");
    assert_true(l->quoted[3]);
}


chore *open_logging(fixture *f, captured *cap, chore_log_level level)
{
    chore_config cfg = {.log_level = level, .log_fn = capture_fn, .log_ud = cap};
    fixture_open(f, &cfg);
    return f->c;
}
