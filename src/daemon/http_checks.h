/*
 * http_checks.h — the HTTP server's checks that need none of its state
 * (http_checks.c), for http_server.c. Each failing check sets its error
 * response on rs.
 */
#ifndef CHORE_HTTP_CHECKS_H
#define CHORE_HTTP_CHECKS_H

#include <stdbool.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "http_api.h"

/* The request carries "Authorization: Bearer <token>" (always true when
 * token is NULL); false with a 401. */
bool http_authorized(const char *token, struct MHD_Connection *conn, http_resp *rs);
/* A state-changing request is same-site with a JSON body; false with a 403
 * or 400. */
bool http_same_site_json(struct MHD_Connection *conn, http_resp *rs);
/* Whether the method changes state (anything but GET and HEAD). */
bool http_changes_state(const char *method);
/* GET / and /assets/...: true with the file (or a 404/405) on rs; false
 * when path is not the dashboard's. */
bool http_dashboard(const char *method, const char *path, http_resp *rs);
/* The address to bind for host ("localhost", an IPv4 or IPv6 literal) and
 * port, whether it is IPv6 and whether it is a loopback address. */
bool http_resolve(const char *host, int port, struct sockaddr_storage *ss, bool *v6,
                  bool *loopback);

#endif
