/* bench_server.h — `chore bench --server URL` (bench_server.c). */
#ifndef CHORE_CLI_BENCH_SERVER_H
#define CHORE_CLI_BENCH_SERVER_H

#include <stdbool.h>
#include <stdint.h>

/* Measure the daemon at `server` with `requests` enqueues (then as many
 * fetches and acks) over `connections` keep-alive connections, one thread
 * each; print the figures (JSON on one line with `json`). Returns the
 * exit status. */
int cli_bench_server(const char *server, int64_t requests, int connections, bool json);

#endif
