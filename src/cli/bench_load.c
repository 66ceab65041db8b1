/*
 * bench_load.c — the enqueue phase's load generator (bench_load.h).
 *
 * The daemon and the benchmark share the machine's cores, so what the
 * client spends per request is taken from the daemon being measured.
 * libcurl, which the rest of the CLI uses, spends more per request than
 * the daemon does (a liveness poll of the connection before each reuse, a
 * poll over every handle after each step). So this phase speaks just the
 * HTTP/1.1 it needs, as load generators like wrk do: the same request
 * bytes written again on each keep-alive connection, answers framed by
 * Content-Length (the daemon always sends it), one thread and epoll.
 * libcurl still parses the URL.
 */
#include <curl/curl.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench_load.h"
#include "cli_util.h"

enum { ANSWER_MAX = 16384, MAX_CONNECTIONS = 256 };

/* One keep-alive connection and the answer being read on it. */
typedef struct load_conn {
    int fd;
    int64_t sent_us; /* when its request went out */
    size_t len;
    char buf[ANSWER_MAX + 1];
} load_conn;

/* The host and port of an http:// URL; false (reported) otherwise. */
static bool split_url(const char *base_url, char *host, size_t hlen, char *port, size_t plen)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *h = NULL, *p = NULL;
    bool ok = u != NULL && curl_url_set(u, CURLUPART_URL, base_url, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_HOST, &h, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_PORT, &p, CURLU_DEFAULT_PORT) == CURLUE_OK;
    if (ok && strcmp(scheme, "http") != 0)
        ok = !cli_error(CLI_USAGE, "bench: --server: only http:// servers can be measured");
    else if (!ok)
        cli_error(CLI_USAGE, "bench: --server: not a URL: %s", base_url);
    if (ok) {
        /* an IPv6 literal comes back in brackets */
        size_t n = strlen(h);
        bool v6 = n > 2 && h[0] == '[' && h[n - 1] == ']';
        snprintf(host, hlen, "%.*s", (int)(v6 ? n - 2 : n), v6 ? h + 1 : h);
        snprintf(port, plen, "%s", p);
    }
    curl_free(scheme);
    curl_free(h);
    curl_free(p);
    curl_url_cleanup(u);
    return ok;
}

/* Open n connections to base_url, watched by ep; false (reported) on failure. */
static bool connect_all(const char *base_url, load_conn *cs, int n, int ep)
{
    char host[256], port[16];
    if (!split_url(base_url, host, sizeof host, port, sizeof port))
        return false;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
    int gai = getaddrinfo(host, port, &hints, &ai);
    if (gai != 0)
        return !cli_error(CLI_FAIL, "bench: cannot resolve %s: %s", host, gai_strerror(gai));
    bool ok = true;
    for (int i = 0; ok && i < n; i++) {
        cs[i].fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int one = 1;
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        ok = cs[i].fd >= 0 && connect(cs[i].fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
             setsockopt(cs[i].fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0 &&
             epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev) == 0;
        if (!ok)
            cli_error(CLI_FAIL, "bench: cannot connect to %s: %s", base_url, strerror(errno));
    }
    freeaddrinfo(ai);
    return ok;
}

/* Write the whole request (a blocking socket: it is small). */
static bool send_request(load_conn *c, const char *request, size_t len)
{
    c->sent_us = cli_mono_us();
    c->len = 0;
    for (size_t at = 0; at < len;) {
        ssize_t w = send(c->fd, request + at, len - at, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return !cli_error(CLI_FAIL, "bench: cannot send: %s", strerror(errno));
        at += (size_t)w;
    }
    return true;
}

static int bad_answer(const char *why)
{
    cli_error(CLI_FAIL, "bench: an answer this client cannot read: %s", why);
    return -1;
}

/* Whether c->buf holds a whole answer: then its status and body. -1 when
 * it is not an answer this client can read (reported). */
static int whole_answer(load_conn *c, int *status, const char **body, size_t *blen)
{
    c->buf[c->len] = '\0';
    char *end = strstr(c->buf, "\r\n\r\n");
    if (end == NULL && c->len < ANSWER_MAX)
        return 0;
    if (end == NULL)
        return bad_answer("too long");
    long length = -1;
    for (char *line = strstr(c->buf, "\r\n"); line != NULL && line < end;
         line = strstr(line + 2, "\r\n")) {
        if (strncasecmp(line + 2, "Content-Length:", 15) == 0)
            length = strtol(line + 17, NULL, 10);
    }
    if (strncmp(c->buf, "HTTP/1.1 ", 9) != 0 || length < 0)
        return bad_answer("not HTTP/1.1 with a Content-Length");
    size_t head = (size_t)(end + 4 - c->buf);
    if (head + (size_t)length > ANSWER_MAX)
        return bad_answer("too long");
    if (c->len < head + (size_t)length)
        return 0;
    *status = atoi(c->buf + 9);
    *body = c->buf + head;
    *blen = (size_t)length;
    return 1;
}

int bench_load_run(const char *base_url, const char *request, int connections, int64_t total,
                   bench_answer_fn on_answer, void *arg)
{
    if (connections < 1 || connections > MAX_CONNECTIONS)
        return cli_error(CLI_USAGE, "--connections: 1 to %d", MAX_CONNECTIONS);
    load_conn *cs = calloc((size_t)connections, sizeof *cs);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (cs == NULL || ep < 0) {
        free(cs);
        if (ep >= 0)
            close(ep);
        return cli_error(CLI_FAIL, "bench: out of memory");
    }
    for (int i = 0; i < connections; i++)
        cs[i].fd = -1;
    size_t req_len = strlen(request);
    bool ok = connect_all(base_url, cs, connections, ep);
    int64_t sent = 0, answered = 0;
    for (int i = 0; ok && i < connections && sent < total; i++, sent++)
        ok = send_request(&cs[i], request, req_len);
    while (ok && answered < total) {
        struct epoll_event evs[64];
        int n = epoll_wait(ep, evs, 64, 30000);
        if (n <= 0 && errno != EINTR)
            ok = !cli_error(CLI_FAIL, "bench: no answer in 30 s");
        for (int k = 0; ok && k < n; k++) {
            load_conn *c = &cs[evs[k].data.u32];
            ssize_t r = recv(c->fd, c->buf + c->len, ANSWER_MAX - c->len, MSG_DONTWAIT);
            if (r < 0 && (errno == EAGAIN || errno == EINTR))
                continue;
            if (r <= 0) {
                ok = !cli_error(CLI_FAIL, "bench: the server closed a connection");
                break;
            }
            c->len += (size_t)r;
            int status;
            const char *body;
            size_t blen;
            int got = whole_answer(c, &status, &body, &blen);
            ok = got >= 0 &&
                 (got == 0 || on_answer(arg, status, body, blen, cli_mono_us() - c->sent_us));
            if (ok && got == 1) {
                answered++;
                if (sent < total) {
                    sent++;
                    ok = send_request(c, request, req_len);
                }
            }
        }
    }
    for (int i = 0; i < connections; i++)
        if (cs[i].fd >= 0)
            close(cs[i].fd);
    close(ep);
    free(cs);
    return ok ? CLI_OK : CLI_FAIL;
}
