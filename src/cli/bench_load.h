/*
 * bench_load.h — the load generator of `chore bench --server`'s enqueue
 * phase: one fixed HTTP/1.1 request sent again and again over keep-alive
 * connections from one thread (bench_load.c).
 */
#ifndef CHORE_CLI_BENCH_LOAD_H
#define CHORE_CLI_BENCH_LOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Told of every answer: its status, body and latency; false stops the run. */
typedef bool (*bench_answer_fn)(void *arg, int status, const char *body, size_t len,
                                int64_t latency_us);

/*
 * Send `request` (the whole request, headers and body) `total` times over
 * `connections` connections to base_url ("http://host:port"), one request
 * in flight on each, and call on_answer for each answer. Returns CLI_OK,
 * or CLI_FAIL (reported) when a connection fails or on_answer said stop.
 */
int bench_load_run(const char *base_url, const char *request, int connections, int64_t total,
                   bench_answer_fn on_answer, void *arg);

#endif
