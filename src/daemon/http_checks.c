/*
 * http_checks.c — the checks of the HTTP server that need none of its
 * state: the bearer token (compared in constant time), cross-site refusal
 * and the JSON content type of state-changing requests, the listen
 * address; and the dashboard's files, which need no token.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "daemon.h"
#include "http_checks.h"

/* Compare in time that depends only on the length of `given`, not on where
 * it differs from the token or on the token's length. */
static bool token_equal(const char *given, const char *token)
{
    size_t glen = strlen(given), tlen = strlen(token);
    unsigned char diff = glen != tlen;
    for (size_t i = 0; i < glen; i++)
        diff |= (unsigned char)given[i] ^ (unsigned char)token[tlen > 0 ? i % tlen : 0];
    return diff == 0;
}

static const char *header(struct MHD_Connection *conn, const char *name)
{
    return MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);
}

/* A bearer token check; false with a 401 on rs. */
bool http_authorized(const char *token, struct MHD_Connection *conn, http_resp *rs)
{
    if (token == NULL)
        return true;
    const char *auth = header(conn, MHD_HTTP_HEADER_AUTHORIZATION);
    if (auth != NULL && strncasecmp(auth, "Bearer ", 7) == 0 && token_equal(auth + 7, token))
        return true;
    http_error(rs, 401, "unauthorized", "a valid Authorization: Bearer token is required");
    return false;
}

/* Refuse requests that change state from another site, and bodies that a
 * plain HTML form could send; false with a 403 or 400 on rs. */
bool http_same_site_json(struct MHD_Connection *conn, http_resp *rs)
{
    const char *site = header(conn, "Sec-Fetch-Site");
    if (site != NULL && strcasecmp(site, "cross-site") == 0) {
        http_error(rs, 403, "forbidden", "cross-site requests are refused");
        return false;
    }
    const char *origin = header(conn, "Origin");
    if (origin != NULL) {
        const char *host = header(conn, MHD_HTTP_HEADER_HOST);
        const char *sep = strstr(origin, "://");
        const char *authority = sep != NULL ? sep + 3 : NULL;
        size_t alen = authority != NULL ? strcspn(authority, "/") : 0;
        if (host == NULL || authority == NULL || alen != strlen(host) ||
            strncasecmp(authority, host, alen) != 0) {
            http_error(rs, 403, "forbidden", "the Origin does not match the Host");
            return false;
        }
    }
    const char *type = header(conn, MHD_HTTP_HEADER_CONTENT_TYPE);
    size_t tlen = type != NULL ? strcspn(type, "; \t") : 0;
    if (type == NULL || tlen != strlen("application/json") ||
        strncasecmp(type, "application/json", tlen) != 0) {
        http_error(rs, 400, "content_type", "Content-Type must be application/json");
        return false;
    }
    return true;
}

bool http_changes_state(const char *method)
{
    return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0;
}

/* GET / and /assets/...: the dashboard's files. They hold no data (the
 * page asks for the token and calls the API), so they need no token. */
bool http_dashboard(const char *method, const char *path, http_resp *rs)
{
    if (strcmp(path, "/") != 0 && strncmp(path, "/assets/", 8) != 0)
        return false;
    if (strcmp(method, "GET") != 0) {
        http_error(rs, 405, "method_not_allowed", "%s is not allowed here; allowed: GET", method);
        rs->allow = "GET";
        return true;
    }
    size_t len;
    const unsigned char *data;
    const char *type;
    if (!dashboard_asset(path, &data, &len, &type)) {
        http_error(rs, 404, "not_found", "no such file");
        return true;
    }
    rs->status = 200;
    rs->data = data;
    rs->text_len = len;
    rs->content_type = type;
    rs->dashboard = true;
    return true;
}

/* The address to bind: an IPv4 or IPv6 literal, or "localhost". */
bool http_resolve(const char *host, int port, struct sockaddr_storage *ss, bool *v6,
                    bool *loopback)
{
    memset(ss, 0, sizeof *ss);
    if (strcmp(host, "localhost") == 0)
        host = "127.0.0.1";
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        *v6 = false;
        *loopback = (ntohl(a4->sin_addr.s_addr) >> 24) == 127;
        return true;
    }
    const char *h = host;
    char buf[64];
    size_t hl = strlen(host);
    if (hl > 2 && hl < sizeof buf && host[0] == '[' && host[hl - 1] == ']') {
        memcpy(buf, host + 1, hl - 2);
        buf[hl - 2] = '\0';
        h = buf;
    }
    if (inet_pton(AF_INET6, h, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        *v6 = true;
        *loopback = IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr) ||
                    (IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr) && a6->sin6_addr.s6_addr[12] == 127);
        return true;
    }
    return false;
}

int http_listen_check(const http_settings *set, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    bool v6, loopback;
    if (set->host == NULL || set->port < 0 || set->port > 65535 ||
        !http_resolve(set->host, set->port, &ss, &v6, &loopback)) {
        snprintf(err, errlen, "listen address %s:%d: want an IP address or localhost and a port",
                 set->host != NULL ? set->host : "", set->port);
        return -1;
    }
    if (!loopback && (set->token == NULL || set->token[0] == '\0')) {
        snprintf(err, errlen,
                 "refusing to listen on %s without a token: it is not a loopback address "
                 "(set token in the config)",
                 set->host);
        return -1;
    }
    return 0;
}

