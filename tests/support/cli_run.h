/* cli_run.h — CLI tests: run the built `chore` binary (path in $CHORE_BIN),
 * capture its stdout (and optionally its stderr), parse JSON output. */
#ifndef CHORE_CLI_RUN_H
#define CHORE_CLI_RUN_H

#include <jansson.h>
#include <stdarg.h>
#include <stddef.h>

/* Size of the stdout buffer cli_run and cli_run_err expect. */
enum { CLI_OUT_MAX = 1 << 16 };

/* Run the chore binary with args (NULL-terminated, without argv[0]); its
 * stdout goes into out (NUL-terminated, truncated to outlen - 1). When err
 * is not NULL its stderr goes into err (NUL-terminated, truncated to
 * errlen - 1); otherwise stderr is inherited. Returns the exit status, or
 * -1 when it did not exit normally. */
int cli_run_chore(char *out, size_t outlen, char *err, size_t errlen, const char *const *args);
/* cli_run_chore with the arguments taken from ap (ending in NULL). */
int cli_vrun(char *out, size_t outlen, char *err, size_t errlen, va_list ap);
/* Run with a variable argument list ending in NULL; out holds CLI_OUT_MAX
 * bytes; stderr is inherited. */
int cli_run(char *out, ...);
/* As cli_run, and the run's stderr goes into err (errlen bytes). */
int cli_run_err(char *out, char *err, size_t errlen, ...);
/* Parse text as JSON (caller frees); fails the test when it is not JSON. */
json_t *cli_parse_json(const char *text);

#endif
