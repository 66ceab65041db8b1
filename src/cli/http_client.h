/*
 * http_client.h — the CLI's client of the daemon's HTTP API (libcurl):
 * one keep-alive connection per client, JSON in and out, the bearer token
 * from CHORE_TOKEN, and the one-line reports of a daemon that cannot be
 * reached or that answers with an API error.
 */
#ifndef CHORE_CLI_HTTP_CLIENT_H
#define CHORE_CLI_HTTP_CLIENT_H

#include <jansson.h>
#include <stdint.h>

/* The address `chore loops` talks to when no --server is given. */
#define CLI_DEFAULT_SERVER "http://127.0.0.1:7700"

typedef struct cli_http cli_http;

/*
 * A client of the daemon at base_url ("http://127.0.0.1:7700"; "http://"
 * is assumed when no scheme is given). token is sent as "Authorization:
 * Bearer"; NULL takes $CHORE_TOKEN (none when unset or empty). One client
 * is used by one thread at a time. Returns CLI_OK, or CLI_FAIL (reported)
 * when out of memory.
 */
int cli_http_open(const char *base_url, const char *token, cli_http **out);

/* Close the connection and free the client. NULL is a no-op. */
void cli_http_close(cli_http *h);

/* Bound one whole request (connect included) to timeout_ms; default 30 s.
 * A long poll's wait must fit inside it. */
void cli_http_set_timeout(cli_http *h, int64_t timeout_ms);

/* The base URL, without a trailing '/', for messages. */
const char *cli_http_base(const cli_http *h);

/*
 * Send `method` ("GET", "POST", "PUT", "DELETE") to base + path with body
 * (NULL: none) as JSON, and wait for the answer. On any answer, sets
 * *status and *response (the parsed JSON body, or NULL when it is empty
 * or not JSON; caller decrefs) and returns CLI_OK, whatever the status.
 * Returns CLI_FAIL after "chore: cannot reach URL: reason" on stderr when
 * no answer came (refused, timed out, reset).
 */
int cli_http_request(cli_http *h, const char *method, const char *path, json_t *body,
                     long *status, json_t **response);

/*
 * cli_http_request for a command `cmd`: a 2xx answer returns CLI_OK with
 * *response (may be NULL; response may be NULL to drop it); an API error
 * is reported as "chore: <cmd>: <message>" and returns CLI_USAGE for a
 * 4xx and CLI_FAIL otherwise; *status (may be NULL) holds the status.
 */
int cli_http_call(cli_http *h, const char *cmd, const char *method, const char *path,
                  json_t *body, long *status, json_t **response);

/* Report an API error answer (status and its JSON body) for `cmd` as
 * cli_http_call does; returns the exit status. */
int cli_http_report(const char *cmd, long status, json_t *response);

/* `text` escaped for a path segment or query value; malloc'd, NULL when
 * out of memory. */
char *cli_http_escape(cli_http *h, const char *text);

#endif /* CHORE_CLI_HTTP_CLIENT_H */
